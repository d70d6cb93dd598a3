"""Knight moves on a board with blocked squares; sample() returns tuples, the methods read pairs.

Style under test: sample() stores the blocked squares as (row, col) tuples, which the JSON round
trip turns into lists. Every method rebuilds ``{tuple(cell) for cell in ...}``, so the reference is
the same on the raw instance and on the round-tripped one: admitted.
"""

import random
from collections import deque

MOVES = ((1, 2), (2, 1), (-1, 2), (-2, 1), (1, -2), (2, -1), (-1, -2), (-2, -1))


class KnightDetour:
    name = "knight_detour"
    description = (
        "A knight moves on a square board and may not land on blocked squares. The answer is the "
        "fewest moves from the bottom-left corner to the top-right corner."
    )
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        size = 5 + difficulty // 2
        while True:
            blocked = set()
            for _ in range(difficulty + size):
                cell = (rng.randrange(size), rng.randrange(size))
                if cell not in ((0, 0), (size - 1, size - 1)):
                    blocked.add(cell)
            instance = {"size": size, "blocked": tuple(sorted(blocked))}
            if self._moves(instance) is not None:
                return instance

    def _moves(self, instance):
        size = instance["size"]
        blocked = {tuple(cell) for cell in instance["blocked"]}
        seen, queue = {(0, 0): 0}, deque([(0, 0)])
        while queue:
            r, c = queue.popleft()
            if (r, c) == (size - 1, size - 1):
                return seen[(r, c)]
            for dr, dc in MOVES:
                nxt = (r + dr, c + dc)
                if 0 <= nxt[0] < size and 0 <= nxt[1] < size and nxt not in blocked and nxt not in seen:
                    seen[nxt] = seen[(r, c)] + 1
                    queue.append(nxt)
        return None

    def prompt(self, instance):
        cells = ", ".join(f"({r}, {c})" for r, c in instance["blocked"])
        n = instance["size"] - 1
        return (
            f"A knight stands on (0, 0) of a board with squares (0, 0) to ({n}, {n}). It may not land on "
            f"these blocked squares: {cells}.\nWhat is the fewest number of knight moves to reach ({n}, {n})?\n"
            "Answer with one integer inside <answer>...</answer>."
        )

    def reference(self, instance):
        return str(self._moves(instance))

    def score(self, instance, answer):
        text = answer.strip() if isinstance(answer, str) else ""
        return 1.0 if text.isascii() and text.isdigit() and len(text) < 6 and text == self.reference(instance) else 0.0
