"""``evoenv seeds``, ``evoenv sample`` and ``evoenv score``: look at one environment."""

from __future__ import annotations

import sys

import typer
from rich.markup import escape
from rich.table import Table

from evoenv.answers import extract_answer
from evoenv.audit import audited_batch
from evoenv.cli._common import console, fail, print_json
from evoenv.sandbox import ERROR, EnvCallError, SandboxedEnv, SandboxError, open_sandbox
from evoenv.sources import EnvSource, SourceError, list_seeds, resolve


def _one_line(exc: BaseException | str) -> str:
    """Error text from environment code may span lines; the CLI reports one."""
    if isinstance(exc, SandboxError) and exc.result.outcome == ERROR:
        exc = exc.result.detail  # "loading failed: SyntaxError: ...", without a second "error:"
    return " ".join(str(exc).split())[:600]


def _open_env(ref: str) -> tuple[EnvSource, SandboxedEnv]:
    try:
        source = resolve(ref)
    except SourceError as exc:
        fail(_one_line(exc))
    return source, SandboxedEnv(source.code, open_sandbox(workers=1))


def _check_difficulty(env: SandboxedEnv, difficulty: int, ref: str) -> None:
    try:
        info = env.info()
    except (SandboxError, EnvCallError) as exc:
        fail(f"{ref} does not load as an environment: {_one_line(exc)}")
    if not 1 <= difficulty <= info.max_difficulty:
        fail(f"difficulty {difficulty} is out of range for {info.name}: use 1..{info.max_difficulty}")


def seeds(json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List the ten seed environments."""
    with open_sandbox(workers=1) as sandbox:
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
        table.add_row(escape(row["name"]), f"1..{row['max_difficulty']}", escape(row["description"]))
    console.print(table)


def sample(
    env_ref: str = typer.Argument(..., metavar="ENV", help="A seed name or a path to an environment .py file."),
    difficulty: int = typer.Option(1, "--difficulty", "-d", help="Difficulty level, 1..max_difficulty."),
    seed: int = typer.Option(0, "--seed", "-s", help="Instance seed."),
    n: int = typer.Option(1, "-n", min=1, max=1000, help="How many instances (seeds S, S+1, ...)."),
    reveal: bool = typer.Option(False, "--reveal", help="Also show the hidden reference answer."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON rows {seed, difficulty, instance, prompt[, reference]}."),
) -> None:
    """Sample instances of an environment and print their prompts."""
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
        console.rule(f"{source.name}  seed={row['seed']}  difficulty={row['difficulty']}")
        console.print(row["prompt"], highlight=False, markup=False, soft_wrap=True)  # verbatim
        if reveal:
            console.print(f"[bold green]reference:[/] {escape(row['reference'])}", highlight=False,
                          soft_wrap=True)


def score(
    env_ref: str = typer.Argument(..., metavar="ENV", help="A seed name or a path to an environment .py file."),
    seed: int = typer.Option(..., "--seed", "-s", help="Instance seed."),
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
        console.print(f"[red]{escape(audit)}; counted as 0[/]", highlight=False)
    console.print(f"answer: {answer!r}", highlight=False, markup=False, soft_wrap=True)
    if not result.ok:
        console.print(f"[yellow]scorer raised {escape(_one_line(result.error_text))}; counted as 0[/]",
                      highlight=False)
    console.print(f"score: {value}")


def register(app: typer.Typer) -> None:
    app.command("seeds")(seeds)
    app.command("sample")(sample)
    app.command("score")(score)
