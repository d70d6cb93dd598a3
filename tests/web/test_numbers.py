"""The browser's numbers add up: the stage that rejected a candidate is decided in one place, the
funnel is a funnel (stages in the order a candidate meets them, seeds apart, proposed as grow reports
it, tokens per admitted environment from grow's summary)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from evoenv.admission.result import StageResult
from evoenv.registry import open_registry
from evoenv.sources import load_seed
from evoenv.web import create_app

MEETS = ["L1", "L2", "L3", "L4", "L5", "novelty", "review", "calibration"]


def _stages(fail: dict[str, str] | None = None, skip=()) -> list[StageResult]:
    fail = fail or {}
    return [StageResult(s, s not in fail, fail.get(s, "ok"), score=0.0 if s in fail else 1.0)
            for s in MEETS if s not in skip]


def _variant(name: str, n: int) -> str:
    return load_seed("knapsack").code.replace('name = "knapsack"', f'name = "{name}"').replace(
        "4 + 2 * difficulty", f"{n} + 2 * difficulty")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('numbers') / 'r.db'}"
    reg = open_registry(url, upgrade_schema=True)
    ids = {}
    for name in ("knapsack", "subset_sum"):  # seeds: no self-review, no calibration
        rec = reg.add_candidate(load_seed(name).code, name=name, description="seed", max_difficulty=10, origin="seed")
        reg.admit(rec.id, stages=_stages(skip=("review", "calibration")))
    run = reg.start_run("grow", {"batch": 5})

    def propose(name: str, n: int):
        rec = reg.add_candidate(_variant(name, n), name=name, description="x", max_difficulty=10, run_id=run)
        ids[name] = rec.id
        return rec

    reg.admit(propose("good", 5).id, stages=_stages())
    # Novelty and calibration both failed (they run side by side); the decision names novelty.
    reg.reject(propose("copycat", 6).id, reason="novelty: behaviourally identical to subset_sum",
               stages=_stages({"novelty": "behaviourally identical to subset_sum",
                               "calibration": "pass rate 0.00 over 8 instances: too hard"}))
    reg.reject(propose("crashes", 7).id, reason="L2: reference() raised ZeroDivisionError",
               stages=_stages({"L2": "reference() raised ZeroDivisionError"}, skip=MEETS[2:]))
    reg.reject(propose("too_hard", 8).id, reason="calibration: pass rate 0.00 over 8 instances: too hard",
               stages=_stages({"calibration": "pass rate 0.00 over 8 instances: too hard"}))
    # What grow writes: five proposals, one an exact copy of a stored environment (not stored again).
    outcomes = ["admitted", "rejected", "rejected", "rejected", "duplicate"]
    reg.finish_run(run, "finished", {
        "run_id": run, "rounds": [{"round": 1, "proposed": 5, "seconds": 40.0, "tokens": 5000}],
        "candidates": [{"key": f"1:{i}", "outcome": o} for i, o in enumerate(outcomes)],
        "totals": {"proposed": 5, "admitted": 1, "tokens": 5000}})
    with TestClient(create_app(url)) as client:
        yield client, ids, run


def test_one_stage_rejected_each_candidate_everywhere(world):
    client, ids, _run = world
    env = client.get(f"/api/envs/{ids['copycat']}").json()
    assert env["failing_stage"] == "novelty" and "behaviourally identical" in env["reason"]
    assert "Rejected at novelty" in client.get(f"/envs/{ids['copycat']}").text
    listed = {e["name"]: e for e in client.get("/api/rejected").json()["items"]}
    assert {n: e["failing_stage"] for n, e in listed.items()} == {
        "copycat": "novelty", "crashes": "L2", "too_hard": "calibration"}
    assert "behaviourally identical" in listed["copycat"]["reason"]


def test_stage_chips_count_what_the_filtered_lists_show(world):
    client, _ids, _run = world
    counts = client.get("/api/rejected").json()["counts"]
    for stage in MEETS:
        shown = client.get("/api/rejected", params={"stage": stage}).json()["items"]
        assert counts.get(stage, 0) == len(shown), stage
    assert counts["novelty"] == counts["calibration"] == counts["L2"] == 1
    html = client.get("/rejected").text
    assert 'novelty <span class="chip-count">1</span>' in html


def test_funnel_is_a_funnel_with_seeds_apart_and_grows_proposed(world):
    client, _ids, run = world
    for params in ({}, {"run": run}):
        data = client.get("/api/funnel", params=params).json()
        steps = [b["step"] for b in data["bars"]]
        assert steps == ["proposed", *MEETS, "admitted"]
        counts = [b["count"] for b in data["bars"]]
        assert counts == sorted(counts, reverse=True), counts  # never grows along the way
        assert counts[0] == 5 and counts[-1] == 1 and data["duplicates"] == 1
        assert dict(zip(steps, counts))["L1"] == 4  # the duplicate was never stored
    overall = client.get("/api/funnel").json()
    assert overall["seeds"] == {"total": 2, "admitted": 2}
    row = overall["runs"][0]
    assert row["proposed"] == 5 and row["duplicates"] == 1
    assert row["tokens_per_admitted"] == 5000.0 and row["seconds_per_admitted"] == 40.0
    html = client.get("/funnel").text
    assert "1 of the 5 proposed were exact copies of stored environments" in html
    assert "Seeds, counted apart: 2" in html
    assert "5,000" in html  # tokens per admitted environment, no longer "—"
