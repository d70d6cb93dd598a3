"""Matrix-chain multiplication: the cheapest parenthesisation's cost.

Solve-verify asymmetry, kind 1: an O(n^3) interval DP; by hand the number of
parenthesisations is a Catalan number.

Style under test: subclasses ``evoenv.sdk.Environment``, inherits
``max_difficulty`` (10) from it, and uses ``self.rng`` and ``self.parse_int``.
"""

from functools import lru_cache

from evoenv.sdk import Environment


class MatrixChainCost(Environment):
    name = "matrix_chain_cost"
    description = (
        "Given the dimensions of a chain of matrices, find the smallest number of scalar "
        "multiplications needed to compute their product (choosing the best parenthesisation). "
        "The answer is one integer in plain decimal."
    )

    def sample(self, seed, difficulty):
        rng = self.rng(seed, difficulty)
        matrices = 2 + difficulty  # 3 .. 12 matrices
        dims = [rng.randint(2, 5 + 4 * difficulty) for _ in range(matrices + 1)]
        return {"dims": dims}

    def prompt(self, instance):
        dims = instance["dims"]
        shapes = [f"M{i + 1} is {dims[i]} x {dims[i + 1]}" for i in range(len(dims) - 1)]
        return (
            "Multiplying a p x q matrix by a q x r matrix costs p*q*r scalar multiplications.\n"
            + "\n".join(shapes)
            + f"\n\nWhat is the smallest total cost of computing M1 * M2 * ... * M{len(dims) - 1}, "
            "over all ways of parenthesising the product?\n"
            "Give the cost as a plain decimal integer inside <answer>...</answer>."
        )

    def reference(self, instance):
        dims = tuple(instance["dims"])

        @lru_cache(maxsize=None)
        def cost(i: int, j: int) -> int:  # matrices i..j inclusive, 0-based
            if i == j:
                return 0
            return min(cost(i, k) + cost(k + 1, j) + dims[i] * dims[k + 1] * dims[j + 1] for k in range(i, j))

        return str(cost(0, len(dims) - 2))

    def score(self, instance, answer):
        value = self.parse_int(answer)
        return 1.0 if value is not None and str(value) == self.reference(instance) else 0.0
