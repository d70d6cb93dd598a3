"""The admission stages' names and what each stage returns.

Standard library only: the registry stores these and the web shows them without
loading any admission stage (importing ``evoenv.admission`` loads them all).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Every admission stage, in the order the pipeline runs them (evoenv.admission.pipeline).
STAGES = ("L1", "L2", "L3", "L4", "L5", "blind", "novelty", "review", "calibration")


@dataclass
class StageResult:
    """One stage's verdict. ``passed`` is None when the stage did not run
    (the reason then says why, e.g. "not run: no policy")."""

    stage: str
    passed: bool | None
    reason: str = ""
    score: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0

    @property
    def ran(self) -> bool:
        return self.passed is not None
