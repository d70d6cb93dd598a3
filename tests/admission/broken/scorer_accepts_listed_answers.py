# expect-stage: L5
# expect-reason: reference with extra content scores 1
# Broken ONE way: the scorer accepts any answer whose numbers include the right sum, so listing many
# guesses ("12 13 14 15") always scores 1.
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
        if not isinstance(answer, str) or len(answer) > 1000:
            return 0.0
        words = answer.replace(",", " ").split()
        return 1.0 if str(sum(instance["values"])) in words else 0.0
