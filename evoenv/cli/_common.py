"""Small helpers every command module shares: errors, JSON output, the console."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """One clear line on stderr and a non-zero exit."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


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
