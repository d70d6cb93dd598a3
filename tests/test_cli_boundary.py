"""What the CLI does with values and text a hostile environment sends back (issue 18, items 1, 6, 7),
run as real subprocesses: forged values end as clear failures, never as a value or a traceback;
control characters and rich markup from environment code are shown escaped; error texts carry the
environment's own traceback frames and none of the sandbox's."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.adversarial.hostile_programs import FORGE_CALL, FORGE_FRAME, env, forge
from tests.test_cli_environments import REPO, evoenv

ANSWER_PROMPT = 'return "Say it. <answer>...</answer>"'


def forged_seed(forged: str) -> str:
    """The knapsack seed (it passes L1-L4) with its scores forged past every guest check."""
    return (REPO / "seeds" / "knapsack.py").read_text() + f"\nOP = 'score'\nFORGED = {forged}\n" + FORGE_CALL
# ESC sequences (clear screen, OSC 52 clipboard write ended by BEL), CR over a fake score, a C1 CSI,
# a bidi override and rich markup: none may reach the terminal as such.
HOSTILE_TEXT = "\\x1b[2J\\x1b]52;c;ZXZpbA==\\x07score: 1.0\\r\\x9b31m\\u202e[red]x[/red]"
RAW_CONTROLS = ("\x1b", "\x07", "\r", "\x9b", "\u202e")


def assert_clean(result) -> None:
    """No traceback, and nothing a terminal would act on, on either stream."""
    out = result.stdout + result.stderr
    assert "Traceback" not in out, out
    assert not any(c in out for c in RAW_CONTROLS), repr(out)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    sources = {
        # the job rebinds the guest's own check and returns an impossible score
        "score_huge": forged_seed("1e308"),
        "score_negative": forged_seed("-5.0"),
        "score_nan": env("FORGED = b'NaN'\n" + FORGE_FRAME).replace('return "prompt"', ANSWER_PROMPT),
        "describe_types": forge("describe", '{"name": 7, "description": None, "max_difficulty": "10", '
                                            '"class_name": "Env"}'),
        "prompt_surrogate": env(prompt='return "p" + chr(0xD800) + " <answer>...</answer>"'),
        "terminal": env(prompt=f'return "{HOSTILE_TEXT}\\n\\tsecond line <answer>...</answer>"',
                        reference=f'return "{HOSTILE_TEXT}"',
                        score=f'raise ValueError("{HOSTILE_TEXT}")'),
        "sample_raises_hostile": env(sample=f'raise ValueError("{HOSTILE_TEXT}")'),
        "zero_division": env(sample='return {"x": 1 // 0}'),
    }
    for name, text in sources.items():
        (folder / f"{name}.py").write_text(text)
    return {name: folder / f"{name}.py" for name in sources}


@pytest.mark.parametrize(("name", "forged"), [("score_huge", "1e+308"), ("score_negative", "-5.0")])
def test_a_forged_score_is_refused_not_printed(files, name, forged):
    result = evoenv("score", str(files[name]), "-s", "1", "-d", "1", "-r", "<answer>x</answer>")
    assert result.returncode == 0, result.stderr
    assert f"scorer returned an invalid value: ValueError: score returned {forged}, outside [0, 1]" \
        in " ".join(result.stdout.split())
    assert "score: 0.0" in result.stdout.splitlines()
    assert f"score: {forged}" not in result.stdout
    assert_clean(result)
    data = json.loads(evoenv("score", str(files[name]), "-s", "1", "-d", "1", "-r", "x", "--json").stdout)
    assert data["score"] == 0.0 and "outside [0, 1]" in data["scorer_error"]


def test_a_nan_frame_is_a_clear_error(files):
    result = evoenv("score", str(files["score_nan"]), "-s", "1", "-d", "1", "-r", "<answer>x</answer>")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "NaN" in lines[0], result.stderr
    assert "nan" not in result.stdout.lower()
    assert_clean(result)


@pytest.mark.parametrize(("name", "expected"), [
    ("describe_types", "name must return str, got int"),
    ("prompt_surrogate", "prompt() must return valid Unicode text, found a lone surrogate U+D800"),
])
def test_forged_fields_and_lone_surrogates_are_one_line_errors(files, name, expected):
    for args in (["sample", str(files[name])], ["sample", str(files[name]), "--json"],
                 ["score", str(files[name]), "-s", "0", "-d", "1", "-r", "x", "--json"]):
        result = evoenv(*args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], result.stderr
        assert_clean(result)


def test_validate_reports_each_forgery_as_a_stage_failure_and_goes_on(files):
    names = ["describe_types", "prompt_surrogate", "score_nan", "score_huge"]
    result = evoenv("validate", *(str(files[n]) for n in names), "--json")
    assert result.returncode == 1, result.stderr
    assert_clean(result)
    reports = json.loads(result.stdout)["files"]
    assert [Path(r["file"]).stem for r in reports] == names
    reasons = {Path(r["file"]).stem: r["reason"] for r in reports}
    assert reasons["describe_types"].startswith("L2: ") and "name must return str, got int" in reasons["describe_types"]
    assert reasons["prompt_surrogate"].startswith("L2: ") and "lone surrogate U+D800" in reasons["prompt_surrogate"]
    assert reasons["score_nan"].startswith("L2: ") and "NaN" in reasons["score_nan"]
    # the forged reference score reaches no stage as a score: L5 finds the scorer returns out-of-range values
    assert not reports[-1]["admitted"] and "outside [0, 1]" in reasons["score_huge"], reasons["score_huge"]
    tables = evoenv("validate", *(str(files[n]) for n in names))
    assert tables.returncode == 1
    assert_clean(tables)
    assert all(f"{files[n].name}" in tables.stdout for n in names)


def test_terminal_control_sequences_and_markup_are_shown_escaped(files):
    shown = evoenv("sample", str(files["terminal"]), "--reveal")
    assert shown.returncode == 0, shown.stderr
    assert_clean(shown)
    assert "\\x1b[2J\\x1b]52;c;ZXZpbA==\\x07score: 1.0\\x0d\\x9b31m\\u202e[red]x[/red]" in shown.stdout
    assert re.search(r"\n\s+second line", shown.stdout)  # newlines (and tabs) still format the prompt
    assert "reference: \\x1b[2J" in shown.stdout

    data = evoenv("sample", str(files["terminal"]), "--reveal", "--json")
    assert_clean(data)
    assert "\\u001b]52;" in data.stdout and "\\u009b" in data.stdout
    row = json.loads(data.stdout)[0]
    assert row["reference"] == "\x1b[2J\x1b]52;c;ZXZpbA==\x07score: 1.0\r\x9b31m\u202e[red]x[/red]"  # same data

    scored = evoenv("score", str(files["terminal"]), "-s", "0", "-d", "1", "-r", "<answer>\x1b[2J</answer>")
    assert_clean(scored)
    assert "scorer raised ValueError: \\x1b[2J" in scored.stdout and "[red]x[/red]" in " ".join(scored.stdout.split())

    failed = evoenv("sample", str(files["sample_raises_hostile"]))
    assert failed.returncode == 2
    assert_clean(failed)
    assert "\\x1b]52;c;" in failed.stderr and "[red]x[/red]" in failed.stderr

    table = evoenv("validate", str(files["terminal"]))
    assert_clean(table)


def test_error_texts_carry_the_environments_frames_not_the_sandboxes(files):
    result = evoenv("validate", str(files["zero_division"]), "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)["files"][0]
    # L2's probe seeds are drawn fresh, so the seed in the reason is whatever was drawn
    assert re.fullmatch(r"L2: sample\(seed=\d+, difficulty=1\) raised ZeroDivisionError: integer division or "
                        r"modulo by zero \(line 8 in sample\)", report["reason"]), report["reason"]
    error = next(s for s in report["stages"] if s["stage"] == "L2")["details"]["error"]
    assert 'File "<environment>", line 8, in sample' in error["traceback"]
    assert "evoenv_guest" not in result.stdout and "run_job" not in result.stdout


def test_registry_commands_show_stored_environment_text_escaped(tmp_path, files):
    """Names, descriptions, reasons and code in the registry were written by a model: shown escaped."""
    from evoenv.registry import open_registry

    url = f"sqlite:///{tmp_path / 'reg.db'}"
    hostile = "\x1b[2J\x1b]52;c;ZXZpbA==\x07score: 1.0\r\x9b31m\u202e[red]x[/red]"
    with open_registry(url, upgrade_schema=True) as registry:
        record = registry.add_candidate(files["terminal"].read_text() + f"\n# {hostile}\n", name=f"n{hostile}",
                                        description=f"d{hostile}", max_difficulty=3, tags=[f"t{hostile}"])
        registry.record_stage(record.id, "L2", passed=False, reason=f"r{hostile}")
        registry.reject(record.id, reason=f"why{hostile}")
    for args in (["envs", "list"], ["envs", "show", str(record.id), "--code"], ["envs", "lineage", str(record.id)],
                 ["envs", "show", str(record.id), "--json"]):
        result = evoenv("--db", url, *args)
        assert result.returncode == 0, (args, result.stderr)
        assert_clean(result)
    shown = evoenv("--db", url, "envs", "show", str(record.id), "--code").stdout
    assert "\\x1b]52;c;" in shown and "[red]x[/red]" in shown
