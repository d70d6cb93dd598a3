# expect-stage: blind
# expect-reason: most frequent reference
# Broken ONE way: the longest_increasing_subsequence seed before issue 14: the LIS of random numbers concentrates near 2*sqrt(n), so the most frequent answer pays at most levels.
"""Length of the longest strictly increasing subsequence.

Solve-verify asymmetry, kind 1: a ten-line patience-sorting DP, but easy to
get wrong by eye once the list is long.
"""

import bisect
import random


class LongestIncreasingSubsequence:
    name = "longest_increasing_subsequence"
    description = (
        "Given a list of integers, find the length of its longest strictly increasing "
        "subsequence (elements keep their order but need not be adjacent). The answer "
        "is one positive integer, written in plain decimal."
    )
    max_difficulty = 10

    def sample(self, seed: int, difficulty: int) -> dict:
        rng = random.Random(f"{seed}:{difficulty}")
        length = 6 + 5 * difficulty  # 11 .. 56 numbers
        high = 10 + 10 * difficulty
        return {"values": [rng.randint(1, high) for _ in range(length)]}

    def prompt(self, instance: dict) -> str:
        values = instance["values"]
        return (
            f"Here is a list of {len(values)} integers:\n"
            f"[{', '.join(map(str, values))}]\n\n"
            "A subsequence keeps the original order but may skip elements. What is the "
            "length of the longest subsequence whose values are strictly increasing?\n"
            "Give the length as a plain decimal integer inside <answer>...</answer>."
        )

    def reference(self, instance: dict) -> str:
        # tails[k] = smallest last value of a strictly increasing subsequence of length k + 1.
        tails: list[int] = []
        for value in instance["values"]:
            position = bisect.bisect_left(tails, value)  # bisect_left: equal values do not extend
            if position == len(tails):
                tails.append(value)
            else:
                tails[position] = value
        return str(len(tails))

    def score(self, instance: dict, answer: str) -> float:
        # Exact match with the canonical integer, so "-0", "+7", "07" and "7.0" score 0.
        if not isinstance(answer, str) or len(answer) > 100:
            return 0.0
        return 1.0 if answer.strip() == self.reference(instance) else 0.0
