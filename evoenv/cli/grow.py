"""``evoenv grow``: the policy proposes environments, admission judges them, the registry grows."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from evoenv.cli._common import console, err_console, fail, global_options, print_json, print_table, shown

NO_POLICY = (
    "no policy configured: growing needs a model to write environments. Serve one with vLLM "
    "(`vllm serve Qwen/Qwen3-8B --port 8000`) or any OpenAI-compatible server and run "
    "`evoenv grow --policy openai:Qwen/Qwen3-8B@http://127.0.0.1:8000/v1`, or use a local transformers "
    "folder with --policy hf:PATH (or set EVOENV_POLICY, or `policy = ...` in --config). Without a model you "
    "can still run `evoenv init` (load and admit the seeds) and `evoenv validate FILE` (the mechanical stages). "
    "See docs/quickstart.md."
)


def _overrides(**flags) -> dict:
    return {k: v for k, v in flags.items() if v is not None}


def print_summary_table(rounds, target=None) -> None:
    from evoenv.admission.result import STAGES

    columns = [(c, "right") for c in ("round", "proposed", *STAGES, "admitted", "dup", "repairs", "tokens", "seconds")]
    rows = [[str(r.round), str(r.proposed), *(str(r.passes.get(s, 0)) for s in STAGES),
             f"[bold green]{r.admitted}[/]", str(r.duplicates), str(r.repairs), f"{r.tokens:,}", f"{r.seconds:.1f}"]
            for r in rounds]
    print_table("Grow run: per round", columns, rows, target=target)


def grow(
    policy: str = typer.Option(None, "--policy", "-p", help="Policy spec: openai:MODEL@URL[,URL...] (several servers of one model: "
                               "docs/scaling.md), vllm:MODEL, hf:PATH, "
                               "or replay:FILE.jsonl (a TEST DOUBLE that replays recorded completions). "
                               "Default: $EVOENV_POLICY or the config file."),
    rounds: int = typer.Option(None, "--rounds", "-r", min=1, help="Rounds to run (default 1)."),
    batch: int = typer.Option(None, "--batch", "-b", min=1, help="Candidates proposed per round (default 4)."),
    config_file: Path = typer.Option(None, "--config", "-c", help="TOML or YAML file with grow settings; "
                                     "flags override it."),
    repairs: int = typer.Option(None, "--repairs", min=0, help="Repair attempts for a candidate failing L1-L5."),
    seed: int = typer.Option(None, "--seed", help="Seed for parent picks and mutation/crossover choices."),
    workers: int = typer.Option(None, "--workers", min=1, help="Candidates admitted in parallel."),
    state_dir: str = typer.Option(None, "--state-dir", help="Where run journals live (default .evoenv/runs)."),
    policy_option: list[str] = typer.Option(None, "--policy-option", "-o", help="KEY=VALUE passed to the "
                                            "policy backend, e.g. concurrency=16 (repeatable)."),
    executor: str = typer.Option(None, "--executor", help="Where admission's sandbox jobs run: local (default) "
                                 "or ray[=ADDRESS], a Ray cluster with one warm sandbox pool per node "
                                 "(needs Ray: the optional extra named cluster; docs/scaling.md)."),
    resume: int = typer.Option(None, "--resume", help="Continue the killed grow run RUN_ID."),
    json_out: bool = typer.Option(False, "--json", help="Print the run report as JSON."),
) -> None:
    """Grow the registry: propose environments with the policy, admit the good ones."""
    from evoenv.grow import GrowConfig, GrowError, GrowRun, load_config_file, saved_config
    from evoenv.policy import PolicyError, load_policy

    try:
        settings = load_config_file(config_file) if config_file else {}
        options = dict(settings.get("policy_options") or {})
        for item in policy_option or []:
            key, eq, value = item.partition("=")
            if not eq or not key:
                fail(f"--policy-option {item!r}: write KEY=VALUE")
            options[key.strip()] = _scalar(value)
        flags = _overrides(policy=policy, rounds=rounds, batch=batch, repairs=repairs, seed=seed,
                           admission_workers=workers, state_dir=state_dir, executor=executor)
        if options:
            flags["policy_options"] = options
        if resume is None:
            config = GrowConfig.from_dict({**settings, **flags}, where=str(config_file or "flags"))
            config.policy = config.policy or os.environ.get("EVOENV_POLICY")
            config.validate()
            spec = config.policy
        else:
            state = state_dir or settings.get("state_dir") or GrowConfig.state_dir
            saved = saved_config(state, resume)
            spec = flags.get("policy") or saved.get("policy") or os.environ.get("EVOENV_POLICY")
            resume_options = flags.get("policy_options") or saved.get("policy_options") or {}
            config = GrowConfig.from_dict(saved, where=f"grow run {resume}")
            config.executor = flags.get("executor") or config.executor
            config.validate()
    except GrowError as exc:
        fail(str(exc))
    if not spec:
        fail(NO_POLICY)
    from evoenv.cluster import ExecutorError, import_ray, open_admission_sandbox, parse_executor

    try:
        if parse_executor(config.executor)[0] == "ray":
            import_ray()  # before the policy loads: a missing extra is the first thing said
    except ExecutorError as exc:
        fail(str(exc))  # fail() prints plain text, so the extra's brackets survive

    try:
        opened_options = resume_options if resume is not None else config.policy_options
        loaded = load_policy(spec, **opened_options)
    except PolicyError as exc:
        fail(f"policy {spec}: {exc}")

    from evoenv.registry import open_registry
    from evoenv.sandbox import SandboxUnavailable

    try:
        registry = open_registry(global_options.db)
    except Exception as exc:  # the registry's own errors name the fix
        loaded.close()
        fail(str(exc))

    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=err_console if json_out else console, transient=json_out)
    tasks: dict = {}

    def on_event(kind: str, data: dict) -> None:
        if kind == "round_start":
            tasks["round"] = progress.add_task(f"round {data['round']}: proposing", total=data["batch"])
        elif kind == "admitting":
            if "round" not in tasks:
                tasks["round"] = progress.add_task("", total=data["total"])
            progress.update(tasks["round"], description=f"round {data['round']}: admitting",
                            completed=data["done"], total=data["total"])
        elif kind == "decided" and "round" in tasks:
            progress.advance(tasks["round"])
        elif kind == "round_done":
            summary = data["summary"]
            progress.update(tasks.pop("round"), description=f"round {summary.round}: "
                            f"{summary.admitted} admitted of {summary.proposed}")

    try:
        with open_admission_sandbox(config.executor, config.sandbox or global_options.sandbox,
                                    config.sandbox_workers) as sandbox, progress:
            if resume is not None:
                run = GrowRun.resume(resume, registry, loaded, sandbox, state_dir=state, on_event=on_event,
                                     overrides={k: v for k, v in flags.items()
                                                if k in ("rounds", "repairs", "admission_workers", "executor")})
            else:
                config.policy = spec
                run = GrowRun(config, registry, loaded, sandbox, on_event=on_event)
            report = run.run()
            if sandbox.kind == "ray":
                err_console.print(f"admission ran on {len(sandbox.nodes)} Ray nodes: {shown(sandbox.describe())}",
                                  highlight=False, soft_wrap=True)
    except (GrowError, PolicyError, SandboxUnavailable) as exc:
        fail(str(exc))
    finally:
        down = [s for s in getattr(loaded, "server_status", list)() if s["times_down"]]
        loaded.close()
    for server in down:  # reported, not fatal: the other servers took its requests
        err_console.print(f"[yellow]model server {shown(server['url'])} was down {server['times_down']} time(s) "
                          f"during the run (last error: {shown(server['last_error'])}); the others took its requests[/]")
    if json_out:
        print_json(report.to_dict())
        return
    print_summary_table(report.rounds)
    totals = report.to_dict()["totals"]
    console.print(f"run {report.run_id}: {totals['admitted']} admitted of {totals['proposed']} proposed, "
                  f"{totals['tokens']:,} tokens. See `evoenv envs list --status admitted` and `evoenv stats`.")


def _scalar(value: str):
    """``16`` -> 16, ``0.5`` -> 0.5, ``true`` -> True, else the text."""
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def register(app: typer.Typer) -> None:
    app.command("grow")(grow)
