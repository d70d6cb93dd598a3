"""The registry stands on its own: importing it loads no admission stage, and it shares one
list of stage names, in the order the pipeline runs them, with admission and the web."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from evoenv.stages import STAGES, StageResult

ROOT = Path(__file__).resolve().parents[2]


def loaded_after(statement: str) -> list[str]:
    """The evoenv modules a fresh interpreter holds after running ``statement``."""
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(m for m in sys.modules if m.startswith('evoenv'))))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_the_registry_loads_no_admission_module():
    loaded = loaded_after("import evoenv.registry")
    assert "evoenv.registry.store" in loaded
    assert [m for m in loaded if m.startswith("evoenv.admission")] == []


def test_the_stage_module_imports_nothing_of_evoenv():
    assert loaded_after("import evoenv.stages") == ["evoenv", "evoenv.stages"]


def test_one_stage_list_in_pipeline_order_for_admission_registry_and_web():
    from evoenv.admission import STAGES as admission_stages
    from evoenv.admission import StageResult as admission_result
    from evoenv.admission.pipeline import MECHANICAL
    from evoenv.web.inputs import STAGES as web_stages

    assert STAGES == ("L1", "L2", "L3", "L4", "L5", "blind", "novelty", "review", "calibration")
    assert admission_stages is STAGES and web_stages is STAGES and admission_result is StageResult
    # The stop-at-first-failure stages run first, in the list's order.
    assert tuple(check.stage for check in MECHANICAL) == STAGES[:len(MECHANICAL)]


def test_funnel_lists_stages_in_pipeline_order(reg):
    run = reg.start_run("grow", {})
    env = reg.add_candidate("class E:\n    pass\n", name="e", description="", max_difficulty=1, run_id=run)
    recorded = ["calibration", "review", "novelty", "L2", "blind", "L1"]
    reg.reject(env.id, stages=[StageResult(stage, True) for stage in recorded], reason="review: by hand")
    assert list(reg.funnel(run)) == ["L1", "L2", "blind", "novelty", "review", "calibration"]
