"""Run the admission stages in order and decide.

L1..L5 and blind stop at the first failure (later mechanical stages need what earlier
ones observed). Once they pass, novelty, review and calibration all run (by
default calibration runs even when review or novelty rejected, so the reward
never depends on the review). Without a policy, review and calibration are
"not run: no policy" -- never passed -- and the candidate is admitted only when
``admit_without_policy`` says so (``evoenv init`` does, for the seeds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from evoenv.admission.blind import check_blind
from evoenv.admission.calibration import check_calibration
from evoenv.admission.candidate import AdmissionContext, Candidate, not_run
from evoenv.admission.l1_parse import check_parse
from evoenv.admission.l2_execute import check_execution
from evoenv.admission.l3_determinism import check_determinism
from evoenv.admission.l4_nontrivial import check_nontrivial
from evoenv.admission.l5_scorer import check_scorer
from evoenv.admission.novelty import check_novelty
from evoenv.admission.review import check_review
from evoenv.admission.reward import generator_reward
from evoenv.stages import STAGES, StageResult

MECHANICAL = (check_parse, check_execution, check_determinism, check_nontrivial, check_scorer, check_blind)


@dataclass
class AdmissionOutcome:
    candidate: Candidate
    stages: list[StageResult]
    admitted: bool
    reason: str
    reward: float
    reward_parts: dict = field(default_factory=dict)
    #: earlier failed versions, oldest first, when the repair loop ran
    attempts: list[AdmissionOutcome] = field(default_factory=list)

    def stage(self, name: str) -> StageResult | None:
        return next((s for s in self.stages if s.stage == name), None)

    @property
    def first_failure(self) -> StageResult | None:
        return next((s for s in self.stages if s.passed is False), None)

    def as_dict(self) -> dict:
        return {
            "name": self.candidate.label, "code_sha256": self.candidate.code_sha256,
            "admitted": self.admitted, "reason": self.reason, "reward": self.reward,
            "reward_parts": self.reward_parts,
            "stages": [{"stage": s.stage, "passed": s.passed, "score": s.score, "reason": s.reason,
                        "duration_s": round(s.duration_s, 4), "details": s.details} for s in self.stages],
            "repairs": len(self.attempts),
        }


def run_stages(candidate: Candidate, ctx: AdmissionContext,
               on_stage: Callable[[StageResult], None] | None = None) -> list[StageResult]:
    results: list[StageResult] = []

    def record(result: StageResult) -> StageResult:
        results.append(result)
        if on_stage:
            on_stage(result)
        return result

    for check in MECHANICAL:
        result = record(check(candidate, ctx))
        if not result.passed:
            done = {r.stage for r in results}
            for name in STAGES:
                if name not in done:
                    record(not_run(name, f"{result.stage} failed"))
            return results
    novelty = record(check_novelty(candidate, ctx))
    review = record(check_review(candidate, ctx))
    if ctx.config.calibrate_rejected or (novelty.passed is not False and review.passed is not False):
        record(check_calibration(candidate, ctx))
    else:
        record(not_run("calibration", "review or novelty rejected"))
    return results


def decide(stages: list[StageResult], ctx: AdmissionContext) -> tuple[bool, str]:
    failure = next((s for s in stages if s.passed is False), None)
    if failure is not None:
        return False, f"{failure.stage}: {failure.reason}"
    unrun = [s for s in stages if s.passed is None]
    names = ", ".join(s.stage for s in unrun)
    if unrun and not ctx.config.admit_without_policy:
        return False, f"not admitted: {names} did not run ({unrun[0].reason})"
    return True, "admitted" + (f" ({names} not run)" if unrun else "")


def admit_candidate(candidate: Candidate, ctx: AdmissionContext,
                    on_stage: Callable[[StageResult], None] | None = None) -> AdmissionOutcome:
    """Every stage that can run, the decision and the generator reward. Records nothing (see persist)."""
    stages = run_stages(candidate, ctx, on_stage)
    admitted, reason = decide(stages, ctx)
    reward, parts = generator_reward(stages, ctx.config)
    return AdmissionOutcome(candidate, stages, admitted, reason, reward, parts)
