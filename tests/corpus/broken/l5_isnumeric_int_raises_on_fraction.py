# expect: L5 raise & isdecimal
# broken: the scorer guards int() with str.isnumeric(), which is True for '²' and '½'; int() raises on both
"""Coin change count, broken on purpose: ``answer.isnumeric()`` before ``int(answer)``."""

import random


class CoinWays:
    name = "coin_ways"
    description = (
        "Count the ways to pay an amount with unlimited coins of the given values (order does not "
        "matter). The answer is the number of ways."
    )
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        coins = sorted(rng.sample(range(1, 6 + 3 * difficulty), 2 + difficulty // 3))
        return {"coins": coins, "amount": rng.randint(10, 20 + 12 * difficulty)}

    def prompt(self, instance):
        return (
            f"Coins: {', '.join(map(str, instance['coins']))} (as many of each as you like).\n"
            f"In how many ways can you pay exactly {instance['amount']}? Order does not matter.\n"
            "Answer with one integer inside <answer>...</answer>."
        )

    def reference(self, instance):
        ways = [1] + [0] * instance["amount"]
        for coin in instance["coins"]:
            for total in range(coin, instance["amount"] + 1):
                ways[total] += ways[total - coin]
        return str(ways[instance["amount"]])

    def score(self, instance, answer):
        if not isinstance(answer, str):
            return 0.0
        answer = answer.strip()
        if not answer.isnumeric() or len(answer) > 30:
            return 0.0
        return float(int(answer) == int(self.reference(instance)))
