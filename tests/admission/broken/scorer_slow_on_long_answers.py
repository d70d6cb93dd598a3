# expect-stage: L5
# expect-reason: ^(timeout|killed \(SIGKILL\)) while scoring \d+ junk and perturbed answers.*KiB string
# Broken ONE way: the scorer's regex backtracks catastrophically on a long run of digits.
import random, re


class SlowScorer:
    name = "slow_scorer"
    description = "Sum a list."
    max_difficulty = 5

    def sample(self, seed, difficulty):
        rng = random.Random(seed * 31 + difficulty)
        return {"values": [rng.randint(1, 9) for _ in range(2 + difficulty)]}

    def prompt(self, instance):
        return f"Sum {instance['values']} and answer in <answer></answer>."

    def reference(self, instance):
        return str(sum(instance["values"]))

    def score(self, instance, answer):
        if re.fullmatch(r"(\d+)+x", answer):  # catastrophic backtracking on long digit strings
            return 0.0
        return float(answer.strip() == self.reference(instance))
