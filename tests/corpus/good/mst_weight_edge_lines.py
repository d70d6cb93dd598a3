"""Weight of a minimum spanning tree of a weighted undirected graph.

Written the way a model writes it after reading the shortest_path seed: the
same edge lines (`u -- v (weight w)`), networkx, an exact-match scorer. The
quantity and the algorithm differ (Kruskal's tree weight, not Dijkstra's path
length), so novelty must admit it although the prompts read alike.
"""

import random

import networkx as nx


class MinimumSpanningTreeWeight:
    name = "mst_weight"
    description = (
        "Given a connected undirected graph with positive integer edge weights, find the total "
        "weight of a minimum spanning tree. The answer is that total as a plain decimal integer."
    )
    max_difficulty = 10

    def sample(self, seed: int, difficulty: int) -> dict:
        rng = random.Random(f"mst:{seed}:{difficulty}")
        n = 5 + 3 * difficulty  # 8 .. 35 nodes
        order = list(range(n))
        rng.shuffle(order)
        # a random spanning tree keeps the graph connected; extra edges make the choice non-trivial
        edges = {tuple(sorted((order[i], order[rng.randrange(i)]))) for i in range(1, n)}
        while len(edges) < n - 1 + n * (1 + difficulty) // 4:
            u, v = rng.sample(range(n), 2)
            edges.add(tuple(sorted((u, v))))
        weighted = [[u, v, rng.randint(1, 6 + 4 * difficulty)] for u, v in sorted(edges)]
        return {"nodes": n, "edges": weighted}

    def prompt(self, instance: dict) -> str:
        lines = [f"{u} -- {v} (weight {w})" for u, v, w in instance["edges"]]
        return (
            f"An undirected graph has nodes 0 to {instance['nodes'] - 1} and these edges:\n"
            + "\n".join(lines)
            + "\n\nWhat is the smallest total weight of a set of edges that connects all the nodes "
            "(a minimum spanning tree)? Edges can be used in either direction.\n"
            "Give the total as a plain decimal integer inside <answer>...</answer>."
        )

    def reference(self, instance: dict) -> str:
        graph = nx.Graph()
        graph.add_nodes_from(range(instance["nodes"]))
        graph.add_weighted_edges_from(instance["edges"])
        return str(int(nx.minimum_spanning_tree(graph).size(weight="weight")))

    def score(self, instance: dict, answer: str) -> float:
        if not isinstance(answer, str) or len(answer) > 100:
            return 0.0
        return 1.0 if answer.strip() == self.reference(instance) else 0.0
