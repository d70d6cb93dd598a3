"""``evoenv validate``: the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .conftest import HERE, env_code

ROOT = HERE.parent.parent


def evoenv(*args, env=None):
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200", **(env or {})}
    environment.pop("EVOENV_DB", None) if env is None or "EVOENV_DB" not in env else None
    return subprocess.run([sys.executable, "-m", "evoenv", "validate", *args], capture_output=True, text=True,
                          env=environment, cwd=ROOT, timeout=300)


def test_help():
    result = evoenv("--help")
    assert result.returncode == 0 and "--policy" in result.stdout and "--json" in result.stdout


@pytest.mark.slow
def test_good_file_json_passes_with_novelty_against_the_seeds(tmp_path, seed_sources):
    # (not good_inversions: it counts inversions exactly like the count_inversions seed, and novelty,
    # which compares behaviour, rightly calls it a copy)
    good = HERE / "envs" / "good_sdk_paths.py"
    result = evoenv(str(good), "--json", env={"EVOENV_DB": f"sqlite:///{tmp_path}/absent.db"})
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["novelty_against"] == "the 10 seeds"
    (only,) = data["files"]
    assert only["file"].endswith("good_sdk_paths.py")
    stages = {s["stage"]: s for s in only["stages"]}
    assert [stages[f"L{i}"]["passed"] for i in range(1, 6)] == [True] * 5 and stages["blind"]["passed"] is True
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


@pytest.mark.slow
def test_policy_spec_runs_review_and_calibration(tmp_path, sandbox):
    """With --policy (the replay TEST DOUBLE: recorded texts, no model), review and calibration run."""
    import importlib

    from tests.conftest import require

    policy_module = importlib.import_module("evoenv.policy")
    require(hasattr(policy_module, "load_policy"), "evoenv.policy.load_policy is not available in this checkout")
    verdict = {"data_flow": {"ok": True, "notes": ""}, "instance_trace": {"ok": True, "notes": ""},
               "algorithm": {"ok": True, "notes": ""}, "scorer": {"ok": True, "notes": ""},
               "verdict": "accept", "reason": "traced by hand"}
    # The solver double answers the calibration instances by their prompt: right on even seeds, one off on
    # odd ones, so every level has pass rate 0.5. (A constant answer would need a guessable task, which
    # the blind stage rejects before calibration.)
    from evoenv.admission import AdmissionConfig
    from evoenv.sandbox import SandboxedEnv

    path, config = HERE / "envs" / "good_sdk_paths.py", AdmissionConfig()
    env = SandboxedEnv(path.read_text(), sandbox)
    # admission draws fresh calibration seeds; the recorded answers need known ones, pinned with --set
    seeds = range(100_000, 100_000 + config.calibration_m)
    renders = env.render_many([(s, d) for d in range(1, env.info().max_difficulty + 1) for s in seeds])
    lines = [json.dumps({"text": "Checked.\n" + json.dumps(verdict), "when": "Checklist", "repeat": True})]
    lines += [json.dumps({"text": f"<answer>{int(r.reference) + r.seed % 2}</answer>", "when": r.prompt,
                          "unless": "Checklist", "repeat": True}) for r in renders]
    records = tmp_path / "replay.jsonl"
    records.write_text("\n".join(lines) + "\n")
    result = evoenv(str(path), "--json", "--policy", f"replay:{records}",
                    "--set", f"calibration_seeds={json.dumps(list(seeds))}",
                    env={"EVOENV_DB": f"sqlite:///{tmp_path}/absent.db"})
    data = json.loads(result.stdout)
    stages = {s["stage"]: s for s in data["files"][0]["stages"]}
    assert stages["review"]["passed"] is True and stages["review"]["details"]["accepted"] == 3
    assert [r["text"].startswith("Checked.") for r in stages["review"]["details"]["reviews"]] == [True] * 3
    curve = stages["calibration"]["details"]["curve"]
    assert curve and all(p["n"] == 8 for p in curve)
    assert stages["calibration"]["passed"] is True and 0 < stages["calibration"]["details"]["pass_rate"] < 1
    assert result.returncode == (0 if data["ok"] else 1)


@pytest.mark.slow
@pytest.mark.usefixtures("minilm")
def test_novelty_against_the_registry_at_evoenv_db(tmp_path, sandbox):
    from evoenv.admission import AdmissionConfig, AdmissionContext, Candidate, admit_candidate
    from evoenv.admission.novelty_index import NoveltyIndex
    from evoenv.admission.persist import persist
    from evoenv.registry import open_registry, upgrade

    url = f"sqlite:///{tmp_path}/reg.db"
    upgrade(url)
    registry = open_registry(url)
    ctx = AdmissionContext(sandbox, AdmissionConfig(admit_without_policy=True), novelty=NoveltyIndex(0.5))
    record = persist(registry, admit_candidate(Candidate(env_code("good_inversions")), ctx))
    registry.close()
    assert record.status == "admitted"
    copy = tmp_path / "renamed.py"
    copy.write_text("# mine now\n" + env_code("good_inversions").replace("CountInversions", "Mine")
                    .replace("count_inversions_test", "mine"))
    result = evoenv(str(copy), "--json", env={"EVOENV_DB": url})
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["novelty_against"] == f"registry {url}"
    novelty = next(s for s in data["files"][0]["stages"] if s["stage"] == "novelty")
    assert novelty["passed"] is False
    assert novelty["reason"].startswith(f"behaviourally identical to admitted environment 'count_inversions_test' ({record.id})")


def test_set_overrides_a_setting_and_refuses_an_unknown_one():
    path = HERE / "envs" / "good_sdk_paths.py"
    bad = evoenv(str(path), "--set", "no_such_setting=1")
    assert bad.returncode == 2 and "no_such_setting" in bad.stderr and "blind_max_rate" in bad.stderr
    assert "Traceback" not in bad.stderr
    # recorded probe seeds reach L2 (a rerun on the instances a run judged)
    pinned = evoenv(str(path), "--json", "--set", "probe_seeds=[5, 6, 7, 8, 9, 10, 11, 12]")
    stages = {s["stage"]: s for s in json.loads(pinned.stdout)["files"][0]["stages"]}
    assert stages["L2"]["details"]["seeds"] == [5, 6, 7, 8, 9, 10, 11, 12]
