"""Read the registry and shape what each page (and its JSON twin) shows.

Every function returns plain JSON-ready dicts, so the HTML templates and the
``/api`` routes show exactly the same data. Only the Registry API is used here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from evoenv.web import inputs

STAGE_ORDER = inputs.STAGE_NAMES


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
        "pass_rate": _rate(_get(rec, "pass_rate")),
        "novelty": _rate(_get(rec, "novelty")),
    }


class NotFound(LookupError):
    pass


def get_record(reg: Any, ref: int | str) -> Any:
    try:
        rec = reg.get(ref)
    except (LookupError, ValueError) as exc:
        raise NotFound(f"no environment {ref!r} in the registry") from exc
    if rec is None:
        raise NotFound(f"no environment {ref!r} in the registry")
    return rec


# ---------------------------------------------------------------- list page

def env_list(reg: Any, *, status=None, origin=None, tag=None, search=None, sort="created",
             page=1, page_size=inputs.PAGE_SIZE) -> dict:
    # One extra row tells whether a next page exists without counting the table.
    rows = reg.list_envs(status=status, origin=origin, tag=tag, search=search,
                         sort=inputs.SORTS[sort], limit=page_size + 1, offset=(page - 1) * page_size)
    items = [summary(r) for r in rows[:page_size]]
    return {
        "items": items, "page": page, "page_size": page_size, "has_next": len(rows) > page_size,
        "filters": {"status": status, "origin": origin, "tag": tag, "q": search, "sort": sort},
    }


# ---------------------------------------------------------------- one environment

def stage_rows(reg: Any, env_id: int) -> list[dict]:
    rows = []
    for row in reg.stage_results(env_id):
        rows.append({
            "stage": _get(row, "stage"),
            "passed": _get(row, "passed"),
            "score": _get(row, "score"),
            "reason": _get(row, "reason") or "",
            "details": _get(row, "details") or {},
            "duration_s": round(float(_get(row, "duration_s") or 0.0), 4),
            "at": _iso(_get(row, "created_at") or _get(row, "at")),
            "run_id": _get(row, "run_id"),
        })
    order = {s: i for i, s in enumerate(STAGE_ORDER)}
    rows.sort(key=lambda r: (order.get(r["stage"], len(order)), r["at"] or ""))
    return rows


def latest_stages(rows: list[dict]) -> list[dict]:
    """The newest row of each stage, in pipeline order (re-runs append rows)."""
    latest: dict[str, dict] = {}
    for row in rows:
        latest[row["stage"]] = row
    order = {s: i for i, s in enumerate(STAGE_ORDER)}
    return sorted(latest.values(), key=lambda r: order.get(r["stage"], len(order)))


def failing_stage(rows: list[dict]) -> dict | None:
    for row in latest_stages(rows):
        if row["passed"] is False:
            return row
    return None


def review_rows(reg: Any, env_id: int) -> list[dict]:
    return [{
        "reviewer": _get(r, "reviewer"),
        "verdict": _get(r, "verdict"),
        "text": _get(r, "text") or "",
        "details": _get(r, "details") or {},
        "at": _iso(_get(r, "created_at")),
    } for r in reg.reviews(env_id)]


def calibration(reg: Any, env_id: int) -> dict[str, list[dict]]:
    curve = reg.calibration_curve(env_id) or {}
    out = {}
    for checkpoint, points in curve.items():
        out[str(checkpoint)] = [
            {"difficulty": int(d), "n": int(n), "passes": int(p), "rate": _rate(rate)}
            for d, n, p, rate in sorted(points)
        ]
    return out


def _link(item: Any) -> tuple[Any, str]:
    """A lineage entry as (record-like, relation), whatever shape the registry returns."""
    if isinstance(item, tuple):
        return item[0], str(item[1])
    return item, str(_get(item, "relation") or "")


def _node_id(obj: Any) -> int:
    value = _get(obj, "id")
    if value is None:
        value = _get(obj, "env_id")
    return int(value)


def lineage(reg: Any, env_id: int, depth: int = 3, max_nodes: int = 60) -> dict:
    """Ancestors and descendants up to ``depth`` hops, as nodes (with a layer) and edges."""
    root = get_record(reg, env_id)
    nodes: dict[int, dict] = {env_id: {**_node(root), "layer": 0}}
    edges: set[tuple[int, int, str]] = set()
    truncated = False
    for direction, step in (("parents", -1), ("children", 1)):
        frontier = [env_id]
        for level in range(1, depth + 1):
            next_frontier = []
            for node in frontier:
                for item in reg.lineage(node).get(direction, []):
                    other, relation = _link(item)
                    other_id = _node_id(other)
                    edge = (other_id, node, relation) if step < 0 else (node, other_id, relation)
                    edges.add(edge)
                    if other_id in nodes:
                        continue
                    if len(nodes) >= max_nodes:
                        truncated = True
                        continue
                    if _get(other, "name") is None:
                        other = get_record(reg, other_id)
                    nodes[other_id] = {**_node(other), "layer": step * level}
                    next_frontier.append(other_id)
            frontier = next_frontier
    direct = reg.lineage(env_id)
    return {
        "root": env_id,
        "nodes": sorted(nodes.values(), key=lambda n: (n["layer"], n["id"])),
        "edges": [{"parent": p, "child": c, "relation": r} for p, c, r in sorted(edges) if p in nodes and c in nodes],
        "parents": [{**_node(_link(i)[0]), "relation": _link(i)[1]} for i in direct.get("parents", [])],
        "children": [{**_node(_link(i)[0]), "relation": _link(i)[1]} for i in direct.get("children", [])],
        "truncated": truncated,
    }


def _node(rec: Any) -> dict:
    return {"id": _node_id(rec), "name": _get(rec, "name"), "status": _get(rec, "status"),
            "generation": _get(rec, "generation")}


def env_detail(reg: Any, rec: Any) -> dict:
    env_id = int(_get(rec, "id"))
    stages = stage_rows(reg, env_id)
    failing = failing_stage(stages)
    return {
        **summary(rec),
        "code": _get(rec, "code") or "",
        "stages": stages,
        "latest_stages": latest_stages(stages),
        "failing_stage": failing["stage"] if failing else None,
        "reason": (failing["reason"] if failing else None) or _get(rec, "reason"),
        "reviews": review_rows(reg, env_id),
        "calibration": calibration(reg, env_id),
    }


# ---------------------------------------------------------------- funnel

FUNNEL_STEPS = ("proposed",) + STAGE_ORDER + ("admitted",)


def _funnel_bars(raw: dict) -> list[dict]:
    """``Registry.funnel`` rows as one bar per step: proposed, each stage that passed, admitted."""
    bars = []
    first = raw.get(STAGE_ORDER[0], {})
    proposed = int(first.get("entered", 0))
    bars.append({"step": "proposed", "count": proposed})
    for stage in STAGE_ORDER:
        row = raw.get(stage)
        if row is None:
            continue
        bars.append({"step": stage, "count": int(row.get("passed", 0)), "entered": int(row.get("entered", 0))})
    admitted = raw.get("admitted")
    if isinstance(admitted, dict):
        admitted = admitted.get("passed", admitted.get("entered", 0))
    if admitted is None:
        admitted = bars[-1]["count"] if len(bars) > 1 else 0
    bars.append({"step": "admitted", "count": int(admitted)})
    for bar in bars:
        bar["fraction"] = round(bar["count"] / proposed, 4) if proposed else 0.0
    return bars


def _runs(reg: Any) -> list[Any]:
    for name in ("list_runs", "runs"):
        method = getattr(reg, name, None)
        if callable(method):
            return list(method())
    return []


def funnel(reg: Any, run_id: int | None = None) -> dict:
    overall = _funnel_bars(reg.funnel(run_id=run_id))
    runs = []
    for run in _runs(reg):
        rid = int(_get(run, "id"))
        bars = _funnel_bars(reg.funnel(run_id=rid))
        summary_ = _get(run, "summary") or {}
        admitted = bars[-1]["count"]
        tokens = summary_.get("tokens", summary_.get("total_tokens"))
        seconds = summary_.get("seconds", summary_.get("wall_s"))
        runs.append({
            "id": rid, "kind": _get(run, "kind"), "status": _get(run, "status"),
            "started_at": _iso(_get(run, "started_at") or _get(run, "created_at")),
            "proposed": bars[0]["count"], "admitted": admitted,
            "tokens": tokens, "seconds": seconds,
            "tokens_per_admitted": round(tokens / admitted, 1) if tokens is not None and admitted else None,
            "seconds_per_admitted": round(seconds / admitted, 2) if seconds is not None and admitted else None,
            "bars": bars,
        })
    return {"run_id": run_id, "bars": overall, "runs": runs}


# ---------------------------------------------------------------- rejected candidates

def stage_failures(reg: Any) -> dict[str, int]:
    """How many candidates each stage turned away, from the registry's funnel."""
    raw = reg.funnel(run_id=None)
    return {stage: int(raw[stage].get("entered", 0)) - int(raw[stage].get("passed", 0))
            for stage in STAGE_ORDER if stage in raw}


def rejected(reg: Any, *, stage=None, search=None, page=1, page_size=20, scan_limit=5000) -> dict:
    """Rejected candidates, newest first, each with the stage that failed and why.

    Filtering by stage walks the rejected list in batches (at most ``scan_limit``
    rows), since the failing stage is derived from the stage rows."""
    wanted_skip = (page - 1) * page_size
    items: list[dict] = []
    skipped = scanned = 0
    offset = 0
    batch = page_size + 1 if stage is None else 200
    exhausted = False
    while len(items) <= page_size and scanned < scan_limit:
        if stage is None:
            rows = reg.list_envs(status="rejected", search=search, sort="created",
                                 limit=page_size + 1, offset=wanted_skip)
        else:
            rows = reg.list_envs(status="rejected", search=search, sort="created", limit=batch, offset=offset)
        scanned += len(rows)
        for rec in rows:
            env_id = int(_get(rec, "id"))
            stages = stage_rows(reg, env_id) if (stage is not None or len(items) < page_size) else []
            failing = failing_stage(stages)
            failing_name = failing["stage"] if failing else None
            if stage is not None and failing_name != stage:
                continue
            if stage is not None and skipped < wanted_skip:
                skipped += 1
                continue
            items.append({
                **summary(rec),
                "failing_stage": failing_name,
                "reason": (failing["reason"] if failing else "") or _get(rec, "reason") or "no reason recorded",
                "details": failing["details"] if failing else {},
                "passed_stages": [r["stage"] for r in latest_stages(stages) if r["passed"]],
            })
        if stage is None or len(rows) < batch:
            exhausted = True
            break
        offset += batch
    return {
        "items": items[:page_size], "page": page, "page_size": page_size,
        "has_next": len(items) > page_size,
        "filters": {"stage": stage, "q": search},
        "counts": stage_failures(reg),
        "scan_truncated": not exhausted and scanned >= scan_limit,
    }
