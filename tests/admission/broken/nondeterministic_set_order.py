# expect-stage: L3
# expect-reason: differs between two fresh processes
# Broken ONE way: iterates a set of strings, whose order depends on PYTHONHASHSEED.
import random


class Broken:
    name = "broken_example"
    description = "Answer about a list of integers."
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        words = list({"apple", "pear", "plum", "fig", "kiwi", "lime", "date", "sloe"})
        picked = [words[rng.randrange(len(words))] for _ in range(3 + 2 * difficulty)]
        return {"values": [len(w) * (1 + i % difficulty) for i, w in enumerate(picked)], "words": picked}

    def prompt(self, instance):
        return f"What is the sum of {instance['values']}? Answer inside <answer></answer>."

    def reference(self, instance):
        return str(sum(instance["values"]))

    def score(self, instance, answer):
        text = answer.strip()
        if not text.isdigit() or len(text) > 12:
            return 0.0
        return float(int(text) == sum(instance["values"]))
