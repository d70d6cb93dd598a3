# expect: L5 near misses & superset & no extra elements
# broken: a scorer "repaired" to reject repeated indices still checks only that the chosen numbers reach the target (>=), so the reference plus any other index scores 1
"""Planted subset sum, broken on purpose: the scorer accepts supersets.

An earlier version accepted "0 3 0 3"; the repair rejects repeated indices, but the test is still
``total >= target``: adding any unused index to a valid answer keeps it valid, and so does listing
every index at once.
"""

import random


class TargetSubset:
    name = "target_subset"
    description = (
        "Given a list of positive integers and a target, choose some of them (by 0-based index) whose "
        "sum is exactly the target. Any such choice is correct. The answer is the chosen indices."
    )
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        n = 5 + 2 * difficulty
        values = [rng.randint(1, 20 * difficulty) for _ in range(n)]
        chosen = sorted(rng.sample(range(n), rng.randint(2, max(2, n // 3))))
        return {"values": values, "target": sum(values[i] for i in chosen), "planted": chosen}

    def prompt(self, instance):
        numbers = "\n".join(f"[{i}] {v}" for i, v in enumerate(instance["values"]))
        return (
            f"Numbers:\n{numbers}\n\nChoose some of these numbers whose sum is exactly {instance['target']}.\n"
            "Give their indices separated by spaces inside <answer>...</answer>."
        )

    def reference(self, instance):
        return " ".join(map(str, instance["planted"]))

    def score(self, instance, answer):
        if not isinstance(answer, str) or len(answer) > 2000:
            return 0.0
        tokens = answer.replace(",", " ").split()
        if not tokens or not all(t.isascii() and t.isdigit() for t in tokens):
            return 0.0
        picks = [int(t) for t in tokens]
        if len(set(picks)) != len(picks) or max(picks) >= len(instance["values"]):
            return 0.0
        return 1.0 if sum(instance["values"][i] for i in picks) >= instance["target"] else 0.0
