"""The zygote: starts once, pre-imports the allowed modules, forks a child per job.

Run as ``python -m evoenv_guest.worker`` (the host does this, or a Docker
container does). Jobs arrive as frames on stdin; replies leave on the file
descriptor that was stdout at start. Stdout and stderr are then pointed at
/dev/null, so anything a child prints can never pass for a reply.

Each child: is PID 1 of a fresh PID namespace where allowed, becomes its own
process group, applies isolation (``isolation.prepare_child``, then ``apply_job_limits``),
loads the environment source, runs the job's calls, and writes ONE frame carrying the
job's nonce to a pipe made for this job.
The zygote trusts nothing else: exit status 0 without a frame is a crash.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time
import traceback

from evoenv_guest import isolation, runner
from evoenv_guest import protocol as P

# Pre-import what environments may import, so a fork starts warm (and nothing needs
# to be read from disk after the filesystem is locked down).
PRELOADED = P.ALLOWED_MODULES


def preload() -> list[str]:
    loaded = []
    for name in PRELOADED:
        try:
            __import__(name)
            loaded.append(name)
        except ImportError:
            pass
    if "networkx" in loaded:  # warm networkx's backend dispatch (reads entry points once)
        import networkx

        try:
            networkx.shortest_path(networkx.path_graph(3), 0, 2)
        except Exception:  # noqa: BLE001 - only a warm-up
            pass
    return loaded


class Spare:
    """A child forked ahead of its job: isolated, waiting for the job on a pipe."""

    def __init__(self, pid: int, job_w: int, result_r: int, scratch: str):
        self.pid, self.job_w, self.result_r, self.scratch = pid, job_w, result_r, scratch


class Zygote:
    """The serving loop's state: the isolation set up once, a job counter and the spare child."""

    def __init__(self, state: isolation.ZygoteState, reply_fd: int):
        self.state = state
        self.reply_fd = reply_fd
        self.jobs = 0
        self.container_init = os.getpid() == 1  # PID 1 of a container: may kill(-1) after a job
        self.spare: Spare | None = None
        self.finished: list[tuple[int, str]] = []  # (pid, scratch) of jobs still to reap and clean

    def fork_spare(self) -> Spare:
        self.jobs += 1
        # With the mount layer the child makes its own private tmpfs scratch.
        scratch = None if self.state.namespaces["mount"] else isolation.make_scratch(self.state, self.jobs)
        job_r, job_w = os.pipe()
        result_r, result_w = os.pipe()
        pid = isolation.fork_job(self.state)
        if pid == 0:
            _child(self, job_r, result_w, scratch)
        os.close(job_r)
        os.close(result_w)
        return Spare(pid, job_w, result_r, scratch)

    def take_spare(self) -> Spare:
        spare, self.spare = self.spare, None
        return spare or self.fork_spare()

    def shutdown(self) -> None:
        self.settle(fork_next=False)
        if self.spare is not None:
            os.close(self.spare.job_w)  # EOF: the spare exits
            os.close(self.spare.result_r)
            _kill(self.spare.pid)
            os.waitpid(self.spare.pid, 0)
            isolation.clean_after_job(self.state, self.spare.scratch)
        isolation.remove_scratch_root(self.state)

    def settle(self, fork_next: bool = True) -> None:
        """Make sure a spare is ready, and reap and clean up after finished jobs.

        Reaping waits for nothing while more jobs may come: a killed child that is still
        tearing down its memory is reaped at a later call (its scratch is removed then)."""
        if fork_next and self.spare is None and self.state.namespaces["mount"]:
            self.spare = self.fork_spare()  # first, so it isolates itself while we clean up
        blocking = self.container_init or not fork_next
        waiting = []
        for pid, scratch in self.finished:
            _kill(pid)
            try:
                done = os.waitpid(pid, 0 if blocking else os.WNOHANG)[0]
            except ChildProcessError:
                done = pid
            if done:
                isolation.clean_after_job(self.state, scratch)
            else:
                waiting.append((pid, scratch))
        self.finished = waiting
        if self.container_init:
            _sweep_container()  # kill(-1): only safe while no spare exists
        if fork_next and self.spare is None:
            self.spare = self.fork_spare()


def _child(zygote: Zygote, job_r: int, result_w: int, scratch: str) -> None:
    """Runs in the forked child; never returns."""
    status, job = 70, None
    try:
        keep = sorted((job_r, result_w))
        os.closerange(0, keep[0])
        os.closerange(keep[0] + 1, keep[1])
        os.closerange(keep[1] + 1, 1 << 16)
        isolation.prepare_child(zygote.state, scratch)
        job = P.read_frame(lambda n: os.read(job_r, n))
        os.close(job_r)
        if job is None:
            os._exit(0)  # the zygote is shutting down
        limits = P.job_limits(job)
        isolation.apply_job_limits(zygote.state, limits)
        runner.run_job(job, limits, result_w)
        status = 0
    except BaseException as exc:  # noqa: BLE001 - last resort: the zygote sees 'crash'
        status = 72
        if isinstance(job, dict):  # say why (this is our code failing, not the environment's)
            try:
                detail = f"sandbox child failed: {type(exc).__name__}: {exc}"[:500]
                P.write_all(result_w, P.encode(_failure(job.get("nonce"), P.CRASH, detail)), os.write)
            except BaseException:  # noqa: BLE001
                pass
    finally:
        os._exit(status)


def _collect(pid: int, fd: int, deadline: float, cap: int) -> tuple[bytes, str]:
    """Read the child's frame until EOF or its exit; returns (bytes, problem outcome or '')."""
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    data = bytearray()  # grows in place: no re-join of every chunk so far per read
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return bytes(data), P.TIMEOUT
            watch = [fd] if pidfd is None else [fd, pidfd]
            ready = select.select(watch, [], [], remaining)[0]
            if not ready:
                return bytes(data), P.TIMEOUT
            if fd not in ready:  # exited; drain what it wrote (a straggler may still hold the pipe)
                os.set_blocking(fd, False)
                ready, pidfd = [fd], None
            try:
                chunk = os.read(fd, 1 << 16)
            except BlockingIOError:
                return bytes(data), ""
            if not chunk:
                return bytes(data), ""
            if len(data) + len(chunk) > cap + P.HEADER.size:
                return b"", P.OUTPUT_LIMIT
            data += chunk
            if _complete(data):
                return bytes(data), ""  # no need to wait for its exit
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _kill(pid: int) -> None:
    """SIGKILL the job: its process group, and the job itself (PID 1 of its namespace)."""
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            target()
        except (ProcessLookupError, PermissionError):
            pass


def _sweep_container() -> None:
    """As PID 1 of a container: kill anything a job left behind and reap it."""
    try:
        os.kill(-1, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                break
        except ChildProcessError:
            break


def run_one(zygote: Zygote, job: dict) -> dict:
    limits = P.job_limits(job)
    started = time.monotonic()
    deadline = started + float(limits["wall_s"])
    spare = zygote.take_spare()
    pid = spare.pid
    try:
        try:
            P.write_all(spare.job_w, P.encode(job), os.write)
        except BrokenPipeError:
            pass  # the spare died early; its status tells why
        finally:
            os.close(spare.job_w)
        if not zygote.container_init and zygote.state.namespaces["mount"]:
            # Fork the next job's child now, while this job runs (on another core if there is one).
            zygote.spare = zygote.fork_spare()
        try:
            body, problem = _collect(pid, spare.result_r, deadline, int(limits["result_bytes"]))
        finally:
            os.close(spare.result_r)
        status = usage = None
        if problem or not _complete(body):
            # No valid frame: the exit status says why. Kill first (a no-op if it exited).
            _kill(pid)
            _, status, usage = os.wait4(pid, 0)
            if zygote.container_init:
                _sweep_container()
            isolation.clean_after_job(zygote.state, spare.scratch)
        else:
            zygote.finished.append((pid, spare.scratch))  # reaped after the reply is sent
    except BaseException:
        zygote.finished.append((pid, spare.scratch))
        raise
    cpu_used = usage.ru_utime + usage.ru_stime if usage is not None else 0.0
    reply = _classify(job, body, problem, status, limits, cpu_used)
    reply["duration_s"] = round(time.monotonic() - started, 6)
    return reply


def _classify(job: dict, body: bytes, problem: str, status: int | None, limits: dict,
              cpu_used: float = 0.0) -> dict:
    nonce = job.get("nonce")
    if problem == P.TIMEOUT:
        return _failure(nonce, P.TIMEOUT, f"wall-clock limit of {limits['wall_s']} s exceeded")
    if problem == P.OUTPUT_LIMIT:
        return _failure(nonce, P.OUTPUT_LIMIT, f"result larger than {limits['result_bytes']} bytes")
    if status is not None and os.WIFSIGNALED(status) and not _complete(body):
        sig = os.WTERMSIG(status)
        cpu_limit = float(limits["cpu_s"])
        # The kernel's SIGKILL at RLIMIT_CPU; rusage can read well under the limit on a busy
        # VM, and nothing else but the OOM killer sends SIGKILL to a job, hence the margin.
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_used >= 0.5 * cpu_limit):
            return _failure(nonce, P.TIMEOUT, f"CPU limit of {cpu_limit} s exceeded")
        if sig == signal.SIGSYS:
            return _failure(nonce, P.POLICY, "a forbidden system call (fork, exec, socket, ptrace, ...) "
                                             "was blocked by the seccomp filter")
        if sig == signal.SIGXFSZ:
            return _failure(nonce, P.OUTPUT_LIMIT, f"file size limit exceeded")
        return _failure(nonce, P.CRASH, f"killed by signal {signal.Signals(sig).name} "
                                        f"after {cpu_used:.2f} s of CPU")
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


def _complete(body: bytes) -> bool:
    """A whole frame arrived (the child may still be killed after writing it: that is fine)."""
    if len(body) < P.HEADER.size:
        return False
    return P.HEADER.unpack(body[: P.HEADER.size])[0] == len(body) - P.HEADER.size


def _failure(nonce, outcome: str, detail: str) -> dict:
    return {"nonce": nonce, "outcome": outcome, "results": [], "detail": detail}


def serve(zygote: Zygote) -> None:
    reply_fd = zygote.reply_fd
    stdin_read = lambda n: os.read(0, n)  # noqa: E731
    while True:
        if zygote.finished and not select.select([0], [], [], 0.02)[0]:
            zygote.settle(fork_next=False)  # idle: reap the last job now, leave no zombie
        try:
            job = P.read_frame(stdin_read)
        except P.ProtocolError as exc:
            P.write_all(reply_fd, P.encode(_failure(None, P.CRASH, f"bad job frame: {exc}")), os.write)
            continue
        if job is None:
            zygote.shutdown()
            return
        try:
            reply = run_one(zygote, job)
        except Exception as exc:  # noqa: BLE001 - the zygote itself must survive
            reply = _failure(job.get("nonce"), P.CRASH, f"zygote error: {exc!r}\n{traceback.format_exc(limit=3)}")
        P.write_all(reply_fd, _encode_reply(job, reply), os.write)
        zygote.settle()


def _encode_reply(job: dict, reply: dict) -> bytes:
    """The reply's frame; a reply that cannot be sent (too big, not strict JSON) is sent as a crash, so
    no job's value can make the zygote itself fail."""
    try:
        return P.encode(reply)
    except (ValueError, TypeError, RecursionError) as exc:  # ProtocolError is a ValueError
        return P.encode(_failure(job.get("nonce"), P.CRASH, f"the job's reply could not be sent: {exc}"[:500]))


def main() -> None:
    preload()
    state = isolation.setup_zygote(int(os.environ.get("EVOENV_SANDBOX_UID", "65534")))
    layers = isolation.probe_layers(state)
    reply_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stdout = sys.stderr = open(os.devnull, "w")
    # Announce readiness so the host can time the start and know the guest loaded.
    P.write_all(reply_fd, P.encode({"ready": True, "pid": os.getpid(), "preloaded": list(PRELOADED),
                                    "layers": layers, "notes": state.notes[:20]}), os.write)
    zygote = Zygote(state, reply_fd)
    zygote.settle()
    serve(zygote)


if __name__ == "__main__":
    main()
