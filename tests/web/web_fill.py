"""Fill a registry, through the Registry API only, with what a short grow run leaves:
the seeds, generated environments with lineage, stage results, reviews,
calibration rows, proposals, and rejected candidates failing at different stages."""

from __future__ import annotations

import web_sample_envs as S

from evoenv.admission.decided import novelty_of
from evoenv.admission.result import StageResult
from evoenv.sandbox import SandboxedEnv

ADMIN_TOKEN = "s3cret-admin-token"
PIPELINE = ("L1", "L2", "L3", "L4", "L5", "review", "calibration", "novelty")
PASS_REASONS = {
    "L1": "parses; one class with the contract's members; imports allowed",
    "L2": "sample/prompt/reference/score ran for 9 (seed, difficulty) pairs",
    "L3": "identical in two fresh processes (PYTHONHASHSEED 1 and 2)",
    "L4": "instances differ across seeds and difficulties; 24 distinct answers",
    "L5": "reference scores 1; 7 perturbed or junk answers score 0",
    "review": "3 of 3 reviewers accept",
    "calibration": "pass rate 0.38 over 8 instances",
    "novelty": "max similarity 0.41 (sum_mod_prime)",
}


def passing(upto: str | None = None, novelty: float = 0.59) -> list[StageResult]:
    """Every stage passed (up to ``upto``); the novelty stage's score is 1 - max similarity, as
    evoenv.admission.novelty records it."""
    stages = []
    for i, stage in enumerate(PIPELINE):
        if upto is not None and stage == upto:
            break
        score = novelty if stage == "novelty" else 1.0
        stages.append(StageResult(stage, True, PASS_REASONS[stage], score=score, duration_s=0.05 + 0.1 * i))
    return stages


def info(code: str, sandbox) -> dict:
    meta = SandboxedEnv(code, sandbox).info()
    return {"name": meta.name, "description": meta.description, "max_difficulty": meta.max_difficulty}


def calibrate(reg, env_id: int, max_difficulty: int, base: float) -> None:
    for checkpoint, shift in (("step-0", 0.0), ("step-200", 0.25)):
        for d in range(1, max_difficulty + 1):
            rate = min(1.0, max(0.0, base + shift - 0.09 * d))
            reg.record_calibration(env_id, checkpoint=checkpoint, difficulty=d, n=8, passes=round(rate * 8))


def fill(reg, sandbox, seed_sources: dict[str, str]) -> dict[str, int]:
    """Returns name -> id for everything it added."""
    ids: dict[str, int] = {}
    for name, code in seed_sources.items():
        rec = reg.add_candidate(code, **info(code, sandbox), origin="seed", generation=0, tags=("seed",))
        reg.admit(rec.id, stages=passing(), novelty=novelty_of(passing()))
        ids[name] = rec.id
    first_seed = next(iter(ids.values()), None)

    run = reg.start_run("grow", {"policy": "replay:tests", "candidates": 7})

    def propose(code, parents=(), generation=1, tags=()):
        rec = reg.add_candidate(code, **info(code, sandbox), origin="generated", generation=generation,
                                parents=list(parents), run_id=run, tags=tags)
        reg.record_proposal(rec.id, run_id=run, prompt="Write a new environment ...",
                            completion=f"```python\n{code}```", prompt_tokens=900, completion_tokens=700)
        ids[rec.name] = rec.id
        return rec

    base = propose(S.SUM_MOD, [(first_seed, "inspired_by")] if first_seed else [], 1, ("arithmetic",))
    reg.admit(base.id, stages=passing(), novelty=novelty_of(passing()), reward=0.82)
    for i, verdict in enumerate(("accept", "accept", "accept")):
        reg.record_review(base.id, reviewer=f"reviewer-{i}", verdict=verdict,
                          text=f"Data flow: values -> sum -> mod. Trace of seed 1: correct. Verdict: {verdict}.")
    calibrate(reg, base.id, 10, 0.95)

    child = propose(S.WEIGHTED_SUM, [(base.id, "mutation")], 2, ("arithmetic",))
    reg.admit(child.id, stages=passing(novelty=0.31), novelty=0.31, reward=0.67)
    calibrate(reg, child.id, 10, 0.7)

    cross = propose(S.MAX_GAP, [(base.id, "crossover"), (child.id, "crossover")], 3, ("lists",))
    reg.admit(cross.id, stages=passing(novelty=0.82), novelty=0.82, reward=0.74)
    calibrate(reg, cross.id, 8, 0.85)

    constant = propose(S.CONSTANT, [(base.id, "mutation")], 2)
    reg.reject(constant.id, reason="answers are constant", reward=0.0, stages=passing("L4") + [StageResult(
        "L4", False, "answers are constant: all 24 references are '0'", score=0.0,
        details={"distinct_answers": 1, "instances": 24}, duration_s=0.2)])

    broken = propose(S.BROKEN, [(base.id, "repair")], 2)
    reg.reject(broken.id, reason="reference raised", stages=passing("L2") + [StageResult(
        "L2", False, "reference() raised ZeroDivisionError at seed 0, difficulty 1", score=0.0,
        details={"traceback": "ZeroDivisionError: integer division or modulo by zero"}, duration_s=0.1)])

    too_close = propose(S.env_source(
        "sum_mod_large_prime", description="Sum integers modulo a large prime.",
        question="Compute the sum of these numbers modulo 1000003:",
        reference_expr='sum(instance["values"]) % instance["modulus"]', size_expr="4 + 2 * difficulty"),
        [(base.id, "mutation")], 2)
    reg.reject(too_close.id, reason="too similar", reward=0.12, novelty=0.07, stages=passing("novelty") + [StageResult(
        "novelty", False, f"similarity 0.93 to #{base.id} sum_mod_prime (threshold 0.80)", score=0.07,
        details={"nearest": base.id}, duration_s=0.3)])

    doubted = propose(S.env_source(
        "sum_of_squares_mod", description="Sum of squares modulo a prime.",
        question="Compute the sum of squares modulo 1000003 of:",
        reference_expr='sum(v * v for v in instance["values"]) % 1000003'), [(base.id, "mutation")], 2)
    reg.record_review(doubted.id, reviewer="reviewer-0", verdict="reject",
                      text="Scorer check: score() compares against reference() only; fine. Algorithm check: "
                           "the prompt says 'modulo 1000003' but the instance carries its own modulus. Verdict: reject.")
    reg.reject(doubted.id, reason="self-review rejected", stages=passing("review") + [StageResult(
        "review", False, "1 of 3 reviewers rejects: the prompt's modulus is hard-coded", score=0.67,
        duration_s=4.1)])

    reg.finish_run(run, "finished", {"tokens": 7 * 1600, "seconds": 95.0, "admitted": 3})
    run2 = reg.start_run("grow", {"policy": "replay:tests", "candidates": 1})
    easy = reg.add_candidate(S.env_source(
        "count_values", description="Count the numbers in a list.", question="How many numbers are in:",
        reference_expr='len(instance["values"])'), name="count_values",
        description="Count the numbers in a list.", max_difficulty=10, origin="generated", generation=1,
        parents=[(base.id, "inspired_by")], run_id=run2)
    ids["count_values"] = easy.id
    reg.reject(easy.id, reason="too easy", stages=passing("calibration") + [StageResult(
        "calibration", False, "pass rate 1.00 over 8 instances: too easy for the current solver", score=1.0,
        details={"passes": 8, "n": 8}, duration_s=12.5)])
    reg.finish_run(run2, "finished", {"tokens": 1600, "seconds": 20.0, "admitted": 0})
    return ids
