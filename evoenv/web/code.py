"""Source code as HTML: syntax highlighting (Pygments when installed) and unified diffs."""

from __future__ import annotations

import difflib
from functools import lru_cache
from html import escape

from markupsafe import Markup

try:  # optional: without Pygments the code is shown plain, with line numbers
    from pygments import highlight as _highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer
except ImportError:  # pragma: no cover - exercised only where pygments is absent
    _highlight = None


@lru_cache(maxsize=256)
def highlight_python(code: str) -> Markup:
    if _highlight is not None:
        formatter = HtmlFormatter(linenos="table", cssclass="code", lineanchors="L", anchorlinenos=True)
        return Markup(_highlight(code, PythonLexer(), formatter))
    lines = "".join(f'<span class="ln">{i}</span>{escape(line)}\n' for i, line in enumerate(code.split("\n"), 1))
    return Markup(f'<div class="code plain"><pre>{lines}</pre></div>')


def unified_diff(old: str, new: str, old_name: str, new_name: str, context: int = 3) -> dict:
    """A unified diff as lines tagged add/del/hunk/ctx, plus the counts."""
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), old_name, new_name,
                                      n=context, lineterm=""))
    tagged, added, removed = [], 0, 0
    for line in lines:
        if line.startswith(("---", "+++")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind, added = "add", added + 1
        elif line.startswith("-"):
            kind, removed = "del", removed + 1
        else:
            kind = "ctx"
        tagged.append({"kind": kind, "text": line})
    return {"lines": tagged, "added": added, "removed": removed, "text": "\n".join(lines)}


@lru_cache(maxsize=1)
def highlight_css() -> str:
    """Pygments' token colours, scoped to ``.code`` (its global ``pre``/``td`` rules are dropped)."""
    if _highlight is None:
        return ""
    rules = HtmlFormatter(style="friendly").get_style_defs(".code").splitlines()
    return "\n".join(r for r in rules if r.startswith(".code ") and not r.startswith(".code {"))
