"""``evoenv validate FILE...``: run every admission stage that can run on environment files."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from evoenv.cli._common import console, err_console, fail, global_options, print_json, shown


class _DeferredIndex:
    """Builds the novelty index the first time a candidate reaches the novelty stage, so files that
    fail earlier never pay for rendering the seeds and loading MiniLM."""

    def __init__(self, sandbox, config):
        self._sandbox, self._config = sandbox, config
        self._index = None
        self._lock = threading.Lock()  # candidates run side by side: build the index once
        self.against = "nothing yet (no file reached novelty)"

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        with self._lock:
            if self._index is None:
                self._index, self.against = _novelty_index(self._sandbox, self._config)
        return getattr(self._index, name)

    def __len__(self) -> int:
        return len(self.__getattr__("keys"))


def _novelty_index(sandbox, config):
    """Against the registry at --db (else $EVOENV_DB) when it exists, else against the seeds."""
    from evoenv.admission.novelty_index import NoveltyIndex
    from evoenv.sources import SourceError, list_seeds

    url = global_options.db or os.environ.get("EVOENV_DB")
    if url:
        exists = True
        if url.startswith("sqlite:///"):
            exists = Path(url[len("sqlite:///"):]).is_file()
        if exists:
            from evoenv.registry import open_registry

            try:
                registry = open_registry(url)
            except Exception as exc:  # any failure to open is reported as such
                fail(f"cannot open the registry at {url}: {exc}")
            return NoveltyIndex.from_registry(registry, config.novelty_lambda), f"registry {url}"
    try:
        seeds = [(s.name, s.code) for s in list_seeds()]
    except (SourceError, OSError) as exc:
        return NoveltyIndex(config.novelty_lambda), f"nothing: no registry and no seeds ({exc})"
    return NoveltyIndex.from_sources(seeds, sandbox, config), f"the {len(seeds)} seeds"


def _load_policy(spec: str):
    from evoenv.policy import load_policy

    try:
        return load_policy(spec)
    except Exception as exc:  # the policy module's errors name what to fix
        fail(f"cannot load policy {spec!r}: {exc}")


def _mark(passed: bool | None) -> str:
    return "[green]pass[/]" if passed else "[dim]not run[/]" if passed is None else "[bold red]FAIL[/]"


def _admission_config(settings: list[str]):
    """AdmissionConfig with ``KEY=VALUE`` overrides, read and type-checked by the shared config loader."""
    from evoenv.admission import AdmissionConfig
    from evoenv.configfile import ConfigError, apply_overrides

    try:
        return AdmissionConfig.from_dict(apply_overrides({}, settings))
    except ConfigError as exc:
        fail(f"--set: {exc}")


def validate(
    files: list[Path] = typer.Argument(..., metavar="FILE...", help="Environment source files (.py)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object per file instead of tables."),
    policy_spec: str = typer.Option(None, "--policy", help="Policy spec for review and calibration "
                                    "(e.g. openai:MODEL@URL, hf:PATH). Without it they are reported as not run."),
    settings: list[str] = typer.Option([], "--set", metavar="KEY=VALUE",
                                       help="Override an admission setting (docs/admission.md), e.g. "
                                            "--set blind_max_rate=0.1 or --set 'calibration_seeds=[1,2,3]' "
                                            "to rerun on recorded seeds. Repeatable."),
) -> None:
    """Run every admission stage that can run on each FILE and print why each passed or failed.

    Novelty compares against the registry at --db or $EVOENV_DB when it exists, else against the seeds.
    Exits 0 only when every stage that ran passed for every file.
    """
    from evoenv.admission import AdmissionContext, Candidate, admit_candidate
    from evoenv.sandbox import open_sandbox
    from evoenv.sources import SourceError, load_file

    sources = []
    for path in files:
        try:
            sources.append(load_file(path))
        except SourceError as exc:
            fail(str(exc))
    config = _admission_config(settings)
    policy = _load_policy(policy_spec) if policy_spec else None
    outcomes = []
    with open_sandbox(global_options.sandbox) as sandbox:
        candidates = [Candidate(s.code, name=None, origin="imported") for s in sources]
        index = _DeferredIndex(sandbox, config)
        ctx = AdmissionContext(sandbox, config, policy=policy, novelty=index)
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeElapsedColumn(), console=err_console, disable=json_out, transient=True) as progress:
            task = progress.add_task(f"validating {len(candidates)} file(s)", total=len(candidates))

            def admit(candidate):
                outcome = admit_candidate(candidate, ctx)
                progress.advance(task)
                return outcome

            # Candidates run side by side (the sandbox has several workers; the embedding model is loaded
            # once, on first use, and shared), and the results keep the order of the files.
            with ThreadPoolExecutor(max(1, min(len(candidates), os.cpu_count() or 1, 4))) as pool:
                outcomes = list(pool.map(admit, candidates))
        if policy is not None:
            policy.close()

    ok = all(s.passed is not False for o in outcomes for s in o.stages)
    against = index.against
    if json_out:
        print_json({"ok": ok, "novelty_against": against, "files": [
            {"file": str(src.path), **outcome.as_dict()} for src, outcome in zip(sources, outcomes)]})
    else:
        for source, outcome in zip(sources, outcomes):
            table = Table(title=shown(f"{source.path}  ({outcome.candidate.label})", one_line=True), title_justify="left")
            table.add_column("stage")
            table.add_column("result")
            table.add_column("time", justify="right")
            table.add_column("reason", overflow="fold")
            for stage in outcome.stages:
                table.add_row(stage.stage, _mark(stage.passed), f"{stage.duration_s:.2f}s" if stage.ran else "",
                              shown(stage.reason))
            console.print(table)
            failed = outcome.first_failure
            verdict = f"[bold red]rejected at {failed.stage}[/]" if failed else "[green]all stages that ran passed[/]"
            console.print(f"{verdict}; generator reward {outcome.reward:+.3f}; novelty against {against}\n",
                          highlight=False)
    raise typer.Exit(0 if ok else 1)


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
