"""Types shared by every sandbox backend."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import Any, Protocol

from evoenv.paths import guest_root

guest_root()  # makes ``evoenv_guest`` importable from a checkout
from evoenv_guest import protocol  # noqa: E402

OK, ERROR, TIMEOUT, MEMORY, OUTPUT_LIMIT, CRASH, POLICY = (
    protocol.OK, protocol.ERROR, protocol.TIMEOUT, protocol.MEMORY,
    protocol.OUTPUT_LIMIT, protocol.CRASH, protocol.POLICY,
)


@dataclass(frozen=True)
class Limits:
    """Per-job limits. ``wall_s`` bounds the whole job; the host adds a grace period.
    Defaults are the guest's ``protocol.DEFAULT_LIMITS``, so host and guest agree on them."""

    cpu_s: float = protocol.DEFAULT_LIMITS["cpu_s"]
    memory_mb: int = protocol.DEFAULT_LIMITS["memory_mb"]
    wall_s: float = protocol.DEFAULT_LIMITS["wall_s"]
    result_bytes: int = protocol.DEFAULT_LIMITS["result_bytes"]
    #: Isolation layers the backend must provide or refuse to run (see ``evoenv sandbox check``).
    #: None: ``EVOENV_SANDBOX_MIN_LAYERS`` (comma list, "all" or "none"), else ``DEFAULT_MIN_LAYERS``.
    min_layers: tuple[str, ...] | None = None
    file_mb: int = protocol.DEFAULT_LIMITS["file_mb"]
    threads: int = protocol.DEFAULT_LIMITS["threads"]

    @classmethod
    def for_jobs(cls, **overrides) -> "Limits":
        """The one set of job limits every caller uses (admission, training, exports, CLI, web), so a job
        cannot tell its caller from its rlimits. A field given as None keeps the default; tests shrink
        limits here, and a deployment that changes one must change it for every caller."""
        return cls(**{k: v for k, v in overrides.items() if v is not None})

    def as_dict(self) -> dict:
        return {"cpu_s": self.cpu_s, "memory_mb": self.memory_mb, "wall_s": self.wall_s,
                "result_bytes": self.result_bytes, "file_mb": self.file_mb, "threads": self.threads}


@dataclass
class CallResult:
    ok: bool
    value: Any = None
    error: dict | None = None

    @property
    def error_text(self) -> str:
        if self.error is None:
            return ""
        return f"{self.error.get('type', 'Error')}: {self.error.get('message', '')}"


@dataclass
class JobResult:
    """What one job came back as. ``outcome`` is one of ``protocol.OUTCOMES``."""

    outcome: str
    results: list[CallResult] = field(default_factory=list)
    detail: str = ""
    duration_s: float = 0.0
    error: dict | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == OK

    @classmethod
    def from_reply(cls, reply: dict, expected_calls: int) -> "JobResult":
        """Parse a guest reply; anything malformed is a ``crash``, never an exception or a success."""
        if not isinstance(reply, dict):
            return cls(CRASH, detail="reply is not a JSON object")
        items = reply.get("results") or []
        if not isinstance(items, list):
            return cls(CRASH, detail="malformed results list")
        results = []
        for item in items:
            if not isinstance(item, dict):
                return cls(CRASH, detail="malformed per-call result")
            error = item.get("error")
            results.append(CallResult(item.get("ok") is True, item.get("value"),
                                      error if isinstance(error, dict) else None))
        outcome = reply.get("outcome")
        if outcome not in protocol.OUTCOMES:
            return cls(CRASH, detail=f"reply carried an unknown outcome {str(outcome)[:40]!r}")
        if outcome == OK and len(results) != expected_calls:
            return cls(CRASH, detail=f"expected {expected_calls} results, got {len(results)}")
        duration = reply.get("duration_s")
        error = reply.get("error")
        return cls(outcome, results, str(reply.get("detail", ""))[:4000],
                   float(duration) if isinstance(duration, (int, float)) and not isinstance(duration, bool) else 0.0,
                   error if isinstance(error, dict) else None)


class SandboxUnavailable(RuntimeError):
    """The backend cannot start, or lacks isolation layers the configuration requires."""


class SandboxError(RuntimeError):
    """A job did not complete: the outcome says why (timeout, crash, policy, ...)."""

    def __init__(self, result: JobResult):
        self.result = result
        super().__init__(f"{result.outcome}: {result.detail}")


def new_nonce() -> str:
    return secrets.token_hex(16)


class Sandbox(Protocol):
    """Runs environment source code against a batch of calls, isolated from the host.

    ``fresh_hash_seed`` runs the job under a zygote started with that
    ``PYTHONHASHSEED`` (the L3 determinism check compares two). Such zygotes are
    kept warm per seed; every job is still a freshly forked child of a zygote that
    never ran environment code.
    Implementations are safe to call from many threads at once.
    """

    kind: str

    def run(self, code: str, calls: list[dict], limits: Limits | None = None,
            fresh_hash_seed: int | None = None) -> JobResult: ...

    def close(self) -> None: ...


async def arun(sandbox: Sandbox, code: str, calls: list[dict], limits: Limits | None = None) -> JobResult:
    """Run a job without blocking the event loop (for asyncio scorers during training)."""
    return await asyncio.to_thread(sandbox.run, code, calls, limits)
