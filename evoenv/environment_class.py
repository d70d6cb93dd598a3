"""The environment class of a source file, found by parsing only (the host side; nothing runs).

One search for every host-side caller: extraction (``evoenv.extract``: which code block is an
environment), L1 (``admission.l1_parse``: the contract's members and their arities) and the labels a
candidate is stored under before the sandbox describes it (``admission.labels``). It mirrors the
guest's runtime search (``evoenv_guest``): members are looked up on the class, its module-level
base classes and the SDK ``Environment`` base, so an attribute set only in ``__init__`` is reported
with a fix instead of as a puzzling runtime error.
"""

from __future__ import annotations

import ast
from collections.abc import Set
from dataclasses import dataclass, field
from typing import Any

from evoenv.sandbox.base import protocol

CONTRACT_METHODS: dict[str, int] = dict(protocol.CONTRACT_METHODS)
CONTRACT_ATTRIBUTES: tuple[str, ...] = tuple(protocol.CONTRACT_ATTRIBUTES)
#: What ``evoenv.sdk.Environment`` provides to a subclass (its methods raise NotImplementedError,
#: which L2 reports if a subclass forgets to override one).
SDK_MEMBERS = set(CONTRACT_METHODS) | set(CONTRACT_ATTRIBUTES) | {"rng", "parse_int", "parse_int_list"}
_CONTRACT = f"{', '.join(CONTRACT_ATTRIBUTES)} and {', '.join(CONTRACT_METHODS)}"


@dataclass
class ClassMembers:
    node: ast.ClassDef
    methods: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    static: set[str] = field(default_factory=set)  # staticmethods (no self)
    attributes: dict[str, ast.AST | None] = field(default_factory=dict)  # name -> value node (or the def)
    init_only: set[str] = field(default_factory=set)  # set on self in a method, not on the class
    sdk_base: bool = False
    local_bases: list[str] = field(default_factory=list)


def _decorator_names(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    names = set()
    for deco in fn.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        if isinstance(target, ast.Name):
            names.add(target.id)
        elif isinstance(target, ast.Attribute):
            names.add(target.attr)
    return names


def _target_names(target: ast.AST) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for elt in target.elts for n in _target_names(elt)]
    return []


def _is_dataclass_field_without_default(node: ast.AnnAssign) -> bool:
    return node.value is None


def sdk_aliases(tree: ast.Module) -> set[str]:
    """Names under which the module imported ``evoenv.sdk.Environment``."""
    names = {"Environment"}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "evoenv.sdk":
            names.update(a.asname or a.name for a in node.names if a.name == "Environment")
    return names


def collect_members(cls: ast.ClassDef, sdk_names: Set[str] = frozenset({"Environment"})) -> ClassMembers:
    members = ClassMembers(cls)
    for base in cls.bases:
        name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", None)
        if name in sdk_names:
            members.sdk_base = True
        elif name:
            members.local_bases.append(name)
    for stmt in cls.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            decorators = _decorator_names(stmt)
            if "property" in decorators or "cached_property" in decorators:
                members.attributes[stmt.name] = stmt
                continue
            members.methods[stmt.name] = stmt
            if "staticmethod" in decorators:
                members.static.add(stmt.name)
        elif isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                for name in _target_names(target):
                    members.attributes[name] = stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            if _is_dataclass_field_without_default(stmt):
                members.init_only.add(stmt.target.id)  # a dataclass field with no class-level default
            else:
                members.attributes[stmt.target.id] = stmt.value
    for fn in members.methods.values():
        for node in ast.walk(fn):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
            for target in targets:
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
                    members.init_only.add(target.attr)
    return members


def _resolve(name: str, classes: dict[str, ClassMembers],
             seen: set[str] | None = None) -> tuple[dict[str, ast.FunctionDef | ast.AsyncFunctionDef], set[str],
                                                     dict[str, ast.AST | None], bool]:
    """Methods, staticmethod names and attributes of a class including its module-level bases."""
    seen = seen or set()
    if name in seen or name not in classes:
        return {}, set(), {}, False
    seen.add(name)
    own = classes[name]
    methods: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    static: set[str] = set()
    attributes: dict[str, ast.AST | None] = {}
    sdk = own.sdk_base
    for base in reversed(own.local_bases):  # later bases are overridden by earlier ones
        m, s, a, b = _resolve(base, classes, seen)
        methods.update(m)
        static = (static - set(m)) | s
        attributes.update(a)
        sdk = sdk or b
    methods.update(own.methods)
    static = (static - set(own.methods)) | own.static
    attributes.update(own.attributes)
    return methods, static, attributes, sdk


@dataclass
class ContractClass:
    """A top-level class with its members resolved through its bases, and the contract members it lacks."""

    name: str
    own: ClassMembers
    methods: dict[str, ast.FunctionDef | ast.AsyncFunctionDef]
    static: set[str]
    attributes: dict[str, Any]
    sdk_base: bool
    missing: list[str]

    @property
    def node(self) -> ast.ClassDef:
        return self.own.node


@dataclass
class ClassSearch:
    """The environment class, or why there is none (``reason`` and ``details`` for the stage result)."""

    found: ContractClass | None
    #: the found class, else the class lacking the fewest contract members (what a broken candidate is
    #: labelled by); None when the module defines no class
    closest: ContractClass | None
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)


def contract_classes(tree: ast.Module) -> list[ContractClass]:
    """Every top-level class of ``tree`` (a later one of the same name replaces an earlier one)."""
    sdk_names = sdk_aliases(tree)
    classes = {node.name: collect_members(node, sdk_names) for node in tree.body if isinstance(node, ast.ClassDef)}
    found = []
    for name, own in classes.items():
        methods, static, attributes, sdk = _resolve(name, classes)
        have = set(methods) | set(attributes) | (SDK_MEMBERS if sdk else set())
        missing = [m for m in (*CONTRACT_ATTRIBUTES, *CONTRACT_METHODS) if m not in have]
        found.append(ContractClass(name, own, methods, static, attributes, sdk, missing))
    return found


def find_environment_class(tree: ast.Module) -> ClassSearch:
    """The one top-level class with every contract member, or why there is none: no class, none
    complete (naming the closest and what it lacks), or more than one complete."""
    classes = contract_classes(tree)
    if not classes:
        return ClassSearch(None, None, f"no class defined: an environment is one class with {_CONTRACT}")
    complete = [c for c in classes if not c.missing]
    if len(complete) == 1:
        return ClassSearch(complete[0], complete[0])
    if complete:
        names = [c.name for c in complete]
        return ClassSearch(None, complete[-1], f"{len(names)} classes have the contract's members "
                           f"({', '.join(names)}); define exactly one (put shared code in a helper class or "
                           "function that does not have all of them)", {"classes": names})
    closest = min(classes, key=lambda c: len(c.missing))
    details = {"class_name": closest.name, "missing": closest.missing}
    init_only = [m for m in closest.missing if m in closest.own.init_only]
    if init_only:
        return ClassSearch(None, closest, f"class {closest.name} sets {', '.join(init_only)} only on the instance "
                           "(in a method or as a dataclass field without a default); the platform looks for them "
                           "on the class: give each a class-level value", details)
    return ClassSearch(None, closest, f"class {closest.name} (line {closest.node.lineno}) lacks "
                       f"{', '.join(closest.missing)}; the contract needs {_CONTRACT}", details)
