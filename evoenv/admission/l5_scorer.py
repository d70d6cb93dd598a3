"""L5 scorer contract: the reference scores 1, perturbed answers mostly score < 1,
the reference with extra content (repeated, beside other answers) never scores 1,
junk scores 0 and never raises, and the prompt does not leak the reference.

All scoring of one candidate is one sandbox job. Answers go to ``score``
exactly as the platform would pass them: the text inside the answer tags.
"""

from __future__ import annotations

import random
import re

from evoenv.admission.candidate import AdmissionContext, Candidate, failed, passed, timed, where
from evoenv.admission.l2_execute import _is_score_value_error, job_failure
from evoenv.admission.perturbations import extra_content, junk_answers, perturb
from evoenv.answers import extract_answer
from evoenv.sandbox import Rendered

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


def _spread(renders: list[Rendered], n: int) -> list[Rendered]:
    """n renders taken evenly across the list (so across difficulties)."""
    if len(renders) <= n:
        return list(renders)
    step = len(renders) / n
    return [renders[int(i * step)] for i in range(n)]


def _score_error(error: dict) -> str:
    message = error.get("message", "")
    if "outside [0, 1]" in message:
        return f"returned a score outside [0, 1] ({message})"
    if message.startswith("score must return"):
        return message.replace("score must return", "must return")
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
    below = [(r, s) for r, s in zip(renders, scores) if s < 1.0]
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
        ref_key = r.reference.strip().lower()
        for label, answer in junk_answers(config.huge_answer_bytes):
            if answer.strip().lower() != ref_key:
                items.append(("junk", r, label, answer))
    for r in _spread(renders, config.perturb_instances):
        rng = random.Random(f"perturb:{r.seed}:{r.difficulty}")
        for label, answer in perturb(r.reference, rng):
            items.append(("perturbation", r, label, extract_answer(f"<answer>{answer}</answer>")))
        for label, answer in extra_content(r.reference, rng):
            items.append(("extra", r, label, extract_answer(f"<answer>{answer}</answer>")))
    calls = [{"op": "score", "instance": r.instance, "answer": answer} for _, r, _, answer in items]
    job = ctx.sandbox.run(candidate.code, calls, ctx.limits)
    if not job.ok:
        advice = (f"score() must return quickly for any answer; the answers include a "
                  f"{config.huge_answer_bytes // 1024} KiB string: reject long input before parsing it")
        hint = f"; {advice}" if job.outcome == "memory" else ""
        return failed(job_failure(job, f"scoring {len(calls)} junk and perturbed answers", ctx.limits, advice) + hint,
                      outcome=job.outcome)

    junk_scores, perturbed, extras = [], [], []
    for (kind, r, label, answer), item in zip(items, job.results):
        at = where(r.seed, r.difficulty)
        shown = f"the {label} answer" if kind == "junk" else f"the {label} perturbation {answer[:60]!r}"
        if not item.ok:
            error = item.error or {}
            advice = ("scores must be real numbers in [0, 1] (NaN and infinities are not): return 0 for answers "
                      "it cannot parse" if _is_score_value_error(error) else
                      "the scorer must never raise: return 0 for answers it cannot parse")
            return failed(f"score() {_score_error(error)} on {shown} at {at}; {advice}", seed=r.seed,
                          difficulty=r.difficulty, answer_kind=label)
        {"junk": junk_scores, "perturbation": perturbed, "extra": extras}[kind].append(
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

    checked = [r for r in renders if nontrivial(r.reference, config.leak_min_tokens, config.leak_min_digits)]
    leaking = find_leaks(renders, checked, config.leak_max_candidates, config.leak_offered_share)
    if checked and len(leaking) / len(checked) >= config.leak_share:
        r = leaking[0]
        return failed(f"the prompt contains the reference answer in {len(leaking)} of {len(checked)} instances "
                      f"(e.g. {r.reference[:60]!r} at {where(r.seed, r.difficulty)}); the solver must not be able "
                      "to copy the answer", seed=r.seed, difficulty=r.difficulty)

    return passed(f"reference scores 1 on {len(renders)} instances; {len(junk_scores)} junk answers score 0; "
                  f"{len(extras)} answers with extra content score below 1; "
                  + (f"{share:.0%} of {len(perturbed)} perturbations score < 1" if perturbed else "no perturbations applied"),
                  perturbation_reject_share=share, perturbations=len(perturbed),
                  leak_checked=len(checked), leaking=len(leaking))
