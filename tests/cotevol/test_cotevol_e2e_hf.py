"""End to end: ``evoenv cotevol`` with a tiny random ``hf:`` model, through the sandbox.

The model is random, so whether it is right is up to the environments: one
accepts any answer (every trajectory is correct, so rows are written) and one
accepts none (its instances must be reported as unsolved, not dropped).
"""

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from cotevol_tiny_hf import build_tiny_model
from typer.testing import CliRunner

from evoenv.cli import app
from evoenv.hashing import code_sha256

ENV_TEMPLATE = '''
import random


class {cls}:
    name = "{name}"
    description = "Say a number. Answer inside <answer>...</answer>."
    max_difficulty = 5

    def sample(self, seed, difficulty):
        return {{"n": random.Random(f"{{seed}}:{{difficulty}}").randint(0, 10 ** difficulty)}}

    def prompt(self, instance):
        return f"Step 1 : add {{instance['n']}} and 1 . Put the answer inside <answer>...</answer>."

    def reference(self, instance):
        return str(instance["n"] + 1)

    def score(self, instance, answer):
        return {score}
'''


@pytest.mark.slow
def test_cli_run_with_a_tiny_hf_model_writes_valid_rows(tmp_path, monkeypatch):
    model = build_tiny_model(tmp_path / "tiny")
    accept = tmp_path / "accept_any.py"
    accept.write_text(ENV_TEMPLATE.format(cls="AcceptAny", name="accept_any", score="1.0"))
    reject = tmp_path / "reject_all.py"
    reject.write_text(ENV_TEMPLATE.format(cls="RejectAll", name="reject_all", score="0.0"))
    out = tmp_path / "out" / "sft"
    config = tmp_path / "cotevol.toml"
    config.write_text("[fitness]\naudit_share = 0\n")  # accept_any pays for any answer: the audit would stop it
    monkeypatch.setenv("EVOENV_DB", f"sqlite:///{tmp_path / 'absent.db'}")  # no registry: files are used
    monkeypatch.setenv("EVOENV_SANDBOX", "process")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # in-process (the same Typer app as `evoenv`), so torch is imported once per test session
    result = CliRunner().invoke(app, [
        "cotevol", "--envs", f"{accept},{reject}", "--per-env", "1", "--difficulty", "auto",
        "--policy", f"hf:{model}", "--out", str(out), "--method", "all", "--population",
        "--iterations", "1", "--max-tokens", "12", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output[-3000:]
    summary = json.loads(result.stdout)

    # uncalibrated, so auto picks the middle level of 1..5
    assert {(e["env_name"], e["difficulty"]) for e in summary["environments"]} == {("accept_any", 3),
                                                                                   ("reject_all", 3)}
    for method in ("cotevol", "best_of_n", "self_refine"):
        s = summary["summaries"][method]
        assert s["instances"] == 2 and s["solved"] == 1 and s["success_rate"] == 0.5
        assert {(u["env_name"], u["seed"]) for u in s["unsolved"]} == {("reject_all", 0)}
        assert s["tokens_per_correct_cot"] > 0
    # the random model's correct trajectories are distinct, so diversity is measured
    assert 0.0 <= summary["summaries"]["cotevol"]["diversity_rouge_l"] < 1.0
    assert 0.0 < summary["summaries"]["cotevol"]["diversity_embedding_distance"] <= 2.0

    rows = [json.loads(line) for line in Path(summary["paths"]["jsonl"]).read_text().splitlines()]
    assert rows == pq.read_table(summary["paths"]["parquet"]).to_pylist()
    assert len(rows) == summary["rows"] > 0
    shas = {"accept_any": code_sha256(accept.read_text()), "reject_all": code_sha256(reject.read_text())}
    for row in rows:
        meta = row["metadata"]
        assert set(meta) >= {"env_id", "env_name", "code_sha256", "seed", "difficulty", "fitness", "operators"}
        assert meta["code_sha256"] == shas[meta["env_name"]]
        assert meta["seed"] == 0 and meta["difficulty"] == 3
        assert meta["correct"] == (meta["env_name"] == "accept_any")
        assert isinstance(meta["fitness"], float) and meta["operators"] and meta["policy"] == "hf:tiny"
        user, assistant = row["messages"]
        assert user["role"] == "user" and "Put the answer inside" in user["content"]
        assert assistant["role"] == "assistant" and isinstance(assistant["content"], str)
    cotevol_rows = [r for r in rows if r["metadata"]["method"] == "cotevol"]
    assert len(cotevol_rows) == 2 * 4  # --population: every member of every final population
    report = json.loads(Path(summary["paths"]["report"]).read_text())
    assert report["config"]["iterations"] == 1 and report["config"]["n_pop"] == 4
    assert report["budget"] == "per problem: CoTEvol's own spend"
