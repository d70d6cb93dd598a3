# expect: blind impossible & difficulty 1
# broken: with few large coin values, small amounts are often impossible to pay, so "impossible" pays
"""Fewest coins to pay an amount exactly, or impossible."""
import random


class FewestCoins:
    name = "fewest_coins"
    description = "Find the fewest coins (unlimited supply) that sum to the amount, or answer impossible."
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}::{difficulty}::coins")
        coins = sorted(rng.sample(range(4, 12 + 3 * difficulty), 2 + difficulty // 3))
        return {"coins": coins, "amount": rng.randint(5, 15 + 10 * difficulty)}

    def prompt(self, instance):
        return (f"Coin values: {', '.join(map(str, instance['coins']))} (as many of each as you like).\n"
                f"What is the fewest number of coins that sum to exactly {instance['amount']}? "
                "If it cannot be done, answer impossible. Answer inside <answer>...</answer>.")

    def reference(self, instance):
        amount = instance["amount"]
        best = [0] + [None] * amount
        for total in range(1, amount + 1):
            options = [best[total - c] for c in instance["coins"] if c <= total and best[total - c] is not None]
            best[total] = min(options) + 1 if options else None
        return "impossible" if best[amount] is None else str(best[amount])

    def score(self, instance, answer):
        return 1.0 if answer.strip().lower() == self.reference(instance) else 0.0
