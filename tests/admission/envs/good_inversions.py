"""Count inversions of a list: a plain class, the way the docs show it."""
import random


class CountInversions:
    name = "count_inversions_test"
    description = "Count the pairs i < j with a[i] > a[j]. Answer with one integer."
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        n = 7 + 2 * difficulty  # at least 9 values: fewer leave so few possible counts that one is a good guess
        return {"values": [rng.randint(0, 10 + 10 * difficulty) for _ in range(n)]}

    def prompt(self, instance):
        return (f"Count the inversions (pairs i < j with a[i] > a[j]) of {instance['values']}.\n"
                "Give the count inside <answer></answer> tags.")

    def reference(self, instance):
        a = instance["values"]
        return str(sum(1 for i in range(len(a)) for j in range(i + 1, len(a)) if a[i] > a[j]))

    def score(self, instance, answer):
        text = answer.strip()
        if not text.lstrip("-").isdecimal() or len(text) > 12:  # isdigit() is True for '²', which int() rejects
            return 0.0
        return 1.0 if int(text) == int(self.reference(instance)) else 0.0
