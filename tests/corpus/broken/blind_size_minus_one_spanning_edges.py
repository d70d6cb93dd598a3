# expect: blind instance['nodes']-1 & 100%
# broken: the graph is always connected, so a spanning tree always has nodes - 1 edges: the answer is a size
"""How many edges does a spanning tree of this connected graph have?"""
import random


class SpanningEdges:
    name = "spanning_edges"
    description = "Given a connected weighted graph, report how many edges its minimum spanning tree uses."
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}|{difficulty}|span")
        nodes = rng.randint(4 + 2 * difficulty, 8 + 4 * difficulty)
        edges = [[i, rng.randrange(i), rng.randint(1, 20)] for i in range(1, nodes)]
        for _ in range(nodes):
            u, v = rng.sample(range(nodes), 2)
            edges.append([u, v, rng.randint(1, 20)])
        return {"nodes": nodes, "edges": edges}

    def prompt(self, instance):
        lines = "\n".join(f"{u} -- {v} (weight {w})" for u, v, w in instance["edges"])
        return (f"A graph with {instance['nodes']} nodes, numbered from 0, and these edges:\n{lines}\n"
                "How many edges does a minimum spanning tree of this graph contain? <answer>...</answer>")

    def reference(self, instance):
        parent = list(range(instance["nodes"]))

        def find(x):
            while parent[x] != x:
                x = parent[x]
            return x

        used = 0
        for u, v, w in sorted(instance["edges"], key=lambda e: e[2]):
            if find(u) != find(v):
                parent[find(u)] = find(v)
                used += 1
        return str(used)

    def score(self, instance, answer):
        return 1.0 if answer.strip() == self.reference(instance) else 0.0
