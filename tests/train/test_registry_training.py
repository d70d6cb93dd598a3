"""The curriculum and the trainer against the real SQLite registry."""

import random

from train_envs import CHECKSUM_ENV

from evoenv.registry import open_registry
from evoenv.sources import load_seed
from evoenv.train.config import CurriculumConfig, config_from_dict
from evoenv.train.curriculum import Curriculum, RegistryPool, Task
from evoenv.train.trainer import GRPOTrainer


def make_registry(tmp_path, sandbox):
    from evoenv.sandbox import SandboxedEnv

    registry = open_registry(f"sqlite:///{tmp_path / 'registry.db'}", upgrade_schema=True)
    ids = {}
    for name, code, origin in (("count_inversions", load_seed("count_inversions").code, "seed"),
                               ("checksum", CHECKSUM_ENV, "generated")):
        info = SandboxedEnv(code, sandbox).info()
        record = registry.add_candidate(code, name=info.name, description=info.description,
                                        max_difficulty=info.max_difficulty, origin=origin)
        registry.admit(record.id)
        ids[name] = record.id
    return registry, ids


def test_curriculum_reads_the_pool_and_writes_back(tmp_path, sandbox):
    registry, ids = make_registry(tmp_path, sandbox)
    try:
        # an earlier calibration says level 3 of checksum is near the target rate
        registry.record_calibration(ids["checksum"], checkpoint="admission", difficulty=1, n=8, passes=8)
        registry.record_calibration(ids["checksum"], checkpoint="admission", difficulty=3, n=10, passes=3)
        run_id = registry.start_run("train", {})
        pool = RegistryPool(registry, run_id)
        cur = Curriculum(CurriculumConfig(window=4, min_samples=4, pool_epoch_steps=2, max_pool_epochs=1), pool)
        assert {e.name for e in cur.envs.values()} == {"count_inversions", "checksum"}
        checksum = cur.envs[str(ids["checksum"])]
        assert cur.state[checksum.id].difficulty == 3  # started where calibration put it
        assert cur.state[str(ids["count_inversions"])].difficulty == 1
        tasks = cur.sample(10, random.Random(0))
        assert sum(t.env.origin == "seed" for t in tasks) >= 2  # seed floor 0.2

        cur.update([(Task(checksum, 3), 1.0)] * 3 + [(Task(checksum, 3), 0.0)])
        cur.write_usage(step=0)
        cur.write_calibration("run/checkpoint-1")
        curve = registry.calibration_curve(ids["checksum"])
        assert curve["run/checkpoint-1"] == [(3, 4, 3, 0.75)]
        assert [row["mean_reward"] for row in registry.usage(ids["checksum"])] == [0.75]

        assert cur.rotate(step=2) == [str(ids["checksum"])]  # generated env rotated out after 1 epoch
        assert registry.get(ids["checksum"]).status == "retired"
        assert set(cur.envs) == {str(ids["count_inversions"])}  # seeds never rotate out
    finally:
        registry.close()


def test_a_training_run_is_recorded_in_the_registry(tmp_path, tiny_model, sandbox):
    registry, ids = make_registry(tmp_path, sandbox)
    try:
        cfg = config_from_dict({
            "model": str(tiny_model), "output_dir": str(tmp_path / "run"), "run_name": "tiny", "max_steps": 1,
            "groups_per_step": 2, "group_size": 2, "max_new_tokens": 4, "save_every": 1,
            # audit off: the checksum test environment pays for junk (it would fail L5)
            "reward": {"answer_from": "completion", "sandbox_workers": 1, "audit_share": 0},
        })
        trainer = GRPOTrainer(cfg, registry=registry, sandbox=sandbox)
        try:
            summary = trainer.train()
        finally:
            trainer.close()
        assert summary["steps"] == 1
        run = registry.get_run(trainer.run_id)
        assert run.status == "finished" and run.kind == "train"
        used = [env_id for env_id in ids.values() if registry.usage(env_id)]
        assert used, "each sampled environment has a usage row"
        for env_id in used:
            assert "tiny/checkpoint-1" in registry.calibration_curve(env_id)
    finally:
        registry.close()


def test_the_trainer_quarantines_an_environment_that_pays_for_wrong_answers(tmp_path, tiny_model, sandbox):
    """Issue 18: an environment that passed admission by telling it apart, and pays 1.0 for any answer in
    training, is caught by the trainer's audit, quarantined with the evidence, and earns nothing more."""
    from tests.adversarial.hostile_programs import WATCHED_ONLY_BY_CONTENT

    registry = open_registry(f"sqlite:///{tmp_path / 'registry.db'}", upgrade_schema=True)
    try:
        record = registry.add_candidate(WATCHED_ONLY_BY_CONTENT, name="watched_only", description="d",
                                        max_difficulty=5)
        registry.admit(record.id)
        cfg = config_from_dict({
            "model": str(tiny_model), "output_dir": str(tmp_path / "run"), "max_steps": 1, "groups_per_step": 2,
            "group_size": 2, "max_new_tokens": 4, "save_every": 0,
            "reward": {"answer_from": "completion", "sandbox_workers": 1, "audit_share": 1.0},
        })
        trainer = GRPOTrainer(cfg, registry=registry, sandbox=sandbox)
        try:
            record_step = trainer.train_step()
            assert str(record.id) not in trainer.curriculum.envs  # never drawn again
            assert record_step["reward_mean"] == 0.0  # the tiny model's answers are wrong: paid nothing
        finally:
            trainer.close()
        stored = registry.quarantine_of(record.id)
        assert stored is not None and stored["evidence"]["caught_by"] == f"training run {trainer.run_id}"
        assert stored["evidence"]["score"] == 1.0 and stored["evidence"]["seed"] is not None
        assert registry.get(record.id).status == "retired"
    finally:
        registry.close()


def test_an_empty_band_starts_at_the_top_when_all_solved_and_at_the_bottom_when_none(tmp_path):
    """No level with 0 < p < 1: every measured level solved -> the top level (it used to pick the
    lowest measured level, training on what is already solved); none solved -> level 1; a gap
    between solved and unsolved levels -> just above the highest solved one."""
    registry = open_registry(f"sqlite:///{tmp_path / 'registry.db'}", upgrade_schema=True)
    try:
        ids = {}
        for name in ("all_solved", "none_solved", "gap", "in_band"):
            record = registry.add_candidate(CHECKSUM_ENV.replace("checksum", name), name=name, description=name,
                                            max_difficulty=10, origin="generated")
            registry.admit(record.id)
            ids[name] = record.id
        for level in (5, 8, 9):
            registry.record_calibration(ids["all_solved"], checkpoint="admission", difficulty=level, n=8, passes=8)
        for level in (5, 2):
            registry.record_calibration(ids["none_solved"], checkpoint="admission", difficulty=level, n=8, passes=0)
        registry.record_calibration(ids["gap"], checkpoint="admission", difficulty=2, n=8, passes=8)
        registry.record_calibration(ids["gap"], checkpoint="admission", difficulty=6, n=8, passes=0)
        registry.record_calibration(ids["in_band"], checkpoint="admission", difficulty=3, n=8, passes=8)
        registry.record_calibration(ids["in_band"], checkpoint="admission", difficulty=7, n=8, passes=7)
        registry.record_calibration(ids["in_band"], checkpoint="admission", difficulty=9, n=8, passes=0)
        cur = Curriculum(CurriculumConfig(window=8, min_samples=8), RegistryPool(registry))
        start = {name: cur.state[str(env_id)].difficulty for name, env_id in ids.items()}
        assert start == {"all_solved": 10, "none_solved": 1, "gap": 3, "in_band": 7}

        # at the ends the curriculum stays put and keeps measuring: solved at the top, unsolved at 1
        top, bottom = cur.envs[str(ids["all_solved"])], cur.envs[str(ids["none_solved"])]
        assert cur.update([(Task(top, 10), 1.0)] * 8 + [(Task(bottom, 1), 0.0)] * 8) == {}
        assert cur.pass_rate(top.id) == 1.0 and cur.pass_rate(bottom.id) == 0.0
        assert cur.weight(top.id) == cur.cfg.min_weight  # still drawn now and then, so it is re-measured
        assert cur.update([(Task(top, 10), 0.0)] * 8) == {top.id: 9}  # the policy got worse: it moves
    finally:
        registry.close()
