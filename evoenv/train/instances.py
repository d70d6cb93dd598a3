"""Curriculum tasks rendered into problem instances, through the sandbox.

One ``render`` job per environment, all environments concurrently. An
environment whose job fails loses its groups for this step (logged with its
id); the step goes on with the rest.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict
from dataclasses import dataclass

from evoenv.sandbox import Limits, Sandbox, arun, protocol
from evoenv.train.curriculum import Task

log = logging.getLogger("evoenv.train.instances")

#: Training instances use seeds below this; held-out evaluation uses seeds at or above it.
TRAIN_SEED_LIMIT = 2**30


@dataclass(frozen=True)
class Instance:
    task: Task
    seed: int
    instance: dict
    prompt: str
    reference: str = ""


async def _render_env(sandbox: Sandbox, limits: Limits, code: str, env_id: str,
                      pairs: list[tuple[int, int]]) -> list[dict] | None:
    calls = [protocol.render(s, d) for s, d in pairs]
    try:
        result = await arun(sandbox, code, calls, limits)
    except Exception as exc:  # one broken environment must not stop training
        log.warning("rendering env %s: sandbox failed (%s); its groups are skipped", env_id, exc)
        return None
    if not result.ok:
        log.warning("rendering env %s: job %s (%s); its groups are skipped", env_id, result.outcome, result.detail[:200])
        return None
    values = []
    for call in result.results:
        if not call.ok or not isinstance(call.value, dict) or not isinstance(call.value.get("prompt"), str):
            log.warning("rendering env %s: %s; its groups are skipped", env_id, call.error_text or "bad render value")
            return None
        values.append(call.value)
    return values


async def _render_all(sandbox, limits, tasks, seeds) -> list[Instance | None]:
    by_env: dict[str, list[int]] = defaultdict(list)
    for i, task in enumerate(tasks):
        by_env[task.env.id].append(i)
    order = list(by_env.items())
    jobs = [_render_env(sandbox, limits, tasks[idx[0]].env.code, env_id,
                        [(seeds[i], tasks[i].difficulty) for i in idx]) for env_id, idx in order]
    out: list[Instance | None] = [None] * len(tasks)
    for (_env_id, idx), values in zip(order, await asyncio.gather(*jobs)):
        if values is None:
            continue
        for i, value in zip(idx, values):
            reference = value.get("reference")
            out[i] = Instance(tasks[i], seeds[i], value["instance"], value["prompt"],
                              reference if isinstance(reference, str) else "")
    return out


def render_tasks(sandbox: Sandbox, limits: Limits, tasks: list[Task], rng: random.Random,
                 seeds: list[int] | None = None) -> list[Instance | None]:
    """One instance per task (None where its environment failed to render); a task's own seed
    (a dataset row) is kept, the others get fresh training seeds."""
    if seeds is None:
        seeds = [t.seed if t.seed is not None else rng.randrange(TRAIN_SEED_LIMIT) for t in tasks]
    return asyncio.run(_render_all(sandbox, limits, tasks, seeds)) if tasks else []
