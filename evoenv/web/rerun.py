"""Re-run an execution stage (L1-L5) of a stored environment and append its results.

A mechanical stage needs what the stages before it observed (L3 compares the
renders L2 made, ...), so re-running stage N runs L1..N in order and stops at
the first failure. L2 reuses the probe seeds it recorded last time. Every result is appended through ``Registry.record_stage``;
earlier rows stay, and the admission decision is not changed. The environment
code runs only in the sandbox, as in admission.
"""

from __future__ import annotations

from typing import Any

from evoenv.admission import AdmissionConfig, AdmissionContext, Candidate
from evoenv.admission.pipeline import MECHANICAL
from evoenv.sandbox import Sandbox

RERUNNABLE = tuple(check.stage for check in MECHANICAL)


def rerun_stage(registry: Any, record: Any, stage: str, sandbox: Sandbox) -> list[dict]:
    if stage not in RERUNNABLE:
        raise ValueError(f"stage {stage!r} cannot be re-run here; re-runnable stages: {', '.join(RERUNNABLE)}")
    candidate = Candidate(code=record.code, name=record.name, origin=record.origin, generation=record.generation)
    # the seeds L2 drew last time (recorded in its details), so the rerun judges the same instances
    recorded = [row.details.get("seeds") for row in registry.stage_results(record.id) if row.stage == "L2"]
    seeds = next((s for s in reversed(recorded) if isinstance(s, list) and s), [])
    ctx = AdmissionContext(sandbox=sandbox, config=AdmissionConfig(probe_seeds=tuple(seeds)))
    ran = []
    for check in MECHANICAL[: RERUNNABLE.index(stage) + 1]:
        result = check(candidate, ctx)
        registry.record_stage(record.id, result.stage, passed=result.passed, score=result.score,
                              reason=result.reason, details=result.details, duration_s=result.duration_s)
        ran.append({"stage": result.stage, "passed": result.passed, "reason": result.reason,
                    "duration_s": round(result.duration_s, 4)})
        if not result.passed:
            break
    return ran
