"""The ``docker`` backend: a warm pool of containers, each running the SAME zygote.

A container starts once (``python3 -m evoenv_guest.worker``) and is fed jobs as
frames on its stdin through one attach socket; replies come back on its stdout
through the same socket (Docker's 8-byte stream headers are removed here). No
``exec_run`` per call. Containers run with no network, a read-only root
filesystem, a tmpfs ``/tmp``, ``no-new-privileges``, pids/memory/CPU limits and
only the capabilities the zygote (container root) needs to isolate each job the way
the process backend does: its own PID and mount namespace, a private tmpfs ``/tmp``,
an empty ``/proc``, a uid of its own. Jobs drop every capability with that uid.
A container is recycled after ``recycle_after`` jobs or after any job that ended in a
violation, and every container carries labels so ``close()`` (and tests) can find and
remove them. It also removes itself when it exits (``AutoRemove``), and it exits when
the host goes away (``StdinOnce``: the attach socket closing ends its stdin), so even a
killed host leaves no container behind.

The image is built offline by ``sandbox/build-image``; its ``evoenv.guest_hash``
label must match the guest code of this checkout.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import socket
import struct
import time
import uuid
import weakref
from collections.abc import Sequence
from pathlib import Path

from evoenv.paths import guest_root
from evoenv.sandbox import layers as L
from evoenv.sandbox.base import ERROR, OK, JobResult, Limits, SandboxUnavailable, protocol
from evoenv.sandbox.workers import Worker, WorkerPool

IMAGE = os.environ.get("EVOENV_SANDBOX_IMAGE", "evoenv-sandbox:latest")
LABEL = "evoenv.sandbox"  # every container of every pool
POOL_LABEL = "evoenv.sandbox.pool"  # the worker pool's own id (a label key running containers carry: kept)
#: Outcomes after which a container is still trusted; anything else recycles it.
CLEAN_OUTCOMES = (OK, ERROR)
#: Layers the container flags provide even where the zygote cannot set them up itself.
#: (mount, pid and non_root are the zygote's own, per job: see ``ZYGOTE_CAPS``.)
CONTAINER_LAYERS = {
    "net": "network_mode=none", "ipc": "private IPC namespace", "uts": "own UTS namespace",
    "rootfs": "the image's own root filesystem; no host path is mounted into the container",
    "nproc": "pids_limit",
}
#: What the zygote, root in the container, needs to give each job its own PID and mount
#: namespace (SYS_ADMIN), a uid of its own (SETUID, SETGID, CHOWN) and to end it (KILL);
#: DAC_OVERRIDE and FOWNER let it remove files a job owned; SYS_CHROOT enters the minimal
#: root (Docker's seccomp profile refuses pivot_root). A job keeps none of them.
ZYGOTE_CAPS = ["SYS_ADMIN", "SYS_CHROOT", "SETUID", "SETGID", "CHOWN", "KILL", "DAC_OVERRIDE", "FOWNER"]
#: Jobs of a container take uids JOB_UID .. JOB_UID + JOB_UID_SPAN - 1 in turn: one per job.
JOB_UID, JOB_UID_SPAN = 100000, 1000
_STREAM_HEADER = struct.Struct(">BxxxI")


def guest_code_hash(root: Path | None = None) -> str:
    """Hash of the guest package; same recipe as ``sandbox/build-image``."""
    root = root or guest_root()
    digest = hashlib.sha256()
    for path in sorted(str(p.relative_to(root)) for p in (root / "evoenv_guest").rglob("*.py")):
        if "__pycache__" in path:
            continue
        file_hash = hashlib.sha256((root / path).read_bytes()).hexdigest()
        digest.update(f"{path}\n{file_hash}\n".encode())
    return digest.hexdigest()[:16]


def docker_client(timeout: int = 30):
    try:
        import docker

        client = docker.from_env(timeout=timeout)
        client.ping()
    except Exception as exc:  # any failure means "no engine"
        raise SandboxUnavailable(f"no Docker engine reachable ({exc}); start dockerd or use --sandbox process") from exc
    return client


def check_image(client, image: str = IMAGE) -> None:
    import docker

    try:
        found = client.images.get(image)
    except docker.errors.ImageNotFound:
        raise SandboxUnavailable(f"Docker image {image} not found; build it offline with: bash sandbox/build-image") from None
    label = (found.labels or {}).get("evoenv.guest_hash")
    expected = guest_code_hash()
    if label != expected:
        raise SandboxUnavailable(f"Docker image {image} holds guest code {label}, this checkout has {expected}; "
                                 "rebuild it with: bash sandbox/build-image")


class Container(Worker):
    """One warm container running the zygote, fed jobs through its attach socket."""

    what = "container"

    def __init__(self, client, pool_id: str, limits: Limits, hash_seed: int | None = None, image: str = IMAGE):
        self.client = client
        self.jobs_run = 0
        self._buffer = bytearray()
        api = client.api
        memory = int(limits.memory_mb) + 512  # the zygote + a spare child + the job
        host_config = api.create_host_config(
            network_mode="none", read_only=True, cap_drop=["ALL"], cap_add=ZYGOTE_CAPS,
            security_opt=["no-new-privileges"], tmpfs={"/tmp": "rw,nosuid,nodev,size=256m,mode=0755"},
            pids_limit=256, mem_limit=f"{memory}m", memswap_limit=f"{memory}m", nano_cpus=1_000_000_000,
            ulimits=[], log_config={"type": "none", "config": {}}, init=False, auto_remove=True,
        )
        env = {"EVOENV_CONTAINER": "1", "PYTHONHASHSEED": str(hash_seed) if hash_seed is not None else "random",
               "EVOENV_SANDBOX_UID": str(JOB_UID), "EVOENV_SANDBOX_UID_SPAN": str(JOB_UID_SPAN)}
        # working_dir "/": python -m puts its start directory first on sys.path (never /tmp)
        config = api.create_container_config(
            image, None, stdin_open=True, tty=False, user="0:0", environment=env, host_config=host_config,
            labels={LABEL: "1", POOL_LABEL: pool_id}, network_disabled=True, working_dir="/",
        )
        config["StdinOnce"] = True  # the host's attach socket closing ends the zygote's stdin
        created = api.create_container_from_config(config)
        self.id = created["Id"]
        try:
            raw = api.attach_socket(self.id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            self._raw = raw
            self.sock: socket.socket = raw._sock
            api.start(self.id)
            ready = self._read(time.monotonic() + 120.0)
        except Exception:  # already gone is fine
            self.remove()
            raise
        if not ready or not ready.get("ready"):
            self.remove()
            raise SandboxUnavailable(f"sandbox container failed to start: {ready!r}")
        guest = dict(ready.get("layers") or {})
        self.layers = {name: bool(guest.get(name)) or name in CONTAINER_LAYERS for name in L.LAYERS}
        self.notes = list(ready.get("notes") or [])
        self.alive = True

    # Docker multiplexes stdout/stderr on the attach socket: [stream, 0, 0, 0, size] + payload.
    def _stdout_bytes(self, n: int, deadline: float) -> bytes:
        while len(self._buffer) < n:
            header = self._recv_exact(_STREAM_HEADER.size, deadline)
            stream, size = _STREAM_HEADER.unpack(header)
            payload = self._recv_exact(size, deadline)
            if stream == 1:
                self._buffer += payload
        data = bytes(self._buffer[:n])
        del self._buffer[:n]
        return data

    def _recv_exact(self, n: int, deadline: float) -> bytes:
        chunks, got = [], 0
        while got < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(n - got)
            except TimeoutError:
                raise TimeoutError from None
            if not chunk:
                raise EOFError("container closed its output")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _read(self, deadline: float) -> dict | None:
        try:
            return protocol.read_frame(lambda n: self._stdout_bytes(n, deadline))
        except EOFError:
            return None

    def _send(self, frame: bytes, deadline: float) -> None:
        self.sock.settimeout(max(deadline - time.monotonic(), 0.001))
        self.sock.sendall(frame)

    def _abandon(self) -> None:
        self.alive = False

    def run(self, code: str, calls: Sequence[protocol.Call], limits: Limits, builtins: tuple[str, ...] | None = None) -> JobResult:
        result = super().run(code, calls, limits, builtins)
        if result.outcome not in CLEAN_OUTCOMES:
            self.alive = False  # a violation: this container is not reused
        return result

    def remove(self) -> None:
        self.alive = False
        for closer in (getattr(self, "sock", None), getattr(self, "_raw", None)):
            try:
                if closer is not None:
                    closer.close()
            except OSError:
                pass
        try:
            self.client.api.remove_container(self.id, force=True)
        except Exception:  # the engine may be gone at interpreter exit
            pass


_open_pools: weakref.WeakSet[DockerSandbox] = weakref.WeakSet()


@atexit.register
def _close_open_pools() -> None:
    for pool in list(_open_pools):
        pool.close()


class DockerSandbox(WorkerPool):
    """A warm pool of ``workers`` containers; same interface as ``ProcessSandbox``. Thread-safe."""

    kind = "docker"

    def __init__(self, workers: int = 2, limits: Limits | None = None, recycle_after: int = 200,
                 static_policy: bool = True, restricted_builtins: bool = True, image: str = IMAGE):
        super().__init__(workers, limits, recycle_after, static_policy, restricted_builtins)
        self.image = image
        self.pool_id = uuid.uuid4().hex[:12]
        self.client = docker_client()
        check_image(self.client, image)
        self.starts = 0
        self.start_seconds: list[float] = []
        self._open()
        _open_pools.add(self)

    def _start(self, hash_seed: int | None = None) -> Container:
        began = time.monotonic()
        container = Container(self.client, self.pool_id, self.limits, hash_seed, self.image)
        with self._lock:
            self.starts += 1
            self.start_seconds.append(time.monotonic() - began)
        return container

    def _stop(self, container: Container) -> None:
        container.remove()

    def close(self) -> None:
        super().close()
        # Anything of this pool that escaped bookkeeping (e.g. a start cut short) goes too.
        try:
            for leftover in self.client.api.containers(all=True, filters={"label": f"{POOL_LABEL}={self.pool_id}"}):
                self.client.api.remove_container(leftover["Id"], force=True)
        except Exception:
            pass
