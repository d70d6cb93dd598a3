# expect: L5 near misses & /superset|all elements/
# broken: the task asks for a vertex cover of at most k vertices; the scorer checks that every edge is covered but never checks the size, so all vertices at once (an answer-blind guess) scores 1
"""Small vertex cover, broken on purpose: the scorer forgets the size bound.

Kind 2 (hard to find, easy to check): a cover of at most k vertices is planted. The scorer checks
coverage and rejects repeated vertices, but never compares the size with k.
"""

import random


class SmallVertexCover:
    name = "small_vertex_cover"
    description = (
        "Given an undirected graph and a number k, choose at most k vertices so that every edge has "
        "at least one endpoint among them. Any such set is correct. The answer is the vertices."
    )
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        n = 6 + 2 * difficulty
        cover = sorted(rng.sample(range(n), max(2, n // 3)))
        others = [v for v in range(n) if v not in cover]
        edges = set()
        for _ in range(2 * n):
            u = rng.choice(cover)
            v = rng.choice(others + cover)
            if u != v:
                edges.add((min(u, v), max(u, v)))
        return {"n": n, "k": len(cover), "edges": [list(e) for e in sorted(edges)], "cover": cover}

    def prompt(self, instance):
        edges = ", ".join(f"{u}-{v}" for u, v in instance["edges"])
        return (
            f"A graph has vertices 0 to {instance['n'] - 1} and edges {edges}.\n"
            f"Choose at most {instance['k']} vertices so that every edge touches a chosen vertex.\n"
            "Give the chosen vertices separated by spaces inside <answer>...</answer>."
        )

    def reference(self, instance):
        return " ".join(map(str, instance["cover"]))

    def score(self, instance, answer):
        if not isinstance(answer, str) or len(answer) > 2000:
            return 0.0
        tokens = answer.split()
        if not tokens or not all(t.isascii() and t.isdigit() for t in tokens):
            return 0.0
        chosen = [int(t) for t in tokens]
        if len(set(chosen)) != len(chosen) or max(chosen) >= instance["n"]:
            return 0.0
        picked = set(chosen)
        return 1.0 if all(u in picked or v in picked for u, v in instance["edges"]) else 0.0
