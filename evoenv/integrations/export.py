"""Build ``{question, answer, metadata}`` rows and write them as JSONL, verl parquet or an HF dataset."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from evoenv.integrations.catalog import Catalog, CatalogEntry
from evoenv.integrations.rows import RowMeta, make_row
from evoenv.sandbox import Sandbox, SandboxedEnv, open_sandbox

FORMATS = ("jsonl", "verl", "hf")
_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")


def parse_difficulty(spec: str) -> str | tuple[int, int]:
    """``auto``, ``D`` or ``A-B`` (inclusive)."""
    if spec == "auto":
        return "auto"
    match = _RANGE.match(spec.strip())
    if not match:
        raise ValueError(f"--difficulty must be 'auto', a level like 5 or a range like 3-7, not {spec!r}")
    low = int(match.group(1))
    high = int(match.group(2) or low)
    if low < 1 or high < low:
        raise ValueError(f"difficulty range {spec!r} must satisfy 1 <= A <= B")
    return low, high


def levels_for(entry: CatalogEntry, max_difficulty: int, spec, catalog: Catalog) -> list[int]:
    if spec == "auto":
        band = [d for d in catalog.calibrated_band(entry) if d <= max_difficulty]
        return band or [(max_difficulty + 1) // 2]
    low, high = spec
    if high > max_difficulty:
        raise ValueError(f"{entry.name} has levels 1..{max_difficulty}; difficulty {low}-{high} is out of range")
    return list(range(low, high + 1))


def build_rows(envs: str = "admitted", per_env: int = 16, difficulty: str = "auto", seed: int = 0,
               catalog: Catalog | None = None, sandbox: Sandbox | None = None,
               progress: Callable[[str], None] | None = None) -> list[dict]:
    """Render ``per_env`` instances of every selected environment (seeds S, S+1, ...)."""
    catalog = catalog or Catalog()
    spec = parse_difficulty(difficulty)
    owned = sandbox is None
    sandbox = sandbox or open_sandbox()
    rows: list[dict] = []
    try:
        for entry in catalog.select(envs):
            env = SandboxedEnv(entry.code, sandbox)
            levels = levels_for(entry, entry.max_difficulty or env.info().max_difficulty, spec, catalog)
            pairs = [(seed + i, levels[i % len(levels)]) for i in range(per_env)]
            for rendered in env.render_many(pairs):
                meta = RowMeta(entry.env_id, entry.name, entry.code_sha256, rendered.seed, rendered.difficulty)
                rows.append(make_row(meta, rendered))
            if progress:
                progress(entry.name)
    finally:
        if owned:
            sandbox.close()
    return rows


def verl_record(row: dict, index: int) -> dict:
    meta = row["metadata"]
    return {
        "data_source": f"evoenv/{meta['env_name']}",
        "prompt": [{"role": "user", "content": row["question"]}],
        "ability": "reasoning",
        "reward_model": {"style": "rule", "ground_truth": row["answer"]},
        "extra_info": {**meta, "env_id": meta["env_id"] if meta["env_id"] is not None else -1, "index": index},
    }


def write_jsonl(rows: list[dict], out: Path) -> None:
    with out.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_verl(rows: list[dict], out: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist([verl_record(r, i) for i, r in enumerate(rows)]), out)


def write_hf(rows: list[dict], out: Path) -> None:
    import datasets

    flat = [{**r, "metadata": json.dumps(r["metadata"], sort_keys=True)} for r in rows]
    datasets.Dataset.from_list(flat).save_to_disk(str(out))


WRITERS = {"jsonl": write_jsonl, "verl": write_verl, "hf": write_hf}


def write_rows(rows: list[dict], fmt: str, out: Path) -> None:
    if fmt not in WRITERS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    WRITERS[fmt](rows, out)
