"""The k-th smallest sum of one number from each of two lists.

Solve-verify asymmetry, kind 1: a heap walks the sums in order (or bisection
counts them); by hand there are n*m sums to sort.

Style under test: heapq, bisect and itertools do the work; the reference
is computed with a heap and cross-checked by counting with bisect.
"""

import bisect
import heapq
import itertools
import random
import re

_CANONICAL = re.compile(r"0|[1-9][0-9]{0,12}")


def kth_sum_heap(xs: list[int], ys: list[int], k: int) -> int:
    xs, ys = sorted(xs), sorted(ys)
    heap = [(xs[0] + y, 0, j) for j, y in enumerate(ys)]
    heapq.heapify(heap)
    for value, i, j in itertools.islice(iter(lambda: heapq.heappop(heap), None), k - 1):
        if i + 1 < len(xs):
            heapq.heappush(heap, (xs[i + 1] + ys[j], i + 1, j))
    return heap[0][0]


def count_at_most(xs: list[int], ys: list[int], limit: int) -> int:
    ys = sorted(ys)
    return sum(bisect.bisect_right(ys, limit - x) for x in xs)


def kth_sum_bisect(xs: list[int], ys: list[int], k: int) -> int:
    sums = sorted(set(x + y for x, y in itertools.product(xs, ys)))
    return sums[bisect.bisect_left([count_at_most(xs, ys, s) for s in sums], k)]


class KthPairSum:
    name = "kth_pair_sum"
    description = (
        "Given two lists of numbers, consider every sum of one number from the first list and one "
        "from the second (all n*m pairs, counted with repetition). The answer is the k-th smallest "
        "such sum, as an integer."
    )
    max_difficulty = 10

    def sample(self, seed: int, difficulty: int) -> dict:
        rng = random.Random(f"{seed}:{difficulty}")
        n, m = 3 + difficulty, 2 + difficulty  # 4x3 .. 13x12 pairs
        xs = [rng.randint(1, 20 * difficulty) for _ in range(n)]
        ys = [rng.randint(1, 20 * difficulty) for _ in range(m)]
        return {"first": xs, "second": ys, "k": rng.randint(2, n * m - 1)}

    def prompt(self, instance: dict) -> str:
        return (
            f"First list: {', '.join(map(str, instance['first']))}\n"
            f"Second list: {', '.join(map(str, instance['second']))}\n\n"
            "Form every sum of one number from the first list and one number from the second list "
            f"({len(instance['first']) * len(instance['second'])} sums, keeping repeats). Sort them "
            f"from smallest to largest. What is sum number {instance['k']} in that order (counting from 1)?\n"
            "Give it as a plain decimal integer inside <answer>...</answer>."
        )

    def reference(self, instance: dict) -> str:
        xs, ys, k = instance["first"], instance["second"], instance["k"]
        value = kth_sum_heap(xs, ys, k)
        assert value == kth_sum_bisect(xs, ys, k)  # two algorithms must agree
        return str(value)

    def score(self, instance: dict, answer: str) -> float:
        if not isinstance(answer, str) or len(answer) > 100 or not _CANONICAL.fullmatch(answer.strip()):
            return 0.0
        return 1.0 if int(answer.strip()) == kth_sum_heap(instance["first"], instance["second"], instance["k"]) else 0.0
