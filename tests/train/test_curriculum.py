import random
from collections import Counter

import pytest

from evoenv.train.config import CurriculumConfig
from evoenv.train.curriculum import Curriculum, PoolEnv, SourcesPool, Task


class MemoryPool(SourcesPool):
    """A pool that remembers what the curriculum wrote back and rotates on demand."""

    def __init__(self, envs):
        super().__init__(envs)
        self.calibration, self.usage, self.epochs = [], [], 0
        self.retire_next: list[str] = []

    def advance_epoch(self, max_epochs):
        self.epochs += 1
        retired, self.retire_next = self.retire_next, []
        self.envs = [e for e in self.envs if e.id not in retired]
        return retired

    def record_calibration(self, env, checkpoint, difficulty, n, passes):
        self.calibration.append((env.id, checkpoint, difficulty, n, passes))

    def record_usage(self, env, step, mean_reward):
        self.usage.append((env.id, step, mean_reward))


def env(env_id, origin="generated", max_difficulty=5):
    return PoolEnv(env_id, env_id, "code", origin, max_difficulty)


def feed(curriculum, env_id, passes, fails):
    task = Task(curriculum.envs[env_id], curriculum.state[env_id].difficulty)
    return curriculum.update([(task, 1.0)] * passes + [(task, 0.0)] * fails)


def test_difficulty_moves_to_keep_the_pass_rate_in_the_band():
    cur = Curriculum(CurriculumConfig(window=10, min_samples=10), MemoryPool([env("a", max_difficulty=3)]))
    assert cur.state["a"].difficulty == 1
    assert feed(cur, "a", 5, 4) == {}  # 9 results: too few to judge
    assert cur.pass_rate("a") is None
    assert feed(cur, "a", 1, 0) == {}  # 6/10 = 0.6 is inside 0.3-0.7: stay
    assert cur.pass_rate("a") == pytest.approx(0.6)
    assert feed(cur, "a", 10, 0) == {"a": 2}  # too easy: harder, window restarts
    assert cur.pass_rate("a") is None
    feed(cur, "a", 9, 1)
    assert cur.state["a"].difficulty == 3
    feed(cur, "a", 10, 0)
    assert cur.state["a"].difficulty == 3  # already at max_difficulty
    assert feed(cur, "a", 0, 10) == {"a": 2}  # too hard: easier
    for _ in range(3):
        feed(cur, "a", 0, 10)
    assert cur.state["a"].difficulty == 1  # never below 1


def test_results_from_an_older_difficulty_do_not_move_the_window():
    cur = Curriculum(CurriculumConfig(window=4, min_samples=4), MemoryPool([env("a")]))
    stale = Task(cur.envs["a"], 3)
    cur.update([(stale, 1.0)] * 8)
    assert cur.state["a"].difficulty == 1 and cur.pass_rate("a") is None


def test_sampling_prefers_environments_near_the_target_rate():
    cfg = CurriculumConfig(window=10, min_samples=10, seed_floor=0.0, min_weight=0.05)
    cur = Curriculum(cfg, MemoryPool([env("at_target", max_difficulty=1), env("solved", max_difficulty=1),
                                      env("new", max_difficulty=1)]))
    feed(cur, "at_target", 3, 7)  # 0.3, the target
    feed(cur, "solved", 10, 0)  # 1.0 at max difficulty: weight floors at min_weight
    assert cur.weight("at_target") == pytest.approx(1.0)
    assert cur.weight("solved") == pytest.approx(0.05)
    assert cur.weight("new") == 1.0  # unmeasured environments are explored
    counts = Counter(t.env.id for t in cur.sample(2000, random.Random(0)))
    assert counts["solved"] < 0.1 * counts["at_target"]
    assert 0.8 < counts["new"] / counts["at_target"] < 1.25


def test_seeds_keep_their_floor_even_when_their_weight_is_low():
    envs = [env("seed_a", "seed", max_difficulty=1)] + [env(f"gen_{i}") for i in range(9)]
    cur = Curriculum(CurriculumConfig(window=10, min_samples=10, seed_floor=0.2), MemoryPool(envs))
    feed(cur, "seed_a", 10, 0)  # solved: weight 0.05
    rng = random.Random(1)
    for _ in range(50):
        tasks = cur.sample(10, rng)
        assert sum(t.env.origin == "seed" for t in tasks) >= 2
    no_floor = Curriculum(CurriculumConfig(window=10, min_samples=10, seed_floor=0.0), MemoryPool(envs))
    feed(no_floor, "seed_a", 10, 0)
    seeds = sum(t.env.origin == "seed" for t in no_floor.sample(500, random.Random(2)))
    assert seeds < 20  # without the floor the solved seed is nearly never drawn


def test_calibration_and_usage_are_written_back_once():
    pool = MemoryPool([env("a"), env("b")])
    cur = Curriculum(CurriculumConfig(window=50, min_samples=50), pool)
    feed(cur, "a", 3, 1)
    feed(cur, "b", 0, 2)
    cur.update([(Task(cur.envs["a"], 4), 1.0)])
    assert cur.write_usage(step=7) == {"a": 0.8, "b": 0.0}
    assert sorted(pool.usage) == [("a", 7, 0.8), ("b", 7, 0.0)]
    assert cur.write_usage(step=8) == {}  # usage is per step
    written = cur.write_calibration("run/checkpoint-7")
    assert written == {"a": {1: (4, 3), 4: (1, 1)}, "b": {1: (2, 0)}}
    assert sorted(pool.calibration) == [("a", "run/checkpoint-7", 1, 4, 3), ("a", "run/checkpoint-7", 4, 1, 1),
                                        ("b", "run/checkpoint-7", 1, 2, 0)]
    assert cur.write_calibration("run/checkpoint-8") == {}  # nothing new since


def test_pool_rotation_drops_retired_environments():
    pool = MemoryPool([env("seed_a", "seed"), env("old"), env("young")])
    cur = Curriculum(CurriculumConfig(pool_epoch_steps=5, max_pool_epochs=2), pool)
    pool.retire_next = ["old"]
    assert cur.rotate(step=3) == [] and pool.epochs == 0
    assert cur.rotate(step=5) == ["old"] and pool.epochs == 1
    assert "old" not in cur.envs
    assert all(t.env.id != "old" for t in cur.sample(50, random.Random(0)))
    cur.add(env("admitted_now"))
    assert "admitted_now" in cur.envs and cur.state["admitted_now"].difficulty == 1


def test_state_round_trips():
    pool = MemoryPool([env("a"), env("b")])
    cur = Curriculum(CurriculumConfig(window=4, min_samples=4), pool)
    feed(cur, "a", 4, 0)
    feed(cur, "b", 1, 1)
    again = Curriculum(CurriculumConfig(window=4, min_samples=4), pool)
    again.load_state_dict(cur.state_dict())
    assert again.summary() == cur.summary()
    assert again.write_calibration("c") == cur.write_calibration("c")


def test_an_empty_pool_says_what_to_do():
    with pytest.raises(RuntimeError, match="pool is empty"):
        Curriculum(CurriculumConfig(), MemoryPool([])).sample(2, random.Random(0))


def test_uniform_difficulty_draws_every_level_and_never_adapts():
    cur = Curriculum(CurriculumConfig(difficulty="uniform", window=4, min_samples=4, seed_floor=0.0),
                     MemoryPool([env("a", max_difficulty=4), env("b", max_difficulty=2)]))
    feed(cur, "a", 0, 4)  # would lower a band curriculum's level; uniform keeps no level
    cur.update([(Task(cur.envs["b"], 1), 1.0)] * 4)
    assert cur.weight("b") == 1.0  # no preference for environments near the target
    tasks = cur.sample(4000, random.Random(0))
    levels = Counter((t.env.id, t.difficulty) for t in tasks)
    assert set(levels) == {("a", d) for d in range(1, 5)} | {("b", 1), ("b", 2)}
    assert min(levels.values()) > 0.7 * 4000 / 2 / 4  # roughly uniform within each environment
    assert 0.9 < sum(t.env.id == "a" for t in tasks) / sum(t.env.id == "b" for t in tasks) < 1.1


def write_rows(path, rows):
    import json

    path.write_text("".join(json.dumps({"question": "q", "answer": "a", "metadata": meta}) + "\n" for meta in rows))


def test_a_dataset_is_served_row_by_row_in_shuffled_epochs(tmp_path):
    from evoenv.hashing import code_sha256

    a, b = env("a"), PoolEnv("b", "b", "other code", "generated", 5)
    rows = [{"code_sha256": code_sha256(e.code), "seed": seed, "difficulty": 3}
            for e in (a, b) for seed in range(5)]
    write_rows(tmp_path / "rows.jsonl", rows)
    cfg = CurriculumConfig(dataset=str(tmp_path / "rows.jsonl"), window=4, min_samples=4)
    cur = Curriculum(cfg, MemoryPool([a, b]))
    rng = random.Random(0)
    first = cur.sample(6, rng) + cur.sample(4, rng)  # one epoch = the 10 rows, each once
    assert sorted((t.env.id, t.seed, t.difficulty) for t in first) == \
        sorted((e.id, s, 3) for e in (a, b) for s in range(5))
    assert [t.seed for t in first] != [t.seed for t in sorted(first, key=lambda t: (t.env.id, t.seed))]
    assert cur.update([(first[0], 1.0)] * 8) == {}  # the rows fix the level

    resumed = Curriculum(cfg, MemoryPool([a, b]))
    resumed.load_state_dict(cur.state_dict())
    assert [(t.env.id, t.seed) for t in resumed.sample(3, random.Random(5))] == \
        [(t.env.id, t.seed) for t in cur.sample(3, random.Random(5))]


def test_render_tasks_keeps_a_rows_seed(sandbox):
    from train_envs import CHECKSUM_ENV

    from evoenv.sandbox import Limits
    from evoenv.train.instances import render_tasks

    checksum = PoolEnv("checksum", "checksum", CHECKSUM_ENV, "generated", 5)
    fixed, fresh = render_tasks(sandbox, Limits(), [Task(checksum, 2, seed=17), Task(checksum, 2)],
                                random.Random(0))
    assert fixed.seed == 17 and fresh.seed != 17
    assert fixed.instance == render_tasks(sandbox, Limits(), [Task(checksum, 2, seed=17)], random.Random(9))[0].instance


def test_a_dataset_row_of_an_environment_outside_the_pool_is_refused(tmp_path):
    write_rows(tmp_path / "rows.jsonl", [{"code_sha256": "f" * 64, "seed": 1, "difficulty": 1}])
    with pytest.raises(RuntimeError, match=r"rows.jsonl: row 0 is from environment code ffffffffffff"):
        Curriculum(CurriculumConfig(dataset=str(tmp_path / "rows.jsonl")), MemoryPool([env("a")]))
    write_rows(tmp_path / "bad.jsonl", [{"seed": 1}])
    with pytest.raises(ValueError, match=r"bad.jsonl, row 0: metadata lacks code_sha256"):
        Curriculum(CurriculumConfig(dataset=str(tmp_path / "bad.jsonl")), MemoryPool([env("a")]))
    with pytest.raises(FileNotFoundError, match="no file"):
        Curriculum(CurriculumConfig(dataset=str(tmp_path / "missing.jsonl")), MemoryPool([env("a")]))
