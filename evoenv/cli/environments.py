"""``evoenv seeds``, ``evoenv sample`` and ``evoenv score``: look at one environment."""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from evoenv.answers import extract_answer
from evoenv.audit import audited_batch
from evoenv.cli._common import console, fail, global_options, print_json, safe_text, shown
from evoenv.sandbox import ERROR, EnvCallError, SandboxedEnv, SandboxError, open_sandbox
from evoenv.sdk import MAX_SEED
from evoenv.sources import EnvSource, SourceError, list_seeds, resolve

ENV_HELP = "A seed name, a path to an environment .py file, or a registry environment's id or name."


def _one_line(exc: BaseException | str) -> str:
    """Error text from environment code may span lines; the CLI reports one (plain text: callers escape it)."""
    if isinstance(exc, SandboxError) and exc.result.outcome == ERROR:
        exc = exc.result.detail  # "loading failed: SyntaxError: ...", without a second "error:"
    return " ".join(str(exc).split())[:600]


def _from_registry(ref: str) -> EnvSource | None:
    """A registry environment by id or name (any status: looking at one changes nothing)."""
    from evoenv.integrations.catalog import Catalog

    catalog = Catalog(global_options.db)
    if catalog.registry is None:
        return None
    try:
        record = catalog.registry.get(ref)
    except LookupError:
        return None
    return EnvSource(record.name, record.code, "registry")


def _open_env(ref: str) -> tuple[EnvSource, SandboxedEnv]:
    """A seed name, a .py file, or a registry environment by id or name."""
    try:
        source = resolve(ref)
    except SourceError as exc:
        source = _from_registry(ref)
        if source is None:
            fail(_one_line(exc) + "; nor an environment id or name in the registry")
    return source, SandboxedEnv(source.code, open_sandbox(global_options.sandbox, workers=1))


def _check_difficulty(env: SandboxedEnv, difficulty: int, ref: str) -> None:
    try:
        info = env.info()
    except (SandboxError, EnvCallError) as exc:
        fail(f"{ref} does not load as an environment: {_one_line(exc)}")
    if not 1 <= difficulty <= info.max_difficulty:
        fail(f"difficulty {difficulty} is out of range for {info.name}: use 1..{info.max_difficulty}")


def seeds(json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List the ten seed environments."""
    with open_sandbox(global_options.sandbox, workers=1) as sandbox:
        rows = []
        for source in list_seeds():
            try:
                info = SandboxedEnv(source.code, sandbox).info()
            except (SandboxError, EnvCallError) as exc:
                fail(f"seed {source.name} ({source.path}) does not load: {_one_line(exc)}")
            rows.append({"name": info.name, "max_difficulty": info.max_difficulty,
                         "description": info.description, "path": str(source.path)})
    if json_out:
        print_json(rows)
        return
    table = Table(title="Seed environments")
    for column in ("name", "levels", "description"):
        table.add_column(column, overflow="fold")
    for row in rows:
        # Descriptions are the environment's text, not rich markup: "a[i]" must stay "a[i]".
        table.add_row(shown(row["name"]), f"1..{row['max_difficulty']}", shown(row["description"]))
    console.print(table)


def sample(
    env_ref: str = typer.Argument(..., metavar="ENV", help=ENV_HELP),
    difficulty: int = typer.Option(1, "--difficulty", "-d", help="Difficulty level, 1..max_difficulty."),
    seed: int = typer.Option(0, "--seed", "-s", min=0, max=MAX_SEED, help="Instance seed."),
    n: int = typer.Option(1, "-n", min=1, max=1000, help="How many instances (seeds S, S+1, ...)."),
    reveal: bool = typer.Option(False, "--reveal", help="Also show the hidden reference answer."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON rows {seed, difficulty, instance, prompt[, reference]}."),
) -> None:
    """Sample instances of an environment and print their prompts."""
    if seed + n - 1 > MAX_SEED:
        fail(f"seeds must lie in 0..{MAX_SEED}; --seed {seed} with -n {n} reaches {seed + n - 1}")
    source, env = _open_env(env_ref)
    with env.sandbox:
        _check_difficulty(env, difficulty, env_ref)
        try:
            rendered = env.render_many([(seed + i, difficulty) for i in range(n)])
        except (SandboxError, EnvCallError) as exc:
            fail(f"{source.name}: {_one_line(exc)}")
    rows = []
    for item in rendered:
        row = {"seed": item.seed, "difficulty": item.difficulty, "instance": item.instance, "prompt": item.prompt}
        if reveal:
            row["reference"] = item.reference
        rows.append(row)
    if json_out:
        print_json(rows)
        return
    for row in rows:
        console.rule(f"{shown(source.name, one_line=True)}  seed={row['seed']}  difficulty={row['difficulty']}")
        # verbatim but for control characters (they would act on the terminal)
        console.print(safe_text(row["prompt"]), highlight=False, markup=False, soft_wrap=True)
        if reveal:
            console.print(f"[bold green]reference:[/] {shown(row['reference'])}", highlight=False,
                          soft_wrap=True)


def score(
    env_ref: str = typer.Argument(..., metavar="ENV", help=ENV_HELP),
    seed: int = typer.Option(..., "--seed", "-s", min=0, max=MAX_SEED, help="Instance seed."),
    difficulty: int = typer.Option(..., "--difficulty", "-d", help="Difficulty level."),
    response: str = typer.Option(..., "--response", "-r", help="The solver's full response, or - to read stdin."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON {answer, score}."),
) -> None:
    """Score a response: extract the last <answer> block and run the environment's scorer."""
    text = sys.stdin.read() if response == "-" else response
    answer = extract_answer(text)
    source, env = _open_env(env_ref)
    with env.sandbox:
        _check_difficulty(env, difficulty, env_ref)
        try:
            rendered = env.render(seed, difficulty)
            # audited like training: a lone score call would tell the job it is not being admitted
            batch = audited_batch([rendered.instance], [answer], [rendered.reference])
            (result,), caught = batch.split(env.run(batch.calls).results, [seed], [difficulty], [rendered.instance])
        except (SandboxError, EnvCallError) as exc:
            fail(f"{source.name}: {_one_line(exc)}")
    value = float(result.value) if result.ok and not caught else 0.0
    audit = f"not trusted: {caught[0].reason()}" if caught else None
    if json_out:
        print_json({"answer": answer, "score": value, "scorer_error": result.error_text or None,
                    **({"audit": audit} if audit else {})})
        return
    if audit:
        console.print(f"[red]{shown(audit)}; counted as 0[/]", highlight=False)
    console.print(f"answer: {safe_text(repr(answer))}", highlight=False, markup=False, soft_wrap=True)
    if not result.ok:
        # the host refused the value the scorer returned (outside [0, 1], not a number): the job's own
        # check was bypassed, or it would have raised there
        how = "returned an invalid value:" if (result.error or {}).get("rejected_by") == "host" else "raised"
        console.print(f"[yellow]scorer {how} {shown(_one_line(result.error_text))}; counted as 0[/]",
                      highlight=False)
    console.print(f"score: {value}")


def register(app: typer.Typer) -> None:
    app.command("seeds")(seeds)
    app.command("sample")(sample)
    app.command("score")(score)
