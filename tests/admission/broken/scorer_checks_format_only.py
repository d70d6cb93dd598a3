# expect-stage: L5
# expect-reason: perturbed references still score 1
# Broken ONE way: the scorer only checks that the answer is a number.
import random


class Broken:
    name = "broken_example"
    description = "Answer about a list of integers."
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        return {"values": [rng.randint(0, 9 * difficulty) for _ in range(3 + 2 * difficulty)]}

    def prompt(self, instance):
        return f"What is the sum of {instance['values']}? Answer inside <answer></answer>."

    def reference(self, instance):
        return str(sum(instance["values"]))

    def score(self, instance, answer):
        text = answer.strip()
        return float(text.isascii() and text.isdigit() and len(text) < 12)
