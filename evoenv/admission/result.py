"""What every admission stage returns: defined in ``evoenv.stages`` (no admission imports), re-exported here."""

from evoenv.stages import STAGES, StageResult

__all__ = ["STAGES", "StageResult"]
