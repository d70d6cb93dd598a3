"""The filesystem view of the zygote and its jobs: read-only remounts, masked home directories,
fresh tmpfs mounts, each job's private /tmp or scratch directory, and the cleaning after a job."""

from __future__ import annotations

import os
import stat
import sys

from evoenv_guest.kernel import (
    CLONE_NEWNS,
    MS_BIND,
    MS_MOVE,
    MS_NOATIME,
    MS_NODEV,
    MS_NODIRATIME,
    MS_NOEXEC,
    MS_NOSUID,
    MS_RDONLY,
    MS_REC,
    MS_RELATIME,
    MS_REMOUNT,
    mount,
    unshare,
)
from evoenv_guest.zygote_state import ZygoteState


def _mount_points() -> list[tuple[str, set[str]]]:
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            points.append((fields[4].replace("\\040", " "), set(fields[5].split(","))))
    return points


def _unreachable_ancestor(path: str) -> str | None:
    """The first ancestor of path that 'other' users cannot traverse, if any."""
    parts = os.path.abspath(path).split("/")[1:]
    current = ""
    for part in parts[:-1] or parts:
        current += "/" + part
        try:
            if not os.stat(current).st_mode & stat.S_IXOTH:
                return current
        except OSError:
            return None
    return None


def expose_python(state: ZygoteState) -> None:
    """Mask home directories the job uid cannot traverse, but keep Python's own files visible.

    E.g. a pyenv Python under /root (mode 0700): /root becomes an empty tmpfs in which
    only the interpreter's prefix and the guest package are bind-mounted back."""
    needed = {os.path.realpath(p) for p in [sys.prefix, sys.base_prefix, *sys.path] if p and os.path.isdir(p)}
    by_ancestor: dict[str, list[str]] = {}
    for path in needed:
        top = _unreachable_ancestor(path)
        if top:
            by_ancestor.setdefault(top, []).append(path)
    for top, paths in by_ancestor.items():
        fds = {p: os.open(p, os.O_PATH | os.O_DIRECTORY) for p in paths}
        mount("tmpfs", top, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
        for path, fd in sorted(fds.items()):
            os.makedirs(path, exist_ok=True)
            mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
            os.close(fd)
        state.notes.append(f"masked {top}, kept {', '.join(sorted(paths))}")


#: An empty directory of the minimal root where a fresh tmpfs is filled before it is moved
#: into place (``/proc``: the empty tmpfs of jobs, or still a bare mount point).
HOLD = "/proc"


def fresh_tmpfs(state: ZygoteState, path: str, size: str) -> None:
    """Mount an empty tmpfs on ``path``, keeping what the minimal root holds there: when the
    interpreter or the guest lies under /tmp (a CI venv, a clone), their read-only binds are
    bound again into the new tmpfs, which is filled at HOLD and then moved onto ``path``."""
    options = f"mode=1777,size={size}"
    carried = state.carried.get(path)
    if not carried:
        mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, options)
        return
    mount("tmpfs", HOLD, "tmpfs", MS_NOSUID | MS_NODEV, options)
    for name in carried:
        source, target = f"{path}/{name}", f"{HOLD}/{name}"
        if os.path.islink(source):
            os.symlink(os.readlink(source), target)
        elif os.path.isdir(source):
            os.mkdir(target, 0o755)
            mount(source, target, None, MS_BIND | MS_REC)
        else:
            open(target, "a").close()
            mount(source, target, None, MS_BIND)
    mount(HOLD, path, None, MS_MOVE)


def read_only(state: ZygoteState, under: str) -> None:
    """Remount every mount point at or below ``under`` read-only, keeping its other flags."""
    keep_flags = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": MS_NOATIME,
                  "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME}
    prefix = under.rstrip("/") + "/"
    for point, options in reversed(_mount_points()):
        if under == "/" and (point.startswith("/proc") or point.startswith("/sys")):
            continue
        if point != under and not point.startswith(prefix):
            continue
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY
        for name, bit in keep_flags.items():
            if name in options:
                flags |= bit
        try:
            mount(None, point, None, flags)
        except OSError:
            state.notes.append(f"could not make {point} read-only")


def remove_scratch_root(state: ZygoteState) -> None:
    """At zygote exit: remove a scratch root it made on the shared filesystem."""
    if os.path.basename(state.scratch_root).startswith("evoenv-zygote-"):
        import shutil

        shutil.rmtree(state.scratch_root, ignore_errors=True)


def own_scratch_root() -> str:
    import tempfile

    root = tempfile.mkdtemp(prefix="evoenv-zygote-")
    os.chmod(root, 0o711)
    return root


def make_scratch(state: ZygoteState, job_index: int) -> str:
    path = os.path.join(state.scratch_root, f"job-{job_index}")
    os.mkdir(path, 0o700)
    if state.job_uid is not None:
        os.chown(path, state.job_uid, state.job_uid)
    return path


def clean_after_job(state: ZygoteState, scratch: str | None) -> None:
    """Remove a job's files: its scratch, and in a container everything in /tmp and /dev/shm.
    (Jobs with a private tmpfs, scratch None, leave nothing behind.)"""
    import shutil

    if scratch is None:
        return
    shutil.rmtree(scratch, ignore_errors=True)
    for folder in state.clean_dirs:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            path = os.path.join(folder, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                try:
                    os.unlink(path)
                except OSError:
                    pass


JOB_SCRATCH = "/tmp/job"


def private_tmp(state: ZygoteState) -> str:
    """In the child, still privileged: a mount namespace of its own with fresh tmpfs /tmp and
    /dev/shm. Whatever the job writes there vanishes with it; no job sees another's files."""
    unshare(CLONE_NEWNS)
    fresh_tmpfs(state, "/tmp", "256m")
    if os.path.isdir("/dev/shm"):
        fresh_tmpfs(state, "/dev/shm", "16m")
    os.mkdir(JOB_SCRATCH, 0o700)
    if state.job_uid is not None:
        os.chown(JOB_SCRATCH, state.job_uid, state.job_uid)
    return JOB_SCRATCH
