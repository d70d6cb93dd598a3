# expect-stage: L4
# expect-reason: reference answer is constant
# Broken ONE way: the answer is always the same ("is the sum non-negative?").
import random


class Broken:
    name = "broken_example"
    description = "Answer about a list of integers."
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        return {"values": [rng.randint(0, 9 * difficulty) for _ in range(3 + 2 * difficulty)]}

    def prompt(self, instance):
        return f"Is the sum of {instance['values']} at least zero? Answer yes or no inside <answer></answer>."

    def reference(self, instance):
        return "yes"

    def score(self, instance, answer):
        return float(answer.strip().lower() == ("yes" if sum(instance["values"]) >= 0 else "no"))
