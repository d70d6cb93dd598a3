"""Host side of the sandbox (process backend): outcome classes, limits, process-group
kill, concurrency, fresh hash seeds, the min-layers refusal and `evoenv sandbox check`."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import require

from evoenv.sandbox import (
    CRASH,
    ERROR,
    MEMORY,
    OK,
    OUTPUT_LIMIT,
    POLICY,
    TIMEOUT,
    Limits,
    SandboxedEnv,
    SandboxError,
    SandboxUnavailable,
    arun,
    open_sandbox,
    protocol,
)
from evoenv.sandbox import layers as L

REPO = Path(__file__).resolve().parent.parent

ENV = '''
from evoenv.sdk import Environment

class Adder(Environment):
    name = "adder"
    description = "add two numbers"
    max_difficulty = 5

    def sample(self, seed, difficulty):
        rng = self.rng(seed, difficulty)
        return {"a": rng.randint(0, 10 ** difficulty), "b": rng.randint(0, 10 ** difficulty)}

    def prompt(self, instance):
        return f"What is {instance['a']} + {instance['b']}?"

    def reference(self, instance):
        return str(instance["a"] + instance["b"])

    def score(self, instance, answer):
        return 1.0 if self.parse_int(answer) == instance["a"] + instance["b"] else 0.0
'''

SHORT = Limits(cpu_s=1.0, wall_s=3.0, memory_mb=512)


def with_module(code: str) -> str:
    return ENV + "\n" + code + "\n"


def with_method(name: str, body: str) -> str:
    """ENV with one method's body replaced (body lines indented by 8)."""
    start = ENV.index(f"    def {name}(")
    end = ENV.find("\n\n", start)
    end = len(ENV.rstrip("\n")) if end == -1 else end
    signature = ENV[start: ENV.index("\n", start)]
    return ENV[:start] + signature + "\n" + "\n".join("        " + l for l in body.splitlines()) + ENV[end:] + "\n"


@pytest.fixture(scope="module")
def pool():
    with open_sandbox("process", workers=2, limits=SHORT) as sandbox:
        yield sandbox


def test_ok_render_and_score(pool):
    env = SandboxedEnv(ENV, pool)
    info = env.info()
    assert (info.name, info.max_difficulty, info.class_name) == ("adder", 5, "Adder")
    rendered = env.render_many([(1, 2), (2, 3)])
    for r in rendered:
        assert r.reference == str(r.instance["a"] + r.instance["b"])
        assert str(r.instance["a"]) in r.prompt
    scores = env.score_many([(rendered[0].instance, rendered[0].reference), (rendered[0].instance, "-1")])
    assert scores == [1.0, 0.0]


def test_same_seed_same_instance(pool):
    env = SandboxedEnv(ENV, pool)
    assert env.render(7, 3) == env.render(7, 3)


def test_error_on_load_carries_type_message_traceback(pool):
    result = pool.run(with_module("raise ValueError('broken at load')"), [{"op": "describe"}])
    assert result.outcome == ERROR
    assert result.error["type"] == "ValueError"
    assert result.error["message"] == "broken at load"
    assert "<environment>" in result.error["traceback"]


def test_error_in_one_call_is_per_call(pool):
    code = with_method("score", "raise KeyError('nope')")
    result = pool.run(code, [{"op": "describe"}, {"op": "score", "instance": {"a": 1, "b": 2}, "answer": "3"}])
    assert result.outcome == OK
    assert result.results[0].ok and not result.results[1].ok
    assert result.results[1].error["type"] == "KeyError"
    assert SandboxedEnv(code, pool).score({"a": 1, "b": 2}, "3") == 0.0  # a raising scorer scores 0


def test_syntax_error_is_error_not_policy(pool):
    result = pool.run("def broken(:\n", [{"op": "describe"}])
    assert result.outcome == ERROR and result.error["type"] == "SyntaxError"


def test_contract_violation_is_error(pool):
    result = pool.run("class NotAnEnv:\n    pass\n", [{"op": "describe"}])
    assert result.outcome == ERROR and "expected exactly one class" in result.detail


def test_timeout_wall_clock(pool):
    result = pool.run(with_method("score", "while True:\n    pass"),
                      [{"op": "score", "instance": {"a": 1, "b": 1}, "answer": "2"}])
    assert result.outcome == TIMEOUT


def test_memory(pool):
    result = pool.run(with_module("X = bytearray(2 * 1024 ** 3)"), [{"op": "describe"}])
    assert result.outcome == MEMORY


def test_output_limit(pool):
    code = with_method("prompt", 'return "x" * (9 * 2 ** 20)')
    result = pool.run(code, [{"op": "prompt", "instance": {"a": 1, "b": 1}}])
    assert result.outcome == OUTPUT_LIMIT


def test_crash_by_signal_is_crash():
    with open_sandbox("process", workers=1, limits=SHORT, static_policy=False, restricted_builtins=False) as pool:
        result = pool.run(with_module("import ctypes\nctypes.string_at(0)"), [{"op": "describe"}])
        assert result.outcome == CRASH and "SIGSEGV" in result.detail
        result = pool.run(with_module("import os\nos._exit(0)"), [{"op": "describe"}])
        assert result.outcome == CRASH and "without a result" in result.detail


def test_seccomp_violation_is_policy():
    with open_sandbox("process", workers=1, limits=SHORT, static_policy=False, restricted_builtins=False) as pool:
        result = pool.run(with_module("import os\nos.fork()"), [{"op": "describe"}])
        assert result.outcome == POLICY and "seccomp" in result.detail


def test_static_policy_outcome_names_line_and_rule(pool):
    result = pool.run(with_module("import os"), [{"op": "describe"}])
    assert result.outcome == POLICY
    line = ENV.count("\n") + 2
    assert f"line {line}: import of 'os' is not allowed" in result.detail
    assert result.error["violations"][0]["rule"] == "import"
    with pytest.raises(SandboxError) as info:
        SandboxedEnv(with_module("eval('1')"), pool).info()
    assert info.value.result.outcome == POLICY


def test_restricted_builtins_alone():
    """Static policy off, restricted builtins on: the child's builtins still refuse."""
    with open_sandbox("process", workers=1, limits=SHORT, static_policy=False) as pool:
        for attack, error in [("open('/etc/passwd')", "NameError"), ("__import__('os')", "ImportError"),
                              ("getattr((), '__cl' + 'ass__')", "AttributeError"),
                              ("import json\nsetattr(json, 'dumps', 1)", "AttributeError"),
                              ("eval('1')", "NameError")]:
            result = pool.run(with_module(attack), [{"op": "describe"}])
            assert result.outcome == ERROR, attack
            assert result.error["type"] == error, (attack, result.error)
        assert pool.run(with_module("import networkx as nx\nG = nx.path_graph(3)"), [{"op": "describe"}]).ok


def test_host_timeout_kills_the_zygote_process_group():
    """A zygote that stops answering is killed with its whole process group."""
    with open_sandbox("process", workers=1, limits=Limits(cpu_s=1, wall_s=0.5)) as pool:
        (zygote,) = pool._all
        assert pool.run(ENV, [{"op": "describe"}]).ok
        group = zygote.proc.pid
        family = _live(lambda pid, ppid, pgid: pgid == group or ppid == group)
        assert group in family and len(family) >= 2  # the zygote and its pre-forked job child
        os.killpg(group, signal.SIGSTOP)  # hang the zygote
        result = pool.run(ENV, [{"op": "describe"}])
        assert result.outcome == TIMEOUT and "host" in result.detail
        deadline = time.monotonic() + 10
        while _live(lambda pid, ppid, pgid: pid in family) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _live(lambda pid, ppid, pgid: pid in family) == []  # the group died, its child with it
        assert pool.run(ENV, [{"op": "describe"}]).ok  # the pool replaced it


def _live(keep) -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid=,ppid=,pgid=,stat="], capture_output=True, text=True).stdout
    rows = [line.split() for line in out.splitlines()]
    return [int(p) for p, pp, g, stat in rows if not stat.startswith("Z") and keep(int(p), int(pp), int(g))]


def test_concurrent_threads_share_the_pool(pool):
    env = SandboxedEnv(ENV, pool)
    expected = {seed: env.render(seed, 2).reference for seed in range(8)}
    results, errors = {}, []

    def work(seed):
        try:
            results[seed] = SandboxedEnv(ENV, pool).render(seed, 2).reference
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and results == expected


def test_asyncio_arun(pool):
    calls = [{"op": "score", "instance": {"a": 2, "b": 3}, "answer": a} for a in ("5", "6")]

    async def main():
        return await asyncio.gather(*(arun(pool, ENV, calls) for _ in range(6)))

    for result in asyncio.run(main()):
        assert result.ok and [r.value for r in result.results] == [1.0, 0.0]


def test_fresh_hash_seed_controls_hash_order(pool):
    code = with_method("sample", 'return {"order": list({"alpha", "beta", "gamma", "delta", "eps"})}')
    calls = [{"op": "sample", "seed": 0, "difficulty": 1}]
    runs = {seed: pool.run(code, calls, fresh_hash_seed=seed).results[0].value["order"] for seed in (1, 2, 3)}
    again = pool.run(code, calls, fresh_hash_seed=1).results[0].value["order"]
    assert again == runs[1]  # same seed, same order
    assert len({tuple(v) for v in runs.values()}) > 1  # different seeds, different orders


def test_every_layer_is_active_here():
    """CI runs as root on Linux: the process backend must get every layer."""
    with open_sandbox("process", workers=1, limits=Limits(min_layers=("all",))) as pool:
        assert all(pool.layers.values()), pool.layers


def test_min_layers_refusal_names_missing_layers_and_how():
    # Simulate a machine without namespaces: an unprivileged host cannot unshare.
    active = {name: name not in ("net", "pid") for name in L.LAYERS}
    with pytest.raises(SandboxUnavailable) as info:
        L.enforce("process", active, ("net", "pid", "seccomp"))
    message = str(info.value)
    assert "net, pid" in message and "EVOENV_SANDBOX_MIN_LAYERS" in message and "run the host as root" in message
    # And for real: a pool started as an unprivileged user lacks namespaces and refuses.
    require(os.getuid() == 0, "needs root to start a pool as another user")
    script = ("import sys; sys.path.insert(0, %r)\n"
              "from evoenv.sandbox import open_sandbox, Limits, SandboxUnavailable\n"
              "try:\n    open_sandbox('process', workers=1, limits=Limits(min_layers=('net', 'seccomp')))\n"
              "except SandboxUnavailable as e:\n    print('REFUSED', e)\n" % str(REPO))
    # The system interpreter: a pyenv one under /root is not reachable for uid 65534.
    python = shutil.which("python3", path="/usr/bin:/bin")
    require(python is not None and shutil.which("setpriv") is not None,
            "needs /usr/bin/python3 and setpriv to start a pool as an unprivileged user")
    out = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", python, "-c", script],
                         capture_output=True, text=True, timeout=120, cwd="/")
    assert "REFUSED" in out.stdout, out.stdout + out.stderr
    assert "net" in out.stdout and "seccomp" not in out.stdout.split("layer(s):")[1].split("\n")[0]


def test_min_layers_from_environment(monkeypatch):
    monkeypatch.setenv("EVOENV_SANDBOX_MIN_LAYERS", "seccomp, rlimits")
    assert L.required_layers(None) == ("seccomp", "rlimits")
    monkeypatch.setenv("EVOENV_SANDBOX_MIN_LAYERS", "all")
    assert L.required_layers(None) == tuple(L.LAYERS)
    monkeypatch.setenv("EVOENV_SANDBOX_MIN_LAYERS", "seccomp,warp-drive")
    with pytest.raises(ValueError, match="warp-drive"):
        L.required_layers(None)
    assert L.required_layers(Limits(min_layers=())) == ()


def _cli(*args, env_extra=None):
    env = {**os.environ, "PYTHONPATH": str(REPO), **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "evoenv", *args], capture_output=True, text=True,
                          timeout=180, env=env, cwd=REPO)


def test_cli_sandbox_check_json():
    out = _cli("sandbox", "check", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["backend"] == "process" and report["missing"] == []
    rows = {r["layer"]: r for r in report["layers"]}
    assert set(rows) == set(L.LAYERS)
    assert rows["seccomp"]["active"] and rows["seccomp"]["required"]


def test_cli_sandbox_check_table_and_help():
    out = _cli("sandbox", "check")
    assert out.returncode == 0, out.stderr
    assert "seccomp" in out.stdout and "active" in out.stdout
    shown = _cli("sandbox", "check", "--help")
    assert shown.returncode == 0 and "Usage" in shown.stdout and "--json" in shown.stdout


def test_cli_sandbox_check_bad_min_layers():
    out = _cli("sandbox", "check", env_extra={"EVOENV_SANDBOX_MIN_LAYERS": "teleport"})
    assert out.returncode == 2 and "teleport" in out.stderr


def test_cli_sandbox_lint(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nx = eval('1')\n")
    out = _cli("sandbox", "lint", str(bad), "--json")
    assert out.returncode == 1
    assert [(v["line"], v["rule"]) for v in json.loads(out.stdout)] == [(1, "import"), (2, "forbidden-name")]
    good = tmp_path / "good.py"
    good.write_text(ENV)
    assert _cli("sandbox", "lint", str(good)).returncode == 0


def test_a_malformed_call_fails_that_call_with_the_bad_call_code(sandbox):
    result = sandbox.run(ENV, [{"op": "render", "seed": "3", "difficulty": 1}, protocol.describe()])
    bad, described = result.results
    assert result.ok and not bad.ok and bad.error_code == "bad_call" and "seed must be an int" in bad.error_text
    assert described.ok and described.value["class_name"] == "Adder"


def test_error_codes_say_whose_fault_a_failure_is(sandbox):
    no_class = sandbox.run("X = 1\n", [protocol.describe()])
    assert no_class.outcome == "error" and no_class.error["code"] == "contract"
    assert "expected exactly one class" in no_class.error["message"]
    broken = ENV.replace("return str(instance[\"a\"] + instance[\"b\"])", "return 1 / 0") \
        .replace('return 1.0 if self.parse_int(answer)', 'return 2.0 if self.parse_int(answer)')
    instance = {"a": 1, "b": 2}
    raised, bad_score, fine = sandbox.run(broken, [protocol.reference(instance), protocol.score(instance, "3"),
                                                   protocol.score(instance, "4")]).results
    assert (raised.error_code, raised.error["type"]) == ("exception", "ZeroDivisionError")
    assert (bad_score.error_code, bad_score.error["type"]) == ("bad_score", "ValueError")
    assert fine.ok and fine.value == 0.0
    not_json = ENV.replace('return {"a": rng.randint', 'return {"s": {1}, "a": rng.randint')
    (item,) = sandbox.run(not_json, [protocol.sample(1, 1)]).results
    assert item.error_code == "not_json" and "not JSON-serialisable" in item.error_text
    assert item.error["traceback"].startswith("TypeError: sample() is not JSON-serialisable")


def test_roundtrip_reports_a_bad_raw_score_as_the_builtin_error_it_is(sandbox):
    tuples = '''
class Pair:
    name = "pair"
    description = "a pair"
    max_difficulty = 1

    def sample(self, seed, difficulty):
        return {"a": (1, 2)}

    def prompt(self, instance):
        return "sum? <answer>"

    def reference(self, instance):
        return "3"

    def score(self, instance, answer):
        return 5.0 if isinstance(instance["a"], tuple) else 1.0
'''
    (item,) = sandbox.run(tuples, [protocol.roundtrip(0, 1)]).results
    assert item.ok and item.value["score"] == 1.0 and item.value["raw_score"] is None
    assert item.value["raw_error"] == "ValueError: score returned 5.0, outside [0, 1]"
