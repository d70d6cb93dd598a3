"""Two data-parallel ranks on CPU (gloo): the real trainer, its Accelerator, real DDP.

``accelerate launch --cpu`` starts one process unless MPI is set up, so the ranks
are started by torchrun, the launcher ``accelerate launch`` itself uses on GPUs;
the trainer's ``Accelerator`` reads the same environment either way.
"""

import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

from evoenv.train.distributed import merge_records
from evoenv.train.metrics import read_metrics

from train_envs import CHECKSUM_ENV

REPO = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("ddp_worker.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(tiny_model, env_file, out: Path, max_steps: int, resume: str) -> None:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
           str(WORKER), str(tiny_model), env_file, str(out), str(max_steps), resume]
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "OMP_NUM_THREADS": "1", "CI": os.environ.get("CI", "")}
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def rank_reports(out: Path) -> list[dict]:
    return [json.loads((out / f"rank-{r}.json").read_text()) for r in (0, 1)]


@pytest.mark.slow
def test_two_ranks_train_in_step_and_only_rank0_writes(tmp_path, tiny_model):
    env_file = tmp_path / "checksum.py"
    env_file.write_text(CHECKSUM_ENV)
    out = tmp_path / "out"
    out.mkdir()
    launch(tiny_model, str(env_file), out, 2, "fresh")

    reports = rank_reports(out)
    assert [r["rank"] for r in reports] == [0, 1]
    assert all(r["distributed"] and r["world_size"] == 2 and r["steps"] == 2 for r in reports)
    # Different rollouts per rank, one all-reduced gradient: identical weights, and they moved.
    assert reports[0]["params_sha256"] == reports[1]["params_sha256"]
    run = out / "run"
    assert sorted(p.name for p in run.iterdir() if p.name.startswith("checkpoint")) == ["checkpoint-1", "checkpoint-2"]
    assert not list(run.glob(".checkpoint-*"))
    assert sorted(p.name for p in run.glob("*.jsonl")) == ["metrics.jsonl"]
    rows = read_metrics(run / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2]  # one writer: a second rank would have doubled the rows
    for row in rows:
        assert row["ranks"] == 2 and row["groups_sampled"] == 4  # 2 groups on each of 2 ranks
        assert math.isfinite(row["loss"]) and math.isfinite(row["grad_norm"])
    saved = load_file(run / "checkpoint-2" / "model.safetensors")
    initial = load_file(Path(tiny_model) / "model.safetensors")
    assert any(not (saved[k] == initial[k]).all() for k in saved), "training did not change the weights"

    # --resume on both ranks: each restores the checkpoint and they stay in step.
    launch(tiny_model, str(env_file), out, 3, "resume")
    reports = rank_reports(out)
    assert [r["start_step"] for r in reports] == [2, 2] and [r["steps"] for r in reports] == [3, 3]
    assert reports[0]["params_sha256"] == reports[1]["params_sha256"]
    assert [r["step"] for r in read_metrics(run / "metrics.jsonl")] == [1, 2, 3]


def test_merge_records_sums_counts_and_averages_the_rest():
    merged = merge_records([
        {"role": "solver", "groups_sampled": 2, "loss": 1.0, "pass_rate": None, "usage": {"a": 0.5},
         "difficulty_per_env": {"a": 3}},
        {"role": "solver", "groups_sampled": 3, "loss": 3.0, "pass_rate": 0.5, "usage": {"a": 1.0, "b": 0.0},
         "difficulty_per_env": {"a": 3}},
    ])
    assert merged == {"role": "solver", "groups_sampled": 5, "loss": 2.0, "pass_rate": 0.5,
                      "usage": {"a": 0.75, "b": 0.0}, "difficulty_per_env": {"a": 3}}
    assert isinstance(merged["difficulty_per_env"]["a"], int)


def test_distributed_setting_is_checked_and_auto_follows_the_launcher(monkeypatch, tiny_model):
    from evoenv.train.config import ConfigError, config_from_dict
    from evoenv.train.distributed import wants_accelerate

    with pytest.raises(ConfigError, match="distributed"):
        config_from_dict({"model": str(tiny_model), "distributed": "yes"})
    assert config_from_dict({"model": str(tiny_model), "distributed": True}).distributed == "true"
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert not wants_accelerate("auto") and wants_accelerate("true")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert wants_accelerate("auto") and not wants_accelerate("false")
