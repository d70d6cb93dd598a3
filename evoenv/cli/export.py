"""``evoenv export``: rows for verl, TRL/HF datasets or plain JSONL."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import Progress

from evoenv.cli._common import console, fail, print_json
from evoenv.integrations.catalog import Catalog, UnknownEnvironment
from evoenv.integrations.export import FORMATS, build_rows, parse_difficulty, write_rows
from evoenv.sandbox import EnvCallError, SandboxError


def export(
    out: Path = typer.Argument(..., help="Output file (.jsonl / .parquet) or folder (hf)."),
    fmt: str = typer.Option("jsonl", "--format", "-f", help=f"One of: {', '.join(FORMATS)}."),
    envs: str = typer.Option("admitted", "--envs", help="'admitted', 'seeds', a name glob, or comma-separated ids/names."),
    per_env: int = typer.Option(16, "--per-env", min=1, max=1_000_000, help="Instances per environment."),
    difficulty: str = typer.Option("auto", "--difficulty", help="'auto' (calibrated band), a level D, or a range A-B."),
    seed: int = typer.Option(0, "--seed", help="First instance seed; rows use S, S+1, ..."),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Export environment instances as {question, answer, metadata} rows."""
    if fmt not in FORMATS:
        fail(f"unknown --format {fmt!r}; choose one of {', '.join(FORMATS)}")
    try:
        parse_difficulty(difficulty)
        catalog = Catalog()
        selected = catalog.select(envs)
    except (ValueError, UnknownEnvironment) as exc:
        fail(str(exc))
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("rendering", total=len(selected))
        try:
            rows = build_rows(envs=envs, per_env=per_env, difficulty=difficulty, seed=seed, catalog=catalog,
                              progress=lambda name: progress.advance(task))
        except (ValueError, SandboxError, EnvCallError) as exc:
            fail(str(exc))
    write_rows(rows, fmt, out)
    summary = {"rows": len(rows), "environments": len(selected), "format": fmt, "out": str(out)}
    if json_out:
        print_json(summary)
    else:
        console.print(f"wrote {len(rows)} rows from {len(selected)} environments to {out} ({fmt})")


def register(app: typer.Typer) -> None:
    app.command("export")(export)
