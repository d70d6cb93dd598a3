"""Runs: grow, train and CoTEvol runs with their configs and summaries, the training usage
of each environment, and the admission funnel per run."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Select, case, distinct, func, select
from sqlalchemy.orm import Session

from evoenv.registry.core import RegistryCore, UnknownRun, check, finite, json_doc
from evoenv.registry.models import Environment, Run, StageResultRow, TrainingUsage, utcnow
from evoenv.registry.records import RunRecord
from evoenv.stages import STAGES

#: ``{stage: {"entered", "passed", "not_run"}}``
Funnel = dict[str, dict[str, int]]


def _funnel_query(*keys: Any) -> Select[Any]:
    """Per ``keys`` and stage: environments it ran on, that passed, it could not run on."""
    ran = StageResultRow.passed.is_not(None)
    return (select(*keys, StageResultRow.stage,
                   func.count(distinct(case((ran, StageResultRow.env_id)))),
                   func.count(distinct(case((StageResultRow.passed.is_(True), StageResultRow.env_id)))),
                   func.count(distinct(case((~ran, StageResultRow.env_id)))))
            .group_by(StageResultRow.stage))


def _in_stage_order(found: Mapping[str, Sequence[int]]) -> Funnel:
    """``{stage: (entered, passed, not_run)}`` as the funnel's dicts, pipeline stages first."""
    order = [st for st in STAGES if st in found] + sorted(set(found) - set(STAGES))
    return {stage: dict(zip(("entered", "passed", "not_run"), map(int, found[stage]))) for stage in order}


def _run_counts(s: Session, run_ids: list[int]) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    query = (select(Environment.run_id, Environment.status, func.count())
             .where(Environment.run_id.in_(run_ids)).group_by(Environment.run_id, Environment.status))
    for run_id, status, n in s.execute(query):
        if run_id is not None:
            counts[run_id][status] = int(n)
    return counts


class Runs(RegistryCore):
    def start_run(self, kind: str, config: Mapping[str, Any] | None = None) -> int:
        check(isinstance(kind, str) and 0 < len(kind) <= 32, f"run kind must be 1..32 characters, got {kind!r}")
        with self._tx("start_run") as s:
            run = Run(kind=kind, config=json_doc(dict(config or {}), f"{kind} run config"), status="running",
                      summary={}, started_at=utcnow())
            s.add(run)
            s.flush()
            return run.id

    def finish_run(self, run_id: int, status: str = "finished", summary: Mapping[str, Any] | None = None) -> None:
        check(isinstance(status, str) and 0 < len(status) <= 16, f"run status must be 1..16 characters, got {status!r}")
        with self._tx("finish_run") as s:
            run = s.get(Run, run_id)
            if run is None:
                raise UnknownRun(f"no run with id {run_id} in {self.url}")
            run.status, run.finished_at = status, utcnow()
            run.summary = json_doc(dict(summary or {}), f"summary of run {run_id}")

    def get_run(self, run_id: int) -> RunRecord:
        with self._tx() as s:
            run = s.get(Run, run_id)
            if run is None:
                raise UnknownRun(f"no run with id {run_id} in {self.url}")
            return RunRecord.from_row(run, _run_counts(s, [run_id]).get(run_id))

    def runs(self, kind: str | None = None, limit: int = 50) -> list[RunRecord]:
        """Newest first, each with the statuses of the candidates it proposed."""
        with self._tx() as s:
            query = select(Run).order_by(Run.id.desc()).limit(limit)
            if kind is not None:
                query = query.where(Run.kind == kind)
            runs = list(s.scalars(query))
            counts = _run_counts(s, [r.id for r in runs])
            return [RunRecord.from_row(r, counts.get(r.id)) for r in runs]

    def record_usage(self, env_id: int, *, run_id: int | None, step: int, mean_reward: float) -> None:
        check(isinstance(step, int) and step >= 0, f"step must be an int >= 0, got {step!r}")
        row = TrainingUsage(env_id=env_id, run_id=run_id, step=step,
                            mean_reward=finite(mean_reward, "mean_reward"), created_at=utcnow())
        with self._tx("record_usage") as s:
            self._env(s, env_id)
            self._run_exists(s, run_id)
            s.add(row)

    def usage(self, env_id: int) -> list[dict[str, Any]]:
        with self._tx() as s:
            rows = s.scalars(select(TrainingUsage).where(TrainingUsage.env_id == env_id).order_by(TrainingUsage.id))
            return [{"run_id": u.run_id, "step": u.step, "mean_reward": u.mean_reward} for u in rows]

    def funnel(self, run_id: int | None = None) -> Funnel:
        """Per stage, in pipeline order: how many environments it ran on (``entered``),
        how many passed, and how many it could not run on (``not_run``)."""
        query = _funnel_query()
        if run_id is not None:
            query = query.where(StageResultRow.run_id == run_id)
        with self._tx() as s:
            return _in_stage_order({stage: counts for stage, *counts in s.execute(query)})

    def funnels(self, run_ids: Iterable[int]) -> dict[int, Funnel]:
        """``funnel(run_id)`` of several runs in one query (a run without stage results maps to {})."""
        ids = sorted({int(i) for i in run_ids})
        query = (_funnel_query(StageResultRow.run_id).where(StageResultRow.run_id.in_(ids))
                 .group_by(StageResultRow.run_id))
        found: dict[int, dict[str, list[int]]] = {i: {} for i in ids}
        if ids:
            with self._tx() as s:
                for run_id, stage, *counts in s.execute(query):
                    found[run_id][stage] = counts
        return {run_id: _in_stage_order(stages) for run_id, stages in found.items()}
