"""``evoenv serve``: the registry browser (pages and JSON API) over uvicorn."""

from __future__ import annotations

import typer

from evoenv.cli._common import console, fail, global_options


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; the default keeps it on this machine."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    db: str = typer.Option(None, "--db", help="Registry database URL (default: $EVOENV_DB or sqlite:///evoenv.db)."),
    admin_token: str = typer.Option(None, "--admin-token", envvar="EVOENV_ADMIN_TOKEN",
                                    help="Allow changes (retire) to requests carrying this token; read-only without it."),
    sandbox: str = typer.Option(None, "--sandbox", help="Sandbox backend for the instance viewer: process or docker."),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
) -> None:
    """Browse the registry: environments, instances, lineage, calibration, the funnel, rejections."""
    import uvicorn

    from evoenv.registry import RegistryError
    from evoenv.sandbox import BACKENDS
    from evoenv.web import create_app

    kind = sandbox or global_options.sandbox_kind()
    if kind not in BACKENDS:
        fail(f"--sandbox {kind!r} is not a backend; choose one of {', '.join(BACKENDS)}")
    if admin_token is not None and len(admin_token) < 8:
        fail("--admin-token must be at least 8 characters")
    if host not in ("127.0.0.1", "localhost", "::1") and admin_token is None:
        console.print(f"[yellow]serving read-only on {host}: anyone who can reach it can read the registry[/]")
    try:
        # no --db here or before the command: $EVOENV_DB, else the default
        app = create_app(db or global_options.db, admin_token=admin_token, sandbox=kind)
    except RegistryError as exc:
        fail(str(exc))
    console.print(f"EvoEnv registry browser on [bold]http://{host}:{port}/[/] "
                  f"({'admin token set' if admin_token else 'read-only'}; sandbox: {kind})")
    uvicorn.run(app, host=host, port=port, log_level=log_level)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
