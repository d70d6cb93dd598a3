"""The static policy: readable violations with line numbers, the allowlist, caps, the
cache, and hypothesis fuzzing (it must never crash, whatever the input)."""

from __future__ import annotations

import keyword
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evoenv.sandbox import policy, protocol

CLEAN = '''
import math, random, itertools, functools, collections, heapq, bisect, string, re
import fractions, decimal, statistics, dataclasses, typing, enum, json, copy
import networkx as nx
from collections import Counter
from evoenv.sdk import Environment, parse_int
from dataclasses import dataclass


@dataclass
class Point:
    x: int
    y: int


class Base:
    def __init__(self):
        self._cache = {}

    def __repr__(self):
        return f"{type(self).__name__}()"


class Paths(Base, Environment):
    name = "paths"
    description = "shortest paths"
    max_difficulty = 4

    def __init__(self):
        super().__init__()
        self.template = "Graph {edges}: distance from {src} to {dst}?"

    def sample(self, seed, difficulty):
        rng = random.Random(seed)
        g = nx.gnm_random_graph(5 + difficulty, 10, seed=seed)
        return {"edges": sorted(map(list, g.edges())), "src": 0, "dst": 1}

    def prompt(self, instance):
        return self.template.format(**instance)

    def reference(self, instance):
        g = nx.Graph(instance["edges"])
        return str(getattr(nx, "shortest_path_length")(g, 0, 1)) if g.has_node(1) else "-1"

    def score(self, instance, answer):
        return float(parse_int(answer) == int(self.reference(instance)))
'''


def rules(code: str) -> list[tuple[int, str]]:
    return [(v.line, v.rule) for v in policy.analyse(code)]


def test_clean_environment_passes():
    assert policy.analyse(CLEAN) == ()


@pytest.mark.parametrize("code, expected", [
    ("import os", [(1, "import")]),
    ("import os.path", [(1, "import")]),
    ("from subprocess import run", [(1, "import")]),
    ("from . import x", [(1, "import")]),
    ("from math import *", [(1, "import")]),
    ("import evoenv", [(1, "import")]),
    ("import evoenv.registry", [(1, "import")]),
    ("x = 1\ny = eval('2')", [(2, "forbidden-name")]),
    ("exec('x')", [(1, "forbidden-name")]),
    ("compile('1', 'f', 'eval')", [(1, "forbidden-name")]),
    ("__import__('os')", [(1, "forbidden-name")]),
    ("f = open", [(1, "forbidden-name")]),
    ("globals()", [(1, "forbidden-name")]),
    ("vars()", [(1, "forbidden-name")]),
    ("locals()", [(1, "forbidden-name")]),
    ("breakpoint()", [(1, "forbidden-name")]),
    ("input()", [(1, "forbidden-name")]),
    ("getattr(x, name)", [(1, "dynamic-attribute")]),
    ("getattr(x, '__class__')", [(1, "dunder")]),
    ("setattr(x, '_p', 1)", [(1, "dunder")]),
    ("delattr(x, n)", [(1, "dynamic-attribute")]),
    ("().__class__", [(1, "dunder")]),
    ("x.__subclasses__()", [(1, "dunder")]),
    ("f.__globals__", [(1, "dunder")]),
    ("self.__dict__", [(1, "dunder")]),
    ("import random\nrandom._os", [(2, "private")]),
    ("import random as r\nr._inst.seed", [(2, "private")]),
    ("from random import _urandom", [(1, "private")]),
    ("import json\njson.dumps = None", [(2, "monkeypatch")]),
    ("import json\njson.decoder.x = 1", [(2, "monkeypatch")]),
    ("import json\nsetattr(json, 'dumps', 1)", [(2, "monkeypatch")]),
    ("import json\ndel json.loads", [(2, "monkeypatch")]),
    ("'{0.__class__}'.format(1)", [(1, "format-walk"), (1, "format-walk")]),
    ("'{x.y}'.format(x=1)", [(1, "format-walk")]),
    ("s.format_map(d)", [(1, "forbidden-attribute")]),
    ("g.gi_frame", [(1, "forbidden-attribute")]),
    ("e.__traceback__.tb_frame", [(1, "dunder"), (1, "forbidden-attribute")]),
    ("import networkx as nx\nnx.write_edgelist(g, 'f')", [(2, "networkx-io")]),
    ("from networkx import read_gml", [(1, "networkx-io")]),
    ("x = __builtins__", [(1, "forbidden-name")]),
    ("def f(:\n  pass", [(1, "syntax")]),
])
def test_violations(code, expected):
    assert rules(code) == expected


def test_messages_are_actionable():
    (v,) = policy.analyse("x = 1\nimport socket\n")
    assert str(v).startswith("line 2: import of 'socket' is not allowed (allowed: ")
    assert "networkx" in str(v)
    assert "line 2" in policy.explain(policy.analyse("x = 1\nimport socket\n"))


@pytest.mark.parametrize("code", [
    "def encode(input: str):\n    return input.upper()\n",  # a parameter shadows the builtin
    "open = {}\ndef f():\n    return open\n",  # a module-level binding is visible in functions
    "def f(xs):\n    return [input for input in xs]\n",
    "f = lambda eval: eval + 1\n",
    "def f(x):\n    match x:\n        case [*input]:\n            return input\n",
    "for compile in range(3):\n    print(compile)\n",
    "from __future__ import annotations\nx: list[int] = []\n",
    "import enum\nclass H(enum.Enum):\n    N = 1\nORDER = list(H.__members__)\nM = H.__module__\n",
])
def test_own_bindings_of_builtin_names_and_harmless_forms_pass(code):
    assert rules(code) == []


@pytest.mark.parametrize("code, expected", [
    ("def g(input):\n    return input\ndef f():\n    return input()\n", [(4, "forbidden-name")]),  # other scope
    ("class A:\n    input = 1\n    def m(self):\n        return input()\n", [(4, "forbidden-name")]),
    ("def f(input=input):\n    return input\n", [(1, "forbidden-name")]),  # a default is the outer scope's
    ("def f(__builtins__):\n    return __builtins__\n", [(2, "forbidden-name")]),  # dunders never
    ("import __future__", [(1, "import")]),
    ("H.__members__.__class__", [(1, "dunder")]),
])
def test_shadowing_is_scoped_and_dangerous_names_stay_forbidden(code, expected):
    assert rules(code) == expected


def test_allowed_dunders():
    ok = ("class A:\n    def __init__(self):\n        super().__init__()\n    def __eq__(self, o):\n"
          "        return self.__repr__() == o.__repr__()\nname = type(1).__name__\nif __name__ == 'x':\n    pass\n")
    assert rules(ok) == [(5, "dunder")]  # o.__repr__ is not self/cls/super


def test_size_and_depth_caps():
    assert rules("x = 1\n" * 50_000) == [(0, "size")]
    assert rules("x = " + "[" * 150 + "]" * 150)[0][1] in ("depth", "syntax")
    assert rules("x = " + "[" * 20 + "]" * 20) == []
    assert rules("x = " + "-" * 500 + "1") == [(0, "depth")]


def test_cache_returns_the_same_verdict():
    code = "import os\n"
    assert policy.check(code) is policy.check(code)
    assert policy.check("x = 1\n") == ()


def test_gate_result():
    result = policy.gate("import os\n")
    assert result.outcome == "policy"
    assert result.error["violations"] == [{"line": 1, "rule": "import", "message": result.error["violations"][0]["message"]}]
    assert policy.gate(CLEAN) is None
    assert policy.gate("def f(:\n") is None  # a SyntaxError is the sandbox's ordinary `error`


def test_restricted_builtins_come_from_restrictedpython():
    from RestrictedPython import safe_builtins

    names = set(policy.restricted_builtin_names())
    assert {"len", "range", "isinstance", "sorted", "super", "__build_class__"} <= names
    assert not names & {"eval", "exec", "open", "compile", "globals", "vars", "input", "breakpoint"}
    # binding a name like `input` is allowed statically, so the child's builtins must never hold the real one
    assert not names & (protocol.FORBIDDEN_BUILTINS - {"__import__"})
    assert {n for n in safe_builtins if not n.startswith("_")} - {"whrandom"} <= names | {"reorder", "same_type", "test"}


PY_TOKENS = st.sampled_from([
    "import ", "from ", " os", "math", "(", ")", "[", "]", ".", "__class__", "_x", "eval", "getattr",
    ",", ":", "\n", "    ", "=", "'s'", "1", "def f", "class C", "lambda", "x", "self", "super()",
    "{0.__a}", "json", ".format", "return", "\"", "#", "if ", "else", "**", "async ", "await ", "yield",
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PY_TOKENS, max_size=60).map("".join))
def test_fuzz_tokens_never_crash(code):
    verdict = policy.analyse(code)
    assert isinstance(verdict, tuple)
    for v in verdict:
        assert isinstance(v.line, int) and v.rule and v.message


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400))
def test_fuzz_text_never_crashes(code):
    assert isinstance(policy.check(code), tuple)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(policy.ALLOWED_MODULES)), st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=8))
def test_fuzz_allowed_imports_pass_and_others_fail(module, other):
    assert policy.analyse(f"import {module}\n") == ()
    if other not in policy.ALLOWED_MODULES and not keyword.iskeyword(other):
        assert rules(f"import {other}\n") == [(1, "import")]


def test_the_guest_never_hands_out_forbidden_builtins_even_when_asked():
    """The static policy lets an environment bind a name like `input`; a load of that name where the
    environment did not bind it must then find no builtin at run time."""
    from evoenv_guest.runner import _guarded_import, restricted_builtins

    table = restricted_builtins(policy.restricted_builtin_names() + ("input", "open", "eval", "exec", "compile"))
    assert not set(table) & {"input", "open", "eval", "exec", "compile", "globals", "vars", "locals"}
    assert table["__import__"] is _guarded_import
    assert _guarded_import("__future__", fromlist=("annotations",)).annotations is not None
    with pytest.raises(ImportError):
        _guarded_import("os")
