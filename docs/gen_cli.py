"""Regenerate docs/cli.md from the commands' own --help: python3 docs/gen_cli.py"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import typer.main

from evoenv.cli import app

REPO = Path(__file__).resolve().parent.parent


def walk(command, path: list[str]):
    yield path
    if hasattr(command, "commands"):
        for name in sorted(command.commands):
            yield from walk(command.commands[name], [*path, name])


def help_text(path: list[str]) -> str:
    env = {**os.environ, "COLUMNS": "100", "TERM": "dumb", "NO_COLOR": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "evoenv", *path, "--help"], capture_output=True, text=True,
                          env=env, check=True)
    return "\n".join(line.rstrip() for line in done.stdout.strip("\n").splitlines())


def main() -> None:
    lines = ["# CLI reference", "", "Every command has `--help`; this page is generated from it by",
             "`python3 docs/gen_cli.py`.", ""]
    for path in walk(typer.main.get_command(app), []):
        lines += [f"## `{' '.join(['evoenv', *path])}`", "", "```text", help_text(path), "```", ""]
    (REPO / "docs" / "cli.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
