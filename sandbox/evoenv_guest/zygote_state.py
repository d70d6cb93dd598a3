"""``ZygoteState``: what the zygote's one-time setup achieved, read by every per-job step."""

from __future__ import annotations


class ZygoteState:
    """What ``setup_zygote`` managed to do; the per-job code reads it."""

    def __init__(self) -> None:
        self.namespaces: dict[str, bool] = {"net": False, "ipc": False, "uts": False, "mount": False, "pid": False}
        self.job_uid: int | None = None  # uid jobs drop to (None: already non-root, no drop)
        self.job_uid_span = 1  # jobs take uids job_uid .. job_uid + span - 1 in turn (Docker: one per job)
        self.carried: dict[str, list[str]] = {}  # entries of the root's /tmp (an install there) kept in each fresh tmpfs
        self.own_limits: dict[int, tuple[int, int]] = {}  # the zygote's rlimits at start (no job may change them)
        self.pid_ns_fd: int | None = None  # our own PID namespace, to return to after each job's fork
        self.scratch_root = "/tmp"
        self.clean_dirs: list[str] = []  # emptied after every job (private to this zygote)
        self.minimal_root = False  # pivoted into a root holding only what jobs need
        self.root_entries: set[str] = set()  # the names in that root's "/"
        self.hidden_file: str | None = None  # a world-readable host file jobs must not see
        self.notes: list[str] = []
