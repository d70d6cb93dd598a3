"""Solver rewards: completions scored by their environments, in the sandbox.

Scoring is batched and asynchronous: answers are grouped by environment, each
group goes to the sandbox as one ``score`` job (split into chunks of at most
``chunk`` answers), and the jobs of all environments run concurrently
(``asyncio.gather`` over ``evoenv.sandbox.arun``). A job that times out,
crashes or runs out of memory gives reward 0 to its answers and is logged with
the environment's id; it never raises into the training loop.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import defaultdict
from dataclasses import dataclass

from evoenv.answers import extract_answer
from evoenv.sandbox import Limits, Sandbox, arun

log = logging.getLogger("evoenv.train.rewards")

#: Seconds beyond a job's wall limit after which the trainer stops waiting for it.
#: The sandbox kills its own jobs before this; this is the last guard against a stall.
HOST_DEADLINE_GRACE_S = 30.0


@dataclass(frozen=True)
class ScoreItem:
    env_id: str
    code: str
    instance: dict
    completion: str


@dataclass
class Reward:
    value: float
    answer: str
    #: None when the scorer ran; else what went wrong ("timeout", "crash", "memory",
    #: "error" for a scorer that raised, "bad_score" for a non-numeric/NaN score).
    failure: str | None = None
    #: Why the whole sandbox job failed ("timeout: ...", "error: loading failed: ..."); "" when it ran.
    job_error: str = ""


def answer_of(completion: str, answer_from: str = "tag") -> str:
    if answer_from == "completion":
        return completion.strip()
    return extract_answer(completion)


def _as_reward(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    return min(1.0, max(0.0, float(value)))


class RewardScorer:
    def __init__(self, sandbox: Sandbox, limits: Limits | None = None, chunk: int = 64, answer_from: str = "tag"):
        self.sandbox = sandbox
        self.limits = limits or Limits.for_jobs()
        self.chunk = chunk
        self.answer_from = answer_from

    async def _score_chunk(self, env_id: str, code: str,
                           items: list[tuple[dict, str]]) -> list[tuple[float, str | None, str]]:
        """(reward, failure, job_error) per item."""
        calls = [{"op": "score", "instance": inst, "answer": ans} for inst, ans in items]
        try:
            result = await asyncio.wait_for(arun(self.sandbox, code, calls, self.limits),
                                            self.limits.wall_s + HOST_DEADLINE_GRACE_S)
        except asyncio.TimeoutError:
            deadline = self.limits.wall_s + HOST_DEADLINE_GRACE_S
            log.warning("scoring env %s: no reply within %.0f s; %d rewards set to 0", env_id, deadline, len(items))
            return [(0.0, "timeout", f"timeout: no reply within {deadline:.0f} s")] * len(items)
        except Exception as exc:  # noqa: BLE001 - a broken sandbox must not kill training
            log.warning("scoring env %s: sandbox failed (%s); %d rewards set to 0", env_id, exc, len(items))
            return [(0.0, "crash", f"crash: {exc}")] * len(items)
        if not result.ok:
            log.warning("scoring env %s: job %s (%s); %d rewards set to 0",
                        env_id, result.outcome, result.detail[:200], len(items))
            return [(0.0, result.outcome, f"{result.outcome}: {result.detail}")] * len(items)
        out = []
        for call in result.results:
            if not call.ok:
                out.append((0.0, "error", ""))
                continue
            value = _as_reward(call.value)
            out.append((0.0, "bad_score", "") if value is None else (value, None, ""))
        return out

    async def ascore(self, items: list[ScoreItem]) -> list[Reward]:
        answers = [answer_of(item.completion, self.answer_from) for item in items]
        by_env: dict[str, list[int]] = defaultdict(list)
        for i, item in enumerate(items):
            by_env[item.env_id].append(i)
        jobs, job_indices = [], []
        for env_id, indices in by_env.items():
            code = items[indices[0]].code
            for start in range(0, len(indices), self.chunk):
                part = indices[start:start + self.chunk]
                jobs.append(self._score_chunk(env_id, code, [(items[i].instance, answers[i]) for i in part]))
                job_indices.append(part)
        rewards: list[Reward | None] = [None] * len(items)
        for part, scored in zip(job_indices, await asyncio.gather(*jobs)):
            for i, (value, failure, job_error) in zip(part, scored):
                rewards[i] = Reward(value, answers[i], failure, job_error)
        return rewards  # type: ignore[return-value]

    def score(self, items: list[ScoreItem]) -> list[Reward]:
        """Blocking wrapper for the (synchronous) training loop."""
        return asyncio.run(self.ascore(items)) if items else []
