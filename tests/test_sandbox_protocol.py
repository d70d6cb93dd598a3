"""The result parser: frames, JSON depth, the zygote's classification and the host's
JobResult. Fuzzed with hypothesis: malformed input is a ``crash`` or a ProtocolError,
never an exception elsewhere and never a success."""

from __future__ import annotations

import json
import os
import re
import signal

import pytest
from conftest import require
from hypothesis import given, settings
from hypothesis import strategies as st

from evoenv.sandbox import CRASH, OK, JobResult, Limits, protocol
from evoenv.sandbox.base import protocol as P
from evoenv.sandbox.workers import Worker
from evoenv_guest import worker

LIMITS = {**P.DEFAULT_LIMITS}
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=30)


def frame(message) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode()  # as the guest's runner writes it
    return P.HEADER.pack(len(body)) + body


def classify(job: dict, body: bytes, problem: str, status, limits: dict, cpu_used: float = 0.0) -> dict:
    """The zygote's verdict on ``body`` as the child left it (in a memfd, which the zygote
    never reads beyond the length and the nonce prefix); an accepted frame is OK here."""
    sink = os.memfd_create("test-reply")
    try:
        os.write(sink, body)
        failure = worker._classify(job.get("nonce"), limits, sink, len(body), problem, status, cpu_used)
    finally:
        os.close(sink)
    return failure or {"nonce": job.get("nonce"), "outcome": OK}


def test_round_trip():
    message = {"nonce": "n", "outcome": "ok", "results": [{"ok": True, "value": [1, {"a": None}]}]}
    data = P.encode(message)
    pos = 0

    def read(n):
        nonlocal pos
        chunk = data[pos:pos + n]
        pos += len(chunk)
        return chunk

    assert P.read_frame(read) == message
    assert P.read_frame(read) is None


def test_depth_cap():
    deep = {"x": []}
    for _ in range(P.MAX_JSON_DEPTH + 5):
        deep = {"x": deep}
    with pytest.raises(P.ProtocolError, match="deeper"):
        P.decode(json.dumps(deep).encode())


def test_classify_accepts_only_this_jobs_nonce():
    job = {"nonce": "abc"}
    good = frame({"nonce": "abc", "outcome": "ok", "results": []})
    assert classify(job, good, "", 0, LIMITS)["outcome"] == OK
    forged = frame({"nonce": "xyz", "outcome": "ok", "results": []})
    assert classify(job, forged, "", 0, LIMITS)["outcome"] == CRASH
    spaced = P.HEADER.pack(len(b'{"nonce": "abc"}')) + b'{"nonce": "abc"}'  # not how the runner writes
    assert classify(job, spaced, "", 0, LIMITS)["outcome"] == CRASH
    # the zygote passes a reply on unread; the host refuses an unknown outcome
    unknown = {"nonce": "abc", "outcome": "great", "results": []}
    assert classify(job, frame(unknown), "", 0, LIMITS)["outcome"] == OK
    assert JobResult.from_reply(unknown, 0).outcome == CRASH


def test_exit_zero_without_frame_is_crash():
    assert classify({"nonce": "a"}, b"", "", 0, LIMITS)["outcome"] == CRASH


def test_seccomp_signal_is_policy_and_cpu_kill_is_timeout():
    sigsys = signal.SIGSYS  # a raw wait status for "killed by signal N" is N
    assert classify({"nonce": "a"}, b"", "", sigsys, LIMITS)["outcome"] == "policy"
    assert classify({"nonce": "a"}, b"", "", signal.SIGKILL, LIMITS, cpu_used=10.0)["outcome"] == "timeout"
    assert classify({"nonce": "a"}, b"", "", signal.SIGKILL, LIMITS, cpu_used=0.1)["outcome"] == CRASH


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["", "timeout", "output_limit"]),
       st.sampled_from([0, 256, signal.SIGKILL, signal.SIGSEGV, signal.SIGSYS, None]))
def test_fuzz_classify_never_raises(body, problem, status):
    reply = classify({"nonce": "n"}, body, problem, status, LIMITS)
    assert reply["outcome"] in P.OUTCOMES
    if reply["outcome"] == OK:
        assert reply["nonce"] == "n"


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_fuzz_classify_with_valid_json(value):
    body = frame(value)
    reply = classify({"nonce": "n"}, body, "", 0, LIMITS)
    assert reply["outcome"] in P.OUTCOMES
    assert reply["outcome"] != OK or (isinstance(value, dict) and value.get("nonce") == "n")


@settings(max_examples=300, deadline=None)
@given(JSON, st.integers(min_value=0, max_value=5))
def test_fuzz_job_result_parser(value, expected_calls):
    result = JobResult.from_reply(value, [{"op": "sample"}] * expected_calls)
    assert result.outcome in P.OUTCOMES
    if result.ok:
        assert len(result.results) == expected_calls
        assert all(isinstance(r.ok, bool) for r in result.results)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_read_frame(data):
    pos = 0

    def read(n):
        nonlocal pos
        chunk = data[pos:pos + n]
        pos += len(chunk)
        return chunk

    try:
        message = P.read_frame(read, max_bytes=1000)
    except P.ProtocolError:
        return
    assert message is None or isinstance(message, dict)


def test_seccomp_program_jumps_stay_inside():
    from evoenv_guest import seccomp

    require(seccomp.SYSCALLS is not None, "no syscall table for this machine's architecture")
    prog = seccomp.seccomp_program(os.getpid())
    assert prog[-1] == (seccomp.RET_K, 0, 0, seccomp.RET_ALLOW)
    for index, (code, jt, jf, _) in enumerate(prog):
        if code in (seccomp.JEQ_K, seccomp.JSET_K, seccomp.JGE_K):
            assert index + 1 + max(jt, jf) < len(prog)
    assert len(prog) < 4096  # the kernel's BPF_MAXINSNS


class ScriptedWorker(Worker):
    """A host-side ``Worker`` whose zygote answers with ``answer(job)``: the host's decisions
    on the reply, without a process or container behind it."""

    def __init__(self, answer):
        self.answer, self.sent, self.abandoned = answer, [], False

    def _send(self, frame_bytes, deadline):
        # the envelope (what the zygote reads), then the job (which it passes on unread)
        (size,) = P.HEADER.unpack(frame_bytes[:P.HEADER.size])
        envelope = json.loads(frame_bytes[P.HEADER.size:P.HEADER.size + size])
        job = json.loads(frame_bytes[2 * P.HEADER.size + size:])
        assert envelope == {"nonce": job["nonce"], "limits": job["limits"]}
        self.sent.append(job)

    def _read(self, deadline):
        return self.answer(self.sent[-1])

    def _abandon(self):
        self.abandoned = True


def _timeout(job):
    raise TimeoutError


def _broken(job):
    raise P.ProtocolError("frame announces 99 bytes")


@pytest.mark.parametrize("answer, outcome, detail", [
    (lambda job: {"nonce": job["nonce"], "outcome": "ok", "results": [{"ok": True, "value": 1}]}, OK, ""),
    (lambda job: {"nonce": "forged", "outcome": "ok", "results": [{"ok": True, "value": 1}]}, CRASH, "nonce"),
    (lambda job: None, CRASH, "sandbox worker exited"),
    (_broken, CRASH, "sandbox worker failed: frame announces"),
    (_timeout, "timeout", "host wall-clock limit of 20.0 s"),
])
def test_host_worker_accepts_only_this_jobs_reply(answer, outcome, detail):
    worker_ = ScriptedWorker(answer)
    result = worker_.run("code", [{"op": "describe"}], Limits(), ("len",))
    assert result.outcome == outcome and detail in result.detail
    assert worker_.abandoned == (outcome != OK)  # a worker that broke protocol is never reused
    (job,) = worker_.sent
    assert job["code"] == "code" and job["builtins"] == ["len"] and len(job["nonce"]) == 32


# ---- issue 18: the host checks every value of a reply, whatever the job sent ---------------------------------

@settings(max_examples=400, deadline=None)
@given(JSON, st.sampled_from(P.OPS))
def test_fuzz_values_the_host_accepts_keep_the_contract(value, op):
    result = JobResult.from_reply({"outcome": "ok", "results": [{"ok": True, "value": value}]}, [{"op": op}])
    (item,) = result.results
    if not item.ok:
        assert item.error["rejected_by"] == "host" and item.error["message"]
    elif op == "score":
        assert type(item.value) is float and 0.0 <= item.value <= 1.0
    elif op in ("prompt", "reference"):
        assert isinstance(item.value, str)
        item.value.encode("utf-8")
    elif op in ("sample", "render"):
        assert isinstance(item.value if op == "sample" else item.value["instance"], dict)
        json.dumps(item.value, ensure_ascii=False).encode("utf-8")
    elif op == "describe":
        assert set(item.value) == {"name", "description", "max_difficulty", "class_name"}
        assert type(item.value["max_difficulty"]) is int and 1 <= item.value["max_difficulty"] <= P.MAX_DIFFICULTY


@pytest.mark.parametrize("body", [b'{"v": NaN}', b'{"v": -Infinity}', b'{"v": 1e999}', b'{"v": ' + b"9" * 5000 + b"}"])
def test_decode_refuses_what_strict_json_cannot_carry(body):
    with pytest.raises(P.ProtocolError):
        P.decode(body)


@pytest.mark.parametrize(("value", "accepted"), [
    (1, 1.0), (0.5, 0.5), (0, 0.0), (True, None), (1e308, None), (-5.0, None), (float("nan"), None),
    (float("inf"), None), ("1.0", None), (None, None),
])
def test_a_score_is_a_finite_number_in_the_unit_interval(value, accepted):
    reply = {"outcome": "ok", "results": [{"ok": True, "value": value}]}
    (item,) = JobResult.from_reply(reply, [{"op": "score"}]).results
    assert (item.value if item.ok else None) == accepted


def test_error_texts_are_valid_text_without_the_sandboxes_frames():
    traceback = ('Traceback (most recent call last):\n'
                 '  File "/opt/evoenv/evoenv_guest/runner.py", line 175, in run_job\n'
                 '    reply["results"].append({"ok": True, "value": call(env, spec)})\n'
                 '                                                  ^^^^^^^^^^^^^^^\n'
                 '  File "/opt/evoenv/evoenv_guest/runner.py", line 159, in call\n'
                 '    return P.checked_value(spec.get("op"), _value(env, spec))\n'
                 '  File "<environment>", line 8, in sample\n'
                 '  File "/usr/lib/python3.11/random.py", line 362, in randint\n'
                 'ValueError: bad \ud800\n')
    reply = {"outcome": "crash", "detail": "zygote error: KeyError('x')\nTraceback (most recent call last):\n"
             '  File "/x/evoenv_guest/worker.py", line 310, in serve\n    run_one()\nKeyError: \'x\'',
             "results": [{"ok": False, "error": {"code": "exception", "type": "ValueError", "message": "bad \ud800",
                                                  "traceback": traceback}}]}
    result = JobResult.from_reply(reply, [{"op": "sample"}])
    error = result.results[0].error
    assert error["message"] == "bad \\ud800"
    assert error["traceback"] == ('Traceback (most recent call last):\n  File "<environment>", line 8, in sample\n'
                                  '  File "/usr/lib/python3.11/random.py", line 362, in randint\nValueError: bad \\ud800\n')
    assert result.detail == "zygote error: KeyError('x')\nKeyError: 'x'"


@pytest.mark.parametrize("code", [None, "", "Exception", "contract ", 3, ["exception"]])
def test_an_error_without_a_known_code_makes_the_reply_malformed(code):
    """A hostile guest may forge the error code: one the protocol does not know (or none) is a crash."""
    error = {"type": "ValueError", "message": "m", "traceback": ""} | ({} if code is None else {"code": code})
    call_reply = {"outcome": "ok", "results": [{"ok": False, "error": error}]}
    assert JobResult.from_reply(call_reply, [{"op": "sample"}]).outcome == "crash"
    load_reply = {"outcome": "error", "results": [], "detail": "loading failed", "error": error}
    assert JobResult.from_reply(load_reply, []).outcome == "crash"


@pytest.mark.parametrize("code", ["exception", "contract", "not_json", "bad_value", "bad_score", "bad_call"])
def test_a_known_error_code_comes_through(code):
    error = {"code": code, "type": "ValueError", "message": "m", "traceback": ""}
    (item,) = JobResult.from_reply({"outcome": "ok", "results": [{"ok": False, "error": error}]},
                                   [{"op": "sample"}]).results
    assert item.error_code == code and item.error_text == "ValueError: m"


def test_the_host_marks_a_value_it_rejects_with_the_code_of_the_problem():
    reply = {"outcome": "ok", "results": [{"ok": True, "value": 2.0}, {"ok": True, "value": 7}]}
    score, prompt = JobResult.from_reply(reply, [{"op": "score"}, {"op": "prompt"}]).results
    assert (score.error_code, score.error["type"]) == ("bad_score", "ValueError")
    assert (prompt.error_code, prompt.error["type"]) == ("bad_value", "TypeError")
    assert score.error["rejected_by"] == prompt.error["rejected_by"] == "host"


@pytest.mark.parametrize(("build", "args", "message"), [
    (protocol.render, ("3", 1), "render call: seed must be an int, got str"),
    (protocol.sample, (3, True), "sample call: difficulty must be an int, got bool"),
    (protocol.roundtrip, (3, 1.0), "roundtrip call: difficulty must be an int, got float"),
])
def test_a_call_with_fields_of_the_wrong_type_is_refused_where_it_is_built(build, args, message):
    with pytest.raises(protocol.BadCall, match=re.escape(message)):
        build(*args)


def test_a_call_missing_a_field_is_refused():
    with pytest.raises(protocol.BadCall, match="score call: answer is missing"):
        protocol.checked_call({"op": "score", "instance": {}})
    with pytest.raises(protocol.BadCall, match="a call must be a JSON object, got list"):
        protocol.checked_call(["score"])


def test_an_answer_is_passed_on_as_it_is():
    """The environment's scorer judges answers, junk of any JSON type included (tests/test_seeds.py)."""
    assert protocol.score({"a": 1}, None) == {"op": "score", "instance": {"a": 1}, "answer": None}  # type: ignore[arg-type]


def test_calls_travel_as_the_same_plain_objects():
    assert protocol.render(3, 5) == {"op": "render", "seed": 3, "difficulty": 5}
    assert protocol.score({"a": 1}, "7") == {"op": "score", "instance": {"a": 1}, "answer": "7"}
    assert protocol.describe() == {"op": "describe"}
    with pytest.raises(protocol.BadCall, match="unknown op 'run'"):
        protocol.checked_call({"op": "run"})

