"""What admission found about an environment: stage results, reviews, calibration points and
embeddings, appended and read back (the decision that uses them is in ``decisions``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from evoenv.registry.core import EVER_ADMITTED, RegistryCore, check, finite, json_doc
from evoenv.registry.database import translate
from evoenv.registry.models import Calibration, Embedding, Environment, Review, StageResultRow, utcnow
from evoenv.registry.records import ReviewRow, StageRow
from evoenv.stages import STAGES


def stage_row(env_id: int, stage: str, passed: bool | None, score: float | None, reason: str,
              details: Any, duration_s: float, run_id: int | None) -> dict[str, Any]:
    """The checked columns of one stage_results row."""
    check(stage in STAGES, f"unknown stage {stage!r}; stages are {', '.join(STAGES)}")
    check(passed is None or isinstance(passed, (bool, np.bool_)),
          f"stage {stage}: passed must be True, False or None, got {passed!r}")
    return {
        "env_id": env_id, "run_id": run_id, "stage": stage, "passed": None if passed is None else bool(passed),
        "score": finite(score, f"stage {stage} score"), "reason": str(reason or ""),
        "details": json_doc(details, f"stage {stage} details of environment {env_id}"),
        "duration_s": finite(duration_s or 0.0, f"stage {stage} duration_s"), "created_at": utcnow()}


def review_row(env_id: int, *, reviewer: str, text: str, verdict: str,
               details: Mapping[str, Any] | None = None) -> Review:
    check(isinstance(verdict, str) and 0 < len(verdict) <= 32, f"verdict must be 1..32 characters, got {verdict!r}")
    return Review(env_id=env_id, reviewer=str(reviewer)[:200], text=str(text), verdict=verdict,
                  details=json_doc(details, f"review details of environment {env_id}"), created_at=utcnow())


def add_calibration(session: Session, env: Environment, *, checkpoint: str, difficulty: int, n: int,
                    passes: int) -> int:
    """Add one calibration point and refresh the environment's mean pass rate."""
    check(isinstance(checkpoint, str) and 0 < len(checkpoint) <= 200, "checkpoint must be 1..200 characters")
    check(isinstance(n, int) and isinstance(passes, int) and 0 <= passes <= n,
          f"calibration needs ints 0 <= passes <= n, got passes={passes!r} n={n!r}")
    check(isinstance(difficulty, int) and 1 <= difficulty <= env.max_difficulty,
          f"difficulty {difficulty!r} is outside 1..{env.max_difficulty} of environment {env.id}")
    row = Calibration(env_id=env.id, checkpoint=checkpoint, difficulty=difficulty, n=n, passes=passes,
                      pass_rate=passes / n if n else 0.0, created_at=utcnow())
    session.add(row)
    session.flush()
    env.pass_rate = mean_pass_rate(session, env.id)
    return row.id


def mean_pass_rate(session: Session, env_id: int) -> float | None:
    """Mean over difficulties of the pass rate (rows summed) of the checkpoint calibrated
    most recently; None when it has no attempts."""
    latest = session.scalar(select(Calibration.checkpoint).where(Calibration.env_id == env_id)
                            .order_by(Calibration.id.desc()).limit(1))
    if latest is None:
        return None
    sums = session.execute(select(func.sum(Calibration.n), func.sum(Calibration.passes))
                           .where(Calibration.env_id == env_id, Calibration.checkpoint == latest)
                           .group_by(Calibration.difficulty))
    rates = [int(passes) / int(n) for n, passes in sums if n]
    return sum(rates) / len(rates) if rates else None


def put_embedding(session: Session, env_id: int, model: str, vector: Any) -> None:
    check(isinstance(model, str) and 0 < len(model) <= 200, f"embedding model must be 1..200 characters, got {model!r}")
    array = np.asarray(vector, dtype="<f4")
    check(array.ndim == 1 and array.size > 0, f"embedding must be a non-empty 1-D vector, got shape {array.shape}")
    check(bool(np.isfinite(array).all()), "embedding has NaN or infinite values")
    # Replace, portably (no dialect-specific upsert): one row per environment and model.
    session.execute(delete(Embedding).where(Embedding.env_id == env_id, Embedding.model == model))
    session.execute(insert(Embedding).values(env_id=env_id, model=model, dim=int(array.size),
                                             vector=array.tobytes()))


class Evidence(RegistryCore):
    def record_stage(self, env_id: int, stage: str, *, passed: bool | None, score: float | None = None,
                     reason: str = "", details: Mapping[str, Any] | None = None, duration_s: float = 0.0,
                     run_id: int | None = None, novelty: float | None = None) -> int:
        """Append one stage result (re-running a stage adds a row; nothing is overwritten). ``novelty``,
        when given, is the environment's novelty as admission now judges it (it replaces the old one)."""
        row = StageResultRow(**stage_row(env_id, stage, passed, score, reason, details, duration_s, run_id))
        novelty = finite(novelty, "novelty")
        with self._tx("record_stage") as s:
            env = self._env(s, env_id, lock=novelty is not None)
            self._run_exists(s, run_id)
            s.add(row)
            if novelty is not None:
                env.novelty = novelty
            s.flush()
            return row.id

    def stage_results(self, env_id: int) -> list[StageRow]:
        with self._tx() as s:
            self._env(s, env_id)
            rows = s.scalars(select(StageResultRow).where(StageResultRow.env_id == env_id)
                             .order_by(StageResultRow.id))
            return [StageRow.from_row(r) for r in rows]

    def stage_results_many(self, env_ids: Iterable[int]) -> dict[int, list[StageRow]]:
        """``stage_results`` of several environments in one query (unknown ids map to [])."""
        ids = sorted({int(i) for i in env_ids})
        found: dict[int, list[StageRow]] = {i: [] for i in ids}
        if not ids:
            return found
        with self._tx() as s:
            rows = s.scalars(select(StageResultRow).where(StageResultRow.env_id.in_(ids))
                             .order_by(StageResultRow.env_id, StageResultRow.id))
            for row in rows:
                found[row.env_id].append(StageRow.from_row(row))
        return found

    def record_review(self, env_id: int, *, reviewer: str, text: str, verdict: str,
                      details: Mapping[str, Any] | None = None) -> int:
        row = review_row(env_id, reviewer=reviewer, text=text, verdict=verdict, details=details)
        with self._tx("record_review") as s:
            self._env(s, env_id)
            s.add(row)
            s.flush()
            return row.id

    def reviews(self, env_id: int) -> list[ReviewRow]:
        with self._tx() as s:
            self._env(s, env_id)
            rows = s.scalars(select(Review).where(Review.env_id == env_id).order_by(Review.id))
            return [ReviewRow.from_row(r) for r in rows]

    def record_calibration(self, env_id: int, *, checkpoint: str, difficulty: int, n: int, passes: int) -> int:
        """Add ``passes`` of ``n`` attempts; rows for the same checkpoint and difficulty add up."""
        with self._tx("record_calibration") as s:
            # Locked: two writers calibrating one environment must not both compute a stale mean.
            env = self._env(s, env_id, lock=True)
            return add_calibration(s, env, checkpoint=checkpoint, difficulty=difficulty, n=n, passes=passes)

    def calibration_curve(self, env_id: int) -> dict[str, list[tuple[int, int, int, float]]]:
        """``{checkpoint: [(difficulty, n, passes, pass_rate)]}``, summed over every record."""
        with self._tx() as s:
            self._env(s, env_id)
            query = (select(Calibration.checkpoint, Calibration.difficulty, func.sum(Calibration.n),
                            func.sum(Calibration.passes))
                     .where(Calibration.env_id == env_id)
                     .group_by(Calibration.checkpoint, Calibration.difficulty)
                     .order_by(Calibration.checkpoint, Calibration.difficulty))
            curve: dict[str, list[tuple[int, int, int, float]]] = defaultdict(list)
            for checkpoint, difficulty, n_sum, passes_sum in s.execute(query):
                n, passes = int(n_sum), int(passes_sum)
                curve[checkpoint].append((difficulty, n, passes, passes / n if n else 0.0))
            return dict(curve)

    def record_embedding(self, env_id: int, model: str, vector: Any) -> None:
        with self._tx("record_embedding") as s:
            self._env(s, env_id)
            put_embedding(s, env_id, model, vector)

    def admitted_embeddings(self, model: str, include_retired: bool = True) -> tuple[list[int], np.ndarray]:
        """Ids and an (n, dim) float32 matrix of the embeddings of admitted environments
        (and, by default, of retired ones: they were admitted once, so copies stay out)."""
        statuses = EVER_ADMITTED if include_retired else ("admitted",)
        # IN over the (status, ...) index: joining would read every wide environment row.
        wanted = select(Environment.id).where(Environment.status.in_(statuses))
        query = (select(Embedding.env_id, Embedding.dim, Embedding.vector)
                 .where(Embedding.model == model, Embedding.env_id.in_(wanted)))
        try:
            with self.engine.connect() as conn:  # Core rows: no ORM bookkeeping for thousands of blobs
                rows = list(conn.execute(query).fetchall())
        except OperationalError as exc:
            raise translate(exc, self.engine) from None
        if not rows:
            return [], np.zeros((0, 0), dtype=np.float32)
        rows.sort(key=lambda row: row[0])
        dims = {row[1] for row in rows}
        check(len(dims) == 1, f"embeddings of model {model!r} have mixed dimensions {sorted(dims)}")
        matrix = np.empty((len(rows), dims.pop()), dtype=np.float32)
        for i, row in enumerate(rows):
            matrix[i] = np.frombuffer(row[2], dtype="<f4")
        return [row[0] for row in rows], matrix
