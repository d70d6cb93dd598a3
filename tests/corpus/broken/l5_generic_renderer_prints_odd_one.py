# expect: L5 label & odd_one
# broken: a generic renderer prints every field of the instance, including the hidden odd_one
"""Odd one out among four-digit numbers, broken on purpose: the answer is printed under a label.

All numbers but one share a remainder modulo m; the answer is the one that does not. The prompt
lists many four-digit numbers, so the answer appearing among them is expected (a selection task);
the bug is the line ``odd_one: 4821`` a generic field printer adds in every instance.
"""

import random


class OddRemainder:
    name = "odd_remainder"
    description = (
        "All numbers in a list but one leave the same remainder when divided by m. The answer is the "
        "number that does not."
    )
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        m = rng.randint(3, 6 + difficulty)
        r = rng.randrange(m)
        values = [v for v in rng.sample(range(1000, 10000), 40 * (2 + difficulty)) if v % m == r][:4 + difficulty]
        odd = next(v for v in range(rng.randint(1000, 9000), 10000) if v % m != r and v not in values)
        values.insert(rng.randrange(len(values) + 1), odd)
        return {"modulus": m, "numbers": values, "odd_one": odd}

    def prompt(self, instance):
        fields = "\n".join(f"{key}: {value}" for key, value in instance.items())
        return (
            f"{fields}\n\nAll of the numbers but one leave the same remainder when divided by the "
            "modulus. Which number is the odd one out?\nAnswer with that number inside <answer>...</answer>."
        )

    def reference(self, instance):
        return str(instance["odd_one"])

    def score(self, instance, answer):
        text = answer.strip() if isinstance(answer, str) else ""
        return 1.0 if text.isascii() and text.isdigit() and len(text) < 8 and int(text) == instance["odd_one"] else 0.0
