"""The zygote: starts once, pre-imports the allowed modules, forks a child per job.

Run as ``python -m evoenv_guest.worker`` (the host does this, or a Docker
container does). Jobs arrive as frames on stdin; replies leave on the file
descriptor that was stdout at start. Stdout and stderr are then pointed at
/dev/null, so anything a child prints can never pass for a reply.

Each child: becomes its own process group, applies isolation
(``isolation.apply``), loads the environment source, runs the job's calls,
and writes ONE frame carrying the job's nonce to a pipe made for this job.
The zygote trusts nothing else: exit status 0 without a frame is a crash.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time
import traceback

from evoenv_guest import protocol as P
from evoenv_guest import runner

# Pre-import what environments may import, so a fork starts warm.
PRELOADED = (
    "math", "random", "itertools", "functools", "collections", "heapq", "bisect",
    "string", "re", "fractions", "decimal", "statistics", "dataclasses", "typing",
    "enum", "json", "copy", "networkx",
)


def preload() -> list[str]:
    loaded = []
    for name in PRELOADED:
        try:
            __import__(name)
            loaded.append(name)
        except ImportError:
            pass
    return loaded


def _child(job: dict, result_w: int, keep: set[int]) -> None:
    """Runs in the forked child; never returns."""
    status = 70
    try:
        os.setpgid(0, 0)
        for fd in (0,):
            os.close(fd)
        for fd in list(keep):
            try:
                os.close(fd)
            except OSError:
                pass
        reply = runner.run_job(job, result_w)
        status = 0 if reply else 71
    except BaseException:  # noqa: BLE001 - last resort: the zygote sees 'crash'
        status = 72
    finally:
        os._exit(status)


def _read_result(fd: int, deadline: float, cap: int) -> tuple[bytes, str]:
    """Read the child's frame; returns (bytes, problem) where problem is '' or an outcome."""
    chunks, size = [], 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return b"".join(chunks), P.TIMEOUT
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            return b"".join(chunks), P.TIMEOUT
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks), ""
        size += len(chunk)
        if size > cap + P.HEADER.size:
            return b"", P.OUTPUT_LIMIT
        chunks.append(chunk)


def _kill_group(pid: int) -> None:
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            target()
        except (ProcessLookupError, PermissionError):
            pass


def _reap(pid: int, deadline: float) -> int | None:
    """waitpid with a deadline; kills the group when it passes. Returns the raw status."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() > deadline:
            _kill_group(pid)
            return os.waitpid(pid, 0)[1]
        time.sleep(0.0005)


def run_one(job: dict, keep: set[int]) -> dict:
    limits = {**P.DEFAULT_LIMITS, **(job.get("limits") or {})}
    started = time.monotonic()
    deadline = started + float(limits["wall_s"])
    result_r, result_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(result_r)
        _child(job, result_w, keep)
    os.close(result_w)
    try:
        body, problem = _read_result(result_r, deadline, int(limits["result_bytes"]))
    finally:
        os.close(result_r)
    if problem:
        _kill_group(pid)
    status = _reap(pid, deadline + 1.0)
    _kill_group(pid)  # grandchildren left in the job's group die with it
    reply = _classify(job, body, problem, status, limits)
    reply["duration_s"] = round(time.monotonic() - started, 6)
    return reply


def _classify(job: dict, body: bytes, problem: str, status: int | None, limits: dict) -> dict:
    nonce = job.get("nonce")
    if problem == P.TIMEOUT:
        return _failure(nonce, P.TIMEOUT, f"wall-clock limit of {limits['wall_s']} s exceeded")
    if problem == P.OUTPUT_LIMIT:
        return _failure(nonce, P.OUTPUT_LIMIT, f"result larger than {limits['result_bytes']} bytes")
    if status is not None and os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and not body):
            return _failure(nonce, P.TIMEOUT, f"CPU limit of {limits['cpu_s']} s exceeded (signal {sig})")
        if sig == signal.SIGSYS:
            return _failure(nonce, P.POLICY, "a forbidden system call was blocked by seccomp")
        return _failure(nonce, P.CRASH, f"killed by signal {signal.Signals(sig).name}")
    if len(body) < P.HEADER.size:
        code = os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status) else None
        return _failure(nonce, P.CRASH, f"exited (status {code}) without a result")
    try:
        (length,) = P.HEADER.unpack(body[: P.HEADER.size])
        if length != len(body) - P.HEADER.size:
            raise P.ProtocolError("frame length does not match the bytes sent")
        reply = P.decode(body[P.HEADER.size :], int(limits["result_bytes"]))
    except P.ProtocolError as exc:
        return _failure(nonce, P.CRASH, f"malformed result: {exc}")
    if reply.get("nonce") != nonce:
        return _failure(nonce, P.CRASH, "result did not carry this job's nonce")
    if reply.get("outcome") not in P.OUTCOMES:
        return _failure(nonce, P.CRASH, "result carried an unknown outcome")
    return reply


def _failure(nonce, outcome: str, detail: str) -> dict:
    return {"nonce": nonce, "outcome": outcome, "results": [], "detail": detail}


def serve(reply_fd: int) -> None:
    keep = {reply_fd}
    stdin_read = lambda n: os.read(0, n)  # noqa: E731
    while True:
        try:
            job = P.read_frame(stdin_read)
        except P.ProtocolError as exc:
            P.write_all(reply_fd, P.encode(_failure(None, P.CRASH, f"bad job frame: {exc}")), os.write)
            continue
        if job is None:
            return
        try:
            reply = run_one(job, keep)
        except Exception as exc:  # noqa: BLE001 - the zygote itself must survive
            reply = _failure(job.get("nonce"), P.CRASH, f"zygote error: {exc!r}\n{traceback.format_exc(limit=3)}")
        P.write_all(reply_fd, P.encode(reply), os.write)


def main() -> None:
    preload()
    reply_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stdout = sys.stderr = open(os.devnull, "w")
    # Announce readiness so the host can time the start and know the guest loaded.
    P.write_all(reply_fd, P.encode({"ready": True, "pid": os.getpid(), "preloaded": list(PRELOADED)}), os.write)
    serve(reply_fd)


if __name__ == "__main__":
    main()
