import logging

from train_envs import CHECKSUM_ENV, LOOPING_ENV, checksum_expected

from evoenv.sandbox import Limits, SandboxedEnv
from evoenv.train.rewards import RewardScorer, ScoreItem, answer_of

PICKY_ENV = '''
class Picky:
    name = "picky"
    description = "Raises on some answers, returns NaN or 2.0 on others."
    max_difficulty = 1

    def sample(self, seed, difficulty):
        return {}

    def prompt(self, instance):
        return "Say ok. <answer>...</answer>"

    def reference(self, instance):
        return "ok"

    def score(self, instance, answer):
        if answer == "boom":
            raise ValueError("boom")
        if answer == "nan":
            return float("nan")
        if answer == "big":
            return 2.0
        return 1.0 if answer == "ok" else 0.25
'''

GREEDY_ENV = '''
class Greedy:
    name = "greedy"
    description = "Scoring allocates far beyond the memory limit."
    max_difficulty = 1

    def sample(self, seed, difficulty):
        return {}

    def prompt(self, instance):
        return "x <answer>...</answer>"

    def reference(self, instance):
        return "x"

    def score(self, instance, answer):
        blocks = []
        while True:
            blocks.append(bytearray(64 * 1024 * 1024))
'''


def test_rewards_are_the_environments_scores_batched_per_env(sandbox):
    instances = [SandboxedEnv(CHECKSUM_ENV, sandbox).render(seed, 2).instance for seed in range(3)]
    completions = ["think... <answer>12</answer>", "no tags at all", "<answer>a</answer> then <answer>bb</answer>"]
    items = [ScoreItem("7", CHECKSUM_ENV, inst, text) for inst, text in zip(instances, completions)]
    items += [ScoreItem("picky", PICKY_ENV, {}, f"<answer>{a}</answer>") for a in ("ok", "boom", "nan", "big", "meh")]
    rewards = RewardScorer(sandbox, chunk=2, audit_share=0).score(items)  # picky pays for junk
    answers = ["12", "", "bb"]
    for reward, inst, answer in zip(rewards[:3], instances, answers):
        assert reward.answer == answer and reward.failure is None
        assert reward.value == checksum_expected(inst, answer)
    picky = rewards[3:]
    # raising, NaN and out-of-range scores break the contract: reward 0 for that answer only
    assert [r.value for r in picky] == [1.0, 0.0, 0.0, 0.0, 0.25]
    assert [r.failure for r in picky] == [None, "error", "error", "error", None]
    assert all(r.job_error == "" for r in rewards)  # every job ran; only single scores failed


def test_a_scorer_that_never_returns_gives_zero_and_the_rest_still_score(sandbox, caplog):
    scorer = RewardScorer(sandbox, Limits(cpu_s=1.0, wall_s=2.0, memory_mb=256), audit_share=0)  # checksum pays for junk
    good = SandboxedEnv(CHECKSUM_ENV, sandbox).render(1, 1).instance
    items = [ScoreItem("env-loops-42", LOOPING_ENV, {"seed": 1}, "<answer>x</answer>"),
             ScoreItem("env-ok", CHECKSUM_ENV, good, "<answer>hello</answer>"),
             ScoreItem("env-loops-42", LOOPING_ENV, {"seed": 2}, "<answer>y</answer>")]
    with caplog.at_level(logging.WARNING, logger="evoenv.train.rewards"):
        rewards = scorer.score(items)
    assert rewards[0].value == 0.0 and rewards[2].value == 0.0
    assert rewards[0].failure == "timeout" and rewards[2].failure == "timeout"
    assert rewards[0].job_error.startswith("timeout") and rewards[1].job_error == ""
    assert rewards[1].failure is None and rewards[1].value == checksum_expected(good, "hello")
    assert any("env-loops-42" in r.getMessage() and "timeout" in r.getMessage() for r in caplog.records)


def test_a_scorer_that_runs_out_of_memory_gives_zero(sandbox, caplog):
    scorer = RewardScorer(sandbox, Limits(cpu_s=5.0, wall_s=10.0, memory_mb=256))
    with caplog.at_level(logging.WARNING, logger="evoenv.train.rewards"):
        (reward,) = scorer.score([ScoreItem("env-greedy", GREEDY_ENV, {}, "<answer>x</answer>")])
    assert reward.value == 0.0 and reward.failure in ("memory", "crash")
    assert any("env-greedy" in r.getMessage() for r in caplog.records)


def test_answer_extraction_modes():
    assert answer_of("a <answer> 5 </answer> b <answer>6</answer>") == "6"
    assert answer_of("  5 apples ", "completion") == "5 apples"
