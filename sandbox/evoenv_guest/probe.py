"""``probe_layers``: which isolation layers jobs really get (``protocol.LAYERS``), found by a forked
child that applies every layer and tests each one, so what is reported is what jobs get."""

from __future__ import annotations

import ctypes
import errno
import os
import resource

from evoenv_guest import protocol as P
from evoenv_guest.filesystem import JOB_SCRATCH, clean_after_job, make_scratch
from evoenv_guest.isolation import apply_child, fork_job
from evoenv_guest.kernel import libc
from evoenv_guest.seccomp import install_seccomp, syscall_number
from evoenv_guest.zygote_state import ZygoteState


def probe_layers(state: ZygoteState) -> dict[str, bool]:
    """Fork a child that applies every layer and tests each one; what it proves is a layer."""
    layers = {name: False for name in P.LAYERS}
    layers.update(state.namespaces)
    read_fd, write_fd = os.pipe()
    scratch = make_scratch(state, 0)
    try:
        pid = fork_job(state)
    except OSError:
        pid = os.fork()
    if pid == 0:
        found = {}
        try:
            os.close(read_fd)
            found["pid"] = os.getpid() == 1 and state.namespaces["pid"]
            limits = {**P.DEFAULT_LIMITS, "cpu_s": 5, "memory_mb": 512}
            try:
                own_tmp = state.namespaces["mount"]
                apply_child(state, limits, None if own_tmp else scratch, seccomp=False)
                found["rlimits"] = resource.getrlimit(resource.RLIMIT_CORE) == (0, 0)
                found["non_root"] = os.geteuid() != 0
                found["nproc"] = state.job_uid is not None and resource.getrlimit(resource.RLIMIT_NPROC)[0] > 0
                found["scratch"] = os.getcwd() == (JOB_SCRATCH if own_tmp else scratch)
                with open("/proc/self/status" if os.path.exists("/proc/self/status") else os.devnull) as f:
                    found["no_new_privs"] = "NoNewPrivs:\t1" in f.read() or _nnp_from_prctl()
                if state.namespaces["mount"]:
                    try:
                        open("/evoenv-probe", "w")
                        found["mount"] = False
                    except OSError:
                        found["mount"] = True
                found["rootfs"] = state.minimal_root and _probeenter_minimal_root(state)
                found["seccomp"] = _probe_seccomp()
            except OSError:
                pass
        finally:
            os.write(write_fd, ",".join(k for k, v in found.items() if v).encode())
            os._exit(0)
    os.close(write_fd)
    answer = os.read(read_fd, 4096).decode()
    os.close(read_fd)
    os.waitpid(pid, 0)
    clean_after_job(state, scratch)
    proven = set(answer.split(",")) - {""}
    for name in ("pid", "rlimits", "non_root", "nproc", "scratch", "no_new_privs", "mount", "rootfs", "seccomp"):
        layers[name] = name in proven
    return layers


def _probeenter_minimal_root(state: ZygoteState) -> bool:
    """As the job: "/" holds only what the zygote put there and a host file is gone."""
    if not set(os.listdir("/")) <= state.root_entries:
        return False
    return state.hidden_file is None or not os.path.exists(state.hidden_file)


def _nnp_from_prctl() -> bool:
    PR_GET_NO_NEW_PRIVS = 39
    return libc.prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1


def _probe_seccomp() -> bool:
    """Install the filter and check it answers: setpgid -> EPERM, clone3 -> ENOSYS, threads still run."""
    import threading

    try:
        install_seccomp(os.getpid())
    except OSError:
        return False
    try:
        os.setpgid(0, 0)  # allowed without the filter: we already lead our group
        return False
    except PermissionError:
        pass
    nr_clone3 = syscall_number("clone3")
    if libc.syscall(nr_clone3, None, 0) != -1 or ctypes.get_errno() != errno.ENOSYS:
        return False
    box: list[int] = []
    thread = threading.Thread(target=box.append, args=(1,))
    thread.start()
    thread.join()
    return box == [1]
