# expect: blind there is no cycle
# broken: the offered phrase 'there is no cycle' is the answer in most instances, so copying it from the prompt pays (it passes L1-L5: the multi-word offered answer probe)
"""The shortest directed cycle through a given node, or "there is no cycle".

Solve-verify asymmetry, kind 1: a breadth-first search from the node finds
the shortest way back; by hand, people find *a* cycle, not the shortest, and
cannot easily be sure that none exists.

Style under test: the special answer is a phrase of four words, offered in
every prompt. Numeric answers are small, so among the references only the
phrase is long enough to be checked for leaks, and it is format, not a leak.
"""

import random
from collections import deque

NO_CYCLE = "there is no cycle"


class ShortestCycleThrough:
    name = "shortest_cycle_through"
    description = (
        "Given a directed graph and a node, find the length (number of edges) of the shortest "
        "directed cycle that passes through that node. The answer is that length as an integer, or "
        "the phrase 'there is no cycle'."
    )
    max_difficulty = 10

    def sample(self, seed: int, difficulty: int) -> dict:
        rng = random.Random(f"{seed}:{difficulty}")
        n = 5 + 2 * difficulty  # 7 .. 25 nodes
        p = 1.2 / n + 0.005 * difficulty  # sparse: the node often lies on no cycle at all
        edges = [[u, v] for u in range(n) for v in range(n) if u != v and rng.random() < p]
        return {"nodes": n, "edges": edges, "start": rng.randrange(n)}

    def prompt(self, instance: dict) -> str:
        arcs = ", ".join(f"{u}->{v}" for u, v in instance["edges"]) or "(none)"
        return (
            f"A directed graph has nodes 0 to {instance['nodes'] - 1} and these edges: {arcs}\n\n"
            f"What is the smallest number of edges in a directed cycle that starts and ends at node "
            f"{instance['start']}, following edges only in their direction?\n"
            f"If node {instance['start']} lies on no cycle, the answer is the phrase: {NO_CYCLE}\n"
            "Give the length as a plain decimal integer, or that phrase, inside <answer>...</answer>."
        )

    def reference(self, instance: dict) -> str:
        start = instance["start"]
        successors: dict = {u: [] for u in range(instance["nodes"])}
        for u, v in instance["edges"]:
            successors[u].append(v)
        dist = {start: 0}
        queue = deque([start])
        while queue:
            u = queue.popleft()
            for v in successors[u]:
                if v == start:
                    return str(dist[u] + 1)
                if v not in dist:
                    dist[v] = dist[u] + 1
                    queue.append(v)
        return NO_CYCLE

    def score(self, instance: dict, answer: str) -> float:
        if not isinstance(answer, str) or len(answer) > 100:
            return 0.0
        return 1.0 if " ".join(answer.lower().split()) == self.reference(instance) else 0.0
