# expect-stage: blind
# expect-reason: guessed without reading the instance: difficulty 1: .*('yes'|'no')
# Broken ONE way: a balanced yes/no question, so answering one word pays about half the time
# (it passes L1-L5: a sound scorer for a guessable task).
"""Is this graph bipartite? A yes/no task using networkx, with only 3 levels."""
import random

import networkx as nx


class Bipartite:
    name = "bipartite_check"
    description = "Decide whether an undirected graph is bipartite. Answer yes or no."
    max_difficulty = 3

    def sample(self, seed, difficulty):
        rng = random.Random(f"bip-{seed}-{difficulty}")
        n = 4 + 4 * difficulty
        graph = nx.gnm_random_graph(n, n + difficulty * 2, seed=rng.randrange(10**9))
        if rng.random() < 0.5:  # plant a bipartite graph half of the time
            side = {v: rng.randrange(2) for v in graph.nodes}
            graph.remove_edges_from([(u, v) for u, v in list(graph.edges) if side[u] == side[v]])
        return {"n": n, "edges": sorted([sorted(e) for e in graph.edges])}

    def prompt(self, instance):
        edges = "; ".join(f"{u}-{v}" for u, v in instance["edges"])
        return (f"An undirected graph has vertices 0..{instance['n'] - 1} and edges {edges}. "
                "Is it bipartite? Reply <answer>yes</answer> or <answer>no</answer>.")

    def reference(self, instance):
        graph = nx.Graph()
        graph.add_nodes_from(range(instance["n"]))
        graph.add_edges_from(instance["edges"])
        return "yes" if nx.is_bipartite(graph) else "no"

    def score(self, instance, answer):
        word = answer.strip().lower().rstrip(".")
        return 1.0 if word in ("yes", "no") and word == self.reference(instance) else 0.0
