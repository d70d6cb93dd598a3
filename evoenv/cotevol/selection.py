"""Boltzmann (softmax) selection of parents.

P(i) = exp(f_i / T) / sum_j exp(f_j / T). Parents are drawn one after the other
without replacement, so the k=2 parents of a crossover are two different
individuals whenever the population has two.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence


def boltzmann_probabilities(fitness: Sequence[float], temperature: float = 1.0) -> list[float]:
    if temperature <= 0:
        raise ValueError(f"Boltzmann temperature must be > 0, got {temperature}")
    if not fitness:
        return []
    top = max(fitness)  # shift for numerical stability; the softmax is unchanged
    weights = [math.exp((f - top) / temperature) for f in fitness]
    total = sum(weights)
    return [w / total for w in weights]


def boltzmann_select(fitness: Sequence[float], rng: random.Random, k: int = 2,
                     temperature: float = 1.0) -> list[int]:
    """Indices of ``k`` parents. With fewer than ``k`` individuals, the draw repeats
    over the whole population (a population of one is its own two parents)."""
    if not fitness:
        raise ValueError("cannot select parents from an empty population")
    remaining = list(range(len(fitness)))
    chosen: list[int] = []
    for _ in range(k):
        if not remaining:
            remaining = list(range(len(fitness)))
        probs = boltzmann_probabilities([fitness[i] for i in remaining], temperature)
        pick = rng.choices(range(len(remaining)), weights=probs, k=1)[0]
        chosen.append(remaining.pop(pick))
    return chosen
