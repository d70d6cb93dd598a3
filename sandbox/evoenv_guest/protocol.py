"""The wire protocol between the host (``evoenv.sandbox``) and the guest worker.

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
``{"ok": false, "error": {"type": "ValueError", "message": "...", "traceback": "..."}}``.
"""

from __future__ import annotations

import json
import struct

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
OPS = ("describe", "sample", "render", "prompt", "reference", "score")

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


def json_depth(value, limit: int = MAX_JSON_DEPTH) -> int:
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


def decode(body: bytes, max_bytes: int = MAX_FRAME_BYTES) -> dict:
    if len(body) > max_bytes:
        raise ProtocolError(f"frame of {len(body)} bytes exceeds {max_bytes}")
    try:
        message = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ProtocolError(f"frame is not valid JSON: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError("frame must be a JSON object")
    json_depth(message)
    return message


def read_exact(fd_read, n: int) -> bytes:
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


def read_frame(fd_read, max_bytes: int = MAX_FRAME_BYTES) -> dict | None:
    """Read one frame; None at a clean end of stream."""
    header = read_exact(fd_read, HEADER.size)
    if not header:
        return None
    (length,) = HEADER.unpack(header)
    if length > max_bytes:
        raise ProtocolError(f"frame announces {length} bytes, cap is {max_bytes}")
    return decode(read_exact(fd_read, length), max_bytes)


def write_all(fd: int, data: bytes, os_write) -> None:
    """Write every byte (``os_write`` is ``os.write``; passed in to keep this module import-light)."""
    view = memoryview(data)
    while view:
        view = view[os_write(fd, view) :]
