"""Render many instances in chunks, so no single sandbox job's result nears the result cap.

A job's whole result comes back as one frame, capped at ``Limits.result_bytes``;
an export of thousands of large instances in one job is refused (``output_limit``).
``render_stream`` sends the pairs in chunks sized from the instances seen so far
(about a quarter of the cap, and a quarter of the wall-clock limit, per chunk), halves
a chunk that still comes back too large or too slow, and yields rows as they come,
so memory stays bounded by one chunk. An instance that alone exceeds the cap is
yielded as an ``Oversize`` marker for the caller to skip or refuse.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

from evoenv.sandbox.base import MEMORY, OUTPUT_LIMIT, TIMEOUT, Limits, SandboxError
from evoenv.sandbox.env import Rendered, SandboxedEnv

#: Share of the result cap (and of the wall-clock limit) one chunk aims at.
CHUNK_SHARE = 0.25
FIRST_CHUNK = 16
MAX_CHUNK = 2000
#: Outcomes a smaller chunk can cure; a single instance that meets them is the environment's fault.
_TOO_BIG = (OUTPUT_LIMIT, TIMEOUT, MEMORY)


@dataclass(frozen=True)
class Oversize:
    """One instance whose rendering alone exceeds the sandbox's result cap."""

    seed: int
    difficulty: int
    cap_bytes: int

    def describe(self, env_name: str) -> str:
        return (f"{env_name}: instance seed={self.seed} difficulty={self.difficulty} alone exceeds "
                f"the sandbox result cap of {self.cap_bytes} bytes")


def job_limits(env: SandboxedEnv) -> Limits:
    """The limits ``env``'s jobs run under: its own, else its sandbox's, else the defaults."""
    return env.limits or getattr(env.sandbox, "limits", None) or Limits()


def _row_bytes(item: Rendered) -> int:
    return len(json.dumps({"instance": item.instance, "prompt": item.prompt, "reference": item.reference},
                          ensure_ascii=False).encode())


def render_stream(env: SandboxedEnv, pairs: list[tuple[int, int]]) -> Iterator[Rendered | Oversize]:
    """``env.render_many(pairs)`` in chunks, in order; ``Oversize`` in place of an instance too large
    to come back alone. Other failures (the environment raising, a single instance timing out)
    raise as ``render_many`` does."""
    limits = job_limits(env)
    size, start = FIRST_CHUNK, 0
    while start < len(pairs):
        chunk = pairs[start:start + size]
        began = time.monotonic()
        try:
            rendered = env.render_many(chunk)
        except SandboxError as exc:
            if exc.result.outcome not in _TOO_BIG:
                raise
            if len(chunk) > 1:
                size = max(1, len(chunk) // 2)
                continue
            if exc.result.outcome != OUTPUT_LIMIT:
                raise
            yield Oversize(chunk[0][0], chunk[0][1], limits.result_bytes)
            start += 1
            continue
        elapsed = time.monotonic() - began
        yield from rendered
        start += len(chunk)
        biggest = max(_row_bytes(item) for item in rendered)
        by_bytes = int(limits.result_bytes * CHUNK_SHARE / max(biggest, 1))
        by_time = int(len(chunk) * limits.wall_s * CHUNK_SHARE / max(elapsed, 1e-3))
        size = max(1, min(MAX_CHUNK, by_bytes, by_time, 4 * len(chunk)))  # grow gradually
