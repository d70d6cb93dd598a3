"""L2 execute: the contract's methods run, in the sandbox, within limits.

One job renders every (seed, difficulty) pair (sample, prompt and reference)
and a second scores each reference. When a render fails, a follow-up job
calls sample, prompt and reference separately for that pair, so the reason
names the method that broke.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from evoenv.admission.candidate import AdmissionContext, Candidate, failed, passed, timed, where
from evoenv.admission.config import draw_probe_seeds
from evoenv.admission.result import StageResult
from evoenv.answers import extract_answer
from evoenv.sandbox import (
    CRASH,
    ERROR,
    MEMORY,
    OUTPUT_LIMIT,
    POLICY,
    TIMEOUT,
    EnvInfo,
    JobResult,
    Limits,
    Rendered,
    protocol,
)

ANSWER_TAG = re.compile(r"<\s*answer\s*>", re.IGNORECASE)


SLOW_RENDER = "make the instance generator or the reference solver faster at high difficulty"


def job_failure(job: JobResult, doing: str, limits: Limits, advice: str = SLOW_RENDER) -> str:
    """A precise, human- and policy-readable reason for a job that did not complete."""
    detail = job.detail.strip()
    if job.outcome == TIMEOUT:
        return (f"timeout while {doing}: over the limit of {limits.cpu_s:g} s CPU / {limits.wall_s:g} s wall "
                f"({detail}); {advice}")
    if job.outcome == MEMORY:
        return f"out of memory while {doing}: over the limit of {limits.memory_mb} MB ({detail})"
    if job.outcome == OUTPUT_LIMIT:
        return f"output too large while {doing}: {detail}; keep instances and prompts small"
    if job.outcome == POLICY:
        return f"blocked by the sandbox policy while {doing}: {detail}"
    if job.outcome == ERROR:
        error = job.error or {}
        if error.get("code") == protocol.CODE_CONTRACT:
            return f"the sandbox found no environment class: {error.get('message', detail)}"
        return f"the source failed to load: {detail}"
    if job.outcome == CRASH and "SIGKILL" in detail:
        # a kill the sandbox could not attribute: in practice a CPU, wall or memory limit
        return (f"killed (SIGKILL) while {doing}: most likely over the limit of {limits.cpu_s:g} s CPU / "
                f"{limits.wall_s:g} s wall or {limits.memory_mb} MB ({detail}); {advice}")
    if job.outcome == CRASH:
        return f"the sandboxed process crashed while {doing}: {detail}"
    return f"{job.outcome} while {doing}: {detail}"


def _locate_render_error(ctx: AdmissionContext, candidate: Candidate, seed: int, difficulty: int,
                         fallback: str) -> str:
    """Which of sample / prompt / reference raised for this pair, and how."""
    at = where(seed, difficulty)
    job = ctx.sandbox.run(candidate.code, [protocol.sample(seed, difficulty)], ctx.limits)
    if not job.ok:
        return job_failure(job, f"sampling {at}", ctx.limits)
    sampled = job.results[0]
    if not sampled.ok:
        return _call_error("sample", at, sampled.error or {})
    instance = sampled.value
    if not isinstance(instance, dict):
        return f"sample({at}) returned {type(instance).__name__}; the contract needs a dict (a JSON object)"
    job = ctx.sandbox.run(candidate.code, [protocol.prompt(instance), protocol.reference(instance)], ctx.limits)
    if not job.ok:
        return job_failure(job, f"rendering {at}", ctx.limits)
    for op, item in zip(("prompt", "reference"), job.results):
        if not item.ok:
            return _call_error(op, at, item.error or {})
    return fallback


def _levels_over_limit(ctx: AdmissionContext, candidate: Candidate, pairs: list[tuple[int, int]],
                       outcome: str) -> str:
    """Which levels alone break the limit: one render per level, the levels side by side (so the cost is
    about one more limit's worth of wall time). Empty when no single render does (the cost adds up)."""
    first = list({d: (s, d) for s, d in reversed(pairs)}.values())[::-1]  # the first seed of each level
    with ThreadPoolExecutor(len(first)) as pool:
        jobs = list(pool.map(lambda pair: ctx.sandbox.run(
            candidate.code, [protocol.render(*pair)], ctx.limits), first))
    over = [(s, d) for (s, d), job in zip(first, jobs) if not job.ok and job.outcome in (outcome, CRASH)]
    if not over:
        return ""
    return f"; render({'), render('.join(where(s, d) for s, d in over)}) alone exceeds it"


def _call_error(op: str, at: str, error: dict) -> str:
    kind, message = error.get("type", "Error"), error.get("message", "")
    if error.get("code") in (protocol.CODE_NOT_JSON, protocol.CODE_BAD_VALUE):
        return f"{op}({at}): {message}"
    line = _env_line(error.get("traceback", ""))
    hint = ""
    if kind == "KeyError" and op != "sample" and message.strip("'\"").lstrip("-").isdigit():
        hint = "; instances travel as JSON, so integer dict keys arrive as strings (and tuples as lists)"
    return f"{op}({at}) raised {kind}: {message}" + (f" ({line})" if line else "") + hint


def _is_score_value_error(error: dict) -> bool:
    """The check of a score's type or range failed (the scorer ran but returned a bad value)."""
    return error.get("code") == protocol.CODE_BAD_SCORE


def _score_value_problem(error: dict) -> str:
    """What was wrong with the score, for L5 (which rejects it) as "score(instance, reference) <this>"."""
    return f"returned a bad score ({error.get('message', '')})"


def _env_line(traceback_text: str) -> str:
    """The last line of environment code in a guest traceback, e.g. 'line 14 in sample'."""
    found = re.findall(r'File "<environment>", line (\d+), in (\w+)', traceback_text)
    return f"line {found[-1][0]} in {found[-1][1]}" if found else ""


@timed("L2")
def check_execution(candidate: Candidate, ctx: AdmissionContext):
    """sample, prompt, reference and score(reference) run for every seed at low, middle and max difficulty."""
    config = ctx.config
    job = ctx.sandbox.run(candidate.code, [protocol.describe()], ctx.limits)
    if not job.ok:
        return failed(job_failure(job, "loading the environment", ctx.limits), outcome=job.outcome)
    described = job.results[0]
    if not described.ok:
        error = described.error or {}
        return failed(f"reading name/description/max_difficulty failed: {error.get('type')}: {error.get('message')}")
    info = EnvInfo(**described.value)
    problems = []
    if not info.name.strip():
        problems.append("name is empty")
    if not info.description.strip():
        problems.append("description is empty")
    if not 1 <= info.max_difficulty <= config.max_levels:
        problems.append(f"max_difficulty is {info.max_difficulty}; it must be between 1 and {config.max_levels}")
    if problems:
        return failed("; ".join(problems), name=info.name, max_difficulty=info.max_difficulty)
    candidate.observed.info = info

    seeds = draw_probe_seeds(config.n_seeds, config.probe_seeds)
    pairs = config.pairs(info.max_difficulty, seeds)
    calls = [protocol.render(s, d) for s, d in pairs]
    doing = f"rendering {len(pairs)} instances ({len(seeds)} seeds at difficulties " \
            f"{', '.join(map(str, config.difficulties(info.max_difficulty)))})"
    job = ctx.sandbox.run(candidate.code, calls, ctx.limits)
    if not job.ok:
        if job.outcome in (TIMEOUT, MEMORY) or job.outcome == CRASH and "SIGKILL" in job.detail:
            doing += _levels_over_limit(ctx, candidate, pairs, job.outcome)
        return failed(job_failure(job, doing, ctx.limits), outcome=job.outcome, seeds=seeds)
    renders: list[Rendered] = []
    for (seed, difficulty), item in zip(pairs, job.results):
        at = where(seed, difficulty)
        if not item.ok:
            fallback = _call_error("render", at, item.error or {})
            return failed(_locate_render_error(ctx, candidate, seed, difficulty, fallback), seed=seed,
                          difficulty=difficulty, error=item.error)
        value = item.value
        instance, prompt, reference = value["instance"], value["prompt"], value["reference"]
        if not isinstance(instance, dict):
            return failed(f"sample({at}) returned {type(instance).__name__}; the contract needs a dict "
                          "(a JSON object)", seed=seed, difficulty=difficulty)
        if not prompt.strip():
            return failed(f"prompt({at}) is empty", seed=seed, difficulty=difficulty)
        if not ANSWER_TAG.search(prompt):
            return failed(f"prompt({at}) does not ask for the answer inside <answer>...</answer> tags",
                          seed=seed, difficulty=difficulty, prompt=prompt[:2000])
        if not reference.strip():
            return failed(f"reference({at}) is empty; it must be one correct answer as the solver should write it",
                          seed=seed, difficulty=difficulty)
        if extract_answer(f"<answer>{reference}</answer>") != reference.strip():
            return failed(f"reference({at}) does not survive the answer tags (it contains an <answer> tag): "
                          f"{reference[:200]!r}", seed=seed, difficulty=difficulty)
        renders.append(Rendered(seed, difficulty, instance, prompt, reference))

    # each reference survived the answer tags above, so reference.strip() is exactly what the platform passes
    calls = [protocol.score(r.instance, r.reference.strip()) for r in renders]
    job = ctx.sandbox.run(candidate.code, calls, ctx.limits)
    if not job.ok:
        return failed(job_failure(job, f"scoring the {len(renders)} references", ctx.limits), outcome=job.outcome)
    scores: list[float | str] = []
    for r, item in zip(renders, job.results):
        if not item.ok and _is_score_value_error(item.error or {}):
            scores.append(_score_value_problem(item.error or {}))  # it ran; L5 judges the value
            continue
        if not item.ok:
            at = where(r.seed, r.difficulty)
            return failed(_call_error("score", at, item.error or {}).replace(f"score({at})",
                          f"score(instance, reference) at {at}"), seed=r.seed, difficulty=r.difficulty)
        scores.append(float(item.value))
    candidate.observed.renders = renders
    candidate.observed.reference_scores = scores
    sweep = _roundtrip_and_sweep(candidate, ctx, info, pairs)
    if isinstance(sweep, StageResult):
        return sweep
    return passed(f"{len(renders)} instances rendered and scored at difficulties "
                  f"{', '.join(map(str, config.difficulties(info.max_difficulty)))}; {sweep['summary']}",
                  name=info.name, max_difficulty=info.max_difficulty, class_name=info.class_name,
                  render_s=job.duration_s, seeds=seeds, sweep_seeds=len(sweep["seeds"]),
                  sweep_seed_values=sweep["seeds"], sweep_levels=sweep["levels"])


def _roundtrip_difference(value: dict, at: str) -> str:
    """Why the raw and the round-tripped instance give a different reference or score; "" when they agree
    (or when the raw instance cannot be used at all: the methods were written for the JSON form)."""
    changes = value.get("changes") or []
    where_types = (f"; sample() returned types JSON does not keep: {'; '.join(changes)}" if changes else "")
    fix = ("; the platform only ever hands prompt, reference and score the JSON round-tripped instance, so "
           "return only JSON types from sample() (lists, not tuples; str dict keys; plain dicts) or read the "
           "instance the way JSON gives it back")
    raw_reference = value.get("raw_reference")
    if raw_reference is not None and raw_reference.strip() != value["reference"].strip():
        return (f"reference({at}) changes with the JSON round trip: {raw_reference.strip()[:80]!r} on the instance "
                f"sample() returned, {value['reference'].strip()[:80]!r} on the instance after json.dumps/json.loads"
                + where_types + fix)
    raw_score = value.get("raw_score")
    if raw_score is not None and raw_score != value["score"]:
        return (f"score(instance, reference) at {at} changes with the JSON round trip: {raw_score:g} on the "
                f"instance sample() returned, {value['score']:g} on the instance after json.dumps/json.loads"
                + where_types + fix)
    return ""


def _roundtrip_and_sweep(candidate: Candidate, ctx: AdmissionContext, info: EnvInfo,
                         pairs: list[tuple[int, int]]) -> StageResult | dict:
    """The ``roundtrip`` op on L2's pairs, then on ``sweep_seeds`` more seeds at level 1 and the two highest
    levels (as many as fit ``sweep_budget_s``, judged by the time the first job took). A failure, or a
    summary of what ran."""
    config = ctx.config

    def run(level_pairs):
        return ctx.sandbox.run(candidate.code, [protocol.roundtrip(s, d) for s, d in level_pairs], ctx.limits)

    def judge(level_pairs, job, doing) -> StageResult | None:
        if not job.ok:
            return failed(job_failure(job, doing, ctx.limits), outcome=job.outcome)
        for (seed, difficulty), item in zip(level_pairs, job.results):
            at = where(seed, difficulty)
            if not item.ok:
                error = item.error or {}
                if _is_score_value_error(error):
                    candidate.observed.sweep.append((seed, difficulty, "", _score_value_problem(error)))
                    continue
                fallback = _call_error("score", at, error).replace(f"score({at})", f"score(instance, reference) at {at}")
                return failed(_locate_render_error(ctx, candidate, seed, difficulty, fallback) +
                              f"; found when {doing}", seed=seed, difficulty=difficulty, error=item.error)
            difference = _roundtrip_difference(item.value, at)
            if difference:
                return failed(difference, seed=seed, difficulty=difficulty, changes=item.value.get("changes"),
                              raw_error=item.value.get("raw_error"))
            candidate.observed.sweep.append((seed, difficulty, item.value["reference"], item.value["score"]))
        return None

    candidate.observed.sweep = []
    first = run(pairs)
    problem = judge(pairs, first, f"rendering the {len(pairs)} instances on the raw and the round-tripped instance")
    if problem:
        return problem
    levels = config.sweep_levels(info.max_difficulty)
    # cost of one call at the top level, at most: assume the whole first job was spent there
    per_call = max(first.duration_s, 1e-3) / max(1, config.n_seeds)
    count = min(config.sweep_seeds, int(config.sweep_budget_s / (per_call * len(levels))))
    # fresh secure seeds, like L2's own: a job cannot tell a sweep from training (recorded in the details)
    seeds = draw_probe_seeds(count, config.sweep_seed_values[:count]) if count > 0 else []
    if not seeds:
        return {"summary": "no sweep over more seeds (renders too slow for the time budget)", "seeds": [],
                "levels": levels}
    jobs_pairs = [[(s, d) for s in seeds] for d in levels]
    with ThreadPoolExecutor(len(jobs_pairs)) as pool:
        jobs = list(pool.map(run, jobs_pairs))
    for level_pairs, job in zip(jobs_pairs, jobs):
        doing = (f"rendering {len(seeds)} more seeds at difficulty {level_pairs[0][1]} (the sweep for rare "
                 f"failures; the first renders took {per_call:.3f} s each at most)")
        problem = judge(level_pairs, job, doing)
        if problem:
            return problem
    return {"summary": f"{len(seeds)} more seeds each at difficulties {', '.join(map(str, levels))} render alike "
                       "before and after the JSON round trip", "seeds": seeds, "levels": levels}
