"""Knight moves on a board with blocked squares; sample() returns tuples, the methods read pairs.

Style under test: sample() stores the blocked squares and the target squares as (row, col) tuples,
which the JSON round trip turns into lists. Every method rebuilds ``{tuple(cell) for cell in ...}``
or ``tuple(cell)``, so the reference is the same on the raw instance and on the round-tripped one:
admitted. The answer lists the fewest moves to several targets, not to one corner: a single
distance on a small board is one of a handful of values, a guess the blind stage rightly rejects.
"""

import random
from collections import deque

MOVES = ((1, 2), (2, 1), (-1, 2), (-2, 1), (1, -2), (2, -1), (-1, -2), (-2, -1))


class KnightDetour:
    name = "knight_detour"
    description = (
        "A knight moves on a square board and may not land on blocked squares. The answer is the "
        "fewest moves from the bottom-left corner to each listed target square, in the listed order."
    )
    max_difficulty = 10

    def sample(self, seed, difficulty):
        rng = random.Random(f"{seed}:{difficulty}")
        size = 5 + difficulty // 2
        while True:
            blocked = set()
            for _ in range(difficulty + size):
                cell = (rng.randrange(size), rng.randrange(size))
                if cell != (0, 0):
                    blocked.add(cell)
            free = [(r, c) for r in range(size) for c in range(size) if (r, c) not in blocked and (r, c) != (0, 0)]
            targets = rng.sample(free, min(len(free), 3 + difficulty // 3))
            instance = {"size": size, "blocked": tuple(sorted(blocked)), "targets": tuple(targets)}
            moves = self._moves(instance)
            if all(tuple(cell) in moves for cell in instance["targets"]):
                return instance

    def _moves(self, instance):
        """The fewest moves from (0, 0) to every square the knight can reach."""
        size = instance["size"]
        blocked = {tuple(cell) for cell in instance["blocked"]}
        seen, queue = {(0, 0): 0}, deque([(0, 0)])
        while queue:
            r, c = queue.popleft()
            for dr, dc in MOVES:
                nxt = (r + dr, c + dc)
                if 0 <= nxt[0] < size and 0 <= nxt[1] < size and nxt not in blocked and nxt not in seen:
                    seen[nxt] = seen[(r, c)] + 1
                    queue.append(nxt)
        return seen

    def prompt(self, instance):
        cells = ", ".join(f"({r}, {c})" for r, c in instance["blocked"])
        targets = ", ".join(f"({r}, {c})" for r, c in instance["targets"])
        n = instance["size"] - 1
        return (
            f"A knight stands on (0, 0) of a board with squares (0, 0) to ({n}, {n}). It may not land on "
            f"these blocked squares: {cells}.\nFor each of these target squares, in this order: {targets}, "
            "what is the fewest number of knight moves to reach it?\n"
            "Answer with the integers in the same order, separated by spaces, inside <answer>...</answer>."
        )

    def reference(self, instance):
        moves = self._moves(instance)
        return " ".join(str(moves[tuple(cell)]) for cell in instance["targets"])

    def score(self, instance, answer):
        text = answer.strip() if isinstance(answer, str) else ""
        if not text.isascii() or len(text) > 200:
            return 0.0
        return 1.0 if text.replace(",", " ").split() == self.reference(instance).split() else 0.0
