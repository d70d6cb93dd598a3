"""The registry commands, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from evoenv.cli import app
from evoenv.registry import head_revision, open_registry
from evoenv.sources import SEED_NAMES
from evoenv.stages import StageResult

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli(monkeypatch):
    """Runs ``evoenv ARGS`` in-process against the database given, returns (exit code, stdout, stderr)."""
    runner = CliRunner()

    def run(url: str, *args: str, **env: str):
        monkeypatch.setenv("EVOENV_DB", url)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        result = runner.invoke(app, list(args))
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    return run


def one_line_error(code: int, err: str, fragment: str) -> None:
    assert code == 2, err
    assert fragment in err and "Traceback" not in err


def code(i: str) -> str:
    return f"class Env_{i}:\n    name = '{i}'\n    marker = 'special_marker_{i}'\n"


@pytest.fixture
def filled(reg):
    """A small registry: two seeds, a child of both with a full history, and a rejected one."""
    run = reg.start_run("grow", {"candidates": 2})
    a = reg.add_candidate(code("alpha"), name="alpha", description="Sort numbers.", max_difficulty=10,
                          origin="seed", tags=["seed"])
    b = reg.add_candidate(code("beta"), name="beta", description="Walk graphs.", max_difficulty=10,
                          origin="seed", tags=["seed"])
    c = reg.add_candidate(code("gamma"), name="gamma", description="Sort graphs.", max_difficulty=5,
                          generation=1, parents=[(a.id, "crossover"), (b.id, "crossover")], run_id=run)
    d = reg.add_candidate(code("delta"), name="delta", description="Broken.", max_difficulty=5, run_id=run,
                          parents=[(c.id, "mutation")])
    reg.admit(a.id)
    reg.admit(b.id)
    reg.record_review(c.id, reviewer="policy#1", text="Traced two instances; scorer is right.", verdict="accept")
    reg.record_calibration(c.id, checkpoint="step-0", difficulty=3, n=8, passes=3)
    reg.admit(c.id, stages=[StageResult("L1", True, "parses"), StageResult("L2", True, "runs", duration_s=0.2),
                            StageResult("review", True, "3/3 accept")], reward=0.8)
    reg.reject(d.id, stages=[StageResult("L1", True, "parses"), StageResult("L2", False, "sample() raised KeyError")],
               reason="L2: sample() raised KeyError")
    reg.finish_run(run, "finished", {"admitted": 1})
    return {"alpha": a.id, "beta": b.id, "gamma": c.id, "delta": d.id, "run": run}


def test_commands_refuse_an_unmigrated_database_then_db_upgrade_fixes_it(cli, db_url):
    one_line_error(*_code_err(cli(db_url, "envs", "list")), "evoenv db upgrade")
    code_, out, _ = cli(db_url, "db", "upgrade", "--json")
    assert code_ == 0 and json.loads(out)["from"] is None and json.loads(out)["to"] == head_revision()
    code_, out, _ = cli(db_url, "db", "upgrade")
    assert code_ == 0 and "up to date" in out
    code_, out, _ = cli(db_url, "envs", "list", "--json")
    assert code_ == 0 and json.loads(out) == []


def test_envs_list_filters_and_json(cli, reg_url, filled):
    code_, out, _ = cli(reg_url, "envs", "list", "--json")
    rows = json.loads(out)
    assert [r["name"] for r in rows] == ["delta", "gamma", "beta", "alpha"] and "code" not in rows[0]
    names = lambda *args: [r["name"] for r in json.loads(cli(reg_url, "envs", "list", "--json", *args)[1])]  # noqa: E731
    assert names("--status", "admitted", "--origin", "generated") == ["gamma"]
    assert names("--tag", "seed", "--sort", "name") == ["alpha", "beta"]
    assert names("--search", "sort") == ["gamma", "alpha"]
    assert names("--search", "special_marker_delta") == ["delta"]
    assert names("--sort", "reward", "--limit", "1") == ["gamma"]
    code_, out, _ = cli(reg_url, "envs", "list", "--status", "admitted")
    assert code_ == 0 and "3 of 3 environments" in out and "gamma" in out and "delta" not in out
    one_line_error(*_code_err(cli(reg_url, "envs", "list", "--status", "nope")), "status must be one of")
    one_line_error(*_code_err(cli(reg_url, "envs", "list", "--sort", "size")), "sort must be one of")


def test_envs_list_sorts_by_pass_rate_and_novelty(cli, reg_url, filled, reg):
    reg.record_calibration(filled["alpha"], checkpoint="step-0", difficulty=1, n=8, passes=7)
    reg.record_stage(filled["beta"], "novelty", passed=True, score=0.75, novelty=0.75)
    reg.record_stage(filled["gamma"], "novelty", passed=True, score=0.25, novelty=0.25)
    rows = lambda *args: json.loads(cli(reg_url, "envs", "list", "--json", *args)[1])  # noqa: E731
    by_rate = rows("--sort", "pass_rate")
    # alpha 7/8, gamma 3/8, then the uncalibrated newest first.
    assert [r["name"] for r in by_rate] == ["alpha", "gamma", "delta", "beta"]
    assert by_rate[0]["pass_rate"] == pytest.approx(7 / 8) and by_rate[-1]["pass_rate"] is None
    by_novelty = rows("--sort", "novelty")
    assert [r["name"] for r in by_novelty] == ["beta", "gamma", "delta", "alpha"]
    assert by_novelty[0]["novelty"] == pytest.approx(0.75)
    code_, out, _ = cli(reg_url, "envs", "list", "--sort", "pass_rate")
    assert code_ == 0 and "88%" in out and "38%" in out and "0.75" in out
    code_, out, _ = cli(reg_url, "envs", "list", "--help")
    assert "pass_rate" in out and "novelty" in out


def _code_err(result):
    return result[0], result[2]


def test_envs_show_has_stages_reviews_and_calibration(cli, reg_url, filled):
    code_, out, _ = cli(reg_url, "envs", "show", "gamma", "--json")
    data = json.loads(out)
    assert code_ == 0 and data["id"] == filled["gamma"] and "code" not in data
    assert [(s["stage"], s["passed"]) for s in data["stage_results"]] == [("L1", True), ("L2", True), ("review", True)]
    assert data["calibration"] == {"step-0": [{"difficulty": 3, "n": 8, "passes": 3, "pass_rate": 0.375}]}
    assert data["reviews"][0]["verdict"] == "accept"
    assert {p["name"] for p in data["lineage"]["parents"]} == {"alpha", "beta"}
    code_, out, _ = cli(reg_url, "envs", "show", str(filled["delta"]), "--code")
    assert code_ == 0 and "sample() raised KeyError" in out and "special_marker_delta" in out and "rejected" in out
    assert json.loads(cli(reg_url, "envs", "show", "delta", "--json", "--code")[1])["code"] == code("delta")
    one_line_error(*_code_err(cli(reg_url, "envs", "show", "nosuch")), "no environment with id or name 'nosuch'")


def test_envs_lineage_draws_the_ancestry(cli, reg_url, filled):
    code_, out, _ = cli(reg_url, "envs", "lineage", "delta")
    assert code_ == 0
    lines = out.splitlines()
    assert "delta" in lines[0] and "gamma" in lines[1] and "(mutation)" in lines[1]
    assert any("alpha" in line and "(crossover)" in line for line in lines[2:])
    tree = json.loads(cli(reg_url, "envs", "lineage", "delta", "--json")[1])
    assert tree["parents"][0]["name"] == "gamma"
    assert [p["name"] for p in tree["parents"][0]["parents"]] == ["alpha", "beta"]


def test_envs_retire(cli, reg_url, filled):
    code_, out, _ = cli(reg_url, "envs", "retire", "gamma", "--reason", "too similar to alpha", "--json")
    assert code_ == 0 and json.loads(out)["status"] == "retired"
    shown = json.loads(cli(reg_url, "envs", "show", "gamma", "--json")[1])
    assert shown["status"] == "retired" and shown["status_reason"] == "too similar to alpha"
    one_line_error(*_code_err(cli(reg_url, "envs", "retire", "delta")), "was rejected")


def test_stats_funnel_per_stage_and_run(cli, reg_url, filled):
    data = json.loads(cli(reg_url, "stats", "--json")[1])
    assert data["funnel"]["L2"] == {"entered": 2, "passed": 1, "not_run": 0}
    assert data["statuses"]["admitted"] == 3 and data["statuses"]["rejected"] == 1
    run = json.loads(cli(reg_url, "stats", "--run", str(filled["run"]), "--json")[1])
    assert run["statuses"] == {"candidate": 0, "admitted": 1, "rejected": 1, "retired": 0}
    assert run["runs"][0]["counts"] == {"admitted": 1, "rejected": 1}
    code_, out, _ = cli(reg_url, "stats")
    assert code_ == 0 and "admission funnel" in out and "50%" in out
    one_line_error(*_code_err(cli(reg_url, "stats", "--run", "999")), "no run with id 999")


def test_a_locked_database_is_one_clear_line(backend, cli, reg_url, filled):
    holder = create_engine(reg_url)
    with holder.connect() as conn:
        if backend == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.execute(text("SELECT id FROM environments FOR UPDATE"))
        result = cli(reg_url, "envs", "retire", "gamma", EVOENV_DB_LOCK_TIMEOUT="0.3")
        conn.rollback()
    holder.dispose()
    one_line_error(*_code_err(result), "is locked by another writer")
    assert open_registry(reg_url).get("gamma").status == "admitted"


@pytest.mark.slow
def test_init_then_list_shows_the_ten_seeds(db_url, tmp_path):
    """The real command line, as a user runs it."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "EVOENV_DB": db_url, "EVOENV_SANDBOX": "process"}

    def evoenv(*args):
        done = subprocess.run([sys.executable, "-m", "evoenv", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout

    first = json.loads(evoenv("init", "--json"))
    assert [s["name"] for s in first["seeds"]] == list(SEED_NAMES)
    assert all(s["new"] and s["origin"] == "seed" and s["max_difficulty"] >= 1 for s in first["seeds"])
    assert [s["status"] for s in first["seeds"]] == ["admitted"] * len(SEED_NAMES), first["seeds"]
    again = json.loads(evoenv("init", "--json"))
    assert [s["id"] for s in again["seeds"]] == [s["id"] for s in first["seeds"]]
    assert not any(s["new"] for s in again["seeds"])
    table = evoenv("envs", "list", "--origin", "seed")
    assert "10 of 10 environments" in table and all(name[:12] in table for name in SEED_NAMES)
