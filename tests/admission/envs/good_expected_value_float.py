"""Expected value of a dice game: a decimal answer checked with a tolerance; difficulty raises
the number of dice and faces. Written with module-level functions and a tiny class."""
import random
from fractions import Fraction
from itertools import product


def expected_max(dice, faces):
    total = Fraction(0)
    for roll in product(range(1, faces + 1), repeat=dice):
        total += max(roll)
    return total / faces ** dice


def parse_decimal(text):
    try:
        value = float(text.strip())
    except (ValueError, OverflowError):
        return None
    return value if value == value and abs(value) < 1e12 else None


class ExpectedMax:
    name = "expected_max_dice"
    description = "Expected value of the maximum of several fair dice, to 4 decimals."
    max_difficulty = 5

    def sample(self, seed, difficulty):
        rng = random.Random(10_000 * difficulty + seed)
        return {"dice": 1 + difficulty // 2 + rng.randint(0, 1), "faces": rng.randint(4, 6 + 2 * difficulty)}

    def prompt(self, instance):
        return (f"Roll {instance['dice']} fair dice with faces 1..{instance['faces']}. What is the expected value "
                "of the largest result? Give it rounded to 4 decimals inside <answer></answer>.")

    def reference(self, instance):
        return f"{float(expected_max(instance['dice'], instance['faces'])):.4f}"

    def score(self, instance, answer):
        value = parse_decimal(answer)
        if value is None:
            return 0.0
        return 1.0 if abs(value - float(self.reference(instance))) <= 5e-5 else 0.0
