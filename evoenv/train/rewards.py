"""Solver rewards: completions scored by their environments, in the sandbox.

Scoring is batched and asynchronous: answers are grouped by environment, each
group goes to the sandbox as one ``score`` job (split into chunks of at most
``chunk`` answers), and the jobs of all environments run concurrently
(``asyncio.gather`` over ``evoenv.sandbox.arun``). A job that times out,
crashes or runs out of memory gives reward 0 to its answers and is logged with
the environment's id; it never raises into the training loop.

Every job is audited (``evoenv.audit``): for a share of instances a known-wrong answer is scored in
the same job. An environment that pays for one is quarantined through ``on_quarantine``, and from
then on its answers get reward 0 (failure "quarantined") without running it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from evoenv.answers import extract_answer
from evoenv.audit import DEFAULT_AUDIT_SHARE, Finding, audited_batch
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
    #: the instance's reference, seed and difficulty when known: the audit's evidence, and its
    #: "reference with extra content" answers
    reference: str | None = None
    seed: int | None = None
    difficulty: int | None = None


@dataclass
class Reward:
    value: float
    answer: str
    #: None when the scorer ran; else what went wrong ("timeout", "crash", "memory",
    #: "error" for a scorer that raised or returned a value the host refused (not a number in [0, 1]),
    #: "quarantined" for an environment the runtime audit caught paying for a wrong answer).
    failure: str | None = None
    #: Why the whole sandbox job failed ("timeout: ...", "error: loading failed: ..."); "" when it ran.
    job_error: str = ""


def answer_of(completion: str, answer_from: str = "tag") -> str:
    if answer_from == "completion":
        return completion.strip()
    return extract_answer(completion)


class RewardScorer:
    def __init__(self, sandbox: Sandbox, limits: Limits | None = None, chunk: int = 64, answer_from: str = "tag",
                 audit_share: float = DEFAULT_AUDIT_SHARE,
                 on_quarantine: Callable[[str, Finding], None] | None = None):
        self.sandbox = sandbox
        self.limits = limits or Limits.for_jobs()
        self.chunk = chunk
        self.answer_from = answer_from
        self.audit_share = audit_share
        #: called once per environment the audit catches (the trainer quarantines it in the registry)
        self.on_quarantine = on_quarantine
        #: env id -> what the audit caught it paying for; these environments earn nothing any more
        self.quarantined: dict[str, Finding] = {}

    def _quarantine(self, env_id: str, finding: Finding) -> None:
        if env_id in self.quarantined:
            return
        self.quarantined[env_id] = finding
        log.warning("env %s quarantined: %s; its rewards are 0 from now on", env_id, finding.reason())
        if self.on_quarantine is not None:
            try:
                self.on_quarantine(env_id, finding)
            except Exception as exc:  # recording the catch must not stop training
                log.warning("env %s: recording the quarantine failed: %s", env_id, exc)

    async def _score_chunk(self, env_id: str, code: str, items: list[ScoreItem],
                           answers: list[str]) -> list[tuple[float, str | None, str]]:
        """(reward, failure, job_error) per item."""
        batch = audited_batch([it.instance for it in items], answers, [it.reference for it in items],
                              self.audit_share)
        calls = batch.calls
        try:
            result = await asyncio.wait_for(arun(self.sandbox, code, calls, self.limits),
                                            self.limits.wall_s + HOST_DEADLINE_GRACE_S)
        except TimeoutError:
            deadline = self.limits.wall_s + HOST_DEADLINE_GRACE_S
            log.warning("scoring env %s: no reply within %.0f s; %d rewards set to 0", env_id, deadline, len(items))
            return [(0.0, "timeout", f"timeout: no reply within {deadline:.0f} s")] * len(items)
        except Exception as exc:  # a broken sandbox must not kill training
            log.warning("scoring env %s: sandbox failed (%s); %d rewards set to 0", env_id, exc, len(items))
            return [(0.0, "crash", f"crash: {exc}")] * len(items)
        if not result.ok:
            log.warning("scoring env %s: job %s (%s); %d rewards set to 0",
                        env_id, result.outcome, result.detail[:200], len(items))
            return [(0.0, result.outcome, f"{result.outcome}: {result.detail}")] * len(items)
        real, found = batch.split(result.results, [it.seed for it in items], [it.difficulty for it in items],
                                  [it.instance for it in items])
        if found:
            self._quarantine(env_id, found[0])
        if env_id in self.quarantined:
            return [(0.0, "quarantined", f"quarantined: {self.quarantined[env_id].reason()}")] * len(items)
        out = []
        for call in real:
            if not call.ok:
                out.append((0.0, "error", ""))
                continue
            out.append((call.value, None, ""))  # the host checked it: a finite float in [0, 1]
        return out

    async def ascore(self, items: list[ScoreItem]) -> list[Reward]:
        answers = [answer_of(item.completion, self.answer_from) for item in items]
        by_env: dict[str, list[int]] = defaultdict(list)
        for i, item in enumerate(items):
            by_env[item.env_id].append(i)
        jobs, job_indices = [], []
        rewards: list[Reward | None] = [None] * len(items)
        for env_id, indices in by_env.items():
            if env_id in self.quarantined:
                for i in indices:
                    rewards[i] = Reward(0.0, answers[i], "quarantined",
                                        f"quarantined: {self.quarantined[env_id].reason()}")
                continue
            code = items[indices[0]].code
            for start in range(0, len(indices), self.chunk):
                part = indices[start:start + self.chunk]
                jobs.append(self._score_chunk(env_id, code, [items[i] for i in part], [answers[i] for i in part]))
                job_indices.append(part)
        for part, scored in zip(job_indices, await asyncio.gather(*jobs)):
            for i, (value, failure, job_error) in zip(part, scored):
                rewards[i] = Reward(value, answers[i], failure, job_error)
        return rewards  # type: ignore[return-value]

    def score(self, items: list[ScoreItem]) -> list[Reward]:
        """Blocking wrapper for the (synchronous) training loop."""
        return asyncio.run(self.ascore(items)) if items else []
