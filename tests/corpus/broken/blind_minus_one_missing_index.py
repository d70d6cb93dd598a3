# expect: blind /constant -1/ & difficulty 1
# broken: the searched value is absent about half the time, so answering -1 pays in half the instances
"""Index of the first occurrence of a value in a list, or -1."""
import random


class FirstIndex:
    name = "first_index"
    description = "Find the 0-based index of the first occurrence of a value in a list, or -1 if it is absent."
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}-{difficulty}-find")
        values = [rng.randint(0, 50 * difficulty) for _ in range(5 + 4 * difficulty)]
        target = rng.choice(values) if rng.random() < 0.5 else 50 * difficulty + 1 + rng.randint(0, 9)
        return {"values": values, "target": target}

    def prompt(self, instance):
        return (f"List: {instance['values']}\nAt which 0-based index does {instance['target']} first appear? "
                "If it does not appear, the answer is -1. Put the index inside <answer>...</answer>.")

    def reference(self, instance):
        values = instance["values"]
        return str(values.index(instance["target"])) if instance["target"] in values else "-1"

    def score(self, instance, answer):
        return 1.0 if answer.strip() == self.reference(instance) else 0.0
