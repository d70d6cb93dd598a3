"""A candidate environment on its way through admission, and what the stages share.

``Candidate`` is the source text plus where it came from. Stages fill in what
they observed (``observed``): L2's renders are reused by L3, L4, L5, novelty
and review, so each sandbox job runs once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, cast

from evoenv.admission.config import AdmissionConfig
from evoenv.admission.result import StageResult
from evoenv.hashing import code_sha256
from evoenv.sandbox import EnvInfo, Limits, Rendered, Sandbox

if TYPE_CHECKING:
    from evoenv.admission.novelty_index import NoveltyIndex
    from evoenv.policy.base import Policy


@dataclass
class Observed:
    """What the mechanical stages saw, for the later stages."""

    info: EnvInfo | None = None
    renders: list[Rendered] = field(default_factory=list)
    #: score of each reference: a float, or a string saying what bad value the scorer returned
    reference_scores: list[float | str] = field(default_factory=list)
    #: L2's sweep over more seeds: (seed, difficulty, reference, score of the reference or, as for
    #: reference_scores, what bad value the scorer returned), for L5
    sweep: list[tuple[int, int, str, float | str]] = field(default_factory=list)
    #: renders at the canonical seeds, for the novelty fingerprint (set by novelty)
    canonical: list[Rendered] = field(default_factory=list)
    embedding: Any = None  # numpy vector, set by novelty
    fingerprint: str | None = None


@dataclass
class Candidate:
    code: str
    name: str | None = None
    origin: str = "generated"  # "seed" | "generated" | "imported"
    generation: int = 0
    #: (parent env id, relation) with relation in mutation, crossover, repair, inspired_by
    parents: list[tuple[int, str]] = field(default_factory=list)
    proposal: dict | None = None  # generator prompt/completion/tokens, stored with the candidate
    tags: tuple[str, ...] = ()
    code_sha256: str = ""
    #: code_sha256 of the failed version this candidate repairs (the repair loop sets it)
    repair_of: str | None = None
    observed: Observed = field(default_factory=Observed, repr=False)

    def __post_init__(self) -> None:
        if not self.code_sha256:
            self.code_sha256 = code_sha256(self.code)

    @property
    def label(self) -> str:
        return self.name or (self.observed.info.name if self.observed.info else self.code_sha256[:12])


@dataclass
class AdmissionContext:
    """Everything a stage may use besides the candidate."""

    sandbox: Sandbox
    config: AdmissionConfig = field(default_factory=AdmissionConfig)
    policy: Policy | None = None
    novelty: NoveltyIndex | None = None

    def require_policy(self) -> Policy:
        """The policy, for a stage that needs one (it reports ``not run: no policy`` before asking)."""
        if self.policy is None:
            raise RuntimeError("this admission stage needs a policy (AdmissionContext.policy)")
        return self.policy

    @property
    def limits(self) -> Limits:
        c = self.config
        return Limits.for_jobs(cpu_s=c.cpu_s, memory_mb=c.memory_mb, wall_s=c.wall_s)


class StageCheck(Protocol):
    """A stage function made by ``timed``: it carries its stage name."""

    stage: str
    __name__: str

    def __call__(self, candidate: Candidate, ctx: AdmissionContext) -> StageResult: ...


def timed(stage: str) -> Callable[[Callable[[Candidate, AdmissionContext], StageResult]], StageCheck]:
    """Decorator: run a stage, stamp its name and duration on the result."""

    def wrap(fn: Callable[[Candidate, AdmissionContext], StageResult]) -> StageCheck:
        def run(candidate: Candidate, ctx: AdmissionContext) -> StageResult:
            started = time.perf_counter()
            result = fn(candidate, ctx)
            result.stage = stage
            result.duration_s = time.perf_counter() - started
            return result

        run.__name__ = fn.__name__
        run.__doc__ = fn.__doc__
        check = cast(StageCheck, run)
        check.stage = stage
        return check

    return wrap


def passed(reason: str = "ok", **details) -> StageResult:
    return StageResult(stage="", passed=True, reason=reason, details=details, score=1.0)


def failed(reason: str, **details) -> StageResult:
    return StageResult(stage="", passed=False, reason=reason, details=details, score=0.0)


def not_run(stage: str, reason: str) -> StageResult:
    return StageResult(stage=stage, passed=None, reason=f"not run: {reason}")


def where(seed: int, difficulty: int) -> str:
    return f"seed={seed}, difficulty={difficulty}"
