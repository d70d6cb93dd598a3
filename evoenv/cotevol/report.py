"""What a run produces: SFT rows (JSONL and parquet) and a per-method report.

A row is ``{"messages": [user, assistant], "metadata": {...}}``. The user turn
is the environment's own prompt (what the trained model will see); the
assistant turn is the trajectory. ``metadata`` carries everything needed to
rescore the row later: ``env_id`` (registry id, null for a seed file),
``env_name``, ``code_sha256``, ``seed``, ``difficulty``, plus ``method``,
``fitness`` and its parts, ``score``, ``correct``, ``operators`` (lineage)
and ``rank`` in the population.

By default only each problem's best CORRECT trajectory becomes a row.
``population=True`` writes every member of the final population (wrong ones
included, marked ``correct: false``). Problems with no correct trajectory are
never dropped silently: they are listed under ``unsolved`` in the report.
"""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

from evoenv.cotevol.diversity import mean_pairwise_rouge_l
from evoenv.cotevol.evolve import InstanceResult
from evoenv.cotevol.trajectory import Trajectory

METADATA_KEYS = ("env_id", "env_name", "code_sha256", "seed", "difficulty", "method", "fitness", "r_ac",
                 "r_fmt", "r_len", "length", "score", "correct", "operators", "rank", "policy")


def sft_row(result: InstanceResult, t: Trajectory, rank: int, policy: str) -> dict:
    p = result.problem
    parts = t.fitness_parts
    return {
        "messages": [{"role": "user", "content": p.rendered.prompt},
                     {"role": "assistant", "content": t.text}],
        "metadata": {
            "env_id": p.env_id, "env_name": p.env_name, "code_sha256": p.code_sha256,
            "seed": p.rendered.seed, "difficulty": p.rendered.difficulty, "method": result.method,
            "fitness": float(t.fitness), "r_ac": float(parts.get("R_ac", t.score)),
            "r_fmt": float(parts.get("R_fmt", 0.0)), "r_len": float(parts.get("R_len", 0.0)),
            "length": int(t.length), "score": float(t.score), "correct": bool(t.correct),
            "operators": list(t.lineage), "rank": rank, "policy": policy,
        },
    }


def sft_rows(results: list[InstanceResult], policy: str, population: bool = False) -> list[dict]:
    rows = []
    for result in results:
        if population:
            rows += [sft_row(result, t, i, policy) for i, t in enumerate(result.population)]
        elif result.best_correct is not None:
            rows.append(sft_row(result, result.best_correct, result.population.index(result.best_correct), policy))
    return rows


def output_paths(out: Path) -> tuple[Path, Path, Path]:
    """``run.jsonl`` (or ``run.parquet``, or ``run``) -> run.jsonl, run.parquet, run.report.json."""
    base = out.with_suffix("") if out.suffix in (".jsonl", ".parquet", ".json") else out
    return base.with_suffix(".jsonl"), base.with_suffix(".parquet"), base.with_suffix(".report.json")


class RowWriter:
    """Rows go to ``OUT.jsonl.partial`` as each chunk of problems finishes, so a run that dies
    keeps what it finished; ``close()`` renames it to ``OUT.jsonl`` and writes the parquet."""

    def __init__(self, jsonl_path: Path, parquet_path: Path):
        self.jsonl_path, self.parquet_path = jsonl_path, parquet_path
        self.partial = jsonl_path.with_name(jsonl_path.name + ".partial")
        jsonl_path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.partial.open("w", encoding="utf-8")
        self.rows: list[dict] = []

    def add(self, rows: list[dict]) -> None:
        for row in rows:
            self._fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._fh.flush()
        self.rows += rows

    def close(self) -> None:
        self._fh.close()
        write_parquet(self.rows, self.parquet_path)
        self.partial.replace(self.jsonl_path)


def write_parquet(rows: list[dict], parquet_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    # an explicit schema, so an empty run or an all-null env_id column still has the right types
    message = pa.struct([("role", pa.string()), ("content", pa.string())])
    metadata = pa.struct([
        ("env_id", pa.int64()), ("env_name", pa.string()), ("code_sha256", pa.string()),
        ("seed", pa.int64()), ("difficulty", pa.int64()), ("method", pa.string()), ("fitness", pa.float64()),
        ("r_ac", pa.float64()), ("r_fmt", pa.float64()), ("r_len", pa.float64()), ("length", pa.int64()),
        ("score", pa.float64()), ("correct", pa.bool_()), ("operators", pa.list_(pa.string())),
        ("rank", pa.int64()), ("policy", pa.string()),
    ])
    schema = pa.schema([("messages", pa.list_(message)), ("metadata", metadata)])
    tmp = parquet_path.with_name(parquet_path.name + ".tmp")
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), tmp)
    tmp.replace(parquet_path)


def mean_pairwise_embedding_distance(texts: list[str], embedder) -> float | None:
    """Mean cosine distance (1 - cosine similarity) over all pairs; None with fewer than two."""
    if len(texts) < 2:
        return None
    vectors = embedder.encode(texts)
    pairs = list(combinations(range(len(texts)), 2))
    return float(sum(1.0 - float(vectors[i] @ vectors[j]) for i, j in pairs) / len(pairs))


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def method_summary(method: str, results: list[InstanceResult], embedder=None) -> dict:
    """Success rate, tokens per correct CoT and diversity of the correct trajectories.

    Diversity is measured within each problem (over the distinct correct trajectories
    the method generated for it) and averaged over problems with at least two."""
    solved = [r for r in results if r.solved]
    completion = sum(r.completion_tokens for r in results)
    rouge, embed = [], []
    for r in results:
        texts = [t.text for t in r.correct_pool]
        if len(texts) >= 2:
            rouge.append(mean_pairwise_rouge_l(texts))
            if embedder is not None:
                embed.append(mean_pairwise_embedding_distance(texts, embedder))
    return {
        "method": method,
        "instances": len(results),
        "solved": len(solved),
        "success_rate": len(solved) / len(results) if results else None,
        "completion_tokens": completion,
        "prompt_tokens": sum(r.prompt_tokens for r in results),
        "tokens_per_correct_cot": completion / len(solved) if solved else None,
        "correct_trajectories": sum(len(r.correct_pool) for r in results),
        "diversity_rouge_l": _mean(rouge),
        "diversity_embedding_distance": _mean(embed) if embedder is not None else None,
        "diversity_problems": len(rouge),
        "unsolved": [
            {"env_name": r.problem.env_name, "env_id": r.problem.env_id, "seed": r.problem.rendered.seed,
             "difficulty": r.problem.rendered.difficulty,
             "best_fitness": r.best.fitness if r.best else None,
             "best_score": r.best.score if r.best else None,
             "answered": sum(t.has_answer for t in r.population), "population": len(r.population),
             "notes": r.notes}
            for r in results if not r.solved
        ],
        "notes": {r.problem.key: r.notes for r in results if r.notes},
    }
