# expect: L5 near misses & /reference [+-]1/ & compare exactly
# broken: the scorer compares the integer answer with math.isclose(rel_tol=1e-3), so on the large totals of the higher levels the reference plus or minus 1 (and 2) scores 1
"""Warehouse stock after a day of orders, broken on purpose: a float tolerance on an integer answer.

At difficulty 1 the totals are in the hundreds and the tolerance is below 1, so the usual
perturbations of six instances mostly fail as they should; at the higher levels the totals reach
thousands and near misses pass.
"""

import math
import random


class StockLevel:
    name = "stock_level"
    description = (
        "A warehouse starts with some units and processes deliveries (+) and orders (-) in turn. The "
        "answer is the number of units at the end of the day."
    )
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        start = rng.randint(100, 300) * difficulty ** 2
        moves = [rng.randint(-40, 60) * difficulty for _ in range(3 + difficulty)]
        return {"start": start, "moves": moves}

    def prompt(self, instance):
        moves = ", ".join(f"{m:+d}" for m in instance["moves"])
        return (
            f"A warehouse opens with {instance['start']} units. During the day the stock changes by "
            f"{moves} units, in that order.\nHow many units are there at the end of the day?\n"
            "Answer with one integer inside <answer>...</answer>."
        )

    def reference(self, instance):
        return str(instance["start"] + sum(instance["moves"]))

    def score(self, instance, answer):
        text = answer.strip() if isinstance(answer, str) else ""
        if not text.isascii() or not text.lstrip("-").isdigit() or len(text) > 12:
            return 0.0
        expected = instance["start"] + sum(instance["moves"])
        return 1.0 if math.isclose(int(text), expected, rel_tol=1e-3) else 0.0
