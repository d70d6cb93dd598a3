# expect: blind the constant 0 & difficulty 1
# broken: sparse random graphs rarely contain a triangle, so answering 0 pays in most instances
"""Count the triangles of an undirected graph."""
import itertools
import random


class TriangleCount:
    name = "triangle_count"
    description = "Count the triangles (sets of three mutually adjacent vertices) of an undirected graph."
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"tri:{seed}:{difficulty}")
        n = 6 + 3 * difficulty
        p = 1.3 / n  # sparse: about one edge per vertex
        edges = [[u, v] for u, v in itertools.combinations(range(n), 2) if rng.random() < p]
        return {"n": n, "edges": edges}

    def prompt(self, instance):
        edges = ", ".join(f"{u}-{v}" for u, v in instance["edges"])
        return (f"An undirected graph has vertices 0..{instance['n'] - 1} and edges: {edges}.\n"
                "How many triangles does it contain? Answer with one integer inside <answer>...</answer>.")

    def reference(self, instance):
        adjacent = {tuple(e) for e in instance["edges"]}
        return str(sum(1 for a, b, c in itertools.combinations(range(instance["n"]), 3)
                       if (a, b) in adjacent and (a, c) in adjacent and (b, c) in adjacent))

    def score(self, instance, answer):
        text = answer.strip()
        if len(text) > 12 or not text.isascii() or not text.isdigit():
            return 0.0
        return 1.0 if str(int(text)) == text and text == self.reference(instance) else 0.0
