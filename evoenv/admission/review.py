"""Self-review: K reviews by the policy, each a structured checklist with a JSON verdict.

Any reject rejects, and so (by default) does a review whose verdict cannot be
parsed, or that marks a checklist item failed while saying "accept". The raw
texts go into the result's details (``reviews``) for the registry. The
verdict never enters the generator reward (see ``reward``).
"""

from __future__ import annotations

import json

from evoenv.admission.candidate import AdmissionContext, Candidate, failed, not_run, passed, timed
from evoenv.admission.verdict import parse_verdict
from evoenv.policy.base import PolicyError, Sampling
from evoenv.prompts import render_prompt


def reviewer_prompt(candidate: Candidate, max_chars: int = 6000) -> str:
    """The reviewer prompt: the code and one rendered instance at the lowest tested difficulty
    (small enough to trace by hand)."""
    render = min(candidate.observed.renders, key=lambda r: (r.difficulty, r.seed))
    instance = json.dumps(render.instance, ensure_ascii=False)
    # Jinja2 inserts values verbatim: braces in the environment's code or text are never expanded
    return render_prompt(
        "reviewer",
        code=candidate.code,
        seed=render.seed,
        difficulty=render.difficulty,
        instance=instance if len(instance) <= max_chars else instance[:max_chars] + " ...(truncated)",
        prompt=render.prompt[:max_chars],
        reference=render.reference[:max_chars],
    )


@timed("review")
def check_review(candidate: Candidate, ctx: AdmissionContext):
    """K reviews by the policy at the review temperature; any reject rejects."""
    if ctx.policy is None:
        return not_run("review", "no policy")
    if not candidate.observed.renders:
        return failed("no renders from L2 to show the reviewer (run L2 first)")
    config = ctx.config
    prompt = [{"role": "user", "content": reviewer_prompt(candidate)}]
    sampling = Sampling(temperature=config.review_temperature, max_tokens=config.review_max_tokens)
    try:
        completions = ctx.policy.generate([prompt] * config.review_k, sampling)
    except PolicyError as exc:  # the policy is down: the review did not happen, it did not reject
        return not_run("review", f"policy error: {exc}")
    reviews, rejections = [], []
    for i, completion in enumerate(completions, 1):
        verdict = parse_verdict(completion.text)
        record = {"reviewer": f"{getattr(ctx.policy, 'name', 'policy')}#{i}", "text": completion.text,
                  **verdict.as_dict(), "finish_reason": completion.finish_reason,
                  "prompt_tokens": completion.prompt_tokens, "completion_tokens": completion.completion_tokens}
        if verdict.verdict is None:
            record["effective"] = "reject" if config.unparsable_review_rejects else "ignored"
            if config.unparsable_review_rejects:
                rejections.append(f"review {i} gave no parsable verdict")
        elif verdict.verdict == "reject":
            record["effective"] = "reject"
            rejections.append(f"review {i} rejects: {verdict.reason or 'no reason given'}"
                              + (f" (failed: {', '.join(verdict.failed_items)})" if verdict.failed_items else ""))
        elif verdict.failed_items:
            record["effective"] = "reject"
            rejections.append(f"review {i} says accept but marks {', '.join(verdict.failed_items)} as failed")
        else:
            record["effective"] = "accept"
        reviews.append(record)
    accepted = sum(r["effective"] == "accept" for r in reviews)
    if rejections:
        result = failed("; ".join(rejections), reviews=reviews, accepted=accepted, k=len(reviews))
    else:
        result = passed(f"{accepted} of {len(reviews)} reviews accept", reviews=reviews, accepted=accepted,
                        k=len(reviews))
    result.score = accepted / max(1, len(reviews))
    return result
