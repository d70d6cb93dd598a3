"""The ``evoenv`` command line. Each module in this package adds its commands
through ``register(app)``; this file only finds them and holds global options."""

from __future__ import annotations

import importlib
import pkgutil

import typer

from evoenv.cli._common import global_options

app = typer.Typer(
    name="evoenv",
    help="EvoEnv: one policy writes the RL environments it trains on.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _global_options(
    db: str = typer.Option(None, "--db", help="Registry database URL (default: $EVOENV_DB or sqlite:///evoenv.db)."),
    sandbox: str = typer.Option(None, "--sandbox", help="Sandbox backend: process (default) or docker."),
) -> None:
    # Passed to the commands through ``global_options`` (reset on every invocation), not the environment.
    global_options.db, global_options.sandbox = db or None, sandbox or None


def _register_all() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.register(app)


_register_all()


def main() -> None:
    # Errors that any command can meet (a sandbox without its isolation layers, a
    # locked or out-of-date registry) end as one clear line, not a traceback.
    from evoenv.cli._common import err_console, shown
    from evoenv.registry import RegistryError
    from evoenv.sandbox import SandboxUnavailable

    try:
        app(prog_name="evoenv")
    except (SandboxUnavailable, RegistryError) as exc:
        err_console.print(f"[bold red]error:[/] {shown(str(exc))}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
