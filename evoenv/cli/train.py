"""``evoenv train``: GRPO on the environment pool, from a TOML/YAML config."""

from __future__ import annotations

import logging
from pathlib import Path

import typer
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from evoenv.cli._common import console, err_console, fail, global_options, print_json


def _describe(record: dict) -> str:
    def fmt(value, pattern="{:.3f}"):
        return "-" if value is None else pattern.format(value)

    return (f"{record.get('role', '?'):9s} reward {fmt(record.get('reward_mean'))} "
            f"pass {fmt(record.get('pass_rate'), '{:.2f}')} kl {fmt(record.get('kl'), '{:.4f}')}")


def train(
    config: Path = typer.Option(..., "--config", "-c", help="Run config: a .toml, .yaml or .yml file (see docs/training.md)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the newest checkpoint in output_dir."),
    resume_from: Path = typer.Option(None, "--resume-from", help="Continue from this checkpoint directory."),
    override: list[str] = typer.Option([], "--set", help="Override a config key, e.g. --set max_steps=10 "
                                       "--set curriculum.window=16 (repeatable)."),
    json_out: bool = typer.Option(False, "--json", help="Print the run summary as JSON at the end."),
) -> None:
    """Train the policy with GRPO on admitted environments (and, optionally, as generator)."""
    from evoenv.train.config import ConfigError, load_config

    try:
        cfg = load_config(config, override)
    except ConfigError as exc:
        fail(str(exc))
    cfg.db = cfg.db or global_options.db  # the config's db wins; neither: $EVOENV_DB, else the default
    logging.basicConfig(level=logging.WARNING, format="%(message)s",
                        handlers=[RichHandler(console=err_console, show_path=False)])
    logging.getLogger("evoenv").setLevel(logging.INFO)  # our own progress notes; libraries stay quiet
    from transformers.utils import logging as hf_logging

    from evoenv.train.trainer import GRPOTrainer

    hf_logging.disable_progress_bar()  # our own progress bar is the one to watch

    try:
        trainer = GRPOTrainer(cfg, resume=str(resume_from) if resume_from else resume)
    except (FileNotFoundError, FileExistsError) as exc:
        fail(str(exc))
    except (RuntimeError, ValueError) as exc:  # registry, sandbox, environment source problems
        fail(f"cannot start training: {exc}")
    try:
        columns = (TextColumn("[bold]GRPO"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                   TimeElapsedColumn(), TimeRemainingColumn())
        # Under `accelerate launch` only rank 0 shows progress and prints the summary.
        with Progress(*columns, console=err_console, transient=json_out, disable=not trainer.is_main) as progress:
            task = progress.add_task("starting", total=cfg.max_steps, completed=trainer.step)
            summary = trainer.train(on_step=lambda step, record: progress.update(
                task, completed=step, description=_describe(record)))
    finally:
        trainer.close()
    if not trainer.is_main:
        return
    if json_out:
        print_json(summary)
    else:
        console.print(f"trained {summary['steps']} steps; checkpoints and metrics.jsonl in {summary['output_dir']}")


def register(app: typer.Typer) -> None:
    app.command("train")(train)
