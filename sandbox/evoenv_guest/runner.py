"""What a forked child does with one job: isolate, load the environment, run the calls.

Values cross back to the host only as JSON, so an object with a rigged
``__eq__`` arrives as plain data or not at all. Scores must be real ints or
floats (not subclasses) in [0, 1]. These checks are advice to honest code: a
job can rebind anything here, so the host checks every value again
(``protocol.checked_value``).
"""

from __future__ import annotations

import builtins
import copy
import json
import math
import os
import re
import sys
import traceback
import types

from evoenv_guest import protocol as P
from evoenv_guest import sdk

# Bound before any environment code runs, so patching json later cannot forge replies.
_dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
_loads = json.loads

ENV_MODULE = "evoenv_environment"


class ContractError(Exception):
    """The source does not define exactly one class with the contract's members (code ``contract``)."""


def find_environment_class(namespace: dict) -> type:
    """The one class of the loaded source with the contract's members: the guest's only finder."""
    candidates = []
    for value in list(namespace.values()):
        if not isinstance(value, type) or getattr(value, "__module__", None) != ENV_MODULE:
            continue
        if all(callable(getattr(value, m, None)) for m in P.CONTRACT_METHODS) and all(
            hasattr(value, a) for a in P.CONTRACT_ATTRIBUTES
        ):
            candidates.append(value)
    if len(candidates) != 1:
        names = ", ".join(c.__name__ for c in candidates) or "none"
        raise ContractError(
            f"expected exactly one class with {', '.join(P.CONTRACT_ATTRIBUTES)} and "
            f"{', '.join(P.CONTRACT_METHODS)}; found {len(candidates)} ({names})"
        )
    return candidates[0]


def _guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
    # `from __future__ import annotations` runs an import of the directive module
    if level != 0 or not isinstance(name, str) or not (name == "__future__" or P.allowed_module(name)):
        raise ImportError(f"import of {name!r} is not allowed in an environment")
    return __import__(name, globals, locals, fromlist, 0)


def _public(name, what: str) -> str:
    if not isinstance(name, str) or name.startswith("_"):
        raise AttributeError(f"{what} of {name!r} is not allowed (names starting with '_' are private)")
    return name


def _guarded_getattr(obj, name, *default):
    return getattr(obj, _public(name, "getattr"), *default)


def _guarded_hasattr(obj, name):
    return hasattr(obj, _public(name, "hasattr"))


def _guarded_setattr(obj, name, value):
    if isinstance(obj, types.ModuleType):
        raise AttributeError("setattr on a module is not allowed")
    return setattr(obj, _public(name, "setattr"), value)


def _guarded_delattr(obj, name):
    if isinstance(obj, types.ModuleType):
        raise AttributeError("delattr on a module is not allowed")
    return delattr(obj, _public(name, "delattr"))


_GUARDS = {"__import__": _guarded_import, "getattr": _guarded_getattr, "hasattr": _guarded_hasattr,
           "setattr": _guarded_setattr, "delattr": _guarded_delattr}


def restricted_builtins(names) -> dict:
    """Only the named builtins, with import and attribute access guarded."""
    table = {name: getattr(builtins, name) for name in names if hasattr(builtins, name) and name in _ALLOWED_BUILTINS}
    table.update(_GUARDS)
    return table


# Names a host may ask for; anything else in a job's list is ignored (the guest decides).
_ALLOWED_BUILTINS = {n for n in dir(builtins) if n not in P.FORBIDDEN_BUILTINS and n not in _GUARDS}


def load_environment(code: str, builtin_names=None):
    module = types.ModuleType(ENV_MODULE)
    sys.modules[ENV_MODULE] = module
    sdk.install()
    if builtin_names is not None:
        module.__dict__["__builtins__"] = restricted_builtins(builtin_names)
    exec(compile(code, "<environment>", "exec"), module.__dict__)  # we ARE the sandbox
    return find_environment_class(module.__dict__)()


def _error(exc: BaseException) -> dict:
    """The protocol's error shape; ``code`` says whose fault it is (see ``protocol.ERROR_CODES``)."""
    if isinstance(exc, (P.ValueProblem, P.BadCall)):
        # raised by the sandbox's own checks: no environment frame to show, only the builtin error it reports as
        code, kind = (exc.code, exc.kind) if isinstance(exc, P.ValueProblem) else (P.CODE_BAD_CALL, "ValueError")
        tb = [f"{kind}: {exc}\n"]
    else:
        code = P.CODE_CONTRACT if isinstance(exc, ContractError) else P.CODE_EXCEPTION
        kind = type(exc).__name__
        tb = traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-6)
    return {
        "code": code,
        "type": kind,
        "message": str(exc)[:2000],
        "traceback": "".join(tb)[-4000:],
    }


def _as_text(value, what: str) -> str:
    if not isinstance(value, str):
        raise P.ValueProblem(P.CODE_BAD_VALUE, "TypeError", f"{what} must return str, got {type(value).__name__}")
    return str.__str__(value)


def _as_json(value, what: str):
    try:
        return _loads(_dumps(value))
    except (TypeError, ValueError, RecursionError) as exc:
        raise P.ValueProblem(P.CODE_NOT_JSON, "TypeError", f"{what} is not JSON-serialisable: {exc}") from None


def as_score(value) -> float:
    if type(value) not in (int, float, bool):
        raise P.ValueProblem(P.CODE_BAD_SCORE, "TypeError", f"score must return a float, got {type(value).__name__}")
    score = float(value)
    if math.isnan(score) or not 0.0 <= score <= 1.0:
        raise P.ValueProblem(P.CODE_BAD_SCORE, "ValueError", f"score returned {score!r}, outside [0, 1]")
    return score


def json_changes(value, limit: int = 3) -> list[str]:
    """Where the JSON round trip changes an instance's types: tuples become lists, non-str dict keys
    become str, subclasses (defaultdict, IntEnum, namedtuple) become plain values. At most ``limit``."""
    out, stack, shapes = [], [("instance", value)], set()
    while stack and len(out) < limit:
        path, item = stack.pop()
        kind = type(item)
        shape = re.sub(r"\[\d+\]", "[]", path)  # one report per field, not one per list element
        if shape in shapes:
            continue
        shapes.add(shape)
        if isinstance(item, dict):
            if kind is not dict:
                out.append(f"{path} is a {kind.__name__} (arrives as a dict)")
            odd = [k for k in item if type(k) is not str]
            if odd:
                arrived = next(iter(_loads(_dumps({odd[0]: 0}))))
                out.append(f"{path} has {type(odd[0]).__name__} keys such as {odd[0]!r} (they arrive as strings, "
                           f"{arrived!r})")
            stack.extend((f"{path}[{k!r}]", v) for k, v in reversed(list(item.items())))
        elif isinstance(item, (list, tuple)):
            if kind is not list:
                out.append(f"{path} is a {kind.__name__} (arrives as a list)")
            stack.extend((f"{path}[{i}]", v) for i, v in reversed(list(enumerate(item))))
        elif isinstance(item, (int, float, str)) and kind not in (int, float, str, bool):
            plain = next(t for t in (int, float, str) if isinstance(item, t))
            out.append(f"{path} is a {kind.__name__} (arrives as a plain {plain.__name__})")
    return out[:limit]


def _attempt(fn, *args):
    """(value, "") or (None, "TypeName: message") when fn raises."""
    try:
        return fn(*args), ""
    except Exception as exc:  # the raw instance is a probe; its errors are reported, not raised
        kind = exc.kind if isinstance(exc, P.ValueProblem) else type(exc).__name__
        return None, f"{kind}: {str(exc)[:300]}"


def roundtrip(env, seed: int, difficulty: int) -> dict:
    """The reference and the score of the reference on the instance as the platform hands it (after the
    JSON round trip), and, when the round trip changes the instance's types (``changes``), also on the
    instance exactly as sample() returned it. The platform only ever uses the first; a difference means
    a method reads the instance differently after the round trip (a tuple that is a list now, an int key
    that is a str). Errors on the JSON side raise as usual; errors on the raw side go to ``raw_error``."""
    raw = env.sample(seed, difficulty)
    instance = _as_json(raw, "sample()")
    _as_text(env.prompt(_loads(_dumps(instance))), "prompt()")
    reference = _as_text(env.reference(_loads(_dumps(instance))), "reference()")
    score = as_score(env.score(_loads(_dumps(instance)), reference.strip()))
    changes = json_changes(raw)
    out = {"reference": reference, "score": score, "raw_reference": None, "raw_score": None, "raw_error": "",
           "changes": changes}
    if not changes:  # the round trip gives back an equal instance: nothing to compare
        return out
    # a copy for score: reference() may change its instance in place
    raw_copy, error = _attempt(copy.deepcopy, raw)
    if not error:
        out["raw_reference"], error = _attempt(lambda: _as_text(env.reference(raw), "reference()"))
    if not error:
        out["raw_score"], error = _attempt(lambda: as_score(env.score(raw_copy, reference.strip())))
    out["raw_error"] = error
    return out


def call(env, spec: dict):
    """One call's value, checked against the contract as the host will check it again."""
    return P.checked_value(spec.get("op"), _value(env, P.checked_call(spec)))


def _value(env, spec: P.Call):
    op = spec["op"]
    if op == "describe":
        return {
            "name": _as_text(env.name, "name"),
            "description": _as_text(env.description, "description"),
            "max_difficulty": int(env.max_difficulty),
            "class_name": type(env).__name__,
        }
    if op == "sample":
        return _as_json(env.sample(spec["seed"], spec["difficulty"]), "sample()")
    if op == "render":
        instance = _as_json(env.sample(spec["seed"], spec["difficulty"]), "sample()")
        return {
            "instance": instance,
            "prompt": _as_text(env.prompt(_loads(_dumps(instance))), "prompt()"),
            "reference": _as_text(env.reference(_loads(_dumps(instance))), "reference()"),
        }
    if op == "roundtrip":
        return roundtrip(env, spec["seed"], spec["difficulty"])
    if op == "prompt":
        return _as_text(env.prompt(spec["instance"]), "prompt()")
    if op == "reference":
        return _as_text(env.reference(spec["instance"]), "reference()")
    if op == "score":
        return as_score(env.score(spec["instance"], spec["answer"]))
    raise P.BadCall(f"unknown op {op!r}")


def run_job(job: dict, limits: dict, result_fd: int) -> None:
    """Run the job under ``limits`` (``protocol.job_limits``) and write its one reply frame."""
    reply = {"nonce": job["nonce"], "outcome": P.OK, "results": [], "detail": ""}
    try:
        env = load_environment(job["code"], job.get("builtins"))
    except MemoryError:
        reply.update(outcome=P.MEMORY, detail="out of memory while loading the environment")
        env = None
    except BaseException as exc:  # includes SystemExit from hostile code
        reply.update(outcome=P.ERROR, detail=f"loading failed: {type(exc).__name__}: {exc}"[:2000])
        reply["error"] = _error(exc)
        env = None
    if env is not None:
        for spec in job.get("calls", []):
            try:
                reply["results"].append({"ok": True, "value": call(env, spec)})
            except MemoryError:
                reply.update(outcome=P.MEMORY, detail=f"out of memory in {spec.get('op')}()", results=[])
                break
            except BaseException as exc:  # SystemExit/KeyboardInterrupt are the env's fault
                reply["results"].append({"ok": False, "error": _error(exc)})
    try:
        frame = _dumps(reply).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:
        frame = _dumps({"nonce": job["nonce"], "outcome": P.ERROR, "results": [],
                        "detail": f"result could not be encoded: {exc}"}).encode("utf-8")
    if len(frame) > int(limits["result_bytes"]):
        frame = _dumps({"nonce": job["nonce"], "outcome": P.OUTPUT_LIMIT, "results": [],
                        "detail": f"result of {len(frame)} bytes exceeds {limits['result_bytes']}"}).encode()
    P.write_all(result_fd, P.HEADER.pack(len(frame)) + frame, os.write)
