"""Fewest coins to pay an amount exactly, or impossible: the impossible case kept rare.

A coin of value 1 or 2 is offered except in about one instance in ten, and the
amount is a random multiple of the largest coin, so the count spreads over many values.
"""
import random


class FewestCoinsRareImpossible:
    name = "fewest_coins_rare_impossible"
    description = "Find the fewest coins (unlimited supply) that sum to the amount, or answer impossible."
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}::{difficulty}::fewest")
        coins = set(rng.sample(range(3, 14 + 4 * difficulty), 2 + difficulty // 3))
        if rng.random() >= 0.1:
            coins.add(rng.choice((1, 2)))
        # the count is about amount / largest coin: draw that quotient over a wide range
        amount = rng.randint(4, 16 + 2 * difficulty) * max(coins) + rng.randrange(max(coins))
        return {"coins": sorted(coins), "amount": amount}

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
        if not isinstance(answer, str):
            return 0.0
        text = answer.strip().lower()
        return 1.0 if len(text) < 40 and text == self.reference(instance) else 0.0
