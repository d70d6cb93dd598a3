"""Count the divisors of several numbers; partial credit per number.

Solve-verify asymmetry, kind 1: factorising and multiplying exponents+1 is
quick for code; by hand, factorising four- to six-digit numbers is slow and
error-prone.

Style under test: partial credit. The answer is a list; each correct entry
earns an equal share, so a wrong entry gives a score strictly below 1, and an
answer of the wrong length or format earns 0.
"""

import random
import re

_COUNT = re.compile(r"[1-9][0-9]{0,5}")


def divisor_count(n: int) -> int:
    count, p = 1, 2
    while p * p <= n:
        exponent = 0
        while n % p == 0:
            n //= p
            exponent += 1
        count *= exponent + 1
        p += 1
    return count * (2 if n > 1 else 1)


class DivisorCounts:
    name = "divisor_counts"
    description = (
        "For each number in a list, count its positive divisors (including 1 and itself). The "
        "answer is the counts in the same order, separated by commas; each correct count earns "
        "an equal share of the score."
    )
    max_difficulty = 10

    def sample(self, seed: int, difficulty: int) -> dict:
        rng = random.Random(f"{seed}:{difficulty}")
        count = 2 + (difficulty + 1) // 2  # 3 .. 7 numbers
        largest = 10 ** (2 + difficulty // 2)  # up to 10^2 .. 10^7
        numbers = []
        for _ in range(count):
            # Smooth numbers are the interesting ones: build most from small primes.
            if rng.random() < 0.7:
                n = 1
                while n * 2 <= largest:
                    factor = rng.choice((2, 2, 3, 3, 5, 7, 11, 13))
                    if n * factor > largest or (n > largest // 50 and rng.random() < 0.3):
                        break
                    n *= factor
                numbers.append(max(n, 2))
            else:
                numbers.append(rng.randint(2, largest))
        return {"numbers": numbers}

    def prompt(self, instance: dict) -> str:
        listed = "\n".join(f"({i + 1}) {n}" for i, n in enumerate(instance["numbers"]))
        return (
            f"How many positive divisors does each of these {len(instance['numbers'])} numbers have "
            f"(count 1 and the number itself)?\n{listed}\n\n"
            "Give the counts in the same order, as plain decimal integers separated by commas, inside "
            "<answer>...</answer>. Each correct count earns an equal share of the score."
        )

    def reference(self, instance: dict) -> str:
        return ", ".join(str(divisor_count(n)) for n in instance["numbers"])

    def score(self, instance: dict, answer: str) -> float:
        if not isinstance(answer, str) or len(answer) > 1000:
            return 0.0
        parts = [p.strip() for p in answer.strip().split(",")]
        numbers = instance["numbers"]
        if len(parts) != len(numbers) or not all(_COUNT.fullmatch(p) for p in parts):
            return 0.0
        right = sum(int(p) == divisor_count(n) for p, n in zip(parts, numbers))
        return right / len(numbers)
