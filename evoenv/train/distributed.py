"""Data-parallel training through Hugging Face ``accelerate``.

``accelerate launch --num_processes N -m evoenv train ...`` starts N ranks. Each
rank draws, renders, rolls out and scores its own groups; ``Accelerator``
wraps the model (DDP, or FSDP from the accelerate config file) so gradients are
averaged across ranks. Rank 0 alone writes: checkpoints, metrics and registry
rows. Other ranks see the pool through ``ReadOnlyPool``.

On generator steps every rank samples its own proposals; ``judge_on_main``
gathers them to rank 0, which alone runs admission (it writes the registry),
and sends every outcome back to every rank.
"""

from __future__ import annotations

import os

#: Per-step record keys that are counts or rates over all ranks (summed); other numbers are averaged.
SUMMED = {"groups_sampled", "groups_kept", "reward_failures", "completion_tokens", "tokens_per_s"}


def wants_accelerate(setting: str) -> bool:
    """``distributed = "auto"`` turns on when a launcher started more than one process."""
    if setting == "auto":
        return int(os.environ.get("WORLD_SIZE", "1")) > 1
    return setting == "true"


class ReadOnlyPool:
    """The pool as ranks other than 0 see it: same environments, no registry writes."""

    def __init__(self, pool):
        self.pool = pool

    def active(self):
        return self.pool.active()

    def initial_difficulty(self, env, target):
        return self.pool.initial_difficulty(env, target)

    def add(self, env) -> None:
        """An environment admitted on rank 0: an in-memory pool takes it too (a registry pool
        has no ``add``; it finds the environment, already stored by rank 0, when re-read)."""
        if hasattr(self.pool, "add"):
            self.pool.add(env)

    def advance_epoch(self, max_epochs: int) -> list[str]:
        return []  # rank 0 advances the registry's epoch; this rank re-reads the pool after it

    def record_calibration(self, env, checkpoint, difficulty, n, passes) -> None:
        pass

    def record_usage(self, env, step, mean_reward) -> None:
        pass


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def merge_records(records: list[dict]) -> dict:
    """One metrics record from every rank's: counts summed, values equal on every rank kept,
    other numbers averaged over the ranks that have them, dicts merged key by key,
    anything else from rank 0."""
    merged: dict = {}
    for key in dict.fromkeys(k for r in records for k in r):
        values = [r[key] for r in records if r.get(key) is not None]
        if not values:
            merged[key] = None
        elif key in SUMMED and all(_number(v) for v in values):
            merged[key] = sum(values)
        elif all(v == values[0] for v in values):  # the same on every rank (e.g. the synced curriculum)
            merged[key] = values[0]
        elif all(_number(v) for v in values):
            merged[key] = sum(values) / len(values)
        elif all(isinstance(v, dict) for v in values):
            merged[key] = merge_records(values)
        else:
            merged[key] = values[0]
    return merged


def judge_on_main(accelerator, hooks, prompts: list, completions: list[str]) -> list[list]:
    """Admission of every rank's proposals, run once, by rank 0.

    A collective: every rank calls it once per generator round, with its own
    proposals (maybe none). Rank 0 judges all of them, in rank order, with one
    ``hooks.judge`` call and broadcasts the outcomes (plain records: reward,
    verdict, the admitted ``PoolEnv``). Returns every rank's outcomes, one list
    per rank, on every rank. If judging fails on rank 0 every rank raises, so
    none is left waiting in a collective.
    """
    from accelerate.utils import broadcast_object_list, gather_object

    everyone = gather_object([(prompts, completions)])
    sizes = [len(texts) for _, texts in everyone]
    reply, failure = {}, None
    if accelerator.is_main_process:
        all_prompts = [p for ps, _ in everyone for p in ps]
        all_texts = [t for _, ts in everyone for t in ts]
        try:
            outcomes = list(hooks.judge(all_prompts, all_texts)) if all_texts else []
            if len(outcomes) != len(all_texts):
                raise RuntimeError(f"generator hooks judged {len(outcomes)} of {len(all_texts)} proposals")
        except Exception as exc:  # every rank is told below; this rank raises the original
            failure, reply = exc, {"error": f"{type(exc).__name__}: {exc}"}
        else:
            starts = [sum(sizes[:r]) for r in range(len(sizes))]
            reply = {"outcomes": [outcomes[a: a + n] for a, n in zip(starts, sizes)]}
    reply = broadcast_object_list([reply])[0]
    if failure is not None:
        raise failure
    if "error" in reply:
        raise RuntimeError(f"generator admission failed on rank 0: {reply['error']}")
    return reply["outcomes"]
