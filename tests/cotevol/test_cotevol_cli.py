"""``evoenv cotevol`` argument handling and ``--difficulty auto``, without running a model."""

import pytest
from typer.testing import CliRunner

from evoenv.cli import app
from evoenv.cotevol.runner import EnvChoice, pick_difficulty

runner = CliRunner()
BASE = ["cotevol", "--per-env", "1", "--policy", "hf:/nonexistent", "--out", "x"]


@pytest.fixture(autouse=True)
def no_registry(tmp_path, monkeypatch):
    monkeypatch.setenv("EVOENV_DB", f"sqlite:///{tmp_path / 'absent.db'}")


@pytest.mark.parametrize("args, message", [
    (["--envs", "x.py", "--method", "beam_search"], "--method 'beam_search': choose from cotevol, best_of_n"),
    (["--envs", "x.py", "--difficulty", "hard"], "--difficulty 'hard': give a level"),
    (["--envs", "no_such_env_*"], "matches no seed or file"),
    (["--envs", " , "], "--envs is empty"),
    (["--envs", "x.py", "--config", "missing.toml"], "missing.toml does not exist"),
])
def test_bad_arguments_fail_with_a_clear_message(args, message):
    result = runner.invoke(app, BASE + args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_a_config_file_with_an_unknown_setting_is_refused(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[cotevol]\nn_pop = 6\npopulation_size = 3\n")
    result = runner.invoke(app, BASE + ["--envs", "x.py", "--config", str(config)])
    assert result.exit_code == 2 and "unknown setting 'population_size'" in " ".join(result.output.split())
    config.write_text("[cotevol]\nn_pop = 6\n[cotevol.mutation]\ntau = 1\n")
    result = runner.invoke(app, BASE + ["--envs", "x.py", "--config", str(config)])
    assert result.exit_code == 2 and "unknown mutation setting(s) tau" in " ".join(result.output.split())


def test_help_lists_the_methods():
    result = runner.invoke(app, ["cotevol", "--help"])
    assert result.exit_code == 0 and "best_of_n" in result.output and "--population" in result.output


def test_auto_difficulty_picks_the_level_closest_to_a_30_percent_pass_rate():
    curve = {"hf:tiny": [(1, 8, 8, 1.0), (2, 8, 5, 0.625), (3, 8, 3, 0.375), (4, 8, 1, 0.125), (5, 8, 0, 0.0)],
             "other": [(4, 8, 3, 0.375)]}
    level, why = pick_difficulty(EnvChoice("e", "code", 1, 5, curve), 5, "hf:tiny")
    assert level == 3 and "3/8" in why
    # no calibration for this policy: every checkpoint is pooled (level 4: 4/16 beats level 3: 3/8)
    level, why = pick_difficulty(EnvChoice("e", "code", 1, 5, curve), 5, "unknown")
    assert level == 4 and "4/16" in why
    assert pick_difficulty(EnvChoice("e", "code", 1, 10, {}), 10, "x") == (5, "uncalibrated: middle level")
    assert pick_difficulty(EnvChoice("e", "code"), 3, None)[0] == 2
    # levels outside 1..max are ignored
    assert pick_difficulty(EnvChoice("e", "code", 1, 4, {"p": [(9, 8, 2, 0.25)]}), 4, "p")[0] == 2


@pytest.mark.parametrize("envs", ["admitted", "all", "knap*,sat"])
def test_env_words_and_globs_match_seeds_without_a_registry(envs):
    # the environments are found, so the run gets as far as loading the (missing) model
    result = runner.invoke(app, BASE + ["--envs", envs])
    assert result.exit_code == 2
    assert "--policy 'hf:/nonexistent'" in " ".join(result.output.split())
