"""Build ``{question, answer, metadata}`` rows and write them as JSONL, verl parquet or an HF dataset.

Rows stream: environments render in chunks under the sandbox's result cap
(``evoenv.sandbox.stream``) and writers take rows as they come, so an export of
any size runs in bounded memory. Everything that can be checked (selection,
difficulty levels, seeds, the output path) is checked before rendering starts.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from evoenv.integrations.catalog import Catalog, CatalogEntry
from evoenv.integrations.rows import RowMeta, make_row
from evoenv.sandbox import EnvCallError, Sandbox, SandboxedEnv, SandboxError, open_sandbox
from evoenv.sandbox.stream import Oversize, render_stream
from evoenv.sdk import MAX_SEED

FORMATS = ("jsonl", "verl", "hf")
#: Rows per write: parquet row groups, HF writer batches.
WRITE_BATCH = 1000
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


class ExportError(RuntimeError):
    """Rendering or writing stopped; the message names the environment (and what was kept)."""


class OversizeInstance(ExportError):
    """An instance alone exceeds the sandbox's result cap, and the export is strict."""


def check_seeds(seed: int, count: int) -> None:
    """Instance seeds ``seed .. seed+count-1`` must lie in 0..MAX_SEED."""
    if seed < 0 or seed + max(count, 1) - 1 > MAX_SEED:
        raise ValueError(f"seeds must lie in 0..{MAX_SEED}; --seed {seed} with {count} rows per environment "
                         f"reaches {seed + max(count, 1) - 1}")


@dataclass
class EnvPlan:
    """One environment's part of an export: its code in the sandbox and the (seed, difficulty) pairs."""

    entry: CatalogEntry
    env: SandboxedEnv
    pairs: list[tuple[int, int]]


def plan_rows(envs: str, per_env: int, difficulty: str, seed: int, catalog: Catalog, sandbox: Sandbox,
              allow_rejected_or_retired: bool = False) -> list[EnvPlan]:
    """Select environments and their levels; raises before anything renders."""
    spec = parse_difficulty(difficulty)
    check_seeds(seed, per_env)
    plans = []
    for entry in catalog.select(envs, allow_rejected_or_retired):
        env = SandboxedEnv(entry.code, sandbox)
        try:
            max_difficulty = entry.max_difficulty or env.info().max_difficulty
        except (SandboxError, EnvCallError) as exc:
            raise ExportError(f"{entry.name} does not load: {exc}") from None
        levels = levels_for(entry, max_difficulty, spec, catalog)
        plans.append(EnvPlan(entry, env, [(seed + i, levels[i % len(levels)]) for i in range(per_env)]))
    return plans


def iter_rows(plans: list[EnvPlan], strict: bool = False,
              on_skip: Callable[[str], None] | None = None) -> Iterator[dict]:
    """Rows, as the sandbox renders them. An instance too large to come back alone is skipped
    (``on_skip`` gets a line naming it) or, when ``strict``, raises ``OversizeInstance``."""
    for plan in plans:
        entry = plan.entry
        try:
            for item in render_stream(plan.env, plan.pairs):
                if isinstance(item, Oversize):
                    if strict:
                        raise OversizeInstance(item.describe(entry.name) + " (--strict)")
                    if on_skip:
                        on_skip(item.describe(entry.name) + "; skipped")
                    continue
                yield make_row(RowMeta(entry.env_id, entry.name, entry.code_sha256, item.seed, item.difficulty),
                               item)
        except (SandboxError, EnvCallError) as exc:
            raise ExportError(f"{entry.name}: {exc}") from None


def build_rows(envs: str = "admitted", per_env: int = 16, difficulty: str = "auto", seed: int = 0,
               catalog: Catalog | None = None, sandbox: Sandbox | None = None,
               progress: Callable[[int], None] | None = None, strict: bool = False,
               on_skip: Callable[[str], None] | None = None,
               allow_rejected_or_retired: bool = False) -> list[dict]:
    """Render ``per_env`` instances of every selected environment (seeds S, S+1, ...), as a list.
    ``progress`` gets 1 per row. Too large for memory? Stream: ``write_rows(iter_rows(plan_rows(...)), ...)``
    as ``evoenv export`` does."""
    catalog = catalog or Catalog()
    owned = sandbox is None
    sandbox = sandbox or open_sandbox()
    try:
        plans = plan_rows(envs, per_env, difficulty, seed, catalog, sandbox, allow_rejected_or_retired)
        rows = []
        for row in iter_rows(plans, strict, on_skip):
            rows.append(row)
            if progress:
                progress(1)
        return rows
    finally:
        if owned:
            sandbox.close()


def verl_record(row: dict, index: int) -> dict:
    meta = row["metadata"]
    return {
        "data_source": f"evoenv/{meta['env_name']}",
        "prompt": [{"role": "user", "content": row["question"]}],
        "ability": "reasoning",
        "reward_model": {"style": "rule", "ground_truth": row["answer"]},
        "extra_info": {**meta, "env_id": meta["env_id"] if meta["env_id"] is not None else -1, "index": index},
    }


def hf_record(row: dict, prompt_style: str = "chat") -> dict:
    """A row as TRL's GRPOTrainer takes it: ``prompt`` (chat messages or text); ``question`` and
    ``answer`` kept for reasoning-gym habits; ``metadata`` as JSON text for the reward function."""
    prompt = [{"role": "user", "content": row["question"]}] if prompt_style == "chat" else row["question"]
    return {"prompt": prompt, "question": row["question"], "answer": row["answer"],
            "metadata": json.dumps(row["metadata"], sort_keys=True)}


class _Guarded:
    """Iterates rows until they end or raise; keeps the error for after the writer has closed,
    so rows already written are never lost to a later failure."""

    def __init__(self, rows: Iterable[dict]):
        self._rows = iter(rows)
        self.error: BaseException | None = None
        self.count = 0

    def __iter__(self) -> Iterator[dict]:
        try:
            for row in self._rows:
                yield row
                self.count += 1
        except Exception as exc:  # re-raised by write_rows once the file is closed
            self.error = exc

    def batches(self) -> Iterator[list[dict]]:
        batch: list[dict] = []
        for row in self:
            batch.append(row)
            if len(batch) >= WRITE_BATCH:
                yield batch
                batch = []
        if batch:
            yield batch


def write_jsonl(rows: _Guarded, out: Path, **_options) -> None:
    with out.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _verl_schema():
    import pyarrow as pa

    return pa.schema([
        ("data_source", pa.string()),
        ("prompt", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
        ("ability", pa.string()),
        ("reward_model", pa.struct([("style", pa.string()), ("ground_truth", pa.string())])),
        ("extra_info", pa.struct([("env_id", pa.int64()), ("env_name", pa.string()), ("code_sha256", pa.string()),
                                  ("seed", pa.int64()), ("difficulty", pa.int64()), ("index", pa.int64())])),
    ])


def write_verl(rows: _Guarded, out: Path, **_options) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _verl_schema()
    index = 0
    with pq.ParquetWriter(out, schema) as writer:
        for batch in rows.batches():
            records = [verl_record(r, index + i) for i, r in enumerate(batch)]
            index += len(batch)
            writer.write_table(pa.Table.from_pylist(records, schema=schema))


def _hf_features(prompt_style: str):
    import datasets

    text = datasets.Value("string")
    prompt = [{"role": text, "content": text}] if prompt_style == "chat" else text
    return datasets.Features({"prompt": prompt, "question": text, "answer": text, "metadata": text})


def write_hf(rows: _Guarded, out: Path, prompt_style: str = "chat", **_options) -> None:
    import datasets
    from datasets.arrow_writer import ArrowWriter

    # Rows go to one Arrow file in a scratch folder next to the output as they come (bounded
    # memory); save_to_disk then lays out the folder load_from_disk reads.
    scratch = Path(tempfile.mkdtemp(prefix=".evoenv-export-", dir=out.parent))
    try:
        arrow = scratch / "rows.arrow"
        with ArrowWriter(features=_hf_features(prompt_style), path=str(arrow), writer_batch_size=WRITE_BATCH) as writer:
            for row in rows:
                writer.write(hf_record(row, prompt_style))
            writer.finalize()
        datasets.Dataset.from_file(str(arrow)).save_to_disk(str(out))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


WRITERS = {"jsonl": write_jsonl, "verl": write_verl, "hf": write_hf}
PROMPT_STYLES = ("chat", "text")


def check_target(fmt: str, out: Path, overwrite: bool = False) -> None:
    """Refuse, before any rendering, an output the writer could not create."""
    if fmt not in WRITERS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    out = Path(out)
    if fmt == "hf":
        if out.exists() and not (out.is_dir() and overwrite):
            what = "a file" if not out.is_dir() else "an existing folder"
            raise ValueError(f"{out} is {what}; an HF export writes a new folder "
                             f"(remove it{', or pass --overwrite' if out.is_dir() else ''})")
    elif out.is_dir():
        raise ValueError(f"{out} is a folder; --format {fmt} writes one file (give a file name)")
    # Create the folder and a scratch file now: permissions, read-only mounts and a file in the way
    # all show here, before anything renders (os.access alone says yes to root).
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out.parent):
            pass
    except OSError as exc:
        raise ValueError(f"cannot write {out}: {exc.strerror or exc} ({exc.filename or out.parent})") from None
    if out.exists() and not out.is_dir() and not os.access(out, os.W_OK):
        raise ValueError(f"cannot write {out}: the file is read-only")


def write_rows(rows: Iterable[dict], fmt: str, out: Path, prompt_style: str = "chat",
               overwrite: bool = False) -> int:
    """Write rows as they come; returns how many. If the rows stop with an error, what was written
    stays in ``out`` (a valid file of the rows before it) and ``ExportError`` says so."""
    if prompt_style not in PROMPT_STYLES:
        raise ValueError(f"unknown prompt style {prompt_style!r}; choose one of {', '.join(PROMPT_STYLES)}")
    out = Path(out)
    check_target(fmt, out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "hf" and out.is_dir():
        shutil.rmtree(out)  # only reached with overwrite
    guarded = _Guarded(rows)
    WRITERS[fmt](guarded, out, prompt_style=prompt_style)
    if guarded.error is not None:
        kept = f"the {guarded.count} rows before it are in {out}" if guarded.count else f"no rows were written to {out}"
        raise ExportError(f"{guarded.error}; {kept}") from guarded.error
    return guarded.count
