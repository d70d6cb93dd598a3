# expect: blind len(instance['start'])
# broken: the planted ladder's length follows the word length, so len(start)-1 is the answer about half the time (it passes L1-L5)
"""Word ladder: fewest single-letter changes, or "impossible".

Solve-verify asymmetry, kind 1: breadth-first search over the word list finds
the shortest ladder or proves there is none; by hand, people find *a* ladder,
not the shortest, and cannot easily prove that none exists.

Style under test: a special word answer ("impossible") that every prompt
offers as a possible answer, so it appears in every prompt without being a leak.
"""

import random
import string
from collections import deque

IMPOSSIBLE = "impossible"


def one_apart(a: str, b: str) -> bool:
    return sum(x != y for x, y in zip(a, b)) == 1


def ladder_length(start: str, target: str, words: list[str]) -> int | None:
    """Fewest changes from start to target through the word list, or None."""
    dist = {start: 0}
    queue = deque([start])
    while queue:
        word = queue.popleft()
        if word == target:
            return dist[word]
        for other in words:
            if other not in dist and one_apart(word, other):
                dist[other] = dist[word] + 1
                queue.append(other)
    return None


class WordLadder:
    name = "word_ladder"
    description = (
        "Change a start word into a target word one letter at a time, where every intermediate word "
        "must be in a given list. The answer is the fewest changes needed as an integer, or the "
        "word impossible if it cannot be done."
    )
    max_difficulty = 10

    def sample(self, seed: int, difficulty: int) -> dict:
        rng = random.Random(f"{seed}:{difficulty}")
        length = 3 + difficulty // 4  # 3 .. 5 letters
        letters = string.ascii_lowercase[: 5 + difficulty // 2]
        start = "".join(rng.choice(letters) for _ in range(length))
        path = [start]
        while len(path) < 3 + difficulty // 2:  # a planted ladder of 2 .. 7 changes
            word = path[-1]
            i = rng.randrange(length)
            step = word[:i] + rng.choice([c for c in letters if c != word[i]]) + word[i + 1:]
            if step not in path:
                path.append(step)
        words = path[1:]
        for _ in range(4 + 3 * difficulty):  # distractors, many of them near the ladder
            base = rng.choice(path)
            i = rng.randrange(length)
            word = base[:i] + rng.choice(letters) + base[i + 1:] if rng.random() < 0.6 else \
                "".join(rng.choice(letters) for _ in range(length))
            if word != start and word not in words:
                words.append(word)
        if rng.random() < 0.3 and len(path) > 2:  # break the planted ladder; maybe no other exists
            words.remove(path[rng.randrange(1, len(path) - 1)])
        rng.shuffle(words)
        return {"start": start, "target": path[-1], "words": words}

    def prompt(self, instance: dict) -> str:
        return (
            f"Word list: {', '.join(instance['words'])}\n\n"
            f"Turn {instance['start']} into {instance['target']} by changing one letter at a time "
            "(no adding, removing or reordering letters). Every word you pass through, and the "
            "target, must be in the word list. What is the smallest number of changes?\n"
            f"If it cannot be done, the answer is the word {IMPOSSIBLE}. Give the number as a plain "
            f"decimal integer, or the word {IMPOSSIBLE}, inside <answer>...</answer>."
        )

    def reference(self, instance: dict) -> str:
        found = ladder_length(instance["start"], instance["target"], instance["words"])
        return IMPOSSIBLE if found is None else str(found)

    def score(self, instance: dict, answer: str) -> float:
        if not isinstance(answer, str) or len(answer) > 50:
            return 0.0
        return 1.0 if answer.strip().lower() == self.reference(instance) else 0.0
