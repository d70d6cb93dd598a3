"""Calibration: is the environment learnable for the current solver?

At a difficulty d, m fresh instances get one solver answer each; the pass
rate p is the share scoring >= ``pass_threshold``. The search starts in the
middle of 1..max_difficulty and bisects: p = 1 (too easy) goes up, p = 0 (too
hard) goes down, until some level has 0 < p < 1 or the probes run out. The
whole curve is stored per checkpoint. The difficulty reward is
``Q = exp(-(p - target)^2 / (2 sigma^2))`` at the in-band level closest to the
target (paper: target 0.3), and 0 when no level is in band.
"""

from __future__ import annotations

import math

from evoenv.admission.candidate import AdmissionContext, Candidate, failed, not_run, passed, timed
from evoenv.admission.config import draw_probe_seeds
from evoenv.admission.l2_execute import job_failure
from evoenv.answers import extract_answer
from evoenv.audit import audited_batch
from evoenv.defaults import TARGET_PASS_RATE
from evoenv.policy.base import PolicyError, Prompt, Sampling
from evoenv.prompts import solver_prompt
from evoenv.sandbox import protocol


def difficulty_reward(p: float, target: float = TARGET_PASS_RATE, sigma: float = 0.15) -> float:
    return math.exp(-((p - target) ** 2) / (2 * sigma ** 2))


class CalibrationError(RuntimeError):
    """A sandbox job failed during calibration; the message is the reason."""


def measure(candidate: Candidate, ctx: AdmissionContext, difficulty: int) -> dict:
    """One solver answer for each of m fresh instances at ``difficulty``."""
    config = ctx.config
    seeds = draw_probe_seeds(config.calibration_m, config.calibration_seeds)
    calls = [protocol.render(s, difficulty) for s in seeds]
    job = ctx.sandbox.run(candidate.code, calls, ctx.limits)
    if not job.ok:
        raise CalibrationError(job_failure(job, f"rendering calibration instances at difficulty {difficulty}", ctx.limits))
    bad = next((i for i, r in enumerate(job.results) if not r.ok), None)
    if bad is not None:
        error = job.results[bad].error or {}
        raise CalibrationError(f"render(seed={seeds[bad]}, difficulty={difficulty}) raised {error.get('type')}: "
                               f"{error.get('message')} (calibration seeds are not the L2 seeds)")
    rendered = [r.value for r in job.results]
    prompts: list[Prompt] = [solver_prompt(r["prompt"]) for r in rendered]
    sampling = Sampling(temperature=config.solver_temperature, max_tokens=config.solver_max_tokens)
    completions = ctx.require_policy().generate(prompts, sampling)
    answers = [extract_answer(c.text) for c in completions]
    # scored exactly as training scores them, known-wrong audit answers included (evoenv.audit)
    batch = audited_batch([r["instance"] for r in rendered], answers, [r["reference"] for r in rendered])
    job = ctx.sandbox.run(candidate.code, batch.calls, ctx.limits)
    if not job.ok:
        raise CalibrationError(job_failure(job, f"scoring solver answers at difficulty {difficulty}", ctx.limits))
    real, found = batch.split(job.results, seeds, [difficulty] * len(seeds), [r["instance"] for r in rendered])
    if found:
        raise CalibrationError(f"while scoring solver answers, {found[0].reason()}; a scorer must pay nothing "
                               "for a wrong answer")
    scores = [float(r.value) if r.ok else 0.0 for r in real]
    passes = sum(s >= config.pass_threshold for s in scores)
    return {"difficulty": difficulty, "seeds": seeds, "n": len(scores), "passes": passes,
            "rate": passes / max(1, len(scores)),
            "scores": scores, "answers": [a[:200] for a in answers],
            "completion_tokens": sum(c.completion_tokens for c in completions)}


@timed("calibration")
def check_calibration(candidate: Candidate, ctx: AdmissionContext):
    """Search difficulty levels for 0 < pass rate < 1 with the policy as solver."""
    if ctx.policy is None:
        return not_run("calibration", "no policy")
    info = candidate.observed.info
    if info is None:
        return failed("no environment description from L2 (run L2 first)")
    config = ctx.config
    lo, hi = 1, info.max_difficulty
    level = (lo + hi) // 2
    curve: list[dict] = []
    try:
        for _ in range(config.calibration_max_probes):
            point = measure(candidate, ctx, level)
            curve.append(point)
            if 0 < point["rate"] < 1:
                break
            if point["rate"] >= 1:
                lo = level + 1  # too easy: look harder
            else:
                hi = level - 1  # too hard: look easier
            if lo > hi:
                break
            level = (lo + hi) // 2
    except CalibrationError as exc:
        return failed(str(exc), curve=curve, checkpoint=getattr(ctx.policy, "name", "policy"))
    except PolicyError as exc:  # the policy is down: calibration did not happen
        result = not_run("calibration", f"policy error: {exc}")
        result.details = {"curve": curve}
        return result
    checkpoint = getattr(ctx.policy, "name", "policy")
    in_band = [p for p in curve if 0 < p["rate"] < 1]
    shown = ", ".join(f"d{p['difficulty']}: {p['passes']}/{p['n']}" for p in curve)
    if not in_band:
        side = "too easy (every answer passed)" if all(p["rate"] >= 1 for p in curve) else \
            "too hard (no answer passed)" if all(p["rate"] == 0 for p in curve) else "never in band"
        result = failed(f"no difficulty with 0 < pass rate < 1 for {checkpoint}: {side} at {shown}",
                        curve=curve, checkpoint=checkpoint, q=0.0)
        result.score = 0.0
        return result
    best = min(in_band, key=lambda p: abs(p["rate"] - config.target_pass_rate))
    q = difficulty_reward(best["rate"], config.target_pass_rate, config.q_sigma)
    result = passed(f"pass rate {best['rate']:.2f} at difficulty {best['difficulty']} for {checkpoint} "
                    f"(Q = {q:.3f}; probes {shown})", curve=curve, checkpoint=checkpoint,
                    difficulty=best["difficulty"], pass_rate=best["rate"], q=q)
    result.score = q
    return result
