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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

from evoenv.admission.candidate import AdmissionContext, Candidate, failed, passed, timed, where
from evoenv.admission.l2_execute import _call_error, job_failure
from evoenv.sandbox import Rendered

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


def blind_answers(render: Rendered, mode: str | None, words: list[str]) -> dict[str, str]:
    """Strategy label -> the answer it gives for this instance (never looking at the reference)."""
    answers: dict[str, str] = {}
    if mode is not None:
        answers[f"the most frequent reference {mode[:40]!r}"] = mode
    for constant in CONSTANTS:
        answers[f"the constant {constant}"] = constant
    for word in words:
        answers[f"the word {word!r} from the prompt"] = word
    for path, size in size_features(render.instance).items():
        for pattern, fn in SIZE_FUNCTIONS:
            answers[pattern.format(path)] = str(fn(size))
    return answers


def _level_strategies(renders: list[Rendered]) -> list[dict[str, str]]:
    """Each render's strategy answers; the most frequent reference comes from the other half of the seeds."""
    halves = [renders[0::2], renders[1::2]]
    modes = [Counter(r.reference.strip() for r in half).most_common(1) for half in halves]
    words = offered_words([r.prompt for r in renders])
    out = []
    for i, r in enumerate(renders):
        other = modes[1 - i % 2]
        out.append(blind_answers(r, other[0][0] if other else None, words))
    return out


def _measure_level(candidate: Candidate, ctx: AdmissionContext, difficulty: int, count: int) -> LevelResult | str:
    """One level over ``count`` seeds: render, then score the blind answers (three sandbox jobs).
    Returns a reason string when a job or a call fails."""
    config = ctx.config
    seeds = range(config.blind_seed_base, config.blind_seed_base + count)
    job = ctx.sandbox.run(candidate.code, [{"op": "render", "seed": s, "difficulty": difficulty} for s in seeds],
                          ctx.limits)
    doing = f"rendering {len(seeds)} instances at difficulty {difficulty} to try answer-blind strategies"
    if not job.ok:
        return job_failure(job, doing, ctx.limits)
    renders = []
    for seed, item in zip(seeds, job.results):
        if not item.ok:
            return _call_error("render", where(seed, difficulty), item.error or {})
        value = item.value
        renders.append(Rendered(seed, difficulty, value["instance"], value["prompt"], value["reference"]))
    strategies = _level_strategies(renders)
    # An answer equal to the reference passes (the reference scores 1: L2 and L5 checked the scorer), so
    # exact matches cost nothing. Whether the scorer also accepts OTHER answers (a feasibility task, a
    # lenient parser) is screened on the first few instances, every distinct answer scored there; only the
    # strategies that passed there with a non-reference answer are scored on the rest. Scoring is where the
    # time goes: each call runs the environment's own scorer.
    scores: dict[tuple[int, str], float] = {
        (i, text): 1.0 for i, (r, answers) in enumerate(zip(renders, strategies))
        for text in answers.values() if text.strip() == r.reference.strip()}
    screen = min(config.blind_screen, len(renders))
    problem = _score_answers(candidate, ctx, renders, strategies, range(screen), None, scores)
    if problem:
        return problem
    lenient = {label for i in range(screen) for label, text in strategies[i].items()
               if text.strip() != renders[i].reference.strip() and scores[(i, text)] >= config.pass_threshold}
    problem = _score_answers(candidate, ctx, renders, strategies, range(screen, len(renders)), lenient, scores)
    if problem:
        return problem
    # a strategy that applies to only some instances counts over all of them (it answers nothing elsewhere);
    # an answer never scored is neither the reference nor accepted by a scorer that rejected this strategy's
    # other answers on the screen: it counts as a miss
    passes: Counter[str] = Counter()
    tried: set[str] = set()
    for i, answers in enumerate(strategies):
        for label, text in answers.items():
            tried.add(label)
            passes[label] += scores.get((i, text), 0.0) >= config.pass_threshold
    rates = sorted(((passes[label] / len(renders), label) for label in tried), key=lambda x: (-x[0], x[1]))
    rate, best = rates[0]
    return LevelResult(difficulty, len(renders), best, rate, [(label, r) for r, label in rates[:3]])


def _score_answers(candidate: Candidate, ctx: AdmissionContext, renders: list[Rendered],
                   strategies: list[dict[str, str]], indices: range, labels: set[str] | None,
                   scores: dict[tuple[int, str], float]) -> str:
    """Score the distinct answers of the given strategies (all when ``labels`` is None) on the given
    instances, in one sandbox job, into ``scores``. Returns a reason when the job or a call fails."""
    calls, keys = [], []
    for i in indices:
        texts = {text for label, text in strategies[i].items() if labels is None or label in labels}
        for text in sorted(t for t in texts if (i, t) not in scores):
            calls.append({"op": "score", "instance": renders[i].instance, "answer": text})
            keys.append((i, text))
    if not calls:
        return ""
    difficulty = renders[0].difficulty
    job = ctx.sandbox.run(candidate.code, calls, ctx.limits)
    if not job.ok:
        return job_failure(job, f"scoring {len(calls)} answer-blind answers at difficulty {difficulty}", ctx.limits,
                           "score() must return quickly for any answer")
    for (i, text), item in zip(keys, job.results):
        if not item.ok:
            r = renders[i]
            return (f"score() raised {(item.error or {}).get('type', 'Error')} on the answer-blind answer "
                    f"{text[:40]!r} at {where(r.seed, r.difficulty)}; the scorer must never raise")
        scores[(i, text)] = float(item.value)
    return ""


@timed("blind")
def check_blind(candidate: Candidate, ctx: AdmissionContext):
    """At every level, the best answer-blind strategy passes at most ``blind_max_rate`` of the instances."""
    config = ctx.config
    info = candidate.observed.info
    if info is None:
        return failed("no environment description from L2 (run L2 first)")
    levels = blind_levels(info.max_difficulty, config.blind_levels)
    with ThreadPoolExecutor(max(1, min(config.blind_parallel, len(levels)))) as pool:
        measured = list(pool.map(lambda d: _measure_level(candidate, ctx, d, config.blind_seeds), levels))
        problems = [m for m in measured if isinstance(m, str)]
        if problems:
            return failed(problems[0])
        # A level over the limit is measured again on more seeds before it rejects: with 32 instances a
        # strategy that truly pays 12% shows 22% about one time in ten; with 64, about one in thirty.
        suspects = [i for i, m in enumerate(measured) if m.rate > config.blind_max_rate]
        confirmed = list(pool.map(lambda i: _measure_level(candidate, ctx, levels[i], config.blind_confirm_seeds),
                                  suspects))
    problems = [m for m in confirmed if isinstance(m, str)]
    if problems:
        return failed(problems[0])
    for i, m in zip(suspects, confirmed):
        measured[i] = m
    results: list[LevelResult] = measured  # type: ignore[assignment]
    details = {"threshold": config.blind_max_rate, "levels": {r.difficulty: r.as_dict() for r in results}}
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
