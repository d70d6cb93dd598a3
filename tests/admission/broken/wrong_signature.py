# expect-stage: L1
# expect-reason: sample\(self, seed\) accepts 1 argument\(s\) after self
# Broken ONE way: sample forgets the difficulty parameter.
import random


class Broken:
    name = "broken_example"
    description = "Answer about a list of integers."
    max_difficulty = 10

    def sample(self, seed):
        rng = random.Random(seed)
        return {"values": [rng.randint(0, 9) for _ in range(5)]}

    def prompt(self, instance):
        return f"What is the sum of {instance['values']}? Answer inside <answer></answer>."

    def reference(self, instance):
        return str(sum(instance["values"]))

    def score(self, instance, answer):
        text = answer.strip()
        if not text.isdigit() or len(text) > 12:
            return 0.0
        return float(int(text) == sum(instance["values"]))
