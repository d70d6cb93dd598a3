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


def test_good_file_json_passes_with_novelty_against_the_seeds(tmp_path, seed_sources):
    good = HERE / "envs" / "good_inversions.py"
    result = evoenv(str(good), "--json", env={"EVOENV_DB": f"sqlite:///{tmp_path}/absent.db"})
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["novelty_against"] == "the 10 seeds"
    (only,) = data["files"]
    assert only["file"].endswith("good_inversions.py")
    stages = {s["stage"]: s for s in only["stages"]}
    assert [stages[f"L{i}"]["passed"] for i in range(1, 6)] == [True] * 5
    assert stages["novelty"]["passed"] is True and len(stages["novelty"]["details"]["neighbours"]) == 5
    assert (stages["review"]["passed"], stages["review"]["reason"]) == (None, "not run: no policy")
    assert (stages["calibration"]["passed"], stages["calibration"]["reason"]) == (None, "not run: no policy")


def test_table_names_the_failing_stage_and_exits_one():
    result = evoenv(str(HERE / "broken" / "constant_answer.py"), str(HERE / "broken" / "wrong_signature.py"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "rejected at L4" in result.stdout and "reference answer is constant" in result.stdout
    assert "rejected at L1" in result.stdout and "sample(self, seed) accepts 1 argument(s)" in result.stdout
    assert "not run: L4 failed" in result.stdout and "not run: L1 failed" in result.stdout


def test_missing_file_is_a_clear_error(tmp_path):
    result = evoenv(str(tmp_path / "nope.py"))
    assert result.returncode == 2 and "nope.py: no such file" in result.stderr
