"""What admission decides from stage results and the registry only stores: the novelty a
candidate's results stand for, and the veto at the admission commit (``Registry.admit``'s gate)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from evoenv.registry.decisions import AdmissionGate, AdmittedView, Veto
from evoenv.stages import StageResult


def novelty_of(stages: Iterable[StageResult]) -> float | None:
    """The novelty (1 - max similarity to admitted environments) the last telling novelty result
    gives: its score, or 0 for a behavioural duplicate (which has no score). None when no
    novelty result says anything (not run, or no novelty stage among ``stages``)."""
    novelty = None
    for result in stages:
        if result.stage != "novelty":
            continue
        if result.score is not None:
            novelty = float(result.score)
        elif result.passed is False and (result.details or {}).get("duplicate_of"):
            novelty = 0.0
    return novelty


def vetoing(check: Callable[[AdmittedView], StageResult | None]) -> AdmissionGate:
    """The registry's gate for a check that answers with a failed stage result: the candidate is
    rejected with the reason "<stage>: <reason>" (the pipeline's wording), reward 0 (the admission
    it was paid for did not happen) and the novelty that result gives."""

    def gate(view: AdmittedView) -> Veto | None:
        result = check(view)
        if result is None:
            return None
        return Veto(result, reason=f"{result.stage}: {result.reason}", reward=0.0, novelty=novelty_of([result]))

    return gate
