"""ROUGE-L cost: the bit-parallel LCS in evoenv.cotevol.diversity against the textbook O(nm)
table, on random word sequences shaped like reasoning trajectories. Prints ratios measured
in this run (no absolute goals).

    python3 bench/cotevol_rouge.py [--reps 3]
"""

from __future__ import annotations

import argparse
import random

from _common import timed  # before evoenv: it puts the repository on sys.path

from evoenv.cotevol.diversity import lcs_length


def table_lcs(a, b) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(0)
    vocab = [f"w{i}" for i in range(300)]
    print(f"{'tokens':>7} {'table (ms)':>11} {'bit-parallel (ms)':>18} {'speed-up':>9}")
    for n in (250, 500, 1000, 2000):
        a = [rng.choice(vocab) for _ in range(n)]
        b = [rng.choice(vocab) for _ in range(n)]
        assert lcs_length(a, b) == table_lcs(a, b)
        slow = min(timed(lambda: table_lcs(a, b), args.reps, warm=False))
        fast = min(timed(lambda: lcs_length(a, b), args.reps, warm=False))
        print(f"{n:>7} {slow * 1e3:>11.1f} {fast * 1e3:>18.2f} {slow / fast:>8.0f}x")


if __name__ == "__main__":
    main()
