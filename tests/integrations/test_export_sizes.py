"""Exports of any size: chunked under the sandbox's result cap, streamed to disk, oversize instances
named and skipped (or refused with --strict), and nothing already written lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import evoenv
from evoenv.integrations.export import ExportError, build_rows, iter_rows, plan_rows, write_rows
from evoenv.sandbox import OUTPUT_LIMIT, Limits, SandboxedEnv, SandboxError, open_sandbox
from evoenv.sources import load_seed

REPO = Path(__file__).resolve().parents[2]
SMALL_CAP = 64 * 1024

# Seed 2 renders a prompt bigger than the default 8 MiB result cap; every other seed is small.
HUGE_AT_SEED_2 = '''
import random


class HugeAtTwo:
    name = "huge_at_two"
    description = "Repeat a word; seed 2 asks for a very long one."
    max_difficulty = 3

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        return {"word": rng.choice(["ab", "cd", "ef"]), "times": 9_000_000 if seed == 2 else 3 + difficulty}

    def prompt(self, instance):
        return "Say " + instance["word"] * (instance["times"] // 2) + " backwards. <answer>...</answer>"

    def reference(self, instance):
        return instance["word"][::-1]

    def score(self, instance, answer):
        return 1.0 if answer.strip() == self.reference(instance) else 0.0
'''


@pytest.fixture(scope="module")
def small_cap_sandbox():
    with open_sandbox("process", workers=1, limits=Limits(result_bytes=SMALL_CAP)) as pool:
        yield pool


def test_one_job_of_the_same_rows_would_exceed_the_cap(small_cap_sandbox):
    """The wall this module is about: without chunks, 200 sat instances at level 10 come back as one
    result far over a 64 KiB cap."""
    env = SandboxedEnv(load_seed("sat").code, small_cap_sandbox)
    with pytest.raises(SandboxError) as caught:
        env.render_many([(s, 10) for s in range(200)])
    assert caught.value.result.outcome == OUTPUT_LIMIT


def test_rows_render_in_chunks_under_the_cap_and_match_single_renders(small_cap_sandbox, seeds_only_catalog, sandbox):
    rows = build_rows(envs="sat,dag_path_count", per_env=200, difficulty="9-10", seed=5,
                      catalog=seeds_only_catalog, sandbox=small_cap_sandbox)
    assert len(rows) == 400
    assert sum(len(json.dumps(r)) for r in rows) > 10 * SMALL_CAP
    sat = [r for r in rows if r["metadata"]["env_name"] == "sat"]
    assert [r["metadata"]["seed"] for r in sat] == list(range(5, 205))
    env = SandboxedEnv(load_seed("sat").code, sandbox)
    for row in sat[::37]:
        alone = env.render(row["metadata"]["seed"], row["metadata"]["difficulty"])
        assert (row["question"], row["answer"]) == (alone.prompt, alone.reference)


def test_create_dataset_beyond_one_result(small_cap_sandbox, seeds_only_catalog, monkeypatch):
    monkeypatch.setattr("evoenv.integrations.export.open_sandbox", lambda: small_cap_sandbox)
    monkeypatch.setattr(small_cap_sandbox, "close", lambda: None)
    data = evoenv.create_dataset("graph_coloring", size=300, seed=0, difficulty=10,
                                 registry_url=seeds_only_catalog.registry_url)
    assert len(data) == 300 and data[299]["metadata"]["seed"] == 299


def _register(tmp_path: Path, code: str, name: str) -> str:
    from evoenv.registry import open_registry

    url = f"sqlite:///{tmp_path / 'reg.db'}"
    registry = open_registry(url, upgrade_schema=True)
    record = registry.add_candidate(code, name=name, description="x", max_difficulty=3)
    registry.admit(record.id)
    return url


def _cli(*args: str, url: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "EVOENV_DB": url}
    return subprocess.run([sys.executable, "-m", "evoenv", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def test_an_oversize_instance_is_named_and_skipped(tmp_path):
    url = _register(tmp_path, HUGE_AT_SEED_2, "huge_at_two")
    out = tmp_path / "rows.jsonl"
    done = _cli("export", "--envs", "huge_at_two", "--per-env", "5", "--difficulty", "1", "--json", str(out), url=url)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["rows"] == 4
    assert len(summary["skipped"]) == 1
    assert "huge_at_two: instance seed=2 difficulty=1 alone exceeds the sandbox result cap" in summary["skipped"][0]
    assert "huge_at_two" in done.stderr and "seed=2" in done.stderr and "Traceback" not in done.stderr
    seeds = [json.loads(line)["metadata"]["seed"] for line in out.read_text().splitlines()]
    assert seeds == [0, 1, 3, 4]


@pytest.mark.parametrize("fmt, name", [("jsonl", "rows.jsonl"), ("verl", "rows.parquet"), ("hf", "ds")])
def test_strict_fails_on_it_and_keeps_what_was_written(tmp_path, fmt, name):
    url = _register(tmp_path, HUGE_AT_SEED_2, "huge_at_two")
    out = tmp_path / name
    done = _cli("export", "--format", fmt, "--envs", "huge_at_two", "--per-env", "5", "--difficulty", "1",
                "--strict", str(out), url=url)
    assert done.returncode == 2
    assert "huge_at_two: instance seed=2" in done.stderr and "--strict" in done.stderr
    assert f"the 2 rows before it are in {out}" in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr
    if fmt == "jsonl":
        kept = [json.loads(line)["metadata"]["seed"] for line in out.read_text().splitlines()]
    elif fmt == "verl":
        kept = [r["seed"] for r in pq.read_table(out).column("extra_info").to_pylist()]
    else:
        import datasets

        kept = [json.loads(m)["seed"] for m in datasets.load_from_disk(str(out))["metadata"]]
    assert kept == [0, 1]


def test_a_failure_mid_stream_keeps_the_rows_before_it(tmp_path, seeds_only_catalog, sandbox):
    plans = plan_rows("knapsack", 30, "3", 0, seeds_only_catalog, sandbox)

    def rows_then_crash():
        for index, row in enumerate(iter_rows(plans)):
            if index == 25:
                raise ExportError("the sandbox went away")
            yield row

    out = tmp_path / "train.parquet"
    with pytest.raises(ExportError, match=f"the sandbox went away; the 25 rows before it are in {out}"):
        write_rows(rows_then_crash(), "verl", out)
    assert pq.read_table(out).num_rows == 25


@pytest.mark.slow
@pytest.mark.timeout(1800)  # about 5 minutes on the shared 2-core machine at load 7, 10 at load 11
def test_forty_thousand_rows_of_the_largest_seeds_at_level_ten(tmp_path):
    out = tmp_path / "train.parquet"
    done = _cli("export", "--format", "verl", "--envs", "sat,dag_path_count,graph_coloring,shortest_path",
                "--per-env", "10000", "--difficulty", "10", "--json", str(out), url=f"sqlite:///{tmp_path / 'no.db'}",
                timeout=1700)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rows"] == 40_000
    table = pq.read_table(out)
    assert table.num_rows == 40_000
    assert table.column("extra_info").to_pylist()[-1]["index"] == 39_999
