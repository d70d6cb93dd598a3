"""Operating-system isolation for jobs, stdlib only (ctypes for unshare, prctl, seccomp).

Two places apply it:

* the zygote, once at start (``setup_zygote``): when it may (root with
  CAP_SYS_ADMIN) it moves itself into new network, IPC, UTS and mount
  namespaces and pivots into a minimal read-only root: a small tmpfs holding
  only bind mounts of the interpreter, its libraries, the guest package and a
  few device nodes, plus a private tmpfs ``/tmp`` and ``/dev/shm`` and an empty
  ``/proc``. Where ``pivot_root`` is impossible it keeps the host's tree
  instead, remounted read-only, with ``/proc`` and untraversable home
  directories hidden. Every job inherits that view.
* each job, per fork: a fresh PID namespace (the job is PID 1 of it, so every
  process it could start dies with it), then in the child ``apply_child``:
  process group, parent-death signal, scratch directory, rlimits, a non-root
  uid, ``no_new_privs`` and a hand-written seccomp BPF filter.

``probe_layers`` forks a child that applies all of it and checks each layer for
real, so what is reported is what jobs get. Layer names are in ``protocol.LAYERS``.

This module applies the layers in order; their parts live in ``kernel`` (the libc calls),
``seccomp`` (the filter), ``filesystem`` (read-only views, tmpfs, scratch), ``minimal_root``
(the pivot), ``process_limits`` (rlimits, uid) and ``probe`` (detection).
"""

from __future__ import annotations

import os
import signal

from evoenv_guest.filesystem import (
    expose_python,
    fresh_tmpfs,
    own_scratch_root,
    private_tmp,
    read_only,
)
from evoenv_guest.kernel import (
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUTS,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    PR_SET_NO_NEW_PRIVS,
    PR_SET_PDEATHSIG,
    check,
    libc,
    mount,
    prctl,
    setns,
    unshare,
)
from evoenv_guest.minimal_root import enter_minimal_root
from evoenv_guest.process_limits import apply_rlimits, current_rlimits, drop_privileges
from evoenv_guest.seccomp import SYSCALLS, install_seccomp
from evoenv_guest.zygote_state import ZygoteState

# --- the zygote's one-time setup ------------------------------------------------------

def _private_filesystem(state: ZygoteState) -> None:
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    state.minimal_root = enter_minimal_root(state)
    if not state.minimal_root:
        expose_python(state)
        read_only(state, under="/")
    for path, size in (("/tmp", "512m"), ("/dev/shm", "16m")):
        if os.path.isdir(path):
            fresh_tmpfs(state, path, size)
            state.clean_dirs.append(path)
    # Jobs see no processes at all: an empty, read-only /proc.
    mount("tmpfs", "/proc", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, "size=4k,mode=0555")


def setup_zygote(job_uid: int) -> ZygoteState:
    """Run once in the zygote before any job. Never raises: what fails is simply not a layer."""
    state = ZygoteState()
    # Not dumpable: a job with the same uid (Docker) cannot open /proc/<zygote>/mem or environ.
    PR_SET_DUMPABLE = 4
    try:
        prctl(PR_SET_DUMPABLE, 0)
    except OSError:
        state.notes.append("could not make the zygote non-dumpable")
    if os.getuid() == 0:
        state.job_uid = job_uid
        state.job_uid_span = max(1, int(os.environ.get("EVOENV_SANDBOX_UID_SPAN", "1")))
    state.own_limits = current_rlimits()
    for name, flag in (("net", CLONE_NEWNET), ("ipc", CLONE_NEWIPC), ("uts", CLONE_NEWUTS)):
        try:
            unshare(flag)
            state.namespaces[name] = True
        except OSError as exc:
            state.notes.append(f"{name} namespace: {exc}")
    if state.namespaces["uts"]:
        try:
            check(libc.sethostname(b"sandbox", 7), "sethostname")
        except OSError:
            pass
    try:
        state.pid_ns_fd = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        unshare(CLONE_NEWPID)
        setns(state.pid_ns_fd, CLONE_NEWPID)
        state.namespaces["pid"] = True
    except OSError as exc:
        state.notes.append(f"pid namespace: {exc}")
        if state.pid_ns_fd is not None:
            os.close(state.pid_ns_fd)
            state.pid_ns_fd = None
    try:
        unshare(CLONE_NEWNS)
        _private_filesystem(state)
        state.namespaces["mount"] = True
    except OSError as exc:
        state.notes.append(f"mount namespace: {exc}")
        state.namespaces["mount"] = False
    if os.environ.get("EVOENV_CONTAINER") == "1":
        # Docker gave us a private tmpfs /tmp and /dev/shm: empty them after every job.
        state.clean_dirs = [d for d in ("/tmp", "/dev/shm") if os.access(d, os.W_OK)]
    state.scratch_root = "/tmp" if "/tmp" in state.clean_dirs else own_scratch_root()
    return state


# --- per job ------------------------------------------------------------------------

def fork_job(state: ZygoteState) -> int:
    """os.fork(), with the child as PID 1 of a fresh PID namespace when available."""
    if state.pid_ns_fd is None:
        return os.fork()
    unshare(CLONE_NEWPID)
    pid = -1
    try:
        pid = os.fork()
        return pid
    finally:
        if pid != 0:  # the parent goes back so the next job gets a fresh namespace too
            setns(state.pid_ns_fd, CLONE_NEWPID)


def prepare_child(state: ZygoteState, scratch: str | None, seccomp: bool = True) -> None:
    """In a forked child, before it even has a job: every layer that does not depend on the job.

    The zygote forks this 'spare' ahead of time, so its cost is off the job's path.
    ``scratch`` None: make a private tmpfs scratch (needs the mount layer)."""
    pid = os.getpid()
    os.setpgid(0, 0)  # its own group: kill(0) cannot reach the zygote's group
    os.chdir(private_tmp(state) if scratch is None else scratch)
    if state.job_uid is not None:
        drop_privileges(state.job_uid)
    # After the uid change, which clears it: the job dies with the zygote. (Had the zygote
    # died before this line, the job's read of its frame ends at once: nobody holds the pipe.)
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    if seccomp and SYSCALLS is not None:
        install_seccomp(pid)


def apply_job_limits(state: ZygoteState, limits: dict) -> None:
    """The job's own rlimits (only ever lowered: the child is no longer privileged)."""
    apply_rlimits(limits, nproc=state.job_uid is not None)


def apply_child(state: ZygoteState, limits: dict, scratch: str | None, seccomp: bool = True) -> None:
    """Every per-job layer at once (used by the probe)."""
    prepare_child(state, scratch, seccomp)
    apply_job_limits(state, limits)
