"""The trainer's reward of an environment that forges its scores past the guest's own checks: the
host refuses the values (reward 0, failure "error"); it used to clamp 1e308 to a full reward of 1.0."""

from __future__ import annotations

from train_envs import CHECKSUM_ENV

from evoenv.sandbox import SandboxedEnv
from evoenv.train.rewards import RewardScorer, ScoreItem
from tests.adversarial.hostile_programs import FORGE_CALL


def test_a_forged_score_earns_nothing(sandbox):
    forged = {value: CHECKSUM_ENV + f"\nOP = 'score'\nFORGED = {value}\n" + FORGE_CALL
              for value in ("1e308", "-5.0", "True")}
    instance = SandboxedEnv(CHECKSUM_ENV, sandbox).render(1, 1).instance
    items = [ScoreItem(f"forged-{value}", code, instance, "<answer>wrong</answer>") for value, code in forged.items()]
    rewards = RewardScorer(sandbox).score(items)
    assert [(r.value, r.failure) for r in rewards] == [(0.0, "error")] * len(items)
