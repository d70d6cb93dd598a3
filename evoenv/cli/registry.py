"""``evoenv db``, ``evoenv init``, ``evoenv envs ...`` and ``evoenv stats``: the registry from the shell."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.syntax import Syntax
from rich.table import Table
from rich.tree import Tree

from evoenv.cli._common import console, fail, global_options, print_json, print_table, safe_text, shown
from evoenv.registry import ORIGINS, SORTS, STATUSES, Registry, RegistryError, open_registry, upgrade
from evoenv.registry.database import database_url, describe_url

JSON_OPT = typer.Option(False, "--json", help="Print JSON instead of a table.")
STATUS_STYLE = {"admitted": "green", "candidate": "yellow", "rejected": "red", "retired": "dim"}

db_app = typer.Typer(help="The registry database: schema migrations.", no_args_is_help=True)
envs_app = typer.Typer(help="Browse and manage the environments in the registry.", no_args_is_help=True)


@contextmanager
def _registry(upgrade_schema: bool = False) -> Iterator[Registry]:
    """The registry, with every registry error turned into one clear line."""
    try:
        reg = open_registry(global_options.db, upgrade_schema=upgrade_schema)
    except RegistryError as exc:
        fail(str(exc))
    try:
        yield reg
    except RegistryError as exc:
        fail(str(exc))
    finally:
        reg.close()


def _status(status: str) -> str:
    return f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]"


# ---- evoenv db ----------------------------------------------------------------------------

@db_app.command("upgrade")
def db_upgrade(json_out: bool = JSON_OPT) -> None:
    """Apply every pending schema migration to the registry database."""
    url = database_url(global_options.db)
    try:
        before, after = upgrade(url)
    except RegistryError as exc:
        fail(str(exc))
    if json_out:
        print_json({"database": describe_url(url), "from": before, "to": after})
    elif before == after:
        console.print(f"{describe_url(url)} is up to date (revision {after})", highlight=False, soft_wrap=True)
    else:
        console.print(f"upgraded {describe_url(url)}: {before or 'empty'} -> {after}", highlight=False, soft_wrap=True)


# ---- evoenv init --------------------------------------------------------------------------

def init(
    admit: bool = typer.Option(True, "--admit/--no-admit",
                               help="Admit the seeds through L1-L5 and novelty (review and calibration need a policy)."),
    json_out: bool = JSON_OPT,
) -> None:
    """Create (or upgrade) the registry database, load the ten seeds and admit them."""
    from evoenv.sandbox import open_sandbox
    from evoenv.seeding import admit_seeds, load_seeds
    from evoenv.sources import SEED_NAMES

    with _registry(upgrade_schema=True) as reg, open_sandbox(global_options.sandbox) as sandbox:
        with Progress(TextColumn("[bold]{task.fields[step]}[/] {task.description}"), BarColumn(),
                      MofNCompleteColumn(), console=console, transient=True, disable=json_out) as progress:
            task = progress.add_task("", total=len(SEED_NAMES), step="loading seeds")
            loads = load_seeds(reg, sandbox=sandbox,
                               on_progress=lambda name: progress.update(task, advance=1, description=name))
            outcomes = {}
            if admit:
                progress.update(task, completed=0, step="admitting seeds", description="loading MiniLM")
                for outcome in admit_seeds(reg, sandbox, on_progress=lambda name, outcome: progress.update(
                        task, advance=1, description=name)):
                    outcomes[outcome.candidate.code_sha256] = outcome
        records = [reg.get(load.record.id) for load in loads]
        url = reg.url
    rows = []
    for load, record in zip(loads, records):
        outcome = outcomes.get(record.code_sha256)
        failed = outcome.first_failure if outcome else None
        rows.append({**record.to_dict(code=False), "new": load.new,
                     "reason": f"{failed.stage}: {failed.reason}" if failed else ""})
    if json_out:
        print_json({"database": url, "seeds": rows})
        return
    table = Table(title=f"Seeds in {url}")
    for column in ("id", "name", "status", "levels", "loaded", "reason"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(str(row["id"]), shown(row["name"]), _status(row["status"]), f"1..{row['max_difficulty']}",
                      "new" if row["new"] else "already there", shown(row["reason"]))
    console.print(table)


# ---- evoenv envs ---------------------------------------------------------------------------

@envs_app.command("list")
def envs_list(
    status: str = typer.Option(None, "--status", help=f"Only this status: {', '.join(STATUSES)}."),
    origin: str = typer.Option(None, "--origin", help=f"Only this origin: {', '.join(ORIGINS)}."),
    tag: str = typer.Option(None, "--tag", help="Only environments with this tag."),
    search: str = typer.Option(None, "--search", help="Words that must each begin a word of the name, description or code (full-text)."),
    sort: str = typer.Option("created", "--sort", help=f"Order: {', '.join(SORTS)} (pass_rate, novelty, reward: "
                             "highest first, unmeasured last)."),
    limit: int = typer.Option(50, "--limit", min=0, help="At most this many rows."),
    offset: int = typer.Option(0, "--offset", min=0, help="Skip this many rows first."),
    json_out: bool = JSON_OPT,
) -> None:
    """List environments, newest first."""
    with _registry() as reg:
        records = reg.list_envs(status=status, origin=origin, tag=tag, search=search, sort=sort,
                                limit=limit, offset=offset)
        total = reg.count_envs(status=status, origin=origin, tag=tag, search=search)
    if json_out:
        print_json([r.to_dict(code=False) for r in records])
        return
    columns = [("id", "right"), ("name", "left"), ("status", "left"), ("origin", "left"), ("gen", "right"),
               ("pass", "right"), ("novelty", "right"), ("reward", "right"), ("created", "left"), ("tags", "left")]
    rows = [[str(r.id), shown(r.name), _status(r.status), r.origin, str(r.generation),
             "" if r.pass_rate is None else f"{r.pass_rate:.0%}",
             "" if r.novelty is None else f"{r.novelty:.2f}",
             "" if r.reward is None else f"{r.reward:.3f}", r.created_at.strftime("%Y-%m-%d"),
             shown(", ".join(r.tags))] for r in records]
    # Only the name and the tags may wrap; short columns keep their width, headers stay whole.
    print_table(f"{len(records)} of {total} environments", columns, rows, wrap=("name", "tags"))


@envs_app.command("show")
def envs_show(
    ref: str = typer.Argument(..., metavar="ID|NAME", help="Environment id or name."),
    code: bool = typer.Option(False, "--code", help="Also print the source code."),
    json_out: bool = JSON_OPT,
) -> None:
    """One environment with its stage results, reviews, calibration and lineage."""
    with _registry() as reg:
        env = reg.get(ref)
        stages = reg.stage_results(env.id)
        reviews = reg.reviews(env.id)
        curve = reg.calibration_curve(env.id)
        lineage = reg.lineage(env.id)
        quarantine = reg.quarantine_of(env.id)
    if json_out:
        print_json({**env.to_dict(code=code), "quarantine": quarantine, "stage_results": [s.to_dict() for s in stages],
                    "reviews": [r.to_dict() for r in reviews],
                    "calibration": {ck: [dict(zip(("difficulty", "n", "passes", "pass_rate"), row)) for row in rows]
                                    for ck, rows in curve.items()},
                    "lineage": lineage})
        return
    console.rule(f"[bold]{shown(env.name, one_line=True)}[/]  #{env.id}")
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column(overflow="fold")
    # every value is a markup string: the environment's and the policy's text goes in through shown()
    for label, value in (("status", _status(env.status) + (f"  {shown(env.status_reason)}" if env.status_reason else "")),
                         ("origin", f"{env.origin}, generation {env.generation}"),
                         ("levels", f"1..{env.max_difficulty}"), ("sha256", env.code_sha256),
                         ("created", env.created_at.isoformat(timespec="seconds")),
                         ("tags", shown(", ".join(env.tags)) or "-"),
                         ("reward", "-" if env.reward is None else f"{env.reward:.4f}"),
                         ("pass rate", "-" if env.pass_rate is None else f"{env.pass_rate:.1%} (newest checkpoint)"),
                         ("novelty", "-" if env.novelty is None else f"{env.novelty:.3f}"),
                         ("parents", ", ".join(f"#{p['id']} {shown(p['name'])} ({p['relation']})"
                                               for p in lineage["parents"]) or "-"),
                         ("children", ", ".join(f"#{c['id']} {shown(c['name'])}" for c in lineage["children"]) or "-"),
                         ("description", shown(env.description))):
        facts.add_row(label, value)
    if quarantine is not None:
        ev = quarantine["evidence"]
        facts.add_row("quarantine", f"[red]caught by {ev.get('caught_by', '?')}[/]: paid {ev.get('score')} for the "
                      f"known-wrong {ev.get('kind')} answer {str(ev.get('answer', ''))[:80]!r} at seed="
                      f"{ev.get('seed')}, difficulty={ev.get('difficulty')}")
    console.print(facts)
    if stages:
        table = Table(title="stage results", title_justify="left")
        for column in ("stage", "result", "score", "seconds", "reason", "when"):
            table.add_column(column, overflow="fold")
        for s in stages:
            result = "[dim]not run[/]" if s.passed is None else ("[green]pass[/]" if s.passed else "[red]fail[/]")
            table.add_row(s.stage, result, "" if s.score is None else f"{s.score:.3f}", f"{s.duration_s:.2f}",
                          shown(s.reason), s.created_at.strftime("%Y-%m-%d %H:%M:%S"))
        console.print(table)
    else:
        console.print("[dim]no stage results yet[/]")
    for review in reviews:
        console.print(f"[bold]review[/] by {shown(review.reviewer)}: {_status(review.verdict)}", highlight=False,
                      soft_wrap=True)
        console.print(safe_text(review.text), markup=False, highlight=False, soft_wrap=True)
    if curve:
        table = Table(title="calibration", title_justify="left")
        for column in ("checkpoint", "difficulty", "n", "passes", "pass rate"):
            table.add_column(column)
        for checkpoint, rows in curve.items():
            for difficulty, n, passes, rate in rows:
                table.add_row(checkpoint, str(difficulty), str(n), str(passes), f"{rate:.2f}")
        console.print(table)
    if code:
        console.print(Syntax(safe_text(env.code), "python", line_numbers=True))


@envs_app.command("lineage")
def envs_lineage(ref: str = typer.Argument(..., metavar="ID|NAME", help="Environment id or name."),
                 json_out: bool = JSON_OPT) -> None:
    """Draw an environment's ancestry: its parents, their parents, and so on."""
    with _registry() as reg:
        tree = reg.ancestry(reg.get(ref).id)
    if json_out:
        print_json(tree)
        return

    def label(node) -> str:
        via = f" [dim]({node['relation']})[/]" if node["relation"] else ""
        above = " [dim](ancestors shown above)[/]" if node.get("shown_above") else ""
        return f"#{node['id']} [bold]{shown(node['name'])}[/] {_status(node['status'])}{via}{above}"

    def grow(branch: Tree, node) -> None:
        for parent in node["parents"]:
            grow(branch.add(label(parent)), parent)

    root = Tree(label(tree))
    grow(root, tree)
    console.print(root)


@envs_app.command("retire")
def envs_retire(ref: str = typer.Argument(..., metavar="ID|NAME", help="Environment id or name."),
                reason: str = typer.Option("retired by hand", "--reason", help="Why (kept in the registry)."),
                json_out: bool = JSON_OPT) -> None:
    """Retire an environment: it leaves the training pool and is no longer sampled."""
    with _registry() as reg:
        record = reg.retire(reg.get(ref).id, reason=reason)
    if json_out:
        print_json(record.to_dict(code=False))
    else:
        console.print(f"retired #{record.id} {shown(record.name)}", highlight=False, soft_wrap=True)


# ---- evoenv stats ---------------------------------------------------------------------------

def stats(run: int = typer.Option(None, "--run", help="Only candidates of this run."), json_out: bool = JSON_OPT) -> None:
    """The admission funnel per stage, and per run."""
    with _registry() as reg:
        run_record = reg.get_run(run) if run is not None else None
        funnel = reg.funnel(run)
        counts = reg.status_counts(run)
        runs = [run_record] if run_record else reg.runs()
    if json_out:
        print_json({"run": run, "statuses": counts, "funnel": funnel, "runs": [r.to_dict() for r in runs]})
        return
    scope = f"run {run} ({run_record.kind})" if run_record else "all environments"
    console.print(f"[bold]{scope}[/]: " + ", ".join(f"{_status(s)} {n}" for s, n in counts.items()))
    if funnel:
        rows = []
        for stage, row in funnel.items():
            rate = f"{row['passed'] / row['entered']:.0%}" if row["entered"] else "-"
            rows.append([stage, str(row["entered"]), str(row["passed"]), rate, str(row["not_run"])])
        print_table("admission funnel", [("stage", "left"), ("entered", "right"), ("passed", "right"),
                                         ("pass rate", "right"), ("not run", "right")], rows)
    else:
        console.print("[dim]no stage results yet[/]")
    if runs:
        print_table("runs", [(c, "left") for c in ("id", "kind", "status", "started", "candidates", "admitted",
                                                    "rejected")],
                    [[str(r.id), r.kind, r.status, r.started_at.strftime("%Y-%m-%d %H:%M"),
                      str(sum(r.counts.values())), str(r.counts.get("admitted", 0)), str(r.counts.get("rejected", 0))]
                     for r in runs])


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    app.add_typer(envs_app, name="envs")
    app.command("init")(init)
    app.command("stats")(stats)
