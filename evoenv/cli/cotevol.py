"""``evoenv cotevol``: synthesise verified chains of thought as SFT rows (CoTEvol and baselines)."""

from __future__ import annotations

import fnmatch
from dataclasses import fields, replace
from pathlib import Path

import typer

from evoenv.cli._common import console, err_console, fail, global_options, print_json, print_table, shown
from evoenv.configfile import ConfigFileError, read_config_file

METHOD_HELP = "cotevol (default), best_of_n, self_refine, a comma list, or all."


#: --envs words that mean "every environment there is" (admitted ones, or all seeds without a registry)
EVERYTHING = ("all", "admitted")


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _patterns(envs: str) -> list[str]:
    return ["*" if part in EVERYTHING else part for part in _split(envs)]


def _open_registry():
    """The registry at --db (else $EVOENV_DB) when its database is there; None (and why) otherwise.
    An existing database with a stale schema is an error, not a reason to fall back."""
    from evoenv.integrations.catalog import Catalog

    catalog = Catalog(global_options.db)
    registry = catalog.registry
    return registry, "" if registry is not None else f"no registry database at {catalog.registry_url}"


def _choices_from_registry(reg, patterns: list[str]):
    """Admitted environments, plus the hand-written seeds whatever their status (before the
    admission pipeline has run they are still candidates), unless rejected or retired."""
    from evoenv.cotevol.runner import EnvChoice

    records = {r.id: r for r in reg.list_envs(status="admitted", limit=100_000)}
    for r in reg.list_envs(origin="seed", limit=1_000):
        if r.status not in ("rejected", "retired"):
            records.setdefault(r.id, r)
    chosen = []
    for rec in sorted(records.values(), key=lambda r: r.id):
        if any(fnmatch.fnmatchcase(rec.name, pat) or str(rec.id) == pat for pat in patterns):
            chosen.append(EnvChoice(rec.name, rec.code, rec.id, rec.max_difficulty, reg.calibration_curve(rec.id)))
    return chosen


def _choices_from_sources(patterns: list[str]):
    from evoenv.cotevol.runner import EnvChoice
    from evoenv.sources import SEED_NAMES, SourceError, resolve

    names: list[str] = []
    for pat in patterns:
        matched = [n for n in SEED_NAMES if fnmatch.fnmatchcase(n, pat)]
        if matched:
            names += [n for n in matched if n not in names]
        elif pat.endswith(".py") or Path(pat).exists():
            names.append(pat)
    choices = []
    for name in names:
        try:
            source = resolve(name)
        except (SourceError, OSError) as exc:
            fail(str(exc))
        choices.append(EnvChoice(source.name, source.code))
    return choices


def _load_config(path: Path | None, overrides: dict):
    from evoenv.cotevol.evolve import CoTEvolConfig
    from evoenv.cotevol.fitness import FitnessConfig
    from evoenv.cotevol.mutation import MutationConfig

    config = CoTEvolConfig()
    if path is not None:
        try:
            data = read_config_file(path, section="cotevol")
        except ConfigFileError as exc:
            fail(f"--config: {exc}")
        nested = {"mutation": MutationConfig, "fitness": FitnessConfig}
        known = {f.name for f in fields(CoTEvolConfig)}
        for key, value in data.items():
            if key not in known:
                fail(f"--config {path}: unknown setting {key!r}; known: {', '.join(sorted(known))}")
            if key in nested:
                if not isinstance(value, dict):
                    fail(f"--config {path}: {key} must be a table")
                sub = {f.name for f in fields(nested[key])}
                bad = sorted(set(value) - sub)
                if bad:
                    fail(f"--config {path}: unknown {key} setting(s) {', '.join(bad)}; known: {', '.join(sorted(sub))}")
                value = nested[key](**value)
            config = replace(config, **{key: value})
    return replace(config, **{k: v for k, v in overrides.items() if v is not None})


def cotevol(
    envs: str = typer.Option(..., "--envs", help="Environments: comma-separated names, ids or glob patterns "
                             "(registry names, or seed names / .py files when there is no registry database); "
                             "'admitted' or 'all' takes every one."),
    per_env: int = typer.Option(..., "--per-env", min=1, max=100_000, help="Instances per environment."),
    policy_spec: str = typer.Option(..., "--policy", help="Policy spec, e.g. vllm:MODEL, openai:MODEL@URL, hf:PATH."),
    out: Path = typer.Option(..., "--out", help="Output base: writes OUT.jsonl, OUT.parquet and OUT.report.json."),
    difficulty: str = typer.Option("auto", "--difficulty", help="A level, or auto: the level whose calibrated "
                                   "pass rate is closest to 0.3 (the middle level when uncalibrated)."),
    method: str = typer.Option("cotevol", "--method", help=METHOD_HELP),
    population: bool = typer.Option(False, "--population", help="Write every member of the final population, "
                                    "not only the best correct trajectory."),
    config_file: Path = typer.Option(None, "--config", help="TOML or YAML file of CoTEvolConfig settings."),
    iterations: int = typer.Option(None, "--iterations", min=0, help="Evolution rounds (default 3)."),
    n_pop: int = typer.Option(None, "--n-pop", min=1, help="Population size (default 4)."),
    max_tokens: int = typer.Option(None, "--max-tokens", min=1, help="Max tokens per generation (default 1024)."),
    seed: int = typer.Option(None, "--seed", help="RNG and sampling seed (default 0)."),
    first_seed: int = typer.Option(0, "--first-seed", help="Instance seeds are FIRST_SEED, FIRST_SEED+1, ..."),
    token_budget: int = typer.Option(None, "--token-budget", min=1, help="Baselines' completion-token budget per "
                                     "instance (default: CoTEvol's own spend when it runs too, else its nominal "
                                     "budget)."),
    chunk_size: int = typer.Option(64, "--chunk-size", min=1, help="Problems evolved together; rows are "
                                   "appended to OUT.jsonl.partial as each chunk finishes."),
    no_embeddings: bool = typer.Option(False, "--no-embeddings", help="Skip the MiniLM embedding-distance metric."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Evolve verified chains of thought on environment instances and write them as SFT rows."""
    from evoenv.cotevol.runner import METHODS, build_problems, synthesize
    from evoenv.policy.base import PolicyError
    from evoenv.sandbox import EnvCallError, SandboxError, open_sandbox

    methods = list(METHODS) if method.strip() == "all" else _split(method)
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        fail(f"--method {method!r}: choose from {', '.join(METHODS)} or all")
    if difficulty != "auto" and not difficulty.isdigit():
        fail(f"--difficulty {difficulty!r}: give a level (1, 2, ...) or auto")
    config = _load_config(config_file, {"iterations": iterations, "n_pop": n_pop, "max_tokens": max_tokens,
                                        "seed": seed})
    patterns = _patterns(envs)
    if not patterns:
        fail("--envs is empty")

    try:
        registry, why_not = _open_registry()
    except Exception as exc:  # e.g. "schema out of date: run evoenv db upgrade"
        fail(f"registry: {exc}")
    if registry is not None:
        choices, origin = _choices_from_registry(registry, patterns), "registry"
    else:
        choices, origin = _choices_from_sources(patterns), "seeds/files"
        if not json_out:
            err_console.print(f"[yellow]{shown(why_not)}: taking environments from seed and .py files[/]")
    if not choices:
        where = "admitted environment or seed in the registry" if registry else "seed or file"
        fail(f"--envs {envs!r} matches no {where}")

    from evoenv.policy import load_policy

    try:
        policy = load_policy(policy_spec)
    except Exception as exc:  # PolicyError or a bad spec: say which
        fail(f"--policy {policy_spec!r}: {exc}")

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    run_id = None
    with open_sandbox(global_options.sandbox) as sandbox:
        try:
            problems, chosen = build_problems(choices, sandbox, per_env,
                                              "auto" if difficulty == "auto" else int(difficulty),
                                              first_seed, getattr(policy, "name", None))
        except (ValueError, SandboxError, EnvCallError) as exc:
            fail(str(exc))
        if registry is not None:
            run_id = registry.start_run("cotevol", {**config.as_dict(), "methods": methods, "envs": envs,
                                                    "per_env": per_env, "difficulty": difficulty,
                                                    "policy": policy_spec, "out": str(out)})
        tasks: dict[str, int] = {}
        progress = Progress(TextColumn("{task.description}"), BarColumn(),
                            TextColumn("{task.completed:.0f}/{task.total:.0f}"), TimeElapsedColumn(),
                            console=err_console, disable=json_out)

        def report_progress(description: str, completed: float, total: float) -> None:
            name = description.split(":")[0]
            if name not in tasks:
                tasks[name] = progress.add_task(description, total=total)
            progress.update(tasks[name], description=description, completed=completed, total=total)

        try:
            with progress:
                result = synthesize(problems, policy, sandbox, out, methods=tuple(methods), config=config,
                                    population=population, token_budget=token_budget,
                                    embeddings=not no_embeddings, progress=report_progress, chunk_size=chunk_size,
                                    extra={"environments": chosen, "env_origin": origin, "run_id": run_id})
        except BaseException as exc:
            if registry is not None and run_id is not None:
                registry.finish_run(run_id, "failed", {"error": f"{type(exc).__name__}: {exc}"})
            if isinstance(exc, (SandboxError, EnvCallError, ValueError, PolicyError, OSError)):
                fail(f"{type(exc).__name__}: {exc}")
            raise
        finally:
            close = getattr(policy, "close", None)
            if close:
                close()
    summary = {"rows": result.rows, "paths": result.paths, "environments": chosen, "env_origin": origin,
               "run_id": run_id, "summaries": result.summaries}
    if registry is not None:
        registry.finish_run(run_id, "finished", summary)
        registry.close()
    if json_out:
        print_json(summary)
        return
    _print_table(result.summaries)
    console.print(f"{result.rows} rows -> {result.paths['jsonl']}, {result.paths['parquet']}; "
                  f"report {result.paths['report']}", highlight=False)


def _fmt(value, pattern: str = "{:.3f}") -> str:
    return "n/a" if value is None else pattern.format(value)


def _print_table(summaries: dict[str, dict]) -> None:
    columns = [(c, "left") for c in ("method", "solved", "success", "tokens/correct CoT", "ROUGE-L (div.)",
                                     "embed. dist.")]
    print_table("Chain-of-thought synthesis", columns,
                [[name, f"{s['solved']}/{s['instances']}", _fmt(s["success_rate"]), _fmt(s["tokens_per_correct_cot"], "{:.0f}"),
                  _fmt(s["diversity_rouge_l"]), _fmt(s["diversity_embedding_distance"])]
                 for name, s in summaries.items()])
    for name, s in summaries.items():
        for item in s["unsolved"]:
            console.print(f"[yellow]{name}: no correct trajectory for {shown(item['env_name'])} seed={item['seed']} "
                          f"difficulty={item['difficulty']} (best fitness {_fmt(item['best_fitness'])})[/]",
                          highlight=False)


def register(app: typer.Typer) -> None:
    app.command("cotevol")(cotevol)
