"""The browser's numbers add up: the stage that rejected a candidate is decided in one place, the
funnel is a funnel (stages in the order a candidate meets them, seeds apart, proposed as grow reports
it, tokens per admitted environment from grow's summary)."""

from __future__ import annotations

import re

import pytest
import web_numbers
from fastapi.testclient import TestClient
from web_numbers import LONG_CHECKPOINT, MEETS

from evoenv.web import charts, create_app


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('numbers') / 'r.db'}"
    ids, run = web_numbers.build(url)
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


def test_calibration_chart_shows_every_probed_level_and_whole_legend(world):
    client, ids, _run = world
    curves = client.get(f"/api/envs/{ids['good']}").json()["calibration"]
    assert charts.probed_levels(curves) == [2, 4, 5, 7, 9]
    svg = str(charts.calibration_svg(curves, 10))
    assert LONG_CHECKPOINT in svg and "…" not in svg
    for level in (2, 4, 5, 7, 9):
        assert f'font-weight="bold">{level}</text>' in svg
    assert ">3/8</text>" in svg  # the single-point curve says what its point is
    text = " ".join(re.sub(r"<[^>]+>", " ", client.get(f"/envs/{ids['good']}").text).split())
    assert f"{LONG_CHECKPOINT} (1 level probed)" in text and "train/step-400 (4 levels probed)" in text


def test_uncalibrated_environment_says_how_to_calibrate(world):
    client, ids, _run = world
    html = client.get(f"/envs/{ids['knapsack']}").text
    assert "No calibration recorded yet" in html and "How to calibrate it" in html
    assert "evoenv train --config" in html and "evoenv grow --policy" in html
