import math

import pytest
from cotevol_doubles import ADD_ENV, add_problem, sum_of

from evoenv.cotevol.fitness import FitnessConfig, assign_fitness, cosine_length_reward, score_batch, score_trajectories
from evoenv.cotevol.trajectory import Trajectory
from evoenv.sandbox import SandboxedEnv


@pytest.mark.parametrize("length, l_max, correct, expected", [
    (0, 100, True, 1.0),      # C_max: a short correct answer is best
    (100, 100, True, 0.5),    # C_min
    (50, 100, True, 0.75),    # half way: cos(pi/2) = 0
    (25, 100, True, 0.5 + 0.5 * (1 + math.cos(math.pi / 4)) / 2),
    (0, 100, False, 0.5),     # W_max: a wrong answer is not rewarded for stopping early
    (100, 100, False, 1.0),   # W_min
    (50, 100, False, 0.75),
    (150, 100, True, 0.5),    # clamped at L_max
    (0, 0, True, 1.0),        # empty population: ratio 0
    (0, 0, False, 0.5),
])
def test_cosine_length_reward_known_values(length, l_max, correct, expected):
    assert cosine_length_reward(length, l_max, correct) == pytest.approx(expected)


def test_custom_constants_are_used():
    cfg = FitnessConfig(c_min=0.0, c_max=2.0)
    assert cosine_length_reward(0, 10, True, cfg) == pytest.approx(2.0)
    assert cosine_length_reward(10, 10, True, cfg) == pytest.approx(0.0)


def scored(text: str, tokens: int, score: float) -> Trajectory:
    t = Trajectory(text, completion_tokens=tokens)
    t.score, t.correct = score, score >= 1.0
    return t


def test_fitness_is_accuracy_plus_format_plus_length():
    short_right = scored("Step 1: 2+2. <answer>4</answer>", 10, 1.0)
    long_right = scored("Step 1: ... <answer>4</answer>", 40, 1.0)
    wrong_tagged = scored("<answer>5</answer>", 40, 0.0)
    wrong_untagged = scored("I think 5", 20, 0.0)
    population = [short_right, long_right, wrong_tagged, wrong_untagged]
    assign_fitness(population)
    r_len_short = 0.5 + 0.5 * (1 + math.cos(math.pi * 10 / 40)) / 2
    assert short_right.fitness == pytest.approx(1.0 + 0.5 + r_len_short)
    assert long_right.fitness == pytest.approx(1.0 + 0.5 + 0.5)
    assert wrong_tagged.fitness == pytest.approx(0.0 + 0.5 + 1.0)
    assert wrong_untagged.fitness == pytest.approx(0.0 + 0.0 + 0.75)
    assert short_right.fitness_parts == {"R_ac": 1.0, "R_fmt": 0.5, "R_len": pytest.approx(r_len_short),
                                         "L": 10, "L_max": 40}
    # verified correctness dominates every length/format combination
    assert min(short_right.fitness, long_right.fitness) >= max(wrong_tagged.fitness, wrong_untagged.fitness)


def test_length_falls_back_to_words_when_the_backend_reports_no_tokens():
    assert Trajectory("one two three", completion_tokens=0).length == 3
    assert Trajectory("one two three", completion_tokens=7).length == 7


def test_scoring_goes_through_the_environment_in_the_sandbox(sandbox):
    problem = add_problem(sandbox, seed=4, difficulty=2)
    right = sum_of(problem)
    cases = [
        Trajectory(f"Step 1: add.\n<answer>{right}</answer>"),
        Trajectory(f"<answer>{right + 1}</answer>"),
        Trajectory(f"The answer is {right}."),  # correct number, but no answer block
        Trajectory(""),
        Trajectory("\x00\ufffd<answer><answer>garbage</answer"),
        Trajectory(f"<answer>0</answer> changed my mind <ANSWER> {right} </answer>"),  # the LAST block counts
    ]
    score_trajectories(SandboxedEnv(ADD_ENV, sandbox), problem, cases)
    assert [t.score for t in cases] == [1.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    assert [t.correct for t in cases] == [True, False, False, False, False, True]
    assert [t.has_answer for t in cases] == [True, True, False, False, False, True]


def test_a_scorer_that_raises_scores_zero_and_a_broken_environment_is_reported(sandbox):
    scorer = "return 1.0 if answer.strip()"
    raising = ADD_ENV.replace(scorer, "raise RuntimeError('boom')\n        " + scorer)
    problem = add_problem(sandbox, code=raising)
    t = Trajectory(f"<answer>{sum_of(problem)}</answer>")
    score_trajectories(SandboxedEnv(raising, sandbox), problem, [t])
    assert t.score == 0.0 and not t.correct

    hanging = ADD_ENV.replace(scorer, "while True: pass\n        " + scorer)
    from evoenv.sandbox import Limits
    env = SandboxedEnv(hanging, sandbox, limits=Limits(cpu_s=1.0, wall_s=2.0))
    t = Trajectory("<answer>1</answer>")
    score_trajectories(env, problem, [t])
    assert t.score == 0.0 and t.fitness_parts["scoring_error"].startswith("scoring job failed: timeout: ")


def test_a_batch_mixing_environments_scores_each_answer_with_its_own_environment(sandbox):
    scorer = "return 1.0 if answer.strip()"
    raising = ADD_ENV.replace(scorer, "raise RuntimeError('boom')\n        " + scorer)
    adds = [add_problem(sandbox, seed=s, difficulty=2) for s in (1, 2, 3)]
    broken = add_problem(sandbox, seed=1, difficulty=2, code=raising, name="add_raising")
    items = [(p, Trajectory(f"<answer>{sum_of(p) + wrong}</answer>")) for p in adds for wrong in (0, 1)]
    items += [(broken, Trajectory(f"<answer>{sum_of(broken)}</answer>"))]
    score_batch(sandbox, items)
    assert [t.score for _, t in items] == [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0]
    assert [t.correct for _, t in items] == [True, False, True, False, True, False, False]
    # the raising scorer costs its own answer only: the job ran, so no scoring_error
    assert not any("scoring_error" in t.fitness_parts for _, t in items)
