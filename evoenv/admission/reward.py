"""The generator's reward for one candidate (EvoEnv paper, with our constants as config).

    reward = invalid_penalty                          if L1, L2, L3 or L4 failed
           = Q + novelty_bonus * (1 - max_similarity) otherwise

Q is the calibration's difficulty reward exp(-(p - 0.3)^2 / (2 sigma^2)), 0 when
calibration found no level with 0 < p < 1, failed or did not run (no policy,
or L5 or blind failed). The novelty term counts only when the novelty stage passed, so a
copy of an admitted environment earns Q alone. The self-review verdict is
never an input: a reviewer cannot be talked into raising a reward.
"""

from __future__ import annotations

from evoenv.admission.config import AdmissionConfig
from evoenv.admission.result import StageResult

VALIDITY_STAGES = ("L1", "L2", "L3", "L4")


def generator_reward(stages: list[StageResult], config: AdmissionConfig) -> tuple[float, dict]:
    """(reward, its parts) from the stage results."""
    by_stage = {s.stage: s for s in stages}
    invalid = [name for name in VALIDITY_STAGES if by_stage.get(name) is None or by_stage[name].passed is not True]
    if invalid:
        return config.invalid_penalty, {"invalid_at": invalid[0], "penalty": config.invalid_penalty}
    calibration = by_stage.get("calibration")
    q = float(calibration.score or 0.0) if calibration is not None and calibration.passed else 0.0
    novelty = by_stage.get("novelty")
    novel = float(novelty.score or 0.0) if novelty is not None and novelty.passed else 0.0
    bonus = config.novelty_bonus * novel
    return q + bonus, {"q": q, "novelty": novel, "novelty_bonus": bonus}
