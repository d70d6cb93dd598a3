# expect: L2 JSON round trip & int keys & discounts
# broken: discounts are keyed by int item ids; after the JSON round trip the keys are strings, so .get(item_id, 0) finds no discount and the reference total is wrong
"""Shopping-basket total with per-item discounts, broken on purpose.

sample() maps integer item ids to discounts. The JSON round trip turns those keys into strings;
reference() looks them up with ``.get(item_id, 0)``, so no lookup raises and every discount is
silently dropped, while the prompt (which iterates the dict) shows them all.
"""

import random


class BasketTotal:
    name = "basket_total"
    description = (
        "A shopping basket lists items with a price and a quantity; some items have a discount in "
        "cents per unit. The answer is the total to pay, in cents."
    )
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        items = [{"id": i, "price": rng.randint(50, 900), "qty": rng.randint(1, 3 + difficulty)}
                 for i in range(2 + difficulty)]
        discounts = {item["id"]: rng.randint(5, 40) for item in rng.sample(items, 1 + len(items) // 2)}
        return {"items": items, "discounts": discounts}

    def prompt(self, instance):
        lines = [f"item {it['id']}: {it['qty']} x {it['price']} cents" for it in instance["items"]]
        offers = [f"item {k}: {v} cents off per unit" for k, v in instance["discounts"].items()]
        return (
            "Basket:\n" + "\n".join(lines) + "\n\nDiscounts:\n" + "\n".join(offers) +
            "\n\nWhat is the total to pay, in cents?\nAnswer with one integer inside <answer>...</answer>."
        )

    def reference(self, instance):
        total = 0
        for item in instance["items"]:
            off = instance["discounts"].get(item["id"], 0)
            total += item["qty"] * (item["price"] - off)
        return str(total)

    def score(self, instance, answer):
        text = answer.strip() if isinstance(answer, str) else ""
        if not text.isascii() or not text.isdigit() or len(text) > 12:
            return 0.0
        return 1.0 if text == self.reference(instance) else 0.0
