"""Blind stage: no answer-blind strategy earns a meaningful share of the reward.

A policy trained on an environment finds any answer that pays without reading
the instance: the most frequent reference, a small constant, an offered word
such as "unreachable", or a simple function of the instance's size. For every
level (up to ``blind_levels`` of them) this stage renders ``blind_seeds`` fresh
instances, scores each strategy's answer with the environment's own scorer,
and fails when the best strategy passes more than ``blind_max_rate`` of the
instances at some level.

The strategies are fixed before looking at the answers, except the most
frequent reference, which is cross-fitted: it is taken from the other half of
the seeds at that level, so a task with many distinct answers is not blamed for
the luck of a small sample.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from evoenv.admission.candidate import AdmissionContext, Candidate, failed, passed, timed, where
from evoenv.admission.config import draw_probe_seeds
from evoenv.admission.l2_execute import _call_error, job_failure
from evoenv.sandbox import Rendered, protocol

#: constants every environment is tried with
CONSTANTS = ("0", "1", "-1")
#: "no answer exists"-style words; a word is tried when most prompts of a level contain it
NONE_WORDS = ("none", "no", "yes", "impossible", "unreachable", "infeasible", "unsatisfiable", "unsat",
              "sat", "satisfiable", "nothing", "empty", "null", "never", "infinity", "inf", "true", "false",
              "invalid", "undefined", "unsolvable", "unknown")
_WORD = re.compile(r"\b(" + "|".join(NONE_WORDS) + r")\b", re.IGNORECASE)
#: short quoted text in a prompt ("there is no cycle", 'NONE', `-`) is an offered answer too
_QUOTED = re.compile(r"""["'`\u201c]([^"'`\u201d\n]{1,40})["'`\u201d]""")
#: functions of a size n that a guesser might answer
SIZE_FUNCTIONS: tuple[tuple[str, Callable[[int], int]], ...] = (
    ("{}", lambda n: n), ("{}-1", lambda n: n - 1), ("{}+1", lambda n: n + 1),
    ("{}//2", lambda n: n // 2), ("{}//3", lambda n: n // 3),
)
_MAX_SIZE = 10**6  # integer fields larger than this are values, not sizes
_MAX_WORDS = 8  # offered words tried per level


def blind_levels(max_difficulty: int, count: int) -> list[int]:
    """Every level when there are at most ``count``; else ``count`` levels spread from 1 to the top."""
    if max_difficulty <= count:
        return list(range(1, max_difficulty + 1))
    return sorted({1 + round(i * (max_difficulty - 1) / (count - 1)) for i in range(count)})


def size_features(instance: dict) -> dict[str, int]:
    """Sizes a guesser can read off an instance without solving it: the length of every list, string
    and dict, and every integer field, two levels deep, keyed by path (``len(instance['edges'])``)."""
    out: dict[str, int] = {}

    def walk(value: object, path: str, depth: int) -> None:
        if isinstance(value, (list, str, dict)):
            out[f"len({path})"] = len(value)
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) <= _MAX_SIZE:
            out[path] = value
        if isinstance(value, dict) and depth < 2:
            for key, item in list(value.items())[:50]:
                walk(item, f"{path}[{key!r}]", depth + 1)

    for key, value in list(instance.items())[:50]:
        walk(value, f"instance[{key!r}]", 1)
    return out


def offered_words(prompts: list[str]) -> list[str]:
    """Words a guesser could copy from the prompt text: "none"-style words and short quoted text that
    appear in at least half of the prompts (so they are the task's wording, not instance data)."""
    counts: Counter[str] = Counter()
    spelling: dict[str, Counter[str]] = {}
    for prompt in prompts:
        found = {m.group(1) for m in _WORD.finditer(prompt)}
        found |= {q.strip() for q in _QUOTED.findall(prompt) if q.strip() and len(q.split()) <= 5}
        for text in found:
            counts[text.lower()] += 1
            spelling.setdefault(text.lower(), Counter())[text] += 1
    common = [w for w, c in counts.most_common() if c * 2 >= len(prompts)]
    return [spelling[w].most_common(1)[0][0] for w in common[:_MAX_WORDS]]


@dataclass
class LevelResult:
    difficulty: int
    instances: int
    best: str  # the best strategy, e.g. "len(instance['source'])//3"
    rate: float  # its pass rate
    top: list[tuple[str, float]]  # the best few strategies with their rates

    def as_dict(self) -> dict:
        return {"instances": self.instances, "best": self.best, "rate": round(self.rate, 3),
                "top": [[s, round(r, 3)] for s, r in self.top]}


MODE = "the most frequent reference"


def blind_answers(render: Rendered, mode: str | None, words: list[str]) -> dict[str, str]:
    """Strategy label -> the answer it gives for this instance (never looking at the reference). Labels
    do not depend on the level, so what the screen learns about a strategy holds at every level."""
    answers: dict[str, str] = {}
    if mode is not None:
        answers[MODE] = mode
    for constant in CONSTANTS:
        answers[f"the constant {constant}"] = constant
    for word in words:
        answers[f"the word {word!r} from the prompt"] = word
    for path, size in size_features(render.instance).items():
        for pattern, fn in SIZE_FUNCTIONS:
            answers[pattern.format(path)] = str(fn(size))
    return answers


@dataclass
class Level:
    """One level's renders and each render's strategy answers (the most frequent reference comes from
    the other half of the seeds), and the known scores of (render index, answer)."""

    difficulty: int
    renders: list[Rendered]
    answers: list[dict[str, str]]
    modes: list[str | None]
    scores: dict[tuple[int, str], float]

    @classmethod
    def of(cls, difficulty: int, renders: list[Rendered]) -> Level:
        halves = [renders[0::2], renders[1::2]]
        tops = [Counter(r.reference.strip() for r in half).most_common(1) for half in halves]
        modes = [tops[1 - i % 2][0][0] if tops[1 - i % 2] else None for i in range(len(renders))]
        words = offered_words([r.prompt for r in renders])
        answers = [blind_answers(r, m, words) for r, m in zip(renders, modes)]
        # An answer equal to the reference passes (the reference scores 1: L2 and L5 checked the scorer), so
        # exact matches cost no scoring call.
        scores = {(i, text): 1.0 for i, (r, a) in enumerate(zip(renders, answers))
                  for text in a.values() if text.strip() == r.reference.strip()}
        return cls(difficulty, renders, answers, modes, scores)

    def unscored(self, indices, labels: set[str] | None) -> list[tuple[int, str]]:
        out = []
        for i in indices:
            texts = {t for label, t in self.answers[i].items() if labels is None or label in labels}
            out += [(i, t) for t in sorted(texts) if (i, t) not in self.scores]
        return out

    def rates(self, threshold: float) -> dict[str, float]:
        """Strategy label -> the share of this level's instances its answer passes."""
        passes: Counter[str] = Counter()
        for i, answers in enumerate(self.answers):
            for label, text in answers.items():
                passes[label] += self.scores.get((i, text), 0.0) >= threshold
        return {label: passes[label] / len(self.renders) for a in self.answers for label in a}

    def result(self, threshold: float, only: set[str] | None = None) -> LevelResult:
        """The best strategies (of ``only``, when given) and their pass rates."""
        rates_by_label = {label: rate for label, rate in self.rates(threshold).items() if only is None or label in only}
        rates = sorted(((rate, label) for label, rate in rates_by_label.items()), key=lambda x: (-x[0], x[1]))
        mode = Counter(m for m in self.modes if m is not None).most_common(1)

        def shown(label: str) -> str:
            return f"{label} {mode[0][0][:40]!r}" if label == MODE and mode else label

        rate, best = rates[0]
        return LevelResult(self.difficulty, len(self.renders), shown(best), rate,
                           [(shown(label), r) for r, label in rates[:3]])


def _render_level(candidate: Candidate, ctx: AdmissionContext, difficulty: int, count: int) -> Level | str:
    seeds = draw_probe_seeds(count, ctx.config.blind_seed_values[:count])
    job = ctx.sandbox.run(candidate.code, [protocol.render(s, difficulty) for s in seeds],
                          ctx.limits)
    if not job.ok:
        return job_failure(job, f"rendering {len(seeds)} instances at difficulty {difficulty} to try "
                                "answer-blind strategies", ctx.limits)
    renders = []
    for seed, item in zip(seeds, job.results):
        if not item.ok:
            return _call_error("render", where(seed, difficulty), item.error or {})
        value = item.value
        renders.append(Rendered(seed, difficulty, value["instance"], value["prompt"], value["reference"]))
    return Level.of(difficulty, renders)


def _score(candidate: Candidate, ctx: AdmissionContext, pool: ThreadPoolExecutor,
           wanted: list[tuple[Level, int, str]]) -> str:
    """Score (level, render index, answer) triples into each level's scores, in ``blind_parallel`` jobs
    side by side. Returns a reason when a job or a call fails."""
    if not wanted:
        return ""
    parts = max(1, min(ctx.config.blind_parallel, len(wanted) // 50))
    chunks = [wanted[k::parts] for k in range(parts)]
    return next((p for p in pool.map(lambda c: _score_chunk(candidate, ctx, c), chunks) if p), "")


def _score_chunk(candidate: Candidate, ctx: AdmissionContext, wanted: list[tuple[Level, int, str]]) -> str:
    calls = [protocol.score(level.renders[i].instance, text) for level, i, text in wanted]
    job = ctx.sandbox.run(candidate.code, calls, ctx.limits)
    if not job.ok:
        return job_failure(job, f"scoring {len(calls)} answer-blind answers", ctx.limits,
                           "score() must return quickly for any answer")
    for (level, i, text), item in zip(wanted, job.results):
        if not item.ok:
            r = level.renders[i]
            return (f"score() raised {(item.error or {}).get('type', 'Error')} on the answer-blind answer "
                    f"{text[:40]!r} at {where(r.seed, r.difficulty)}; the scorer must never raise")
        level.scores[(i, text)] = float(item.value)
    return ""


def _measure(candidate: Candidate, ctx: AdmissionContext, pool: ThreadPoolExecutor, difficulties: list[int],
             count: int, screen_levels: list[int], lenient: set[str]) -> list[Level] | str:
    """Render ``count`` seeds at each level, screen, score the lenient strategies; returns the levels
    (or a reason). ``lenient`` (strategies the scorer accepted with a non-reference answer) grows."""
    config = ctx.config
    measured = list(pool.map(lambda d: _render_level(candidate, ctx, d, count), difficulties))
    problem = next((m for m in measured if isinstance(m, str)), None)
    if problem:
        return problem
    levels = [m for m in measured if isinstance(m, Level)]
    # Screen: every distinct non-reference answer on the first few instances of a few levels. Whether a
    # scorer accepts other answers than the reference (a feasibility task, a lenient parser) is a property
    # of the scorer and the strategy, not of the level.
    screened = [lv for lv in levels if lv.difficulty in screen_levels]
    wanted = [(lv, i, t) for lv in screened for i, t in lv.unscored(range(min(config.blind_screen, len(lv.renders))), None)]
    problem = _score(candidate, ctx, pool, wanted)
    if problem:
        return problem
    for lv in screened:
        for i in range(min(config.blind_screen, len(lv.renders))):
            lenient |= {label for label, text in lv.answers[i].items()
                        if text.strip() != lv.renders[i].reference.strip()
                        and lv.scores.get((i, text), 0.0) >= config.pass_threshold}
    # The lenient strategies everywhere; other answers that are not the reference count as misses.
    wanted = [(lv, i, t) for lv in levels for i, t in lv.unscored(range(len(lv.renders)), lenient)]
    problem = _score(candidate, ctx, pool, wanted)
    return problem or levels


@timed("blind")
def check_blind(candidate: Candidate, ctx: AdmissionContext):
    """At every level, the best answer-blind strategy passes at most ``blind_max_rate`` of the instances."""
    config = ctx.config
    info = candidate.observed.info
    if info is None:
        return failed("no environment description from L2 (run L2 first)")
    difficulties = blind_levels(info.max_difficulty, config.blind_levels)
    screen_levels = (1, info.max_difficulty)  # the smallest and the largest instances
    lenient: set[str] = set()
    with ThreadPoolExecutor(max(1, min(config.blind_parallel, len(difficulties)))) as pool:
        measured = _measure(candidate, ctx, pool, difficulties, config.blind_seeds,
                            [d for d in difficulties if d in screen_levels], lenient)
        if isinstance(measured, str):
            return failed(measured)
        results = [lv.result(config.pass_threshold) for lv in measured]
        # A level over the limit is measured again on fresh seeds before it rejects, and only the strategies
        # that were over: the best of a dozen strategies on 32 instances overstates its rate, and taking the
        # best again on the new seeds would keep that bias (a seed paying 13% was rejected ~1 run in 15).
        suspects = {lv.difficulty: {label for label, rate in lv.rates(config.pass_threshold).items()
                                    if rate > config.blind_max_rate} for lv in measured}
        suspects = {d: labels for d, labels in suspects.items() if labels}
        if suspects:
            again = _measure(candidate, ctx, pool, sorted(suspects), config.blind_confirm_seeds, sorted(suspects),
                             lenient)
            if isinstance(again, str):
                return failed(again)
            confirmed = {lv.difficulty: lv.result(config.pass_threshold, only=suspects[lv.difficulty])
                         for lv in again}
            results = [confirmed.get(r.difficulty, r) for r in results]
    details = {"threshold": config.blind_max_rate, "levels": {r.difficulty: r.as_dict() for r in results},
               "lenient_strategies": sorted(lenient)}
    worst = max(results, key=lambda r: r.rate)
    details.update(best=worst.best, max_rate=round(worst.rate, 3), difficulty=worst.difficulty)
    guessable = [r for r in results if r.rate > config.blind_max_rate]
    if guessable:
        shown = "; ".join(f"difficulty {r.difficulty}: {r.best} passes {round(r.rate * r.instances)} of "
                          f"{r.instances} ({r.rate:.0%})" for r in guessable[:4])
        more = f" (and {len(guessable) - 4} more levels)" if len(guessable) > 4 else ""
        details["guessable_levels"] = [r.difficulty for r in guessable]
        return failed(f"answers can be guessed without reading the instance: {shown}{more}; the limit is "
                      f"{config.blind_max_rate:.0%} at every level. Make the answer depend on the instance: "
                      "spread the answers over more values (larger or more varied instances at the low levels, "
                      "a special answer such as 'none' only in a small share of instances)", **details)
    return passed(f"no answer-blind strategy passes more than {config.blind_max_rate:.0%} at any of "
                  f"{len(results)} levels; the best is {worst.best} at difficulty {worst.difficulty} "
                  f"({worst.rate:.0%} of {worst.instances})", **details)
