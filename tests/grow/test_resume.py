"""SIGKILL a grow run in the middle of a round, then ``--resume``: nothing is lost
and nothing is duplicated, in the report, the registry and the policy's stream."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from evoenv.registry import open_registry
from tests.grow.fixture import REPLAY_ADMISSION, cases, write_replay
from tests.grow.helpers import REPO
from tests.grow.helpers import evoenv as run_evoenv

CONFIG = """
rounds = 2
batch = 4
seed = 3
admission_workers = 2
state_dir = "runs"

[admission]
cpu_s = 3.0
wall_s = 6.0
memory_mb = 512
""" + REPLAY_ADMISSION

# (new key, key in the main fixture): round 2 holds the infinite loop, which keeps the
# round busy for the sandbox's wall limit: the window in which the run is killed.
PLAN = [("r1s0", "r1s0"), ("r1s1", "r1s2"), ("r1s2", "r1s5"), ("r1s3", "r1s6"),
        ("r2s0", "r1s1"), ("r2s1", "r3s5"), ("r2s2", "r2s2"), ("r2s3", "r2s0")]


def journal_events(path):
    if not path.exists():
        return []
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return events


@pytest.mark.slow
def test_sigkill_mid_round_then_resume_loses_and_duplicates_nothing(seeded_db, seed_sources, tmp_path):
    url, _ = seeded_db
    by_key = {c.key: c for c in cases(seed_sources)}
    plan = [replace(by_key[old], key=new) for new, old in PLAN]
    replay = write_replay(tmp_path / "completions.jsonl", plan)
    (tmp_path / "grow.toml").write_text(CONFIG)
    cursor = tmp_path / "cursor.json"
    env = {**os.environ, "EVOENV_DB": url, "PYTHONPATH": str(REPO), "EVOENV_SANDBOX": "process"}
    args = [sys.executable, "-m", "evoenv", "grow", "--policy", f"replay:{replay}", "--config", "grow.toml",
            "-o", f"cursor={cursor}", "--json"]
    proc = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    journal = tmp_path / "runs" / "grow-1.jsonl"
    killed_at = None
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            events = journal_events(journal)
            round2 = [e for e in events if e["event"] == "generated" and e["slots"][0]["round"] == 2]
            stored2 = [e for e in events if e["event"] == "stored" and e["key"].startswith("r2")]
            if round2 and stored2 and not any(e["event"] == "round_done" and e["round"] == 2 for e in events):
                os.killpg(proc.pid, signal.SIGKILL)  # the whole group: the CLI and its sandbox workers
                killed_at = events
                break
            time.sleep(0.05)
    finally:
        if proc.poll() is None and killed_at is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    assert killed_at is not None, f"the run ended before it could be killed: {proc.stderr.read()[-2000:]!r}"
    assert proc.returncode == -signal.SIGKILL
    decided_before = {e["key"] for e in killed_at if e["event"] == "decided"}
    assert any(k.startswith("r1") for k in decided_before)
    assert not {f"r2s{i}" for i in range(4)} <= decided_before, "killed after round 2 was already decided"

    with open_registry(url) as registry:
        run = registry.get_run(1)
        assert run.status == "running"  # a SIGKILL leaves no chance to say otherwise

    resumed = run_evoenv(["grow", "--resume", "1", "--state-dir", "runs", "--json"], url, tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    report = json.loads(resumed.stdout)
    assert report["resumed"] is True

    keys = [c["key"] for c in report["candidates"]]
    assert sorted(keys) == sorted(new for new, _ in PLAN)  # each proposal exactly once
    outcome = {c["key"]: (c["outcome"], c["failed_stage"]) for c in report["candidates"]}
    assert outcome == {case.key: (case.outcome, case.stage) for case in plan}
    assert [r["round"] for r in report["rounds"]] == [1, 2]
    assert [r["admitted"] for r in report["rounds"]] == [1, 2]

    # The policy's stream: every recorded generator completion used once, none asked for again.
    used = json.loads(cursor.read_text())["used"]
    generator_rows = [i for i, line in enumerate(replay.read_text().splitlines()) if '"label"' in line]
    assert sorted(used) == generator_rows

    with open_registry(url) as registry:
        assert registry.get_run(1).status == "finished"
        mine = registry.list_envs(origin="generated", limit=100)
        assert not [e.name for e in mine if e.status == "candidate"], "a pending candidate was left behind"
        assert sorted(e.name for e in mine if e.status == "admitted") == \
            ["hanoi_move", "josephus_survivor", "stack_machine_digit"]
        # one proposal row per proposal: the kill and the resume recorded none twice
        proposals = [p for e in registry.list_envs(limit=200) for p in registry.proposals(e.id) if p["run_id"] == 1]
        assert len(proposals) == len(PLAN)
        assert len({(p["prompt"], p["completion"]) for p in proposals}) == len(PLAN)

    again = run_evoenv(["grow", "--resume", "1", "--state-dir", "runs"], url, tmp_path)
    assert again.returncode == 2 and "finished" in again.stderr
