"""What the benchmarks share: the repository on sys.path, one timing loop, one percentile.

A benchmark imports this module before ``evoenv`` so that ``python3 bench/NAME.py``
runs from a checkout without PYTHONPATH (the script's folder, bench/, is on sys.path).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def timed(fn: Callable[[], object], reps: int, *, warm: bool = True) -> list[float]:
    """Seconds taken by each of ``reps`` calls of ``fn``; one untimed call first when ``warm``
    (caches, lazy imports, the first connection)."""
    if warm:
        fn()
    samples = []
    for _ in range(reps):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def percentile(samples: list[float], q: float) -> float:
    """The ``q``-th percentile (1..99) of ``samples``, interpolated between the nearest two."""
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1]
