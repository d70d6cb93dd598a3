"""Uncertainty-guided mutation: re-think the step the model was least sure of.

1. Split the trajectory into steps (``split_steps``): numbered markers
   ("Step 3:", "3.", "3)", "**Step 3**") when there are at least two; else
   paragraphs; else lines. Text before the first marker belongs to step 1.
2. Step uncertainty H_s = mean per-token entropy (nats) over the tokens that
   start inside the step, from the backend's logprobs.
3. Cut at s* = argmax H_s: keep the text before s*, and ask the policy to
   continue from step s* at temperature

       tau = min(tau_max, tau0 * (1 + lambda * H_s*)),  tau0 = 0.6, lambda = 5, tau_max = 1.2

   The clamp matters: a step with H = 1 nat would otherwise be resampled at 3.6,
   which turns any model's output into noise.
4. When s* is the first step there is nothing worth keeping: global restart,
   a fresh solution from the problem at the same tau.

Where the backend gives no entropies, the ladder is: per-token surprisal
(-logprob of the sampled token) when logprobs exist; otherwise no uncertainty
at all, and the step is drawn uniformly at random from the seeded RNG with
tau = tau0. The lineage entry records which source was used
(``mutation:step3/5:entropy``, ``mutation:restart:none``).
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass

from evoenv.cotevol.crossover import as_prompt
from evoenv.cotevol.generation import Generator
from evoenv.cotevol.prompts import render
from evoenv.cotevol.trajectory import Problem, Trajectory
from evoenv.policy.base import Sampling

_STEP_MARKER = re.compile(
    r"^[ \t]*(?:#{1,6}[ \t]*)?(?:\*\*|__)?[ \t]*(?:step[ \t]*\d+\b|\d+[.)](?=\s))",
    re.IGNORECASE | re.MULTILINE)
_PARAGRAPH = re.compile(r"\n[ \t]*\n")

ENTROPY, SURPRISAL, NONE = "entropy", "surprisal", "none"


@dataclass(frozen=True)
class MutationConfig:
    tau0: float = 0.6
    lam: float = 5.0
    tau_max: float = 1.2


def _spans_from_starts(starts: list[int], length: int) -> list[tuple[int, int]]:
    starts = sorted(set([0] + [s for s in starts if 0 < s < length]))
    return [(s, e) for s, e in zip(starts, starts[1:] + [length]) if e > s] or [(0, length)]


def split_steps(text: str) -> list[tuple[int, int]]:
    """Character spans ``[start, end)`` that cover the whole text, one per step."""
    if not text:
        return [(0, 0)]
    markers = [m.start() for m in _STEP_MARKER.finditer(text)]
    if len(markers) >= 2:
        return _spans_from_starts(markers[1:], len(text))  # any preamble joins step 1
    paragraphs = [m.end() for m in _PARAGRAPH.finditer(text)]
    if paragraphs:
        return _spans_from_starts(paragraphs, len(text))
    lines = [m.end() for m in re.finditer(r"\n", text)]
    return _spans_from_starts(lines, len(text))


def token_uncertainty(t: Trajectory) -> tuple[list[float] | None, str]:
    """Per-token uncertainty and where it came from."""
    if t.tokens and t.token_entropies and len(t.token_entropies) == len(t.tokens):
        return [float(h) for h in t.token_entropies], ENTROPY
    if t.tokens and t.token_logprobs and len(t.token_logprobs) == len(t.tokens):
        return [-float(lp) for lp in t.token_logprobs], SURPRISAL
    return None, NONE


def step_uncertainties(t: Trajectory, spans: list[tuple[int, int]]) -> tuple[list[float | None], str]:
    """Mean token uncertainty per step (None for a step with no tokens)."""
    values, source = token_uncertainty(t)
    if values is None:
        return [None] * len(spans), NONE
    # Token start offsets in the text; if the tokens do not spell the text exactly
    # (detokenisation spaces), offsets are scaled to the text's length.
    joined = sum(len(tok) for tok in t.tokens)
    scale = len(t.text) / joined if joined else 0.0
    sums, counts = [0.0] * len(spans), [0] * len(spans)
    offset, step = 0, 0
    for tok, value in zip(t.tokens, values):
        start = offset * scale
        while step + 1 < len(spans) and start >= spans[step][1]:
            step += 1
        if math.isfinite(value):  # a backend may mark an unknown logprob as NaN
            sums[step] += value
            counts[step] += 1
        offset += len(tok)
    return [s / c if c else None for s, c in zip(sums, counts)], source


@dataclass(frozen=True)
class MutationPlan:
    step: int  # 0-based index of the step to re-think
    n_steps: int
    uncertainty: float | None
    source: str
    temperature: float
    prefix_chars: int

    @property
    def restart(self) -> bool:
        return self.step == 0

    @property
    def label(self) -> str:
        where = "restart" if self.restart else f"step{self.step + 1}/{self.n_steps}"
        return f"mutation:{where}:{self.source}"


def plan_mutation(t: Trajectory, rng: random.Random, config: MutationConfig = MutationConfig()) -> MutationPlan:
    spans = split_steps(t.text)
    per_step, source = step_uncertainties(t, spans)
    known = [(h, i) for i, h in enumerate(per_step) if h is not None]
    if known:
        h, step = max(known, key=lambda item: (item[0], -item[1]))  # ties: the earliest step
        temperature = min(config.tau_max, config.tau0 * (1.0 + config.lam * max(0.0, h)))
    else:
        h, step, source = None, rng.randrange(len(spans)), NONE
        temperature = config.tau0
    return MutationPlan(step, len(spans), h, source, temperature, spans[step][0])


def mutation_prompt(problem: Problem, t: Trajectory, plan: MutationPlan) -> str:
    if plan.restart:
        return render("solve", problem=problem.rendered.prompt)
    return render("mutate", problem=problem.rendered.prompt, prefix=t.text[:plan.prefix_chars].rstrip(),
                  step_number=plan.step + 1)


def mutate(generator: Generator, items: list[tuple[Problem, Trajectory]], sampling: Sampling,
           rng: random.Random, config: MutationConfig = MutationConfig(), chat: bool = True) -> list[Trajectory]:
    """One mutant per (problem, trajectory), each sampled at its own temperature."""
    plans = [plan_mutation(t, rng, config) for _, t in items]
    completions = generator.generate_grouped(
        [(p.key, as_prompt(mutation_prompt(p, t, plan), chat), plan.temperature)
         for (p, t), plan in zip(items, plans)],
        sampling)
    mutants = []
    for (_, t), plan, completion in zip(items, plans, completions):
        lineage = t.lineage + (plan.label,)
        if plan.restart:
            mutant = Trajectory.from_completion(completion, lineage)
        else:
            mutant = Trajectory.from_completion(completion, lineage, prefix=t, prefix_chars=plan.prefix_chars)
        mutant.fitness_parts["mutation"] = {"step": plan.step + 1, "n_steps": plan.n_steps,
                                            "uncertainty": plan.uncertainty, "source": plan.source,
                                            "temperature": plan.temperature}
        mutants.append(mutant)
    return mutants
