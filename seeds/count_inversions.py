"""Count the inversions of a list.

Solve-verify asymmetry, kind 1: trivial as code (a sorted scan), error-prone
to do by hand on fifty numbers.
"""

import bisect
import random


class CountInversions:
    name = "count_inversions"
    description = (
        "Given a list of integers, count the pairs of positions i < j with a[i] > a[j] "
        "(equal values are not an inversion). The answer is one non-negative integer, "
        "written in plain decimal."
    )
    max_difficulty = 10

    def sample(self, seed: int, difficulty: int) -> dict:
        rng = random.Random(f"{seed}:{difficulty}")
        length = 4 + 6 * difficulty  # 10 .. 64 numbers
        high = 20 * difficulty  # a wider range means fewer ties
        return {"values": [rng.randint(0, high) for _ in range(length)]}

    def prompt(self, instance: dict) -> str:
        values = instance["values"]
        return (
            f"Here is a list of {len(values)} integers:\n"
            f"[{', '.join(map(str, values))}]\n\n"
            "An inversion is a pair of positions i < j with a[i] > a[j]; equal values "
            "do not form an inversion. How many inversions does the list have?\n"
            "Give the count as a plain decimal integer inside <answer>...</answer>."
        )

    def reference(self, instance: dict) -> str:
        # Scan right to left: each smaller value already seen is an inversion with this one.
        seen: list[int] = []
        count = 0
        for value in reversed(instance["values"]):
            count += bisect.bisect_left(seen, value)
            bisect.insort(seen, value)
        return str(count)

    def score(self, instance: dict, answer: str) -> float:
        # Exact match with the canonical integer, so "-0", "+7", "07", "7.0" and "1e3" score 0.
        if not isinstance(answer, str) or len(answer) > 100:
            return 0.0
        return 1.0 if answer.strip() == self.reference(instance) else 0.0
