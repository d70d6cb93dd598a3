"""Run untrusted environment code: the host side of the sandbox.

``open_sandbox("process")`` (the default) is a pool of forked, isolated
zygote processes on this machine; ``open_sandbox("docker")`` is a warm pool
of containers running the same zygote. ``SandboxedEnv`` is the API the rest
of the platform uses; code that runs calls itself builds them with the protocol's
constructors (``protocol.render(seed, difficulty)``, ``protocol.score(instance, answer)``, ...).
"""

from __future__ import annotations

import os

from evoenv.sandbox.base import (
    CRASH,
    ERROR,
    MEMORY,
    OK,
    OUTPUT_LIMIT,
    POLICY,
    TIMEOUT,
    CallResult,
    JobResult,
    Limits,
    Sandbox,
    SandboxError,
    SandboxUnavailable,
    arun,
    protocol,
)
from evoenv.sandbox.env import EnvCallError, EnvInfo, Rendered, SandboxedEnv

BACKENDS = ("process", "docker")


def open_sandbox(kind: str | None = None, workers: int | None = None, limits: Limits | None = None,
                 **options) -> Sandbox:
    """A sandbox of the given kind (default from ``EVOENV_SANDBOX``, else ``process``).

    ``options`` go to the backend (e.g. ``recycle_after``; ``static_policy=False`` is for tests only).
    Raises ``SandboxUnavailable`` when the backend lacks the required isolation layers."""
    kind = kind or os.environ.get("EVOENV_SANDBOX", "process")
    workers = workers or max(1, min(4, os.cpu_count() or 1))
    if kind == "process":
        from evoenv.sandbox.process import ProcessSandbox

        return ProcessSandbox(workers=workers, limits=limits, **options)
    if kind == "docker":
        from evoenv.sandbox.docker_backend import DockerSandbox

        return DockerSandbox(workers=workers, limits=limits, **options)
    raise ValueError(f"unknown sandbox backend {kind!r}; choose one of {', '.join(BACKENDS)}")


__all__ = [
    "BACKENDS", "CRASH", "ERROR", "MEMORY", "OK", "OUTPUT_LIMIT", "POLICY", "TIMEOUT",
    "CallResult", "EnvCallError", "EnvInfo", "JobResult", "Limits", "Rendered", "Sandbox",
    "SandboxError", "SandboxUnavailable", "SandboxedEnv", "arun", "open_sandbox", "protocol",
]
