"""Data-parallel training through Hugging Face ``accelerate``.

``accelerate launch --num_processes N -m evoenv train ...`` starts N ranks. Each
rank draws, renders, rolls out and scores its own groups; ``Accelerator``
wraps the model (DDP, or FSDP from the accelerate config file) so gradients are
averaged across ranks. Rank 0 alone writes: checkpoints, metrics and registry
rows. Other ranks see the pool through ``ReadOnlyPool``.
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
