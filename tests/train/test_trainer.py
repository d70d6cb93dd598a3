"""A tiny random Llama runs real GRPO steps: rollouts with transformers, rewards from the sandbox."""

import json
import logging
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from train_envs import CHECKSUM_ENV, LOOPING_ENV

from evoenv.sandbox import SandboxedEnv
from evoenv.train.checkpoint import latest_checkpoint
from evoenv.train.config import config_from_dict
from evoenv.train.curriculum import PoolEnv
from evoenv.train.generator import ProposalOutcome
from evoenv.train.loss import group_advantages
from evoenv.train.metrics import read_metrics
from evoenv.train.trainer import GRPOTrainer

REPO = Path(__file__).resolve().parents[2]


def write_env(folder: Path, name: str, code: str) -> str:
    path = folder / f"{name}.py"
    path.write_text(code)
    return str(path)


def make_config(tmp_path, tiny_model, envs, **overrides):
    data = {
        "model": str(tiny_model), "output_dir": str(tmp_path / "run"), "seed": 3,
        "max_steps": 1, "groups_per_step": 2, "group_size": 4, "micro_batch_size": 3,
        "max_new_tokens": 8, "max_prompt_tokens": 64, "learning_rate": 1e-2, "save_every": 0,
        "curriculum": {"pool": "sources", "envs": envs, "seed_floor": 0.0},
        # audit off: the checksum test environment pays for junk (it would fail L5)
        "reward": {"answer_from": "completion", "sandbox_workers": 1, "audit_share": 0},
    }
    for key, value in overrides.items():
        section, _, name = key.partition("__")
        if name:
            data.setdefault(section, {})[name] = value
        else:
            data[key] = value
    return config_from_dict(data)


def params(model):
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def test_one_grpo_step_learns_from_sandbox_rewards(tmp_path, tiny_model, sandbox):
    envs = [write_env(tmp_path, "checksum", CHECKSUM_ENV)]
    cfg = make_config(tmp_path, tiny_model, envs, beta=0.1, max_steps=2)
    trainer = GRPOTrainer(cfg, sandbox=sandbox)
    try:
        assert trainer.ref_model is not None and trainer.rollout.name == "hf"
        rollouts, sampled, kept = trainer.collect("solver")
        assert sampled == kept == 2 and len(rollouts.rewards) == 8
        # the rewards are what the environment's scorer says, run in the sandbox
        env = SandboxedEnv(CHECKSUM_ENV, sandbox)
        expected = env.score_many([(inst, text.strip()) for inst, text in zip(rollouts.instances, rollouts.texts)])
        assert rollouts.rewards == expected
        assert len(set(rollouts.rewards)) > 1, "random completions should score differently"

        before = params(trainer.model)
        advantages = group_advantages(torch.tensor(rollouts.rewards), cfg.group_size)
        stats = trainer.update(rollouts, advantages)
        assert math.isfinite(stats["loss"]) and math.isfinite(stats["entropy"]) and stats["entropy"] > 0
        assert stats["grad_accum_steps"] == 3  # 8 sequences in micro-batches of 3
        assert stats["grad_norm"] > 0
        grads = [p.grad for p in trainer.model.parameters() if p.grad is not None]
        assert grads and any(g.abs().sum() > 0 for g in grads)
        after = params(trainer.model)
        assert any(not torch.equal(before[n], after[n]) for n in before)
        # the frozen reference did not move, so the KL is now positive
        ref = dict(trainer.ref_model.named_parameters())
        assert all(torch.equal(ref[n], before[n]) for n in before)

        record = trainer.train_step()  # the whole loop once: role, rollouts, update, metrics
        assert record["role"] == "solver" and record["kl"] > 0 and math.isfinite(record["loss"])
        assert record["pass_rate_per_env"].keys() == {"checksum"}
        assert record["tokens_per_s"] > 0 and record["response_length_mean"] > 0
        trainer.cfg.num_iterations = 3  # several passes over one batch: the ratio leaves 1 and the clip acts
        clipped = trainer.train_step()
        assert clipped["clip_fraction"] > 0 and math.isfinite(clipped["loss"])
        logged = read_metrics(tmp_path / "run" / "metrics.jsonl")[0]
        for key in ("reward_mean", "kl", "entropy", "response_length_mean", "tokens_per_s", "pass_rate_per_env",
                    "generator_admission_rate"):
            assert key in logged
    finally:
        trainer.close()


def test_a_scorer_timeout_does_not_stop_the_step(tmp_path, tiny_model, sandbox, caplog):
    envs = [write_env(tmp_path, "checksum", CHECKSUM_ENV), write_env(tmp_path, "looper", LOOPING_ENV)]
    cfg = make_config(tmp_path, tiny_model, envs, groups_per_step=4,
                      reward__cpu_s=1.0, reward__wall_s=2.0, reward__memory_mb=256)
    trainer = GRPOTrainer(cfg, sandbox=sandbox)
    try:
        before = params(trainer.model)
        with caplog.at_level(logging.WARNING, logger="evoenv.train.rewards"):
            record = trainer.train_step()
        assert {"looper", "checksum"} <= record["pass_rate_per_env"].keys(), "seed 3 samples both environments"
        assert record["reward_failures"] >= cfg.group_size
        assert record["usage"]["looper"] == 0.0  # every looper rollout got reward 0
        assert math.isfinite(record["loss"]) and record["grad_norm"] > 0
        assert any(not torch.equal(before[n], p) for n, p in trainer.model.named_parameters())
        assert any("looper" in r.getMessage() and "timeout" in r.getMessage() for r in caplog.records)
        assert trainer.step == 1
    finally:
        trainer.close()


CONSTANT_ENV = CHECKSUM_ENV.replace("class Checksum", "class Constant").replace(
    'name = "checksum"', 'name = "constant"').replace(
    "return ((sum(map(ord, answer)) + instance[\"k\"]) % 11) / 10", "return 0.5")


def test_dynamic_sampling_keeps_only_groups_with_reward_spread(tmp_path, tiny_model, sandbox):
    assert "return 0.5" in CONSTANT_ENV
    envs = [write_env(tmp_path, "checksum", CHECKSUM_ENV), write_env(tmp_path, "constant", CONSTANT_ENV)]
    cfg = make_config(tmp_path, tiny_model, envs, groups_per_step=4, dynamic_sampling=True,
                      dynamic_sampling_max_rounds=3)
    trainer = GRPOTrainer(cfg, sandbox=sandbox)
    try:
        rollouts, sampled, kept = trainer.collect("solver")
        assert trainer.curriculum.state["constant"].total, "seed 3 samples the constant environment"
        assert sampled > 4 and sampled > kept  # its groups were dropped and new rounds refilled the batch
        assert "constant" not in rollouts.envs
        for g in range(kept):
            group = rollouts.rewards[g * 4:(g + 1) * 4]
            assert max(group) > min(group)
        assert kept <= 4
    finally:
        trainer.close()


class ScriptedGenerator:
    """Stands in for the admission pipeline: rewards proposals by length, admits one env."""

    def __init__(self):
        self.judged = 0

    def prompts(self, n, pool, rng):
        assert pool, "the generator sees the current pool"
        return [f"Write a new environment unlike {pool[0].name}."] * n

    def judge(self, prompts, completions):
        self.judged += len(completions)
        outcomes = []
        for i, text in enumerate(completions):
            admitted = i % 3 == 0  # the first proposal of each group
            env = PoolEnv(f"gen-{i}", f"generated_{i}", CHECKSUM_ENV, "generated", 5) if admitted else None
            outcomes.append(ProposalOutcome(reward=len(text) % 5 / 4 - 0.5, admitted=admitted, env=env))
        return outcomes


def test_generator_steps_alternate_and_scale_their_advantages(tmp_path, tiny_model, sandbox):
    envs = [write_env(tmp_path, "checksum", CHECKSUM_ENV)]
    cfg = make_config(tmp_path, tiny_model, envs, max_steps=2, generator__every=2,
                      generator__proposals_per_step=2, generator__group_size=3, generator__max_new_tokens=10)
    hooks = ScriptedGenerator()
    trainer = GRPOTrainer(cfg, sandbox=sandbox, generator_hooks=hooks)
    seen = []
    real_update = trainer.update
    trainer.update = lambda rollouts, adv, temperature: (seen.append((list(rollouts.rewards), adv.clone()))
                                                         or real_update(rollouts, adv, temperature))
    try:
        roles = [trainer.train_step()["role"], trainer.train_step()["role"]]
        assert roles == ["solver", "generator"]
        assert hooks.judged == 6
        rewards, advantages = seen[1]
        assert torch.allclose(advantages, 0.3 * group_advantages(torch.tensor(rewards), 3))
        assert {"gen-0", "gen-3"} <= trainer.curriculum.envs.keys()  # the admitted environment joined the pool
        assert trainer.last_metrics["generator_admission_rate"] == pytest.approx(2 / 6)
    finally:
        trainer.close()


def test_environments_admitted_during_training_survive_resume(tmp_path, tiny_model, sandbox):
    """A sources pool keeps nothing itself: the checkpoint carries the admitted environments."""
    envs = [write_env(tmp_path, "checksum", CHECKSUM_ENV)]
    overrides = dict(generator__every=2, generator__proposals_per_step=2, generator__group_size=3,
                     generator__max_new_tokens=10, save_every=2)
    trainer = GRPOTrainer(make_config(tmp_path, tiny_model, envs, max_steps=2, **overrides), sandbox=sandbox,
                          generator_hooks=ScriptedGenerator())
    try:
        trainer.train()  # solver step, then a generator step that admits gen-0 and gen-3
        assert {"gen-0", "gen-3"} <= trainer.curriculum.envs.keys()
        saved_state = trainer.curriculum.state_dict()
    finally:
        trainer.close()
    resumed = GRPOTrainer(make_config(tmp_path, tiny_model, envs, max_steps=3, **overrides), sandbox=sandbox,
                          generator_hooks=ScriptedGenerator(), resume=True)
    try:
        assert resumed.step == 2
        assert set(resumed.curriculum.envs) == {"checksum", "gen-0", "gen-3"}
        assert resumed.curriculum.envs["gen-3"].code == CHECKSUM_ENV
        assert resumed.curriculum.state_dict() == saved_state  # their difficulty and results too
        resumed.train_step()  # and they can be drawn and scored
    finally:
        resumed.close()


def test_checkpoint_and_resume_continue_exactly(tmp_path, tiny_model, sandbox):
    envs = [write_env(tmp_path, "checksum", CHECKSUM_ENV)]
    straight = GRPOTrainer(make_config(tmp_path / "a", tiny_model, envs, max_steps=2), sandbox=sandbox)
    try:
        straight.train()
        final_straight = params(straight.model)
    finally:
        straight.close()

    first = GRPOTrainer(make_config(tmp_path / "b", tiny_model, envs, max_steps=1), sandbox=sandbox)
    try:
        first.train()
    finally:
        first.close()
    saved = latest_checkpoint(tmp_path / "b" / "run")
    assert saved.name == "checkpoint-1"
    for name in ("model.safetensors", "config.json", "tokenizer.json", "trainer_state.pt", "trainer_state.json"):
        assert (saved / name).is_file()
    assert json.loads((saved / "trainer_state.json").read_text())["step"] == 1

    with pytest.raises(FileExistsError, match="pass --resume"):  # never silently overwrite a run
        GRPOTrainer(make_config(tmp_path / "b", tiny_model, envs, max_steps=2), sandbox=sandbox)
    resumed = GRPOTrainer(make_config(tmp_path / "b", tiny_model, envs, max_steps=2), sandbox=sandbox, resume=True)
    try:
        assert resumed.step == 1
        assert resumed.optimizer.state_dict()["state"], "optimizer moments restored"
        resumed.train()
        final_resumed = params(resumed.model)
    finally:
        resumed.close()
    for name, value in final_straight.items():
        assert torch.allclose(value, final_resumed[name], atol=1e-6), name
    assert latest_checkpoint(tmp_path / "b" / "run").name == "checkpoint-2"
    steps = [row["step"] for row in read_metrics(tmp_path / "b" / "run" / "metrics.jsonl")]
    assert steps == [1, 2]


def test_resume_without_a_checkpoint_is_a_clear_error(tmp_path, tiny_model, sandbox):
    cfg = make_config(tmp_path, tiny_model, [write_env(tmp_path, "checksum", CHECKSUM_ENV)])
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        GRPOTrainer(cfg, sandbox=sandbox, resume=True)


def test_an_unknown_environment_is_named(tmp_path, tiny_model, sandbox):
    from evoenv.sources import SourceError

    cfg = make_config(tmp_path, tiny_model, ["count_inversions", "no_such_env"])
    with pytest.raises(SourceError, match="no_such_env"):
        GRPOTrainer(cfg, sandbox=sandbox)


@pytest.mark.slow
def test_cli_trains_from_a_config_file(tmp_path, tiny_model):
    env_path = write_env(tmp_path, "checksum", CHECKSUM_ENV)
    config = tmp_path / "run.yaml"
    config.write_text(
        f"model: {tiny_model}\noutput_dir: {tmp_path / 'out'}\nmax_steps: 1\ngroups_per_step: 1\ngroup_size: 2\n"
        f"max_new_tokens: 4\ncurriculum:\n  pool: sources\n  envs: [count_inversions, {env_path}]\n"
        "reward:\n  answer_from: completion\n  sandbox_workers: 1\n")
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "evoenv", "train", "--config", str(config), "--json"],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["steps"] == 1
    assert (tmp_path / "out" / "checkpoint-1" / "model.safetensors").is_file()
    (row,) = read_metrics(tmp_path / "out" / "metrics.jsonl")
    assert set(row["difficulty_per_env"]) == {"count_inversions", "checksum"}  # a seed by name and a file

    bad = subprocess.run([sys.executable, "-m", "evoenv", "train", "--config", str(config), "--set", "group_size=1"],
                         capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert bad.returncode == 2 and "group_size: must be >= 2" in bad.stderr
