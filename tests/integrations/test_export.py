"""Export rows and rescore them through verl, TRL and the gym-style API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import evoenv
from evoenv.integrations import trl as trl_integration
from evoenv.integrations.catalog import InactiveEnvironment, NotInCatalog
from evoenv.integrations.export import build_rows, parse_difficulty, write_rows
from evoenv.integrations.verl import compute_score
from evoenv.sandbox import SandboxedEnv
from evoenv.sources import SEED_NAMES, load_seed

REPO = Path(__file__).resolve().parents[2]


def _wrap(answer: str) -> str:
    return f"Let me think.\n<answer>{answer}</answer>"


@pytest.fixture
def seed_rows(seeds_only_catalog, sandbox):
    return build_rows(envs="seeds", per_env=2, difficulty="2-3", seed=11, catalog=seeds_only_catalog, sandbox=sandbox)


def test_rows_carry_rescoring_metadata(seed_rows):
    assert len(seed_rows) == 2 * len(SEED_NAMES)
    for row in seed_rows:
        meta = row["metadata"]
        assert set(row) == {"question", "answer", "metadata"}
        assert meta["env_name"] in SEED_NAMES and len(meta["code_sha256"]) == 64
        assert meta["seed"] in (11, 12) and meta["difficulty"] in (2, 3)
        assert "<answer>" in row["question"]


def test_references_rescore_to_one_in_verl_and_trl(seed_rows, seeds_only_catalog, scorer_for):
    scorer_for(seeds_only_catalog)
    for row in seed_rows:
        assert compute_score(f"evoenv/{row['metadata']['env_name']}", _wrap(row["answer"]), row["answer"],
                             row["metadata"]) == 1.0
    rewards = trl_integration.reward_func([_wrap(r["answer"]) for r in seed_rows],
                                          metadata=[json.dumps(r["metadata"]) for r in seed_rows])
    assert rewards == [1.0] * len(seed_rows)


def test_perturbed_answers_score_as_the_sandboxed_scorer_does(seed_rows, seeds_only_catalog, scorer_for, sandbox):
    scorer_for(seeds_only_catalog)
    for row in seed_rows:
        meta = row["metadata"]
        env = SandboxedEnv(load_seed(meta["env_name"]).code, sandbox)
        instance = env.render(meta["seed"], meta["difficulty"]).instance
        for answer in (row["answer"] + "1", row["answer"][:-1], "", "garbage", row["answer"][::-1]):
            expected = env.score(instance, answer)
            assert compute_score("x", _wrap(answer), row["answer"], meta) == expected
            assert trl_integration.reward_func([[{"role": "assistant", "content": _wrap(answer)}]],
                                               metadata=[meta]) == [expected]


def test_scoring_uses_the_environment_not_the_ground_truth_string(seed_rows, seeds_only_catalog, scorer_for):
    """Feasibility tasks accept any valid answer: the planted ground truth is never string-matched."""
    scorer_for(seeds_only_catalog)
    row = next(r for r in seed_rows if r["metadata"]["env_name"] == "subset_sum")
    assert compute_score("evoenv/subset_sum", _wrap(row["answer"]), "not the planted answer", row["metadata"]) == 1.0


def test_unknown_code_hash_raises_a_clear_error(seed_rows, seeds_only_catalog, scorer_for):
    scorer_for(seeds_only_catalog)
    meta = {**seed_rows[0]["metadata"], "code_sha256": "0" * 64}
    with pytest.raises(NotInCatalog, match="no environment with code hash '0000"):
        compute_score("x", _wrap("1"), "1", meta)
    with pytest.raises(ValueError, match="needs extra_info"):
        compute_score("x", _wrap("1"), "1", None)


def test_verl_parquet_schema(seed_rows, tmp_path):
    out = tmp_path / "train.parquet"
    write_rows(seed_rows, "verl", out)
    table = pq.read_table(out)
    assert set(table.column_names) == {"data_source", "prompt", "ability", "reward_model", "extra_info"}
    first = table.to_pylist()[0]
    assert first["data_source"] == f"evoenv/{seed_rows[0]['metadata']['env_name']}"
    assert first["prompt"] == [{"role": "user", "content": seed_rows[0]["question"]}]
    assert first["reward_model"] == {"style": "rule", "ground_truth": seed_rows[0]["answer"]}
    assert first["extra_info"]["code_sha256"] == seed_rows[0]["metadata"]["code_sha256"]


def test_hf_dataset_round_trip(seed_rows, tmp_path):
    import datasets

    write_rows(seed_rows, "hf", tmp_path / "ds")
    loaded = datasets.load_from_disk(str(tmp_path / "ds"))
    assert len(loaded) == len(seed_rows)
    assert json.loads(loaded[0]["metadata"]) == seed_rows[0]["metadata"]


def test_gym_style_api(seeds_only_catalog, scorer_for):
    scorer_for(seeds_only_catalog)
    dataset = evoenv.create_dataset("knapsack", size=3, seed=4, difficulty=5,
                                    registry_url=seeds_only_catalog.registry_url)
    assert len(dataset) == 3 and [e["metadata"]["seed"] for e in dataset] == [4, 5, 6]
    entry = dataset[1]
    assert evoenv.score_answer(entry["answer"], entry) == 1.0
    assert evoenv.score_answer(str(int(entry["answer"]) + 1), entry) == 0.0
    assert evoenv.score_answer(None, entry) == 0.0
    with pytest.raises(ValueError, match="size must be at least 1"):
        evoenv.create_dataset("knapsack", size=0)


def test_difficulty_spec_parsing():
    assert parse_difficulty("auto") == "auto"
    assert parse_difficulty("4") == (4, 4)
    assert parse_difficulty("2-7") == (2, 7)
    for bad in ("0", "7-2", "x", "1-", "-3"):
        with pytest.raises(ValueError):
            parse_difficulty(bad)


def _cli(*args: str, db: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "EVOENV_DB": f"sqlite:///{db}"}
    return subprocess.run([sys.executable, "-m", "evoenv", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_export_cli_jsonl(tmp_path):
    out = tmp_path / "rows.jsonl"
    done = _cli("export", "--format", "jsonl", "--envs", "seeds", "--per-env", "2", "--difficulty", "3-4",
                "--json", str(out), db=tmp_path / "absent.db")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rows"] == 2 * len(SEED_NAMES)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["metadata"]["difficulty"] for r in rows} == {3, 4}


@pytest.mark.parametrize("args, message", [
    (("--format", "csv"), "unknown --format"),
    (("--difficulty", "9-2"), "difficulty range"),
    (("--envs", "no_such_env"), "unknown environment 'no_such_env'"),
    (("--envs", "knapsack", "--difficulty", "11"), "out of range"),
])
def test_export_cli_bad_input(tmp_path, args, message):
    done = _cli("export", *args, str(tmp_path / "o.jsonl"), db=tmp_path / "absent.db")
    assert done.returncode != 0
    assert message in done.stderr
    assert "Traceback" not in done.stderr


NEW_ENV = '''
import random


class DigitSum:
    name = "digit_sum"
    description = "Sum the digits of a number."
    max_difficulty = 6

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        return {"n": rng.randrange(10 ** (difficulty + 1))}

    def prompt(self, instance):
        return f"What is the sum of the digits of {instance['n']}? Put it in <answer>...</answer>."

    def reference(self, instance):
        return str(sum(int(c) for c in str(instance["n"])))

    def score(self, instance, answer):
        return 1.0 if answer.strip() == self.reference(instance) else 0.0
'''


def test_rows_of_a_retired_environment_still_rescore(tmp_path, sandbox, scorer_for):
    from evoenv.integrations.catalog import Catalog
    from evoenv.registry import open_registry

    url = f"sqlite:///{tmp_path / 'reg.db'}"
    registry = open_registry(url, upgrade_schema=True)
    record = registry.add_candidate(NEW_ENV, name="digit_sum", description="Sum the digits.", max_difficulty=6)
    registry.admit(record.id)
    catalog = Catalog(url)
    scorer_for(catalog)
    rows = build_rows(envs="digit_sum", per_env=3, difficulty="2-4", catalog=catalog, sandbox=sandbox)
    assert {r["metadata"]["env_id"] for r in rows} == {record.id}
    registry.retire(record.id)
    assert Catalog(url).get("digit_sum", allow_rejected_or_retired=True).status == "retired"
    with pytest.raises(InactiveEnvironment, match="'digit_sum' .* is retired; ask for it explicitly"):
        build_rows(envs="digit_sum", per_env=1, difficulty="2", catalog=Catalog(url), sandbox=sandbox)
    for row in rows:
        assert compute_score("evoenv/digit_sum", _wrap(row["answer"]), row["answer"], row["metadata"]) == 1.0
        assert compute_score("evoenv/digit_sum", _wrap(row["answer"] + "0"), row["answer"], row["metadata"]) == 0.0
