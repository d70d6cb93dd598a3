import math
import random
from collections import Counter

import pytest

from evoenv.cotevol.selection import boltzmann_probabilities, boltzmann_select


def test_probabilities_are_a_softmax_of_fitness_over_temperature():
    probs = boltzmann_probabilities([2.0, 1.0, 0.0], temperature=1.0)
    z = math.e ** 2 + math.e + 1
    assert probs == pytest.approx([math.e ** 2 / z, math.e / z, 1 / z])
    # a lower temperature sharpens, a higher one flattens
    assert boltzmann_probabilities([2.0, 1.0, 0.0], 0.1)[0] > 0.99
    assert max(boltzmann_probabilities([2.0, 1.0, 0.0], 100.0)) < 0.34
    # large fitness does not overflow
    assert boltzmann_probabilities([1000.0, 999.0], 1.0) == pytest.approx([1 / (1 + math.e ** -1), 1 / (1 + math.e)])


def test_selection_frequencies_match_the_boltzmann_distribution():
    fitness = [2.5, 1.5, 1.0, 0.2]
    expected = boltzmann_probabilities(fitness, 1.0)
    rng = random.Random(1234)
    draws = 20_000
    counts = Counter(boltzmann_select(fitness, rng, k=1)[0] for _ in range(draws))
    for i, p in enumerate(expected):
        # 4 standard errors of a binomial proportion
        assert abs(counts[i] / draws - p) < 4 * math.sqrt(p * (1 - p) / draws)


def test_two_parents_are_distinct_and_the_second_follows_the_renormalised_softmax():
    fitness = [3.0, 1.0, 0.0]
    rng = random.Random(99)
    draws = 10_000
    second_given_first0 = Counter()
    firsts = 0
    for _ in range(draws):
        a, b = boltzmann_select(fitness, rng, k=2)
        assert a != b
        if a == 0:
            firsts += 1
            second_given_first0[b] += 1
    p1 = boltzmann_probabilities([1.0, 0.0])[0]
    assert abs(second_given_first0[1] / firsts - p1) < 4 * math.sqrt(p1 * (1 - p1) / firsts)


def test_selection_is_reproducible_with_a_seed():
    fitness = [1.0, 2.0, 0.5, 1.7]
    a = [boltzmann_select(fitness, random.Random(5)) for _ in range(3)]
    rng1, rng2 = random.Random(42), random.Random(42)
    assert [boltzmann_select(fitness, rng1) for _ in range(50)] == [boltzmann_select(fitness, rng2) for _ in range(50)]
    assert a[0] == a[1] == a[2]


def test_small_and_empty_populations():
    assert boltzmann_select([1.0], random.Random(0), k=2) == [0, 0]
    with pytest.raises(ValueError, match="empty population"):
        boltzmann_select([], random.Random(0))
    with pytest.raises(ValueError, match="temperature"):
        boltzmann_probabilities([1.0], 0.0)
