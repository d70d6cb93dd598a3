# expect: blind len(instance['grid']) & difficulty 1
# broken: small maps whose island count is usually the number of rows: answering len(grid) pays (it passes L1-L5: the module-level helpers probe)
"""Count the islands of a grid map.

Solve-verify asymmetry, kind 1: a flood fill counts connected land regions in
one pass; by eye, diagonal touches and long thin coasts are easy to miscount.

Style under test: constants and the algorithm live at module level, the class
only wires them together, and the file keeps a ``__main__`` demo block.
"""

import random
from collections import deque

LAND = "#"
WATER = "."
STEPS = ((1, 0), (-1, 0), (0, 1), (0, -1))  # 4-connectivity: diagonals do not join land
MAX_ANSWER_CHARS = 20


def make_grid(rng: random.Random, rows: int, cols: int, land_share: float) -> list[str]:
    return ["".join(LAND if rng.random() < land_share else WATER for _ in range(cols)) for _ in range(rows)]


def count_islands(grid: list[str]) -> int:
    rows, cols = len(grid), len(grid[0])
    seen = [[False] * cols for _ in range(rows)]
    islands = 0
    for r in range(rows):
        for c in range(cols):
            if grid[r][c] != LAND or seen[r][c]:
                continue
            islands += 1
            seen[r][c] = True
            queue = deque([(r, c)])
            while queue:
                y, x = queue.popleft()
                for dy, dx in STEPS:
                    ny, nx_ = y + dy, x + dx
                    if 0 <= ny < rows and 0 <= nx_ < cols and grid[ny][nx_] == LAND and not seen[ny][nx_]:
                        seen[ny][nx_] = True
                        queue.append((ny, nx_))
    return islands


def canonical_int(text: str) -> str | None:
    text = text.strip()
    if len(text) > MAX_ANSWER_CHARS or not text.isascii() or not text.isdigit():
        return None
    if len(text) > 1 and text[0] == "0":
        return None
    return text


class GridIslands:
    name = "grid_islands"
    description = (
        "Given a rectangular map of land (#) and water (.), count the islands: groups of land "
        "cells connected horizontally or vertically (not diagonally). The answer is the count as "
        "one integer in plain decimal."
    )
    max_difficulty = 10

    def sample(self, seed: int, difficulty: int) -> dict:
        rng = random.Random(f"{seed}:{difficulty}")
        rows, cols = 3 + difficulty, 4 + 2 * difficulty  # 4x6 .. 13x24
        return {"grid": make_grid(rng, rows, cols, land_share=rng.uniform(0.3, 0.5))}

    def prompt(self, instance: dict) -> str:
        return (
            f"Here is a map; {LAND} is land and {WATER} is water:\n\n"
            + "\n".join(instance["grid"])
            + "\n\nLand cells that share a side belong to the same island (touching only at a "
            "corner does not count). How many islands are there?\n"
            "Give the count as a plain decimal integer inside <answer>...</answer>."
        )

    def reference(self, instance: dict) -> str:
        return str(count_islands(instance["grid"]))

    def score(self, instance: dict, answer: str) -> float:
        if not isinstance(answer, str) or len(answer) > 1000:
            return 0.0
        return 1.0 if canonical_int(answer) == str(count_islands(instance["grid"])) else 0.0


if __name__ == "__main__":  # a local demo; never runs inside the sandbox
    env = GridIslands()
    demo = env.sample(0, 3)
    print(env.prompt(demo))
    print("reference:", env.reference(demo))
