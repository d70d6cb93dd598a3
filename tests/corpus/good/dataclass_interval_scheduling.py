"""Weighted interval scheduling, written as a dataclass.

Solve-verify asymmetry, kind 1: a sort plus a DP over predecessors finds the
heaviest set of pairwise disjoint intervals at once; by hand, greedy choices
(longest, heaviest, earliest end) all go wrong on some instance.

Style under test: the environment class itself is a ``@dataclass`` whose
contract attributes are dataclass fields with defaults, and a frozen helper
dataclass carries intervals.
"""

import bisect
import random
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Interval:
    start: int
    end: int  # exclusive: [start, end)
    weight: int


@dataclass
class WeightedIntervalScheduling:
    name: str = "weighted_interval_scheduling"
    description: str = (
        "Given meetings with start time, end time and value, choose meetings that do not overlap "
        "so that their total value is as large as possible. The answer is that largest total "
        "value as one integer in plain decimal."
    )
    max_difficulty: int = 10

    def sample(self, seed: int, difficulty: int) -> dict:
        rng = random.Random(f"{seed}:{difficulty}")
        count = 4 + 3 * difficulty  # 7 .. 34 meetings
        horizon = 10 + 6 * difficulty
        meetings = []
        for _ in range(count):
            start = rng.randrange(horizon)
            length = rng.randint(1, 2 + difficulty)
            meetings.append(asdict(Interval(start, start + length, rng.randint(1, 5 * difficulty + 5))))
        return {"meetings": meetings}

    def prompt(self, instance: dict) -> str:
        rows = [f"meeting {i}: from {m['start']} to {m['end']}, value {m['weight']}"
                for i, m in enumerate(instance["meetings"])]
        return (
            "Each meeting occupies the half-open time range [from, to): a meeting ending at 5 "
            "and one starting at 5 do not overlap.\n" + "\n".join(rows) +
            "\n\nChoose meetings that pairwise do not overlap so that their total value is as "
            "large as possible. What is that largest total value?\n"
            "Give it as a plain decimal integer inside <answer>...</answer>."
        )

    def best_total(self, instance: dict) -> int:
        intervals = sorted((Interval(**m) for m in instance["meetings"]), key=lambda iv: iv.end)
        ends = [iv.end for iv in intervals]
        best = [0] * (len(intervals) + 1)  # best[i]: optimum over the first i intervals by end
        for i, iv in enumerate(intervals, start=1):
            compatible = bisect.bisect_right(ends, iv.start, 0, i - 1)
            best[i] = max(best[i - 1], best[compatible] + iv.weight)
        return best[-1]

    def reference(self, instance: dict) -> str:
        return str(self.best_total(instance))

    def score(self, instance: dict, answer: str) -> float:
        if not isinstance(answer, str) or len(answer) > 50:
            return 0.0
        return 1.0 if answer.strip() == str(self.best_total(instance)) else 0.0
