"""Calibration with a scripted solver TEST DOUBLE: its answers are scripted from the prompt
(the double works out the right count itself, and is told when to get it wrong)."""

from __future__ import annotations

import ast
import re

import pytest

from evoenv.admission import Candidate
from evoenv.admission.calibration import check_calibration, difficulty_reward
from evoenv.admission.l2_execute import check_execution

from .conftest import ScriptedPolicy, env_code


def inversions_solver(correct_when):
    """Answers the good_inversions prompts; ``correct_when(difficulty, call)`` decides right or wrong."""

    def respond(prompt: str, call: int) -> str:
        values = ast.literal_eval(re.search(r"of (\[.*?\])", prompt).group(1))
        difficulty = (len(values) - 7) // 2  # the sampler draws 7 + 2 * difficulty values
        right = sum(1 for i in range(len(values)) for j in range(i + 1, len(values)) if values[i] > values[j])
        return f"Counting... <answer>{right if correct_when(difficulty, call) else right + 1}</answer>"

    return respond


@pytest.fixture
def rendered(ctx):
    candidate = Candidate(env_code("good_inversions"))
    assert check_execution(candidate, ctx).passed
    return candidate


def test_in_band_at_middle_level(rendered, ctx):
    ctx.policy = ScriptedPolicy(inversions_solver(lambda d, call: call % 2 == 0))
    result = check_calibration(rendered, ctx)
    assert result.passed is True
    assert [(p["difficulty"], p["n"], p["passes"]) for p in result.details["curve"]] == [(5, 8, 4)]
    assert result.score == pytest.approx(difficulty_reward(0.5, 0.3, 0.15))
    assert result.details["checkpoint"] == "scripted-test-double"
    assert all(s.temperature == 1.0 for _, s in ctx.policy.calls)


def test_bisection_finds_the_band(rendered, ctx):
    # right below difficulty 7, half right at 7, wrong above: 5 (p=1) -> 8 (p=0) -> 6 (p=1) -> 7
    ctx.policy = ScriptedPolicy(inversions_solver(lambda d, call: d < 7 or (d == 7 and call % 4 < 2)))
    result = check_calibration(rendered, ctx)
    assert result.passed is True
    assert [(p["difficulty"], p["rate"]) for p in result.details["curve"]] == [(5, 1.0), (8, 0.0), (6, 1.0), (7, 0.5)]
    assert result.details["difficulty"] == 7


@pytest.mark.parametrize("always, side", [(True, "too easy"), (False, "too hard")])
def test_no_band_fails_with_the_curve(rendered, ctx, always, side):
    ctx.policy = ScriptedPolicy(inversions_solver(lambda d, call: always))
    result = check_calibration(rendered, ctx)
    assert result.passed is False and side in result.reason and result.score == 0.0
    assert len(result.details["curve"]) >= 2


def test_no_policy_is_not_run(rendered, ctx):
    result = check_calibration(rendered, ctx)
    assert result.passed is None and result.reason == "not run: no policy"
