"""The wire protocol between the host (``evoenv.sandbox``) and the guest worker.

Longer than ~400 lines on purpose: it is the whole contract between host and guest (frames, calls,
error codes, the checks of reply values, the layer names), which both sides read in one place.

Frames are a 4-byte big-endian length followed by UTF-8 JSON. Never pickle:
a frame decodes to plain dicts, lists, strings, numbers, booleans and None.

A job (host -> zygote, on the zygote's stdin) is TWO frames (``encode_job``): an envelope
the zygote reads, then the job itself, which the zygote moves to the job's child with
``splice`` without ever reading it (so no later child can find it in the zygote's memory)::

    {"nonce": "9f..", "limits": {...}}                        (envelope)
    {"nonce": "9f..", "code": "<environment source>",
     "calls": [{"op": "render", "seed": 3, "difficulty": 5}, ...],
     "limits": {"cpu_s": 10, "memory_mb": 1024, "wall_s": 20, "result_bytes": 8388608}}

A reply (zygote -> host, on the zygote's result fd), written by the child with ``nonce``
as its first key, and passed on by the zygote unread (it checks only the length and that
prefix)::

    {"nonce": "9f..", "outcome": "ok", "results": [{"ok": true, "value": ...}, ...], "detail": ""}

Per-call results are ``{"ok": true, "value": V}`` or
``{"ok": false, "error": {"code": "exception", "type": "ValueError", "message": "...", "traceback": "..."}}``;
a load error (outcome ``error``) carries the same error shape in ``"error"``. ``code`` is one of
``ERROR_CODES``: the host branches on it, never on the type name or the wording.

Calls are built only by the constructors below (``render(seed, difficulty)``, ``score(instance, answer)``,
...), and read back by the guest through ``checked_call``.
"""

from __future__ import annotations

import json
import math
import re
import struct
from collections.abc import Callable
from typing import Any, Literal, NoReturn, TypedDict

HEADER = struct.Struct(">I")

#: Hard cap on any frame; results bigger than the job's ``result_bytes`` are refused earlier.
MAX_FRAME_BYTES = 64 * 1024 * 1024
#: Cap on JSON nesting depth in results, so a hostile instance cannot blow the host's stack.
MAX_JSON_DEPTH = 64

# Outcome classes of a job.
OK = "ok"
ERROR = "error"  # the environment raised while loading (per-call errors live in results)
TIMEOUT = "timeout"
MEMORY = "memory"
OUTPUT_LIMIT = "output_limit"
CRASH = "crash"  # killed by a signal or exited without a valid result
POLICY = "policy"  # refused by the static policy or a seccomp/sandbox rule
OUTCOMES = (OK, ERROR, TIMEOUT, MEMORY, OUTPUT_LIMIT, CRASH, POLICY)

# Operations a job may ask for.
#   describe                 -> {"name", "description", "max_difficulty", "class_name"}
#   sample  seed difficulty  -> instance (JSON)
#   render  seed difficulty  -> {"instance", "prompt", "reference"}
#   prompt  instance         -> str
#   reference instance       -> str
#   score   instance answer  -> float in [0, 1]
#   roundtrip seed difficulty -> {"reference", "score", "raw_reference", "raw_score", "raw_error", "changes"}:
#                               reference and score(reference) on the round-tripped instance (what the
#                               platform uses) and on the raw one sample() returned (admission compares them)
OPS = ("describe", "sample", "render", "prompt", "reference", "score", "roundtrip")


class DescribeCall(TypedDict):
    op: Literal["describe"]


class SeededCall(TypedDict):
    op: Literal["sample", "render", "roundtrip"]
    seed: int
    difficulty: int


class InstanceCall(TypedDict):
    op: Literal["prompt", "reference"]
    instance: dict


class ScoreCall(TypedDict):
    op: Literal["score"]
    instance: dict
    answer: str


#: One call of a job, as it travels (a plain JSON object).
Call = DescribeCall | SeededCall | InstanceCall | ScoreCall

_SEEDED = ("sample", "render", "roundtrip")


class BadCall(ValueError):
    """A call that is not one of the protocol's ops with fields of the right types."""


def _int_field(spec: dict, key: str) -> int:
    value = spec.get(key)
    if type(value) is not int:  # bool is not a seed
        raise BadCall(f"{spec.get('op')} call: {key} must be an int, got {type(value).__name__}")
    return value


def _present(spec: dict, key: str) -> object:
    if key not in spec:
        raise BadCall(f"{spec.get('op')} call: {key} is missing")
    return spec[key]


def checked_call(spec: object) -> Call:
    """``spec`` as a call if it is one: an op of OPS with the fields that op needs (seed and difficulty
    ints; an instance and an answer present, passed on as they are, since the environment's own code
    judges them: a scorer must cope with any answer); raises ``BadCall`` saying what is wrong otherwise.
    The one place calls are validated."""
    if type(spec) is not dict:
        raise BadCall(f"a call must be a JSON object, got {type(spec).__name__}")
    op = spec.get("op")
    if op == "describe":
        return {"op": "describe"}
    if op in _SEEDED:
        return {"op": op, "seed": _int_field(spec, "seed"), "difficulty": _int_field(spec, "difficulty")}
    if op in ("prompt", "reference"):
        return {"op": op, "instance": _present(spec, "instance")}  # type: ignore[typeddict-item]
    if op == "score":
        return {"op": "score", "instance": _present(spec, "instance"),  # type: ignore[typeddict-item]
                "answer": _present(spec, "answer")}  # type: ignore[typeddict-item]
    raise BadCall(f"unknown op {str(op)[:40]!r}; ops are {', '.join(OPS)}")


def describe() -> DescribeCall:
    """The call for the environment's name, description, max_difficulty and class name."""
    return {"op": "describe"}


def sample(seed: int, difficulty: int) -> SeededCall:
    """The call for ``sample(seed, difficulty)``: the instance."""
    return checked_call({"op": "sample", "seed": seed, "difficulty": difficulty})  # type: ignore[return-value]


def render(seed: int, difficulty: int) -> SeededCall:
    """The call for an instance with its prompt and reference, in one go."""
    return checked_call({"op": "render", "seed": seed, "difficulty": difficulty})  # type: ignore[return-value]


def roundtrip(seed: int, difficulty: int) -> SeededCall:
    """The call for reference and score on the instance before and after the JSON round trip."""
    return checked_call({"op": "roundtrip", "seed": seed, "difficulty": difficulty})  # type: ignore[return-value]


def prompt(instance: dict) -> InstanceCall:
    """The call for ``prompt(instance)``."""
    return checked_call({"op": "prompt", "instance": instance})  # type: ignore[return-value]


def reference(instance: dict) -> InstanceCall:
    """The call for ``reference(instance)``."""
    return checked_call({"op": "reference", "instance": instance})  # type: ignore[return-value]


def score(instance: dict, answer: str) -> ScoreCall:
    """The call for ``score(instance, answer)``."""
    return checked_call({"op": "score", "instance": instance, "answer": answer})  # type: ignore[return-value]


# ---- error codes --------------------------------------------------------------------------
# Set by the guest on every error it reports (a failed call, a failed load); the host checks the
# code is one of these (an unknown or missing one makes the reply malformed) and branches on it.
CODE_EXCEPTION = "exception"  # the environment's own code raised
CODE_CONTRACT = "contract"  # the source does not define exactly one class with the contract's members
CODE_NOT_JSON = "not_json"  # sample() returned a value JSON cannot carry
CODE_BAD_VALUE = "bad_value"  # a method returned a value of the wrong type or shape (not a score)
CODE_BAD_SCORE = "bad_score"  # score() returned a non-number or a number outside [0, 1]
CODE_BAD_CALL = "bad_call"  # the call itself is malformed (see checked_call)
ERROR_CODES = (CODE_EXCEPTION, CODE_CONTRACT, CODE_NOT_JSON, CODE_BAD_VALUE, CODE_BAD_SCORE, CODE_BAD_CALL)


class ValueProblem(Exception):
    """A returned value breaks the contract. ``kind`` is the builtin error it reports as ("TypeError",
    "ValueError"), ``code`` one of ERROR_CODES. Environment code cannot raise it (it cannot import this module)."""

    def __init__(self, code: str, kind: str, message: str):
        super().__init__(message)
        self.code, self.kind = code, kind


#: Builtins environment code never gets: the child leaves them out of its restricted builtins, and the
#: static policy (``evoenv.sandbox.policy``) refuses loading them. The plain names may be shadowed by the
#: environment's own binding (the policy allows that); the dunder names never.
FORBIDDEN_BUILTINS = frozenset({
    "eval", "exec", "compile", "__import__", "open", "globals", "vars", "locals", "breakpoint",
    "input", "help", "exit", "quit", "memoryview", "__builtins__", "__loader__", "__spec__",
    "copyright", "credits", "license",
})

#: Every isolation layer a job can have, in report order, with how to get it when it is missing. The guest
#: probes them (``evoenv_guest.probe.probe_layers``); the host reads the names from here.
LAYERS = {
    "net": "new network namespace (no network at all); run the host as root or use --sandbox docker",
    "ipc": "new IPC namespace; run the host as root or use --sandbox docker",
    "uts": "new UTS namespace (own hostname); run the host as root or use --sandbox docker",
    "mount": "new mount namespace: read-only filesystem, private /tmp, /proc hidden; "
             "run the host as root (CAP_SYS_ADMIN) or use --sandbox docker",
    "rootfs": "minimal root filesystem: jobs see only the interpreter, its libraries and the guest, "
              "no other host file; run the host as root (CAP_SYS_ADMIN, pivot_root) or use --sandbox docker",
    "pid": "new PID namespace per job (every process of a job dies with it); "
           "run the host as root or use --sandbox docker",
    "rlimits": "CPU, address-space, file-size, open-file and core rlimits (always available on Linux)",
    "non_root": "job runs under an unprivileged uid; start the host as root (it drops to a sandbox uid) "
                "or as any non-root user",
    "nproc": "RLIMIT_NPROC on a uid of the job's own; run the host as root, or Docker's pids limit",
    "no_new_privs": "prctl(PR_SET_NO_NEW_PRIVS); needs Linux >= 3.5",
    "seccomp": "seccomp BPF filter (no fork/exec/socket/ptrace/kill outside the job); needs Linux with "
               "CONFIG_SECCOMP_FILTER on x86_64 or aarch64, and a container runtime that allows seccomp()",
    "scratch": "private scratch directory, removed after each job",
}

#: The environment contract: method name -> number of parameters after ``self``.
CONTRACT_METHODS = {"sample": 2, "prompt": 1, "reference": 1, "score": 2}
CONTRACT_ATTRIBUTES = ("name", "description", "max_difficulty")

#: Modules environment code may import (the static policy and the child's import guard agree on it).
ALLOWED_MODULES = (
    "math", "random", "itertools", "functools", "collections", "heapq", "bisect",
    "string", "re", "fractions", "decimal", "statistics", "dataclasses", "typing",
    "enum", "json", "copy", "networkx",
)
#: Extra dotted modules allowed besides ALLOWED_MODULES (and their submodules).
ALLOWED_DOTTED = ("evoenv.sdk",)


def allowed_module(name: str) -> bool:
    """Whether environment code may import ``name``: the static policy and the child's
    import guard both ask this."""
    return name.split(".")[0] in ALLOWED_MODULES or any(name == d or name.startswith(d + ".")
                                                        for d in ALLOWED_DOTTED)


# Optional job keys (absent = full builtins, the behaviour of the first protocol version):
#   "builtins": [names]  the child execs the source with only these builtins, a guarded
#                        __import__ (ALLOWED_MODULES only) and guarded getattr/setattr/...
DEFAULT_LIMITS = {
    "cpu_s": 10.0,
    "memory_mb": 1024,
    "wall_s": 20.0,
    "result_bytes": 8 * 1024 * 1024,
    "file_mb": 16,
    "threads": 64,
}


def job_limits(job: dict) -> dict:
    """A job's limits, with ``DEFAULT_LIMITS`` for any it leaves out."""
    return {**DEFAULT_LIMITS, **(job.get("limits") or {})}


class ProtocolError(ValueError):
    """A frame that is malformed, too large or too deep."""


class MalformedFrame(ProtocolError):
    """A complete, well-delimited frame whose body is not strict JSON (NaN, 1e999, broken UTF-8): the
    stream is still in step, so the reader can go on with the next frame."""


#: Cap on the envelope frame (nonce and limits only).
ENVELOPE_BYTES = 4096


def encode_job(job: dict) -> bytes:
    """The bytes the host sends for one job: the envelope, then the job frame."""
    return encode({"nonce": job["nonce"], "limits": job_limits(job)}) + encode(job)


def nonce_prefix(nonce: str) -> bytes:
    """How every reply frame's JSON begins (the zygote checks it without reading further)."""
    return ('{"nonce":' + json.dumps(nonce) + ",").encode("utf-8")


def encode(message: dict) -> bytes:
    body = json.dumps(message, separators=(",", ":"), allow_nan=False).encode("utf-8")
    if len(body) > MAX_FRAME_BYTES:
        raise ProtocolError(f"frame of {len(body)} bytes exceeds {MAX_FRAME_BYTES}")
    return HEADER.pack(len(body)) + body


def json_depth(value: object, limit: int = MAX_JSON_DEPTH) -> int:
    """Nesting depth of a decoded JSON value, iteratively (no recursion to exhaust)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise ProtocolError(f"JSON nested deeper than {limit} levels")
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def _refuse_constant(name: str) -> NoReturn:
    raise MalformedFrame(f"frame carries {name}, which is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e400 parses to inf
        raise MalformedFrame(f"frame carries the number {text[:40]}, which does not fit a finite float")
    return number


def decode(body: bytes, max_bytes: int = MAX_FRAME_BYTES) -> dict:
    """A frame's JSON object. Strict JSON only: NaN, Infinity and numbers that overflow a float are
    refused here, so no reply carries a value that ``encode`` (``allow_nan=False``) cannot send on."""
    if len(body) > max_bytes:
        raise ProtocolError(f"frame of {len(body)} bytes exceeds {max_bytes}")
    try:
        message = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant, parse_float=_finite_float)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # ValueError: also ints over 4300 digits
        if isinstance(exc, ProtocolError):
            raise
        raise MalformedFrame(f"frame is not valid JSON: {exc}") from None
    if not isinstance(message, dict):
        raise MalformedFrame("frame must be a JSON object")
    json_depth(message)
    return message


def read_exact(fd_read: Callable[[int], bytes], n: int) -> bytes:
    """Read exactly n bytes with ``fd_read(k) -> bytes``; b'' at EOF before any byte."""
    chunks, got = [], 0
    while got < n:
        chunk = fd_read(n - got)
        if not chunk:
            if got == 0:
                return b""
            raise ProtocolError(f"stream ended after {got} of {n} bytes")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_frame(fd_read: Callable[[int], bytes], max_bytes: int = MAX_FRAME_BYTES) -> dict | None:
    """Read one frame; None at a clean end of stream."""
    header = read_exact(fd_read, HEADER.size)
    if not header:
        return None
    (length,) = HEADER.unpack(header)
    if length > max_bytes:
        raise ProtocolError(f"frame announces {length} bytes, cap is {max_bytes}")
    return decode(read_exact(fd_read, length), max_bytes)


# ---- the values of successful calls ---------------------------------------------------------
# The guest checks them before it replies, as advice to honest code; the host checks them again
# when it decodes a reply (``evoenv.sandbox.base.JobResult.from_reply``), because a job can rebind
# anything in its own process. A violation becomes that call's error, never a value.

#: Largest ``max_difficulty`` a job may report (admission's ``max_levels`` default agrees).
MAX_DIFFICULTY = 1000
#: A name is a short id: letters, digits, ``_ . -`` and spaces (it is shown in tables and file names).
NAME_PATTERN = re.compile(r"[A-Za-z0-9_.\- ]{0,100}")
_CLASS_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,199}")
_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(text: str) -> str:
    """Why ``text`` is not valid Unicode text ('' when it is): a lone surrogate cannot be UTF-8."""
    found = _SURROGATE.search(text)
    return f"a lone surrogate U+{ord(found.group()):04X} at index {found.start()}" if found else ""


def _checked_text(value: object, what: str) -> str:
    if type(value) is not str:
        raise ValueProblem(CODE_BAD_VALUE, "TypeError", f"{what} must return str, got {type(value).__name__}")
    problem = text_problem(value)
    if problem:
        raise ValueProblem(CODE_BAD_VALUE, "TypeError", f"{what} must return valid Unicode text, found {problem}")
    return value


# Bound at import, before any environment code runs in the guest.
_as_json_text = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _checked_instance(value: object, what: str) -> dict:
    if type(value) is not dict:
        raise ValueProblem(CODE_BAD_VALUE, "TypeError", f"{what} must return a dict (a JSON object), got {type(value).__name__}")
    try:
        _as_json_text(value).encode("utf-8")  # at C speed; only a lone surrogate makes it fail
        return value
    except UnicodeEncodeError:
        pass
    stack = [value]  # find it, to say where
    while stack:  # iterative: depth is already capped by decode(), but no recursion either way
        item = stack.pop()
        if isinstance(item, dict):
            for key, inner in item.items():
                problem = text_problem(key)
                if problem:
                    raise ValueProblem(CODE_BAD_VALUE, "TypeError", f"{what} returned an instance whose key {key!r} is not valid text ({problem})")
                stack.append(inner)
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            problem = text_problem(item)
            if problem:
                raise ValueProblem(CODE_BAD_VALUE, "TypeError", f"{what} returned an instance with a string that is not valid text ({problem})")
    return value


def checked_score(value: object) -> float:
    """A score: an int or float (JSON ``true`` is not a number), finite, in [0, 1]."""
    # the exact type refuses bool and subclasses; isinstance tells the type checker the same
    if type(value) not in (int, float) or not isinstance(value, (int, float)):
        raise ValueProblem(CODE_BAD_SCORE, "TypeError", f"score must return a float, got {type(value).__name__}")
    score = float(value)
    if not (math.isfinite(score) and 0.0 <= score <= 1.0):
        raise ValueProblem(CODE_BAD_SCORE, "ValueError", f"score returned {score!r}, outside [0, 1]")
    return score


def _checked_describe(value: object) -> dict:
    if type(value) is not dict:
        raise ValueProblem(CODE_BAD_VALUE, "TypeError", f"describe must return an object, got {type(value).__name__}")
    name = _checked_text(value.get("name"), "name")
    if not NAME_PATTERN.fullmatch(name):
        raise ValueProblem(CODE_BAD_VALUE, "ValueError", f"name {name[:120]!r} is not a short id: use up to 100 letters, digits, '_', '-', '.' "
                         "or spaces (snake_case is the convention)")
    description = _checked_text(value.get("description"), "description")
    level = value.get("max_difficulty")
    if type(level) is not int:
        raise ValueProblem(CODE_BAD_VALUE, "TypeError", f"max_difficulty must be an int, got {type(level).__name__}")
    if not 1 <= level <= MAX_DIFFICULTY:
        raise ValueProblem(CODE_BAD_VALUE, "ValueError", f"max_difficulty is {level}; it must be between 1 and {MAX_DIFFICULTY}")
    class_name = _checked_text(value.get("class_name"), "class name")
    if not _CLASS_NAME.fullmatch(class_name):
        raise ValueProblem(CODE_BAD_VALUE, "ValueError", f"class name {class_name[:120]!r} is not a Python identifier")
    return {"name": name, "description": description, "max_difficulty": level, "class_name": class_name}


def _checked_roundtrip(value: object) -> dict:
    """The ``roundtrip`` probe's report: the raw side may be missing (None) when it did not run."""
    if type(value) is not dict:
        raise ValueProblem(CODE_BAD_VALUE, "TypeError", f"roundtrip must return an object, got {type(value).__name__}")
    raw_reference, raw_score = value.get("raw_reference"), value.get("raw_score")
    changes = value.get("changes")
    if type(changes) is not list:
        raise ValueProblem(CODE_BAD_VALUE, "TypeError", f"roundtrip changes must be a list, got {type(changes).__name__}")
    return {"reference": _checked_text(value.get("reference"), "reference()"),
            "score": checked_score(value.get("score")),
            "raw_reference": None if raw_reference is None else _checked_text(raw_reference, "reference()"),
            "raw_score": None if raw_score is None else checked_score(raw_score),
            "raw_error": _checked_text(value.get("raw_error", ""), "raw error"),
            "changes": [_checked_text(change, "roundtrip change") for change in changes]}


def checked_value(op: object, value: object) -> Any:
    """The value of a successful ``op`` call if it keeps the contract (see OPS), rebuilt with exactly
    the contract's fields; raises ``ValueProblem`` (with its error code) saying what is wrong otherwise."""
    if op == "score":
        return checked_score(value)
    if op in ("prompt", "reference"):
        return _checked_text(value, f"{op}()")
    if op == "sample":
        return _checked_instance(value, "sample()")
    if op == "render":
        if type(value) is not dict:
            raise ValueProblem(CODE_BAD_VALUE, "TypeError", f"render must return an object, got {type(value).__name__}")
        return {"instance": _checked_instance(value.get("instance"), "sample()"),
                "prompt": _checked_text(value.get("prompt"), "prompt()"),
                "reference": _checked_text(value.get("reference"), "reference()")}
    if op == "describe":
        return _checked_describe(value)
    if op == "roundtrip":
        return _checked_roundtrip(value)
    raise ValueProblem(CODE_BAD_CALL, "ValueError", f"unknown op {op!r}")


def write_all(fd: int, data: bytes, os_write: Callable[[int, memoryview], int]) -> None:
    """Write every byte (``os_write`` is ``os.write``; passed in to keep this module import-light)."""
    view = memoryview(data)
    while view:
        view = view[os_write(fd, view) :]
