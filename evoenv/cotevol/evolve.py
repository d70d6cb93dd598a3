"""CoTEvol: evolve a population of chains of thought per problem, scored by the environment.

Per problem, all problems advancing in lockstep so every policy call is a batch:

1. initial population: ``n_pop`` samples at ``init_temperature``; near-duplicates
   (ROUGE-L > ``rouge_threshold``) and invalid samples (empty, backend error) are
   resampled, at most ``init_resample_rounds`` more times;
2. fitness R = R_ac + R_fmt + R_len (``fitness.py``);
3. for ``iterations`` rounds: ``crossovers_per_iteration`` times, Boltzmann-select
   two parents, make a child by reflective crossover, and a mutant of the child by
   uncertainty-guided mutation; the population plus all children and mutants is
   re-scored, de-duplicated by ROUGE-L (fitter first) and cut to ``n_pop``.

Lineage is a flat list of operators along the fitter parent's line, e.g.
``["init", "crossover:success_error_fusion", "mutation:step3/5:entropy"]``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from evoenv.cotevol.crossover import CrossoverRequest, as_prompt, crossover
from evoenv.cotevol.diversity import diverse_subset
from evoenv.cotevol.fitness import FitnessConfig, assign_fitness, score_batch
from evoenv.cotevol.generation import Generator
from evoenv.cotevol.mutation import MutationConfig, mutate
from evoenv.cotevol.prompts import render
from evoenv.cotevol.selection import boltzmann_select
from evoenv.cotevol.trajectory import Problem, Trajectory
from evoenv.policy.base import Sampling
from evoenv.sandbox import Sandbox

#: progress(description, completed, total)
ProgressFn = Callable[[str, float, float], None]


@dataclass
class CoTEvolConfig:
    n_pop: int = 4
    iterations: int = 3
    init_temperature: float = 0.6
    rouge_threshold: float = 0.7
    #: extra sampling rounds allowed to replace duplicates and invalid samples
    init_resample_rounds: int = 3
    parents: int = 2
    selection_temperature: float = 1.0
    crossovers_per_iteration: int = 2
    crossover_temperature: float = 0.6
    mutation: MutationConfig = field(default_factory=MutationConfig)
    fitness: FitnessConfig = field(default_factory=FitnessConfig)
    max_tokens: int = 1024
    top_p: float = 1.0
    top_logprobs: int = 5
    #: send prompts as a one-message chat (instruct models) rather than raw text
    chat: bool = True
    seed: int = 0

    def sampling(self, temperature: float, logprobs: bool = True) -> Sampling:
        return Sampling(temperature=temperature, top_p=self.top_p, max_tokens=self.max_tokens,
                        logprobs=logprobs, top_logprobs=self.top_logprobs)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class InstanceResult:
    problem: Problem
    method: str
    #: the final population (for baselines: every attempt), fittest first
    population: list[Trajectory]
    #: every correct trajectory generated along the way, exact duplicates removed
    correct_pool: list[Trajectory]
    completion_tokens: int = 0
    prompt_tokens: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def best(self) -> Trajectory | None:
        return self.population[0] if self.population else None

    @property
    def best_correct(self) -> Trajectory | None:
        return next((t for t in self.population if t.correct), None)

    @property
    def solved(self) -> bool:
        return self.best_correct is not None


def solve_prompt(problem: Problem, chat: bool):
    return as_prompt(render("solve", problem=problem.rendered.prompt), chat)


def rank(population: list[Trajectory], config: CoTEvolConfig) -> list[Trajectory]:
    assign_fitness(population, config.fitness)
    return sorted(population, key=lambda t: t.fitness, reverse=True)


def keep_correct(pool: list[Trajectory], new: list[Trajectory]) -> None:
    seen = {t.text for t in pool}
    for t in new:
        if t.correct and t.text not in seen:
            pool.append(t)
            seen.add(t.text)


class CoTEvol:
    def __init__(self, generator: Generator, sandbox: Sandbox, config: CoTEvolConfig | None = None,
                 progress: ProgressFn | None = None):
        self.generator = generator
        self.sandbox = sandbox
        self.config = config or CoTEvolConfig()
        self.progress = progress or (lambda *_: None)
        self.rng = random.Random(self.config.seed)
        #: per problem: every distinct correct trajectory generated, and notes for the report
        self.seen: dict[str, list[Trajectory]] = {}
        self.notes: dict[str, list[str]] = {}

    def _score(self, items: list[tuple[Problem, Trajectory]]) -> None:
        score_batch(self.sandbox, items, self.config.fitness)

    def initial_population(self, problems: list[Problem]) -> dict[str, list[Trajectory]]:
        cfg = self.config
        population: dict[str, list[Trajectory]] = {p.key: [] for p in problems}
        spares: dict[str, list[Trajectory]] = {p.key: [] for p in problems}
        for p in problems:
            self.seen[p.key], self.notes[p.key] = [], []
        for _ in range(1 + cfg.init_resample_rounds):
            short = [(p, cfg.n_pop - len(population[p.key])) for p in problems if len(population[p.key]) < cfg.n_pop]
            if not short:
                break
            requests = [(p.key, solve_prompt(p, cfg.chat)) for p, need in short for _ in range(need)]
            completions = iter(self.generator.generate(requests, cfg.sampling(cfg.init_temperature)))
            fresh = [(p, [Trajectory.from_completion(next(completions), ("init",)) for _ in range(need)])
                     for p, need in short]
            self._score([(p, t) for p, ts in fresh for t in ts])
            for p, samples in fresh:
                keep_correct(self.seen[p.key], samples)
                valid = [t for t in samples if t.valid]
                kept_texts = [t.text for t in population[p.key]]
                chosen = diverse_subset([t.text for t in valid], cfg.rouge_threshold, kept=kept_texts)
                chosen_set = set(chosen)
                population[p.key] += [valid[i] for i in chosen]
                spares[p.key] += [t for i, t in enumerate(valid) if i not in chosen_set]
                spares[p.key] += [t for t in samples if not t.valid]
        for p in problems:
            missing = cfg.n_pop - len(population[p.key])
            if missing > 0:  # sampling budget spent: fill with near-duplicates/invalid rather than shrink
                population[p.key] += spares[p.key][:missing]
                self.notes[p.key].append(
                    f"initial population: only {cfg.n_pop - missing} valid diverse samples after "
                    f"{1 + cfg.init_resample_rounds} rounds; filled with {min(missing, len(spares[p.key]))} others")
            population[p.key] = rank(population[p.key], cfg)
        return population

    def step(self, problems: list[Problem], population: dict[str, list[Trajectory]]) -> None:
        """One generation: crossover children, their mutants, then survivor selection."""
        cfg = self.config
        requests = []
        for p in problems:
            members = population[p.key]
            for _ in range(cfg.crossovers_per_iteration):
                a, b = boltzmann_select([t.fitness for t in members], self.rng, cfg.parents,
                                        cfg.selection_temperature)
                requests.append(CrossoverRequest(p, members[a], members[b]))
        children = crossover(self.generator, requests, cfg.sampling(cfg.crossover_temperature), cfg.chat)
        mutants = mutate(self.generator, [(r.problem, c) for r, c in zip(requests, children)],
                         cfg.sampling(cfg.mutation.tau0), self.rng, cfg.mutation, cfg.chat)
        offspring = [(r.problem, t) for r, t in zip(requests, children)]
        offspring += [(r.problem, t) for r, t in zip(requests, mutants)]
        self._score(offspring)
        new_by_key: dict[str, list[Trajectory]] = {p.key: [] for p in problems}
        for p, t in offspring:
            new_by_key[p.key].append(t)
        for p in problems:
            keep_correct(self.seen[p.key], new_by_key[p.key])
            pool = rank(population[p.key] + new_by_key[p.key], cfg)
            chosen = diverse_subset([t.text for t in pool], cfg.rouge_threshold)[: cfg.n_pop]
            survivors = [pool[i] for i in chosen]
            chosen_set = set(chosen)
            rest = [t for i, t in enumerate(pool) if i not in chosen_set]
            survivors += rest[: cfg.n_pop - len(survivors)]  # too few distinct ones: keep the fittest others
            population[p.key] = rank(survivors, cfg)

    def run(self, problems: list[Problem]) -> list[InstanceResult]:
        total = self.config.iterations + 1
        self.progress("cotevol: initial population", 0, total)
        population = self.initial_population(problems)
        for iteration in range(self.config.iterations):
            self.progress(f"cotevol: iteration {iteration + 1}/{self.config.iterations}", iteration + 1, total)
            self.step(problems, population)
        self.progress("cotevol: done", total, total)
        meter = self.generator.meter
        return [InstanceResult(p, "cotevol", population[p.key], self.seen[p.key],
                               meter.completion[p.key], meter.prompt[p.key], self.notes[p.key])
                for p in problems]


def evolve(problems: list[Problem], generator: Generator, sandbox: Sandbox, config: CoTEvolConfig | None = None,
           progress: ProgressFn | None = None) -> list[InstanceResult]:
    return CoTEvol(generator, sandbox, config, progress).run(problems)
