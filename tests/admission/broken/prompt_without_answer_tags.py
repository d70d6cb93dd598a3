# expect-stage: L2
# expect-reason: does not ask for the answer inside <answer>
# Broken ONE way: the prompt never mentions the answer tags.
import random


class Broken:
    name = "broken_example"
    description = "Answer about a list of integers."
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        return {"values": [rng.randint(0, 9 * difficulty) for _ in range(3 + 2 * difficulty)]}

    def prompt(self, instance):
        return f"What is the sum of {instance['values']}?"

    def reference(self, instance):
        return str(sum(instance["values"]))

    def score(self, instance, answer):
        text = answer.strip()
        if not text.isdigit() or len(text) > 12:
            return 0.0
        return float(int(text) == sum(instance["values"]))
