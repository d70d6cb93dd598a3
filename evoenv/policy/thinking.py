"""Reasoning models write ``<think>...</think>`` before their answer.

The platform parses only the visible part (code, JSON verdicts, ``<answer>``
tags); the raw text, thinking included, is kept for the record. A think block
that never closes (the output was cut off) hides everything after it, and a
lone ``</think>`` (chat templates that open the block in the prompt) hides
everything before it.
"""

from __future__ import annotations

import re

_OPEN = re.compile(r"<\s*think(?:ing)?\s*>", re.IGNORECASE)
_CLOSE = re.compile(r"<\s*/\s*think(?:ing)?\s*>", re.IGNORECASE)


def split_thinking(text: str) -> tuple[str, str]:
    """``(thinking, visible)``: the text inside think blocks, and the rest."""
    if not isinstance(text, str):
        return "", ""
    if "think" not in text.lower():
        return "", text
    thinking: list[str] = []
    visible: list[str] = []
    pos = 0
    first_close = _CLOSE.search(text)
    first_open = _OPEN.search(text)
    if first_close and (first_open is None or first_close.start() < first_open.start()):
        # The block was opened by the chat template, so the text starts inside it.
        thinking.append(text[: first_close.start()])
        pos = first_close.end()
    while True:
        opened = _OPEN.search(text, pos)
        if opened is None:
            visible.append(text[pos:])
            break
        visible.append(text[pos : opened.start()])
        closed = _CLOSE.search(text, opened.end())
        if closed is None:  # cut off while thinking
            thinking.append(text[opened.end() :])
            break
        thinking.append(text[opened.end() : closed.start()])
        pos = closed.end()
    return "\n".join(t.strip() for t in thinking if t.strip()), "".join(visible).strip()


def strip_thinking(text: str) -> str:
    """The visible part of a completion: what the platform parses."""
    return split_thinking(text)[1]
