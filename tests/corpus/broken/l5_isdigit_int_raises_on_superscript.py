# expect: L5 raise & superscript & isdecimal
# broken: the scorer guards int() with str.isdigit(), which is True for '²'; int('²') raises ValueError
"""Digital root chains, broken on purpose: ``text.isdigit() and int(text) == ...``.

The platform's answer cap keeps 1 MB digit strings away from the scorer, but a Unicode digit
such as '²' still passes isdigit() and makes int() raise.
"""

import random


class DigitalRootSum:
    name = "digital_root_sum"
    description = (
        "Add up the digital roots of a list of numbers (the digital root repeatedly sums the digits "
        "until one digit is left). The answer is the sum."
    )
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        return {"numbers": [rng.randint(10, 10 ** (2 + difficulty)) for _ in range(3 + difficulty)]}

    def prompt(self, instance):
        return (
            f"Numbers: {', '.join(map(str, instance['numbers']))}\n"
            "Find the digital root of each number and add them up.\n"
            "Answer with one integer inside <answer>...</answer>."
        )

    def reference(self, instance):
        return str(sum(1 + (n - 1) % 9 for n in instance["numbers"]))

    def score(self, instance, answer):
        text = answer.strip()
        return 1.0 if text.isdigit() and int(text) == int(self.reference(instance)) else 0.0
