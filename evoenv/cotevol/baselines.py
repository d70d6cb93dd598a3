"""Baselines at a matched token budget: best-of-N and self-refine.

``budget`` is completion tokens per problem (every call counts: samples,
feedback, refinements). When the methods run together the budget of each
problem is what CoTEvol actually spent on it; run alone, it is
``nominal_budget(config)``. A method stops on a problem once its spend reaches
the budget, so it may overshoot by at most one call's ``max_tokens``.

Both baselines use the verifier the same way CoTEvol does: every attempt is
scored, and the output is the fittest correct attempt.
"""

from __future__ import annotations

import math

from evoenv.cotevol.crossover import as_prompt
from evoenv.cotevol.evolve import CoTEvolConfig, InstanceResult, ProgressFn, keep_correct, rank, solve_prompt
from evoenv.cotevol.fitness import score_batch
from evoenv.cotevol.generation import Generator
from evoenv.cotevol.prompts import render
from evoenv.cotevol.trajectory import Problem, Trajectory

#: Hard stop on rounds, whatever the budget: a guard against a backend that reports 0 tokens.
MAX_ROUNDS = 10_000


def nominal_budget(config: CoTEvolConfig) -> int:
    """CoTEvol's completion tokens per problem if every call used ``max_tokens`` and no
    resampling was needed: initial samples + per iteration (critic + author + mutation)."""
    calls = config.n_pop + config.iterations * config.crossovers_per_iteration * 3
    return calls * config.max_tokens


def _budgets(problems: list[Problem], budget: int | dict[str, int]) -> dict[str, int]:
    if isinstance(budget, int):
        return {p.key: budget for p in problems}
    return {p.key: int(budget[p.key]) for p in problems}


def best_of_n(problems: list[Problem], generator: Generator, sandbox, config: CoTEvolConfig,
              budget: int | dict[str, int], progress: ProgressFn | None = None) -> list[InstanceResult]:
    """Independent samples at ``init_temperature`` until the budget is spent."""
    progress = progress or (lambda *_: None)
    budgets = _budgets(problems, budget)
    meter = generator.meter
    attempts: dict[str, list[Trajectory]] = {p.key: [] for p in problems}
    total = sum(budgets.values())
    for _ in range(MAX_ROUNDS):
        active = [p for p in problems if meter.completion[p.key] < budgets[p.key]]
        progress("best_of_n", sum(min(meter.completion[p.key], budgets[p.key]) for p in problems), total)
        if not active:
            break
        requests = []
        for p in active:
            done = attempts[p.key]
            per_call = (meter.completion[p.key] / len(done)) if done else config.max_tokens
            remaining = budgets[p.key] - meter.completion[p.key]
            n = max(1, min(config.n_pop, math.ceil(remaining / max(1.0, per_call))))
            requests += [(p, solve_prompt(p, config.chat)) for _ in range(n)]
        completions = generator.generate([(p.key, prompt) for p, prompt in requests],
                                         config.sampling(config.init_temperature, logprobs=False))
        new = [(p, Trajectory.from_completion(c, ("best_of_n",))) for (p, _), c in zip(requests, completions)]
        score_batch(sandbox, new, config.fitness)
        for p, t in new:
            attempts[p.key].append(t)
    return _results(problems, "best_of_n", attempts, generator, config)


def self_refine(problems: list[Problem], generator: Generator, sandbox, config: CoTEvolConfig,
                budget: int | dict[str, int], progress: ProgressFn | None = None) -> list[InstanceResult]:
    """Self-Refine (Madaan et al., 2023): one solution, then rounds of the model's own
    feedback and a refinement of the latest solution, until the budget is spent. The
    model never sees the verifier's verdict; the verifier only picks the output."""
    progress = progress or (lambda *_: None)
    budgets = _budgets(problems, budget)
    meter = generator.meter
    attempts: dict[str, list[Trajectory]] = {p.key: [] for p in problems}
    total = sum(budgets.values())
    sampling = config.sampling(config.init_temperature, logprobs=False)
    for _ in range(MAX_ROUNDS):
        active = [p for p in problems if meter.completion[p.key] < budgets[p.key]]
        progress("self_refine", sum(min(meter.completion[p.key], budgets[p.key]) for p in problems), total)
        if not active:
            break
        fresh = [p for p in active if not attempts[p.key]]
        refining = [p for p in active if attempts[p.key]]
        new: list[tuple[Problem, Trajectory]] = []
        if fresh:
            completions = generator.generate([(p.key, solve_prompt(p, config.chat)) for p in fresh], sampling)
            new += [(p, Trajectory.from_completion(c, ("self_refine:init",))) for p, c in zip(fresh, completions)]
        if refining:
            latest = {p.key: attempts[p.key][-1] for p in refining}
            feedback = generator.generate(
                [(p.key, as_prompt(render("self_refine_feedback", problem=p.rendered.prompt,
                                          solution=latest[p.key].text or "(empty response)"), config.chat))
                 for p in refining], sampling)
            refined = generator.generate(
                [(p.key, as_prompt(render("self_refine_refine", problem=p.rendered.prompt,
                                          solution=latest[p.key].text or "(empty response)",
                                          feedback=f.text or "(no feedback)"), config.chat))
                 for p, f in zip(refining, feedback)], sampling)
            new += [(p, Trajectory.from_completion(c, latest[p.key].lineage + ("self_refine:refine",)))
                    for p, c in zip(refining, refined)]
        score_batch(sandbox, new, config.fitness)
        for p, t in new:
            attempts[p.key].append(t)
    return _results(problems, "self_refine", attempts, generator, config)


def _results(problems, method, attempts, generator, config) -> list[InstanceResult]:
    results = []
    for p in problems:
        correct: list[Trajectory] = []
        keep_correct(correct, attempts[p.key])
        results.append(InstanceResult(p, method, rank(attempts[p.key], config), correct,
                                      generator.meter.completion[p.key], generator.meter.prompt[p.key]))
    return results
