# expect-stage: blind
# expect-reason: difficulty 1: .* passes
# Broken ONE way: the dag_path_count seed before issue 14: sparse small DAGs have one or a few paths, so a small constant or a small size pays at levels 1-2.
"""Number of source-to-target paths in a DAG, modulo a prime.

Solve-verify asymmetry, kind 1: a DP over a topological order counts them in
linear time, while the count itself grows exponentially with the density.
"""

import random

import networkx as nx


class DagPathCount:
    name = "dag_path_count"
    description = (
        "Given a directed acyclic graph, a source and a target, count the distinct directed "
        "paths from the source to the target and report the count modulo a given prime. "
        "The answer is one integer in plain decimal."
    )
    max_difficulty = 10

    def sample(self, seed: int, difficulty: int) -> dict:
        rng = random.Random(f"{seed}:{difficulty}")
        n = 6 + 3 * difficulty  # 9 .. 36 nodes
        p = 0.3 + 0.03 * difficulty  # denser graphs have exponentially more paths
        # A hidden topological order with shuffled labels, so labels give nothing away.
        order = list(range(n))
        rng.shuffle(order)
        edges = sorted(
            [order[i], order[j]] for i in range(n) for j in range(i + 1, n) if rng.random() < p
        )
        return {
            "nodes": n,
            "edges": edges,
            "source": order[0],
            "target": order[-1],
            "modulus": rng.choice((10_007, 1_000_003, 998_244_353, 1_000_000_007)),
        }

    def prompt(self, instance: dict) -> str:
        lines = ", ".join(f"{u}->{v}" for u, v in instance["edges"])
        return (
            f"A directed acyclic graph has nodes 0 to {instance['nodes'] - 1} and these "
            f"edges:\n{lines}\n\n"
            f"How many distinct directed paths lead from node {instance['source']} to node "
            f"{instance['target']}? Report the count modulo {instance['modulus']} (a prime).\n"
            "Give the result as a plain decimal integer inside <answer>...</answer>."
        )

    def reference(self, instance: dict) -> str:
        graph = nx.DiGraph()
        graph.add_nodes_from(range(instance["nodes"]))
        graph.add_edges_from(instance["edges"])
        modulus = instance["modulus"]
        paths = {node: 0 for node in graph}  # paths[v] = paths from the source to v, mod p
        paths[instance["source"]] = 1
        for node in nx.topological_sort(graph):
            for successor in graph.successors(node):
                paths[successor] = (paths[successor] + paths[node]) % modulus
        return str(paths[instance["target"]])

    def score(self, instance: dict, answer: str) -> float:
        # Exact match with the canonical residue in [0, p), so "-0", "07" and p + r score 0.
        if not isinstance(answer, str) or len(answer) > 100:
            return 0.0
        return 1.0 if answer.strip() == self.reference(instance) else 0.0
