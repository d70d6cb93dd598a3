import random


class BlockedLatticePaths:
    name = "blocked_lattice_paths"
    description = (
        "Count the monotone paths (right or down moves only) from the top-left to the bottom-right "
        "corner of a grid with blocked cells; the answer is that count modulo 7."
    )
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"lattice:{seed}:{difficulty}")
        rows, cols = 2 + difficulty, 3 + difficulty
        density = 0.1 + 0.02 * difficulty
        grid = []
        for r in range(rows):
            row = ""
            for c in range(cols):
                corner = (r, c) in ((0, 0), (rows - 1, cols - 1))
                row += "#" if not corner and rng.random() < density else "."
            grid.append(row)
        return {"grid": grid}

    def prompt(self, instance):
        return (
            "In this grid, '.' is open and '#' is blocked:\n"
            + "\n".join(instance["grid"])
            + "\n\nHow many paths go from the top-left cell to the bottom-right cell moving only right or down "
            "through open cells? Give the number of paths modulo 7 inside <answer>...</answer>."
        )

    def reference(self, instance):
        grid = instance["grid"]
        ways = [[0] * len(grid[0]) for _ in grid]
        for r, row in enumerate(grid):
            for c, cell in enumerate(row):
                if cell == "#":
                    continue
                if r == 0 and c == 0:
                    ways[r][c] = 1
                else:
                    ways[r][c] = (ways[r - 1][c] if r else 0) + (ways[r][c - 1] if c else 0)
        return str(ways[-1][-1] % 7)

    def score(self, instance, answer):
        if not isinstance(answer, str) or len(answer) > 20:
            return 0.0
        return 1.0 if answer.strip() == self.reference(instance) else 0.0
