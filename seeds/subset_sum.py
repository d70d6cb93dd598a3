"""Planted subset sum: pick numbers that add up to a target.

Solve-verify asymmetry, kind 2: finding a subset is NP-hard in general, but
checking one is a sum. A subset is planted so a solution always exists, and
ANY valid subset scores 1, not only the planted one.
"""

import random
import re

_INDEX = re.compile(r"0|[1-9][0-9]{0,5}")  # canonical non-negative integer, at most 6 digits


def parse_indices(answer: str) -> list[int] | None:
    """Parse '3 0 7', '3, 0, 7' or '[3, 0, 7]' as [3, 0, 7]; None for anything else."""
    if not isinstance(answer, str) or len(answer) > 10_000:
        return None
    text = answer.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    tokens = text.replace(",", " ").split()
    if not tokens or not all(_INDEX.fullmatch(token) for token in tokens):
        return None
    return [int(token) for token in tokens]


class SubsetSum:
    name = "subset_sum"
    description = (
        "Given a list of positive integers and a target, choose some positions (each at most "
        "once) whose numbers add up to exactly the target. The answer is the chosen 0-based "
        "indices separated by spaces; any correct choice is accepted."
    )
    max_difficulty = 10

    def sample(self, seed: int, difficulty: int) -> dict:
        rng = random.Random(f"{seed}:{difficulty}")
        n = 6 + 3 * difficulty  # 9 .. 36 numbers
        values = [rng.randint(1, 10 * 3**difficulty) for _ in range(n)]  # up to 30 .. 590490
        planted = sorted(rng.sample(range(n), rng.randint(n // 4 + 1, n // 2)))
        # `planted` stays in the instance for the reference; the prompt never shows it.
        return {"values": values, "target": sum(values[i] for i in planted), "planted": planted}

    def prompt(self, instance: dict) -> str:
        values = instance["values"]
        lines = [f"index {i}: {v}" for i, v in enumerate(values)]
        return (
            f"Here are {len(values)} positive integers, with their 0-based indices:\n"
            + "\n".join(lines)
            + f"\n\nChoose some of them, each index at most once, so that the chosen numbers "
            f"add up to exactly {instance['target']}. Any correct choice is accepted.\n"
            "Give the chosen indices as decimal integers separated by spaces inside "
            "<answer>...</answer>."
        )

    def reference(self, instance: dict) -> str:
        return " ".join(map(str, instance["planted"]))

    def score(self, instance: dict, answer: str) -> float:
        indices = parse_indices(answer)
        values = instance["values"]
        if indices is None or len(set(indices)) != len(indices):  # repeats are not allowed
            return 0.0
        if any(i >= len(values) for i in indices):
            return 0.0
        return 1.0 if sum(values[i] for i in indices) == instance["target"] else 0.0
