"""``evoenv sandbox check`` and ``evoenv sandbox lint``: what isolation this machine gives jobs."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from evoenv.cli._common import console, fail, global_options, print_json, shown
from evoenv.sandbox import BACKENDS, Limits, SandboxUnavailable, open_sandbox
from evoenv.sandbox import layers as L

sandbox_app = typer.Typer(help="Inspect the sandbox that runs environment code.", no_args_is_help=True)


@sandbox_app.command("check")
def check(
    backend: str = typer.Option(None, "--backend", "-b",
                                help="process or docker (default: --sandbox, $EVOENV_SANDBOX, else process)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Start the backend's guest, report which isolation layers are active, and fail if
    a required layer (see $EVOENV_SANDBOX_MIN_LAYERS) is missing."""
    backend = backend or global_options.sandbox_kind()
    if backend not in BACKENDS:
        fail(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    try:
        required = L.required_layers(None)
    except ValueError as exc:
        fail(str(exc))
    try:
        # min_layers=() so the pool opens and reports, even when it would refuse to run jobs.
        with open_sandbox(backend, workers=1, limits=Limits(min_layers=())) as pool:
            active, notes = dict(pool.layers), list(pool.notes)
    except SandboxUnavailable as exc:
        fail(str(exc))
    required = L.required_layers(None, active, backend)
    rows = L.report(active, required)
    missing = L.missing_layers(active, required)
    if json_out:
        print_json({"backend": backend, "layers": rows, "required": list(required), "missing": missing,
                    "notes": notes})
    else:
        table = Table(title=f"Sandbox layers ({backend} backend)")
        for column in ("layer", "status", "required", "what it is / how to enable"):
            table.add_column(column, overflow="fold")
        for row in rows:
            status = "[green]active[/]" if row["active"] else "[red]unavailable[/]"
            table.add_row(row["layer"], status, "yes" if row["required"] else "", row["how"])
        console.print(table)
        active_count = sum(1 for r in rows if r["active"])
        console.print(f"{active_count} of {len(rows)} layers active; required: {', '.join(required) or 'none'}")
    if missing:
        fail(f"required layer(s) missing: {', '.join(missing)} (set {L.ENV_VAR} to accept fewer)", code=1)


@sandbox_app.command("lint")
def lint(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="An environment .py file."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON violations."),
) -> None:
    """Run the static policy on a file (no code is executed) and list its violations."""
    from evoenv.sandbox.policy import check as policy_check

    violations = policy_check(path.read_text(encoding="utf-8", errors="replace"))
    if json_out:
        print_json([{"line": v.line, "rule": v.rule, "message": v.message} for v in violations])
    else:
        for v in violations:
            console.print(shown(f"{path}:{v}"), highlight=False)
        if not violations:
            console.print(f"{shown(path)}: allowed by the static policy", highlight=False)
    if violations:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(sandbox_app, name="sandbox")
