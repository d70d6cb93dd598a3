"""Pools for the battery: each backend with every layer on, and with the language layers off."""

from __future__ import annotations

import pytest

from evoenv.sandbox import Limits, open_sandbox
from tests.conftest import docker_available, require

#: Small limits keep the battery quick; the classes of outcome are what is tested. The CPU limit
#: leaves room for slow_memory_growth to fault in 512 MB before it (0.3-0.5 s of CPU here, over
#: 1 s on a slower CI machine, which then read as a timeout instead of running out of memory).
BATTERY_LIMITS = Limits(cpu_s=2.0, wall_s=4.0, memory_mb=512)
BACKENDS = ["process", pytest.param("docker", marks=pytest.mark.docker)]
_pools: dict = {}


def battery_pool(backend: str, layers: str):
    """One pool per (backend, layers) for the whole session, closed at the end."""
    key = (backend, layers)
    if key not in _pools:
        if backend == "docker":
            ok, why = docker_available()
            require(ok, why)
        language = layers == "full"
        _pools[key] = open_sandbox(backend, workers=2, limits=BATTERY_LIMITS,
                                   static_policy=language, restricted_builtins=language)
    return _pools[key]


def close_all() -> None:
    for pool in _pools.values():
        pool.close()
    _pools.clear()
