"""``evoenv export``: rows for verl, TRL/HF datasets or plain JSONL."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import Progress

from evoenv.cli._common import console, err_console, fail, global_options, print_json
from evoenv.integrations.catalog import Catalog, InactiveEnvironment, NotInCatalog
from evoenv.integrations.export import (
    FORMATS,
    PROMPT_STYLES,
    ExportError,
    check_target,
    iter_rows,
    plan_rows,
    write_rows,
)
from evoenv.sandbox import EnvCallError, SandboxError, open_sandbox
from evoenv.sdk import MAX_SEED


def export(
    out: Path = typer.Argument(..., help="Output file (.jsonl / .parquet) or folder (hf)."),
    fmt: str = typer.Option("jsonl", "--format", "-f", help=f"One of: {', '.join(FORMATS)}."),
    envs: str = typer.Option("admitted", "--envs", help="'admitted', 'seeds', a name glob, or comma-separated ids/names."),
    per_env: int = typer.Option(16, "--per-env", min=1, max=1_000_000, help="Instances per environment."),
    difficulty: str = typer.Option("auto", "--difficulty", help="'auto' (calibrated band), a level D, or a range A-B."),
    seed: int = typer.Option(0, "--seed", min=0, max=MAX_SEED, help="First instance seed; rows use S, S+1, ..."),
    strict: bool = typer.Option(False, "--strict", help="Fail on an instance too large for the sandbox's result "
                                                        "cap instead of skipping it."),
    prompt_style: str = typer.Option("chat", "--prompt", help="hf only: the 'prompt' column as chat messages "
                                                              "(chat) or plain text (text)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="hf only: replace an existing dataset folder."),
    allow_inactive: bool = typer.Option(False, "--allow-rejected-or-retired",
                                        help="Allow rejected or retired environments named in --envs."),
    json_out: bool = typer.Option(False, "--json", help="Print only a JSON summary on stdout."),
) -> None:
    """Export environment instances as {question, answer, metadata} rows."""
    if fmt not in FORMATS:
        fail(f"unknown --format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if prompt_style not in PROMPT_STYLES:
        fail(f"unknown --prompt {prompt_style!r}; choose one of {', '.join(PROMPT_STYLES)}")
    try:
        check_target(fmt, out, overwrite)
    except ValueError as exc:
        fail(str(exc))
    if fmt == "hf":
        _quiet_datasets()
    skipped: list[str] = []

    def skip(line: str) -> None:
        skipped.append(line)
        err_console.print(f"[yellow]warning:[/] {escape(line)}", highlight=False, soft_wrap=True)

    with open_sandbox(global_options.sandbox) as sandbox:
        try:
            plans = plan_rows(envs, per_env, difficulty, seed, Catalog(global_options.db), sandbox, allow_inactive)
        except (ValueError, NotInCatalog, InactiveEnvironment, ExportError) as exc:
            fail(str(exc))
        total = sum(len(plan.pairs) for plan in plans)
        # The bar goes to stderr, so stdout stays clean for --json and for pipes.
        with Progress(console=err_console, transient=True, disable=json_out) as progress:
            task = progress.add_task("rendering", total=total)

            def counted():
                for row in iter_rows(plans, strict, skip):
                    yield row
                    progress.advance(task)

            try:
                written = write_rows(counted(), fmt, out, prompt_style, overwrite)
            except (ValueError, ExportError, SandboxError, EnvCallError, OSError) as exc:
                fail(str(exc))
    summary = {"rows": written, "environments": len(plans), "format": fmt, "out": str(out),
               "skipped": skipped}
    if json_out:
        print_json(summary)
    else:
        console.print(f"wrote {written} rows from {len(plans)} environments to {escape(str(out))} ({fmt})"
                      + (f"; skipped {len(skipped)} oversize instances" if skipped else ""),
                      highlight=False, soft_wrap=True)


def _quiet_datasets() -> None:
    """HF datasets draws its own bars and notes; ours is the one to watch."""
    import logging

    import datasets

    datasets.disable_progress_bars()
    logging.getLogger("datasets").setLevel(logging.ERROR)


def register(app: typer.Typer) -> None:
    app.command("export")(export)
