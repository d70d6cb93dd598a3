"""No import cycles in evoenv: a cycle means code sits in the wrong module (issue 17).

The graph is read from the source (no module is imported), so a cycle is found whatever order the
modules happen to load in. Module-level imports count, those under ``if TYPE_CHECKING:`` included (a
type-only cycle is the same misplacement); imports inside functions are deferred for cost, and count
only inside the packages listed in ``NO_DEFERRED_CYCLES``.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NO_DEFERRED_CYCLES = ("evoenv.admission", "evoenv.configfile", "evoenv.defaults", "evoenv.cli")


def _modules() -> dict[str, Path]:
    modules = {}
    for path in (REPO / "evoenv").rglob("*.py"):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _imports(path: Path, name: str, modules: dict[str, Path], deferred: bool) -> set[str]:
    """The evoenv modules ``name`` imports: ``from pkg import sub`` is an edge to ``pkg.sub`` only."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if deferred:
                    visit(node.body)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                submodules = {f"{base}.{alias.name}" for alias in node.names} & set(modules)
                found.update(submodules or {base})
            else:
                for body in ("body", "orelse", "finalbody", "handlers"):
                    visit(getattr(node, body, None) or [])

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return {m for m in found if m in modules and m != name}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        cycles.append(sorted(component))
    return cycles


def _graph(deferred: bool, within: tuple[str, ...] = ("evoenv",)) -> dict[str, set[str]]:
    modules = _modules()
    inside = {m for m in modules if any(m == p or m.startswith(p + ".") for p in within)}
    return {m: _imports(modules[m], m, modules, deferred) & inside for m in inside}


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_level_import_cycles():
    assert _cycles(_graph(deferred=False)) == []


def test_no_import_cycles_even_through_deferred_imports():
    assert _cycles(_graph(deferred=True, within=NO_DEFERRED_CYCLES)) == []
