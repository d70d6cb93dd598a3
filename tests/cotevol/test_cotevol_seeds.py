"""The ten seed environments as CoTEvol's verifier, through the sandbox."""

import collections

from cotevol_doubles import ScriptedPolicy

from evoenv.cotevol.evolve import CoTEvolConfig
from evoenv.cotevol.runner import EnvChoice, build_problems, synthesize
from evoenv.policy.base import Completion


def test_seed_scorers_tell_right_from_wrong_and_rows_are_written(sandbox, seed_sources, tmp_path):
    choices = [EnvChoice(name, code) for name, code in sorted(seed_sources.items())]
    problems, chosen = build_problems(choices, sandbox, per_env=1, difficulty="auto")
    assert len(problems) == 10
    assert {c["difficulty"] for c in chosen} == {5}  # uncalibrated seeds: the middle of 1..10
    references = {p.rendered.prompt: p.rendered.reference for p in problems}
    calls = collections.Counter()

    def respond(prompt, sampling):  # each problem: first attempt right, second wrong
        problem_prompt, reference = next((text, ref) for text, ref in references.items() if text in prompt)
        n = calls[problem_prompt]
        calls[problem_prompt] += 1
        answer = reference if n % 2 == 0 else "definitely not it"
        return Completion(f"Step 1: attempt {n}.\nStep 2: conclude.\n<answer>{answer}</answer>", completion_tokens=12)

    out = synthesize(problems, ScriptedPolicy(respond), sandbox, tmp_path / "seeds", methods=("best_of_n",),
                     config=CoTEvolConfig(n_pop=2), token_budget=24, embeddings=False)
    summary = out.summaries["best_of_n"]
    assert summary["solved"] == 10 and summary["unsolved"] == []
    for result in out.results["best_of_n"]:
        scores = sorted(t.score for t in result.population)
        assert scores == [0.0, 1.0], (result.problem.env_name, scores)
    assert out.rows == 10
