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

The zygote never reads a job's data or its reply: it reads only the job's envelope
(nonce and limits), moves the job frame from stdin to the child's pipe with ``splice``
and the child's reply through a memfd to the host the same way, checking only its length
and its nonce prefix. So every child is forked from a process whose memory never held
any job's source, instances, answers or results (docs/security.md, "How a job runs").
When the host goes away (its end of stdin closes) the running job is killed at once.

Over ~400 lines on purpose: the serving loop, the splice/memfd plumbing and the
classification of a job's end are one state machine, read together when auditing it.
"""

from __future__ import annotations

import errno
import os
import select
import signal
import sys
import time
import traceback

from evoenv_guest import filesystem, isolation, probe, process_limits, runner
from evoenv_guest import protocol as P
from evoenv_guest.zygote_state import ZygoteState

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
        except Exception:  # only a warm-up
            pass
    return loaded


class HostGone(Exception):
    """The host closed our stdin mid-job: kill the job and exit."""


class LimitsTampered(Exception):
    """The zygote's own rlimits are not those it started with."""


class Spare:
    """A child forked ahead of its job: isolated, waiting for the job on a pipe."""

    def __init__(self, pid: int, job_w: int, result_r: int, scratch: str):
        self.pid, self.job_w, self.result_r, self.scratch = pid, job_w, result_r, scratch


class ForkServer:
    """The zygote's own serving state, inside the guest (the host's handle on the process is
    ``evoenv.sandbox.process.ZygoteProcess``): the isolation set up once, a job counter and the spare child."""

    def __init__(self, state: ZygoteState, reply_fd: int):
        self.state = state
        self.reply_fd = reply_fd
        self.jobs = 0
        self.container_init = os.getpid() == 1  # PID 1 of a container: may kill(-1) after a job
        self.spare: Spare | None = None
        self.finished: list[tuple[int, str]] = []  # (pid, scratch) of jobs still to reap and clean

    def fork_spare(self) -> Spare:
        if not process_limits.own_limits_intact(self.state):
            # Something changed our rlimits (a job's prlimit): no later job may inherit them.
            raise LimitsTampered("the zygote's own rlimits changed; it exits so a fresh one starts")
        self.jobs += 1
        # With the mount layer the child makes its own private tmpfs scratch.
        scratch = None if self.state.namespaces["mount"] else filesystem.make_scratch(self.state, self.jobs)
        job_r, job_w = os.pipe()
        result_r, result_w = os.pipe()
        pid = isolation.fork_job(self.state)
        if pid == 0:
            if self.state.job_uid is not None:  # a uid of this job's own where the zygote has a span
                self.state.job_uid += self.jobs % self.state.job_uid_span
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
            filesystem.clean_after_job(self.state, self.spare.scratch)
        filesystem.remove_scratch_root(self.state)

    def settle(self, fork_next: bool = True) -> None:
        """Make sure a spare is ready, and reap and clean up after finished jobs.

        Reaping waits for nothing while more jobs may come: a killed child that is still
        tearing down its memory is reaped at a later call (its scratch is removed then)."""
        if fork_next and self.spare is None and self.state.namespaces["mount"] and not self.container_init:
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
                filesystem.clean_after_job(self.state, scratch)
            else:
                waiting.append((pid, scratch))
        self.finished = waiting
        if self.container_init:
            _sweep_container()  # kill(-1): only safe while no spare exists
        if fork_next and self.spare is None:
            self.spare = self.fork_spare()


def _child(zygote: ForkServer, job_r: int, result_w: int, scratch: str) -> None:
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
    except BaseException as exc:  # last resort: the zygote sees 'crash'
        status = 72
        if isinstance(job, dict):  # say why (this is our code failing, not the environment's)
            try:
                detail = f"sandbox child failed: {type(exc).__name__}: {exc}"[:500]
                P.write_all(result_w, P.encode(_failure(job.get("nonce"), P.CRASH, detail)), os.write)
            except BaseException:
                pass
    finally:
        os._exit(status)


def _splice_exact(src: int, dst: int, count: int) -> int:
    """Move ``count`` bytes from ``src`` to ``dst`` inside the kernel (never through our
    memory); returns how many moved before the source ended or ``dst`` broke."""
    moved = 0
    while moved < count:
        try:
            n = os.splice(src, dst, min(count - moved, 1 << 20))
        except BrokenPipeError:
            break
        if n == 0:
            break
        moved += n
    return moved


def _forward_job(length: int, job_w: int) -> None:
    """The job frame: stdin -> the child's pipe, unread. A child that died early gets the
    rest dropped into /dev/null, so the next frame on stdin is still where it should be."""
    try:
        P.write_all(job_w, P.HEADER.pack(length), os.write)
        moved = _splice_exact(0, job_w, length)
    except BrokenPipeError:
        moved = 0
    if moved < length:
        with open(os.devnull, "wb") as sink:
            moved += _splice_exact(0, sink.fileno(), length - moved)
        if moved < length:
            raise HostGone("stdin ended inside a job frame")


def _collect(pid: int, fd: int, deadline: float, cap: int, sink: int) -> tuple[int, str]:
    """Move the child's frame into ``sink`` (a memfd) until EOF or its exit, unread but for
    its 4-byte header; returns (bytes moved, problem outcome or ''). Raises ``HostGone``
    when the host closes our stdin meanwhile."""
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    poller.register(0, 0)  # only POLLHUP/POLLERR: the host went away
    if pidfd is not None:
        poller.register(pidfd, select.POLLIN)
    got, exited = 0, False
    try:
        while True:
            if not exited:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return got, P.TIMEOUT
                events = dict(poller.poll(remaining * 1000))
                if not events:
                    return got, P.TIMEOUT
                if events.get(0, 0) & (select.POLLHUP | select.POLLERR):
                    raise HostGone("the host closed the job stream")
                if 0 in events:
                    poller.unregister(0)  # data out of turn: the host is not waiting on us
                if fd not in events:
                    if pidfd in events:  # exited; drain what it wrote (a straggler may still hold the pipe)
                        exited = True
                    continue
            try:
                n = os.splice(fd, sink, 1 << 20, flags=os.SPLICE_F_NONBLOCK)
            except BlockingIOError:
                if exited:
                    return got, ""
                continue
            if n == 0:
                return got, ""
            got += n
            if got > cap + P.HEADER.size:
                return 0, P.OUTPUT_LIMIT
            if _complete(sink, got):
                return got, ""  # no need to wait for its exit
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


def run_one(zygote: ForkServer, envelope: dict) -> dict | tuple[int, int]:
    """One job, announced by ``envelope``; its frame is next on stdin. Returns a failure
    reply, or (memfd, length) of the child's own reply frame to pass on unread."""
    nonce = envelope.get("nonce")
    limits = P.job_limits(envelope)
    header = P.read_exact(lambda n: os.read(0, n), P.HEADER.size)
    if len(header) < P.HEADER.size:
        raise HostGone("stdin ended before the job frame")
    (length,) = P.HEADER.unpack(header)
    if length > P.MAX_FRAME_BYTES:
        raise P.ProtocolError(f"job frame announces {length} bytes, cap is {P.MAX_FRAME_BYTES}")
    started = time.monotonic()
    deadline = started + float(limits["wall_s"])
    spare = zygote.take_spare()
    pid = spare.pid
    sink = os.memfd_create("evoenv-reply", os.MFD_CLOEXEC)
    try:
        try:
            _forward_job(length, spare.job_w)
        finally:
            os.close(spare.job_w)
        if not zygote.container_init and zygote.state.namespaces["mount"]:
            # Fork the next job's child now, while this job runs (on another core if there is one).
            zygote.spare = zygote.fork_spare()
        try:
            got, problem = _collect(pid, spare.result_r, deadline, int(limits["result_bytes"]), sink)
        finally:
            os.close(spare.result_r)
        status = usage = None
        if problem or not _complete(sink, got):
            # No valid frame: the exit status says why. Kill first (a no-op if it exited).
            _kill(pid)
            _, status, usage = os.wait4(pid, 0)
            if zygote.container_init:
                _sweep_container()
            filesystem.clean_after_job(zygote.state, spare.scratch)
        else:
            zygote.finished.append((pid, spare.scratch))  # reaped after the reply is sent
    except HostGone:
        _kill(pid)
        os.close(sink)
        zygote.finished.append((pid, spare.scratch))
        raise
    except BaseException:
        os.close(sink)
        zygote.finished.append((pid, spare.scratch))
        raise
    cpu_used = usage.ru_utime + usage.ru_stime if usage is not None else 0.0
    failure = _classify(nonce, limits, sink, got, problem, status, cpu_used)
    if failure is not None:
        os.close(sink)
        return failure
    return sink, got


def _classify(nonce, limits: dict, sink: int, got: int, problem: str, status: int | None,
              cpu_used: float = 0.0) -> dict | None:
    """A failure reply, or None when the child's frame in ``sink`` is whole and is this job's."""
    if problem == P.TIMEOUT:
        return _failure(nonce, P.TIMEOUT, f"wall-clock limit of {limits['wall_s']} s exceeded")
    if problem == P.OUTPUT_LIMIT:
        return _failure(nonce, P.OUTPUT_LIMIT, f"result larger than {limits['result_bytes']} bytes")
    complete = _complete(sink, got)
    if status is not None and os.WIFSIGNALED(status) and not complete:
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
            return _failure(nonce, P.OUTPUT_LIMIT, "file size limit exceeded")
        return _failure(nonce, P.CRASH, f"killed by signal {signal.Signals(sig).name} "
                                        f"after {cpu_used:.2f} s of CPU")
    if not complete:
        if got >= P.HEADER.size:
            return _failure(nonce, P.CRASH, "malformed result: frame length does not match the bytes sent")
        code = os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status) else None
        return _failure(nonce, P.CRASH, f"exited (status {code}) without a result")
    if got - P.HEADER.size > int(limits["result_bytes"]):
        return _failure(nonce, P.OUTPUT_LIMIT, f"result larger than {limits['result_bytes']} bytes")
    prefix = P.nonce_prefix(str(nonce))
    if os.pread(sink, len(prefix), P.HEADER.size) != prefix:
        return _failure(nonce, P.CRASH, "result did not carry this job's nonce")
    return None


def _complete(sink: int, got: int) -> bool:
    """A whole frame arrived in ``sink`` (the child may still be killed after writing it)."""
    if got < P.HEADER.size:
        return False
    return P.HEADER.unpack(os.pread(sink, P.HEADER.size, 0))[0] == got - P.HEADER.size


def _failure(nonce, outcome: str, detail: str) -> dict:
    return {"nonce": nonce, "outcome": outcome, "results": [], "detail": detail}


def _send_reply(reply_fd: int, reply: dict | tuple[int, int]) -> None:
    if isinstance(reply, dict):
        P.write_all(reply_fd, _encode_reply(reply), os.write)
        return
    sink, length = reply
    try:
        moved = 0
        while moved < length:  # memfd -> host, inside the kernel
            try:
                moved += os.splice(sink, reply_fd, length - moved, offset_src=moved)
            except OSError as exc:  # reply fd is not a pipe (a socket, a file): sendfile can
                if exc.errno != errno.EINVAL:
                    raise
                moved += os.sendfile(reply_fd, sink, moved, length - moved)
    finally:
        os.close(sink)


def serve(zygote: ForkServer) -> None:
    reply_fd = zygote.reply_fd
    stdin_read = lambda n: os.read(0, n)  # noqa: E731
    while True:
        if zygote.finished and not select.select([0], [], [], 0.02)[0]:
            zygote.settle(fork_next=False)  # idle: reap the last job now, leave no zombie
        try:
            envelope = P.read_frame(stdin_read, P.ENVELOPE_BYTES)
        except P.ProtocolError as exc:
            P.write_all(reply_fd, P.encode(_failure(None, P.CRASH, f"bad job frame: {exc}")), os.write)
            continue
        if envelope is None:
            zygote.shutdown()
            return
        try:
            reply = run_one(zygote, envelope)
        except HostGone:
            zygote.shutdown()
            return
        except LimitsTampered as exc:
            P.write_all(reply_fd, P.encode(_failure(envelope.get("nonce"), P.CRASH, str(exc))), os.write)
            zygote.shutdown()
            return
        except Exception as exc:  # the zygote itself must survive
            reply = _failure(envelope.get("nonce"), P.CRASH,
                             f"zygote error: {exc!r}\n{traceback.format_exc(limit=3)}")
        _send_reply(reply_fd, reply)
        try:
            zygote.settle()
        except LimitsTampered:
            zygote.shutdown()
            return


def _encode_reply(reply: dict) -> bytes:
    """The frame of a reply the zygote itself writes; one that cannot be sent (too big, not strict JSON)
    is sent as a crash, so nothing a job left in it can make the zygote fail."""
    try:
        return P.encode(reply)
    except (ValueError, TypeError, RecursionError) as exc:  # ProtocolError is a ValueError
        return P.encode(_failure(reply.get("nonce"), P.CRASH, f"the job's reply could not be sent: {exc}"[:500]))


def main() -> None:
    # ``python -m`` put its start directory first on sys.path; the guest comes from
    # PYTHONPATH, and no directory a job might write to may ever be searched for modules.
    sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())]
    preload()
    state = isolation.setup_zygote(int(os.environ.get("EVOENV_SANDBOX_UID", "65534")))
    layers = probe.probe_layers(state)
    reply_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stdout = sys.stderr = open(os.devnull, "w")
    # Announce readiness so the host can time the start and know the guest loaded.
    P.write_all(reply_fd, P.encode({"ready": True, "pid": os.getpid(), "preloaded": list(PRELOADED),
                                    "layers": layers, "notes": state.notes[:20]}), os.write)
    zygote = ForkServer(state, reply_fd)
    zygote.settle()
    serve(zygote)


if __name__ == "__main__":
    main()
