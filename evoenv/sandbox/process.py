"""The embedded ``process`` backend: a pool of zygote processes on this machine."""

from __future__ import annotations

import itertools
import os
import select
import signal
import subprocess
import sys
import time

from evoenv.paths import guest_root
from evoenv.sandbox.base import Limits, SandboxUnavailable, protocol
from evoenv.sandbox.workers import Worker, WorkerPool

#: Jobs of each zygote run under their own uid (when the host is root): BASE + n, n < 1000.
#: A uid of its own makes RLIMIT_NPROC per zygote and keeps jobs of two zygotes apart.
UID_BASE = int(os.environ.get("EVOENV_SANDBOX_UID_BASE", "200000"))
_uids = itertools.count()


def job_uid() -> int:
    return UID_BASE + next(_uids) % 1000


class ZygoteProcess(Worker):
    """The host's handle on one local zygote process (``evoenv_guest.worker``), fed jobs on its stdin;
    replies come on its stdout."""

    def __init__(self, hash_seed: int | None = None):
        env = {
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(guest_root()),
            "PYTHONHASHSEED": str(hash_seed) if hash_seed is not None else "random",
            "PYTHONDONTWRITEBYTECODE": "1",
            "LANG": "C.UTF-8",
            "EVOENV_SANDBOX_UID": str(job_uid()),
        }
        self.jobs_run = 0
        self.proc = subprocess.Popen(
            [sys.executable, "-s", "-m", "evoenv_guest.worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=env, cwd="/", start_new_session=True, close_fds=True,
        )
        ready = self._read(time.monotonic() + 60.0)
        if not ready or not ready.get("ready"):
            self.kill()
            raise SandboxUnavailable(f"sandbox worker failed to start: {ready!r}")
        self.layers: dict[str, bool] = dict(ready.get("layers") or {})
        self.notes: list[str] = list(ready.get("notes") or [])

    def _read(self, deadline: float) -> dict | None:
        fd = self.proc.stdout.fileno()

        def read_with_deadline(n: int) -> bytes:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError
            return os.read(fd, n)

        return protocol.read_frame(read_with_deadline)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def _send(self, frame: bytes, deadline: float) -> None:
        self.proc.stdin.write(frame)
        self.proc.stdin.flush()

    def _abandon(self) -> None:
        self.kill()

    def close(self, timeout: float = 2.0) -> None:
        """End of input: the zygote removes its scratch and exits; killed if it does not."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except (OSError, ValueError):
                pass


class ProcessSandbox(WorkerPool):
    """A pool of ``workers`` zygotes; ``run`` blocks until one is free. Thread-safe.

    Every job first passes the static policy (``evoenv.sandbox.policy``, cached by source
    hash) and then runs with restricted builtins. ``static_policy=False`` and
    ``restricted_builtins=False`` turn those language-level layers off; they exist ONLY so
    tests can prove each layer (and the OS layers) on its own.
    """

    kind = "process"

    def __init__(self, workers: int = 2, limits: Limits | None = None, recycle_after: int = 500,
                 static_policy: bool = True, restricted_builtins: bool = True):
        super().__init__(workers, limits, recycle_after, static_policy, restricted_builtins)
        self._open()

    def _start(self, hash_seed: int | None = None) -> ZygoteProcess:
        return ZygoteProcess(hash_seed=hash_seed)

    def _stop(self, zygote: ZygoteProcess) -> None:
        zygote.close()
