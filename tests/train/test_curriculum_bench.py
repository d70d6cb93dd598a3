"""bench/curriculum.py at a minimal size: it runs end to end and its arms are comparable."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_curriculum_bench_runs_three_comparable_arms(tmp_path):
    out = tmp_path / "result.json"
    steps, groups, group_size, max_new = 3, 2, 2, 8
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "curriculum.py"), "--seeds", "1", "--steps", str(steps),
         "--groups", str(groups), "--group-size", str(group_size), "--max-new-tokens", str(max_new),
         "--pretrain-steps", "5", "--pretrain-rows", "10", "--calibration-m", "2", "--dataset-rows", "4",
         "--eval-instances", "2", "--eval-samples", "1", "--curve-every", "2", "--curve-instances", "1",
         "--pool-epoch-steps", "2", "--json", str(out)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "difference of arms" in done.stdout
    result = json.loads(out.read_text())

    # admission: the mechanical stages and novelty ran and passed; review and calibration need a policy
    assert set(result["admission"]) == {"add_up", "count_letter", "largest", "reverse_word", "take_away"}
    for stages in result["admission"].values():
        assert {s: stages[s] for s in ("L1", "L2", "L3", "L4", "L5", "novelty")} == dict.fromkeys(
            ("L1", "L2", "L3", "L4", "L5", "novelty"), "passed")
        assert stages["review"] == stages["calibration"] == "not run"

    arms = result["arms"]
    assert set(arms) == {"calibrated", "uniform", "fixed"}
    runs = [run for arm in arms.values() for run in arm]
    # equal steps, sequences and token budget; every step trained (no group lost)
    assert {(r["steps"], r["sequences"], r["token_budget"], r["skipped_steps"]) for r in runs} == \
        {(steps, steps * groups * group_size, steps * groups * group_size * max_new, 0)}
    assert all(0 < r["completion_tokens"] <= r["token_budget"] for r in runs)
    assert all([p["step"] for p in r["curve"]] == [0, 2, 3] for r in runs)
    assert all(r["model_seed"] == 0 for r in runs)

    # the arms trained differently: the fixed arm only on the exported middle level, the held-out kind never
    held_out = result["held_out_kind"]
    for r in runs:
        assert held_out not in r["trained_levels"]
    fixed_levels = {level for counts in arms["fixed"][0]["trained_levels"].values() for level in counts}
    assert fixed_levels == {"3"}
    uniform_levels = {level for counts in arms["uniform"][0]["trained_levels"].values() for level in counts}
    assert len(uniform_levels) > 1
    # the calibrated arm read the pretrained model's calibration and wrote its own back at checkpoints
    assert arms["calibrated"][0]["calibration_checkpoints"] == ["calibrated-s0/checkpoint-2",
                                                                "calibrated-s0/checkpoint-3", "pretrained-s0"]

    for arm in arms:
        for group in ("trained", "held_out"):
            cells = result["per_level"][arm][group]
            assert sorted(cells) == ["1", "2", "3", "4", "5"]
            assert all(0 <= c["mean"] <= 1 for c in cells.values())
    assert set(result["differences"]) >= {"calibrated - uniform, train_mean", "calibrated - fixed, train_mean",
                                          "calibrated - uniform, held_out_mean"}
    assert result["fixed_rows"] == 4 * 4  # rows per kind x the four admitted training kinds

    # the report can be printed again from the saved results, with the comparisons to the starting model
    again = subprocess.run([sys.executable, str(ROOT / "bench" / "curriculum.py"), "--report", str(out)],
                           capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert again.returncode == 0, again.stderr[-3000:]
    assert "calibrated - pretrained, train_mean" in again.stdout and "level 5" in again.stdout
