"""Planted graph k-colouring.

Solve-verify asymmetry, kind 2: colouring is NP-hard in general, but checking
a colouring is one pass over the edges. The graph is built around a hidden
k-colouring, and ANY proper colouring with colours 0..k-1 scores 1.
"""

import random
import re

_COLOUR = re.compile(r"0|[1-9][0-9]{0,5}")  # canonical non-negative integer, at most 6 digits


def parse_colours(answer: str) -> list[int] | None:
    """Parse '0 2 1', '0, 2, 1' or '[0, 2, 1]' as [0, 2, 1]; None for anything else."""
    if not isinstance(answer, str) or len(answer) > 10_000:
        return None
    text = answer.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    tokens = text.replace(",", " ").split()
    if not tokens or not all(_COLOUR.fullmatch(token) for token in tokens):
        return None
    return [int(token) for token in tokens]


class GraphColoring:
    name = "graph_coloring"
    description = (
        "Given an undirected graph and a number of colours k, give every vertex a colour "
        "from 0 to k-1 so that no edge joins two vertices of the same colour. The answer is "
        "the colours of vertices 0, 1, 2, ... in order, separated by spaces; any proper "
        "colouring is accepted."
    )
    max_difficulty = 10

    def sample(self, seed: int, difficulty: int) -> dict:
        rng = random.Random(f"{seed}:{difficulty}")
        n = 6 + 3 * difficulty  # 9 .. 36 vertices
        k = 3 + difficulty // 5  # 3 .. 5 colours
        p = 0.25 + 0.03 * difficulty  # edge density between differently coloured vertices
        planted = [rng.randrange(k) for _ in range(n)]
        # Only vertices of different planted colours are joined, so `planted` is proper.
        edges = [
            [u, v]
            for u in range(n)
            for v in range(u + 1, n)
            if planted[u] != planted[v] and rng.random() < p
        ]
        return {"vertices": n, "colours": k, "edges": edges, "planted": planted}

    def prompt(self, instance: dict) -> str:
        n, k = instance["vertices"], instance["colours"]
        edges = ", ".join(f"{u}-{v}" for u, v in instance["edges"])
        return (
            f"An undirected graph has vertices 0 to {n - 1} and these edges:\n{edges}\n\n"
            f"Colour every vertex with one of the colours 0 to {k - 1} so that the two ends "
            "of every edge get different colours. Any such colouring is accepted.\n"
            f"Give the {n} colours of vertices 0, 1, ..., {n - 1} in that order, as decimal "
            "integers separated by spaces, inside <answer>...</answer>."
        )

    def reference(self, instance: dict) -> str:
        return " ".join(map(str, instance["planted"]))

    def score(self, instance: dict, answer: str) -> float:
        colours = parse_colours(answer)
        if colours is None or len(colours) != instance["vertices"]:  # every vertex, exactly once
            return 0.0
        if any(c >= instance["colours"] for c in colours):  # at most k colours: 0..k-1
            return 0.0
        return 1.0 if all(colours[u] != colours[v] for u, v in instance["edges"]) else 0.0
