"""What to store a candidate under before (or without) the sandbox describing it.

A candidate that fails L1 or L2 was never described by its own ``describe``
call, yet the registry still needs a name, a description and a level count to
keep it with its reasons. They come from the class's literal attributes, by
parsing only: the code itself runs in the sandbox, never here.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from evoenv.environment_class import CONTRACT_ATTRIBUTES, find_environment_class

_LABELS = CONTRACT_ATTRIBUTES  # name, description, max_difficulty


def _parse(code: str) -> ast.Module | None:
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _labelled_class(tree: ast.Module, class_name: str | None = None) -> ast.ClassDef | None:
    """The named class, else the environment class, else the class closest to being one."""
    if class_name is not None:
        return next((c for c in tree.body if isinstance(c, ast.ClassDef) and c.name == class_name), None)
    closest = find_environment_class(tree).closest
    return closest.node if closest is not None else None


def literal_members(code: str, class_name: str | None = None) -> tuple[str | None, dict[str, Any]]:
    """The environment class's name and its ``name``/``description``/``max_difficulty``
    where they are literals."""
    tree = _parse(code)
    cls = _labelled_class(tree, class_name) if tree is not None else None
    if cls is None:
        return None, {}
    found: dict[str, Any] = {}
    for item in cls.body:
        if isinstance(item, ast.Assign):
            targets, value = item.targets, item.value
        elif isinstance(item, ast.AnnAssign) and item.value is not None:
            targets, value = [item.target], item.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id in _LABELS:
                try:
                    found[target.id] = ast.literal_eval(value)
                except (ValueError, TypeError, SyntaxError, RecursionError):
                    pass
    return cls.name, found


def snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def labels(code: str, class_name: str | None = None) -> tuple[str, str, int]:
    """``(name, description, max_difficulty)`` from literals, else defaults (level count 1)."""
    found_class, members = literal_members(code, class_name)
    name = members.get("name")
    if not (isinstance(name, str) and name.strip()):
        name = snake_case(class_name or found_class or "environment")
    level = members.get("max_difficulty")
    level = level if isinstance(level, int) and not isinstance(level, bool) and level >= 1 else 1
    description = members.get("description")
    description = description if isinstance(description, str) else ""
    return name.strip()[:200], description, level
