"""Self-review with a scripted TEST DOUBLE policy (not a model), and verdict parsing."""

from __future__ import annotations

import json

import pytest

from evoenv.admission import Candidate
from evoenv.admission.l2_execute import check_execution
from evoenv.admission.review import check_review, reviewer_prompt
from evoenv.admission.verdict import parse_verdict

from .conftest import ScriptedPolicy, env_code

ACCEPT = {"data_flow": {"ok": True, "notes": "fine"}, "instance_trace": {"ok": True, "notes": "3 inversions"},
          "algorithm": {"ok": True, "notes": "O(n^2) count"}, "scorer": {"ok": True, "notes": "exact"},
          "verdict": "accept", "reason": "correct"}
REJECT = {**ACCEPT, "scorer": {"ok": False, "notes": "accepts -0"}, "verdict": "reject", "reason": "scorer is lax"}


@pytest.mark.parametrize("text, verdict, how", [
    (json.dumps(ACCEPT), "accept", "json"),
    ("<think>maybe {\"verdict\": \"reject\"}</think>\nLooks good.\n```json\n" + json.dumps(ACCEPT) + "\n```", "accept", "json"),
    ("Draft: {\"verdict\": \"accept\"}\nOn reflection:\n{'verdict': 'Reject', 'reason': 'bug', 'scorer': {'ok': False}}", "reject", "lenient"),
    ('{"data_flow": {"ok": true,}, "verdict": "accept",}', "accept", "lenient"),
    ("I cannot produce JSON but verdict: REJECT because the trace is wrong", "reject", "text"),
    ("no decision here {not json}", None, "none"),
    ("", None, "none"),
])
def test_verdicts_parse_from_messy_output(text, verdict, how):
    parsed = parse_verdict(text)
    assert (parsed.verdict, parsed.parsed_from) == (verdict, how)


def test_checklist_failures_are_reported():
    parsed = parse_verdict(json.dumps(REJECT))
    assert parsed.failed_items == ["scorer"] and parsed.reason == "scorer is lax"


@pytest.fixture
def rendered(ctx):
    candidate = Candidate(env_code("good_inversions"))
    assert check_execution(candidate, ctx).passed
    return candidate


def test_reviewer_prompt_has_code_checklist_and_an_instance(rendered):
    text = reviewer_prompt(rendered)
    assert "class CountInversions" in text and "instance_trace" in text and "{{" not in text
    low = min(rendered.observed.renders, key=lambda r: (r.difficulty, r.seed))
    assert low.reference in text and json.dumps(low.instance) in text


def test_reviewer_prompt_asks_for_the_four_semantic_bugs_with_an_instance_in_front(rendered):
    """Issue 14 item 9: the four bugs only a reader sees are each asked for by name, with an example, and
    the sample instance, its prompt and its reference are in the same prompt."""
    text = reviewer_prompt(rendered)
    asked = {
        "edge case (Kadane from 0 on all-negative input)": ["**edge_cases**", "Kadane", "all-negative"],
        "tie-break different from the prompt's": ["**tie_break**", "break the tie exactly as the prompt says"],
        "answer format the prompt never states": ["**answer_format**", "from the prompt text alone",
                                                 "only the code states"],
        "several valid answers scored against one": ["**valid_answers**", "several valid answers",
                                                    "accept each of them"],
    }
    missing = {kind: [p for p in phrases if p not in text] for kind, phrases in asked.items()}
    assert not any(missing.values()), missing
    low = min(rendered.observed.renders, key=lambda r: (r.difficulty, r.seed))
    assert json.dumps(low.instance) in text and low.prompt in text and f"Reference answer: `{low.reference}`" in text
    # the verdict shape names the four new checklist items, so a reviewer reports each one
    for item in ("edge_cases", "tie_break", "answer_format", "valid_answers"):
        assert f'"{item}": {{"ok": true' in text


def test_a_failed_tie_break_item_rejects_even_when_the_review_says_accept(rendered, ctx):
    tie = {**ACCEPT, "tie_break": {"ok": False, "notes": "keeps the last maximum; the prompt asks for the first"}}
    ctx.policy = ScriptedPolicy(lambda prompt, i: json.dumps(tie if i == 0 else ACCEPT))
    result = check_review(rendered, ctx)
    assert result.passed is False and "review 1 says accept but marks tie_break as failed" in result.reason
    assert parse_verdict(json.dumps({**ACCEPT, "valid_answers": {"ok": False}})).failed_items == ["valid_answers"]


def test_reviewer_prompt_inserts_code_verbatim(rendered):
    """Template syntax inside the environment's own code is text, never expanded."""
    rendered.code += "\n# {{reference}} {% if x %} {# note #}\n"
    assert "# {{reference}} {% if x %} {# note #}" in reviewer_prompt(rendered)


def test_three_accepting_reviews_pass_and_keep_raw_text(rendered, ctx):
    policy = ScriptedPolicy(lambda prompt, i: f"Review {i}.\n```json\n{json.dumps(ACCEPT)}\n```")
    ctx.policy = policy
    result = check_review(rendered, ctx)
    assert result.passed is True and result.score == 1.0
    assert len(policy.calls) == 3 and all(s.temperature == 0.6 for _, s in policy.calls)
    assert [r["text"].splitlines()[0] for r in result.details["reviews"]] == ["Review 0.", "Review 1.", "Review 2."]


def test_any_reject_rejects(rendered, ctx):
    ctx.policy = ScriptedPolicy(lambda prompt, i: json.dumps(REJECT if i == 1 else ACCEPT))
    result = check_review(rendered, ctx)
    assert result.passed is False
    assert result.reason == "review 2 rejects: scorer is lax (failed: scorer)"


def test_unparsable_review_rejects_and_accept_with_failed_item_rejects(rendered, ctx):
    lax = {**ACCEPT, "algorithm": {"ok": False, "notes": "wrong on ties"}}
    texts = ["garbage", json.dumps(lax), json.dumps(ACCEPT)]
    ctx.policy = ScriptedPolicy(lambda prompt, i: texts[i])
    result = check_review(rendered, ctx)
    assert result.passed is False
    assert "review 1 gave no parsable verdict" in result.reason
    assert "review 2 says accept but marks algorithm as failed" in result.reason
    assert result.details["accepted"] == 1


def test_review_without_policy_is_not_run(rendered, ctx):
    result = check_review(rendered, ctx)
    assert result.passed is None and result.reason == "not run: no policy"


def test_policy_down_means_not_run_not_rejected(rendered, ctx):
    from evoenv.policy.base import PolicyError

    def down(prompt, call):
        raise PolicyError("connection refused at http://127.0.0.1:9/v1")

    ctx.policy = ScriptedPolicy(down)
    result = check_review(rendered, ctx)
    assert result.passed is None and result.reason == "not run: policy error: connection refused at http://127.0.0.1:9/v1"
