"""The hand-written seccomp BPF filter every job runs under: its syscall tables per machine, the
program, and its installation. Kill = the job dies with SIGSYS (outcome ``policy``); eperm = the
call fails with EPERM; clone, kill, prlimit64, tgkill and tkill are allowed on the job itself only."""

from __future__ import annotations

import ctypes
import errno
import platform
from typing import Any

from evoenv_guest.kernel import CLONE_THREAD, PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prctl


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


LD_ABS_W, JEQ_K, JSET_K, JGE_K, RET_K = 0x20, 0x15, 0x45, 0x35, 0x06
RET_KILL_PROCESS, RET_ERRNO, RET_ALLOW = 0x80000000, 0x00050000, 0x7FFF0000
OFF_NR, OFF_ARCH, OFF_ARG0 = 0, 4, 16  # struct seccomp_data; arg0's low word on little endian

#: (audit arch, syscall numbers) per machine. Kill = job dies with SIGSYS (outcome ``policy``);
#: eperm = the call fails with EPERM; the special cases are handled in ``seccomp_program``.
_X86_64: dict[str, Any] = {
    "arch": 0xC000003E,
    "deny_kill": {
        "fork": 57, "vfork": 58, "execve": 59, "execveat": 322, "socket": 41, "socketpair": 53,
        "connect": 42, "accept": 43, "accept4": 288, "bind": 49, "listen": 50, "ptrace": 101,
        "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312, "unshare": 272, "setns": 308,
        "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "bpf": 321,
        "perf_event_open": 298, "userfaultfd": 323, "keyctl": 250, "add_key": 248, "request_key": 249,
        "init_module": 175, "finit_module": 313, "delete_module": 176, "kexec_load": 246,
        "kexec_file_load": 320, "reboot": 169, "swapon": 167, "swapoff": 168, "iopl": 172, "ioperm": 173,
        "open_by_handle_at": 304, "name_to_handle_at": 303, "io_uring_setup": 425, "io_uring_enter": 426,
        "io_uring_register": 427, "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
        "fsmount": 432, "fspick": 433, "mount_setattr": 442, "pidfd_getfd": 438, "process_madvise": 440,
        "acct": 163, "quotactl": 179, "syslog": 103, "personality": 135, "lookup_dcookie": 212,
        "fanotify_init": 300, "vhangup": 153,
    },
    "deny_eperm": {
        "setsid": 112, "setpgid": 109, "setuid": 105, "setgid": 106, "setreuid": 113, "setregid": 114,
        "setresuid": 117, "setresgid": 119, "setgroups": 116, "seccomp": 317, "shmget": 29, "shmat": 30,
        "shmctl": 31, "shmdt": 67, "semget": 64, "semop": 65, "semctl": 66, "msgget": 68, "msgsnd": 69,
        "msgrcv": 70, "msgctl": 71, "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297,
        "pidfd_send_signal": 424, "pidfd_open": 434, "mknod": 133, "mknodat": 259, "sethostname": 170,
        "setdomainname": 171, "settimeofday": 164, "clock_settime": 227, "adjtimex": 159,
        "clock_adjtime": 305, "migrate_pages": 256, "move_pages": 279,
    },
    "clone": 56, "clone3": 435, "kill": 62, "tkill": 200, "tgkill": 234, "prlimit64": 302, "x32": True,
}
_AARCH64: dict[str, Any] = {
    "arch": 0xC00000B7,
    "deny_kill": {
        "execve": 221, "execveat": 281, "socket": 198, "socketpair": 199, "bind": 200, "listen": 201,
        "accept": 202, "connect": 203, "accept4": 242, "ptrace": 117, "process_vm_readv": 270,
        "process_vm_writev": 271, "kcmp": 272, "unshare": 97, "setns": 268, "mount": 40, "umount2": 39,
        "pivot_root": 41, "chroot": 51, "bpf": 280, "perf_event_open": 241, "userfaultfd": 282,
        "keyctl": 219, "add_key": 217, "request_key": 218, "init_module": 105, "finit_module": 273,
        "delete_module": 106, "kexec_load": 104, "kexec_file_load": 294, "reboot": 142, "swapon": 224,
        "swapoff": 225, "open_by_handle_at": 265, "name_to_handle_at": 264, "io_uring_setup": 425,
        "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428, "move_mount": 429,
        "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442,
        "pidfd_getfd": 438, "process_madvise": 440, "acct": 89, "quotactl": 60, "syslog": 116,
        "personality": 92, "vhangup": 58,
    },
    "deny_eperm": {
        "setsid": 157, "setpgid": 154, "setuid": 146, "setgid": 144, "setreuid": 145, "setregid": 143,
        "setresuid": 147, "setresgid": 149, "setgroups": 159, "seccomp": 277, "shmget": 194, "shmctl": 195,
        "shmat": 196, "shmdt": 197, "semget": 190, "semctl": 191, "semop": 193, "msgget": 186,
        "msgctl": 187, "msgrcv": 188, "msgsnd": 189, "rt_sigqueueinfo": 138, "rt_tgsigqueueinfo": 240,
        "pidfd_send_signal": 424, "pidfd_open": 434, "mknodat": 33, "sethostname": 161,
        "setdomainname": 162, "settimeofday": 170, "clock_settime": 112, "adjtimex": 171,
        "clock_adjtime": 266, "migrate_pages": 238, "move_pages": 239,
    },
    "clone": 220, "clone3": 435, "kill": 129, "tkill": 130, "tgkill": 131, "prlimit64": 261, "x32": False,
}
SYSCALLS: dict[str, Any] | None = {"x86_64": _X86_64, "amd64": _X86_64, "aarch64": _AARCH64, "arm64": _AARCH64}.get(
    platform.machine().lower())


def seccomp_program(own_pid: int) -> list[tuple[int, int, int, int]]:
    """The filter as (code, jt, jf, k) instructions. ``own_pid`` is the pid signals may target."""
    table = SYSCALLS
    if table is None:
        raise OSError(errno.ENOSYS, f"no seccomp syscall table for {platform.machine()}")
    prog: list[tuple[int, int, int, int]] = [(LD_ABS_W, 0, 0, OFF_ARCH), (JEQ_K, 1, 0, table["arch"]), (RET_K, 0, 0, RET_KILL_PROCESS),
            (LD_ABS_W, 0, 0, OFF_NR)]
    if table["x32"]:  # the x32 ABI aliases syscall numbers with bit 30 set
        prog += [(JGE_K, 0, 1, 0x40000000), (RET_K, 0, 0, RET_KILL_PROCESS)]
    for action, numbers in ((RET_KILL_PROCESS, table["deny_kill"]), (RET_ERRNO | errno.EPERM, table["deny_eperm"])):
        for nr in sorted(numbers.values()):
            prog += [(JEQ_K, 0, 1, nr), (RET_K, 0, 0, action)]
    # clone3 -> ENOSYS, so glibc falls back to clone(), whose flags a BPF filter can read.
    prog += [(JEQ_K, 0, 1, table["clone3"]), (RET_K, 0, 0, RET_ERRNO | errno.ENOSYS)]
    # clone: threads (CLONE_THREAD) only; a new process is a violation.
    prog += [(JEQ_K, 0, 4, table["clone"]), (LD_ABS_W, 0, 0, OFF_ARG0), (JSET_K, 0, 1, CLONE_THREAD),
             (RET_K, 0, 0, RET_ALLOW), (RET_K, 0, 0, RET_KILL_PROCESS)]
    # kill(pid): only this process (pid, 0 = own group, -pid = own group); else EPERM.
    neg = (-own_pid) & 0xFFFFFFFF
    prog += [(JEQ_K, 0, 6, table["kill"]), (LD_ABS_W, 0, 0, OFF_ARG0), (JEQ_K, 3, 0, own_pid),
             (JEQ_K, 2, 0, 0), (JEQ_K, 1, 0, neg), (RET_K, 0, 0, RET_ERRNO | errno.EPERM), (RET_K, 0, 0, RET_ALLOW)]
    # prlimit64(pid, ...): only itself (0 or its pid), so no job changes another's limits.
    prog += [(JEQ_K, 0, 5, table["prlimit64"]), (LD_ABS_W, 0, 0, OFF_ARG0), (JEQ_K, 2, 0, 0),
             (JEQ_K, 1, 0, own_pid), (RET_K, 0, 0, RET_ERRNO | errno.EPERM), (RET_K, 0, 0, RET_ALLOW)]
    # tgkill(tgid, ...) and tkill(tid, ...): only threads of this process.
    for name in ("tgkill", "tkill"):
        prog += [(JEQ_K, 0, 4, table[name]), (LD_ABS_W, 0, 0, OFF_ARG0), (JEQ_K, 1, 0, own_pid),
                 (RET_K, 0, 0, RET_ERRNO | errno.EPERM), (RET_K, 0, 0, RET_ALLOW)]
    # the accumulator may hold arg0 only inside the blocks above, each of which returns.
    prog.append((RET_K, 0, 0, RET_ALLOW))
    return prog


def syscall_number(name: str) -> int:
    """This machine's number for a syscall the tables name (OSError where there is no table)."""
    if SYSCALLS is None:
        raise OSError(errno.ENOSYS, f"no syscall table for {platform.machine()}")
    for table in (SYSCALLS, SYSCALLS["deny_kill"], SYSCALLS["deny_eperm"]):
        if isinstance(table.get(name), int) and not isinstance(table.get(name), bool):
            return int(table[name])
    raise KeyError(name)


def install_seccomp(own_pid: int) -> None:
    """Install the filter on this process (and every thread it starts later)."""
    if SYSCALLS is None:
        raise OSError(errno.ENOSYS, f"no seccomp syscall table for {platform.machine()}")
    prog = seccomp_program(own_pid)
    filters = (_SockFilter * len(prog))(*[_SockFilter(*ins) for ins in prog])
    fprog = _SockFprog(len(prog), filters)
    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog))
