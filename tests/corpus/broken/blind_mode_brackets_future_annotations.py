# expect: blind most frequent reference & difficulty 1
# broken: random bracket strings of a fixed length per level: the fewest insertions concentrate on a few values, so the most frequent answer pays about half the time (it passes L1-L5: the `from __future__ import annotations` probe)
"""Fewest bracket insertions that make a bracket string balanced.

Solve-verify asymmetry, kind 1: a stack (or a DP with several bracket kinds)
gives the count in one pass; by eye, long strings of mixed brackets with
crossings such as "([)]" are easy to misjudge.

Style under test: ``from __future__ import annotations`` at the top, the
most common first line of typed modern Python; it is a compiler directive
and changes nothing at run time here.
"""

from __future__ import annotations

import random
from functools import lru_cache

PAIRS = {"(": ")", "[": "]", "{": "}"}


def fewest_insertions(text: str) -> int:
    """Interval DP: the fewest brackets to insert so that ``text`` becomes balanced."""

    @lru_cache(maxsize=None)
    def cost(i: int, j: int) -> int:  # text[i:j]
        if i >= j:
            return 0
        best = 1 + cost(i + 1, j)  # give text[i] its own partner
        if text[i] in PAIRS:
            for k in range(i + 1, j):
                if text[k] == PAIRS[text[i]]:
                    best = min(best, cost(i + 1, k) + cost(k + 1, j))
        return best

    return cost(0, len(text))


class BracketRepair:
    name = "bracket_repair"
    description = (
        "Given a string of brackets of three kinds, find the fewest brackets that must be inserted "
        "(anywhere) to make it balanced. The answer is that number as an integer."
    )
    max_difficulty = 10

    def sample(self, seed: int, difficulty: int) -> dict[str, str]:
        rng = random.Random(f"{seed}:{difficulty}")
        length = 4 + 3 * difficulty  # 7 .. 34 brackets
        return {"text": "".join(rng.choice("()[]{}") for _ in range(length))}

    def prompt(self, instance: dict[str, str]) -> str:
        return (
            f"Brackets: {instance['text']}\n\n"
            "Insert as few brackets as possible (at any positions) so that the string becomes "
            "balanced: every opening bracket is closed by the matching kind, properly nested, as in "
            "([]{}). How many brackets must be inserted?\n"
            "Give the number as a plain decimal integer inside <answer>...</answer>."
        )

    def reference(self, instance: dict[str, str]) -> str:
        return str(fewest_insertions(instance["text"]))

    def score(self, instance: dict[str, str], answer: str) -> float:
        if not isinstance(answer, str) or len(answer) > 20:
            return 0.0
        text = answer.strip()
        return 1.0 if text.isascii() and text.isdigit() and text == self.reference(instance) else 0.0
