"""The static policy: AST checks on environment source before anything runs.

It gives fast, readable rejections ("line 3: import of 'os' is not allowed")
that a generator can act on. It is NOT the security boundary (the operating
system layers are; see docs/security.md): it catches the obvious, and it keeps
honest code on the narrow path the sandbox is built for.

``check(code)`` returns a tuple of ``Violation`` (empty = allowed), cached by
a hash of the source so the training hot path pays for each program once.
``restricted_builtin_names()`` is the builtin allowlist sent to the child,
built from RestrictedPython's safe builtins.
"""

from __future__ import annotations

import ast
import hashlib
import re
import string
import threading
from collections import OrderedDict
from dataclasses import dataclass

from evoenv.sandbox.base import POLICY, JobResult, protocol

MAX_SOURCE_BYTES = 256 * 1024
MAX_AST_DEPTH = 100
MAX_AST_NODES = 100_000

ALLOWED_MODULES = frozenset(protocol.ALLOWED_MODULES)
ALLOWED_DOTTED = tuple(protocol.ALLOWED_DOTTED)

#: getattr-like builtins: allowed only with a literal, public (non-underscore) attribute name.
ATTR_BUILTINS = frozenset({"getattr", "setattr", "delattr", "hasattr"})
#: Attributes that reach frames, code or interpreter internals; no environment needs them.
FORBIDDEN_ATTRS = frozenset({
    "gi_frame", "gi_code", "gi_yieldfrom", "cr_frame", "cr_code", "cr_await", "ag_frame", "ag_code",
    "f_back", "f_globals", "f_locals", "f_builtins", "f_code", "f_trace", "tb_frame", "tb_next",
    "co_code", "co_consts", "mro", "format_map",
})
#: Dunders readable on any object: plain strings, and ``Enum.__members__`` (a read-only name -> member
#: mapping, documented public Enum API). None of them leads to frames, code, globals or the class graph,
#: unlike __class__, __dict__, __mro__, __bases__, __subclasses__, __globals__, __code__, __closure__ and
#: __builtins__, which stay forbidden.
HARMLESS_DUNDERS = frozenset({"__name__", "__qualname__", "__doc__", "__module__", "__members__"})
#: Dunder methods an environment may call on super(), self or cls (e.g. super().__init__()).
METHOD_DUNDERS = frozenset({
    "__init__", "__post_init__", "__repr__", "__str__", "__eq__", "__ne__", "__lt__", "__le__",
    "__gt__", "__ge__", "__hash__", "__len__", "__iter__", "__next__", "__contains__", "__getitem__",
    "__setitem__", "__delitem__", "__bool__", "__add__", "__sub__", "__mul__", "__call__",
})
#: networkx functions that touch files or external programs.
NETWORKX_IO = re.compile(r"^(read_|write_|generate_|parse_|draw|nx_agraph|nx_pydot|to_agraph|from_agraph|"
                         r"readwrite|drawing|utils$|open_file|relabel_gexf)")
#: A str.format field that walks attributes or items of its argument ("{0.__class__}", "{x[_y]}").
FORMAT_WALK = re.compile(r"\{[^{}]*[.\[]\s*_")


@dataclass(frozen=True)
class Violation:
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


#: ``from __future__ import <feature>``: a compiler directive with no run-time effect on what code can reach.
FUTURE = "__future__"


def _allowed_list() -> str:
    return ", ".join(sorted(ALLOWED_MODULES)) + ", " + ", ".join(ALLOWED_DOTTED)


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _root_name(node: ast.AST) -> str | None:
    """The Name at the root of an attribute chain a.b.c, else None."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _arguments(args: ast.arguments) -> list[ast.arg]:
    return [*args.posonlyargs, *args.args, *([args.vararg] if args.vararg else []), *args.kwonlyargs,
            *([args.kwarg] if args.kwarg else [])]


def _store_names(target: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(target) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}


_NEW_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef,
               ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _bound_names(body: list[ast.stmt]) -> set[str]:
    """Names a block binds in its own scope: assignments, loop/with/except targets, imports, defs."""
    bound: set[str] = set()
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
            continue  # its body is its own scope
        if isinstance(node, _NEW_SCOPES):
            continue
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bound.add(node.rest)
        elif isinstance(node, ast.NamedExpr):
            bound.update(_store_names(node.target))
        stack.extend(ast.iter_child_nodes(node))
    return bound


class _Checker(ast.NodeVisitor):
    def __init__(self):
        self.violations: list[Violation] = []
        self.modules: set[str] = set()  # local names bound to imported modules
        self.networkx: set[str] = set()
        self.scopes: list[set[str]] = []  # names bound in the module and each enclosing function
        self.class_scope: set[str] | None = None

    def add(self, node: ast.AST, rule: str, message: str) -> None:
        self.violations.append(Violation(getattr(node, "lineno", 0), rule, message))

    # imports ------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if not protocol.allowed_module(alias.name):
                self.add(node, "import", f"import of '{alias.name}' is not allowed (allowed: {_allowed_list()})")
                continue
            local = alias.asname or alias.name.split(".")[0]
            self.modules.add(local)
            if alias.name.split(".")[0] == "networkx":
                self.networkx.add(local)
                self._networkx_name(node, alias.name.split(".")[1:])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level:
            self.add(node, "import", "relative imports are not allowed")
            return
        if module == FUTURE:
            return  # compiler directives (annotations, ...); an unknown feature is a SyntaxError
        if not protocol.allowed_module(module):
            self.add(node, "import", f"import from '{module}' is not allowed (allowed: {_allowed_list()})")
            return
        for alias in node.names:
            if alias.name == "*":
                self.add(node, "import", f"'from {module} import *' is not allowed; import names explicitly")
            elif alias.name.startswith("_"):
                self.add(node, "private", f"importing the private name '{alias.name}' from '{module}'")
            elif module.split(".")[0] == "networkx":
                self._networkx_name(node, [*module.split(".")[1:], alias.name])

    def _networkx_name(self, node: ast.AST, parts: list[str]) -> None:
        for part in parts:
            if NETWORKX_IO.match(part):
                self.add(node, "networkx-io", f"networkx.{part} reads or writes files; build graphs in memory")

    # scopes: where a forbidden builtin's name is shadowed by the environment's own binding ---------
    def visit_Module(self, node: ast.Module) -> None:
        self.scopes.append(_bound_names(node.body))
        self.generic_visit(node)
        self.scopes.pop()

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        # decorators, defaults and annotations are evaluated in the enclosing scope
        outer = [*getattr(node, "decorator_list", []), *node.args.defaults,
                 *(d for d in node.args.kw_defaults if d is not None), getattr(node, "returns", None),
                 *(a.annotation for a in _arguments(node.args))]
        for child in outer:
            if child is not None:
                self.visit(child)
        body = node.body if isinstance(node.body, list) else [node.body]
        saved = self.class_scope
        self.class_scope = None  # a class body's names are not visible inside its methods
        self.scopes.append({a.arg for a in _arguments(node.args)} | _bound_names(body))
        for child in body:
            self.visit(child)
        self.scopes.pop()
        self.class_scope = saved

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _visit_function

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for child in [*node.decorator_list, *node.bases, *node.keywords]:
            self.visit(child)
        saved = self.class_scope
        self.class_scope = _bound_names(node.body)
        for child in node.body:
            self.visit(child)
        self.class_scope = saved

    def _visit_comprehension(self, node: ast.AST) -> None:
        self.scopes.append({n for gen in node.generators for n in _store_names(gen.target)})
        self.generic_visit(node)
        self.scopes.pop()

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _visit_comprehension

    def _bound(self, name: str) -> bool:
        return any(name in scope for scope in self.scopes) or bool(self.class_scope and name in self.class_scope)

    # names and attributes -------------------------------------------------------
    def visit_Name(self, node: ast.Name) -> None:
        # protocol.FORBIDDEN_BUILTINS: a plain name there may be shadowed by the environment's own binding
        # (a parameter, a variable, a def); loading it is allowed only where it is bound, a dunder never
        if node.id in protocol.FORBIDDEN_BUILTINS:
            shadowed = not _is_dunder(node.id) and (not isinstance(node.ctx, ast.Load) or self._bound(node.id))
            if not shadowed:
                self.add(node, "forbidden-name", f"'{node.id}' is not allowed in an environment")
        elif _is_dunder(node.id) and node.id not in ("__name__", "__class__"):
            self.add(node, "dunder", f"the name '{node.id}' is not allowed")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        attr = node.attr
        root = _root_name(node.value)
        if attr in FORBIDDEN_ATTRS:
            self.add(node, "forbidden-attribute", f"attribute '.{attr}' reaches interpreter internals")
        elif _is_dunder(attr):
            on_self = isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name) \
                and node.value.func.id == "super" or isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
            if attr not in HARMLESS_DUNDERS and not (on_self and attr in METHOD_DUNDERS):
                self.add(node, "dunder", f"access to the dunder attribute '.{attr}' is not allowed "
                                         "(define dunder methods in classes; call them only via super(), self or cls)")
        elif attr.startswith("_") and root in self.modules:
            self.add(node, "private", f"'.{attr}' is a private attribute of the module '{root}'")
        if root in self.networkx and NETWORKX_IO.match(attr):
            self.add(node, "networkx-io", f"networkx.{attr} reads or writes files; build graphs in memory")
        if isinstance(node.ctx, (ast.Store, ast.Del)) and root in self.modules:
            self.add(node, "monkeypatch", f"assigning to '{root}.{attr}' changes an imported module")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in ATTR_BUILTINS:
            name = node.args[1] if len(node.args) > 1 else None
            if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
                self.add(node, "dynamic-attribute", f"{func.id}() needs a literal attribute name")
            elif name.value.startswith("_"):
                self.add(node, "dunder", f"{func.id}() of the private name '{name.value}' is not allowed")
            target = node.args[0] if node.args else None
            if func.id in ("setattr", "delattr") and target is not None and _root_name(target) in self.modules:
                self.add(node, "monkeypatch", f"{func.id}() on the module '{_root_name(target)}'")
        if isinstance(func, ast.Attribute) and func.attr == "format" and isinstance(func.value, ast.Constant) \
                and isinstance(func.value.value, str):
            self._format_fields(node, func.value.value)
        self.generic_visit(node)

    def _format_fields(self, node: ast.AST, text: str) -> None:
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(text) if f]
        except ValueError:
            return
        for field in fields:
            if "." in field or "[" in field:
                self.add(node, "format-walk", f"format field '{{{field}}}' reads attributes of its argument")

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and FORMAT_WALK.search(node.value):
            self.add(node, "format-walk", "a format string that walks into private attributes ('{x.__...}')")


def _depth_and_size(tree: ast.AST) -> tuple[int, int]:
    deepest, count, stack = 0, 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        deepest = max(deepest, depth)
        if deepest > MAX_AST_DEPTH or count > MAX_AST_NODES:
            break
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest, count


def analyse(code: str) -> tuple[Violation, ...]:
    """All violations in the source, uncached."""
    if not isinstance(code, str):
        return (Violation(0, "type", f"source must be str, got {type(code).__name__}"),)
    size = len(code.encode("utf-8", "surrogatepass"))
    if size > MAX_SOURCE_BYTES:
        return (Violation(0, "size", f"source is {size} bytes; the cap is {MAX_SOURCE_BYTES}"),)
    try:
        tree = ast.parse(code, "<environment>")
    except SyntaxError as exc:
        return (Violation(exc.lineno or 0, "syntax", f"SyntaxError: {exc.msg}"),)
    except (RecursionError, MemoryError, ValueError) as exc:
        return (Violation(0, "syntax", f"source cannot be parsed: {type(exc).__name__}"),)
    depth, nodes = _depth_and_size(tree)
    if depth > MAX_AST_DEPTH:
        return (Violation(0, "depth", f"syntax tree nested deeper than {MAX_AST_DEPTH} levels"),)
    if nodes > MAX_AST_NODES:
        return (Violation(0, "size", f"syntax tree has more than {MAX_AST_NODES} nodes"),)
    checker = _Checker()
    checker.visit(tree)
    unique = list(dict.fromkeys(checker.violations))
    return tuple(sorted(unique, key=lambda v: (v.line, v.rule)))


class _Cache:
    """A small thread-safe LRU keyed by a hash of the source."""

    def __init__(self, size: int = 4096):
        self.size = size
        self.items: OrderedDict[bytes, tuple[Violation, ...]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, code: str) -> tuple[Violation, ...]:
        if not isinstance(code, str):
            return analyse(code)
        key = hashlib.blake2b(code.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        verdict = analyse(code)
        with self.lock:
            self.items[key] = verdict
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return verdict


_cache = _Cache()


def check(code: str) -> tuple[Violation, ...]:
    """Violations of the static policy (cached by source hash); empty means allowed."""
    return _cache.get(code)


def explain(violations: tuple[Violation, ...], limit: int = 12) -> str:
    """One readable paragraph for a generator: what to change, with line numbers."""
    lines = [str(v) for v in violations[:limit]]
    if len(violations) > limit:
        lines.append(f"... and {len(violations) - limit} more")
    return "static policy: " + "; ".join(lines)


_BUILTINS: tuple[str, ...] | None = None


def restricted_builtin_names() -> tuple[str, ...]:
    """The builtins the child gives environment code: RestrictedPython's safe, limited and
    utility builtins, plus what ordinary class-based code needs; never eval/exec/open/..."""
    global _BUILTINS
    if _BUILTINS is None:
        import builtins

        from RestrictedPython import limited_builtins, safe_builtins, utility_builtins

        names = set(safe_builtins) | set(limited_builtins) | set(utility_builtins)
        names |= {
            "__build_class__", "__name__", "object", "super", "type", "property", "staticmethod", "classmethod",
            "list", "dict", "set", "frozenset", "tuple", "sum", "min", "max", "sorted", "reversed", "enumerate",
            "zip", "map", "filter", "any", "all", "iter", "next", "print", "format", "bytes", "bytearray",
            "getattr", "hasattr", "setattr", "delattr", "isinstance", "issubclass", "NotImplemented",
            "StopAsyncIteration", "RecursionError", "TimeoutError", "ascii", "bin", "__import__",
        }
        names = {n for n in names if hasattr(builtins, n)} - (protocol.FORBIDDEN_BUILTINS - {"__import__"})
        _BUILTINS = tuple(sorted(names))
    return _BUILTINS


def gate(code: str) -> JobResult | None:
    """The ``policy`` outcome for source the static policy refuses, else None (go ahead)."""
    violations = check(code)
    if not violations:
        return None
    if len(violations) == 1 and violations[0].message.startswith("SyntaxError"):
        return None  # nothing can run: the sandbox reports it as an ordinary load error
    text = explain(violations)
    return JobResult(POLICY, detail=text, error={
        "type": "PolicyViolation",
        "message": text,
        "violations": [{"line": v.line, "rule": v.rule, "message": v.message} for v in violations],
    })
