import random

import networkx as nx


class BipartiteCheck:
    name = "bipartite_check"
    description = "Decide whether an undirected graph given as an edge list is bipartite; answer yes or no."
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"bipartite:{seed}:{difficulty}")
        nodes = 4 + 2 * difficulty
        side = [rng.randint(0, 1) for _ in range(nodes)]
        edges = set()
        for _ in range(nodes + difficulty):
            a, b = rng.sample(range(nodes), 2)
            if side[a] != side[b]:
                edges.add((min(a, b), max(a, b)))
        if rng.random() < 0.5:  # a triangle: an odd cycle makes it not bipartite
            a, b, c = sorted(rng.sample(range(nodes), 3))
            edges.update({(a, b), (b, c), (a, c)})
        return {"nodes": nodes, "edges": sorted([list(e) for e in edges])}

    def prompt(self, instance):
        edges = ", ".join(f"{a}-{b}" for a, b in instance["edges"])
        return (
            f"An undirected graph has nodes 0..{instance['nodes'] - 1} and edges {edges}. "
            "Is it bipartite (can the nodes be split into two groups with every edge between the groups)? "
            "Answer yes or no inside <answer>...</answer>."
        )

    def reference(self, instance):
        graph = nx.Graph()
        graph.add_nodes_from(range(instance["nodes"]))
        graph.add_edges_from(tuple(e) for e in instance["edges"])
        return "yes" if nx.is_bipartite(graph) else "no"

    def score(self, instance, answer):
        if not isinstance(answer, str) or len(answer) > 20:
            return 0.0
        return 1.0 if answer.strip().lower() == self.reference(instance) else 0.0
