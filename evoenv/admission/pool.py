"""The training pool: rotation of admitted environments and the seed floor.

Admitted environments stay in the pool for ``pool_max_epochs`` epochs and then
retire, so the curriculum keeps moving; the seeds are always kept at a floor
share of sampled prompts (paper: 0.2) so training never loses its anchors.
Both are thin policies over the Registry API.
"""

from __future__ import annotations

import random

from evoenv.admission.config import AdmissionConfig


def rotate_pool(registry, config: AdmissionConfig | None = None) -> list[int]:
    """End one pool epoch: ids of the environments that retired now."""
    config = config or AdmissionConfig()
    return list(registry.advance_pool_epoch(config.pool_max_epochs))


def sample_training_envs(registry, k: int, rng: random.Random, config: AdmissionConfig | None = None) -> list:
    """k environments for the next training batch, at least ``seed_floor`` of them seeds."""
    config = config or AdmissionConfig()
    return list(registry.sample_pool(k, rng, seed_floor=config.seed_floor))
