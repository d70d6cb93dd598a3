"""Environment sources for the browser tests: a small family of generated
environments (a parent, a mutation, a crossover child), written as the
generator would write them. They only ever run in the sandbox."""

from __future__ import annotations

_TEMPLATE = '''import random


class {cls}:
    name = "{name}"
    description = ("{description} Give the answer as one integer "
                   "inside <answer>...</answer>.")
    max_difficulty = {max_difficulty}

    def sample(self, seed, difficulty):
        rng = random.Random(seed * 1000 + difficulty)
        size = {size_expr}
        values = [rng.randint({low}, {high_expr}) for _ in range(size)]
        return {{"values": values, "modulus": {modulus}}}

    def prompt(self, instance):
        return ("{question} " + ", ".join(map(str, instance["values"]))
                + "\\nPut the final answer inside <answer>...</answer>.")

    def reference(self, instance):
        return str({reference_expr})

    def score(self, instance, answer):
        try:
            return 1.0 if int(answer.strip()) == int(self.reference(instance)) else 0.0
        except ValueError:
            return 0.0
'''


def env_source(name: str, *, description: str, question: str, reference_expr: str,
               size_expr: str = "3 + 2 * difficulty", high_expr: str = "10 * difficulty",
               low: int = 0, modulus: int = 1_000_003, max_difficulty: int = 10) -> str:
    cls = "".join(part.title() for part in name.split("_"))
    return _TEMPLATE.format(cls=cls, name=name, description=description, question=question,
                            reference_expr=reference_expr, size_expr=size_expr, high_expr=high_expr,
                            low=low, modulus=modulus, max_difficulty=max_difficulty)


SUM_MOD = env_source(
    "sum_mod_prime", description="Sum a list of integers modulo a prime.",
    question="Compute the sum of these numbers modulo 1000003:",
    reference_expr='sum(instance["values"]) % instance["modulus"]')

WEIGHTED_SUM = env_source(
    "weighted_sum_mod_prime", description="Sum i * v_i over a list (i from 1) modulo a prime.",
    question="Compute sum of i*v_i (i counts from 1) modulo 1000003 for:",
    reference_expr='sum(i * v for i, v in enumerate(instance["values"], 1)) % instance["modulus"]',
    size_expr="4 + 3 * difficulty")

MAX_GAP = env_source(
    "max_adjacent_gap", description="Largest absolute difference between neighbours in a list.",
    question="Give the largest |a[i+1] - a[i]| over neighbouring numbers in:",
    reference_expr='max(abs(b - a) for a, b in zip(instance["values"], instance["values"][1:]))',
    size_expr="2 + 2 * difficulty", max_difficulty=8)

# The constant answer makes it trivial: the L4 non-triviality stage rejects it.
CONSTANT = env_source(
    "always_zero_sum", description="Sum a list and subtract itself.",
    question="Compute (sum - sum) for:", reference_expr="0")

BROKEN = SUM_MOD.replace("def reference(self, instance):\n        return str(",
                         "def reference(self, instance):\n        return str(1 // 0 + ")
