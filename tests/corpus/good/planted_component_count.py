"""Connected components of a graph, with the count planted over a wide range.

Random dense graphs are almost always connected (answer 1: guessable); this one
joins a planted number of groups, drawn from 2 .. all but two of the vertices.
"""
import random


class PlantedComponents:
    name = "planted_components"
    description = "Count the connected components of an undirected graph given as an edge list."
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"components:{seed}:{difficulty}")
        n = 10 + 4 * difficulty
        groups = rng.randint(2, n - 2)
        label = [rng.randrange(groups) for _ in range(n)]
        label[:groups] = range(groups)  # every group is used
        rng.shuffle(label)
        edges = set()
        for g in range(groups):
            members = [v for v in range(n) if label[v] == g]
            for i in range(1, len(members)):  # a random tree joins each group
                edges.add(tuple(sorted((members[i], members[rng.randrange(i)]))))
            for _ in range(len(members) // 2):
                if len(members) > 1:
                    edges.add(tuple(sorted(rng.sample(members, 2))))
        edges = sorted(edges)
        rng.shuffle(edges)
        return {"vertices": n, "edges": [list(e) for e in edges]}

    def prompt(self, instance):
        return (f"Graph with vertices 0 to {instance['vertices'] - 1}; edges: "
                + "; ".join(f"({u}, {v})" for u, v in instance["edges"])
                + "\nHow many connected components does it have (an isolated vertex is a component)? "
                "Reply with the count inside <answer>...</answer>.")

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
        if not isinstance(answer, str):
            return 0.0
        text = answer.strip()
        return 1.0 if len(text) < 20 and text == self.reference(instance) else 0.0
