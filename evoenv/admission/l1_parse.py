"""L1 parse: valid Python, within the static policy, exactly one contract class.

Everything here reads the source as an AST; nothing runs. The class search
mirrors the guest's (``evoenv_guest.runner.find_environment_class``): members
are looked up on the class (its body, module-level base classes, and the SDK
``Environment`` base), so an attribute set only in ``__init__`` is reported
here, with a fix, instead of as a puzzling runtime error.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from evoenv.admission.candidate import AdmissionContext, Candidate, failed, passed, timed
from evoenv.sandbox import policy as sandbox_policy
from evoenv.sandbox.base import protocol

CONTRACT_METHODS: dict[str, int] = dict(protocol.CONTRACT_METHODS)
CONTRACT_ATTRIBUTES: tuple[str, ...] = tuple(protocol.CONTRACT_ATTRIBUTES)
CONTRACT_CALLS = {
    "sample": "sample(seed, difficulty)", "prompt": "prompt(instance)",
    "reference": "reference(instance)", "score": "score(instance, answer)",
}
#: What ``evoenv.sdk.Environment`` provides to a subclass (its methods raise NotImplementedError,
#: which L2 reports if a subclass forgets to override one).
SDK_MEMBERS = set(CONTRACT_METHODS) | set(CONTRACT_ATTRIBUTES) | {"rng", "parse_int", "parse_int_list"}


def static_policy(code: str) -> list[str]:
    """Violations of the sandbox's static policy (``evoenv.sandbox.policy``), as readable lines."""
    return [str(v) for v in sandbox_policy.check(code)]


@dataclass
class ClassMembers:
    node: ast.ClassDef
    methods: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    static: set[str] = field(default_factory=set)  # staticmethods (no self)
    attributes: dict[str, ast.AST] = field(default_factory=dict)  # name -> value node (or the def)
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


def collect_members(cls: ast.ClassDef, sdk_names: set[str] = frozenset({"Environment"})) -> ClassMembers:
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


def _resolve(name: str, classes: dict[str, ClassMembers], seen: set[str] | None = None) -> tuple[dict, set, dict, bool]:
    """Methods, staticmethod names and attributes of a class including its module-level bases."""
    seen = seen or set()
    if name in seen or name not in classes:
        return {}, set(), {}, False
    seen.add(name)
    own = classes[name]
    methods, static, attributes, sdk = {}, set(), {}, own.sdk_base
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


def _arity_problem(method: str, fn: ast.FunctionDef | ast.AsyncFunctionDef, is_static: bool) -> str | None:
    """Why ``fn`` cannot be called as the contract calls it (positionally), or None."""
    want = CONTRACT_METHODS[method]
    args = fn.args
    positional = [a.arg for a in args.posonlyargs + args.args]
    if not is_static:
        if not positional:
            if args.vararg:
                return None
            return f"{method}() takes no 'self' parameter; add self or mark it @staticmethod"
        if positional[0] not in ("self", "cls") and len(positional) == want:
            # e.g. def sample(seed, difficulty): the contract's parameters with no room for the object
            return (f"{method}({', '.join(positional)}) lacks self: Python passes the environment object as the "
                    f"first parameter, so {positional[0]!r} would receive it instead of the contract's argument; "
                    "add self as the first parameter or mark the method @staticmethod")
    receiver = [] if is_static else positional[:1]
    positional = positional[len(receiver):]
    required = len(positional) - len(args.defaults)
    required_kwonly = [a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is None]
    shown = f"{method}({', '.join(receiver + positional)})"
    if required_kwonly:
        return (f"{shown} has required keyword-only parameter(s) {', '.join(required_kwonly)}; "
                f"the contract calls {CONTRACT_CALLS[method]}")
    if required > want:
        return f"{shown} requires {required} arguments after self; the contract calls {CONTRACT_CALLS[method]} with {want}"
    if len(positional) < want and args.vararg is None:
        return f"{shown} accepts {len(positional)} argument(s) after self; the contract calls {CONTRACT_CALLS[method]} with {want}"
    return None


def _literal_int(node: ast.AST | None) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return None


@timed("L1")
def check_parse(candidate: Candidate, ctx: AdmissionContext):
    """Valid Python, within the static policy, exactly one class with the contract's members."""
    code = candidate.code
    size = len(code.encode("utf-8", "replace"))
    if size > ctx.config.max_source_bytes:
        return failed(f"source is {size} bytes, over the {ctx.config.max_source_bytes}-byte limit")
    if not code.strip():
        return failed("source is empty")
    try:
        tree = ast.parse(code, filename="<environment>")
    except SyntaxError as exc:
        return failed(f"not valid Python: line {exc.lineno}, column {exc.offset}: {exc.msg}",
                      line=exc.lineno, text=(exc.text or "").rstrip())
    except (ValueError, RecursionError, MemoryError) as exc:
        return failed(f"not valid Python: {type(exc).__name__}: {exc}")

    violations = static_policy(code)
    if violations:
        shown = "; ".join(violations[:3]) + (f"; and {len(violations) - 3} more" if len(violations) > 3 else "")
        return failed(f"static policy: {shown}", violations=violations)

    sdk_names = sdk_aliases(tree)
    classes = {node.name: collect_members(node, sdk_names) for node in tree.body if isinstance(node, ast.ClassDef)}
    if not classes:
        return failed("no class defined: an environment is one class with "
                      f"{', '.join(CONTRACT_ATTRIBUTES)} and {', '.join(CONTRACT_METHODS)}")
    complete, partial = [], []
    for name in classes:
        methods, static, attributes, sdk = _resolve(name, classes)
        have = set(methods) | set(attributes) | (SDK_MEMBERS if sdk else set())
        missing = [m for m in (*CONTRACT_ATTRIBUTES, *CONTRACT_METHODS) if m not in have]
        (partial if missing else complete).append((name, methods, static, attributes, sdk, missing))

    if not complete:
        name, _, _, _, _, missing = min(partial, key=lambda item: len(item[5]))
        members = classes[name]
        init_only = [m for m in missing if m in members.init_only]
        if init_only:
            return failed(
                f"class {name} sets {', '.join(init_only)} only on the instance (in a method or as a dataclass "
                f"field without a default); the platform looks for them on the class: give each a class-level value",
                class_name=name, missing=missing)
        return failed(f"class {name} (line {members.node.lineno}) lacks {', '.join(missing)}; the contract needs "
                      f"{', '.join(CONTRACT_ATTRIBUTES)} and {', '.join(CONTRACT_METHODS)}",
                      class_name=name, missing=missing)
    if len(complete) > 1:
        names = ", ".join(item[0] for item in complete)
        return failed(f"{len(complete)} classes have the contract's members ({names}); define exactly one "
                      "(put shared code in a helper class or function that does not have all of them)",
                      classes=[item[0] for item in complete])

    name, methods, static, attributes, sdk, _ = complete[0]
    problems = []
    for method in CONTRACT_METHODS:
        fn = methods.get(method)
        if fn is None:
            if method in attributes and not sdk:
                continue  # e.g. score = staticmethod(some_function); L2 runs it
            continue  # inherited from the SDK base
        problem = _arity_problem(method, fn, method in static)
        if problem:
            problems.append(f"line {fn.lineno}: {problem}")
    for attr in CONTRACT_ATTRIBUTES:
        if attr in methods:
            problems.append(f"line {methods[attr].lineno}: {attr} is a method; it must be a value "
                            "(a class attribute or a @property)")
    level = _literal_int(attributes.get("max_difficulty"))
    if level is not None and not 1 <= level <= ctx.config.max_levels:
        problems.append(f"max_difficulty is {level}; it must be between 1 and {ctx.config.max_levels}")
    if problems:
        return failed(f"class {name}: " + "; ".join(problems), class_name=name, problems=problems)
    helpers = [other for other in classes if other != name]
    return passed(f"class {name} has the contract", class_name=name, helper_classes=helpers, sdk_base=sdk)
