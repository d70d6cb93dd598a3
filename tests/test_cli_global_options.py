"""``evoenv --db URL --sandbox KIND`` reach the commands as arguments, not through the environment."""

from __future__ import annotations

import json
import os

from typer.testing import CliRunner

from evoenv.cli import app
from evoenv.cli._common import global_options


def test_db_flag_opens_that_registry_and_leaves_the_environment_alone(tmp_path, monkeypatch):
    monkeypatch.delenv("EVOENV_DB", raising=False)
    monkeypatch.chdir(tmp_path)  # the default database would land here
    url = f"sqlite:///{tmp_path / 'flagged.db'}"
    runner = CliRunner()
    made = runner.invoke(app, ["--db", url, "db", "upgrade", "--json"])
    assert made.exit_code == 0, made.output
    assert (tmp_path / "flagged.db").is_file() and not (tmp_path / "evoenv.db").exists()
    assert "EVOENV_DB" not in os.environ
    listed = runner.invoke(app, ["--db", url, "envs", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout) == []
    # the next invocation without the flag does not inherit it
    runner.invoke(app, ["seeds", "--json"])
    assert global_options.db is None


def test_db_flag_wins_over_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("EVOENV_DB", f"sqlite:///{tmp_path / 'from_env.db'}")
    result = CliRunner().invoke(app, ["--db", f"sqlite:///{tmp_path / 'from_flag.db'}", "db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "from_flag.db").is_file() and not (tmp_path / "from_env.db").exists()


def test_sandbox_flag_reaches_the_command(monkeypatch):
    monkeypatch.setenv("EVOENV_SANDBOX", "process")
    result = CliRunner().invoke(app, ["--sandbox", "nonesuch", "sandbox", "check"])
    assert result.exit_code == 2 and "unknown backend 'nonesuch'" in result.output
    assert os.environ["EVOENV_SANDBOX"] == "process"
