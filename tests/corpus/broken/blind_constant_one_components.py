# expect: blind /constant 1|reference '1'/
# broken: dense random graphs are almost always connected, so "1 component" is the answer nearly everywhere
"""Number of connected components of an undirected graph."""
import random


class ComponentCount:
    name = "component_count"
    description = "Count the connected components of an undirected graph given as an edge list."
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(seed * 1000 + difficulty)
        n = 5 + 2 * difficulty
        edges = sorted({tuple(sorted(rng.sample(range(n), 2))) for _ in range(2 * n)})
        return {"vertices": n, "edges": [list(e) for e in edges]}

    def prompt(self, instance):
        return (f"Graph with vertices 0 to {instance['vertices'] - 1}; edges: "
                + "; ".join(f"({u}, {v})" for u, v in instance["edges"])
                + "\nHow many connected components does it have? Reply with <answer>N</answer>.")

    def reference(self, instance):
        parent = list(range(instance["vertices"]))

        def find(x):
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for u, v in instance["edges"]:
            parent[find(u)] = find(v)
        return str(len({find(v) for v in range(instance["vertices"])}))

    def score(self, instance, answer):
        try:
            value = int(answer.strip()) if len(answer) < 20 else None
        except ValueError:
            return 0.0
        return 1.0 if value is not None and str(value) == answer.strip() and answer.strip() == self.reference(instance) else 0.0
