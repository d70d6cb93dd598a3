"""The minimal root: a small tmpfs holding only bind mounts of the interpreter, its libraries, the guest
package and a few device nodes, which the zygote pivots into, so jobs see no other host file."""

from __future__ import annotations

import ctypes
import errno
import os
import sys

from evoenv_guest.filesystem import read_only
from evoenv_guest.kernel import (
    MS_BIND,
    MS_MOVE,
    MS_NODEV,
    MS_NOSUID,
    MS_REC,
    check,
    libc,
    mount,
)
from evoenv_guest.seccomp import SYSCALLS, syscall_number
from evoenv_guest.zygote_state import ZygoteState

#: Where the new root is assembled: a tmpfs over /sys in the zygote's own mount namespace
#: (sysfs is detached there first; the host's /sys is untouched). No Python install, venv
#: or checkout can lie under /sys, so every needed path can be bound wherever it lives.
STAGING = "/sys"
DEVICES = ("/dev/null", "/dev/zero", "/dev/random", "/dev/urandom")
#: Empty mount points: the private tmpfs and the empty /proc are mounted on them after the pivot.
MOUNT_POINTS = ("/tmp", "/dev/shm", "/proc")
#: World-readable host files that show whether jobs still see the host (the first that exists).
HIDDEN_CANDIDATES = ("/etc/passwd", "/etc/hostname", "/etc/os-release")
#: Top-level library paths kept as the host's symlinks when the libraries they lead to are bound.
LIBRARY_LINKS = ("/lib", "/lib64", "/lib32", "/libx32")
MNT_DETACH = 2


def is_under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _library_dirs() -> set[str]:
    """The interpreter's prefixes and library directories (stdlib, lib-dynload, site-packages)."""
    import site
    import sysconfig

    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, *site.getsitepackages()}
    dirs |= {sysconfig.get_path(name) for name in ("stdlib", "platstdlib", "purelib", "platlib")}
    return {os.path.realpath(d) for d in dirs if d and os.path.isdir(d)}


def _imported_packages(libraries: set[str]) -> set[str]:
    """Top-level packages the zygote imported from outside the library directories (the guest
    package from PYTHONPATH). Only those are bound, never the sys.path entry they sit in: that
    may be a checkout holding other environments' code and data. A module found through no
    sys.path entry (e.g. Debian's sitecustomize, a symlink into /etc/python3.X) brings its
    own folder. ("/" is never an entry: ``python -m`` started in "/" puts it first.)"""
    entries = sorted({os.path.realpath(p) for p in sys.path if p and p != "/" and os.path.isdir(p)},
                     key=len, reverse=True)
    packages = set()
    for module in list(sys.modules.values()):
        origin = getattr(module, "__file__", None)
        if not origin:
            continue
        origin = os.path.realpath(origin)
        if any(is_under(origin, lib) for lib in libraries):
            continue
        entry = next((e for e in entries if is_under(origin, e)), None)
        if entry is None:  # not from sys.path (e.g. run by file name): its own directory
            packages.add(os.path.dirname(origin))
        else:
            packages.add(os.path.join(entry, os.path.relpath(origin, entry).split("/")[0]))
    return packages


def _shared_library_dirs(already: set[str]) -> set[str]:
    """Directories of the shared libraries mapped into the zygote (libc, libm, libffi, ...).
    Extension modules imported later load their libraries from the same places."""
    dirs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            fields = line.split(None, 5)
            path = fields[5].strip() if len(fields) == 6 else ""
            if not path.startswith("/") or ".so" not in os.path.basename(path) or path.endswith("(deleted)"):
                continue
            folder = os.path.dirname(os.path.realpath(path))
            if not any(is_under(folder, d) for d in already | {"/tmp", "/dev", "/proc", "/sys"}):
                dirs.add(folder)
    return dirs


def _root_contents() -> tuple[list[str], list[str]]:
    """(directories, files) of the host to bind into the minimal root."""
    libraries = _library_dirs()
    dirs = libraries | _imported_packages(libraries)
    dirs |= _shared_library_dirs(dirs)
    # Drop what a bound ancestor already holds.
    dirs = {d for d in dirs if not any(d != other and is_under(d, other) for other in dirs)}
    files = [f for f in ("/etc/ld.so.cache", *DEVICES) if os.path.exists(f)]
    return sorted(dirs), files


def _make_path(root: str, path: str) -> str:
    """Create the directories of host ``path`` inside ``root``; a symlink on the way is copied
    as a symlink (so /lib -> usr/lib still resolves) and its target created too. Returns the
    real host path. New directories are 0755: jobs may traverse them whatever the host's mode
    (e.g. a pyenv Python under /root, mode 0700)."""
    current = ""
    for part in path.strip("/").split("/"):
        if not part:
            continue
        host = f"{current}/{part}"
        inside = root + host
        if os.path.islink(host):
            if not os.path.lexists(inside):
                os.symlink(os.readlink(host), inside)
            current = _make_path(root, os.path.realpath(host))
        else:
            current = host
            if not os.path.lexists(inside):
                os.mkdir(inside, 0o755)
    return current or "/"


def _pivot_root(new_root: str) -> None:
    """Make ``new_root`` "/" and detach the old root, so no path leads back to the host."""
    os.chdir(new_root)
    # pivot_root(".", "."): the old root is stacked on the new one, then detached lazily.
    if libc.syscall(syscall_number("pivot_root"), b".", b".") == 0:
        check(libc.umount2(b".", MNT_DETACH), "umount old root")
    elif ctypes.get_errno() == errno.EPERM:
        # Docker's seccomp profile refuses pivot_root: switch roots the way switch_root does
        # (the old root stays under the new one, reachable by no path; jobs cannot chroot).
        mount(new_root, "/", None, MS_MOVE)
        os.chroot(".")
    else:
        check(-1, "pivot_root")
    os.chdir("/")


def _bind_into_staging(dirs: list[str], files: list[str]) -> None:
    """Bind ``dirs`` and ``files`` into the tmpfs at STAGING, at their real host paths."""
    for path in dirs:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        try:
            mount(f"/proc/self/fd/{fd}", STAGING + _make_path(STAGING, path), None, MS_BIND | MS_REC)
        finally:
            os.close(fd)
    for path in files:
        target = STAGING + os.path.join(_make_path(STAGING, os.path.dirname(path)), os.path.basename(path))
        open(target, "a").close()  # a file is the mount point of a file
        mount(path, target, None, MS_BIND)
    for link in LIBRARY_LINKS:  # merged /usr: the loader's cache names /lib/... paths
        target = os.path.realpath(link)
        if os.path.islink(link) and any(is_under(d, target) or is_under(target, d) for d in dirs):
            _make_path(STAGING, link)
    for path in MOUNT_POINTS:
        os.makedirs(STAGING + path, 0o755, exist_ok=True)


def enter_minimal_root(state: ZygoteState) -> bool:
    """Pivot into a root holding only what jobs need. False (with a note) where that is
    impossible: the caller then keeps the host tree, read-only (the older, weaker view)."""
    if SYSCALLS is None:
        state.notes.append("minimal root: no pivot_root syscall number for this machine; "
                           "jobs see the host filesystem read-only")
        return False
    state.hidden_file = next((f for f in HIDDEN_CANDIDATES if os.path.isfile(f)), None)
    staged = pivoted = False
    try:
        dirs, files = _root_contents()
        inside = [path for path in [*dirs, *files] if is_under(path, STAGING)]
        if inside:  # cannot happen with /sys; kept so a change of STAGING cannot hide a path
            raise OSError(errno.EBUSY, f"{inside[0]} lies under {STAGING}, where the root is built")
        libc.umount2(STAGING.encode(), MNT_DETACH)  # sysfs and its submounts: none needed
        mount("tmpfs", STAGING, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
        staged = True
        _bind_into_staging(dirs, files)
        state.root_entries = set(os.listdir(STAGING))
        state.carried = {p: sorted(os.listdir(STAGING + p)) for p in ("/tmp", "/dev/shm")
                         if os.listdir(STAGING + p)}
        read_only(state, under=STAGING)
        _pivot_root(STAGING)
        pivoted = True
    except OSError as exc:
        state.notes.append(f"minimal root: {exc}; jobs see the host filesystem read-only")
        os.chdir("/")
        if staged and not pivoted:
            libc.umount2(STAGING.encode(), MNT_DETACH)  # drop the half-built root
        return False
    state.notes.append(f"minimal root: {', '.join(dirs)} bound read-only")
    return True
