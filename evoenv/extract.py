"""Pull an environment's source code out of a generator completion.

Models wrap code in chatter, write several blocks (a helper, a test, the
environment), forget the fences, get cut off, think out loud in
``<think>...</think>``, and now and then emit megabytes of junk. This module
turns any of that into either the code of ONE environment or a reason a human
and the policy can act on. It never raises on any input.

Parsing here is ``ast.parse`` only, which reads the text and runs nothing:
the code itself runs only in the sandbox.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from evoenv.environment_class import find_environment_class
from evoenv.policy.thinking import split_thinking
from evoenv.sources import MAX_SOURCE_BYTES

#: Completions larger than this are refused before any parsing (a runaway generation).
MAX_COMPLETION_BYTES = 2_000_000
#: Fence info strings that may hold Python (``` alone counts too).
PYTHON_TAGS = {"", "python", "py", "python3", "py3", "pycon"}

_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})[ \t]*([\w+.-]*)[^\n`]*$", re.MULTILINE)
_CODE_START = re.compile(r"^(?:from\s+\w|import\s+\w|class\s+\w|@\w|\"\"\"|'''|#|def\s+\w)", re.MULTILINE)
_MAX_TRIMS = 60


@dataclass(frozen=True)
class Extraction:
    """``code`` when an environment was found, else None and ``reason`` says why.
    On success ``reason`` says where the code came from."""

    code: str | None
    reason: str
    class_name: str | None = None

    @property
    def ok(self) -> bool:
        return self.code is not None


@dataclass(frozen=True)
class _Block:
    code: str
    tag: str
    closed: bool
    index: int


def _fail(reason: str) -> Extraction:
    return Extraction(None, reason)


def extract_code(completion: str | bytes, *, finish_reason: str | None = None) -> Extraction:
    """The environment code in a completion, or a rejection reason. Never raises."""
    try:
        return _extract(completion, finish_reason)
    except (RecursionError, MemoryError) as exc:  # pathological nesting in the text
        return _fail(f"the completion could not be parsed ({type(exc).__name__})")


def _decode(completion: str | bytes) -> tuple[str | None, str]:
    if isinstance(completion, (bytes, bytearray, memoryview)):
        raw = bytes(completion)
        if len(raw) > MAX_COMPLETION_BYTES:
            return None, f"the completion is {len(raw):,} bytes, over the {MAX_COMPLETION_BYTES:,}-byte limit"
        text = raw.decode("utf-8", errors="replace")
        return text, ""
    if not isinstance(completion, str):
        return None, f"the completion is a {type(completion).__name__}, not text"
    if len(completion) > MAX_COMPLETION_BYTES:  # chars <= bytes, so this check is cheap and safe
        return None, f"the completion is {len(completion):,} characters, over the {MAX_COMPLETION_BYTES:,}-byte limit"
    if len(completion.encode("utf-8", errors="surrogatepass")) > MAX_COMPLETION_BYTES:
        return None, f"the completion is over the {MAX_COMPLETION_BYTES:,}-byte limit"
    # Lone surrogates (from bad decoding upstream) cannot be stored or parsed: replace them.
    return completion.encode("utf-8", errors="replace").decode("utf-8"), ""


def _extract(completion: str | bytes, finish_reason: str | None) -> Extraction:
    text, problem = _decode(completion)
    if text is None:
        return _fail(problem)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    thinking, visible = split_thinking(text)
    cut_off = finish_reason == "length"
    if not visible.strip():
        if thinking:
            return _fail("the completion is all <think> reasoning with no answer after it"
                         + (" (it was cut off at the token limit)" if cut_off else ""))
        return _fail("the completion is empty")

    blocks = _fenced_blocks(visible)
    if blocks:
        return _choose(blocks, cut_off)
    return _unfenced(visible, cut_off)


def _fenced_blocks(text: str) -> list[_Block]:
    blocks: list[_Block] = []
    pos = 0
    while True:
        opener = _FENCE.search(text, pos)
        if opener is None:
            return blocks
        fence, tag = opener.group(1), opener.group(2).lower()
        body_start = opener.end() + 1
        closer = re.compile(r"^[ \t]{0,3}" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*$", re.MULTILINE)
        close = closer.search(text, body_start)
        if close is None:
            blocks.append(_Block(text[body_start:], tag, False, len(blocks)))
            return blocks
        blocks.append(_Block(text[body_start : close.start()], tag, True, len(blocks)))
        pos = close.end()


def _parse(code: str) -> tuple[ast.Module | None, str]:
    try:
        return ast.parse(code), ""
    except SyntaxError as exc:
        return None, f"SyntaxError at line {exc.lineno}: {exc.msg}"
    except ValueError as exc:
        return None, f"not parseable: {exc}"


def _accept(code: str, where: str) -> Extraction | str:
    """An Extraction when ``code`` is an environment, else the reason it is not."""
    if len(code.encode("utf-8")) > MAX_SOURCE_BYTES:
        return f"{where} is {len(code.encode('utf-8')):,} bytes, over the {MAX_SOURCE_BYTES:,}-byte source limit"
    tree, error = _parse(code)
    if tree is None:
        return f"{where} does not parse: {error}"
    search = find_environment_class(tree)
    if search.found is None:
        return f"{where} has no environment class: {search.reason}"
    name = search.found.name
    return Extraction(code.strip("\n") + "\n", f"{where} (class {name})", name)


def _choose(blocks: list[_Block], cut_off: bool) -> Extraction:
    python = [b for b in blocks if b.tag in PYTHON_TAGS]
    if not python:
        tags = ", ".join(sorted({b.tag for b in blocks}))
        return _fail(f"no Python code block: the completion's {len(blocks)} fenced block(s) are tagged {tags}")
    reasons = []
    # Later blocks first: a model that revises itself puts the final version last.
    for block in reversed(python):
        where = f"code block {block.index + 1} of {len(blocks)}"
        result = _accept(block.code, where)
        if isinstance(result, Extraction):
            return result
        if not block.closed:
            limit = ", token limit reached" if cut_off else ""
            result = f"{where} is cut off (no closing fence{limit}) and{result[len(where):]}"
        reasons.append(result)
    if len(reasons) == 1:
        return _fail(reasons[0])
    return _fail(f"none of the {len(python)} Python blocks is an environment: " + "; ".join(reversed(reasons)))


def _unfenced(text: str, cut_off: bool) -> Extraction:
    """No fences: find where the code starts, and drop trailing chatter until it parses."""
    start = _CODE_START.search(text)
    if start is None:
        return _fail("no code found: the completion has no fenced block and no line that starts Python code")
    code = text[start.start() :]
    first = _accept(code, "the unfenced code")
    if isinstance(first, Extraction):
        return first
    lines = code.split("\n")
    trims = 0
    # Drop trailing lines one at a time (chatter after the code), a bounded number of times.
    while len(lines) > 1 and trims < _MAX_TRIMS:
        lines.pop()
        while lines and not lines[-1].strip():
            lines.pop()
        trims += 1
        result = _accept("\n".join(lines), "the unfenced code")
        if isinstance(result, Extraction):
            return result
    suffix = " (the completion was cut off at the token limit)" if cut_off else ""
    return _fail(first + suffix)
