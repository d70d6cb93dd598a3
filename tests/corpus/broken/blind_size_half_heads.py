# expect: blind //2
# broken: after many random flips about half the coins show heads, so len(coins)//2 is often exact
"""Coins on a table, flipped by a sequence of range flips: how many show heads?"""
import random


class CoinFlips:
    name = "coin_flips"
    description = "Simulate range flips on a row of coins and count the coins showing heads."
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"coins:{seed}:{difficulty}")
        n = 4 + difficulty
        coins = "".join(rng.choice("HT") for _ in range(n))
        flips = []
        for _ in range(2 + difficulty):
            a = rng.randrange(n)
            flips.append([a, rng.randrange(a, n)])
        return {"coins": coins, "flips": flips}

    def prompt(self, instance):
        steps = "\n".join(f"- flip every coin from position {a} to {b} (inclusive)" for a, b in instance["flips"])
        return (f"A row of coins reads {instance['coins']} (H = heads, T = tails, positions from 0).\n{steps}\n"
                "How many coins show heads at the end? Answer inside <answer>...</answer>.")

    def reference(self, instance):
        coins = list(instance["coins"])
        for a, b in instance["flips"]:
            for i in range(a, b + 1):
                coins[i] = "T" if coins[i] == "H" else "H"
        return str(coins.count("H"))

    def score(self, instance, answer):
        return 1.0 if answer.strip() == self.reference(instance) else 0.0
