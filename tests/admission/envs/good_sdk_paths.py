"""Grid path counting via the SDK base class and its helpers, with a property for the name."""
from evoenv.sdk import Environment as Base
from functools import lru_cache


class GridPaths(Base):
    description = "Count monotone lattice paths avoiding blocked cells, modulo 1000003."
    max_difficulty = 6

    @property
    def name(self):
        return "grid_paths"

    def sample(self, seed, difficulty):
        rng = self.rng(seed, difficulty)
        size = 4 + difficulty  # at least 5x5: smaller grids have so few path counts that one is a good guess
        blocked = sorted({(rng.randrange(size), rng.randrange(size)) for _ in range(rng.randint(1, size))} - {(0, 0), (size - 1, size - 1)})
        return {"size": size, "blocked": [list(b) for b in blocked]}

    def prompt(self, instance):
        return (f"On a {instance['size']}x{instance['size']} grid, moving only right or down from the top-left to the "
                f"bottom-right cell, avoiding blocked cells {instance['blocked']}, how many paths are there "
                "(mod 1000003)? Put the number in <answer></answer>.")

    def reference(self, instance):
        n = instance["size"]
        blocked = {tuple(b) for b in instance["blocked"]}

        @lru_cache(maxsize=None)
        def ways(r, c):
            if r >= n or c >= n or (r, c) in blocked:
                return 0
            if (r, c) == (n - 1, n - 1):
                return 1
            return (ways(r + 1, c) + ways(r, c + 1)) % 1000003

        return str(ways(0, 0))

    def score(self, instance, answer):
        value = self.parse_int(answer)
        return float(value is not None and value == int(self.reference(instance)))
