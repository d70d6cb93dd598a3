"""Product of a list of integers: a big-integer answer scored with ``isascii() and isdigit()``.

Style under test: the scorer has no length check of its own and calls int() on whatever digit
string it gets. It used to be rejected (a 1 MB digit string is past CPython's 4300-digit int()
limit); the platform's answer cap (4096 characters) keeps such answers away from the scorer, and
the ASCII test keeps '²' and '①' away from int(). Answers run to about 150 digits.
"""

import random


class BigProduct:
    name = "big_product"
    description = (
        "Multiply a list of integers together. The answer is the exact product, written out in full "
        "as a decimal integer."
    )
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        return {"factors": [rng.randint(10 ** difficulty, 10 ** (difficulty + 1)) for _ in range(2 + difficulty)]}

    def prompt(self, instance):
        return (
            f"Multiply these numbers: {' x '.join(map(str, instance['factors']))}\n"
            "Write the exact product as a decimal integer inside <answer>...</answer>."
        )

    def reference(self, instance):
        product = 1
        for factor in instance["factors"]:
            product *= factor
        return str(product)

    def score(self, instance, answer):
        text = answer.strip() if isinstance(answer, str) else ""
        return 1.0 if text.isascii() and text.isdigit() and int(text) == int(self.reference(instance)) else 0.0
