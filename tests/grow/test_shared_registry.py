"""Several grow processes, one registry (PostgreSQL when EVOENV_TEST_PG_URL is set, as in CI).

Proposals overlap on purpose: the same code in two workers, and renamed copies (same behaviour,
new class and name) of each other's environments. The replay test double waits a simulated
model latency per call, so each candidate spends seconds in review and calibration between its
novelty stage and its admission commit: the window in which another worker admits its twin."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from evoenv.registry import open_registry
from tests.grow.fixture import REPLAY_ADMISSION, Case, env, plain, think_fence, write_replay
from tests.grow.helpers import REPO
from tests.grow.test_resume import journal_events

CONFIG = """
rounds = 1
batch = 3
seed = {seed}
admission_workers = 3
state_dir = "runs"

[admission]
cpu_s = 3.0
wall_s = 6.0
memory_mb = 512
""" + REPLAY_ADMISSION
#: seconds per policy call: review and calibration each wait it at least once
LATENCY = 2.0


def twin(code: str, cls: str, new_cls: str, name: str, new_name: str) -> str:
    """A renamed copy: same prompts and references, new class, name and a comment."""
    assert cls in code and f'name = "{name}"' in code
    return "# A fresh idea, written from scratch.\n" + code.replace(cls, new_cls).replace(
        f'name = "{name}"', f'name = "{new_name}"')


def worker_cases() -> tuple[list[Case], list[Case]]:
    hanoi, josephus, stack = env("hanoi_move.py"), env("josephus.py"), env("stack_machine.py")
    josephus_twin = twin(josephus, "class Josephus", "class CircleElimination", "josephus_survivor",
                         "circle_elimination")
    hanoi_twin = twin(hanoi, "class HanoiMove", "class DiskAtStep", "hanoi_move", "disk_at_step")
    first = [Case("r1s0", "hanoi", think_fence(hanoi, "Mutation."), "", None, ""),
             Case("r1s1", "josephus twin", plain(josephus_twin), "", None, ""),
             Case("r1s2", "stack", plain(stack), "", None, "")]
    second = [Case("r1s0", "hanoi twin", plain(hanoi_twin), "", None, ""),
              Case("r1s1", "josephus", plain(josephus), "", None, ""),
              Case("r1s2", "stack, same code", plain(stack), "", None, "")]
    return first, second


FAMILIES = {"hanoi": {"hanoi_move", "disk_at_step"}, "josephus": {"josephus_survivor", "circle_elimination"},
            "stack": {"stack_machine_digit"}}


def start_worker(folder, db_url: str, cases: list[Case], seed: int, extra_env: dict | None = None):
    folder.mkdir(parents=True, exist_ok=True)
    replay = write_replay(folder / "completions.jsonl", cases)
    (folder / "grow.toml").write_text(CONFIG.format(seed=seed))
    env_vars = {**os.environ, "EVOENV_DB": db_url, "PYTHONPATH": str(REPO), "EVOENV_SANDBOX": "process",
                **(extra_env or {})}
    args = [sys.executable, "-m", "evoenv", "grow", "--policy", f"replay:{replay}", "--config", "grow.toml",
            "-o", f"cursor={folder / 'cursor.json'}", "-o", f"latency={LATENCY}", "--json"]
    return subprocess.Popen(args, cwd=folder, env=env_vars, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def resume_worker(folder, db_url: str, run_id: int) -> subprocess.CompletedProcess:
    env_vars = {**os.environ, "EVOENV_DB": db_url, "PYTHONPATH": str(REPO), "EVOENV_SANDBOX": "process"}
    return subprocess.run([sys.executable, "-m", "evoenv", "grow", "--resume", str(run_id), "--state-dir", "runs",
                           "--json"], cwd=folder, env=env_vars, capture_output=True, text=True, timeout=600)


def finish(proc, timeout: float = 600) -> dict:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out)


def check_registry(db_url: str) -> None:
    """One environment admitted per family; nothing left half-way; no decision recorded twice."""
    with open_registry(db_url) as registry:
        generated = registry.list_envs(origin="generated", limit=200)
        admitted = [e.name for e in generated if e.status == "admitted"]
        for family, names in FAMILIES.items():
            assert len([n for n in admitted if n in names]) == 1, (family, admitted)
        assert len(admitted) == 3, admitted
        assert not [e.name for e in generated if e.status == "candidate"], "a candidate was left undecided"
        for e in generated:
            reviews = registry.reviews(e.id)
            assert len(reviews) in (0, 3), f"{e.name} has {len(reviews)} reviews: a decision was recorded twice"
            for points in registry.calibration_curve(e.id).values():
                assert all(n == 8 for _, n, _, _ in points), f"{e.name}: calibration recorded twice: {points}"
        # two renamed copies of one environment never both in the pool
        pool_names = {registry.get(env_id).name for env_id, _, _ in registry.pool()}
        for names in FAMILIES.values():
            assert len(pool_names & names) == 1


@pytest.mark.slow
def test_two_grow_processes_with_overlapping_proposals_admit_no_duplicate(shared_db, tmp_path):
    first, second = worker_cases()
    procs = [start_worker(tmp_path / "a", shared_db, first, seed=1),
             start_worker(tmp_path / "b", shared_db, second, seed=2)]
    reports = [finish(p) for p in procs]
    check_registry(shared_db)
    outcomes = [c for report in reports for c in report["candidates"]]
    assert sum(c["outcome"] == "admitted" for c in outcomes) == 3
    # the stack machine: one worker admitted it, the other found the same code stored already
    assert sorted(c["outcome"] for c in outcomes if c["key"] == "r1s2") == ["admitted", "duplicate"]
    twins = [c for c in outcomes if c["outcome"] == "rejected"]
    assert twins and all(c["failed_stage"] == "novelty" for c in twins), twins


@pytest.mark.slow
def test_worker_killed_mid_round_then_resumed_loses_and_duplicates_nothing(shared_db, tmp_path):
    first, second = worker_cases()
    victim = start_worker(tmp_path / "a", shared_db, first, seed=1)
    other = start_worker(tmp_path / "b", shared_db, second, seed=2)
    journal = tmp_path / "a" / "runs"
    killed = None
    deadline = time.monotonic() + 400
    try:
        while time.monotonic() < deadline and victim.poll() is None:
            files = list(journal.glob("grow-*.jsonl"))
            events = journal_events(files[0]) if files else []
            decided = [e for e in events if e["event"] == "decided"]
            stored = [e for e in events if e["event"] == "stored"]
            if stored and len(decided) < len(first):
                # mid-round: proposals stored, admission under way (review/calibration waiting on the model)
                time.sleep(LATENCY)
                os.killpg(victim.pid, signal.SIGKILL)
                killed = files[0]
                break
            time.sleep(0.05)
    finally:
        if victim.poll() is None and killed is None:
            os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(timeout=60)
    assert killed is not None, "the worker finished before it could be killed"
    assert victim.returncode == -signal.SIGKILL
    run_id = int(killed.stem.split("-")[1])
    finish(other)
    resumed = resume_worker(tmp_path / "a", shared_db, run_id)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    report = json.loads(resumed.stdout)
    assert report["resumed"] is True
    assert sorted(c["key"] for c in report["candidates"]) == ["r1s0", "r1s1", "r1s2"]
    assert all(c["outcome"] in ("admitted", "rejected", "duplicate") for c in report["candidates"])
    check_registry(shared_db)
    with open_registry(shared_db) as registry:
        assert registry.get_run(run_id).status == "finished"
        proposals = [p for e in registry.list_envs(limit=200) for p in registry.proposals(e.id)
                     if p["run_id"] == run_id]
        assert len(proposals) == len(first), "a proposal of the killed worker was lost or recorded twice"
