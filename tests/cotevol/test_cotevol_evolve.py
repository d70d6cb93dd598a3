"""The whole loop, baselines and outputs with a scripted test-double policy and a real sandbox."""

import json
import re

import pyarrow.parquet as pq
import pytest
from cotevol_doubles import ScriptedPolicy, add_problem

from evoenv.cotevol.baselines import best_of_n, nominal_budget
from evoenv.cotevol.diversity import rouge_l
from evoenv.cotevol.evolve import CoTEvolConfig, evolve
from evoenv.cotevol.generation import Generator
from evoenv.cotevol.runner import synthesize
from evoenv.policy.base import Completion, PolicyError, Sampling

WORDS = [f"w{i}" for i in range(2000)]


def operands(prompt: str) -> tuple[int, int]:
    a, b = re.search(r"What is (\d+) \+ (\d+)\?", prompt).groups()
    return int(a), int(b)


class Solver:
    """Scripted behaviour: initial samples are wrong (the first two identical, to force a resample),
    critics write critiques, authors write the right answer in numbered steps, mutations restart."""

    def __init__(self):
        self.solve_calls = 0

    def __call__(self, prompt: str, sampling: Sampling):
        a, b = operands(prompt)
        if "## Critique" in prompt:
            text = f"Step 1: take {a} and {b}.\nStep 2: add them.\nStep 3: check.\n<answer>{a + b}</answer>"
            tokens = text.split("\n")
            tokens = [tok + "\n" for tok in tokens[:-1]] + tokens[-1:]
            return Completion(text, completion_tokens=len(tokens), tokens=tokens,
                              token_entropies=[0.9, 0.1, 0.1, 0.1])  # step 1 is uncertain: restart
        if "Your task:" in prompt:
            return Completion("- the sum was guessed, not computed", completion_tokens=7)
        self.solve_calls += 1
        n = self.solve_calls
        start = 0 if n <= 2 else 12 * n  # twelve fresh words per sample, except the first two
        words = " ".join(WORDS[start:start + 12])
        return Completion(f"Step 1: {words}.\nStep 2: guess.\n<answer>{a + b + 1}</answer>", completion_tokens=15)


def test_evolution_finds_a_correct_trajectory_the_initial_population_lacked(sandbox):
    problems = [add_problem(sandbox, seed=s, difficulty=2) for s in range(2)]
    solver = Solver()
    policy = ScriptedPolicy(solver)
    generator = Generator(policy)
    config = CoTEvolConfig(iterations=2)
    seen_init = {}

    def progress(description, done, total):
        seen_init.setdefault("stages", []).append((description, done, total))

    results = evolve(problems, generator, sandbox, config, progress)
    assert [s[1] for s in seen_init["stages"]] == [0, 1, 2, 3]

    init_calls = [c for c in policy.calls if "Reason step by step" in c.prompt and "Continue" not in c.prompt]
    # 2 problems x 4, plus a resample of the duplicate pair for the first problem, plus restarts by mutation
    critic_calls = [c for c in policy.calls if "Your task:" in c.prompt]
    author_calls = [c for c in policy.calls if "## Critique" in c.prompt]
    assert len(critic_calls) == len(author_calls) == 2 * 2 * config.crossovers_per_iteration
    # logprobs are asked for everything that may be mutated, not for critiques
    assert all(c.sampling.logprobs != ("Your task:" in c.prompt) for c in policy.calls)
    # the first round's parents were all wrong
    first_round = critic_calls[: 2 * config.crossovers_per_iteration]
    assert all("failure-pattern summary" in c.prompt for c in first_round)
    assert len(init_calls) == 2 * 4 + 1 + 2 * 2 * config.crossovers_per_iteration  # + 1 resample; restarts

    for r in results:
        assert r.solved and len(r.population) == config.n_pop
        best = r.best_correct
        assert best is r.population[0] and best.score == 1.0
        assert best.lineage[:2] == ("init", "crossover:failure_pattern_summary")
        assert [t.fitness for t in r.population] == sorted((t.fitness for t in r.population), reverse=True)
        # survivors are pairwise diverse
        texts = [t.text for t in r.population]
        assert all(rouge_l(x, y) <= 0.7 for i, x in enumerate(texts) for y in texts[i + 1:])
    # every token the policy reported is charged to the problem it was spent on
    assert sum(r.completion_tokens for r in results) == sum(c.completion_tokens for c in policy.replies)
    assert results[0].completion_tokens != results[1].completion_tokens  # the resample was problem 0's
    assert results[0].notes == []


def test_bad_model_output_is_handled_and_unsolved_instances_are_reported(sandbox, tmp_path):
    junk = ["", "   \n", "\x00\x01\ufffd garbage }}{{problem}} <answer", "I think it is 42, no tags here",
            "<answer></answer>", "<ANSWER>not a number</answer>" * 2000, None]
    state = {"n": 0}

    def respond(prompt, sampling):
        state["n"] += 1
        text = junk[state["n"] % len(junk)]
        return Completion(text, completion_tokens=0, finish_reason="error" if text is None else "stop")

    problems = [add_problem(sandbox, seed=9)]
    out = synthesize(problems, ScriptedPolicy(respond), sandbox, tmp_path / "junk", methods=("cotevol", "best_of_n"),
                     config=CoTEvolConfig(iterations=1, max_tokens=64), embeddings=False)
    for method in ("cotevol", "best_of_n"):
        summary = out.summaries[method]
        assert summary["solved"] == 0 and summary["success_rate"] == 0.0
        assert summary["tokens_per_correct_cot"] is None
        [unsolved] = summary["unsolved"]
        assert (unsolved["env_name"], unsolved["seed"], unsolved["difficulty"]) == ("add_two", 9, 1)
    assert out.rows == 0
    assert (tmp_path / "junk.jsonl").read_text() == ""
    assert pq.read_table(tmp_path / "junk.parquet").num_rows == 0
    report = json.loads((tmp_path / "junk.report.json").read_text())
    assert report["summaries"]["cotevol"]["unsolved"][0]["seed"] == 9
    # the template text inside a response did not get substituted into later prompts' structure
    [r] = out.results["cotevol"]
    assert all(isinstance(t.text, str) for t in r.population)


def test_a_policy_that_returns_the_wrong_number_of_completions_is_an_error(sandbox):
    class Short(ScriptedPolicy):
        def generate(self, prompts, sampling):
            return super().generate(prompts, sampling)[:-1]

    with pytest.raises(PolicyError, match="returned 3 completions for 4 prompts"):
        evolve([add_problem(sandbox)], Generator(Short(lambda p, s: "x")), sandbox, CoTEvolConfig())


def test_methods_run_at_a_matched_token_budget_and_rows_are_complete(sandbox, tmp_path):
    problems = [add_problem(sandbox, seed=s) for s in (1, 2)]
    config = CoTEvolConfig(iterations=1)
    out = synthesize(problems, ScriptedPolicy(Solver()), sandbox, tmp_path / "run.jsonl",
                     methods=("cotevol", "best_of_n", "self_refine"), config=config, population=False,
                     embeddings=False)
    spent = {r.problem.key: r.completion_tokens for r in out.results["cotevol"]}
    for method in ("best_of_n", "self_refine"):
        for r in out.results[method]:
            # stops at the first call that reaches CoTEvol's spend on that problem
            assert spent[r.problem.key] <= r.completion_tokens < spent[r.problem.key] + config.n_pop * 15
    assert out.summaries["cotevol"]["solved"] == 2
    assert out.summaries["best_of_n"]["solved"] == 0  # the scripted sampler never adds correctly

    rows = [json.loads(line) for line in (tmp_path / "run.jsonl").read_text().splitlines()]
    table = pq.read_table(tmp_path / "run.parquet").to_pylist()
    assert rows == table
    cotevol_rows = [r for r in rows if r["metadata"]["method"] == "cotevol"]
    assert len(cotevol_rows) == 2
    for row, problem in zip(cotevol_rows, problems):
        user, assistant = row["messages"]
        assert user == {"role": "user", "content": problem.rendered.prompt}
        assert assistant["role"] == "assistant" and "<answer>" in assistant["content"]
        meta = row["metadata"]
        assert meta["env_name"] == "add_two" and meta["env_id"] is None
        assert meta["code_sha256"] == problem.code_sha256
        assert (meta["seed"], meta["difficulty"]) == (problem.rendered.seed, problem.rendered.difficulty)
        assert meta["correct"] is True and meta["score"] == 1.0 and meta["fitness"] >= 2.0
        assert meta["operators"][0] == "init" and any(op.startswith("crossover:") for op in meta["operators"])
        assert meta["policy"] == "scripted-test-double"


def test_nominal_budget_counts_every_call():
    config = CoTEvolConfig()
    assert nominal_budget(config) == (4 + 3 * 2 * 3) * 1024


def test_best_of_n_alone_uses_the_given_budget(sandbox):
    problem = add_problem(sandbox)
    policy = ScriptedPolicy(lambda p, s: Completion("Step 1: no.\n<answer>0</answer>", completion_tokens=10))
    [r] = best_of_n([problem], Generator(policy), sandbox, CoTEvolConfig(), budget=95)
    assert r.completion_tokens == 100 and len(policy.calls) == 10
    assert all(not c.sampling.logprobs and c.sampling.temperature == 0.6 for c in policy.calls)


def test_chunks_give_the_same_rows_and_progress_covers_every_problem(sandbox, tmp_path):
    problems = [add_problem(sandbox, seed=s) for s in (1, 2, 3)]
    config = CoTEvolConfig(iterations=1)
    whole = synthesize(problems, ScriptedPolicy(Solver()), sandbox, tmp_path / "whole", config=config,
                       embeddings=False)
    seen = []
    chunked = synthesize(problems, ScriptedPolicy(Solver()), sandbox, tmp_path / "chunked", config=config,
                         embeddings=False, chunk_size=2, progress=lambda d, done, total: seen.append((d, done, total)))
    assert chunked.rows == whole.rows == 3
    key = lambda row: (row["metadata"]["seed"], row["messages"][1]["content"])  # noqa: E731
    rows = {name: sorted((json.loads(line) for line in (tmp_path / f"{name}.jsonl").read_text().splitlines()),
                         key=key)
            for name in ("whole", "chunked")}
    assert [r["metadata"]["seed"] for r in rows["chunked"]] == [1, 2, 3]
    assert [r["messages"] for r in rows["chunked"]] == [r["messages"] for r in rows["whole"]]
    assert [r["metadata"]["correct"] for r in rows["chunked"]] == [True] * 3
    assert not (tmp_path / "chunked.jsonl.partial").exists()
    assert {d.split(", ")[-1] for d, _, _ in seen} >= {"chunk 1/2", "chunk 2/2"}
    assert {total for _, _, total in seen} == {3} and seen[-1][1] == 3
    assert [done for _, done, _ in seen] == sorted(done for _, done, _ in seen)
