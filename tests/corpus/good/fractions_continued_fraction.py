"""Evaluate a finite continued fraction as a reduced fraction.

Solve-verify asymmetry, kind 1: ``fractions.Fraction`` folds it from the
inside out exactly; by hand, the nested reciprocals swap numerator and
denominator at every level and one slip changes everything.

Style under test: exact rational arithmetic, and an answer of the form p/q.
"""

import random
import re
from fractions import Fraction
from functools import reduce

_FRACTION = re.compile(r"(0|[1-9][0-9]{0,60})\s*/\s*([1-9][0-9]{0,60})")


class ContinuedFraction:
    name = "continued_fraction"
    description = (
        "Evaluate a finite simple continued fraction [a0; a1, ..., ak] = a0 + 1/(a1 + 1/(... + 1/ak)). "
        "The answer is the value as a fraction p/q in lowest terms."
    )
    max_difficulty = 10

    def sample(self, seed: int, difficulty: int) -> dict:
        rng = random.Random(f"{seed}:{difficulty}")
        length = 2 + difficulty  # a1 .. ak: 3 .. 12 terms after a0
        terms = [rng.randint(0, 9)] + [rng.randint(1, 2 + difficulty) for _ in range(length - 1)]
        terms.append(rng.randint(2, 2 + difficulty))  # the last term is >= 2: canonical, never an integer
        return {"terms": terms}

    @staticmethod
    def value(terms: list[int]) -> Fraction:
        return reduce(lambda acc, a: a + 1 / acc, reversed(terms[:-1]), Fraction(terms[-1]))

    def prompt(self, instance: dict) -> str:
        terms = instance["terms"]
        return (
            f"Evaluate the continued fraction [{terms[0]}; {', '.join(map(str, terms[1:]))}], that is "
            f"{terms[0]} + 1/({terms[1]} + 1/({terms[2]} + ...)) with {len(terms) - 1} terms after the "
            "semicolon.\n"
            "Give the value as a fraction p/q in lowest terms (for example 43/30) inside "
            "<answer>...</answer>."
        )

    def reference(self, instance: dict) -> str:
        v = self.value(instance["terms"])
        return f"{v.numerator}/{v.denominator}"

    def score(self, instance: dict, answer: str) -> float:
        if not isinstance(answer, str) or len(answer) > 200:
            return 0.0
        match = _FRACTION.fullmatch(answer.strip())
        if match is None:
            return 0.0
        p, q = int(match.group(1)), int(match.group(2))
        if Fraction(p, q) != self.value(instance["terms"]) or Fraction(p, q).denominator != q:
            return 0.0  # wrong, or right but not in lowest terms
        return 1.0
