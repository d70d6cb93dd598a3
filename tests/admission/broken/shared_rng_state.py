# expect-stage: L3
# expect-reason: rendered twice in one process
# Broken ONE way: one random.Random lives on the class and carries state from call to call.
import random


class Broken:
    name = "broken_example"
    description = "Answer about a list of integers."
    max_difficulty = 10
    rng = random.Random(7)

    def sample(self, seed, difficulty):
        return {"values": [self.rng.randint(0, 9 * difficulty) for _ in range(3 + 2 * difficulty)]}

    def prompt(self, instance):
        return f"What is the sum of {instance['values']}? Answer inside <answer></answer>."

    def reference(self, instance):
        return str(sum(instance["values"]))

    def score(self, instance, answer):
        text = answer.strip()
        if not text.isdigit() or len(text) > 12:
            return 0.0
        return float(int(text) == sum(instance["values"]))
