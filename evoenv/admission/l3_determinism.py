"""L3 determinism: the same (seed, difficulty) gives the same instance, prompt and
reference in two FRESH interpreters started with different ``PYTHONHASHSEED``.

The two fresh jobs run in parallel and are also compared with L2's renders
(a third process). One renders in L2's order and then re-renders pairs from
every level; the other renders in reverse order. Together they catch state
that leaks between calls (a counter or RNG on ``self``, the global ``random``
module) at any level. The reason names the first differing field.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from evoenv.admission.candidate import AdmissionContext, Candidate, failed, passed, timed, where
from evoenv.admission.l2_execute import job_failure
from evoenv.sandbox import Rendered, protocol


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


def repeated_pairs(pairs: list[tuple[int, int]], per_level: int) -> list[tuple[int, int]]:
    """The first ``per_level`` pairs of every difficulty level, to render again at the end of a job."""
    levels = list(dict.fromkeys(d for _, d in pairs))
    return [p for d in levels for p in [q for q in pairs if q[1] == d][:per_level]]


@timed("L3")
def check_determinism(candidate: Candidate, ctx: AdmissionContext):
    """Identical renders in two fresh processes with different PYTHONHASHSEED (and within one job)."""
    config = ctx.config
    renders = candidate.observed.renders
    if not renders:
        return failed("no renders from L2 to compare (run L2 first)")
    pairs = [(r.seed, r.difficulty) for r in renders]
    repeat = repeated_pairs(pairs, config.repeat_pairs)
    # process A renders in L2's order then repeats pairs from every level; process B renders in reverse
    # order, so state carried from one call to the next (a counter or RNG on self, the global random
    # module) shows as a difference between them, at any level
    seed_a, seed_b = config.hash_seeds
    order = {seed_a: pairs + repeat, seed_b: pairs[::-1]}
    with ThreadPoolExecutor(2) as pool:
        futures = {h: pool.submit(ctx.sandbox.run, candidate.code,
                                  [protocol.render(s, d) for s, d in calls],
                                  ctx.limits, fresh_hash_seed=h) for h, calls in order.items()}
        jobs = {h: f.result() for h, f in futures.items()}

    fresh: dict[int, list[Rendered]] = {}
    for hash_seed, job in jobs.items():
        if not job.ok:
            return failed(job_failure(job, f"rendering in a fresh process (PYTHONHASHSEED={hash_seed})", ctx.limits),
                          outcome=job.outcome)
        out = []
        for (s, d), item in zip(order[hash_seed], job.results):
            if not item.ok:
                error = item.error or {}
                return failed(f"render({where(s, d)}) raised {error.get('type')}: {error.get('message')} in a fresh "
                              f"process (PYTHONHASHSEED={hash_seed}) but not in L2: the environment depends on "
                              "process state or on the order of calls", seed=s, difficulty=d)
            v = item.value
            out.append(Rendered(s, d, v["instance"], v["prompt"], v["reference"]))
        fresh[hash_seed] = out
    in_order = fresh[seed_a][: len(pairs)]
    again = fresh[seed_a][len(pairs):]
    reversed_b = fresh[seed_b][::-1]  # back in L2's order

    def difference(label: str, xs: list[Rendered], ys: list[Rendered], advice: str):
        for x, y in zip(xs, ys):
            found = compare(x, y)
            if found:
                path, a, b = found
                return failed(f"{path} differs {label} at {where(x.seed, x.difficulty)}: {_short(a)} vs {_short(b)}; "
                              f"{advice}", field=path, seed=x.seed, difficulty=x.difficulty,
                              values=[_short(a), _short(b)])
        return None

    first_index = {pair: i for i, pair in reversed(list(enumerate(pairs)))}
    earlier = [in_order[first_index[(r.seed, r.difficulty)]] for r in again]
    hash_advice = "derive all randomness from random.Random(seed, difficulty) and do not iterate sets of strings"
    order_advice = ("sample() must not depend on earlier calls (use a new random.Random per call, never the global "
                    "random module, and keep no state on self)")
    vs_l2 = difference(f"between a fresh process (PYTHONHASHSEED={seed_a}) and the L2 run", in_order, renders,
                       hash_advice)
    twice = difference("when the same pair is rendered twice in one process (first vs later render)", earlier,
                       again, order_advice)
    fresh_pair = f"two fresh processes (PYTHONHASHSEED={seed_a} in order vs {seed_b} in reverse order)"
    if vs_l2 is None:
        # same call order, same renders: what differs now depends on the order of calls
        problem = twice or difference(f"between {fresh_pair}, though not between runs in the same order",
                                      in_order, reversed_b, order_advice)
    else:
        problem = difference(f"between {fresh_pair}", in_order, reversed_b,
                             hash_advice + ", and keep no state between calls") or vs_l2
    if problem:
        return problem
    return passed(f"{len(pairs)} renders identical in two fresh processes (PYTHONHASHSEED={seed_a} in order, "
                  f"{seed_b} in reverse order) and in L2; {len(repeat)} re-renders across "
                  f"{len({d for _, d in repeat})} levels identical", hash_seeds=list(config.hash_seeds))
