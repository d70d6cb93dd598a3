import random


class CoinChangeWaysMod:
    name = "coin_change_ways_mod"
    description = (
        "Count the ways to pay an amount with unlimited coins of given denominations (order does not "
        "matter); the answer is that count modulo 5."
    )
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"coins:{seed}:{difficulty}")
        coins = sorted(rng.sample(range(2, 6 + 3 * difficulty), 2 + difficulty // 3))
        amount = rng.randint(5 * difficulty, 12 * difficulty + 10)
        return {"coins": coins, "amount": amount}

    def prompt(self, instance):
        coins = ", ".join(map(str, instance["coins"]))
        return (
            f"You have unlimited coins worth {coins}. In how many different ways can you pay exactly "
            f"{instance['amount']}? Two ways are the same if they use the same number of each coin. "
            "Give the number of ways modulo 5 inside <answer>...</answer>."
        )

    def reference(self, instance):
        ways = [1] + [0] * instance["amount"]
        for coin in instance["coins"]:
            for total in range(coin, instance["amount"] + 1):
                ways[total] += ways[total - coin]
        return str(ways[instance["amount"]] % 5)

    def score(self, instance, answer):
        if not isinstance(answer, str) or len(answer) > 20:
            return 0.0
        return 1.0 if answer.strip() == self.reference(instance) else 0.0
