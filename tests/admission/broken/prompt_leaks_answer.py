# expect-stage: L5
# expect-reason: prompt contains the reference answer
# Broken ONE way: the prompt shows the sorted list it asks for.
import random


class Broken:
    name = "broken_example"
    description = "Answer about a list of integers."
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        return {"values": [rng.randint(0, 9 * difficulty) for _ in range(3 + 2 * difficulty)]}

    def prompt(self, instance):
        ordered = ", ".join(map(str, sorted(instance["values"])))
        return f"Sort {instance['values']} ascending (for example: {ordered}). Answer comma-separated in <answer></answer>."

    def reference(self, instance):
        return ", ".join(map(str, sorted(instance["values"])))

    def score(self, instance, answer):
        parts = [p.strip() for p in answer.split(",")]
        if not all(p.isascii() and p.isdigit() and len(p) < 12 for p in parts):
            return 0.0
        return float([int(p) for p in parts] == sorted(instance["values"]))
