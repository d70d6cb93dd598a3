"""L4 non-triviality: instances vary with the seed and with the difficulty,
answers are not constant, and some measurable part changes steadily with
difficulty: a size grows, a content count (blanks in a fixed grid) grows, or
a measure falls (fewer givens).

Fields that merely echo the level (``instance['difficulty'] == difficulty``)
are ignored, so an environment that ignores its difficulty cannot pass by
storing it. "Grows" is a rank statistic over seeds (see ``sizes.growth_auc``),
robust to the noise of random instances: with 8 seeds per level, an
environment whose sizes do not depend on the level reaches AUC >= 0.9 on a
measure by chance with probability well under 1%.
"""

from __future__ import annotations

import json
from collections import Counter

from evoenv.admission.candidate import AdmissionContext, Candidate, failed, passed, timed
from evoenv.admission.sizes import CONTENT_PREFIX, content_measures, growth_auc, measures, median


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _without_level(instance: dict, difficulty: int) -> dict:
    """The instance minus top-level fields that only echo the difficulty."""
    return {k: v for k, v in instance.items() if not (type(v) is int and v == difficulty)}


def _preference(measure: str) -> int:
    """Which measure to name in the reason: a named field, then an aggregate, then the prompt length."""
    return 0 if measure == "prompt_chars" else 2 if "instance" in measure else 1


@timed("L4")
def check_nontrivial(candidate: Candidate, ctx: AdmissionContext):
    """Instances differ across seeds and difficulties; references vary; a size grows with difficulty."""
    config = ctx.config
    renders = candidate.observed.renders
    if not renders:
        return failed("no renders from L2 to inspect (run L2 first)")
    levels = sorted({r.difficulty for r in renders})
    by_level = {d: [r for r in renders if r.difficulty == d] for d in levels}
    low, high = levels[0], levels[-1]

    for d in levels:
        distinct = {_canonical(r.instance) for r in by_level[d]}
        if len(by_level[d]) > 1 and len(distinct) == 1:
            return failed(f"instances do not differ across seeds: all {len(by_level[d])} seeds give the same "
                          f"instance at difficulty {d}; seed a random.Random from (seed, difficulty)",
                          difficulty=d)

    if low == high:
        return failed(f"max_difficulty is {high}: there is only one level, so difficulty cannot change the instances; "
                      "offer levels 1..N with N >= 2 (the seeds use 10)")
    same = [r.seed for r, q in zip(by_level[low], by_level[high])
            if _canonical(_without_level(r.instance, low)) == _canonical(_without_level(q.instance, high))]
    if len(same) == len(by_level[low]):
        return failed(f"difficulty is ignored: every seed gives the same instance at difficulty {low} and {high}",
                      difficulty=[low, high])

    references = Counter(r.reference.strip() for r in renders)
    answer, count = references.most_common(1)[0]
    if len(references) == 1:
        return failed(f"the reference answer is constant: all {len(renders)} instances have the answer "
                      f"{answer[:80]!r}; a constant answer can be guessed without reading the prompt",
                      reference=answer[:200])
    if count / len(renders) > config.max_reference_share:
        return failed(f"the reference answer is nearly constant: {count} of {len(renders)} instances have the "
                      f"answer {answer[:80]!r} (the limit is {config.max_reference_share:.0%})",
                      reference=answer[:200], share=count / len(renders))

    def sizes_of(r) -> dict[str, float]:
        stripped = _without_level(r.instance, r.difficulty)
        return measures(stripped, r.prompt) | content_measures(stripped)

    sizes = {d: [sizes_of(r) for r in by_level[d]] for d in (low, high)}
    names = set().union(*(m.keys() for ms in sizes.values() for m in ms))
    echoes = {n for n in names if all(m.get(n) == d for d in (low, high) for m in sizes[d])}
    table = {}
    for name in sorted(names - echoes):
        at_low = [m.get(name, 0.0) for m in sizes[low]]
        at_high = [m.get(name, 0.0) for m in sizes[high]]
        table[name] = (growth_auc(at_low, at_high), median(at_low), median(at_high))
    # A size that grows is the usual knob. A content count that grows (more blanks) or any measure that
    # falls (fewer givens) is a change too, but there are many such measures, so they need near-perfect
    # separation (content_change_auc) to keep chance out.
    strict = config.content_change_auc
    growing = {n: v for n, v in table.items() if v[2] > v[1] and v[0] >= (
        strict if n.startswith(CONTENT_PREFIX) else config.growth_auc)}
    falling = {n: v for n, v in table.items() if v[2] < v[1] and v[0] <= 1.0 - strict}
    summary = {n: {"auc": round(a, 3), f"median_d{low}": lo, f"median_d{high}": hi} for n, (a, lo, hi) in table.items()}
    if not growing and not falling:
        best = max(table.items(), key=lambda kv: kv[1][0]) if table else ("-", (0.5, 0, 0))
        return failed(f"no measurable part of the instance grows with difficulty: compared list lengths, number "
                      f"of values, number magnitudes, text length, named fields and counts of marker characters "
                      f"and values at difficulty {low} and {high} over {len(sizes[low])} seeds (none falls steadily "
                      f"either); the best, {best[0]}, is larger at {high} in only {best[1][0]:.0%} of seed pairs "
                      f"(needs {config.growth_auc:.0%})", sizes=summary)
    if not growing:
        name, (auc, lo, hi) = min(falling.items(), key=lambda kv: (kv[1][0], _preference(kv[0]) * -1))
        return passed(f"instances vary; {len(references)} distinct references; {name} falls from {lo:g} to {hi:g} "
                      f"(median, difficulty {low} -> {high})", growing=[], falling=sorted(falling), sizes=summary)
    # prefer a field of the instance over the prompt's length, then the largest relative growth
    name, (auc, lo, hi) = max(growing.items(),
                              key=lambda kv: (kv[1][0], _preference(kv[0]), (kv[1][2] - kv[1][1]) / max(abs(kv[1][1]), 1.0)))
    return passed(f"instances vary; {len(references)} distinct references; {name} grows from {lo:g} to {hi:g} "
                  f"(median, difficulty {low} -> {high})", growing=sorted(growing), falling=sorted(falling),
                  sizes=summary)
