# expect: novelty shortest_path & code structure
# broken: the shortest_path seed reworded AND with every field, variable and the random seed string renamed,
# so its instances and prompts share nothing with the seed's; the code's structure still gives it away
"""Weighted shortest path in a directed net, or "unhit".

Solve-verify asymmetry, kind 1: Dijkstra is one library call, while by hand a
cheap-looking first hop often leads to the wrong total, and telling "no path"
from "a long path" needs a full search.
"""

import random

import networkx as nx


class LightestRoute:
    name = "lightest_route"
    description = (
        "Given a directed net with positive integer edge weights, a source and a target, "
        "find the total weight of a lightest path from the source to the target. The answer "
        "is that total as a plain decimal integer, or the word unhit when no path exists."
    )
    max_difficulty = 10

    def sample(self, seed: int, difficulty: int) -> dict:
        rng = random.Random(f"route-{seed}-{difficulty}")
        n = 5 + 3 * difficulty  # 8 .. 35 nodes
        p = (1.5 + 0.15 * difficulty) / (n - 1)  # mean out-degree 1.65 .. 3: sparse, so some nodes are cut off
        edges = [
            [u, v, rng.randint(1, 6 + 4 * difficulty)]
            for u in range(n)
            for v in range(n)
            if u != v and rng.random() < p
        ]
        net = nx.DiGraph()
        net.add_nodes_from(range(n))
        net.add_weighted_edges_from(edges)
        # A source with somewhere to go: a node without out-edges would make "unhit" the answer
        # in about one instance in five, a guess that pays without reading the net.
        source = rng.choice([v for v in range(n) if net.out_degree(v) > 0] or list(range(n)))
        hit = sorted(nx.descendants(net, source))
        unhit = sorted(set(range(n)) - set(hit) - {source})
        # About one instance in twelve asks for a node that cannot be reached.
        want_unhit = rng.random() < 0.08
        pool = unhit if (want_unhit and unhit) or not hit else hit
        return {"size": n, "roads": edges, "start": source, "goal": rng.choice(pool)}

    def prompt(self, instance: dict) -> str:
        lines = [f"{u} -> {v} (weight {w})" for u, v, w in instance["roads"]]
        return (
            f"Consider a one-way road network with junctions 0 to {instance['size'] - 1}. Roads:\n"
            + "\n".join(lines)
            + f"\n\nFind the cheapest total cost of a route from junction {instance['start']} "
            f"to junction {instance['goal']}; roads are one-way.\n"
            "If there is no such path, the answer is the word unhit. Give the total as "
            "a plain decimal integer, or that word, inside <answer>...</answer>."
        )

    def reference(self, instance: dict) -> str:
        net = nx.DiGraph()
        net.add_nodes_from(range(instance["size"]))
        net.add_weighted_edges_from(instance["roads"])
        if not nx.has_path(net, instance["start"], instance["goal"]):
            return "unhit"
        return str(nx.dijkstra_path_length(net, instance["start"], instance["goal"]))

    def score(self, instance: dict, answer: str) -> float:
        # Exact match: the canonical integer, or "unhit" in any letter case.
        if not isinstance(answer, str) or len(answer) > 100:
            return 0.0
        return 1.0 if answer.strip().lower() == self.reference(instance) else 0.0
