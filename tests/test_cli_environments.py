"""``evoenv seeds``, ``evoenv sample`` and ``evoenv score``, run as real subprocesses."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from evoenv.sources import SEED_NAMES

REPO = Path(__file__).resolve().parent.parent


def evoenv(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "EVOENV_SANDBOX": "process"}
    return subprocess.run([sys.executable, "-m", "evoenv", *args], input=stdin, capture_output=True,
                          text=True, env=env, timeout=120)


def test_seeds_lists_all_ten():
    table = evoenv("seeds")
    assert table.returncode == 0, table.stderr
    for name in SEED_NAMES:
        assert name in table.stdout
    assert "a[i] > a[j]" in table.stdout  # descriptions are printed as text, not rich markup
    rows = json.loads(evoenv("seeds", "--json").stdout)
    assert [r["name"] for r in rows] == list(SEED_NAMES)
    assert all(r["max_difficulty"] == 10 and r["description"] for r in rows)


def test_sample_reveal_then_score_the_reference():
    shown = evoenv("sample", "subset_sum", "--difficulty", "7", "--seed", "3", "--reveal")
    assert shown.returncode == 0, shown.stderr
    assert "seed=3" in shown.stdout and "difficulty=7" in shown.stdout
    assert "add up to exactly" in shown.stdout and "<answer>...</answer>" in shown.stdout
    match = re.search(r"^reference: ([0-9 ]+)$", shown.stdout, re.MULTILINE)
    assert match, shown.stdout[-500:]
    reference = match.group(1).strip()

    scored = evoenv("score", "subset_sum", "--seed", "3", "--difficulty", "7",
                    "--response", f"Let me think... <answer>{reference}</answer>")
    assert scored.returncode == 0, scored.stderr
    assert "score: 1.0" in scored.stdout.splitlines()

    # Dropping one index breaks the sum: 0.
    wrong = " ".join(reference.split()[1:])
    scored = evoenv("score", "subset_sum", "-s", "3", "-d", "7", "-r", f"<answer>{wrong}</answer>")
    assert "score: 0.0" in scored.stdout.splitlines()


def test_json_output_parses_and_stdin_response():
    rows = json.loads(evoenv("sample", "knapsack", "-d", "2", "-s", "10", "-n", "3", "--reveal", "--json").stdout)
    assert [(r["seed"], r["difficulty"]) for r in rows] == [(10, 2), (11, 2), (12, 2)]
    assert all(set(r) == {"seed", "difficulty", "instance", "prompt", "reference"} for r in rows)
    hidden = json.loads(evoenv("sample", "knapsack", "-d", "2", "-s", "10", "--json").stdout)
    assert "reference" not in hidden[0] and hidden[0]["prompt"] == rows[0]["prompt"]  # no --reveal

    response = f"reasoning\n<answer> {rows[1]['reference']} </answer>\n"
    result = json.loads(evoenv("score", "knapsack", "-s", "11", "-d", "2", "-r", "-", "--json",
                               stdin=response).stdout)
    assert result == {"answer": rows[1]["reference"], "score": 1.0, "scorer_error": None}
    result = json.loads(evoenv("score", "knapsack", "-s", "11", "-d", "2", "-r", "no tags", "--json").stdout)
    assert result["answer"] == "" and result["score"] == 0.0


def test_a_file_path_works_like_a_seed(tmp_path):
    path = tmp_path / "my_env.py"
    path.write_text((REPO / "seeds" / "congruences.py").read_text())
    rows = json.loads(evoenv("sample", str(path), "-d", "3", "-s", "5", "--reveal", "--json").stdout)
    scored = evoenv("score", str(path), "-s", "5", "-d", "3", "-r", f"<answer>{rows[0]['reference']}</answer>")
    assert "score: 1.0" in scored.stdout.splitlines()


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad")
    files = {
        "no_class": "import math\n\nclass Helper:\n    value = 1\n",
        "syntax": "class Broken(:\n    pass\n",
        "raises": (REPO / "seeds" / "knapsack.py").read_text().replace(
            "rng = random.Random", "raise RuntimeError('boom\\nsecond line')\n        rng = random.Random"),
    }
    files["bad_scorer"] = (REPO / "seeds" / "knapsack.py").read_text().replace(
        "        # Only the exact optimum scores", "        raise ValueError('[red]not markup[/red]')\n        #")
    for name, text in files.items():
        (folder / f"{name}.py").write_text(text)
    return {name: folder / f"{name}.py" for name in files} | {"folder": folder}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["sample", "no_such_env"], "unknown environment 'no_such_env'"),
        (["sample", "subset-sum"], "did you mean subset_sum"),
        (["sample", "subset_sum", "--difficulty", "0"], "difficulty 0 is out of range for subset_sum: use 1..10"),
        (["score", "sat", "-s", "1", "-d", "11", "-r", "x"], "difficulty 11 is out of range for sat"),
        (["sample", "{no_class}"], "does not load as an environment"),
        (["sample", "{syntax}"], "SyntaxError"),
        (["sample", "{raises}", "-d", "2"], "RuntimeError: boom second line"),
        (["sample", "{folder}/missing.py"], "missing.py: no such file"),
        (["sample", "{folder}"], "is a directory"),
    ],
)
def test_bad_input_gives_one_line_and_nonzero_exit(bad_files, args, expected):
    args = [a.format(**bad_files) for a in args]
    result = evoenv(*args)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and expected in lines[0], lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_a_scorer_that_raises_counts_as_zero(bad_files):
    result = evoenv("score", str(bad_files["bad_scorer"]), "-s", "1", "-d", "1", "-r", "<answer>5</answer>")
    assert result.returncode == 0, result.stderr
    assert "scorer raised ValueError: [red]not markup[/red]; counted as 0" in result.stdout
    assert "score: 0.0" in result.stdout.splitlines()
