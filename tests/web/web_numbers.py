"""A small registry whose numbers a test can add up by hand: two seeds (no review, no calibration),
one grow run of five proposals (one an exact duplicate), a candidate rejected by novelty while
calibration failed beside it, and calibration curves with a long checkpoint name and a single level."""

from __future__ import annotations

from evoenv.admission.result import StageResult
from evoenv.registry import open_registry
from evoenv.sources import load_seed

MEETS = ["L1", "L2", "L3", "L4", "L5", "blind", "novelty", "review", "calibration"]
LONG_CHECKPOINT = "replay:replay.jsonl@checkpoints/grow-run-7/global_step_000200"


def _stages(fail: dict[str, str] | None = None, skip=()) -> list[StageResult]:
    fail = fail or {}
    return [StageResult(s, s not in fail, fail.get(s, "ok"), score=0.0 if s in fail else 1.0)
            for s in MEETS if s not in skip]


def _variant(name: str, n: int) -> str:
    return load_seed("knapsack").code.replace('name = "knapsack"', f'name = "{name}"').replace(
        "4 + 2 * difficulty", f"{n} + 2 * difficulty")


def build(url: str) -> tuple[dict[str, int], int]:
    """Fill the registry at ``url``; returns name -> id and the run id."""
    reg = open_registry(url, upgrade_schema=True)
    ids = {}
    for name in ("knapsack", "subset_sum"):  # seeds: no self-review, no calibration
        rec = reg.add_candidate(load_seed(name).code, name=name, description="seed", max_difficulty=10, origin="seed")
        reg.admit(rec.id, stages=_stages(skip=("review", "calibration")))
        ids[name] = rec.id
    run = reg.start_run("grow", {"batch": 5})

    def propose(name: str, n: int):
        rec = reg.add_candidate(_variant(name, n), name=name, description="x", max_difficulty=10, run_id=run)
        ids[name] = rec.id
        return rec

    reg.admit(propose("good", 5).id, stages=_stages())
    # Novelty and calibration both failed (they run side by side); the decision names novelty.
    reg.reject(propose("copycat", 6).id, reason="novelty: behaviourally identical to subset_sum",
               stages=_stages({"novelty": "behaviourally identical to subset_sum",
                               "calibration": "pass rate 0.00 over 8 instances: too hard"}))
    reg.reject(propose("crashes", 7).id, reason="L2: reference() raised ZeroDivisionError",
               stages=_stages({"L2": "reference() raised ZeroDivisionError"}, skip=MEETS[2:]))
    reg.reject(propose("too_hard", 8).id, reason="calibration: pass rate 0.00 over 8 instances: too hard",
               stages=_stages({"calibration": "pass rate 0.00 over 8 instances: too hard"}))
    # What grow writes: five proposals, one an exact copy of a stored environment (not stored again).
    outcomes = ["admitted", "rejected", "rejected", "rejected", "duplicate"]
    reg.finish_run(run, "finished", {
        "run_id": run, "rounds": [{"round": 1, "proposed": 5, "seconds": 40.0, "tokens": 5000}],
        "candidates": [{"key": f"1:{i}", "outcome": o} for i, o in enumerate(outcomes)],
        "totals": {"proposed": 5, "admitted": 1, "tokens": 5000}})
    # The admitting policy probed one level only; a training run later probed four.
    reg.record_calibration(ids["good"], checkpoint=LONG_CHECKPOINT, difficulty=5, n=8, passes=3)
    for d, passes in ((2, 8), (4, 6), (7, 2), (9, 0)):
        reg.record_calibration(ids["good"], checkpoint="train/step-400", difficulty=d, n=8, passes=passes)
    return ids, run
