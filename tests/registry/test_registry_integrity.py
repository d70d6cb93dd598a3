"""Crash safety and concurrency, with real processes on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from evoenv.registry import RegistryLocked, open_registry
from evoenv.registry.models import Base

REPO = Path(__file__).resolve().parents[2]


def code(i: int | str) -> str:
    return f"class Env{i}:\n    name = 'env_{i}'\n    def sample(self, seed, difficulty):\n        return {{'i': {i!r}}}\n"


def start_worker(mode: str, url: str, **args) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "tests.registry.registry_worker", mode, url, json.dumps(args)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"worker exited early ({proc.returncode}): {proc.stderr.read()}")
        assert time.monotonic() < deadline, f"worker never reached {path.name}"
        time.sleep(0.02)


def finish(proc: subprocess.Popen, timeout: float = 120.0) -> None:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"worker failed ({proc.returncode}):\n{err}"


def row_counts(url: str) -> dict[str, int]:
    """Rows in every registry table, read directly (independent of the Registry API)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {name: conn.scalar(select(func.count()).select_from(table))
                    for name, table in Base.metadata.tables.items()}
    finally:
        engine.dispose()


def test_sigkill_during_admission_leaves_no_half_written_rows(reg, reg_url, tmp_path):
    env = reg.add_candidate(code(1), name="victim", description="", max_difficulty=10)
    before = row_counts(reg_url)
    marker = tmp_path / "inside-admit"
    worker = start_worker("hang-in-admit", reg_url, env_id=env.id, marker=str(marker))
    wait_for(marker, worker)  # the admission's rows are written, not committed
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL

    assert row_counts(reg_url) == before
    record = reg.get(env.id)
    assert (record.status, record.fingerprint, record.reward) == ("candidate", None, None)
    assert reg.stage_results(env.id) == [] and reg.pool() == []
    assert reg.admitted_embeddings("minilm")[0] == []
    # The lock died with the writer: the next admission goes through whole.
    assert reg.admit(env.id, embedding=("minilm", [1.0] * 384)).status == "admitted"
    assert reg.admitted_embeddings("minilm")[0] == [env.id]


def test_sigkill_while_adding_a_candidate_leaves_nothing(reg, reg_url, tmp_path):
    parent = reg.add_candidate(code("parent"), name="parent", description="", max_difficulty=10)
    before = row_counts(reg_url)
    marker = tmp_path / "inside-add"
    worker = start_worker("hang-in-add", reg_url, code=code("child"), parent=parent.id, marker=str(marker))
    wait_for(marker, worker)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)

    assert row_counts(reg_url) == before  # no environment, tag, lineage or proposal rows
    assert reg.lineage(parent.id)["children"] == []
    assert reg.list_envs(search="half_written") == []
    again = reg.add_candidate(code("child"), name="child", description="", max_difficulty=10,
                              parents=[(parent.id, "repair")])
    assert reg.lineage(parent.id)["children"] == [{"id": again.id, "name": "child", "status": "candidate",
                                                   "generation": 0, "relation": "repair"}]


def test_two_growers_neither_lose_nor_duplicate_admissions(reg, reg_url, tmp_path):
    codes = [code(i) for i in range(30)]
    shared = list(range(20))  # both growers propose these, in different orders
    own = {0: list(range(20, 25)), 1: list(range(25, 30))}
    go = tmp_path / "go"
    workers = []
    for w in (0, 1):
        order = shared + own[w]
        random.Random(w).shuffle(order)
        workers.append(start_worker("grow", reg_url, codes=codes, order=order, go=str(go),
                                    out=str(tmp_path / f"out{w}.json")))
    go.touch()
    for worker in workers:
        finish(worker)
    made = [{int(k): v for k, v in json.loads((tmp_path / f"out{w}.json").read_text()).items()} for w in (0, 1)]

    assert all(made[0][i] == made[1][i] for i in shared)  # one environment per program
    counts = row_counts(reg_url)
    assert counts["environments"] == 30 and counts["pool_membership"] == 30 and counts["embeddings"] == 30
    assert reg.status_counts() == {"candidate": 0, "admitted": 30, "rejected": 0, "retired": 0}
    # Every admission's stage rows are there: once per environment a grower admitted.
    assert counts["stage_results"] == 5 * (len(shared) * 2 + 10)
    ids, matrix = reg.admitted_embeddings("minilm")
    by_index = {**made[0], **made[1]}
    assert sorted(ids) == sorted(by_index.values()) and matrix.shape == (30, 8)
    for index, env_id in by_index.items():
        assert matrix[ids.index(env_id)][0] == float(index)


def test_same_code_submitted_concurrently_is_one_environment(reg, reg_url, tmp_path):
    go = tmp_path / "go"
    workers = [start_worker("submit", reg_url, code=code("same"), name=f"copy{w}", go=str(go),
                            out=str(tmp_path / f"id{w}")) for w in range(3)]
    go.touch()
    for worker in workers:
        finish(worker)
    ids = {int((tmp_path / f"id{w}").read_text()) for w in range(3)}
    assert len(ids) == 1 and reg.count_envs() == 1


def test_insert_race_on_the_code_hash_returns_the_first_row(reg, reg_url, tmp_path):
    """Writer A has inserted the program but not committed when writer B submits it too.
    On PostgreSQL, B's insert waits on the unique index and then fails; B must answer with
    A's row. On SQLite, B waits for the write lock and then finds A's row."""
    a = start_worker("submit-and-hold", reg_url, code=code("race"), name="first", marker=str(tmp_path / "held"),
                     release=str(tmp_path / "release"), out=str(tmp_path / "a"))
    wait_for(tmp_path / "held", a)
    b = start_worker("submit", reg_url, code=code("race"), name="second", go=str(tmp_path / "held"),
                     out=str(tmp_path / "b"))
    time.sleep(1.5)  # let B reach its insert (it blocks behind A)
    assert b.poll() is None, "B should be waiting for A"
    (tmp_path / "release").touch()
    finish(a)
    finish(b)
    assert (tmp_path / "a").read_text() == (tmp_path / "b").read_text()
    assert [r.name for r in reg.list_envs()] == ["first"]


def test_a_locked_database_gives_a_clear_error(backend, reg_url, monkeypatch):
    monkeypatch.setenv("EVOENV_DB_LOCK_TIMEOUT", "0.5")
    reg = open_registry(reg_url)
    env = reg.add_candidate(code("locked"), name="locked", description="", max_difficulty=10)
    holder = create_engine(reg_url)
    try:
        with holder.connect() as conn:
            if backend == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.execute(text("SELECT id FROM environments WHERE id = :i FOR UPDATE"), {"i": env.id})
            with pytest.raises(RegistryLocked, match="locked by another writer.*EVOENV_DB_LOCK_TIMEOUT"):
                reg.admit(env.id)
            conn.rollback()
    finally:
        holder.dispose()
    assert reg.admit(env.id).status == "admitted"  # nothing was lost; it works once the lock is gone
    reg.close()
