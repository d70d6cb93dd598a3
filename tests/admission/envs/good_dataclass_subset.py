"""Planted subset sum written as a dataclass with staticmethods and module-level helpers:
an unusual but valid style. ANY valid subset scores 1."""
from dataclasses import dataclass
import random
from evoenv.sdk import parse_int_list


def _planted(rng, n, hi):
    values = [rng.randint(1, hi) for _ in range(n)]
    chosen = sorted(rng.sample(range(n), max(1, n // 3)))
    return values, chosen


class _Formatter:
    @staticmethod
    def listing(values):
        return ", ".join(f"#{i}: {v}" for i, v in enumerate(values))


@dataclass
class PlantedSubsetSum:
    name: str = "planted_subset_sum_dc"
    description: str = "Pick distinct indices whose values sum to the target; answer the indices."
    max_difficulty: int = 8

    def sample(self, seed: int, difficulty: int, *extra) -> dict:
        rng = random.Random(seed * 1000 + difficulty)
        values, chosen = _planted(rng, 4 + difficulty * 2, 20 * difficulty)
        return {"values": values, "target": sum(values[i] for i in chosen), "planted": chosen}

    @staticmethod
    def prompt(instance):
        return ("Values: " + _Formatter.listing(instance["values"]) +
                f"\nChoose distinct indices whose values sum to {instance['target']}."
                " Write the indices separated by spaces in <answer>...</answer>.")

    @staticmethod
    def reference(instance):
        return " ".join(map(str, instance["planted"]))

    def score(self, instance, answer, strict=True):
        picked = parse_int_list(answer)
        if not picked or len(set(picked)) != len(picked):
            return 0.0
        if any(not 0 <= i < len(instance["values"]) for i in picked):
            return 0.0
        return 1.0 if sum(instance["values"][i] for i in picked) == instance["target"] else 0.0
