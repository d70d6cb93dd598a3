"""L5 scorer contract: the reference scores 1, perturbed answers mostly score < 1,
the reference with extra content (repeated, beside other answers) never scores 1,
junk scores 0 and never raises, and the prompt does not leak the reference.

All scoring of one candidate is one sandbox job. Answers go to ``score``
exactly as the platform would pass them: the text inside the answer tags.
"""

from __future__ import annotations

import random
import re
from collections import Counter

from evoenv.admission.candidate import AdmissionContext, Candidate, failed, passed, timed, where
from evoenv.admission.l2_execute import _is_score_value_error, job_failure
from evoenv.admission.perturbations import (
    DIGIT_TRAPS,
    extra_content,
    integer_near_misses,
    junk_answers,
    perturb,
    set_misses,
)
from evoenv.admission.result import StageResult
from evoenv.answers import extract_answer
from evoenv.sandbox import Rendered, protocol

TOKEN = re.compile(r"-?\d+(?:\.\d+)?|\w+")


def _tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def nontrivial(reference: str, min_tokens: int, min_digits: int) -> bool:
    """Long enough that finding it in the prompt is not a coincidence (a "yes", a small count)."""
    tokens = _tokens(reference)
    if len(tokens) >= min_tokens:
        return True
    return len(tokens) == 1 and tokens[0].lstrip("-").replace(".", "").isdigit() and \
        len(tokens[0].lstrip("-").replace(".", "")) >= min_digits


SEP = "\x1f"


def _joined(tokens: list[str]) -> str:
    return SEP + SEP.join(tokens) + SEP


def leaks(prompt: str, reference: str) -> bool:
    """The reference's tokens appear, contiguous and in order, in the prompt (any formatting)."""
    ref = _tokens(reference)
    return bool(ref) and _joined(ref) in _joined(_tokens(prompt))


def _shape(token: str) -> str:
    """A token's shape: digits become 9, letters a ('324061' -> '999999', 'n12' -> 'a99')."""
    return re.sub(r"[^\W\d_]", "a", re.sub(r"\d", "9", token))


def copy_candidates(prompt_tokens: list[str], reference: str) -> int:
    """How many distinct tokens of the prompt have the shape of a one-token reference: what a solver
    that copies from the prompt would have to choose among."""
    ref = _tokens(reference)
    if len(ref) != 1:
        return 1
    shape = _shape(ref[0])
    return len({t for t in prompt_tokens if _shape(t) == shape})


def find_leaks(renders: list[Rendered], checked: list[Rendered], max_candidates: int,
               offered_share: float) -> list[Rendered]:
    """The checked renders whose prompt reveals which answer is right. The reference appearing in the
    prompt is not enough: text that also appears in most prompts whose reference DIFFERS is instruction
    text (an offered answer such as "there is no cycle"), and a one-token reference among more than
    ``max_candidates`` same-shape tokens (a selection task: the k-th smallest of many listed numbers) is
    something the solver must still pick."""
    prompt_tokens = {id(r): _tokens(r.prompt) for r in renders}
    joined = {key: _joined(tokens) for key, tokens in prompt_tokens.items()}
    out = []
    for r in checked:
        ref = _tokens(r.reference)
        if not ref or _joined(ref) not in joined[id(r)]:
            continue
        if copy_candidates(prompt_tokens[id(r)], r.reference) > max_candidates:
            continue
        key = r.reference.strip().lower()
        others = [q for q in renders if q.reference.strip().lower() != key]
        if others and sum(_joined(ref) in joined[id(q)] for q in others) / len(others) >= offered_share:
            continue
        out.append(r)
    return out


def _same_answer(answer: str, reference: str) -> bool:
    """Junk or a near miss that is the reference after all: the same text, or the same integer (``٣`` is 3)."""
    a, b = answer.strip(), reference.strip()
    if a.lower() == b.lower():
        return True
    if len(a) > 50 or len(b) > 50:
        return False
    try:
        return int(a) == int(b)
    except ValueError:
        return False


NEAR_MISS_ADVICE = {
    "superset": "the reference plus one more element scores 1: check that the answer has no extra elements, not "
                "only that it contains a valid answer (rejecting duplicates is not enough)",
    "subset": "the reference minus one element scores 1: check that the answer is complete, not only that "
              "each element is allowed",
    "all_elements": "every element or index at once scores 1, which a solver can write without reading the "
                    "instance: check the task's constraint on the whole answer (its sum, size or validity)",
}
INTEGER_ADVICE = ("an integer answer must equal the right value: compare exactly (int(answer) == value), "
                  "not within a tolerance or as a bound")


def _near_miss_failure(near: list, max_share: float) -> StageResult | None:
    """The first kind of near miss that scores 1 on more than ``max_share`` of the instances it applies to."""
    by_kind: dict[str, list] = {}
    for label, r, answer, score in near:
        by_kind.setdefault(label, []).append((r, answer, score))
    for label, tried in by_kind.items():
        accepted = [(r, answer) for r, answer, score in tried if score >= 1.0]
        if accepted and len(accepted) / len(tried) > max_share:
            r, answer = accepted[0]
            what = (f"the reference {label} ({answer[:60]!r} for {r.reference.strip()[:40]!r})"
                    if label not in NEAR_MISS_ADVICE else f"the {label.replace('_', ' ')} answer {answer[:80]!r}")
            advice = NEAR_MISS_ADVICE.get(label, INTEGER_ADVICE)
            return failed(f"near misses score 1: {what} at {where(r.seed, r.difficulty)}; {len(accepted)} of "
                          f"{len(tried)} such answers score 1 (at most {max_share:.0%} may); {advice}",
                          seed=r.seed, difficulty=r.difficulty, near_miss=label,
                          near_miss_accept_share=len(accepted) / len(tried))
    return None


def _near_miss_table(near: list) -> dict[str, list[int]]:
    """Per kind of near miss: [how many scored 1, how many were tried]."""
    table: dict[str, list[int]] = {}
    for label, _, _, score in near:
        row = table.setdefault(label, [0, 0])
        row[0] += score >= 1.0
        row[1] += 1
    return table


def _label(tokens: list[str], position: int) -> str | None:
    """The word right before a position: a label such as ``odd_one`` in ``odd_one: 4821``."""
    if position >= 1 and re.search(r"[^\W\d]", tokens[position - 1]):
        return tokens[position - 1]
    return None


def _keys(tokens: list[str], ref: list[str]) -> set[tuple]:
    """Where the reference's tokens sit in the prompt: after which label, at which position from either end."""
    n = len(ref)
    out: set[tuple] = set()
    for p in range(len(tokens) - n + 1):
        if tokens[p:p + n] == ref:
            label = _label(tokens, p)
            if label:
                out.add(("label", label))
            out.add(("from_start", p))
            out.add(("from_end", len(tokens) - p))
    return out


def _shows(tokens: list[str], key: tuple, ref: list[str], max_candidates: int) -> bool:
    """Whether this prompt shows ``ref`` at ``key``. A label followed by more than ``max_candidates`` distinct
    values (``capacity 3 ... capacity 7``) labels a list, not one answer."""
    n = len(ref)
    kind, where_ = key
    if kind == "from_start":
        return tokens[where_:where_ + n] == ref
    if kind == "from_end":
        start = len(tokens) - where_
        return start >= 0 and tokens[start:start + n] == ref
    after = [p for p in range(1, len(tokens)) if tokens[p - 1] == where_]
    if len({tokens[p] for p in after}) > max_candidates:
        return False
    return any(tokens[p:p + n] == ref for p in after)


def find_label_leak(renders: list[Rendered], share: float, lift: float, max_candidates: int) -> dict | None:
    """A reference printed under the same label (``odd_one: 4821``) or at the same position of the prompt in
    most instances, of any length. Chance is measured, not guessed: the same label or position is checked
    against the references of the OTHER instances (a short integer printed there matches some of them too);
    a leak shows the instance's own reference ``lift`` times as often."""
    rows = [(r, _tokens(r.prompt), _tokens(r.reference)) for r in renders]
    rows = [row for row in rows if row[2]]
    if len(rows) < 3:
        return None
    counts: Counter = Counter()
    for _, tokens, ref in rows:
        counts.update(_keys(tokens, ref))
    need = share * len(rows)
    # a label names the leak best, so labels go first among keys seen equally often
    for key, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0] != "label", str(kv[0]))):
        if count < need:
            break
        matched = [r for r, tokens, ref in rows if _shows(tokens, key, ref, max_candidates)]
        if len(matched) < need:
            continue
        cross = [_shows(tokens, key, other, max_candidates)
                 for i, (_, tokens, _) in enumerate(rows) for j, (_, _, other) in enumerate(rows) if i != j]
        baseline = sum(cross) / len(cross)
        if len(matched) / len(rows) >= lift * baseline:
            shown = f"after the label {key[1]!r}" if key[0] == "label" else (
                f"at token {key[1]} of the prompt" if key[0] == "from_start" else f"{key[1]} tokens before its end")
            return {"key": shown, "matched": len(matched), "instances": len(rows), "baseline": baseline,
                    "example": matched[0]}
    return None


def _spread(renders: list[Rendered], n: int) -> list[Rendered]:
    """n renders taken evenly across the list (so across difficulties)."""
    if len(renders) <= n:
        return list(renders)
    step = len(renders) / n
    return [renders[int(i * step)] for i in range(n)]


def _score_error(error: dict) -> str:
    message = error.get("message", "")
    if error.get("code") == protocol.CODE_BAD_SCORE:
        return f"returned a bad score ({message})"
    return f"raised {error.get('type', 'Error')}: {message[:300]}"


@timed("L5")
def check_scorer(candidate: Candidate, ctx: AdmissionContext):
    """Reference scores 1; perturbations mostly < 1; junk scores 0 without raising; no leak."""
    config = ctx.config
    renders = candidate.observed.renders
    scores = candidate.observed.reference_scores
    if not renders or len(scores) != len(renders):
        return failed("no reference scores from L2 (run L2 first)")

    bad = [(r, s) for r, s in zip(renders, scores) if isinstance(s, str)]
    if bad:
        r, problem = bad[0]
        return failed(f"score(instance, reference) {problem} at {where(r.seed, r.difficulty)} ({len(bad)} of "
                      f"{len(renders)} instances); scores must be floats in [0, 1]", seed=r.seed, difficulty=r.difficulty)
    s: float | str  # a score, or what bad value the scorer returned
    below = [(r, s) for r, s in zip(renders, scores) if not isinstance(s, str) and s < 1.0]
    if below:
        r, s = below[0]
        everything = " (it scored no reference 1: the scorer accepts nothing)" if len(below) == len(renders) else ""
        return failed(f"the reference scores {s:g}, not 1, at {where(r.seed, r.difficulty)} in {len(below)} of "
                      f"{len(renders)} instances{everything}; score(instance, reference(instance)) must be 1",
                      seed=r.seed, difficulty=r.difficulty, reference=r.reference[:200])

    sweep_bad = [(seed, d, s) for seed, d, _, s in candidate.observed.sweep if isinstance(s, str) or s < 1.0]
    if sweep_bad:
        seed, d, s = sweep_bad[0]
        shown = f"score(instance, reference) {s}" if isinstance(s, str) else f"the reference scores {s:g}, not 1,"
        return failed(f"{shown} at {where(seed, d)} in {len(sweep_bad)} of the {len(candidate.observed.sweep)} "
                      "instances of L2's sweep over more seeds; score(instance, reference(instance)) must be 1 on "
                      "every instance", seed=seed, difficulty=d)

    # one job: junk on one instance per level, perturbations of a spread of instances
    levels = sorted({r.difficulty for r in renders})
    junk_renders = [next(r for r in renders if r.difficulty == d) for d in levels]
    items: list[tuple[str, Rendered, str, str]] = []  # (kind, render, label, answer)
    for r in junk_renders:
        for label, answer in junk_answers(config.long_answer_chars):
            if not _same_answer(answer, r.reference):
                items.append(("junk", r, label, answer))
    for r in _spread(renders, config.perturb_instances):
        rng = random.Random(f"perturb:{r.seed}:{r.difficulty}")
        for label, answer in perturb(r.reference, rng):
            items.append(("perturbation", r, label, extract_answer(f"<answer>{answer}</answer>")))
        for label, answer in extra_content(r.reference, rng):
            items.append(("extra", r, label, extract_answer(f"<answer>{answer}</answer>")))
    # near misses on every instance, not a few: a scorer lax on some shapes shows in the share
    for r in renders:
        rng = random.Random(f"near:{r.seed}:{r.difficulty}")
        for label, answer in set_misses(r.reference, r.instance, rng) + integer_near_misses(r.reference):
            answer = extract_answer(f"<answer>{answer}</answer>")
            if not _same_answer(answer, r.reference):
                items.append(("near", r, label, answer))
    calls = [protocol.score(r.instance, answer) for _, r, _, answer in items]
    job = ctx.sandbox.run(candidate.code, calls, ctx.limits)
    if not job.ok:
        advice = (f"score() must return quickly for any answer; the answers include a "
                  f"{config.long_answer_chars // 1024} KiB string of digits (the platform's answer cap, "
                  f"{config.long_answer_chars} characters): reject long input before parsing it")
        hint = f"; {advice}" if job.outcome == "memory" else ""
        return failed(job_failure(job, f"scoring {len(calls)} junk and perturbed answers", ctx.limits, advice) + hint,
                      outcome=job.outcome)

    junk_scores: list[tuple[str, Rendered, str, float]] = []
    perturbed: list[tuple[str, Rendered, str, float]] = []
    extras: list[tuple[str, Rendered, str, float]] = []
    near: list[tuple[str, Rendered, str, float]] = []
    for (kind, r, label, answer), item in zip(items, job.results):
        at = where(r.seed, r.difficulty)
        shown = f"the {label} answer" if kind == "junk" else f"the {label} perturbation {answer[:60]!r}"
        if not item.ok:
            error = item.error or {}
            advice = ("scores must be real numbers in [0, 1] (NaN and infinities are not): return 0 for answers "
                      "it cannot parse" if _is_score_value_error(error) else
                      "the scorer must never raise: return 0 for answers it cannot parse")
            if kind == "junk" and label in dict(DIGIT_TRAPS):
                advice += (f"; str.isdigit() is True for {answer!r} but int() rejects it: test digits with "
                           "str.isdecimal() or re.fullmatch('[0-9]+', ...)")
            return failed(f"score() {_score_error(error)} on {shown} at {at}; {advice}", seed=r.seed,
                          difficulty=r.difficulty, answer_kind=label)
        {"junk": junk_scores, "perturbation": perturbed, "extra": extras, "near": near}[kind].append(
            (label, r, answer, float(item.value)))

    accepted = [(label, r, s) for label, r, _, s in junk_scores if s > 0.0]
    if accepted:
        label, r, s = accepted[0]
        everything = ("; it accepts everything" if all(s >= 1.0 for *_, s in junk_scores) and
                      len(accepted) == len(junk_scores) else "")
        return failed(f"the {label} answer scores {s:g} at {where(r.seed, r.difficulty)}; clear junk must score 0 "
                      f"({len(accepted)} of {len(junk_scores)} junk answers scored above 0){everything}",
                      accepted=[a[0] for a in accepted])

    padded = [(label, r, answer, s) for label, r, answer, s in extras if s >= 1.0]
    if padded:
        label, r, answer, s = padded[0]
        return failed(f"the reference with extra content scores 1: {label.replace('_', ' ')} {answer[:80]!r} at "
                      f"{where(r.seed, r.difficulty)} ({len(padded)} of {len(extras)} such answers score 1); an answer "
                      "that repeats the reference or lists other answers beside it must score below 1, or the "
                      "solver learns to list many answers: compare the whole answer, not whether it contains the "
                      "reference", accepted=sorted({p[0] for p in padded}))

    if perturbed:
        rejected = [p for p in perturbed if p[3] < 1.0]
        share = len(rejected) / len(perturbed)
        if share < config.min_perturbation_reject:
            survivors = [f"{label} {answer[:40]!r}" for label, _, answer, s in perturbed if s >= 1.0][:4]
            return failed(f"perturbed references still score 1: only {len(rejected)} of {len(perturbed)} "
                          f"({share:.0%}) score below 1, needs {config.min_perturbation_reject:.0%}; accepted e.g. "
                          f"{', '.join(survivors)}; the scorer must check the answer, not just its format",
                          perturbation_reject_share=share, accepted=survivors)
    else:
        share = None

    # after the share of perturbations: a scorer that checks only the format is named as such
    lax = _near_miss_failure(near, config.near_miss_accept_share)
    if lax:
        return lax

    checked = [r for r in renders if nontrivial(r.reference, config.leak_min_tokens, config.leak_min_digits)]
    leaking = find_leaks(renders, checked, config.leak_max_candidates, config.leak_offered_share)
    if checked and len(leaking) / len(checked) >= config.leak_share:
        r = leaking[0]
        return failed(f"the prompt contains the reference answer in {len(leaking)} of {len(checked)} instances "
                      f"(e.g. {r.reference[:60]!r} at {where(r.seed, r.difficulty)}); the solver must not be able "
                      "to copy the answer", seed=r.seed, difficulty=r.difficulty)

    label_leak = find_label_leak(renders, config.leak_label_share, config.leak_label_lift,
                                 config.leak_max_candidates)
    if label_leak:
        r = label_leak["example"]
        return failed(f"the prompt shows the reference {label_leak['key']} in {label_leak['matched']} of "
                      f"{label_leak['instances']} instances (e.g. {r.reference.strip()[:60]!r} at "
                      f"{where(r.seed, r.difficulty)}; there it matches another instance's reference only "
                      f"{label_leak['baseline']:.0%} of the time, so it is the answer, not chance); the solver can "
                      "copy it: do not print the hidden answer or a field that holds it",
                      seed=r.seed, difficulty=r.difficulty, leak_key=label_leak["key"])

    return passed(f"reference scores 1 on {len(renders)} instances; {len(junk_scores)} junk answers score 0; "
                  f"{len(extras)} answers with extra content score below 1; "
                  + (f"{share:.0%} of {len(perturbed)} perturbations score < 1" if perturbed else "no perturbations applied")
                  + f"; {sum(s < 1.0 for *_, s in near)} of {len(near)} near misses score < 1",
                  perturbation_reject_share=share, perturbations=len(perturbed), near_misses=_near_miss_table(near),
                  leak_checked=len(checked), leaking=len(leaking))
