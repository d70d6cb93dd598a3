"""Maximum flow through a small pipe network.

Solve-verify asymmetry, kind 1: Edmonds-Karp computes it exactly; by hand,
people push flow greedily and miss the augmenting paths that reroute it.

Style under test: the reference is a short integer built from the same small
capacities the prompt lists, so it often appears among the prompt's numbers by
chance, which is not a leak. Also imports a networkx submodule by its path.
"""

import random

import networkx as nx
from networkx.algorithms.flow import edmonds_karp


class PipeNetworkFlow:
    name = "pipe_network_flow"
    description = (
        "Given a network of one-way pipes with capacities, find the largest amount that can flow "
        "per second from the source S to the sink T. The answer is one integer."
    )
    max_difficulty = 10

    def sample(self, seed: int, difficulty: int) -> dict:
        rng = random.Random(f"{seed}:{difficulty}")
        inner = 2 + difficulty  # 3 .. 12 junctions besides S and T
        names = ["S"] + [f"J{i}" for i in range(1, inner + 1)] + ["T"]
        pipes = []
        for i, u in enumerate(names[:-1]):
            # forward pipes, so S reaches T; a few backward ones too
            for v in rng.sample(names[i + 1:], min(len(names) - i - 1, rng.randint(1, 3))):
                pipes.append([u, v, rng.randint(1, 9)])
            if 0 < i and rng.random() < 0.3:
                v = rng.choice(names[1:i + 1])
                if v != u:
                    pipes.append([u, v, rng.randint(1, 9)])
        return {"pipes": pipes}

    def prompt(self, instance: dict) -> str:
        rows = "\n".join(f"{u} -> {v}: capacity {c}" for u, v, c in instance["pipes"])
        return (
            "Water flows through one-way pipes; each pipe carries at most its capacity (units per "
            "second), and junctions store nothing.\n" + rows +
            "\n\nWhat is the largest total flow per second from S to T?\n"
            "Give it as a plain decimal integer inside <answer>...</answer>."
        )

    def reference(self, instance: dict) -> str:
        graph = nx.DiGraph()
        for u, v, c in instance["pipes"]:
            if graph.has_edge(u, v):
                graph[u][v]["capacity"] += c
            else:
                graph.add_edge(u, v, capacity=c)
        return str(nx.maximum_flow_value(graph, "S", "T", flow_func=edmonds_karp))

    def score(self, instance: dict, answer: str) -> float:
        if not isinstance(answer, str) or len(answer) > 20:
            return 0.0
        text = answer.strip()
        return 1.0 if text.isascii() and text.isdigit() and text == self.reference(instance) else 0.0
