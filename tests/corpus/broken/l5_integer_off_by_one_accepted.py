# expect: L5 /perturbed references still score 1|near misses score 1/ & number
# broken: "close enough" scoring: any integer within 1 of the right count scores 1
"""Counting lattice paths around one blocked point, broken on purpose: answers off by one pass."""

import random
from math import comb


class LatticePaths:
    name = "lattice_paths"
    description = (
        "Count the monotone lattice paths (steps right or up) from (0, 0) to (w, h) that avoid one "
        "blocked point. The answer is the count."
    )
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        w, h = rng.randint(1 + difficulty, 2 + difficulty), rng.randint(2, 2 + difficulty)
        return {"w": w, "h": h, "block": [rng.randint(1, w - 1), rng.randint(1, h - 1)]}

    def prompt(self, instance):
        w, h, (bx, by) = instance["w"], instance["h"], instance["block"]
        return (
            f"How many paths go from (0, 0) to ({w}, {h}) using steps of +1 in x or +1 in y, without "
            f"passing through the point ({bx}, {by})?\nAnswer with one integer inside <answer>...</answer>."
        )

    def reference(self, instance):
        w, h, (bx, by) = instance["w"], instance["h"], instance["block"]
        return str(comb(w + h, w) - comb(bx + by, bx) * comb(w - bx + h - by, w - bx))

    def score(self, instance, answer):
        text = answer.strip() if isinstance(answer, str) else ""
        if not text.isascii() or not text.isdigit() or len(text) > 30:
            return 0.0
        return 1.0 if abs(int(text) - int(self.reference(instance))) <= 1 else 0.0
