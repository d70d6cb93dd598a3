"""Inline SVG drawn on the server: calibration curves, lineage graphs, funnel bars.

No chart library and no JavaScript: the pages stay fast and print well.
"""

from __future__ import annotations

import textwrap
from html import escape

from markupsafe import Markup

from evoenv.defaults import TARGET_PASS_RATE

PALETTE = ("#2563eb", "#db2777", "#059669", "#d97706", "#7c3aed", "#0891b2", "#dc2626", "#4b5563")
STATUS_FILL = {"admitted": "#dcfce7", "rejected": "#fee2e2", "candidate": "#fef9c3", "retired": "#e5e7eb"}
STATUS_STROKE = {"admitted": "#16a34a", "rejected": "#dc2626", "candidate": "#ca8a04", "retired": "#6b7280"}


def _svg(width: int, height: int, body: list[str], label: str) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'style="max-width:{width}px" role="img" aria-label="{escape(label)}">' + "".join(body) + "</svg>")


#: Characters of legend text per line under the calibration chart (about 600 px at the legend's size).
LEGEND_CHARS = 76


def _legend_lines(text: str) -> list[str]:
    """The whole text in lines of at most LEGEND_CHARS, broken at spaces where it can be (checkpoint
    names are paths and specs, so a long one breaks anywhere)."""
    return textwrap.wrap(text, LEGEND_CHARS, break_on_hyphens=False) or [""]


def probed_levels(curves: dict[str, list[dict]]) -> list[int]:
    return sorted({int(p["difficulty"]) for pts in curves.values() for p in pts})


def calibration_svg(curves: dict[str, list[dict]], max_difficulty: int,
                    target: float = TARGET_PASS_RATE) -> Markup:
    """Pass rate per difficulty, one line per checkpoint, with the target rate dashed. Every probed
    level is labelled on the axis (levels never probed get a bare tick), points of a short curve carry
    their passes/n, and the legend sits under the plot with the checkpoints' full names."""
    width = 640
    left, right, top, plot_h = 48, 24, 16, 220
    plot_w = width - left - right
    max_d = max([max_difficulty or 1] + [p["difficulty"] for pts in curves.values() for p in pts])
    probed = set(probed_levels(curves))

    def x(d: float) -> float:
        return left + (plot_w * (d - 1) / (max_d - 1) if max_d > 1 else plot_w / 2)

    def y(rate: float) -> float:
        return top + plot_h * (1 - rate)

    body = []
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        body.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" class="grid"/>')
        body.append(f'<text x="{left - 8}" y="{y(tick) + 4:.1f}" text-anchor="end" class="tick">{tick:.2f}</text>')
    step = 1 if max_d <= 12 else max(1, max_d // 10)
    for d in range(1, max_d + 1):
        base = top + plot_h
        body.append(f'<line x1="{x(d):.1f}" x2="{x(d):.1f}" y1="{base}" y2="{base + 4}" class="grid"/>')
        if d in probed:
            body.append(f'<text x="{x(d):.1f}" y="{base + 18}" text-anchor="middle" class="tick probed" '
                        f'font-weight="bold">{d}</text>')
        elif (d - 1) % step == 0:
            body.append(f'<text x="{x(d):.1f}" y="{base + 18}" text-anchor="middle" class="tick">{d}</text>')
    body.append(f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h + 36}" text-anchor="middle" class="axis">'
                f'difficulty (bold: probed levels)</text>')
    body.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(target):.1f}" y2="{y(target):.1f}" class="target"/>')
    body.append(f'<text x="{left + plot_w - 4}" y="{y(target) - 5:.1f}" text-anchor="end" class="tick target-label">target {target}</text>')
    legend_y = top + plot_h + 58
    for i, (checkpoint, points) in enumerate(sorted(curves.items())):
        color = PALETTE[i % len(PALETTE)]
        pts = [(x(p["difficulty"]), y(p["rate"] or 0.0), p) for p in points]
        if len(pts) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _ in pts)
            body.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2.2"/>')
        for px, py, p in pts:
            tip = f"{checkpoint}: difficulty {p['difficulty']}, {p['passes']}/{p['n']} passed ({p['rate']:.2f})"
            body.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.6" fill="{color}"><title>{escape(tip)}</title></circle>')
            if len(pts) <= 3:  # too few points to read a trend: say what each one is
                body.append(f'<text x="{px + 6:.1f}" y="{py - 6:.1f}" class="tick point-label" fill="{color}">'
                            f'{p["passes"]}/{p["n"]}</text>')
        lines = _legend_lines(f"{checkpoint} ({len(points)} level{'s' if len(points) != 1 else ''} probed)")
        body.append(f'<line x1="{left}" x2="{left + 20}" y1="{legend_y - 4}" y2="{legend_y - 4}" stroke="{color}" stroke-width="3"/>')
        for line in lines:
            body.append(f'<text x="{left + 26}" y="{legend_y}" class="legend">{escape(line)}</text>')
            legend_y += 16
        legend_y += 4
    return _svg(width, legend_y, body, "calibration curve: pass rate by difficulty")


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def lineage_svg(graph: dict) -> Markup:
    """Parents above, the environment in the middle, children below; each node links to its page."""
    node_w, node_h, gap_x, gap_y, pad = 184, 44, 22, 56, 16
    layers: dict[int, list[dict]] = {}
    for node in graph["nodes"]:
        layers.setdefault(node["layer"], []).append(node)
    widest = max(len(v) for v in layers.values())
    width = max(2 * pad + widest * node_w + (widest - 1) * gap_x + 60, 380)  # + room for bowed edges
    order = sorted(layers)
    height = 2 * pad + len(order) * node_h + (len(order) - 1) * gap_y + 10
    neighbours: dict[int, list[int]] = {}
    for edge in graph["edges"]:
        neighbours.setdefault(edge["parent"], []).append(edge["child"])
        neighbours.setdefault(edge["child"], []).append(edge["parent"])
    pos: dict[int, tuple[float, float]] = {}
    for row, layer in enumerate(order):
        nodes = layers[layer]
        if row:  # barycentre ordering: sit each node under the nodes it connects to, fewer crossings
            def centre(node: dict) -> float:
                xs = [pos[n][0] for n in neighbours.get(node["id"], []) if n in pos]
                return sum(xs) / len(xs) if xs else float("inf")
            nodes = sorted(nodes, key=centre)
        span = len(nodes) * node_w + (len(nodes) - 1) * gap_x
        x0 = (width - span) / 2
        for i, node in enumerate(nodes):
            pos[node["id"]] = (x0 + i * (node_w + gap_x), pad + row * (node_h + gap_y))
    body = ['<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#94a3b8"/></marker></defs>']
    for edge in graph["edges"]:
        (px, py), (cx, cy) = pos[edge["parent"]], pos[edge["child"]]
        x1, y1, x2, y2 = px + node_w / 2, py + node_h, cx + node_w / 2, cy
        mid = (y1 + y2) / 2
        if cy - py > node_h + gap_y + 1:  # skips a row: bow out to the right so it does not cross the nodes between
            x1, x2 = px + node_w, cx + node_w
            y1, y2 = py + node_h / 2, cy + node_h / 2
            bow = max(x1, x2) + 46
            body.append(f'<path d="M {x1:.1f} {y1:.1f} C {bow:.1f} {y1:.1f}, {bow:.1f} {y2:.1f}, {x2 + 2:.1f} {y2:.1f}" '
                        f'class="edge" marker-end="url(#arrow)"/>')
            label_x, label_y = bow - 8, mid + 4
        else:
            body.append(f'<path d="M {x1:.1f} {y1:.1f} C {x1:.1f} {mid:.1f}, {x2:.1f} {mid:.1f}, {x2:.1f} {y2 - 2:.1f}" '
                        f'class="edge" marker-end="url(#arrow)"/>')
            label_x, label_y = (x1 + x2) / 2 + 4, mid + 4
        if edge["relation"]:
            body.append(f'<text x="{label_x:.1f}" y="{label_y:.1f}" class="relation">{escape(edge["relation"])}</text>')
    for node in graph["nodes"]:
        x, y = pos[node["id"]]
        fill = STATUS_FILL.get(node["status"], "#f1f5f9")
        stroke = STATUS_STROKE.get(node["status"], "#64748b")
        root = node["id"] == graph["root"]
        body.append(f'<a href="/envs/{node["id"]}"><g class="node{" root" if root else ""}">'
                    f'<title>{escape(str(node["name"]))} (#{node["id"]}, {escape(str(node["status"]))})</title>'
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{node_w}" height="{node_h}" rx="8" fill="{fill}" '
                    f'stroke="{stroke}" stroke-width="{3 if root else 1.4}"/>'
                    f'<text x="{x + node_w / 2:.1f}" y="{y + 19:.1f}" text-anchor="middle" class="node-name">'
                    f'{escape(_clip(str(node["name"]), 23))}</text>'
                    f'<text x="{x + node_w / 2:.1f}" y="{y + 35:.1f}" text-anchor="middle" class="node-meta">'
                    f'#{node["id"]} · gen {node["generation"] or 0} · {escape(str(node["status"]))}</text></g></a>')
    return _svg(int(width), int(height), body, "lineage graph")


def funnel_svg(bars: list[dict], compact: bool = False) -> Markup:
    """One horizontal bar per step, as a share of proposed candidates."""
    label_w, bar_w, count_w = (84, 300, 110) if compact else (110, 460, 130)
    row_h = 20 if compact else 30
    width, height = label_w + bar_w + count_w, row_h * len(bars) + 6
    body = []
    for i, bar in enumerate(bars):
        y = 3 + i * row_h
        w = max(bar["fraction"] * bar_w, 1.5 if bar["count"] else 0)
        cls = "bar admitted" if bar["step"] == "admitted" else ("bar proposed" if bar["step"] == "proposed" else "bar")
        body.append(f'<text x="{label_w - 8}" y="{y + row_h * 0.62:.1f}" text-anchor="end" class="tick">{escape(bar["step"])}</text>')
        body.append(f'<rect x="{label_w}" y="{y + 2}" width="{bar_w}" height="{row_h - 6}" rx="3" class="bar-bg"/>')
        body.append(f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row_h - 6}" rx="3" class="{cls}">'
                    f'<title>{escape(bar["step"])}: {bar["count"]}</title></rect>')
        body.append(f'<text x="{label_w + bar_w + 8}" y="{y + row_h * 0.62:.1f}" class="count">'
                    f'{bar["count"]} · {bar["fraction"] * 100:.0f}%</text>')
    return _svg(width, height, body, "admission funnel")


def runs_svg(runs: list[dict]) -> Markup:
    """Proposed (grey) and admitted (green) per run, oldest on the left."""
    runs = sorted(runs, key=lambda r: r["id"])[-40:]
    col_w, gap, height, top, bottom, left = 26, 14, 170, 14, 34, 36
    width = max(left + len(runs) * (col_w + gap) + 10, 300)  # room for the whole legend line
    peak = max([r["proposed"] for r in runs] + [1])
    plot_h = height - top - bottom
    body = [f'<line x1="{left}" x2="{width}" y1="{top + plot_h}" y2="{top + plot_h}" class="grid"/>',
            f'<text x="{left - 6}" y="{top + 8}" text-anchor="end" class="tick">{peak}</text>',
            f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" class="tick">0</text>']
    for i, run in enumerate(runs):
        x = left + 6 + i * (col_w + gap)
        h_all = plot_h * run["proposed"] / peak
        h_ok = plot_h * run["admitted"] / peak
        tip = f'run #{run["id"]}: {run["admitted"]} of {run["proposed"]} admitted'
        body.append(f'<a href="/funnel?run={run["id"]}"><g><title>{escape(tip)}</title>'
                    f'<rect x="{x}" y="{top + plot_h - h_all:.1f}" width="{col_w}" height="{h_all:.1f}" rx="2" class="bar proposed"/>'
                    f'<rect x="{x}" y="{top + plot_h - h_ok:.1f}" width="{col_w}" height="{h_ok:.1f}" rx="2" class="bar admitted"/>'
                    f'</g></a>')
        body.append(f'<text x="{x + col_w / 2}" y="{height - 18}" text-anchor="middle" class="tick">#{run["id"]}</text>')
    body.append(f'<text x="{left}" y="{height - 2}" class="tick">grey: proposed · green: admitted</text>')
    return _svg(int(width), height, body, "proposed and admitted per run")
