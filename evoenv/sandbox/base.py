"""Types shared by every sandbox backend."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Sequence
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
    def for_jobs(cls, **overrides) -> Limits:
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

    @property
    def error_code(self) -> str:
        """Why a failed call failed, one of ``protocol.ERROR_CODES`` ("" when it succeeded)."""
        return str((self.error or {}).get("code", ""))


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
    def from_reply(cls, reply: dict, calls: Sequence[protocol.Call]) -> JobResult:
        """Parse a guest reply to ``calls``; anything malformed is a ``crash``, never an exception or a success.

        This is the boundary where the host trusts a job's values, so each successful call's value is
        checked here (``protocol.checked_value``): a value that breaks the contract (a score outside
        [0, 1], a field of the wrong type, text that is not valid Unicode) becomes that call's error.
        Error texts come back as plain valid text without the sandbox's own traceback frames."""
        if not isinstance(reply, dict):
            return cls(CRASH, detail="reply is not a JSON object")
        items = reply.get("results") or []
        if not isinstance(items, list):
            return cls(CRASH, detail="malformed results list")
        results = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                return cls(CRASH, detail="malformed per-call result")
            op = calls[index].get("op") if index < len(calls) else None
            result = _checked_call(op, item)
            if result is None:
                return cls(CRASH, detail=f"per-call result {index} carried no known error code")
            results.append(result)
        outcome = reply.get("outcome")
        if outcome not in protocol.OUTCOMES:
            return cls(CRASH, detail=f"reply carried an unknown outcome {clean_text(outcome, 40)!r}")
        if outcome == OK and len(results) != len(calls):
            return cls(CRASH, detail=f"expected {len(calls)} results, got {len(results)}")
        duration = reply.get("duration_s")
        error = reply.get("error")
        if error is not None and not (isinstance(error, dict) and error.get("code") in protocol.ERROR_CODES):
            return cls(CRASH, detail="the job's load error carried no known error code")
        return cls(outcome, results, without_guest_frames(clean_text(reply.get("detail", ""), 4000)),
                   float(duration) if isinstance(duration, (int, float)) and not isinstance(duration, bool) else 0.0,
                   clean_error(error) if error is not None else None)


def _checked_call(op, item: dict) -> CallResult | None:
    """One call's result, its value checked; None when a failed call's error code is missing or unknown."""
    if item.get("ok") is True:
        try:
            return CallResult(True, protocol.checked_value(op, item.get("value")))
        except protocol.ValueProblem as exc:
            # rejected_by: the job's own check was bypassed or rebound (evidence of forging)
            return CallResult(False, None, {"code": exc.code, "type": exc.kind, "message": str(exc)[:2000],
                                            "traceback": "", "rejected_by": "host"})
    error = item.get("error")
    if not (isinstance(error, dict) and error.get("code") in protocol.ERROR_CODES):
        return None
    return CallResult(False, None, clean_error(error))


def clean_text(value, cap: int) -> str:
    """Text from a job as plain, valid text: non-strings as their repr, lone surrogates backslash-escaped
    (so it can be printed, stored and sent to a model), at most ``cap`` characters."""
    text = value if isinstance(value, str) else repr(value)
    return text[:cap].encode("utf-8", "backslashreplace").decode("utf-8")


def clean_error(error: dict) -> dict:
    """A call's or a load's error dict with only its code (already checked to be one of
    ``protocol.ERROR_CODES``) and its text fields, each clean (see ``clean_text``)."""
    return {"code": error["code"],
            "type": clean_text(error.get("type", "Error"), 100),
            "message": clean_text(error.get("message", ""), 2000),
            "traceback": without_guest_frames(clean_text(error.get("traceback", ""), 4000))}


# A traceback frame of the sandbox's own code (zygote, runner, isolation and its parts, protocol; not the SDK
# environments import), in a process or a container.
_GUEST_FRAME = re.compile(r'  File "[^"\n]*evoenv_guest[/\\](?:worker|runner|isolation|kernel|seccomp|filesystem|'
                          r'minimal_root|process_limits|probe|zygote_state|protocol)\.py", line \d+')


def without_guest_frames(text: str) -> str:
    """``text`` without the sandbox's own traceback frames: users and the generator policy see the
    environment's frames (what a model repairs from), not the zygote's."""
    if "evoenv_guest" not in text:
        return text
    kept: list[str] = []
    skipping = False
    for line in text.split("\n"):
        if line.startswith('  File "'):
            skipping = bool(_GUEST_FRAME.match(line))
        elif not (skipping and line.startswith("    ")):
            skipping = False
        if not skipping:
            kept.append(line)
    # a "Traceback" header left with no frame under it says nothing
    out = [line for i, line in enumerate(kept) if not (line.startswith("Traceback (most recent call last)")
                                                       and not (i + 1 < len(kept) and kept[i + 1].startswith("  ")))]
    return "\n".join(out)


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

    def run(self, code: str, calls: Sequence[protocol.Call], limits: Limits | None = None,
            fresh_hash_seed: int | None = None) -> JobResult: ...

    def close(self) -> None: ...


async def arun(sandbox: Sandbox, code: str, calls: Sequence[protocol.Call], limits: Limits | None = None) -> JobResult:
    """Run a job without blocking the event loop (for asyncio scorers during training)."""
    return await asyncio.to_thread(sandbox.run, code, calls, limits)
