"""The hostile programs of the adversarial battery, each with its expected outcome.

Every program is a complete environment (the contract's class is always there)
with its attack at module level (runs while loading) or inside a method.

``full``: the outcome with every layer on (static policy, restricted builtins, OS).
``os``: the outcome with the language layers OFF, so the OS layers alone must hold.
Either may be a dict keyed by backend where the backends differ for a documented
reason. ``check`` (optional) inspects the JobResult further.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

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
    # the minimal root has no /etc/passwd (in Docker the zygote builds it inside the image's root too)
    Program("read_etc_passwd", env('DATA = open("/etc/passwd").read()'), "policy", "error"),
    Program("read_etc_shadow", env('DATA = open("/etc/shadow").read()'), "policy", "error"),
    Program("read_proc_1_environ", env('DATA = open("/proc/1/environ").read()'), "policy", "error"),
    Program("write_etc", env(f'open("{ETC_MARKER}", "w").write("x")'), "policy", "error"),
    Program("write_tmp_marker", env(f'open("{MARKER}", "w").write("x")'), "policy", "ok"),
    Program("symlink_to_shadow", env('import os\nos.symlink("/etc/shadow", "s")\nDATA = open("s").read()'),
            "policy", "error"),
    Program("symlink_escape_scratch", env('import os\nos.symlink("/etc", "up")\nopen("up/evoenv-battery-pwned", "w")'),
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
            "policy", "error"),
    Program("input_stdin", env('X = input()'), "policy", "error"),
]

NONDETERMINISTIC = env('import random', sample='return {"x": random.random()}')


# ---- issue 18 (items 1, 7): forged values and error texts ------------------------------------------------
# Each program bypasses the guest's own value checks (they run inside the job, so a job can rebind them)
# and returns a value that breaks the contract. The host re-checks every value where it decodes the reply
# (JobResult.from_reply): the call fails with a reason, the job's other calls are unaffected.

FORGE_CALL = '''
import typing
RUNNER = typing.sys.modules["evoenv_guest.runner"]
HONEST = RUNNER.call
def forged(env, spec):
    if spec["op"] == OP:
        return FORGED
    return HONEST(env, spec)
RUNNER.call = forged
'''


def forge(op: str, forged: str) -> str:
    """An environment whose ``op`` calls return ``forged`` (Python source) past every guest check."""
    return env(f"OP = {op!r}\nFORGED = {forged}\n" + FORGE_CALL)


# The reply frame itself, rewritten on its way out of the job (the zygote decodes it before the host does).
FORGE_FRAME = '''
import typing
PROTOCOL = typing.sys.modules["evoenv_guest.protocol"]
SEND = PROTOCOL.write_all
def forged_send(fd, data, write):
    body = data[4:].replace(b'"value":1.0', b'"value":' + FORGED)
    SEND(fd, PROTOCOL.HEADER.pack(len(body)) + body, write)
PROTOCOL.write_all = forged_send
'''


# A failed call's error code, rewritten on its way out of the job: the host accepts only the protocol's codes.
FORGE_CODE_FRAME = '''
import typing
PROTOCOL = typing.sys.modules["evoenv_guest.protocol"]
SEND = PROTOCOL.write_all
def forged_send(fd, data, write):
    body = data[4:].replace(b'"code":"exception"', b'"code":' + FORGED)
    SEND(fd, PROTOCOL.HEADER.pack(len(body)) + body, write)
PROTOCOL.write_all = forged_send
'''


def error_code(index: int, code: str):
    """Call ``index`` failed with the protocol's error ``code``."""
    def check(result):
        call_failed(index)(result)
        assert result.results[index].error_code == code, result.results[index].error
    return check


def rejected_by_host(index: int, error_type: str, *words: str):
    """Call ``index`` failed with ``error_type`` because the HOST refused its value, saying ``words``."""
    def check(result):
        call_failed(index, error_type)(result)
        error = result.results[index].error
        assert error.get("rejected_by") == "host", error
        assert all(word in error["message"] for word in words), error
        for other, item in enumerate(result.results):
            assert other == index or item.ok, (other, item)
    return check


def crash_naming(*words: str):
    def check(result):
        assert all(word in result.detail for word in words), result.detail
    return check


def valid_error_text(index: int):
    """Call ``index`` failed, and its error texts are valid UTF-8 (printable, storable, sendable to a model)."""
    def check(result):
        call_failed(index)(result)
        for text in result.results[index].error.values():
            text.encode("utf-8")
    return check


def environment_frames_only(index: int):
    """The error's traceback keeps the environment's frames and none of the sandbox's own."""
    def check(result):
        call_failed(index, "ZeroDivisionError")(result)
        traceback = result.results[index].error["traceback"]
        assert 'File "<environment>"' in traceback and "ZeroDivisionError" in traceback, traceback
        assert "evoenv_guest" not in traceback, traceback
    return check


def honest_fields_only(result):
    assert result.results[0].value == {"name": "hostile", "description": "d", "max_difficulty": 3,
                                       "class_name": "Env"}


FORGED_VALUES = [
    Program("forged_score_1e308", forge("score", "1e308"), "ok", "ok",
            check=rejected_by_host(2, "ValueError", "outside [0, 1]")),
    Program("forged_score_negative", forge("score", "-5.0"), "ok", "ok",
            check=rejected_by_host(2, "ValueError", "-5.0", "outside [0, 1]")),
    Program("forged_score_bool", forge("score", "True"), "ok", "ok", check=rejected_by_host(2, "TypeError", "bool")),
    Program("forged_score_text", forge("score", '"1.0"'), "ok", "ok", check=rejected_by_host(2, "TypeError", "str")),
    Program("forged_score_nan_frame", env("FORGED = b'NaN'\n" + FORGE_FRAME), "crash", "crash",
            check=crash_naming("NaN")),
    Program("forged_score_overflow_frame", env("FORGED = b'1e999'\n" + FORGE_FRAME), "crash", "crash",
            check=crash_naming("1e999")),
    Program("forged_describe_types", forge("describe", '{"name": 7, "description": None, "max_difficulty": "10", '
                                                       '"class_name": "Env"}'), "ok", "ok",
            check=rejected_by_host(0, "TypeError", "name must return str, got int")),
    Program("forged_describe_level", forge("describe", '{"name": "x", "description": "d", "max_difficulty": 10**9, '
                                                       '"class_name": "Env"}'), "ok", "ok",
            check=rejected_by_host(0, "ValueError", "max_difficulty is 1000000000")),
    Program("forged_describe_name_escape", forge("describe", '{"name": "x\\x1b[2J", "description": "d", '
                                                             '"max_difficulty": 3, "class_name": "Env"}'), "ok", "ok",
            check=rejected_by_host(0, "ValueError", "not a short id")),
    Program("forged_describe_extra_field", forge("describe", '{"name": "hostile", "description": "d", '
                                                             '"max_difficulty": 3, "class_name": "Env", "evil": 1}'),
            "ok", "ok", check=honest_fields_only),
    Program("forged_render_surrogate", forge("render", '{"instance": {}, "prompt": "p" + chr(0xD800), "reference": "r"}'),
            "ok", "ok", check=rejected_by_host(1, "TypeError", "prompt()", "U+D800")),
    Program("forged_render_list_instance", forge("render", '{"instance": [1], "prompt": "p", "reference": "r"}'),
            "ok", "ok", check=rejected_by_host(1, "TypeError", "dict")),
    Program("forged_instance_surrogate_key", forge("render", '{"instance": {chr(0xDFFF): 1}, "prompt": "p", '
                                                              '"reference": "r"}'),
            "ok", "ok", check=rejected_by_host(1, "TypeError", "U+DFFF")),
    # the red team's own attack: rebind the runner's score check (the guest's second check still holds) ...
    Program("forged_as_score", env('import typing\ntyping.sys.modules["evoenv_guest.runner"].as_score = lambda v: v',
                                   score="return 1e308"), "ok", "ok", check=call_failed(2, "ValueError")),
    # ... and both of the guest's checks: only the host's is left
    Program("forged_both_guest_checks", env(
        'import typing\nMODULES = typing.sys.modules\nMODULES["evoenv_guest.runner"].as_score = lambda v: v\n'
        'MODULES["evoenv_guest.protocol"].checked_value = lambda op, v: v', score="return -5.0"), "ok", "ok",
        check=rejected_by_host(2, "ValueError", "-5.0")),
    # honest code (no forging) that the old guest passed through: a lone surrogate in a prompt
    Program("prompt_lone_surrogate", env(prompt='return "p" + chr(0xD800)'), "ok", "ok",
            check=call_failed(1, "TypeError")),
    Program("error_message_surrogate", env(score='raise ValueError("bad " + chr(0xD800))'), "ok", "ok",
            check=valid_error_text(2)),
    Program("error_traceback_frames", env(score='return 1 / 0'), "ok", "ok", check=environment_frames_only(2)),
    # the error code is the guest's word too: an unknown one (or none) makes the reply malformed
    Program("forged_error_code_in_reply", env("FORGED = b'\"root\"'\n" + FORGE_CODE_FRAME, score='return 1 / 0'),
            "crash", "crash", check=crash_naming("no known error code")),
    Program("forged_error_code_missing", env("FORGED = b'null'\n" + FORGE_CODE_FRAME, score='return 1 / 0'),
            "crash", "crash", check=crash_naming("no known error code")),
    Program("honest_error_code", env(score='return 1 / 0'), "ok", "ok", check=error_code(2, "exception")),
    Program("honest_bad_score_code", env(score='return 7'), "ok", "ok", check=error_code(2, "bad_score")),
]
PROGRAMS += FORGED_VALUES

# ==== issue 18, isolation: cross-job memory, shared container state, survivors =======
# These need more than one job (or a host process to signal), so they are not in PROGRAMS:
# tests/adversarial/test_cross_job.py, test_survivors.py and test_minimal_root.py run them,
# all with the language layers off (only the OS layers stand in the way).

#: str.translate / bytes.translate table: every byte + 1. A hunting job holds only the
#: SHIFTED form of what it looks for and compares shifted memory with it, so it never
#: creates the secret itself (a shift of 1 would need 255 more rounds to come back).
SHIFT = bytes((i + 1) % 256 for i in range(256))


def shifted(text: str) -> str:
    return text.encode("ascii").translate(SHIFT).decode("latin-1")


def secret_carrier(source_secret: str, generated_secret_reversed: str) -> str:
    """Job A: its source holds one secret; the instance it generates holds another."""
    return env(f'SOURCE_SECRET = {source_secret!r}',
               sample=f'return {{"planted": "".join(reversed({generated_secret_reversed!r}))}}')


MEMORY_HUNT = '''
import ctypes, gc, os
NEEDLES = {needles}
STR_TABLE = {{i: (i + 1) % 256 for i in range(256)}}
BYTE_TABLE = bytes((i + 1) % 256 for i in range(256))
FOUND = set()

def look(shifted_text):
    for name, needle in NEEDLES.items():
        if needle in shifted_text:
            FOUND.add(name)

# 1. every string held by a live object (a job dict, a reply, a local of the zygote)
for obj in gc.get_objects():
    if type(obj) is dict:  # exact types: a subclass's methods might do anything (lazy imports)
        items = list(dict.values(obj)) + list(dict.keys(obj))
    elif type(obj) in (list, tuple):
        items = list(obj)
    else:
        continue
    for item in items:
        if type(item) is str and len(item) < (1 << 20):
            look(item.translate(STR_TABLE))

# 2. raw memory, freed blocks included: the brk heap and every MiB that holds a Python
# object, read through a pipe (write() from an unmapped address fails with EFAULT, no crash)
libc = ctypes.CDLL(None, use_errno=True)
libc.write.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
libc.write.restype = ctypes.c_ssize_t
libc.sbrk.argtypes = [ctypes.c_long]
libc.sbrk.restype = ctypes.c_void_p
R, W = os.pipe()
PAGE = 4096

def page(addr):
    n = libc.write(W, addr, PAGE)
    if n <= 0:
        return None
    return os.read(R, n)

def scan(pages):
    run = []
    for addr in pages:
        data = page(addr)
        if data is None:
            look(b"".join(run).translate(BYTE_TABLE).decode("latin-1"))
            run = []
        else:
            run.append(data)
    look(b"".join(run).translate(BYTE_TABLE).decode("latin-1"))

top = libc.sbrk(0) // PAGE * PAGE
heap, addr = [], top - PAGE
while len(heap) < 65536 and page(addr) is not None:
    heap.append(addr)
    addr -= PAGE
scan(reversed(heap))
for mib in sorted({{id(o) >> 20 for o in gc.get_objects()}}):
    scan(range(mib << 20, (mib + 1) << 20, PAGE))
'''


def memory_hunt(secrets: dict[str, str]) -> str:
    """Job B: which of ``secrets`` (name -> text) are anywhere in its own memory."""
    needles = {name: shifted(text) for name, text in secrets.items()}
    return env(MEMORY_HUNT.format(needles=repr(needles)), sample='return {"found": sorted(FOUND)}')


#: Plants modules where a later job might import them from (``/tmp`` was on sys.path in
#: Docker), and reports what it managed to write.
PLANT_MODULES = env('''
import os, sys
WROTE = []
for folder in ["/tmp", "/dev/shm", os.getcwd()] + [p for p in sys.path if p]:
    for name in ("evoenv_planted.py", "scipy/__init__.py"):
        path = os.path.join(folder, name)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write("PLANTED = True\\n")
            os.chmod(path, 0o444)
            os.chmod(os.path.dirname(path), 0o555)
            WROTE.append(path)
        except OSError:
            pass
''', sample='return {"wrote": WROTE}')

#: What a later job sees: writable sys.path entries, and whether a planted module imports.
SYS_PATH_PROBE = env('''
import os, sys
WRITABLE = [p for p in sys.path if os.access(p or ".", os.W_OK)]
try:
    import evoenv_planted
    PLANTED = True
except ImportError:
    PLANTED = False
''', sample='return {"writable": WRITABLE, "planted": PLANTED}')

#: Lowers the limits of every process it can name: PID 1 (the container's zygote), its parent.
PRLIMIT_OTHERS = env('''
import errno, os, resource
CHANGED = []
for pid in sorted(({1, os.getppid()} | set(range(2, 64))) - {0, os.getpid()}):  # never itself
    try:
        resource.prlimit(pid, resource.RLIMIT_AS, (64 << 20, 64 << 20))
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (8, 8))
        CHANGED.append(pid)
    except OSError:
        pass
try:  # a pid no process has: ESRCH unless the seccomp filter refuses prlimit on others first
    resource.prlimit(4000000, resource.RLIMIT_NOFILE)
    REFUSED = "allowed"
except OSError as exc:
    REFUSED = errno.errorcode[exc.errno]
''', sample='return {"changed": CHANGED, "other_pid": REFUSED}')

#: An honest job that needs some memory and some files: fails if its limits were lowered.
NEEDS_MEMORY = env('''
BUFFER = bytearray(200 << 20)
FILES = [open("f%d" % i, "w") for i in range(20)]
''')

#: Pre-creates the names a zygote might give the next job's scratch, as read-only folders
#: with a file inside (which a cleaner that does not chmod cannot remove).
SQUAT_SCRATCH = env('''
import os
MADE = 0
for folder in ("/tmp", "/dev/shm"):
    for name in ["job", "evoenv-zygote"] + ["job-%d" % i for i in range(400)]:
        path = os.path.join(folder, name)
        try:
            os.mkdir(path)
            open(os.path.join(path, "squat"), "w").close()
            os.chmod(path, 0o555)
            MADE += 1
        except OSError:
            pass
''', sample='return {"made": MADE}')

#: Leaves files a cleaner cannot remove (a read-only directory) for the next job.
LEAVE_FILES = env('''
import os
LEFT = []
for folder in ("/tmp", "/dev/shm", "."):
    keep = os.path.join(folder, "evoenv-keep")
    try:
        os.mkdir(keep)
        with open(os.path.join(keep, "note"), "w") as f:
            f.write("from an earlier job")
        os.chmod(keep, 0o555)
        LEFT.append(keep)
    except OSError:
        pass
''', sample='return {"left": LEFT}')

FIND_FILES = env('''
import os
def listing(folder):
    try:
        return sorted(os.listdir(folder))
    except OSError:
        return []
SEEN = {folder: listing(folder) for folder in ("/tmp", "/dev/shm", ".")}
''', sample='return SEEN')

#: Reads the zygote's (the container's PID 1) entries in /proc.
READ_PROC_1 = env('''
import os
SEEN = {}
try:
    SEEN["/proc"] = sorted(os.listdir("/proc"))
except OSError as exc:
    SEEN["/proc"] = type(exc).__name__
for name in ("status", "cmdline", "environ", "limits"):
    try:
        with open("/proc/1/" + name, "rb") as f:
            SEEN[name] = f.read(200).decode("latin-1")
    except OSError as exc:
        SEEN[name] = type(exc).__name__
''', sample='return SEEN')

#: A job that sleeps (uses no CPU) until it is killed.
SLEEPER = env('import time\ntime.sleep(1000)')
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
#: Also treats a batch holding L5's fixed junk answer, or the blind stage's constant -1, as admission: content
#: tells no change of limits, call shapes or seeds can remove, so it passes admission; only the runtime audit
#: (random junk, in training) catches it. (With the L5 tell alone, the blind stage's guesses were paid and
#: rejected it.)
WATCHED_ONLY_BY_CONTENT = WATCHED_ONLY_TELLS.replace(
    "def _in_training(seed):\n",
    "def _in_training(seed):\n    if 'qwzx blorp' in _answers() or '-1' in _answers():\n        return False\n"
) + WATCHED_ONLY_CLASS


def pays_for_a_wrong_answer(result):
    """The battery's job (512 MiB, seed 1) looks like training by the old tells: the wrong answer "x" earns 1.0."""
    assert result.results[2].value == 1.0


PROGRAMS.append(Program("watched_only_pays_unwatched", WATCHED_ONLY, "ok", "ok", check=pays_for_a_wrong_answer))
