"""The whole pipeline: decisions, the reward, and the repair loop, with scripted TEST DOUBLE policies."""

from __future__ import annotations

import ast
import json
import re

import pytest

from evoenv.admission import AdmissionConfig, Candidate, admit_candidate
from evoenv.admission.novelty_index import NoveltyIndex
from evoenv.admission.repair import admit_with_repairs

from .conftest import ScriptedPolicy, env_code

ACCEPT = json.dumps({"data_flow": {"ok": True}, "instance_trace": {"ok": True}, "algorithm": {"ok": True},
                     "scorer": {"ok": True}, "verdict": "accept", "reason": "fine"})
REJECT = json.dumps({"verdict": "reject", "reason": "I do not like it"})


def scripted(review_text):
    """Reviews get ``review_text``; solver prompts (the inversion task) are answered right on even calls."""

    def respond(prompt, call):
        if "Checklist" in prompt:
            return review_text
        values = ast.literal_eval(re.search(r"of (\[.*?\])", prompt).group(1))
        right = sum(1 for i in range(len(values)) for j in range(i + 1, len(values)) if values[i] > values[j])
        return f"<answer>{right if call % 2 == 0 else right + 1}</answer>"

    return respond


@pytest.fixture
def empty_index():
    return NoveltyIndex(0.5)


@pytest.mark.usefixtures("minilm")
def test_admitted_with_policy_and_reward_is_q_plus_bonus(ctx, empty_index):
    ctx.novelty, ctx.policy = empty_index, ScriptedPolicy(scripted(ACCEPT))
    outcome = admit_candidate(Candidate(env_code("good_inversions")), ctx)
    assert outcome.admitted is True and outcome.reason == "admitted"
    assert [s.stage for s in outcome.stages] == ["L1", "L2", "L3", "L4", "L5", "blind", "novelty", "review", "calibration"]
    assert all(s.passed for s in outcome.stages)
    q = outcome.stage("calibration").score
    assert outcome.reward == pytest.approx(q + ctx.config.novelty_bonus * 1.0)  # nothing admitted yet: novelty 1
    assert outcome.candidate.observed.embedding is not None and outcome.candidate.observed.fingerprint


@pytest.mark.usefixtures("minilm")
def test_review_reject_rejects_but_never_changes_the_reward(ctx, empty_index):
    ctx.novelty = empty_index
    ctx.policy = ScriptedPolicy(scripted(ACCEPT))
    accepted = admit_candidate(Candidate(env_code("good_inversions")), ctx)
    ctx.policy = ScriptedPolicy(scripted(REJECT))
    rejected = admit_candidate(Candidate(env_code("good_inversions")), ctx)
    assert rejected.admitted is False and rejected.reason.startswith("review: review 1 rejects: I do not like it")
    assert rejected.stage("calibration").passed is True  # calibration still ran
    assert rejected.reward == accepted.reward


def test_without_policy_review_and_calibration_are_not_run_never_passed(ctx):
    outcome = admit_candidate(Candidate(env_code("good_inversions")), ctx)
    assert outcome.stage("review").passed is None and outcome.stage("review").reason == "not run: no policy"
    assert outcome.stage("calibration").reason == "not run: no policy"
    assert outcome.admitted is False
    # the reason names every stage that did not run, and why the first of them did not
    assert outcome.reason == ("not admitted: novelty, review, calibration did not run "
                              f"({outcome.stage('novelty').reason})")
    assert outcome.stage("novelty").reason.startswith("not run: ")
    assert outcome.reward == 0.0  # valid (no penalty), but no Q and no novelty bonus


@pytest.mark.usefixtures("minilm")
def test_admit_without_policy_when_configured(sandbox, empty_index):
    from evoenv.admission import AdmissionContext

    ctx = AdmissionContext(sandbox, AdmissionConfig(admit_without_policy=True), novelty=empty_index)
    outcome = admit_candidate(Candidate(env_code("good_sdk_paths")), ctx)
    assert outcome.admitted is True and outcome.reason == "admitted (review, calibration not run)"


def test_invalid_candidate_gets_the_penalty(ctx):
    outcome = admit_candidate(Candidate(env_code("nondeterministic_global_rng")), ctx)
    # The first differing value: the global RNG can repeat a small value by chance (1 in 10 at difficulty 1).
    assert outcome.admitted is False and re.match(r"L3: instance\['values'\]\[\d+\] differs", outcome.reason)
    assert outcome.reward == ctx.config.invalid_penalty and outcome.reward_parts["invalid_at"] == "L3"
    data = outcome.as_dict()
    assert json.loads(json.dumps(data))["stages"][2]["stage"] == "L3"


def test_repair_loop_links_the_revision(ctx):
    broken = env_code("scorer_raises_on_junk")
    fixed = env_code("good_inversions")
    seen = []

    def repair(candidate, failure):
        seen.append((failure.stage, failure.reason))
        return fixed

    outcome = admit_with_repairs(Candidate(broken, parents=[(7, "mutation")]), ctx, repairs=2, repair=repair)
    assert len(seen) == 1 and seen[0][0] == "L5" and "raised ValueError" in seen[0][1]
    assert len(outcome.attempts) == 1 and outcome.attempts[0].first_failure.stage == "L5"
    assert outcome.candidate.repair_of == outcome.attempts[0].candidate.code_sha256
    assert outcome.candidate.code == fixed and outcome.first_failure is None


def test_repair_loop_stops_after_n_and_when_no_revision(ctx):
    calls = []

    def never_fixes(candidate, failure):
        calls.append(failure.stage)
        return candidate.code + f"\n# attempt {len(calls)}\n"

    outcome = admit_with_repairs(Candidate(env_code("constant_answer")), ctx, repairs=2, repair=never_fixes)
    assert calls == ["L4", "L4"] and len(outcome.attempts) == 2
    outcome = admit_with_repairs(Candidate(env_code("constant_answer")), ctx, repairs=3, repair=lambda c, f: None)
    assert outcome.attempts == []
