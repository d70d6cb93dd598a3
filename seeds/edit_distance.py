"""Levenshtein edit distance between two strings.

Solve-verify asymmetry, kind 1: the classic O(n*m) DP, hard to trace by hand
because the cheapest alignment is rarely the obvious one.
"""

import random


class EditDistance:
    name = "edit_distance"
    description = (
        "Given two lowercase strings, find the minimum number of single-character "
        "insertions, deletions and substitutions that turn the first into the second. "
        "The answer is one non-negative integer in plain decimal."
    )
    max_difficulty = 10

    def sample(self, seed: int, difficulty: int) -> dict:
        rng = random.Random(f"{seed}:{difficulty}")
        alphabet = "abcdefgh"[: 4 + difficulty // 3]  # 4 .. 7 letters
        source = [rng.choice(alphabet) for _ in range(rng.randint(16 + 3 * difficulty, 26 + 4 * difficulty))]
        # The target is the source with one edit at each of k distinct positions, so the two strings stay
        # related and the distance is close to k. k is drawn from 1 .. 16 + 3 * difficulty, independent of
        # the lengths (19-30 .. 46-66 letters): neither the level nor a length gives the distance away (no
        # answer-blind guess passes over ~11% of instances at any level).
        edits = set(rng.sample(range(len(source)), rng.randint(1, min(len(source), 16 + 3 * difficulty))))
        target = []
        for position, letter in enumerate(source):
            kind = rng.choice(("insert", "delete", "substitute")) if position in edits else "keep"
            if kind == "insert":
                target += [rng.choice(alphabet), letter]
            elif kind == "substitute":
                target.append(rng.choice([other for other in alphabet if other != letter]))
            elif kind == "keep":
                target.append(letter)
        return {"source": "".join(source), "target": "".join(target)}

    def prompt(self, instance: dict) -> str:
        return (
            f'First string:  "{instance["source"]}"\n'
            f'Second string: "{instance["target"]}"\n\n'
            "What is the edit (Levenshtein) distance between them: the fewest single-"
            "character insertions, deletions and substitutions that turn the first string "
            "into the second?\n"
            "Give the distance as a plain decimal integer inside <answer>...</answer>."
        )

    def reference(self, instance: dict) -> str:
        source, target = instance["source"], instance["target"]
        previous = list(range(len(target) + 1))  # distances from "" to each prefix of target
        for i, a in enumerate(source, start=1):
            current = [i]
            for j, b in enumerate(target, start=1):
                current.append(min(
                    previous[j] + 1,  # delete a
                    current[j - 1] + 1,  # insert b
                    previous[j - 1] + (a != b),  # keep or substitute
                ))
            previous = current
        return str(previous[-1])

    def score(self, instance: dict, answer: str) -> float:
        # Exact match with the canonical integer, so "-0", "+7", "07" and "7.0" score 0.
        if not isinstance(answer, str) or len(answer) > 100:
            return 0.0
        return 1.0 if answer.strip() == self.reference(instance) else 0.0
