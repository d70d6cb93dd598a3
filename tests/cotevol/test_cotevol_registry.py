"""``evoenv cotevol`` against a real SQLite registry: environments, calibration, run record."""

import json

import pytest
from cotevol_tiny_hf import build_tiny_model
from test_cotevol_e2e_hf import ENV_TEMPLATE
from typer.testing import CliRunner

from evoenv.cli import app
from evoenv.registry import open_registry


@pytest.mark.slow
def test_environments_difficulty_and_the_run_come_from_the_registry(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'reg.db'}"
    monkeypatch.setenv("EVOENV_DB", url)
    monkeypatch.setenv("EVOENV_SANDBOX", "process")
    model = build_tiny_model(tmp_path / "tiny")
    with open_registry(url, upgrade_schema=True) as reg:
        admitted = reg.add_candidate(ENV_TEMPLATE.format(cls="AcceptAny", name="accept_any", score="1.0"),
                                     name="accept_any", description="d", max_difficulty=5)
        reg.admit(admitted.id)
        # a candidate that was never admitted must not be used
        reg.add_candidate(ENV_TEMPLATE.format(cls="Pending", name="accept_pending", score="1.0"),
                          name="accept_pending", description="d", max_difficulty=5)
        for difficulty, passes in ((1, 8), (2, 3), (4, 0)):
            reg.record_calibration(admitted.id, checkpoint="hf:tiny", difficulty=difficulty, n=8, passes=passes)

    out = tmp_path / "rows"
    config = tmp_path / "cotevol.toml"
    config.write_text("[fitness]\naudit_share = 0\n")  # accept_any pays for any answer: the audit would stop it
    result = CliRunner().invoke(app, [
        "cotevol", "--envs", "accept_*", "--per-env", "1", "--policy", f"hf:{model}", "--out", str(out),
        "--iterations", "1", "--max-tokens", "8", "--no-embeddings", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["env_origin"] == "registry"
    [chosen] = summary["environments"]
    assert (chosen["env_name"], chosen["env_id"], chosen["difficulty"]) == ("accept_any", admitted.id, 2)
    [row] = [json.loads(line) for line in (tmp_path / "rows.jsonl").read_text().splitlines()]
    assert row["metadata"]["env_id"] == admitted.id and row["metadata"]["difficulty"] == 2
    assert row["metadata"]["code_sha256"] == admitted.code_sha256

    with open_registry(url) as reg:
        [run] = reg.runs(kind="cotevol")
        assert run.id == summary["run_id"] and run.status == "finished"
        assert run.config["per_env"] == 1 and run.config["iterations"] == 1
        assert run.summary["rows"] == 1
