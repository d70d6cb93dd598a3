"""The optional repair loop (beyond the paper).

A candidate that fails L1-L5 goes back to the generator with the failing
stage's reason; the revision is admitted on its own and linked to the failed
version by the lineage relation ``repair``. ``repairs=N`` bounds the rounds.
The grow loop's repairer (``evoenv.intake.chat_repairer``) asks the policy again in
the same chat with ``prompts/repair.md`` and extracts the revision with
``evoenv.extract``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from evoenv.admission.candidate import AdmissionContext, Candidate, Observed
from evoenv.admission.pipeline import MECHANICAL, AdmissionOutcome, admit_candidate
from evoenv.admission.result import StageResult

MECHANICAL_STAGES = tuple(check.stage for check in MECHANICAL)  # L1..L5
#: repair(candidate, failing stage) -> revised source, or None to give up
Repairer = Callable[[Candidate, StageResult], "str | None"]


def admit_with_repairs(candidate: Candidate, ctx: AdmissionContext, repairs: int = 0,
                       repair: Repairer | None = None, on_stage=None) -> AdmissionOutcome:
    """Admit, and on an L1-L5 failure ask ``repair`` for up to ``repairs`` revisions.

    Each revision has ``repair_of`` set to the failed version's hash; ``persist`` stores the
    versions in order and links each revision to the one before by the lineage relation
    ``repair``. The returned outcome is the last version's, earlier ones in ``attempts``.
    """
    outcome = admit_candidate(candidate, ctx, on_stage)
    attempts: list[AdmissionOutcome] = []
    for _ in range(max(0, repairs)):
        failure = outcome.first_failure
        if outcome.admitted or repair is None or failure is None or failure.stage not in MECHANICAL_STAGES:
            break
        revised = repair(outcome.candidate, failure)
        if not revised or revised.strip() == outcome.candidate.code.strip():
            break
        previous = outcome.candidate
        revision = replace(previous, code=revised, code_sha256="", observed=Observed(), parents=[],
                           proposal=None, repair_of=previous.code_sha256)
        attempts.append(outcome)
        outcome = admit_candidate(revision, ctx, on_stage)
    outcome.attempts = attempts
    return outcome
