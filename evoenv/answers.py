"""Pull the solver's answer out of a response.

The platform-wide convention: the answer is the content of the LAST
``<answer>...</answer>`` block, case-insensitive, whitespace-trimmed, ``""``
when there is none. The tag patterns have no nested quantifiers, so a 10 MB
response or a pile of unbalanced tags costs one linear pass.
"""

from __future__ import annotations

import re

#: The platform's answer-size cap: an answer longer than this many characters scores 0 without the
#: environment's scorer being called (``evoenv.sandbox`` applies it to every ``score`` call, so training,
#: export rescoring, the web app, the CLI and admission all share it). Below CPython's 4300-digit
#: ``int()`` limit, so a scorer may parse any digit string it is handed; a solver's whole response
#: (2048 tokens by default) is rarely longer.
MAX_ANSWER_CHARS = 4096

_OPEN = re.compile(r"<\s*answer\s*>", re.IGNORECASE)
_CLOSE = re.compile(r"<\s*/\s*answer\s*>", re.IGNORECASE)


def _last_block(response: str) -> tuple[int, int] | None:
    """Span of the content of the last complete block, or None."""
    last_close = None
    for last_close in _CLOSE.finditer(response):  # noqa: B007 (keeps the last match)
        pass
    if last_close is None:
        return None
    last_open = None
    for last_open in _OPEN.finditer(response, 0, last_close.start()):  # noqa: B007 (keeps the last match)
        pass
    if last_open is None:
        return None
    # The block ends at the first closing tag after its opening tag, so nested tags
    # ("<answer><answer>x</answer></answer>") give "x", never a stray "</answer>".
    first_close = _CLOSE.search(response, last_open.end())
    return last_open.end(), first_close.start()


def extract_answer(response: str) -> str:
    """Return the content of the last complete ``<answer>...</answer>`` block.

    Tags may vary in case and carry inner whitespace (``< Answer >``). With
    nested or unbalanced tags, the last opening tag that is closed wins, up to
    its first closing tag: ``<answer>a <answer>b</answer>`` gives ``"b"``,
    ``<answer><answer>c</answer></answer>`` gives ``"c"``, and an unclosed
    final ``<answer>`` is ignored. Non-strings give ``""``.
    """
    if not isinstance(response, str) or "answer" not in response.lower():
        return ""
    span = _last_block(response)
    return "" if span is None else response[span[0] : span[1]].strip()


def has_answer_block(response: str) -> bool:
    """True when the response holds at least one complete answer block."""
    return isinstance(response, str) and _last_block(response) is not None


def over_answer_cap(call: dict) -> bool:
    """A ``score`` call whose answer is longer than ``MAX_ANSWER_CHARS``: it scores 0 unseen."""
    answer = call.get("answer")
    return call.get("op") == "score" and isinstance(answer, str) and len(answer) > MAX_ANSWER_CHARS
