"""A job's process limits: its rlimits (CPU, memory, files, threads), the uid it drops to, and the
check that the zygote's own rlimits are still those it started with."""

from __future__ import annotations

import os
import resource

from evoenv_guest.zygote_state import ZygoteState

MB = 1024 * 1024


def current_rlimits() -> dict[int, tuple[int, int]]:
    return {res: resource.getrlimit(res) for res in (
        resource.RLIMIT_CPU, resource.RLIMIT_AS, resource.RLIMIT_FSIZE, resource.RLIMIT_NOFILE,
        resource.RLIMIT_CORE, resource.RLIMIT_STACK, resource.RLIMIT_NPROC, resource.RLIMIT_DATA)}


def own_limits_intact(state: ZygoteState) -> bool:
    """Whether the zygote's rlimits are still those it started with: every job starts from
    them and sets its own, so a change (a job's ``prlimit`` on the zygote) must end it."""
    return current_rlimits() == state.own_limits


def apply_rlimits(limits: dict, nproc: bool) -> None:
    """``limits`` is a whole set (``protocol.job_limits``)."""
    cpu = max(1, int(float(limits["cpu_s"]) + 0.999))
    memory = int(limits["memory_mb"]) * MB
    fsize = int(limits["file_mb"]) * MB
    settings = [
        # soft == hard: the kernel sends SIGKILL at the limit (SIGXCPU is ignored by a PID 1)
        (resource.RLIMIT_CPU, (cpu, cpu)),
        (resource.RLIMIT_AS, (memory, memory)),
        (resource.RLIMIT_FSIZE, (fsize, fsize)),
        (resource.RLIMIT_NOFILE, (64, 64)),
        (resource.RLIMIT_CORE, (0, 0)),
        # a bounded stack: runaway C recursion faults fast instead of eating the address space
        (resource.RLIMIT_STACK, (min(memory // 4, 64 * MB),) * 2),
    ]
    if nproc:
        settings.append((resource.RLIMIT_NPROC, (int(limits["threads"]),) * 2))
    for res, value in settings:
        resource.setrlimit(res, value)


def drop_privileges(uid: int) -> None:
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
