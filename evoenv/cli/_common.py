"""Small helpers every command module shares: the global options, errors, JSON output, the console,
and making text from environment code safe to print."""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

console = Console()
err_console = Console(stderr=True)


@dataclass
class GlobalOptions:
    """``evoenv --db URL --sandbox KIND``: set by the app's callback on every invocation and passed
    explicitly to what the commands open (``open_registry(global_options.db)``,
    ``open_sandbox(global_options.sandbox)``), never through the process environment. Unset (None),
    what is opened falls back to ``$EVOENV_DB`` / ``$EVOENV_SANDBOX``, then to its default."""

    db: str | None = None
    sandbox: str | None = None

    def sandbox_kind(self) -> str:
        """The sandbox backend a command uses when it names none: --sandbox, $EVOENV_SANDBOX, else process."""
        return self.sandbox or os.environ.get("EVOENV_SANDBOX") or "process"


#: this invocation's global options (the callback in ``evoenv.cli`` sets both fields each time)
global_options = GlobalOptions()

# What a terminal may act on, in text that environment code (or a model) wrote: C0 controls but
# newline and tab (ESC starts CSI/OSC sequences: clear the screen, OSC 52 writes the clipboard; CR
# and BS overwrite what was printed), DEL, C1 controls (U+009B is a one-character CSI), line and
# paragraph separators, bidirectional marks, overrides and isolates (text that reads otherwise than
# it is), and lone surrogates (not printable at all).
_UNSAFE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE_CHAR = re.compile(f"[{_UNSAFE}]")
_UNSAFE_IN_ONE_LINE = re.compile(f"[\t\n{_UNSAFE}]")


def _escaped(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(text: Any, one_line: bool = False) -> str:
    """``text`` with every control character shown as an escape (ESC as ``\\x1b``), so printing it
    cannot move the cursor, recolour, retitle, write the clipboard or fake other output. Newlines
    and tabs are kept (they format prompts) unless ``one_line``."""
    text = text if isinstance(text, str) else str(text)
    return (_UNSAFE_IN_ONE_LINE if one_line else _UNSAFE_CHAR).sub(_escaped, text)


def shown(text: Any, one_line: bool = False) -> str:
    """``safe_text`` with rich markup escaped as well: for untrusted text inside a rich markup string
    or a table cell ("[red]" in a description stays "[red]")."""
    return escape(safe_text(text, one_line))


def fail(message: str, code: int = 2) -> NoReturn:
    """One clear line on stderr and a non-zero exit. ``message`` is plain text (it often quotes
    environment code or its errors), never markup."""
    err_console.print(f"[bold red]error:[/] {shown(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def print_json(data: Any) -> None:
    """JSON on stdout. Characters ``safe_text`` escapes are written as JSON escapes (``\\u001b``),
    so the output means the same to a JSON reader and nothing to a terminal."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write(_UNSAFE_CHAR.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n")


def print_table(title: str, columns: list[tuple[str, str]], rows: list[list[str]], wrap: tuple[str, ...] = (),
                target: Console | None = None) -> None:
    """A table that stays readable at any width (80 columns when piped): full headers, every column.

    ``columns`` are (header, justify); cells may hold rich markup. Only the ``wrap`` columns may fold.
    When even the tightest layout does not fit, each row prints as a block of ``header: value`` lines.
    """
    from rich import box
    from rich.table import Table
    from rich.text import Text

    out = target or console
    width = out.width
    headers = [name for name, _ in columns]

    def natural(i: int) -> int:
        return max([len(headers[i])] + [Text.from_markup(row[i]).cell_len for row in rows])

    needed = [len(h) if h in wrap else natural(i) for i, h in enumerate(headers)]
    wrap_floor = [min(natural(i), max(len(h), 8)) if h in wrap else 0 for i, h in enumerate(headers)]
    floor = sum(max(n, w) for n, w in zip(needed, wrap_floor))
    for padding, gap in ((1, 3), (0, 1)):
        if floor + gap * (len(columns) - 1) <= width:
            table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                          padding=(0, padding))
            for (name, justify), low in zip(columns, needed):
                folds = name in wrap
                table.add_column(name, justify=justify, no_wrap=not folds, overflow="fold",
                                 min_width=max(low, len(name), wrap_floor[headers.index(name)]))
            for row in rows:
                table.add_row(*row)
            out.print(table)
            return
    out.print(f"[bold]{title}[/]", highlight=False)
    label = max(len(h) for h in headers)
    for row in rows:
        for header, cell in zip(headers, row):
            out.print(f"  {header:<{label}}  {cell}", highlight=False, soft_wrap=True)
        out.print()
