"""Order tasks so that every prerequisite comes first (any valid order).

Solve-verify asymmetry, kind 2: checking an order is one pass over the edges,
while a DAG has many valid orders and finding one by hand means repeatedly
hunting for a task with no unfinished prerequisite. ANY valid topological
order scores 1, not only the reference's.

Style under test: networkx builds and sorts the graph; the scorer is a
feasibility check, not a comparison with the reference.
"""

import random
import re

import networkx as nx

_INDEX = re.compile(r"0|[1-9][0-9]{0,3}")


class TopologicalOrder:
    name = "topological_order"
    description = (
        "Given tasks and prerequisite pairs (a before b), list every task exactly once in an order "
        "where each task comes after all of its prerequisites. The answer is the task numbers "
        "separated by spaces; any valid order is accepted."
    )
    max_difficulty = 10

    def sample(self, seed: int, difficulty: int) -> dict:
        rng = random.Random(f"{seed}:{difficulty}")
        n = 5 + 2 * difficulty  # 7 .. 25 tasks
        hidden = list(range(n))
        rng.shuffle(hidden)  # a hidden valid order, so the instance is acyclic
        p = min(0.6, 2.5 / n + 0.02 * difficulty)
        edges = [[hidden[i], hidden[j]] for i in range(n) for j in range(i + 1, n) if rng.random() < p]
        rng.shuffle(edges)
        return {"tasks": n, "edges": edges}

    def _graph(self, instance: dict) -> nx.DiGraph:
        graph = nx.DiGraph()
        graph.add_nodes_from(range(instance["tasks"]))
        graph.add_edges_from(map(tuple, instance["edges"]))
        return graph

    def prompt(self, instance: dict) -> str:
        rules = "\n".join(f"task {a} must come before task {b}" for a, b in instance["edges"])
        return (
            f"There are {instance['tasks']} tasks, numbered 0 to {instance['tasks'] - 1}, with these "
            f"rules:\n{rules}\n\n"
            "List all the tasks, each exactly once, in an order that obeys every rule. Any order "
            "that obeys them is accepted.\n"
            "Give the task numbers separated by spaces inside <answer>...</answer>."
        )

    def reference(self, instance: dict) -> str:
        return " ".join(map(str, nx.lexicographical_topological_sort(self._graph(instance))))

    def score(self, instance: dict, answer: str) -> float:
        if not isinstance(answer, str) or len(answer) > 10_000:
            return 0.0
        tokens = answer.replace(",", " ").split()
        if not tokens or not all(_INDEX.fullmatch(t) for t in tokens):
            return 0.0
        order = [int(t) for t in tokens]
        if sorted(order) != list(range(instance["tasks"])):  # every task exactly once
            return 0.0
        position = {task: i for i, task in enumerate(order)}
        return 1.0 if all(position[a] < position[b] for a, b in instance["edges"]) else 0.0
