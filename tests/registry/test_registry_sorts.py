"""Pass rate and novelty: kept on the environment row, sortable, and backfilled by migration 0002
(SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text

from evoenv.registry import SORTS, RegistryError, UnknownRun, open_registry, upgrade
from evoenv.registry.database import _alembic_config, make_engine
from evoenv.stages import StageResult
from tests.registry.test_registry_api import add


def novelty(score: float | None, passed: bool = True, **details) -> StageResult:
    return StageResult("novelty", passed, reason="checked", score=score, details=details)


def test_pass_rate_is_the_mean_over_difficulties_of_the_newest_checkpoint(reg):
    env = add(reg, "calib")
    assert reg.get(env.id).pass_rate is None
    reg.record_calibration(env.id, checkpoint="step-0", difficulty=1, n=4, passes=4)
    assert reg.get(env.id).pass_rate == pytest.approx(1.0)
    reg.record_calibration(env.id, checkpoint="step-0", difficulty=2, n=4, passes=1)
    assert reg.get(env.id).pass_rate == pytest.approx((1.0 + 0.25) / 2)
    # Rows for one checkpoint and difficulty add up: difficulty 2 is now 3 of 8.
    reg.record_calibration(env.id, checkpoint="step-0", difficulty=2, n=4, passes=2)
    assert reg.get(env.id).pass_rate == pytest.approx((1.0 + 3 / 8) / 2)
    # A newer checkpoint replaces the older one's figure.
    reg.record_calibration(env.id, checkpoint="step-100", difficulty=3, n=10, passes=9)
    assert reg.get(env.id).pass_rate == pytest.approx(0.9)
    # Zero attempts say nothing about the rate.
    other = add(reg, "empty")
    reg.record_calibration(other.id, checkpoint="step-0", difficulty=1, n=0, passes=0)
    assert reg.get(other.id).pass_rate is None


def test_a_refused_calibration_leaves_the_pass_rate_alone(reg):
    env = add(reg, "refused")
    reg.record_calibration(env.id, checkpoint="a", difficulty=1, n=2, passes=1)
    with pytest.raises(RegistryError, match="passes <= n"):
        reg.record_calibration(env.id, checkpoint="b", difficulty=1, n=2, passes=3)
    with pytest.raises(RegistryError, match="outside 1..10"):
        reg.record_calibration(env.id, checkpoint="b", difficulty=11, n=2, passes=0)
    assert reg.get(env.id).pass_rate == pytest.approx(0.5)


def test_novelty_is_what_admission_decided_in_admit_reject_and_record_stage(reg):
    admitted = add(reg, "novel")
    # The registry stores the value it is given; it does not read it off the stage results.
    rec = reg.admit(admitted.id, stages=[StageResult("L1", True, score=1.0), novelty(0.6)], novelty=0.55)
    assert rec.novelty == pytest.approx(0.55) and reg.get(admitted.id).novelty == pytest.approx(0.55)

    copy = add(reg, "copy")
    rec = reg.reject(copy.id, reason="a renamed copy", novelty=0.0,
                     stages=[novelty(None, passed=False, duplicate_of={"id": admitted.id, "name": "n"})])
    assert rec.novelty == 0.0
    similar = add(reg, "similar")
    reg.reject(similar.id, reason="too similar", stages=[novelty(0.03, passed=False)])
    assert reg.get(similar.id).novelty is None  # none given

    # A new figure replaces the old; a stage recorded without one keeps it.
    reg.record_stage(admitted.id, "novelty", passed=True, score=0.4, novelty=0.4)
    reg.record_stage(admitted.id, "novelty", passed=None, reason="no index of admitted environments")
    reg.record_stage(admitted.id, "calibration", passed=True, score=0.9)
    assert reg.get(admitted.id).novelty == pytest.approx(0.4)
    assert add(reg, "unchecked").novelty is None
    # A refused record changes nothing.
    with pytest.raises(RegistryError, match="novelty score must be finite"):
        reg.record_stage(admitted.id, "novelty", passed=True, score=float("nan"))
    with pytest.raises(RegistryError, match="novelty must be finite"):
        reg.record_stage(admitted.id, "novelty", passed=True, score=0.1, novelty=float("inf"))
    assert reg.get(admitted.id).novelty == pytest.approx(0.4)


def test_sorting_by_pass_rate_and_novelty_is_descending_with_nulls_last(reg):
    ids = {tag: add(reg, tag).id for tag in ("a", "b", "c", "d", "e")}
    for tag, (n, passes) in {"a": (4, 1), "b": (4, 3), "c": (4, 3)}.items():
        reg.record_calibration(ids[tag], checkpoint="s", difficulty=1, n=n, passes=passes)
    for tag, score in {"d": 0.9, "a": 0.2, "e": 0.5}.items():
        reg.record_stage(ids[tag], "novelty", passed=True, score=score, novelty=score)
    assert {"pass_rate", "novelty"} <= set(SORTS)

    by_rate = [r.id for r in reg.list_envs(sort="pass_rate")]
    # Ties (b, c) newest first; never-calibrated d and e after every rated one, newest first.
    assert by_rate == [ids["c"], ids["b"], ids["a"], ids["e"], ids["d"]]
    by_novelty = [r.id for r in reg.list_envs(sort="novelty")]
    assert by_novelty == [ids["d"], ids["e"], ids["a"], ids["c"], ids["b"]]
    # Paging walks the same order; filters still apply.
    assert [r.id for r in reg.list_envs(sort="pass_rate", limit=2, offset=2)] == [ids["a"], ids["e"]]
    reg.reject(ids["e"], reason="no")
    assert [r.id for r in reg.list_envs(sort="novelty", status="candidate")] == \
        [ids["d"], ids["a"], ids["c"], ids["b"]]
    with pytest.raises(RegistryError, match="sort must be one of .*pass_rate.*novelty"):
        reg.list_envs(sort="popularity")


def test_stage_results_many_matches_one_by_one(reg):
    a, b, c = add(reg, "x"), add(reg, "y"), add(reg, "z")
    reg.reject(a.id, reason="r", stages=[StageResult("L1", True), StageResult("L2", False, reason="crash")])
    reg.record_stage(b.id, "L1", passed=False, reason="syntax")
    many = reg.stage_results_many([a.id, b.id, c.id, 999_999])
    assert many[a.id] == reg.stage_results(a.id) and [r.stage for r in many[a.id]] == ["L1", "L2"]
    assert many[b.id] == reg.stage_results(b.id)
    assert many[c.id] == [] and many[999_999] == []
    assert reg.stage_results_many([]) == {}


def test_get_run_on_a_missing_run_is_a_lookup_error(reg):
    run = reg.start_run("grow")
    assert reg.get_run(run).id == run
    with pytest.raises(UnknownRun, match=f"no run with id {run + 1}") as caught:
        reg.get_run(run + 1)
    assert isinstance(caught.value, LookupError) and isinstance(caught.value, RegistryError)


def test_migration_0002_backfills_from_existing_rows(db_url):
    """Rows written under schema 0001 get their pass rate and novelty on upgrade, equal to what
    the Registry computes for the same rows written afterwards."""
    engine = make_engine(db_url)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0001")
    now = "2026-11-22 00:00:00"
    with engine.begin() as conn:
        for env_id in (1, 2, 3):
            conn.execute(text(
                "INSERT INTO environments (name, description, code, code_sha256, max_difficulty, status, "
                "status_reason, origin, generation, created_at) VALUES (:name, '', :code, :sha, 5, "
                "'candidate', '', 'generated', 0, :now)"),
                {"name": f"e{env_id}", "code": f"code {env_id}", "sha": f"{env_id:064d}", "now": now})
        calibrations = [(1, "old", 1, 10, 10), (1, "new", 1, 4, 1), (1, "new", 2, 4, 3), (1, "new", 2, 4, 1),
                        (2, "new", 1, 0, 0)]
        for env_id, checkpoint, difficulty, n, passes in calibrations:  # ids follow this order
            conn.execute(text(
                "INSERT INTO calibrations (env_id, checkpoint, difficulty, n, passes, pass_rate, created_at) "
                "VALUES (:env, :cp, :d, :n, :p, 0, :now)"),
                {"env": env_id, "cp": checkpoint, "d": difficulty, "n": n, "p": passes, "now": now})
        stages = [(1, True, 0.7, "{}"), (1, True, 0.35, "{}"), (1, None, None, "{}"),
                  (2, False, None, '{"duplicate_of": {"id": 1, "name": "e1"}}')]
        for env_id, passed, score, details in stages:
            conn.execute(text(
                "INSERT INTO stage_results (env_id, stage, passed, score, reason, details, duration_s, "
                "created_at) VALUES (:env, 'novelty', :passed, :score, '', :details, 0, :now)"),
                {"env": env_id, "passed": passed, "score": score, "details": details, "now": now})
    engine.dispose()

    upgrade(db_url)
    reg = open_registry(db_url)
    try:
        one, two, three = (reg.get(i) for i in (1, 2, 3))
        assert one.pass_rate == pytest.approx((1 / 4 + 4 / 8) / 2)  # checkpoint "new" only
        assert one.novelty == pytest.approx(0.35)
        assert two.pass_rate is None and two.novelty == 0.0
        assert three.pass_rate is None and three.novelty is None
        # The Registry keeps the same figure when it writes the next row itself.
        reg.record_calibration(1, checkpoint="new", difficulty=3, n=2, passes=2)
        assert reg.get(1).pass_rate == pytest.approx((1 / 4 + 4 / 8 + 1.0) / 3)
        assert [r.id for r in reg.list_envs(sort="novelty")] == [1, 2, 3]
    finally:
        reg.close()

    # And back down: the columns go, the FTS triggers stay working.
    engine = make_engine(db_url)
    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0001")
        conn.execute(text("UPDATE environments SET name = 'renamed' WHERE id = 3"))
        columns = {c["name"] for c in inspect(conn).get_columns("environments")}
    engine.dispose()
    assert "pass_rate" not in columns and "novelty" not in columns
