"""Crossover and mutation, driven by a scripted test-double policy."""

import random

import pytest
from cotevol_doubles import ScriptedPolicy, add_problem

from evoenv.cotevol import crossover as X
from evoenv.cotevol.generation import Generator
from evoenv.cotevol.mutation import (
    NONE,
    SURPRISAL,
    MutationConfig,
    mutate,
    plan_mutation,
    split_steps,
    step_uncertainties,
)
from evoenv.cotevol.trajectory import Trajectory
from evoenv.policy.base import Completion, Sampling

CRITIC_HEADINGS = {
    X.ELITE_MERGING: "Your task: elite merging",
    X.SUCCESS_ERROR_FUSION: "Your task: success-error fusion",
    X.FAILURE_PATTERN_SUMMARY: "Your task: failure-pattern summary",
}


def parent(text: str, correct: bool, fitness: float, lineage=("init",)) -> Trajectory:
    t = Trajectory(text, lineage=lineage)
    t.correct, t.score, t.fitness = correct, float(correct), fitness
    return t


def critic_then_author(prompt: str, sampling: Sampling):
    if "## Critique" in prompt:
        return "Step 1: merged.\nStep 2: done.\n<answer>42</answer>"
    return "CRITIQUE-TEXT: step 2 of B drops a carry"


@pytest.mark.parametrize("a_correct, b_correct, case", [
    (True, True, X.ELITE_MERGING),
    (True, False, X.SUCCESS_ERROR_FUSION),
    (False, True, X.SUCCESS_ERROR_FUSION),
    (False, False, X.FAILURE_PATTERN_SUMMARY),
])
def test_the_critic_prompt_matches_the_parents_case(sandbox, a_correct, b_correct, case):
    problem = add_problem(sandbox)
    a = parent("PARENT-A-TEXT step 1", a_correct, 1.0)
    b = parent("PARENT-B-TEXT step 1", b_correct, 2.0, lineage=("init", "mutation:restart:entropy"))
    policy = ScriptedPolicy(critic_then_author)
    [child] = X.crossover(Generator(policy), [X.CrossoverRequest(problem, a, b)], Sampling(temperature=0.6))

    critic, author = policy.calls
    assert CRITIC_HEADINGS[case] in critic.prompt
    assert all(h not in critic.prompt for c, h in CRITIC_HEADINGS.items() if c != case)
    assert problem.rendered.prompt in critic.prompt
    assert problem.rendered.reference not in critic.prompt.replace(problem.rendered.prompt, "")
    # the correct parent is Solution A in the mixed case; otherwise the fitter one (B here)
    first = "PARENT-A-TEXT" if (a_correct and not b_correct) else "PARENT-B-TEXT"
    second = "PARENT-B-TEXT" if first == "PARENT-A-TEXT" else "PARENT-A-TEXT"
    assert critic.prompt.index(first) < critic.prompt.index(second)
    # the author sees the critique and is asked for numbered steps
    assert "CRITIQUE-TEXT: step 2 of B drops a carry" in author.prompt
    assert "numbered steps" in author.prompt
    assert child.text.startswith("Step 1: merged.") and child.answer == "42"
    first_parent = a if first == "PARENT-A-TEXT" else b
    assert child.lineage == first_parent.lineage + (f"crossover:{case}",)


STEPS = ("Step 1: read the numbers.\nStep 2: add the units.\nStep 3: carry the one.\nStep 4: answer.\n"
         "<answer>12</answer>")


def with_entropies(text: str, per_step: list[float]) -> Trajectory:
    """Tokens = the text split at each step, 3 tokens per step, each token carrying its step's entropy."""
    spans = split_steps(text)
    tokens, entropies = [], []
    for (start, end), h in zip(spans, per_step):
        piece = text[start:end]
        cut1, cut2 = len(piece) // 3, 2 * len(piece) // 3
        tokens += [piece[:cut1], piece[cut1:cut2], piece[cut2:]]
        entropies += [h, h, h]
    return Trajectory(text, tokens=tokens, token_entropies=entropies, completion_tokens=len(tokens))


def test_split_steps_on_several_formats():
    assert len(split_steps(STEPS)) == 4
    starts = [STEPS[s:e].split(":")[0] for s, e in split_steps(STEPS)]
    assert starts == ["Step 1", "Step 2", "Step 3", "Step 4"]
    # the preamble belongs to step 1; "1." and "**Step 2**" markers count
    text = "Let me think.\n1. first\n2) second\n**Step 3** third\n### Step 4: fourth"
    spans = split_steps(text)
    assert [text[s:e].strip() for s, e in spans] == ["Let me think.\n1. first", "2) second", "**Step 3** third",
                                                     "### Step 4: fourth"]
    # no markers: paragraphs, then lines, then one step
    assert len(split_steps("para one\n\npara two\n\npara three")) == 3
    assert len(split_steps("line one\nline two")) == 2
    assert split_steps("one line") == [(0, 8)]
    assert split_steps("") == [(0, 0)]
    # spans always tile the text exactly
    for sample in (STEPS, text, "a\n\nb", "x"):
        spans = split_steps(sample)
        assert spans[0][0] == 0 and spans[-1][1] == len(sample)
        assert all(e == s for (_, e), (s, _) in zip(spans, spans[1:]))


def test_step_entropy_is_the_mean_over_the_steps_tokens():
    t = Trajectory("Step 1: a b\nStep 2: c d\n", tokens=["Step 1: a", " b\n", "Step 2: c", " d\n"],
                   token_entropies=[0.2, 0.4, 1.0, 3.0])
    values, source = step_uncertainties(t, split_steps(t.text))
    assert source == "entropy"
    assert values == pytest.approx([0.3, 2.0])


def test_mutation_cuts_at_the_highest_entropy_step_and_keeps_the_prefix(sandbox):
    problem = add_problem(sandbox)
    t = with_entropies(STEPS, [0.05, 0.02, 0.08, 0.01])  # step 3 is the most uncertain
    t.lineage = ("init",)
    policy = ScriptedPolicy(lambda prompt, s: "Step 3: carry nothing, 5+7=12.\n<answer>12</answer>")
    [mutant] = mutate(Generator(policy), [(problem, t)], Sampling(), random.Random(0))

    [call] = policy.calls
    assert "Step 1: read the numbers." in call.prompt and "Step 2: add the units." in call.prompt
    assert "carry the one" not in call.prompt  # the uncertain step and what follows are dropped
    assert "Continue the solution from step 3" in call.prompt
    # tau = tau0 * (1 + lambda * H) = 0.6 * (1 + 5 * 0.08)
    assert call.sampling.temperature == pytest.approx(0.84)
    assert mutant.text == ("Step 1: read the numbers.\nStep 2: add the units.\n"
                           "Step 3: carry nothing, 5+7=12.\n<answer>12</answer>")
    assert mutant.lineage == ("init", "mutation:step3/4:entropy")
    assert mutant.fitness_parts["mutation"]["uncertainty"] == pytest.approx(0.08)


def test_the_mutation_temperature_is_clamped():
    t = with_entropies(STEPS, [0.1, 0.2, 3.0, 0.1])
    plan = plan_mutation(t, random.Random(0))
    assert plan.step == 2 and plan.temperature == MutationConfig().tau_max == 1.2
    plan = plan_mutation(t, random.Random(0), MutationConfig(tau_max=10.0))
    assert plan.temperature == pytest.approx(0.6 * (1 + 5 * 3.0))


def test_global_restart_when_the_first_step_is_the_most_uncertain(sandbox):
    problem = add_problem(sandbox)
    t = with_entropies(STEPS, [0.09, 0.02, 0.03, 0.01])
    policy = ScriptedPolicy(lambda prompt, s: "Step 1: fresh start.\n<answer>3</answer>")
    [mutant] = mutate(Generator(policy), [(problem, t)], Sampling(), random.Random(0))
    [call] = policy.calls
    assert "read the numbers" not in call.prompt  # nothing kept
    assert call.prompt.startswith(problem.rendered.prompt) and "Continue the solution" not in call.prompt
    assert mutant.text == "Step 1: fresh start.\n<answer>3</answer>"
    assert mutant.lineage[-1] == "mutation:restart:entropy"
    assert call.sampling.temperature == pytest.approx(0.6 * (1 + 5 * 0.09))


def test_without_entropies_surprisal_is_used_then_a_seeded_random_step():
    t = with_entropies(STEPS, [0, 0, 0, 0])
    logprobs = [-0.1] * len(t.tokens)
    logprobs[3:6] = [-2.0, -2.0, -2.0]  # step 2 is surprising
    only_logprobs = Trajectory(STEPS, tokens=t.tokens, token_logprobs=logprobs)
    plan = plan_mutation(only_logprobs, random.Random(0))
    assert plan.source == SURPRISAL and plan.step == 1 and plan.label == "mutation:step2/4:surprisal"

    bare = Trajectory(STEPS)  # a backend without logprobs
    plans = [plan_mutation(bare, random.Random(seed)) for seed in range(40)]
    assert {p.source for p in plans} == {NONE}
    assert {p.temperature for p in plans} == {0.6}
    assert {p.step for p in plans} == set(range(4))  # every step can be drawn
    assert [p.step for p in plans] == [plan_mutation(bare, random.Random(seed)).step for seed in range(40)]


def test_per_token_data_of_the_kept_prefix_travels_with_the_mutant(sandbox):
    problem = add_problem(sandbox)
    t = with_entropies(STEPS, [0.05, 0.02, 0.08, 0.01])
    reply = Completion(text="Step 3: x\n<answer>1</answer>", tokens=["Step 3: x\n", "<answer>1</answer>"],
                       token_entropies=[0.5, 0.6], completion_tokens=2)
    [mutant] = mutate(Generator(ScriptedPolicy(lambda p, s: reply)), [(problem, t)], Sampling(), random.Random(0))
    assert mutant.tokens == t.tokens[:6] + reply.tokens
    assert mutant.token_entropies == [0.05] * 3 + [0.02] * 3 + [0.5, 0.6]
    assert "".join(mutant.tokens) == mutant.text
