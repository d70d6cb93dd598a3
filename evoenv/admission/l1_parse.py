"""L1 parse: valid Python, within the static policy, exactly one contract class.

Everything here reads the source as an AST; nothing runs. The class search is the
host's one search, ``evoenv.environment_class.find_environment_class`` (it mirrors the
guest's); this stage adds the size limit, the static policy and the arities.
"""

from __future__ import annotations

import ast

from evoenv.admission.candidate import AdmissionContext, Candidate, failed, passed, timed
from evoenv.environment_class import CONTRACT_ATTRIBUTES, CONTRACT_METHODS, contract_classes, find_environment_class
from evoenv.sandbox import policy as sandbox_policy

CONTRACT_CALLS = {
    "sample": "sample(seed, difficulty)", "prompt": "prompt(instance)",
    "reference": "reference(instance)", "score": "score(instance, answer)",
}


def static_policy(code: str) -> list[str]:
    """Violations of the sandbox's static policy (``evoenv.sandbox.policy``), as readable lines."""
    return [str(v) for v in sandbox_policy.check(code)]


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

    search = find_environment_class(tree)
    if search.found is None:
        return failed(search.reason, **search.details)
    found = search.found
    name, methods, static, attributes, sdk = found.name, found.methods, found.static, found.attributes, found.sdk_base
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
    helpers = [other.name for other in contract_classes(tree) if other.name != name]
    return passed(f"class {name} has the contract", class_name=name, helper_classes=helpers, sdk_base=sdk)
