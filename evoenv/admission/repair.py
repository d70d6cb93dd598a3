"""The optional repair loop (beyond the paper).

A candidate that fails L1-L5 goes back to the generator with the failing
stage's reason; the revision is admitted on its own and linked to the failed
version by the lineage relation ``repair``. ``repairs=N`` bounds the rounds.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Callable

from evoenv.admission.candidate import AdmissionContext, Candidate, Observed
from evoenv.admission.pipeline import AdmissionOutcome, admit_candidate
from evoenv.admission.result import StageResult

MECHANICAL_STAGES = ("L1", "L2", "L3", "L4", "L5")
#: repair(candidate, failing stage) -> revised source, or None to give up
Repairer = Callable[[Candidate, StageResult], "str | None"]

REPAIR_PROMPT = """The environment below was rejected by the admission check {stage}:

    {reason}

Fix exactly this problem and keep everything else. Reply with the complete corrected Python file
in one ```python fenced block.

```python
{code}
```
"""
_FENCE = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)


def extract_code(text: str) -> str | None:
    """The longest fenced Python block that defines a class, else None."""
    blocks = [b for b in _FENCE.findall(text or "") if "class " in b]
    return max(blocks, key=len) if blocks else None


def policy_repairer(policy, max_tokens: int = 4096, temperature: float = 0.6) -> Repairer:
    """A repairer that asks the policy for a revision."""
    from evoenv.policy.base import Sampling

    def repair(candidate: Candidate, failure: StageResult) -> str | None:
        prompt = REPAIR_PROMPT.format(stage=failure.stage, reason=failure.reason, code=candidate.code)
        (completion,) = policy.generate([[{"role": "user", "content": prompt}]],
                                        Sampling(temperature=temperature, max_tokens=max_tokens))
        return extract_code(completion.text)

    return repair


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
