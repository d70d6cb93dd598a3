"""Admission on a Ray cluster: ``evoenv grow --executor ray[=ADDRESS]``.

The grow driver keeps the loop, the policy calls and the registry; every sandbox job
of every admission stage (L2-L5, calibration's renders and scoring) runs on the
cluster. Each node gets one ``SandboxHost`` actor holding that node's own warm
sandbox pool (process or Docker, as on one machine), and jobs go to the host with
the fewest in flight. ``RaySandbox`` has the ``Sandbox`` interface, so admission
stages do not know where their jobs run. Ray is the optional extra ``evoenv[cluster]``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from evoenv.sandbox import JobResult, Limits, SandboxUnavailable, open_sandbox, protocol

EXTRA = "pip install 'evoenv[cluster]'"
EXECUTORS = ("local", "ray")


class ExecutorError(ValueError):
    """An --executor value that cannot be used; the message says what to do."""


def parse_executor(spec: str | None) -> tuple[str, str | None]:
    """``local`` -> (local, None); ``ray`` -> (ray, None: RAY_ADDRESS or a running cluster);
    ``ray=HOST:PORT`` or ``ray=ray://HOST:10001`` -> (ray, address)."""
    spec = (spec or "local").strip()
    kind, eq, address = spec.partition("=")
    kind = kind.strip().lower()
    if kind not in EXECUTORS:
        raise ExecutorError(f"unknown executor {spec!r}; use local (the default), ray, or ray=ADDRESS")
    if kind == "local":
        if eq:
            raise ExecutorError(f"executor {spec!r}: local takes no address")
        return "local", None
    if eq and not address.strip():
        raise ExecutorError(f"executor {spec!r}: write ray=HOST:PORT (the head's GCS address) or plain ray")
    return "ray", address.strip() or None


def import_ray():
    try:
        import ray
    except ImportError:
        raise ExecutorError(f"--executor ray needs Ray, which is not installed: {EXTRA}") from None
    return ray


def open_admission_sandbox(executor: str | None, kind: str | None = None, workers: int | None = None):
    """The sandbox admission runs its jobs on: this machine's pool, or one pool per Ray node."""
    which, address = parse_executor(executor)
    if which == "local":
        return open_sandbox(kind, workers=workers)
    return RaySandbox(address, kind=kind, workers=workers)


class SandboxHost:
    """A Ray actor: one node's warm sandbox pool. Runs many jobs at once (threaded actor)."""

    def __init__(self, kind: str | None, workers: int | None):
        import os
        import socket

        self.sandbox = open_sandbox(kind, workers=workers)
        self.where = {"host": socket.gethostname(), "pid": os.getpid(), "kind": self.sandbox.kind}

    def describe(self) -> dict:
        return self.where

    def run(self, code: str, calls: Sequence[protocol.Call], limits: Limits | None, fresh_hash_seed: int | None) -> JobResult:
        return self.sandbox.run(code, calls, limits, fresh_hash_seed=fresh_hash_seed)

    def close(self) -> None:
        self.sandbox.close()


class RaySandbox:
    """The ``Sandbox`` interface over one ``SandboxHost`` per alive Ray node with CPUs."""

    kind = "ray"

    def __init__(self, address: str | None = None, *, kind: str | None = None, workers: int | None = None,
                 start_timeout: float = 120.0):
        ray = import_ray()
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        self._ray = ray
        try:
            ray.init(address=address or "auto", ignore_reinit_error=True, log_to_driver=False,
                     include_dashboard=False, configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise SandboxUnavailable(
                f"cannot join the Ray cluster at {address or 'RAY_ADDRESS / the local cluster'}: {exc}. "
                "Start one with `ray start --head` (and `ray start --address=HEAD:6379` on each other node)."
            ) from None
        nodes = [n for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) > 0]
        if not nodes:
            raise SandboxUnavailable("the Ray cluster has no alive node with CPUs to run sandboxes on")
        workers = workers or 2
        host = ray.remote(SandboxHost)
        self.hosts = [host.options(num_cpus=0, max_concurrency=max(2, 2 * workers), name=None,
                                   scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False))
                      .remote(kind, workers) for n in nodes]
        try:
            self.nodes = ray.get([h.describe.remote() for h in self.hosts], timeout=start_timeout)
        except Exception as exc:  # an actor that cannot start names its cause
            self.close()
            raise SandboxUnavailable(f"a sandbox host could not start on the Ray cluster: {exc}") from None
        self._load = [0] * len(self.hosts)
        #: jobs each host has run (the CLI reports them: every node should take a share)
        self.jobs = [0] * len(self.hosts)
        self._lock = threading.Lock()

    def run(self, code: str, calls: Sequence[protocol.Call], limits: Limits | None = None,
            fresh_hash_seed: int | None = None) -> JobResult:
        with self._lock:
            index = min(range(len(self.hosts)), key=lambda i: (self._load[i], self.jobs[i]))
            self._load[index] += 1
            self.jobs[index] += 1
        try:
            return self._ray.get(self.hosts[index].run.remote(code, calls, limits, fresh_hash_seed))
        finally:
            with self._lock:
                self._load[index] -= 1

    def describe(self) -> str:
        return "; ".join(f"{node['host']} pid {node['pid']} ({node['kind']}): {jobs} jobs"
                         for node, jobs in zip(self.nodes, self.jobs))

    def close(self) -> None:
        ray = self._ray
        for host in getattr(self, "hosts", []):
            try:
                ray.get(host.close.remote(), timeout=30)
            except Exception:  # a host already gone has nothing to close
                pass
            ray.kill(host)
        self.hosts = []
        ray.shutdown()

    def __enter__(self) -> RaySandbox:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
