"""The generator role: the policy writes environments and is rewarded by admission.

``RoleSchedule`` says which role each step trains. A generator step asks
``GeneratorHooks`` for proposal prompts, samples ``group_size`` completions per
prompt, and asks the hooks to judge each completion into a ``ProposalOutcome``:
the reward is the admission pipeline's generator reward (validation penalty +
Q + novelty bonus) and an admitted environment joins the training pool at once.
Advantages are group-relative as for the solver, then multiplied by
``advantage_scale``.

``GeneratorHooks`` is the injection point; ``evoenv.train.generator_admission.AdmissionHooks``
is the real one (generator prompts and ``evoenv.intake``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol

from evoenv.policy.base import Prompt
from evoenv.train.curriculum import PoolEnv


@dataclass
class ProposalOutcome:
    reward: float
    admitted: bool
    reason: str = ""
    env: PoolEnv | None = None  # the admitted environment, ready for the pool


class GeneratorHooks(Protocol):
    def prompts(self, n: int, pool: list[PoolEnv], rng: random.Random) -> list[Prompt]:
        """``n`` generator prompts (e.g. write a new environment, or mutate one from ``pool``)."""

    def judge(self, prompts: list[Prompt], completions: list[str]) -> list[ProposalOutcome]:
        """Run each completion through admission; one outcome per completion."""


@dataclass(frozen=True)
class RoleSchedule:
    """Every ``every``-th step is a generator step (``every`` = 0: solver only)."""

    every: int

    def role(self, step: int) -> str:
        return "generator" if self.every > 0 and (step + 1) % self.every == 0 else "solver"
