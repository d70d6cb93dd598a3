"""Two data-parallel ranks on CPU (gloo): the real trainer, its Accelerator, real DDP.

``accelerate launch --cpu`` starts one process unless MPI is set up, so the ranks
are started by torchrun, the launcher ``accelerate launch`` itself uses on GPUs;
the trainer's ``Accelerator`` reads the same environment either way.
"""

import json
import math
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file
from train_envs import CHECKSUM_ENV, PROPOSAL

from evoenv.train.distributed import merge_records
from evoenv.train.metrics import read_metrics

REPO = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("ddp_worker.py")
GENERATOR_WORKER = Path(__file__).with_name("ddp_generator_worker.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(tiny_model, pool: str, out: Path, max_steps: int, resume: str, worker: Path = WORKER,
           check: bool = True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
           str(worker), str(tiny_model), pool, str(out), str(max_steps), resume]
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "OMP_NUM_THREADS": "1", "CI": os.environ.get("CI", "")}
    # Own process group: a hung run is killed with its ranks, not just the launcher.
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        pytest.fail("the ranks did not finish in 300 s (a collective left waiting?):\n" + stderr[-3000:])
    done = subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)
    if check:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


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


def seeded_registry(path: Path, sandbox) -> str:
    """A SQLite registry holding one admitted seed (count_inversions), as ``evoenv init`` leaves it."""
    from evoenv.registry import open_registry
    from evoenv.sandbox import SandboxedEnv
    from evoenv.sources import load_seed

    url = f"sqlite:///{path}"
    registry = open_registry(url, upgrade_schema=True)
    try:
        seed = load_seed("count_inversions")
        info = SandboxedEnv(seed.code, sandbox).info()
        registry.admit(registry.add_candidate(seed.code, name=info.name, description=info.description,
                                              max_difficulty=info.max_difficulty, origin="seed").id)
    finally:
        registry.close()
    return url


@pytest.mark.slow
def test_generator_steps_under_two_ranks_admit_once_on_rank0_and_share_the_pool(tmp_path, tiny_model, sandbox):
    from evoenv.admission import AdmissionConfig
    from evoenv.registry import open_registry

    url = seeded_registry(tmp_path / "registry.db", sandbox)
    out = tmp_path / "out"
    out.mkdir()
    penalty = AdmissionConfig().invalid_penalty
    # step 1 solver, step 2 generator: each rank samples 1 prompt x 2 proposals
    launch(tiny_model, url, out, 2, "fresh", worker=GENERATOR_WORKER)
    reports = rank_reports(out)

    # Rank 0 alone judged, all four proposals, rank 0's then rank 1's; rank 1 judged nothing.
    assert [j["rank_tag"] for j in reports[0]["judged"]] == [0, 0, 1, 1]
    assert reports[1]["judged"] == []
    admitted_reward = reports[0]["judged"][2]["reward"]
    assert [j["admitted"] for j in reports[0]["judged"]] == [False, False, True, False]
    assert admitted_reward > penalty
    # Each rank trained its own proposals with their own rewards.
    generator_rows = [[t["rewards"] for t in r["trained"] if t["role"] == "generator"] for r in reports]
    assert generator_rows[0] == [[penalty, penalty]]
    assert generator_rows[1] == [[admitted_reward, penalty]]

    registry = open_registry(url)
    try:
        (peaks,) = registry.list_envs(search="count_peaks")  # one row: stored once, by rank 0
        assert peaks.status == "admitted" and peaks.origin == "generated" and peaks.reward == admitted_reward
        (proposal,) = registry.proposals(peaks.id)  # one proposal row: judged once
        assert "[proposer rank 1]" in proposal["prompt"] and proposal["completion"] == PROPOSAL
        # rank 1's prompt carried its lineage to rank 0: a mutation of the one pool environment
        seed = registry.get("count_inversions")
        assert [(p["id"], p["relation"]) for p in registry.lineage(peaks.id)["parents"]] == [(seed.id, "mutation")]
        assert registry.count_envs() == 2  # the seed and count_peaks (code-less proposals are not stored)
        (run,) = registry.runs(kind="train")
        assert run.id == reports[0]["run_id"] and run.status == "finished"
    finally:
        registry.close()
    for report in reports:  # the admitted environment joined the pool on both ranks, under its registry id
        assert sorted(report["curriculum"].values()) == ["count_inversions", "count_peaks"]
        assert report["curriculum"][str(peaks.id)] == "count_peaks"
        assert report["proposed"] == 4 and report["admitted"] == 1 and report["admission_rate"] == 0.25
    assert reports[0]["curriculum"] == reports[1]["curriculum"]
    assert reports[0]["params_sha256"] == reports[1]["params_sha256"]
    rows = read_metrics(out / "run" / "metrics.jsonl")
    assert [(r["role"], r["generator_admission_rate"]) for r in rows] == [("solver", None), ("generator", 0.25)]
    assert rows[1]["groups_sampled"] == 2 and rows[1]["reward_mean"] == pytest.approx(
        (3 * penalty + admitted_reward) / 4)

    # --resume: the counters and the grown pool come back on both ranks; step 3 trains on it.
    launch(tiny_model, url, out, 3, "resume", worker=GENERATOR_WORKER)
    reports = rank_reports(out)
    for report in reports:
        assert report["start_step"] == 2 and report["steps"] == 3
        assert report["proposed"] == 4 and report["admitted"] == 1 and report["admission_rate"] == 0.25
        assert str(peaks.id) in report["curriculum"]
    assert reports[0]["params_sha256"] == reports[1]["params_sha256"]
    assert read_metrics(out / "run" / "metrics.jsonl")[-1]["generator_admission_rate"] == 0.25


@pytest.mark.slow
def test_generator_rounds_stay_in_step_when_ranks_need_different_numbers(tmp_path, tiny_model, sandbox):
    """Dynamic sampling: rank 0's group has no reward spread and is sampled again, rank 1's is kept.
    Rank 1 joins the second admission round with no proposals, so neither rank waits forever."""
    from evoenv.admission import AdmissionConfig

    url = seeded_registry(tmp_path / "registry.db", sandbox)
    out = tmp_path / "out"
    out.mkdir()
    penalty = AdmissionConfig().invalid_penalty
    launch(tiny_model, url, out, 2, "dynamic", worker=GENERATOR_WORKER)
    reports = rank_reports(out)
    assert [j["rank_tag"] for j in reports[0]["judged"]] == [0, 0, 1, 1, 0, 0]  # round 2: rank 0's only
    admitted_reward = reports[0]["judged"][2]["reward"]
    generator_rows = [[t["rewards"] for t in r["trained"] if t["role"] == "generator"] for r in reports]
    assert generator_rows == [[[]], [[admitted_reward, penalty]]]  # rank 0 kept no group
    for report in reports:
        assert report["steps"] == 2 and report["proposed"] == 6 and report["admitted"] == 1
    generator_step = read_metrics(out / "run" / "metrics.jsonl")[1]
    assert generator_step["role"] == "generator" and generator_step["groups_sampled"] == 3
    assert generator_step["generator_admission_rate"] == pytest.approx(1 / 6)
    assert "skipped" in generator_step  # an update needs every rank: none is made
    assert reports[0]["params_sha256"] == reports[1]["params_sha256"]


@pytest.mark.slow
def test_a_failing_judge_on_rank0_stops_every_rank(tmp_path, tiny_model, sandbox):
    from evoenv.registry import open_registry

    url = seeded_registry(tmp_path / "registry.db", sandbox)
    out = tmp_path / "out"
    out.mkdir()
    done = launch(tiny_model, url, out, 2, "fail-judge", worker=GENERATOR_WORKER, check=False)
    assert done.returncode != 0
    reports = rank_reports(out)
    assert reports[0]["error"] == "RuntimeError: judge exploded"
    assert reports[1]["error"] == "RuntimeError: generator admission failed on rank 0: RuntimeError: judge exploded"
    assert all("steps" not in r for r in reports)
    registry = open_registry(url)
    try:
        (run,) = registry.runs(kind="train")
        assert run.status == "failed"
    finally:
        registry.close()


def test_other_ranks_add_admitted_environments_to_an_in_memory_pool():
    from evoenv.train.curriculum import PoolEnv, SourcesPool
    from evoenv.train.distributed import ReadOnlyPool

    seed = PoolEnv("checksum", "checksum", CHECKSUM_ENV, "seed", 5)
    new = PoolEnv("generated:abc", "count_peaks", PROPOSAL, "generated", 10)
    pool = ReadOnlyPool(SourcesPool([seed]))
    pool.add(new)
    pool.add(new)
    assert pool.active() == [seed, new]  # as on rank 0, whose SourcesPool takes it too
    assert pool.advance_epoch(3) == []  # still no writes from this rank


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
