"""The optional SDK base class for environments, stdlib only.

Environment code may write ``from evoenv.sdk import Environment, parse_int``;
inside the sandbox ``install()`` makes that import resolve to this module, and
on the host ``evoenv.sdk`` re-exports it. A plain class with the contract's
members works just as well.
"""

from __future__ import annotations

import random
import re
import sys
import types

# Canonical decimal only: ASCII digits, no "+", no leading zeros, no "-0". One spelling per
# integer means "-0", "007", "1e3", "1_000" and "٣" are wrong answers, not alternative ones.
_INT = re.compile(r"0|-?[1-9][0-9]*")
_MAX_CHARS = 4000  # CPython refuses int() of longer digit strings anyway


def parse_int(answer: str) -> int | None:
    """The answer as one integer in canonical decimal (surrounding whitespace allowed), else None."""
    if not isinstance(answer, str) or len(answer) > _MAX_CHARS + 100:
        return None
    text = answer.strip()
    if len(text) > _MAX_CHARS or not _INT.fullmatch(text):
        return None
    return int(text)


def parse_int_list(answer: str) -> list[int] | None:
    """``"1, 2, 3"``, ``"1 2 3"`` or ``"[1,2,3]"`` as a list of ints, else None.

    ``"[]"`` is the empty list; ``""`` (no answer at all) is None.
    """
    if not isinstance(answer, str) or len(answer) > 100_000:
        return None
    text = answer.strip()
    if not text:
        return None
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    values = [parse_int(part) for part in re.split(r"[\s,]+", text) if part]
    return None if any(v is None for v in values) else values


class Environment:
    """Optional base class. Subclasses set ``name``, ``description``, ``max_difficulty``
    and implement ``sample``, ``prompt``, ``reference`` and ``score``."""

    name: str = ""
    description: str = ""
    max_difficulty: int = 10

    @staticmethod
    def rng(seed: int, difficulty: int) -> random.Random:
        """The one sanctioned source of randomness for an instance."""
        return random.Random(f"{int(seed)}:{int(difficulty)}")

    parse_int = staticmethod(parse_int)
    parse_int_list = staticmethod(parse_int_list)

    def sample(self, seed: int, difficulty: int) -> dict:
        raise NotImplementedError

    def prompt(self, instance: dict) -> str:
        raise NotImplementedError

    def reference(self, instance: dict) -> str:
        raise NotImplementedError

    def score(self, instance: dict, answer: str) -> float:
        raise NotImplementedError


def install() -> None:
    """Make ``import evoenv.sdk`` resolve to this module inside the sandbox."""
    if "evoenv.sdk" in sys.modules:
        return
    package = sys.modules.get("evoenv") or types.ModuleType("evoenv")
    package.__path__ = []
    package.sdk = sys.modules[__name__]
    sys.modules.setdefault("evoenv", package)
    sys.modules["evoenv.sdk"] = sys.modules[__name__]
