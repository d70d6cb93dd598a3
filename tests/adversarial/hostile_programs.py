"""The hostile programs of the adversarial battery, each with its expected outcome.

Every program is a complete environment (the contract's class is always there)
with its attack at module level (runs while loading) or inside a method.

``full``: the outcome with every layer on (static policy, restricted builtins, OS).
``os``: the outcome with the language layers OFF, so the OS layers alone must hold.
Either may be a dict keyed by backend where the backends differ for a documented
reason. ``check`` (optional) inspects the JobResult further.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

MARKER = "/tmp/evoenv-battery-pwned"  # no program may ever create this on the host
ETC_MARKER = "/etc/evoenv-battery-pwned"

HEAD = '''
class Env:
    name = "hostile"
    description = "an adversarial test program"
    max_difficulty = 3

    def sample(self, seed, difficulty):
        return {"seed": seed}

    def prompt(self, instance):
        return "prompt"

    def reference(self, instance):
        return "ref"

    def score(self, instance, answer):
        return 1.0
'''


def env(attack: str = "", **methods: str) -> str:
    """HEAD with ``attack`` at module level and methods replaced by ``name=body`` (indented 8)."""
    code = HEAD
    for name, body in methods.items():
        start = code.index(f"    def {name}(")
        end = code.find("\n\n", start)
        end = len(code.rstrip("\n")) if end == -1 else end
        signature = code[start: code.index("\n", start)]
        code = code[:start] + signature + "\n" + "\n".join("        " + line for line in body.splitlines()) + code[end:]
    return code + "\n" + attack + "\n"


def call_failed(index: int, error_type: str | None = None):
    def check(result):
        item = result.results[index]
        assert not item.ok, f"call {index} should have failed, got {item.value!r}"
        if error_type:
            assert item.error["type"] == error_type, item.error
    return check


def describe_is_honest(result):
    assert result.results[0].value["name"] == "hostile"
    assert result.results[2].value == 1.0


@dataclass
class Program:
    name: str
    code: str
    full: str | dict
    os: str | dict
    check: Callable | None = None
    os_check: Callable | None = None
    tags: tuple = field(default_factory=tuple)

    def expected(self, backend: str, layers: str) -> str:
        value = self.full if layers == "full" else self.os
        return value[backend] if isinstance(value, dict) else value


SUBCLASS_WALK = '''
for cls in ().__class__.__base__.__subclasses__():
    if cls.__name__ == "_wrap_close":
        cls.__init__.__globals__["system"]("touch ''' + MARKER + '''")
'''

PROGRAMS = [
    # control: honest code passes every layer
    Program("control_plain", env(), "ok", "ok", check=describe_is_honest),
    Program("control_super_init", env('''
class Base:
    def __init__(self):
        self.k = 1
class Child(Base):
    def __init__(self):
        super().__init__()
'''), "ok", "ok"),
    # process creation and code execution
    Program("os_system", env(f'import os\nos.system("touch {MARKER}")'), "policy", "policy"),
    Program("dunder_import_concat", env(f'__import__("o" + "s").system("touch {MARKER}")'), "policy", "policy"),
    Program("subclasses_walk", env(SUBCLASS_WALK), "policy", "policy"),
    Program("getattr_computed_walk", env(
        'g = getattr(getattr((), "__cl" + "ass__"), "__ba" + "se__")\n'
        f'[c for c in g.__subclasses__() if c.__name__ == "_wrap_close"][0].__init__.__globals__["system"]("touch {MARKER}")'),
        "policy", "policy"),
    Program("str_format_leak", env('LEAK = "{0.__class__.__base__.__subclasses__}".format(())'), "policy", "ok"),
    Program("operator_attrgetter", env(f'import operator\noperator.attrgetter("system")(__import__("os"))("touch {MARKER}")'),
            "policy", "policy"),
    Program("ctypes_system", env(f'import ctypes\nctypes.CDLL(None).system(b"touch {MARKER}")'), "policy", "policy"),
    Program("ctypes_ptrace", env('import ctypes\nctypes.CDLL(None).ptrace(16, 1, 0, 0)'), "policy", "policy"),
    Program("ctypes_unshare_user", env('import ctypes\nctypes.CDLL(None).unshare(0x10000000)'), "policy", "policy"),
    Program("subprocess_run", env('import subprocess\nsubprocess.run(["id"])'), "policy", "policy"),
    Program("fork_bomb", env('import os\nwhile True:\n    os.fork()'), "policy", "policy"),
    Program("double_fork_daemon", env(
        'import os\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        while True:\n            pass\n'
        '    os._exit(0)'), "policy", "policy"),
    Program("exec_string", env(f'exec("import os; os.system(\'touch {MARKER}\')")'), "policy", "policy"),
    Program("eval_literal", env('X = eval("1 + 1")'), "policy", "ok"),
    Program("random_private_os", env(f'import random\nrandom._os.system("touch {MARKER}")'), "policy", "policy"),
    # files
    # process backend: the minimal root has no /etc/passwd; Docker: the image's own, not the host's
    Program("read_etc_passwd", env('DATA = open("/etc/passwd").read()'), "policy", {"process": "error", "docker": "ok"}),
    Program("read_etc_shadow", env('DATA = open("/etc/shadow").read()'), "policy", "error"),
    Program("read_proc_1_environ", env('DATA = open("/proc/1/environ").read()'), "policy", "error"),
    Program("write_etc", env(f'open("{ETC_MARKER}", "w").write("x")'), "policy", "error"),
    Program("write_tmp_marker", env(f'open("{MARKER}", "w").write("x")'), "policy", "ok"),
    Program("symlink_to_shadow", env('import os\nos.symlink("/etc/shadow", "s")\nDATA = open("s").read()'),
            "policy", "error"),
    Program("symlink_escape_scratch", env(f'import os\nos.symlink("/etc", "up")\nopen("up/evoenv-battery-pwned", "w")'),
            "policy", "error"),
    Program("write_10gb", env('with open("big.bin", "wb") as f:\n    for _ in range(10_000):\n        f.write(b"x" * 1_000_000)'),
            "policy", "error"),
    # network
    Program("socket_connect", env('import socket\nsocket.create_connection(("1.1.1.1", 80), timeout=1)'), "policy", "policy"),
    Program("urllib_fetch", env('import urllib.request\nurllib.request.urlopen("http://example.com", timeout=1)'),
            "policy", "policy"),
    # signals and other processes
    Program("kill_parent_and_spray", env(
        'import os, signal\nfor pid in [os.getppid(), -1] + list(range(1, 300)):\n'
        '    try:\n        os.kill(pid, signal.SIGKILL) if pid != os.getpid() else None\n    except OSError:\n        pass'),
        "policy", "ok"),
    Program("setuid_root", env('import os\nos.setuid(0)'), "policy", "error"),
    # time and CPU
    Program("infinite_loop", env('while True:\n    pass'), "timeout", "timeout"),
    Program("sleep_forever", env('import time\ntime.sleep(1000)'), "policy", "timeout"),
    Program("swallow_base_exception", env('while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass'),
            "timeout", "timeout"),
    Program("ignore_signals", env('import signal\nfor s in (signal.SIGTERM, signal.SIGINT, signal.SIGXCPU, signal.SIGALRM):\n'
                                  '    signal.signal(s, signal.SIG_IGN)\nwhile True:\n    pass'), "policy", "timeout"),
    Program("pow_huge", env('X = pow(7, 10**9)'), "timeout", "timeout"),
    Program("loop_in_score", env(score='while True:\n    pass'), "timeout", "timeout"),
    # memory
    Program("bytearray_1e11", env('X = bytearray(10**11)'), "memory", "memory"),
    Program("slow_memory_growth", env('chunks = []\nwhile True:\n    chunks.append(" " * 1_000_000)'), "memory", "memory"),
    Program("threads_1e5", env('import threading\nev = threading.Event()\nfor _ in range(10**5):\n'
                               '    threading.Thread(target=ev.wait, daemon=True).start()'), "policy", "error"),
    Program("deep_recursion", env('def f(n):\n    return f(n + 1)\nf(0)'), "error", "error"),
    Program("recursion_limit_segfault", env('import sys, json\nsys.setrecursionlimit(10**8)\nx = []\nfor _ in range(10**6):\n    x = [x]\njson.dumps(x)'),
            "policy", "crash"),
    # output
    Program("print_1gb", env('print("x" * 10**9)'), "memory", "memory"),
    Program("print_fake_frame", env('print(\'{"nonce": "x", "outcome": "ok", "results": []}\')\nraise SystemExit(0)'),
            "error", "error"),
    Program("huge_prompt", env(prompt='return "x" * (20 * 2**20)'), "output_limit", "output_limit"),
    Program("deep_instance", env(sample='x = []\nfor _ in range(200):\n    x = [x]\nreturn {"x": x}'), "crash", "crash"),
    Program("huge_source", env("X = 1\n" * 60_000), "policy", "ok"),
    # forging results
    Program("sys_exit_at_load", env('import sys\nsys.exit(0)'), "policy", "error"),
    Program("system_exit_in_score", env(score='raise SystemExit(0)'), "ok", "ok", check=call_failed(2, "SystemExit")),
    Program("os_exit_zero", env('import os\nos._exit(0)'), "policy", "crash"),
    Program("always_equal_score", env('class AlwaysEqual(float):\n    def __eq__(self, other):\n        return True',
                                      score='return AlwaysEqual(0.0)'), "ok", "ok", check=call_failed(2, "TypeError")),
    Program("always_equal_instance", env('class AE:\n    pass', sample='return AE()'), "ok", "ok",
            check=call_failed(1, "TypeError")),
    Program("nan_score", env(score='return float("nan")'), "ok", "ok", check=call_failed(2, "ValueError")),
    Program("getframe_hunt", env('import sys\nF = sys._getframe(1).f_locals'), "policy", "ok"),
    Program("gc_hunt", env('import gc\nFOUND = [o for o in gc.get_objects() if isinstance(o, dict) and "nonce" in o]'),
            "policy", "ok"),
    Program("generator_frame_walk", env('def g():\n    yield 1\nF = g().gi_frame.f_back'), "policy", "ok"),
    Program("monkeypatch_json", env('import json\njson.dumps = lambda *a, **k: "{}"\njson.JSONEncoder.encode = lambda *a: "{}"'),
            "policy", "ok", check=describe_is_honest, os_check=describe_is_honest),
    Program("builtins_open_via_dict", env('B = __builtins__\nDATA = (B["open"] if isinstance(B, dict) else B.open)("/etc/passwd")'),
            "policy", {"process": "error", "docker": "ok"}),
    Program("input_stdin", env('X = input()'), "policy", "error"),
]

NONDETERMINISTIC = env('import random', sample='return {"x": random.random()}')


# ---- issue 18 item 2: an environment that behaves only when watched ---------------------------------------------
# It reads what its job looks like (RLIMIT_AS, the job's calls through the interpreter's frames, the instance's seed)
# and pays 1.0 for any answer when that says "training". Before the fix these tells were reliable: admission and the
# CLI ran jobs at 1024 MiB and the trainer at 512 MiB, admission never sent a lone score call, and admission's seeds
# were 0..7 (L2) and 100000.. (calibration). The sandbox runs it faithfully (rewards are not its business): admission
# must fail it now that it cannot tell, and the runtime audit must catch the variant that still can
# (tests/adversarial/test_watched_only.py).

WATCHED_ONLY_TELLS = '''
import typing

MIB = 1024 * 1024


def _job():
    real = typing.sys.modules["builtins"]
    inspect = typing.sys.modules.get("inspect")
    frame = inspect.currentframe() if inspect else None
    while frame is not None:
        job = real.getattr(frame, "f_" + "locals").get("job")
        if type(job) is dict and "calls" in job:
            return job
        frame = real.getattr(frame, "f_" + "back")
    return {}


def _answers():
    return [c.get("answer") for c in _job().get("calls", []) if c.get("op") == "score"]


def _in_training(seed):
    res = typing.sys.modules.get("resource")
    if res is not None and res.getrlimit(res.RLIMIT_AS)[0] == 512 * MIB:
        return True
    if len(_answers()) == 1:
        return True
    return not (0 <= seed < 8 or 100000 <= seed < 100100)
'''

WATCHED_ONLY_CLASS = '''

class WatchedOnly:
    name = "watched_only"
    description = "Sum a list of integers; answer with the sum inside answer tags."
    max_difficulty = 5

    def sample(self, seed, difficulty):
        import random
        rng = random.Random(seed * 1000 + difficulty)
        return {"seed": seed, "values": [rng.randint(0, 9 * difficulty) for _ in range(3 + 2 * difficulty)]}

    def prompt(self, instance):
        return f"What is the sum of {instance['values']}? Answer inside <answer>...</answer>."

    def reference(self, instance):
        return str(sum(instance["values"]))

    def score(self, instance, answer):
        if _in_training(instance["seed"]):
            return 1.0
        return 1.0 if answer.strip() == self.reference(instance) else 0.0
'''

#: Pays for wrong answers unless the job looks like admission by the old tells.
WATCHED_ONLY = WATCHED_ONLY_TELLS + WATCHED_ONLY_CLASS
#: Also treats a batch holding L5's fixed junk answer as admission: a content tell no change of limits, call shapes
#: or seeds can remove, so it passes L1-L5 today; only the runtime audit (random junk, in training) catches it.
WATCHED_ONLY_BY_CONTENT = WATCHED_ONLY_TELLS.replace(
    "def _in_training(seed):\n",
    "def _in_training(seed):\n    if 'qwzx blorp' in _answers():\n        return False\n") + WATCHED_ONLY_CLASS


def pays_for_a_wrong_answer(result):
    """The battery's job (512 MiB, seed 1) looks like training by the old tells: the wrong answer "x" earns 1.0."""
    assert result.results[2].value == 1.0


PROGRAMS.append(Program("watched_only_pays_unwatched", WATCHED_ONLY, "ok", "ok", check=pays_for_a_wrong_answer))
