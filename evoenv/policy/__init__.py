"""Policy backends, selected by a spec string (see ``load_policy``)."""

from evoenv.policy.base import Completion, Policy, PolicyError, Prompt, Sampling

__all__ = ["Completion", "Policy", "PolicyError", "Prompt", "Sampling"]
