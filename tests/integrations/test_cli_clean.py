"""The CLI as a user meets it: clean errors (checked before rendering), one seed range, registry
environments by name or id in sample/score, tables readable at 80 columns, --json prints only JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evoenv.sdk import MAX_SEED
from tests.integrations.test_export import NEW_ENV

REPO = Path(__file__).resolve().parents[2]

DIGIT_SUM = NEW_ENV  # the same small environment the export tests use

BROKEN = DIGIT_SUM.replace('return {"n": rng.randrange(10 ** (difficulty + 1))}', 'raise RuntimeError("boom")') \
    .replace("digit_sum", "broken_sum").replace("DigitSum", "BrokenSum")


@pytest.fixture(scope="module")
def registry_url(tmp_path_factory) -> str:
    from evoenv.registry import open_registry

    url = f"sqlite:///{tmp_path_factory.mktemp('reg') / 'reg.db'}"
    registry = open_registry(url, upgrade_schema=True)
    for code, name, tags in ((DIGIT_SUM, "digit_sum", ("arithmetic", "digits")),
                             (BROKEN, "broken_sum", ()),
                             (DIGIT_SUM.replace("DigitSum", "DigitSumWithAVeryLongName").replace(
                                 '"digit_sum"', '"digit_sum_of_a_number_written_in_plain_decimal"'),
                              "digit_sum_of_a_number_written_in_plain_decimal", ("long", "names", "wrap"))):
        record = registry.add_candidate(code, name=name, description="x", max_difficulty=6, tags=tags)
        for stage in ("L1", "L2", "novelty"):
            registry.record_stage(record.id, stage, passed=True, reason="ok")
        registry.admit(record.id)
    registry.finish_run(registry.start_run("grow"), summary={"proposed": 3})
    return url


def _cli(*args: str, url: str, columns: int = 80) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "EVOENV_DB": url, "COLUMNS": str(columns)}
    env.pop("FORCE_COLOR", None)
    return subprocess.run([sys.executable, "-m", "evoenv", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def _clean_error(done: subprocess.CompletedProcess, message: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert message in " ".join(done.stderr.split()), done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_export_targets_are_checked_before_rendering(tmp_path, registry_url):
    # broken_sum raises on every instance: an error about the target proves nothing rendered first.
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "keep.txt").write_text("mine")
    (tmp_path / "a_file").write_text("x")
    cases = [
        (("--format", "jsonl", str(tmp_path)), "is a folder; --format jsonl writes one file"),
        (("--format", "verl", str(tmp_path / "a_file" / "out.parquet")), "cannot write"),
        (("--format", "jsonl", "/proc/evoenv/out.jsonl"), "cannot write /proc/evoenv/out.jsonl"),
        (("--format", "hf", str(tmp_path / "ds")), "is an existing folder; an HF export writes a new folder"),
        (("--format", "hf", str(tmp_path / "a_file")), "is a file"),
    ]
    for args, message in cases:
        _clean_error(_cli("export", "--envs", "broken_sum", *args, url=registry_url), message)
    assert (tmp_path / "ds" / "keep.txt").read_text() == "mine"
    # The same broken environment, with a good target, fails naming the environment.
    _clean_error(_cli("export", "--envs", "broken_sum", str(tmp_path / "o.jsonl"), url=registry_url), "broken_sum")


@pytest.mark.parametrize("command", [
    ("export", "--seed", "{seed}", "{out}"),
    ("sample", "digit_sum", "--seed", "{seed}"),
    ("score", "digit_sum", "--seed", "{seed}", "-d", "1", "-r", "<answer>1</answer>"),
])
def test_seeds_out_of_range_are_refused(tmp_path, registry_url, command):
    for seed in (-1, 2**63, MAX_SEED + 1):
        args = [part.format(seed=seed, out=tmp_path / "o.jsonl") for part in command]
        done = _cli(*args, url=registry_url)
        flat = " ".join(done.stderr.replace("│", " ").split())
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert "--seed" in flat and ("greater than or equal to 0" in flat or f"less than or equal to {MAX_SEED}" in flat)
    _clean_error(_cli("export", "--envs", "digit_sum", "--seed", str(MAX_SEED - 2), "--per-env", "5",
                      str(tmp_path / "o.jsonl"), url=registry_url), f"seeds must lie in 0..{MAX_SEED}")


def test_sample_and_score_take_registry_environments_by_name_or_id(registry_url):
    from evoenv.registry import open_registry

    env_id = open_registry(registry_url).get("digit_sum").id
    by_name = _cli("sample", "digit_sum", "-d", "3", "-s", "5", "--reveal", "--json", url=registry_url)
    by_id = _cli("sample", str(env_id), "-d", "3", "-s", "5", "--reveal", "--json", url=registry_url)
    assert by_name.returncode == 0 and by_id.returncode == 0, by_name.stderr + by_id.stderr
    assert json.loads(by_name.stdout) == json.loads(by_id.stdout)
    reference = json.loads(by_name.stdout)[0]["reference"]
    for ref in ("digit_sum", str(env_id)):
        done = _cli("score", ref, "-s", "5", "-d", "3", "-r", f"so <answer>{reference}</answer>", "--json",
                    url=registry_url)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["score"] == 1.0
    _clean_error(_cli("sample", "no_such_env", url=registry_url), "nor an environment id or name in the registry")


def test_tables_fit_80_columns_when_piped(registry_url):
    for args, headers, values in (
        (("envs", "list"), ("id", "name", "status", "origin", "gen", "pass", "novelty", "reward", "created", "tags"),
         ("arithmetic, digits", "admitted")),
        (("stats",), ("stage", "entered", "passed", "pass rate", "not run"), ("admitted 3", "novelty")),
        (("stats",), ("id", "kind", "status", "started", "candidates", "admitted", "rejected"), ("grow",)),
    ):
        done = _cli(*args, url=registry_url)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert all(len(line) <= 80 for line in lines), "\n".join(lines)
        assert any(all(name in line for name in headers) for line in lines), "\n".join(lines)  # one header line
        text = " ".join(done.stdout.split())
        assert "…" not in done.stdout
        for value in values:
            assert value in text


def test_grow_round_table_keeps_every_column_at_80():
    from types import SimpleNamespace

    from rich.console import Console

    from evoenv.admission.result import STAGES
    from evoenv.cli.grow import print_summary_table

    console = Console(width=80, record=True, color_system=None)
    rounds = [SimpleNamespace(round=1, proposed=32, passes={s: 20 + i for i, s in enumerate(STAGES)}, admitted=16,
                              duplicates=2, repairs=3, tokens=123456, seconds=812.5)]
    print_summary_table(rounds, target=console)
    text = console.export_text()
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "…" not in text
    for word in ("round", "proposed", *STAGES, "admitted", "dup", "repairs", "tokens", "123,456", "seconds", "812.5"):
        assert word in text


def test_export_json_prints_only_json(tmp_path, registry_url):
    for fmt, name in (("jsonl", "o.jsonl"), ("hf", "ds2")):
        done = _cli("export", "--format", fmt, "--envs", "digit_sum", "--per-env", "3", "--difficulty", "2", "--json",
                    str(tmp_path / name), url=registry_url)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("{") and done.stdout.endswith("}\n")
        assert json.loads(done.stdout)["rows"] == 3
