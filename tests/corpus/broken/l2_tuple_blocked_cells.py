# expect: L2 JSON round trip & tuple & blocked
# broken: blocked cells are stored as (row, col) tuples; after the JSON round trip they are lists, so `(r, c) in blocked` is always False and the reference walks through walls
"""Shortest path through a grid with walls, broken on purpose: the reference ignores the walls
after the JSON round trip.

sample() stores the blocked cells as tuples. The platform hands every method the instance after
json.dumps/json.loads, where they are lists, so the prompt still shows the walls but the BFS in
reference() never sees one: it reports the open-grid distance. Nothing raises.
"""

import random
from collections import deque


class GridWalls:
    name = "grid_walls"
    description = (
        "A robot walks on a grid from the top-left cell to the bottom-right cell, one step up, down, "
        "left or right at a time, never entering a blocked cell. The answer is the fewest steps."
    )
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        size = 4 + difficulty
        while True:
            blocked = set()
            for _ in range(size * size // 4):
                cell = (rng.randrange(size), rng.randrange(size))
                if cell not in ((0, 0), (size - 1, size - 1)):
                    blocked.add(cell)
            instance = {"size": size, "blocked": sorted(blocked)}
            if self._distance(instance) is not None:
                return instance

    def _distance(self, instance):
        size, blocked = instance["size"], instance["blocked"]
        seen, queue = {(0, 0): 0}, deque([(0, 0)])
        while queue:
            r, c = queue.popleft()
            if (r, c) == (size - 1, size - 1):
                return seen[(r, c)]
            for nr, nc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                if 0 <= nr < size and 0 <= nc < size and (nr, nc) not in blocked and (nr, nc) not in seen:
                    seen[(nr, nc)] = seen[(r, c)] + 1
                    queue.append((nr, nc))
        return None

    def prompt(self, instance):
        size = instance["size"]
        walls = {tuple(cell) for cell in instance["blocked"]}
        rows = ["".join("#" if (r, c) in walls else "." for c in range(size)) for r in range(size)]
        return (
            "Grid ('#' is a wall, '.' is open):\n" + "\n".join(rows) +
            "\n\nWhat is the fewest number of steps from the top-left cell to the bottom-right cell, "
            "moving up, down, left or right and never into a wall?\n"
            "Answer with one integer inside <answer>...</answer>."
        )

    def reference(self, instance):
        return str(self._distance(instance))

    def score(self, instance, answer):
        text = answer.strip() if isinstance(answer, str) else ""
        if not text.isascii() or not text.isdigit() or len(text) > 6:
            return 0.0
        return 1.0 if text == self.reference(instance) else 0.0
