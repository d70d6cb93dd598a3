"""Size measures of a JSON instance, for "does difficulty make instances bigger?".

Difficulty knobs come in many shapes: more items (list lengths), more
structure (depth, number of values), bigger numbers (value range), longer
strings, or a named parameter (``n``, ``k``, ``density``). ``measures``
returns all of them as one flat dict, so L4 can ask whether ANY of them grows.
Named fields are keyed by their path through dicts, with ``[]`` standing for
"any list element" (so ``instance['edges'][]`` is the edge count of a graph
stored as a list of lists, summed across lists of the same path).

A fixed-size instance can still get harder in its content: a grid with more
blanks (density), fewer givens. ``content_measures`` counts that: how often
each punctuation-like character occurs in the strings (``count('.')``), and
how often each small, marker-like value occurs in lists (``count(... == 0)``).
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict

MAX_NODES = 200_000  # stop walking enormous instances; what was seen is enough to compare


def measures(instance: object, prompt: str = "") -> dict[str, float]:
    out: dict[str, float] = {
        "values": 0.0,  # number of scalar leaves
        "items": 0.0,  # elements of all lists plus entries of all dicts
        "longest_list": 0.0,
        "depth": 0.0,
        "text_chars": 0.0,  # characters in all strings
        "magnitude": 0.0,  # largest number of digits of any number
        "sum_digits": 0.0,  # digits across all numbers (range x count)
    }
    fields: dict[str, float] = defaultdict(float)
    stack = [(instance, "instance", 1)]
    seen = 0
    while stack and seen < MAX_NODES:
        value, path, depth = stack.pop()
        seen += 1
        out["depth"] = max(out["depth"], depth)
        if isinstance(value, dict):
            out["items"] += len(value)
            for key, item in value.items():
                stack.append((item, f"{path}[{key!r}]", depth + 1))
        elif isinstance(value, list):
            out["items"] += len(value)
            out["longest_list"] = max(out["longest_list"], len(value))
            fields[f"len({path})"] += len(value)
            for item in value:
                stack.append((item, f"{path}[]", depth + 1))
        else:
            out["values"] += 1
            if isinstance(value, bool) or value is None:
                continue
            if isinstance(value, (int, float)):
                digits = len(str(int(abs(value)))) if math.isfinite(value) else 0
                out["magnitude"] = max(out["magnitude"], digits)
                out["sum_digits"] += digits
                if "[]" not in path:
                    fields[path] += abs(float(value))
            elif isinstance(value, str):
                out["text_chars"] += len(value)
                if "[]" not in path:
                    fields[f"len({path})"] += len(value)
    out["json_chars"] = float(len(json.dumps(instance, separators=(",", ":"), default=str)))
    if prompt:
        out["prompt_chars"] = float(len(prompt))
    out.update(fields)
    return out


def _marker(value: object) -> bool:
    """A value that typically marks a cell's state: None, a bool, a digit-sized int, one character."""
    return value is None or isinstance(value, bool) or (type(value) is int and -1 <= value <= 9) or \
        (isinstance(value, str) and len(value) <= 1)


CONTENT_PREFIX = "count("


def content_measures(instance: object) -> dict[str, float]:
    """Counts of marker characters in strings and of marker values in lists, keyed ``count(...)``."""
    chars: Counter[str] = Counter()
    values: dict[str, float] = defaultdict(float)
    stack = [(instance, "instance")]
    seen = 0
    while stack and seen < MAX_NODES:
        value, path = stack.pop()
        seen += 1
        if isinstance(value, dict):
            stack.extend((item, f"{path}[{key!r}]") for key, item in value.items())
        elif isinstance(value, list):
            for item in value:
                if _marker(item):
                    values[f"count({path}[] == {json.dumps(item)})"] += 1
                else:
                    stack.append((item, f"{path}[]"))
        elif isinstance(value, str):
            chars.update(value)
    out = {f"count({ch!r} in text)": float(n) for ch, n in chars.items()
           if not ch.isalnum() and not ch.isspace()}
    out.update(values)
    return out


def growth_auc(low: list[float], high: list[float]) -> float:
    """P(a high-difficulty size exceeds a low-difficulty size), ties counting 1/2 (Mann-Whitney AUC)."""
    if not low or not high:
        return 0.5
    wins = sum(1.0 if h > lo else 0.5 if h == lo else 0.0 for h in high for lo in low)
    return wins / (len(low) * len(high))


def median(values: list[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return 0.0
    return ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2
