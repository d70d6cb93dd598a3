"""``SandboxedEnv``: an environment's source code, driven through a sandbox.

This is the one API through which host code runs environment code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evoenv.sandbox.base import JobResult, Limits, Sandbox, SandboxError, protocol


@dataclass(frozen=True)
class EnvInfo:
    name: str
    description: str
    max_difficulty: int
    class_name: str


@dataclass(frozen=True)
class Rendered:
    seed: int
    difficulty: int
    instance: dict
    prompt: str
    reference: str


class EnvCallError(RuntimeError):
    """The environment's own code raised during a call."""


class SandboxedEnv:
    """Environment source plus the sandbox it runs in. Every method is one sandbox job."""

    def __init__(self, code: str, sandbox: Sandbox, limits: Limits | None = None):
        self.code = code
        self.sandbox = sandbox
        self.limits = limits
        self._info: EnvInfo | None = None

    def run(self, calls: Sequence[protocol.Call], fresh_hash_seed: int | None = None) -> JobResult:
        """Run raw calls; raises SandboxError unless the job completed."""
        result = self.sandbox.run(self.code, calls, self.limits, fresh_hash_seed=fresh_hash_seed)
        if not result.ok:
            raise SandboxError(result)
        return result

    def _values(self, calls: Sequence[protocol.Call]) -> list:
        values = []
        for spec, item in zip(calls, self.run(calls).results):
            if not item.ok:
                raise EnvCallError(f"{spec['op']}() raised {item.error_text}")
            values.append(item.value)
        return values

    def info(self) -> EnvInfo:
        if self._info is None:
            (value,) = self._values([protocol.describe()])
            self._info = EnvInfo(**value)
        return self._info

    def render_many(self, pairs: list[tuple[int, int]]) -> list[Rendered]:
        calls = [protocol.render(s, d) for s, d in pairs]
        return [Rendered(s, d, v["instance"], v["prompt"], v["reference"])
                for (s, d), v in zip(pairs, self._values(calls))]

    def render(self, seed: int, difficulty: int) -> Rendered:
        return self.render_many([(seed, difficulty)])[0]

    def score_many(self, items: list[tuple[dict, str]]) -> list[float]:
        """Scores for (instance, answer) pairs. A scorer that raises scores 0 for that pair;
        a job that fails as a whole (timeout, crash) raises SandboxError."""
        calls = [protocol.score(inst, ans) for inst, ans in items]
        return [float(r.value) if r.ok else 0.0 for r in self.run(calls).results]

    def score(self, instance: dict, answer: str) -> float:
        return self.score_many([(instance, answer)])[0]
