# expect-stage: blind
# expect-reason: 'unreachable'
# Broken ONE way: the shortest_path seed before issue 14: a source without out-edges or a planted unreachable target makes 'unreachable' pay about a quarter of the time.
"""Weighted shortest path in a directed graph, or "unreachable".

Solve-verify asymmetry, kind 1: Dijkstra is one library call, while by hand a
cheap-looking first hop often leads to the wrong total, and telling "no path"
from "a long path" needs a full search.
"""

import random

import networkx as nx


class ShortestPath:
    name = "shortest_path"
    description = (
        "Given a directed graph with positive integer edge weights, a source and a target, "
        "find the total weight of a lightest path from the source to the target. The answer "
        "is that total as a plain decimal integer, or the word unreachable when no path exists."
    )
    max_difficulty = 10

    def sample(self, seed: int, difficulty: int) -> dict:
        rng = random.Random(f"{seed}:{difficulty}")
        n = 5 + 3 * difficulty  # 8 .. 35 nodes
        p = (1.5 + 0.15 * difficulty) / (n - 1)  # mean out-degree 1.65 .. 3: sparse, so some nodes are cut off
        edges = [
            [u, v, rng.randint(1, 3 + 3 * difficulty)]
            for u in range(n)
            for v in range(n)
            if u != v and rng.random() < p
        ]
        graph = nx.DiGraph()
        graph.add_nodes_from(range(n))
        graph.add_weighted_edges_from(edges)
        source = rng.randrange(n)
        reachable = sorted(nx.descendants(graph, source))
        unreachable = sorted(set(range(n)) - set(reachable) - {source})
        # About one instance in five asks for a node that cannot be reached.
        want_unreachable = rng.random() < 0.2
        pool = unreachable if (want_unreachable and unreachable) or not reachable else reachable
        return {"nodes": n, "edges": edges, "source": source, "target": rng.choice(pool)}

    def prompt(self, instance: dict) -> str:
        lines = [f"{u} -> {v} (weight {w})" for u, v, w in instance["edges"]]
        return (
            f"A directed graph has nodes 0 to {instance['nodes'] - 1} and these edges:\n"
            + "\n".join(lines)
            + f"\n\nWhat is the smallest total weight of a path from node {instance['source']} "
            f"to node {instance['target']}? Edges can only be followed in the direction of "
            "the arrow.\n"
            "If there is no such path, the answer is the word unreachable. Give the total as "
            "a plain decimal integer, or that word, inside <answer>...</answer>."
        )

    def reference(self, instance: dict) -> str:
        graph = nx.DiGraph()
        graph.add_nodes_from(range(instance["nodes"]))
        graph.add_weighted_edges_from(instance["edges"])
        if not nx.has_path(graph, instance["source"], instance["target"]):
            return "unreachable"
        return str(nx.dijkstra_path_length(graph, instance["source"], instance["target"]))

    def score(self, instance: dict, answer: str) -> float:
        # Exact match: the canonical integer, or "unreachable" in any letter case.
        if not isinstance(answer, str) or len(answer) > 100:
            return 0.0
        return 1.0 if answer.strip().lower() == self.reference(instance) else 0.0
