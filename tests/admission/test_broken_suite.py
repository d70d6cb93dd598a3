"""The deliberately broken environments: each broken in ONE way, each rejected at the
stage and with the reason written in its header (``# expect-stage:``, ``# expect-reason:``),
and every stage before that one passes. The good-but-unusual ones pass every mechanical stage."""

from __future__ import annotations

import re

import pytest

from evoenv.admission import Candidate, run_stages
from evoenv.sources import SEED_NAMES

from .conftest import BROKEN, GOOD

MECHANICAL = ("L1", "L2", "L3", "L4", "L5", "blind")


def expectation(path):
    text = path.read_text()
    stage = re.search(r"^# expect-stage: (\S+)", text, re.M).group(1)
    reason = re.search(r"^# expect-reason: (.+)$", text, re.M).group(1).strip()
    return stage, reason


def test_suite_covers_the_issue_list():
    names = {p.stem for p in BROKEN}
    for required in ("nondeterministic_set_order", "nondeterministic_global_rng", "constant_answer",
                     "scorer_always_one", "scorer_raises_on_junk", "prompt_leaks_answer", "difficulty_ignored",
                     "wrong_signature"):
        assert required in names


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_env_rejected_at_the_right_stage(path, ctx):
    stage, reason = expectation(path)
    results = run_stages(Candidate(path.read_text()), ctx)
    failures = [r for r in results if r.passed is False]
    assert len(failures) == 1, [(r.stage, r.reason) for r in results]
    failure = failures[0]
    assert (failure.stage, bool(re.search(reason, failure.reason))) == (stage, True), failure.reason
    before = MECHANICAL[: MECHANICAL.index(stage)]
    assert [r.stage for r in results if r.passed is True] == list(before)
    later = [r for r in results if r.stage not in before and r.stage != stage]
    assert all(r.passed is None and r.reason == f"not run: {stage} failed" for r in later)


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_good_unusual_env_passes_mechanical_stages(path, ctx):
    results = {r.stage: r for r in run_stages(Candidate(path.read_text()), ctx)}
    for stage in MECHANICAL:
        assert results[stage].passed is True, f"{stage}: {results[stage].reason}"
    assert results["review"].reason == "not run: no policy"
    assert results["calibration"].reason == "not run: no policy"


@pytest.mark.parametrize("name", SEED_NAMES)
def test_seed_passes_mechanical_stages(name, seed_sources, ctx):
    results = {r.stage: r for r in run_stages(Candidate(seed_sources[name]), ctx)}
    assert [results[s].passed for s in MECHANICAL] == [True] * len(MECHANICAL), [(s, results[s].reason) for s in MECHANICAL]
