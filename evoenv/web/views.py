"""Read the registry and shape what each page (and its JSON twin) shows.

Longer than ~400 lines on purpose: one function per page, side by side, so the HTML and the
``/api`` twin of every page are defined in one place; splitting by page would scatter them.

Every function returns plain JSON-ready dicts, so the HTML templates and the
``/api`` routes show exactly the same data. Only the Registry API is used here.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from evoenv.registry import EVER_ADMITTED
from evoenv.stages import STAGES
from evoenv.web import inputs


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat(sep=" ")
    return str(value)


def _rate(value: Any) -> float | None:
    return None if value is None else round(float(value), 4)


def summary(rec: Any) -> dict:
    """The row shown in lists: everything but the code."""
    tags = _get(rec, "tags") or []
    return {
        "id": int(_get(rec, "id")),
        "name": _get(rec, "name"),
        "description": _get(rec, "description") or "",
        "status": _get(rec, "status"),
        "origin": _get(rec, "origin"),
        "generation": _get(rec, "generation") or 0,
        "max_difficulty": _get(rec, "max_difficulty"),
        "tags": sorted(tags),
        "created_at": _iso(_get(rec, "created_at")),
        "code_sha256": _get(rec, "code_sha256"),
        "reward": _rate(_get(rec, "reward")),
        "status_reason": _get(rec, "status_reason") or "",
        "run_id": _get(rec, "run_id"),
        "pass_rate": _rate(_get(rec, "pass_rate")),
        "novelty": _rate(_get(rec, "novelty")),
    }


class NotFound(LookupError):
    pass


def get_record(reg: Any, ref: int | str) -> Any:
    try:
        return reg.get(ref)
    except LookupError as exc:  # Registry.get raises UnknownEnvironment, never returns None
        raise NotFound(f"no environment {ref!r} in the registry") from exc


# ---------------------------------------------------------------- list page

def env_list(reg: Any, *, status=None, origin=None, tag=None, search=None, sort="created",
             page=1, page_size=inputs.PAGE_SIZE) -> dict:
    rows = reg.list_envs(status=status, origin=origin, tag=tag, search=search,
                         sort=sort, limit=page_size, offset=(page - 1) * page_size)
    total = reg.count_envs(status=status, origin=origin, tag=tag, search=search)
    # Pass rate and novelty are columns of the registry (kept when calibration and the novelty
    # stage are recorded), so the list needs no query per row.
    items = [summary(rec) for rec in rows]
    return {
        "items": items, "page": page, "page_size": page_size, "total": total,
        "pages": max(1, -(-total // page_size)), "has_next": page * page_size < total,
        "filters": {"status": status, "origin": origin, "tag": tag, "q": search, "sort": sort},
    }


# ---------------------------------------------------------------- one environment

def stage_rows(reg: Any, env_id: int, results: list | None = None) -> list[dict]:
    """The stage rows of one environment in pipeline order (``results``: already fetched)."""
    rows = []
    for row in reg.stage_results(env_id) if results is None else results:
        rows.append({
            "stage": _get(row, "stage"),
            "passed": _get(row, "passed"),
            "score": _get(row, "score"),
            "reason": _get(row, "reason") or "",
            "details": _get(row, "details") or {},
            "duration_s": round(float(_get(row, "duration_s") or 0.0), 4),
            "at": _iso(_get(row, "created_at")),
            "run_id": _get(row, "run_id"),
        })
    order = {s: i for i, s in enumerate(STAGES)}
    rows.sort(key=lambda r: (order.get(r["stage"], len(order)), r["at"] or ""))
    return rows


def latest_stages(rows: list[dict]) -> list[dict]:
    """The newest row of each stage, in pipeline order (re-runs append rows)."""
    latest: dict[str, dict] = {}
    for row in rows:
        latest[row["stage"]] = row
    order = {s: i for i, s in enumerate(STAGES)}
    return sorted(latest.values(), key=lambda r: order.get(r["stage"], len(order)))


def rejecting_stage(status_reason: str | None, rows: list[dict]) -> dict | None:
    """The stage that rejected this candidate, for every page and API route.

    The admission decision names it: its recorded reason reads "<stage>: why" (several stages may
    fail side by side; the decision takes the first a candidate meets). Without such a reason
    (older rows, a rejection by hand), the first failing stage in that order. The stage's newest
    row comes back (a bare one when the decision names a stage with no row)."""
    latest = latest_stages(rows)
    named = (status_reason or "").split(":", 1)[0].strip()
    if named in STAGES and ":" in (status_reason or ""):
        found = next((r for r in latest if r["stage"] == named), None)
        return found or {"stage": named, "passed": False, "score": None, "details": {}, "duration_s": 0.0,
                         "at": None, "run_id": None,
                         "reason": status_reason.split(":", 1)[1].strip()}
    return next((row for row in latest if row["passed"] is False), None)


def review_rows(reg: Any, env_id: int) -> list[dict]:
    return [{
        "reviewer": _get(r, "reviewer"),
        "verdict": _get(r, "verdict"),
        "text": _get(r, "text") or "",
        "details": _get(r, "details") or {},
        "at": _iso(_get(r, "created_at")),
    } for r in reg.reviews(env_id)]


def proposals(reg: Any, env_id: int) -> list[dict]:
    """The generator's prompt and completion for this candidate (one per time it was proposed)."""
    rows = reg.proposals(env_id)
    return [{"run_id": _get(p, "run_id"), "prompt": _get(p, "prompt") or "", "completion": _get(p, "completion") or "",
             "prompt_tokens": _get(p, "prompt_tokens"), "completion_tokens": _get(p, "completion_tokens"),
             "cost": _get(p, "cost")} for p in rows]


def calibration(reg: Any, env_id: int) -> dict[str, list[dict]]:
    curve = reg.calibration_curve(env_id) or {}
    out = {}
    for checkpoint, points in curve.items():
        out[str(checkpoint)] = [
            {"difficulty": int(d), "n": int(n), "passes": int(p), "rate": _rate(rate)}
            for d, n, p, rate in sorted(points)
        ]
    return out


def lineage(reg: Any, env_id: int, depth: int = 3, max_nodes: int = 60) -> dict:
    """Ancestors and descendants up to ``depth`` hops, as nodes (with a layer) and edges."""
    root = get_record(reg, env_id)
    nodes: dict[int, dict] = {env_id: {**_node(root), "layer": 0}}
    edges: set[tuple[int, int, str]] = set()
    truncated = False
    direct = reg.lineage(env_id)  # the root's own links: the first hop both ways, and the answer's lists
    for direction, step in (("parents", -1), ("children", 1)):
        frontier = [env_id]
        for level in range(1, depth + 1):
            links = {env_id: direct} if level == 1 else reg.lineage_many(frontier)  # one look-up per hop
            next_frontier = []
            for node in frontier:
                for other in links[node][direction]:
                    other_id, relation = other["id"], other["relation"]
                    edges.add((other_id, node, relation) if step < 0 else (node, other_id, relation))
                    if other_id in nodes:
                        continue
                    if len(nodes) >= max_nodes:
                        truncated = True
                        continue
                    nodes[other_id] = {**_node(other), "layer": step * level}
                    next_frontier.append(other_id)
            frontier = next_frontier
    edges = {e for e in edges if e[0] in nodes and e[1] in nodes}
    _layer_by_longest_path(nodes, edges)
    return {
        "root": env_id,
        "nodes": sorted(nodes.values(), key=lambda n: (n["layer"], n["id"])),
        "edges": [{"parent": p, "child": c, "relation": r} for p, c, r in sorted(edges)],
        "parents": [{**_node(i), "relation": i["relation"]} for i in direct["parents"]],
        "children": [{**_node(i), "relation": i["relation"]} for i in direct["children"]],
        "truncated": truncated,
    }


def _layer_by_longest_path(nodes: dict[int, dict], edges: set[tuple[int, int, str]]) -> None:
    """Push each descendant below all its parents and each ancestor above all its children,
    so a crossover child of a parent and a grandparent is drawn two rows down, not one."""
    for _ in range(len(nodes)):
        changed = False
        for parent, child, _relation in edges:
            p, c = nodes[parent], nodes[child]
            if p["layer"] >= 0 and c["layer"] > 0 and c["layer"] < p["layer"] + 1:
                c["layer"], changed = p["layer"] + 1, True
            if c["layer"] <= 0 and p["layer"] < 0 and p["layer"] > c["layer"] - 1:
                p["layer"], changed = c["layer"] - 1, True
        if not changed:
            break


def _node(rec: Any) -> dict:
    """An EnvRecord or a ``Registry.lineage`` entry as a graph node."""
    return {"id": int(_get(rec, "id")), "name": _get(rec, "name"), "status": _get(rec, "status"),
            "generation": _get(rec, "generation")}


def env_detail(reg: Any, rec: Any) -> dict:
    env_id = int(_get(rec, "id"))
    stages = stage_rows(reg, env_id)
    failing = rejecting_stage(_get(rec, "status_reason"), stages) if _get(rec, "status") == "rejected" else None
    curves = calibration(reg, env_id)
    item = summary(rec)
    return {
        **item,
        "code": _get(rec, "code") or "",
        "stages": stages,
        "latest_stages": latest_stages(stages),
        "failing_stage": failing["stage"] if failing else None,
        "reason": (failing["reason"] if failing else None) or _get(rec, "status_reason") or None,
        "reviews": review_rows(reg, env_id),
        "proposals": proposals(reg, env_id),
        "calibration": curves,
        "quarantine": _quarantine(reg, env_id),
    }


def _quarantine(reg: Any, env_id: int) -> dict | None:
    found = reg.quarantine_of(env_id) if hasattr(reg, "quarantine_of") else None
    if found is None:
        return None
    return {**found, "at": found["at"].isoformat() if found["at"] else None}


# ---------------------------------------------------------------- funnel

def _turned_away_at(rec: Any, rows: list[dict] | None) -> str | None:
    """Where the funnel loses this candidate: ``rejecting_stage`` for a rejected one, the first failed
    stage for a candidate still in the pipeline, nowhere for an admitted one (admission means no stage
    failed). ``rows`` None: not fetched (only needed when the recorded reason names no stage)."""
    status = _get(rec, "status")
    if status in EVER_ADMITTED:
        return None
    if status == "rejected":
        found = rejecting_stage(_get(rec, "status_reason"), rows or [])
    else:
        found = next((r for r in latest_stages(rows or []) if r["passed"] is False), None)
    return found["stage"] if found else None


def _needs_rows(rec: Any) -> bool:
    return _get(rec, "status") not in EVER_ADMITTED and not (
        _get(rec, "status") == "rejected" and rejecting_stage(_get(rec, "status_reason"), []) is not None)


def _funnel_bars(candidates: list[tuple[Any, list[dict] | None]], proposed: int) -> list[dict]:
    """Proposed, then the candidates still in after each stage, in the order a candidate meets them
    (the stage that rejected a candidate turns it away; a stage not run does not), then admitted.
    Seeds are not candidates and are counted apart; each bar is at most the one before it."""
    lost = [_turned_away_at(rec, rows) for rec, rows in candidates]
    bars = [{"step": "proposed", "count": proposed}]
    still_in = len(candidates)
    for stage in STAGES:
        still_in -= lost.count(stage)
        bars.append({"step": stage, "count": still_in})
    bars.append({"step": "admitted", "count": sum(1 for rec, _ in candidates if _get(rec, "status") in EVER_ADMITTED)})
    top = max(b["count"] for b in bars) or 0
    for bar in bars:
        bar["fraction"] = round(bar["count"] / top, 4) if top else 0.0
    return bars


def _tokens(summary_: dict) -> float | None:
    """Tokens a run spent: grow writes ``totals.tokens``; older or hand-written summaries ``tokens``."""
    totals = summary_.get("totals") if isinstance(summary_.get("totals"), dict) else {}
    for source, key in ((totals, "tokens"), (summary_, "tokens"), (summary_, "total_tokens")):
        if isinstance(source.get(key), (int, float)) and not isinstance(source.get(key), bool):
            return float(source[key])
    parts = [summary_.get(k) for k in ("prompt_tokens", "completion_tokens")]
    if all(isinstance(p, (int, float)) for p in parts):
        return float(sum(parts))
    return None


def _seconds(run: Any) -> float | None:
    summary_ = _get(run, "summary") or {}
    for key in ("seconds", "wall_s", "duration_s"):
        if isinstance(summary_.get(key), (int, float)):
            return float(summary_[key])
    rounds = summary_.get("rounds")
    if isinstance(rounds, list) and rounds and all(isinstance(r, dict) and isinstance(r.get("seconds"), (int, float))
                                                    for r in rounds):
        return float(sum(r["seconds"] for r in rounds))
    started, finished = _get(run, "started_at"), _get(run, "finished_at")
    if started is not None and finished is not None:
        return (finished - started).total_seconds()
    return None


def _proposed(run: Any, stored: int) -> tuple[int, int]:
    """(proposed, exact duplicates) as grow's report counts them. A proposal whose code is already
    stored is not stored again, so the registry alone sees ``proposed - duplicates`` candidates."""
    summary_ = _get(run, "summary") or {}
    totals = summary_.get("totals") if isinstance(summary_.get("totals"), dict) else {}
    candidates = summary_.get("candidates") if isinstance(summary_.get("candidates"), list) else None
    duplicates = (sum(1 for c in candidates if isinstance(c, dict) and c.get("outcome") == "duplicate")
                  if candidates is not None else 0)
    proposed = totals.get("proposed")
    if isinstance(proposed, int) and not isinstance(proposed, bool):
        return proposed, duplicates or max(0, proposed - stored)
    counts = _get(run, "counts") or {}
    return max(stored, sum(counts.values())) + duplicates, duplicates


def run_row(run: Any, candidates: list[tuple[Any, list[dict]]]) -> dict:
    """One run's line of the funnel page; ``candidates`` are its stored candidates with their stage rows."""
    rid = int(_get(run, "id"))
    counts = _get(run, "counts") or {}
    proposed, duplicates = _proposed(run, len(candidates))
    admitted = sum(counts.get(s, 0) for s in EVER_ADMITTED)
    tokens, seconds = _tokens(_get(run, "summary") or {}), _seconds(run)
    return {
        "id": rid, "kind": _get(run, "kind"), "status": _get(run, "status"),
        "started_at": _iso(_get(run, "started_at")),
        "proposed": proposed, "duplicates": duplicates, "admitted": admitted, "rejected": counts.get("rejected", 0),
        "tokens": tokens, "seconds": seconds,
        "tokens_per_admitted": round(tokens / admitted, 1) if tokens is not None and admitted else None,
        "seconds_per_admitted": round(seconds / admitted, 2) if seconds is not None and admitted else None,
        "bars": _funnel_bars(candidates, proposed),
    }


def _stored_candidates(reg: Any) -> list[tuple[Any, list[dict] | None]]:
    """Every proposed (not seed) environment, with its stage rows where the funnel needs them (a
    candidate whose status or recorded reason does not already say where it stopped): one query
    per origin for the records and one for those stage rows."""
    recs = [rec for origin in inputs.ORIGINS if origin != "seed"
            for rec in reg.list_envs(origin=origin, sort="id", limit=10_000_000)]
    wanted = [int(_get(rec, "id")) for rec in recs if _needs_rows(rec)]
    results = reg.stage_results_many(wanted) if wanted else {}
    return [(rec, stage_rows(None, int(_get(rec, "id")), results[int(_get(rec, "id"))])
             if int(_get(rec, "id")) in results else None) for rec in recs]


def funnel(reg: Any, run_id: int | None = None, max_runs: int = 50) -> dict:
    """Overall (or one run's) funnel of proposed candidates, seeds apart, and a row per run, newest first."""
    selected = None
    if run_id is not None:
        try:
            selected = reg.get_run(run_id)
        except LookupError as exc:
            raise NotFound(str(exc)) from None
    every_run = reg.runs(limit=100_000)
    candidates = _stored_candidates(reg)
    by_run: dict[int | None, list] = {}
    for item in candidates:
        by_run.setdefault(_get(item[0], "run_id"), []).append(item)
    rows = {int(_get(run, "id")): run_row(run, by_run.get(int(_get(run, "id")), [])) for run in every_run}
    if selected is not None:
        chosen = rows.get(run_id) or run_row(selected, by_run.get(run_id, []))
        bars, duplicates = chosen["bars"], chosen["duplicates"]
    else:
        duplicates = sum(r["duplicates"] for r in rows.values())
        bars = _funnel_bars(candidates, len(candidates) + duplicates)
    seed_recs = reg.list_envs(origin="seed", limit=10_000)
    seeds = {"total": len(seed_recs), "admitted": sum(1 for r in seed_recs if _get(r, "status") in EVER_ADMITTED)}
    return {"run_id": run_id, "bars": bars, "duplicates": duplicates,
            "seeds": seeds if selected is None else {"total": 0, "admitted": 0},
            "runs": [rows[int(_get(run, "id"))] for run in every_run[:max_runs]]}


# ---------------------------------------------------------------- rejected candidates

def stage_failures(reg: Any, search=None, scan_limit: int = 2000, batch: int = 200) -> dict[str, int]:
    """How many of the newest ``scan_limit`` rejected candidates each stage turned away, decided by
    ``rejecting_stage`` exactly as the filtered lists are (stage rows fetched only where the recorded
    reason does not name the stage)."""
    counts = {stage: 0 for stage in STAGES}
    scanned = 0
    while scanned < scan_limit:
        rows = reg.list_envs(status="rejected", search=search, sort="created", limit=min(batch, scan_limit - scanned),
                             offset=scanned)
        scanned += len(rows)
        unnamed = []
        for rec in rows:
            stage = rejecting_stage(_get(rec, "status_reason"), [])
            if stage is not None:
                counts[stage["stage"]] += 1
            else:
                unnamed.append(rec)
        if unnamed:
            for item in _rejected_items(reg, unnamed):
                if item["failing_stage"] in counts:
                    counts[item["failing_stage"]] += 1
        if len(rows) < batch:
            break
    return counts


_NUMBER = re.compile(r"(?<![A-Za-z_])-?\d+(\.\d+)?")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def reason_pattern(reason: str) -> str:
    """A reason with its numbers and quoted values blanked, so the same failure groups together."""
    return _NUMBER.sub("N", _QUOTED.sub("'…'", reason.strip()))[:160]


def common_reasons(items: list[dict], top: int = 5) -> list[dict]:
    counts: dict[tuple[str | None, str], int] = {}
    for item in items:
        key = (item["failing_stage"], reason_pattern(item["reason"]))
        counts[key] = counts.get(key, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][1]))
    return [{"stage": stage, "pattern": pattern, "count": n} for (stage, pattern), n in ranked[:top] if n > 1]


def _rejected_items(reg: Any, recs: list) -> list[dict]:
    """One query for every row's stage results, not one per row."""
    results = reg.stage_results_many([int(_get(rec, "id")) for rec in recs])
    return [_rejected_item(rec, results.get(int(_get(rec, "id")), [])) for rec in recs]


def _rejected_item(rec: Any, results: list) -> dict:
    stages = stage_rows(None, int(_get(rec, "id")), results)
    failing = rejecting_stage(_get(rec, "status_reason"), stages)
    return {
        **summary(rec),
        "failing_stage": failing["stage"] if failing else None,
        "reason": (failing["reason"] if failing else "") or _get(rec, "status_reason") or "no reason recorded",
        "details": failing["details"] if failing else {},
        "passed_stages": [r["stage"] for r in latest_stages(stages) if r["passed"]],
    }


def _scan_for_stage(reg: Any, stage: str, search, skip: int, page_size: int, scan_limit: int, batch: int = 50):
    """Walk the rejected list, newest first, keeping those whose failing stage is ``stage``.
    The failing stage comes from the stage rows, fetched in one query per batch scanned."""
    items: list[dict] = []
    skipped = scanned = 0
    while scanned < scan_limit:
        want = min(batch, scan_limit - scanned)
        rows = reg.list_envs(status="rejected", search=search, sort="created", limit=want, offset=scanned)
        scanned += len(rows)
        for item in _rejected_items(reg, rows):
            if item["failing_stage"] != stage:
                continue
            if skipped < skip:
                skipped += 1
                continue
            items.append(item)
            if len(items) > page_size:
                return items[:page_size], True, False
        if len(rows) < want:
            return items, False, False
    return items, False, True


def rejected(reg: Any, *, stage=None, search=None, page=1, page_size=inputs.REJECTED_PAGE_SIZE, scan_limit=2000) -> dict:
    """Rejected candidates, newest first, each with the stage that failed and why.
    Filtering by stage scans at most ``scan_limit`` of the newest rejected candidates."""
    skip = (page - 1) * page_size
    if stage is None:
        rows = reg.list_envs(status="rejected", search=search, sort="created", limit=page_size + 1, offset=skip)
        items = _rejected_items(reg, rows[:page_size])
        has_next, truncated = len(rows) > page_size, False
    else:
        items, has_next, truncated = _scan_for_stage(reg, stage, search, skip, page_size, scan_limit)
    return {
        "items": items, "page": page, "page_size": page_size, "has_next": has_next,
        "common_reasons": common_reasons(items),
        "filters": {"stage": stage, "q": search},
        "counts": stage_failures(reg, search, scan_limit),
        "scan_truncated": truncated,
    }
