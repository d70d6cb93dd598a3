"""Probability that a random walk is absorbed in WIN rather than LOSE.

Solve-verify asymmetry, kind 1: the probabilities solve a linear system, which
code does exactly with fractions; by hand, cycles between states make the
naive "follow the likely path" estimate wrong.

Style under test: a real-valued answer, formatted to exactly four decimals
(exact rational arithmetic, then decimal rounding half-up).
"""

import random
import re
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

_FOUR_DECIMALS = re.compile(r"[01]\.[0-9]{4}")


def _solve(matrix: list[list[Fraction]], rhs: list[Fraction]) -> list[Fraction]:
    """Gauss-Jordan elimination over the rationals (the system is non-singular by construction)."""
    n = len(rhs)
    rows = [matrix[i][:] + [rhs[i]] for i in range(n)]
    for col in range(n):
        pivot = next(r for r in range(col, n) if rows[r][col] != 0)
        rows[col], rows[pivot] = rows[pivot], rows[col]
        lead = rows[col][col]
        rows[col] = [x / lead for x in rows[col]]
        for r in range(n):
            if r != col and rows[r][col] != 0:
                factor = rows[r][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col])]
    return [rows[i][n] for i in range(n)]


class AbsorptionProbability:
    name = "absorption_probability"
    description = (
        "A token walks between numbered rooms following given move probabilities until it "
        "reaches WIN or LOSE. Find the probability that it ends in WIN when it starts in room 0. "
        "The answer is a decimal number rounded to exactly four decimal places, such as 0.3750."
    )
    max_difficulty = 10

    def sample(self, seed: int, difficulty: int) -> dict:
        rng = random.Random(f"{seed}:{difficulty}")
        rooms = 2 + difficulty  # 3 .. 12 transient rooms
        moves = []
        for room in range(rooms):
            targets = rng.sample([str(r) for r in range(rooms) if r != room], min(rooms - 1, rng.randint(1, 3)))
            targets.append(rng.choice(["WIN", "LOSE"]))  # an exit from every room: absorption is certain
            if rng.random() < 0.5:
                targets.append("WIN" if targets[-1] == "LOSE" else "LOSE")
            moves.append([[target, rng.randint(1, 4)] for target in targets])
        return {"moves": moves}

    def prompt(self, instance: dict) -> str:
        lines = []
        for room, options in enumerate(instance["moves"]):
            total = sum(weight for _, weight in options)
            said = ", ".join(f"to {'room ' + t if t.isdigit() else t} with probability {Fraction(w, total)}"
                             for t, w in options)
            lines.append(f"From room {room}: {said}.")
        return (
            "A token moves between rooms at random; each move depends only on the current room. "
            "It stops when it reaches WIN or LOSE.\n" + "\n".join(lines) +
            "\n\nThe token starts in room 0. What is the probability that it stops at WIN?\n"
            "Give the probability rounded to exactly four decimal places (for example 0.3750) "
            "inside <answer>...</answer>."
        )

    def probability(self, instance: dict) -> Fraction:
        moves = instance["moves"]
        n = len(moves)
        # p_i = sum_j P(i->j) p_j + P(i->WIN)  <=>  p_i - sum_j P(i->j) p_j = P(i->WIN)
        matrix = [[Fraction(int(i == j)) for j in range(n)] for i in range(n)]
        rhs = [Fraction(0)] * n
        for i, options in enumerate(moves):
            total = sum(weight for _, weight in options)
            for target, weight in options:
                if target == "WIN":
                    rhs[i] += Fraction(weight, total)
                elif target != "LOSE":
                    matrix[i][int(target)] -= Fraction(weight, total)
        return _solve(matrix, rhs)[0]

    def reference(self, instance: dict) -> str:
        p = self.probability(instance)
        exact = Decimal(p.numerator) / Decimal(p.denominator)
        return str(exact.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))

    def score(self, instance: dict, answer: str) -> float:
        if not isinstance(answer, str) or len(answer) > 50:
            return 0.0
        text = answer.strip()
        if not _FOUR_DECIMALS.fullmatch(text):
            return 0.0
        return 1.0 if text == self.reference(instance) else 0.0
