"""``evoenv validate``: the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .conftest import HERE

ROOT = HERE.parent.parent


def evoenv(*args, env=None):
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200", **(env or {})}
    environment.pop("EVOENV_DB", None) if env is None or "EVOENV_DB" not in env else None
    return subprocess.run([sys.executable, "-m", "evoenv", "validate", *args], capture_output=True, text=True,
                          env=environment, cwd=ROOT, timeout=300)


def test_help():
    result = evoenv("--help")
    assert result.returncode == 0 and "--policy" in result.stdout and "--json" in result.stdout


def test_good_and_broken_files_json_and_exit_code(tmp_path):
    good = HERE / "envs" / "good_inversions.py"
    broken = HERE / "broken" / "scorer_always_one.py"
    result = evoenv(str(good), str(broken), "--json", env={"EVOENV_DB": f"sqlite:///{tmp_path}/absent.db"})
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["ok"] is False and "seeds" in data["novelty_against"]
    first, second = data["files"]
    assert first["file"].endswith("good_inversions.py")
    assert [(s["stage"], s["passed"]) for s in first["stages"]][:5] == [(f"L{i}", True) for i in range(1, 6)]
    review = next(s for s in first["stages"] if s["stage"] == "review")
    assert (review["passed"], review["reason"]) == (None, "not run: no policy")
    l5 = next(s for s in second["stages"] if s["stage"] == "L5")
    assert l5["passed"] is False and "accepts everything" in l5["reason"]


def test_table_output_and_exit_zero_for_a_good_file():
    result = evoenv(str(HERE / "envs" / "good_sdk_paths.py"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "L5" in result.stdout and "not run: no policy" in result.stdout
    assert "all stages that ran passed" in result.stdout


def test_missing_file_is_a_clear_error(tmp_path):
    result = evoenv(str(tmp_path / "nope.py"))
    assert result.returncode == 2 and "nope.py: no such file" in result.stderr
