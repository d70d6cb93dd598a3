"""L3 determinism: the same (seed, difficulty) gives the same instance, prompt and
reference in two FRESH interpreters started with different ``PYTHONHASHSEED``.

The two fresh jobs run in parallel and are also compared with L2's renders
(a third process). One of them re-renders its first pairs at the end of the
job, which catches state that leaks between calls (a shared RNG on ``self``,
the global ``random`` module). The reason names the first differing field.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from evoenv.admission.candidate import AdmissionContext, Candidate, failed, passed, timed, where
from evoenv.admission.l2_execute import job_failure
from evoenv.sandbox import Rendered


def first_difference(a, b, path: str = "instance") -> tuple[str, object, object] | None:
    """The first place where two JSON values differ: (path, a's value, b's value)."""
    if type(a) is not type(b):
        return path, a, b
    if isinstance(a, dict):
        for key in list(a) + [k for k in b if k not in a]:
            if key not in a or key not in b:
                return f"{path}[{key!r}]", a.get(key, "<missing>"), b.get(key, "<missing>")
            found = first_difference(a[key], b[key], f"{path}[{key!r}]")
            if found:
                return found
        if list(a) != list(b):
            return f"{path} (key order)", list(a), list(b)
        return None
    if isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        if len(a) != len(b):
            return f"len({path})", len(a), len(b)
        return None
    return None if a == b else (path, a, b)


def _text_difference(field: str, a: str, b: str) -> tuple[str, str, str]:
    i = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    lo = max(0, i - 20)
    return f"{field} (from character {i})", a[lo:i + 40], b[lo:i + 40]


def compare(x: Rendered, y: Rendered) -> tuple[str, object, object] | None:
    found = first_difference(x.instance, y.instance)
    if found:
        return found
    if x.prompt != y.prompt:
        return _text_difference("prompt", x.prompt, y.prompt)
    if x.reference != y.reference:
        return _text_difference("reference", x.reference, y.reference)
    return None


def _short(value: object) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@timed("L3")
def check_determinism(candidate: Candidate, ctx: AdmissionContext):
    """Identical renders in two fresh processes with different PYTHONHASHSEED (and within one job)."""
    config = ctx.config
    renders = candidate.observed.renders
    if not renders:
        return failed("no renders from L2 to compare (run L2 first)")
    pairs = [(r.seed, r.difficulty) for r in renders]
    repeat = pairs[: config.repeat_pairs]
    calls_a = [{"op": "render", "seed": s, "difficulty": d} for s, d in pairs + repeat]
    calls_b = [{"op": "render", "seed": s, "difficulty": d} for s, d in pairs]
    seed_a, seed_b = config.hash_seeds
    with ThreadPoolExecutor(2) as pool:
        future_a = pool.submit(ctx.sandbox.run, candidate.code, calls_a, ctx.limits, fresh_hash_seed=seed_a)
        future_b = pool.submit(ctx.sandbox.run, candidate.code, calls_b, ctx.limits, fresh_hash_seed=seed_b)
        jobs = {seed_a: future_a.result(), seed_b: future_b.result()}

    fresh: dict[int, list[Rendered]] = {}
    for hash_seed, job in jobs.items():
        if not job.ok:
            return failed(job_failure(job, f"rendering in a fresh process (PYTHONHASHSEED={hash_seed})", ctx.limits),
                          outcome=job.outcome)
        out = []
        for (s, d), item in zip(pairs + (repeat if hash_seed == seed_a else []), job.results):
            if not item.ok:
                error = item.error or {}
                return failed(f"render({where(s, d)}) raised {error.get('type')}: {error.get('message')} in a fresh "
                              f"process (PYTHONHASHSEED={hash_seed}) but not in L2: the environment depends on "
                              "process state", seed=s, difficulty=d)
            v = item.value
            out.append(Rendered(s, d, v["instance"], v["prompt"], v["reference"]))
        fresh[hash_seed] = out

    checks = [
        (f"two fresh processes (PYTHONHASHSEED={seed_a} vs {seed_b})", fresh[seed_a], fresh[seed_b]),
        (f"a fresh process (PYTHONHASHSEED={seed_a}) and the L2 run", fresh[seed_a], renders),
    ]
    for label, xs, ys in checks:
        for x, y in zip(xs, ys):
            found = compare(x, y)
            if found:
                path, a, b = found
                return failed(f"{path} differs between {label} at {where(x.seed, x.difficulty)}: {_short(a)} vs "
                              f"{_short(b)}; derive all randomness from random.Random(seed, difficulty) and do "
                              "not iterate sets of strings", field=path, seed=x.seed, difficulty=x.difficulty,
                              values=[_short(a), _short(b)])
    again = fresh[seed_a][len(pairs):]
    for x, y in zip(again, fresh[seed_a]):
        found = compare(x, y)
        if found:
            path, a, b = found
            return failed(f"{path} differs when {where(x.seed, x.difficulty)} is rendered twice in one process: "
                          f"{_short(b)} then {_short(a)}; sample() must not depend on earlier calls (use a new "
                          "random.Random per call, never the global random module)",
                          field=path, seed=x.seed, difficulty=x.difficulty)
    return passed(f"{len(pairs)} renders identical in two fresh processes (PYTHONHASHSEED={seed_a}, {seed_b}) "
                  f"and in L2; {len(repeat)} re-renders identical", hash_seeds=list(config.hash_seeds))
