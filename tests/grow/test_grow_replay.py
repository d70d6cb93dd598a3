"""The whole grow loop, end to end through the CLI, on the replay test double:
32 recorded completions shaped like real model output. The test asserts exactly
which proposals are admitted and, for every other one, the stage and reason."""

from __future__ import annotations

import json
import re

import pytest

from evoenv.registry import open_registry
from tests.grow.fixture import REPLAY_ADMISSION, cases, write_replay
from tests.grow.helpers import evoenv

# Tight sandbox limits keep the infinite loop and the memory bomb quick to reject. The replay double's
# solver answers every instance of an environment with ONE constant (it cannot solve anything), so the
# fixtures it admits are guessable by construction: the blind stage is switched off here
# (blind_max_rate = 1.0); tests/admission/test_blind.py and the corpus test it.
CONFIG = """
[grow]
rounds = 4
batch = 8
seed = 7
admission_workers = 2
state_dir = "runs"

[grow.admission]
cpu_s = 3.0
wall_s = 6.0
memory_mb = 512
""" + REPLAY_ADMISSION


@pytest.mark.slow
def test_grow_loop_admits_exactly_the_good_proposals(seeded_db, seed_sources, tmp_path):
    url, _ = seeded_db
    case_list = cases(seed_sources)
    assert len(case_list) >= 30
    replay = write_replay(tmp_path / "completions.jsonl", case_list)
    (tmp_path / "grow.toml").write_text(CONFIG)

    result = evoenv(["grow", "--policy", f"replay:{replay}", "--config", "grow.toml", "--json"], url, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)

    by_key = {c["key"]: c for c in report["candidates"]}
    assert sorted(by_key) == sorted(c.key for c in case_list)  # every proposal accounted for, once
    problems = []
    for case in case_list:
        got = by_key[case.key]
        if got["outcome"] != case.outcome:
            problems.append(f"{case.key} {case.label}: expected {case.outcome}, got {got['outcome']}: {got['reason']}")
        elif case.stage and got["failed_stage"] != case.stage:
            problems.append(f"{case.key} {case.label}: expected stage {case.stage}, got {got['failed_stage']}: "
                            f"{got['reason']}")
        elif case.why and not re.search(case.why, got["reason"], re.IGNORECASE):
            problems.append(f"{case.key} {case.label}: reason {got['reason']!r} does not match {case.why!r}")
    assert not problems, "\n".join(problems)

    # The per-round table adds up: 8 proposed a round, admissions as listed, tokens counted.
    rounds = report["rounds"]
    assert [r["proposed"] for r in rounds] == [8, 8, 8, 8]
    expected_admitted = [sum(c.outcome == "admitted" and c.key.startswith(f"r{n}s") for c in case_list)
                         for n in range(1, 5)]
    assert [r["admitted"] for r in rounds] == expected_admitted == [2, 2, 2, 0]
    assert all(r["tokens"] > 0 for r in rounds)
    assert rounds[0]["passes"]["L5"] >= 2 and rounds[0]["passes"]["calibration"] == 2

    # The registry holds what the report says, with the proposal text and lineage.
    with open_registry(url) as registry:
        admitted = {e.name for e in registry.list_envs(status="admitted", origin="generated", limit=100)}
        assert admitted == {"hanoi_move", "josephus_survivor", "stack_machine_digit", "blocked_lattice_paths",
                            "bipartite_check", "coin_change_ways_mod"}
        hanoi = registry.get("hanoi_move")
        proposals = registry.proposals(hanoi.id)
        assert len(proposals) == 1 and "<think>" in proposals[0]["completion"]
        assert "You are the generator of EvoEnv" in proposals[0]["prompt"]
        assert registry.lineage(hanoi.id)["parents"], "a generated environment records its parents"
        stages = {s.stage: s for s in registry.stage_results(hanoi.id)}
        assert all(stages[name].passed for name in ("L1", "L2", "L3", "L4", "L5", "novelty", "review", "calibration"))
        run = registry.get_run(report["run_id"])
        assert run.status == "finished" and run.config["batch"] == 8
        mixup = next(e for e in registry.list_envs(search="gap_mixup", limit=5))
        assert mixup.status == "rejected" and len(registry.reviews(mixup.id)) == 3


def test_grow_without_a_policy_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv("EVOENV_POLICY", raising=False)
    result = evoenv(["grow", "--rounds", "1"], f"sqlite:///{tmp_path / 'x.db'}", tmp_path)
    assert result.returncode == 2
    assert "no policy configured" in result.stderr and "--policy openai:" in result.stderr
    assert "evoenv init" in result.stderr


def test_grow_with_an_unreachable_policy_names_the_url(tmp_path):
    result = evoenv(["grow", "--policy", "openai:m@http://127.0.0.1:9/v1"], f"sqlite:///{tmp_path / 'x.db'}",
                    tmp_path)
    assert result.returncode == 2
    assert "http://127.0.0.1:9/v1" in result.stderr and "server is running" in result.stderr


def test_grow_on_an_empty_pool_says_to_run_init(tmp_path):
    from evoenv.registry import open_registry as open_fresh

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    open_fresh(url, upgrade_schema=True).close()
    (tmp_path / "c.jsonl").write_text('"nothing"\n')
    result = evoenv(["grow", "--policy", "replay:c.jsonl"], url, tmp_path)
    assert result.returncode == 2 and "evoenv init" in result.stderr and "empty" in result.stderr
