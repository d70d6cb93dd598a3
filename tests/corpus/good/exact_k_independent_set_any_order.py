"""A planted independent set of exactly k vertices: any valid set, in any order, scores 1.

Style under test: a feasibility ("hard to find, easy to check") task with a set answer. A shuffled
answer is the same set and scores 1; the reference plus another vertex, minus one vertex, or every
vertex at once has the wrong size and scores 0, as L5's near misses require.
"""

import random


class QuietCommittee:
    name = "quiet_committee"
    description = (
        "People who quarrel are joined by an edge. Choose exactly k people no two of whom quarrel. Any "
        "such set is correct. The answer is their numbers, in any order."
    )
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        n = 8 + 2 * difficulty
        k = 3 + difficulty // 2
        chosen = sorted(rng.sample(range(n), k))
        edges = set()
        while len(edges) < 2 * n:
            u, v = rng.sample(range(n), 2)
            if not (u in chosen and v in chosen):
                edges.add((min(u, v), max(u, v)))
        return {"n": n, "k": k, "edges": [list(e) for e in sorted(edges)], "planted": chosen}

    def prompt(self, instance):
        pairs = "; ".join(f"{u} and {v}" for u, v in instance["edges"])
        return (
            f"People 0 to {instance['n'] - 1}. These pairs quarrel: {pairs}.\n"
            f"Choose exactly {instance['k']} people, no two of whom quarrel.\n"
            "Give their numbers separated by spaces (any order) inside <answer>...</answer>."
        )

    def reference(self, instance):
        return " ".join(map(str, instance["planted"]))

    def score(self, instance, answer):
        if not isinstance(answer, str) or len(answer) > 1000:
            return 0.0
        tokens = answer.replace(",", " ").split()
        if not tokens or not all(t.isascii() and t.isdigit() and len(t) < 4 for t in tokens):
            return 0.0
        people = {int(t) for t in tokens}
        if len(people) != len(tokens) or len(people) != instance["k"] or max(people) >= instance["n"]:
            return 0.0
        return 0.0 if any(u in people and v in people for u, v in instance["edges"]) else 1.0
