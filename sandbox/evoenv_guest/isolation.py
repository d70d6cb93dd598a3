"""Isolation a child applies to itself before it loads environment code.

Layers (each reported by ``available_layers``): process group, rlimits,
a private scratch directory. The sandbox issue adds namespaces, a non-root
uid, no_new_privs and seccomp.
"""

from __future__ import annotations

import os
import resource
import tempfile

MB = 1024 * 1024


def apply_rlimits(limits: dict) -> None:
    cpu = max(1, int(float(limits["cpu_s"]) + 0.999))
    memory = int(limits["memory_mb"]) * MB
    for res, value in (
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_AS, (memory, memory)),
        (resource.RLIMIT_FSIZE, (16 * MB, 16 * MB)),
        (resource.RLIMIT_NOFILE, (64, 64)),
        (resource.RLIMIT_CORE, (0, 0)),
    ):
        resource.setrlimit(res, value)


def enter_scratch() -> str:
    scratch = tempfile.mkdtemp(prefix="evoenv-job-")
    os.chdir(scratch)
    return scratch


def apply(limits: dict) -> None:
    enter_scratch()
    apply_rlimits(limits)
