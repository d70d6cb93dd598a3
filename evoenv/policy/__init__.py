"""Policy backends, selected by a spec string (see ``load_policy``).

=========================  =====================================================
``openai:MODEL@URL``       any OpenAI-compatible chat-completions server
``vllm:MODEL_OR_PATH``     in-process vLLM on a GPU (imported lazily)
``hf:PATH``                transformers ``generate`` on CPU or GPU
``replay:FILE.jsonl``      TEST DOUBLE: recorded completions, no model runs
=========================  =====================================================
"""

from __future__ import annotations

from evoenv.policy.base import Completion, Policy, PolicyError, Prompt, Sampling
from evoenv.policy.thinking import split_thinking, strip_thinking

SCHEMES = ("openai", "vllm", "hf", "replay")

SPEC_HELP = (
    "Policy spec: openai:MODEL@URL (an OpenAI-compatible server, e.g. `vllm serve`), "
    "vllm:MODEL_OR_PATH (in-process vLLM, needs a GPU), hf:PATH (transformers, CPU or GPU), "
    "or replay:FILE.jsonl (a TEST DOUBLE that returns recorded completions; no model runs)."
)


def parse_spec(spec: str) -> tuple[str, str]:
    """``"openai:m@http://h/v1"`` -> ``("openai", "m@http://h/v1")``; raises PolicyError on junk."""
    if not isinstance(spec, str) or ":" not in spec:
        raise PolicyError(f"policy spec {spec!r} has no scheme. {SPEC_HELP}")
    scheme, _, rest = spec.partition(":")
    scheme = scheme.strip().lower()
    if scheme not in SCHEMES:
        raise PolicyError(f"unknown policy scheme {scheme!r} in {spec!r}; use one of {', '.join(SCHEMES)}. {SPEC_HELP}")
    if not rest.strip():
        raise PolicyError(f"policy spec {spec!r} names no model. {SPEC_HELP}")
    return scheme, rest.strip()


def load_policy(spec: str, *, check: bool = True, **options) -> Policy:
    """Build the backend the spec names. ``options`` go to its constructor
    (e.g. ``concurrency``/``timeout`` for openai, ``device`` for hf, ``cursor`` for
    replay). With ``check`` a policy that cannot be reached or loaded raises
    ``PolicyError`` now, naming what to fix, rather than in the middle of a run."""
    scheme, rest = parse_spec(spec)
    try:
        policy = _build(scheme, rest, spec, options)
    except TypeError as exc:  # an option the backend does not take
        raise PolicyError(f"bad option for the {scheme}: policy: {exc}") from None
    if check:
        try:
            policy.check()
        except PolicyError:
            policy.close()
            raise
    return policy


def _build(scheme: str, rest: str, spec: str, options: dict) -> Policy:
    if scheme == "openai":
        from evoenv.policy.openai_compat import OpenAIPolicy

        model, at, url = rest.rpartition("@")
        if not at or not model:
            raise PolicyError(f"openai policy spec {spec!r} needs MODEL@URL, e.g. openai:Qwen/Qwen3-8B@http://127.0.0.1:8000/v1")
        policy = OpenAIPolicy(model, url, **options)
    elif scheme == "vllm":
        from evoenv.policy.vllm_local import VLLMPolicy

        policy = VLLMPolicy(rest, **options)
    elif scheme == "hf":
        from evoenv.policy.hf import HFPolicy

        policy = HFPolicy(rest, **options)
    else:
        from evoenv.policy.replay import ReplayPolicy

        policy = ReplayPolicy(rest, **options)
    return policy


__all__ = [
    "Completion", "Policy", "PolicyError", "Prompt", "SCHEMES", "SPEC_HELP", "Sampling",
    "load_policy", "parse_spec", "split_thinking", "strip_thinking",
]
