"""0/1 knapsack: the best total value that fits in the capacity.

Solve-verify asymmetry, kind 1: a one-dimensional DP solves it exactly, while
by hand the tempting greedy choice (best value per weight) is often wrong.
"""

import random


class Knapsack:
    name = "knapsack"
    description = (
        "Given items with integer weights and values and a capacity, find the largest "
        "total value of a set of items (each used at most once) whose total weight is at "
        "most the capacity. The answer is that optimum value, one integer in plain decimal."
    )
    max_difficulty = 10

    def sample(self, seed: int, difficulty: int) -> dict:
        rng = random.Random(f"{seed}:{difficulty}")
        count = 4 + 2 * difficulty  # 6 .. 24 items
        weights = [rng.randint(1, 4 + 4 * difficulty) for _ in range(count)]
        values = [rng.randint(1, 5 + 5 * difficulty) for _ in range(count)]
        # About half the total weight fits, so neither "take all" nor "take one" is right.
        capacity = max(1, sum(weights) // 2)
        return {"weights": weights, "values": values, "capacity": capacity}

    def prompt(self, instance: dict) -> str:
        lines = [
            f"item {i}: weight {w}, value {v}"
            for i, (w, v) in enumerate(zip(instance["weights"], instance["values"]))
        ]
        return (
            "You may pack a knapsack with any subset of these items, each at most once:\n"
            + "\n".join(lines)
            + f"\n\nThe total weight must be at most {instance['capacity']}. What is the "
            "largest total value you can pack?\n"
            "Give only that value, as a plain decimal integer, inside <answer>...</answer>."
        )

    def reference(self, instance: dict) -> str:
        capacity = instance["capacity"]
        best = [0] * (capacity + 1)  # best[c] = best value with total weight <= c
        for weight, value in zip(instance["weights"], instance["values"]):
            for c in range(capacity, weight - 1, -1):  # downwards: each item at most once
                best[c] = max(best[c], best[c - weight] + value)
        return str(best[capacity])

    def score(self, instance: dict, answer: str) -> float:
        # Only the exact optimum scores; "-0", "+7", "07" and "7.0" score 0.
        if not isinstance(answer, str) or len(answer) > 100:
            return 0.0
        return 1.0 if answer.strip() == self.reference(instance) else 0.0
