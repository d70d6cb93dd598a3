"""Decisions: admit, reject, retire and quarantine an environment.

Decisions are made once: a second decision on the same environment (two growers racing)
only appends its stage results, and the returned record shows the status that stands.
Every admission commit is one serialisation point across all writers: on PostgreSQL the
transaction first takes one advisory transaction lock (``ADMISSION_LOCK``), on SQLite the
write lock taken at BEGIN already excludes every other writer. Inside it an optional
``gate`` sees what is admitted at that moment (``AdmittedView``) and may veto, so two
workers cannot both admit near-duplicates of each other (docs/scaling.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import insert, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from evoenv.registry.core import EVER_ADMITTED, RegistryCore, check, finite, json_doc
from evoenv.registry.database import RegistryError
from evoenv.registry.evidence import add_calibration, put_embedding, review_row, stage_row
from evoenv.registry.models import Embedding, Environment, PoolMembership, Quarantine, StageResultRow, utcnow
from evoenv.registry.records import EnvRecord
from evoenv.stages import StageResult

#: The PostgreSQL advisory lock every admission commit takes ("EvoEnv" in ASCII): one key, so
#: admissions from any number of grow processes commit one at a time.
ADMISSION_LOCK = 0x45766F456E76


class AdmittedView:
    """What is admitted at the admission commit, read in its transaction (under the admission lock)."""

    def __init__(self, session: Session, env_id: int):
        self._session = session
        self.env_id = env_id

    def admitted_ids(self) -> list[int]:
        """Every environment that passed admission, but the one being decided."""
        return list(self._session.scalars(select(Environment.id).where(
            Environment.status.in_(EVER_ADMITTED), Environment.id != self.env_id).order_by(Environment.id)))

    def embeddings(self, env_ids: Sequence[int], model: str) -> tuple[list[int], list[str], np.ndarray]:
        """(ids, names, (n, dim) float32 matrix) of these environments' embeddings of ``model``."""
        if not env_ids:
            return [], [], np.zeros((0, 0), dtype=np.float32)
        rows = self._session.execute(
            select(Embedding.env_id, Environment.name, Embedding.vector)
            .join(Environment, Environment.id == Embedding.env_id)
            .where(Embedding.model == model, Embedding.env_id.in_(list(env_ids))).order_by(Embedding.env_id)).all()
        if not rows:
            return [], [], np.zeros((0, 0), dtype=np.float32)
        matrix = np.stack([np.frombuffer(row[2], dtype="<f4") for row in rows]).astype(np.float32)
        return [row[0] for row in rows], [row[1] for row in rows], matrix

    def fingerprint_holder(self, fingerprint: str) -> tuple[int, str] | None:
        """(id, name) of an environment that passed admission with this behavioural fingerprint."""
        row = self._session.execute(
            select(Environment.id, Environment.name).where(
                Environment.fingerprint == fingerprint, Environment.status.in_(EVER_ADMITTED),
                Environment.id != self.env_id).order_by(Environment.id).limit(1)).first()
        return None if row is None else (row[0], row[1])


@dataclass(frozen=True)
class Veto:
    """A gate's veto: the admission becomes a rejection with these values, all decided by admission."""

    result: StageResult  # recorded after the other stage results
    reason: str  # the rejection's status reason
    reward: float | None = None  # the generator reward that stands
    novelty: float | None = None  # the environment's novelty that stands (None: as without the veto)


#: Called inside the admission commit; a Veto it returns turns the admission into a rejection.
AdmissionGate = Callable[[AdmittedView], "Veto | None"]


class Decisions(RegistryCore):
    def admit(self, env_id: int, *, stages: Sequence[StageResult] = (), embedding: tuple[str, Any] | None = None,
              fingerprint: str | None = None, reward: float | None = None, novelty: float | None = None,
              run_id: int | None = None, reviews: Sequence[Mapping[str, Any]] = (),
              calibration: Sequence[Mapping[str, Any]] = (), gate: AdmissionGate | None = None) -> EnvRecord:
        """Admit a candidate: status, stage results, reviews, calibration, embedding, fingerprint,
        reward, novelty and pool membership in ONE transaction, under the admission lock. ``gate``,
        when given, is asked inside it; a ``Veto`` it returns rejects the candidate instead, with
        the veto's stage result, reason, reward and novelty. On an environment already decided,
        only the stage results (and novelty) are added; the returned record shows the status that stands."""
        check(fingerprint is None or (isinstance(fingerprint, str) and len(fingerprint) <= 128),
              "fingerprint must be text of at most 128 characters")
        reward, novelty = finite(reward, "reward"), finite(novelty, "novelty")
        with self._tx("admit") as s:
            self._admission_lock(s)
            env = self._env(s, env_id, lock=True)
            veto = gate(AdmittedView(s, env.id)) if gate is not None and env.status == "candidate" else None
            if veto is not None:
                check(isinstance(veto, Veto) and isinstance(veto.reason, str) and veto.reason.strip() != "",
                      "an admission gate vetoes with a Veto that gives a reason")
                vetoed_novelty = finite(veto.novelty, "novelty of the veto")
                return self._decide(s, env, "rejected", [*stages, veto.result], run_id, reason=veto.reason,
                                    reward=finite(veto.reward, "reward of the veto"),
                                    novelty=novelty if vetoed_novelty is None else vetoed_novelty,
                                    reviews=reviews, calibration=calibration)
            return self._decide(s, env, "admitted", stages, run_id, reward=reward, novelty=novelty,
                                fingerprint=fingerprint, embedding=embedding, reviews=reviews,
                                calibration=calibration)

    def reject(self, env_id: int, *, stages: Sequence[StageResult] = (), reason: str,
               reward: float | None = None, novelty: float | None = None, run_id: int | None = None,
               reviews: Sequence[Mapping[str, Any]] = (), calibration: Sequence[Mapping[str, Any]] = ()
               ) -> EnvRecord:
        """Reject a candidate with its stage results, reviews, calibration and a reason, in one transaction."""
        check(isinstance(reason, str) and reason.strip() != "", "a rejection needs a reason")
        reward, novelty = finite(reward, "reward"), finite(novelty, "novelty")
        with self._tx("reject") as s:
            env = self._env(s, env_id, lock=True)
            return self._decide(s, env, "rejected", stages, run_id, reason=reason, reward=reward, novelty=novelty,
                                reviews=reviews, calibration=calibration)

    def _admission_lock(self, session: Session) -> None:
        """Wait for the admission lock (PostgreSQL; released at commit or when the connection dies,
        e.g. a worker killed with SIGKILL). SQLite's BEGIN IMMEDIATE already holds the only write lock."""
        if self.dialect == "postgresql":
            session.execute(sql_text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADMISSION_LOCK})

    def _decide(self, s: Session, env: Environment, status: str, stages: Sequence[StageResult],
                run_id: int | None, *, reason: str = "", reward: float | None = None, novelty: float | None = None,
                fingerprint: str | None = None, embedding: tuple[str, Any] | None = None,
                reviews: Sequence[Mapping[str, Any]] = (), calibration: Sequence[Mapping[str, Any]] = ()) -> EnvRecord:
        self._add_stages(s, env, stages, run_id)
        if novelty is not None:
            env.novelty = novelty
        if env.status == "candidate":
            # Reviews and calibration come with the decision: a kill never leaves them without one.
            for review in reviews:
                s.add(review_row(env.id, **review))
            for point in calibration:
                add_calibration(s, env, **point)
            now = utcnow()
            env.status, env.status_reason, env.decided_at = status, reason, now
            if reward is not None:
                env.reward = reward
            if status == "admitted":
                if fingerprint is not None:
                    env.fingerprint = fingerprint
                if embedding is not None:
                    model, vector = embedding
                    put_embedding(s, env.id, model, vector)
                # Only candidates get here, and only admission makes pool rows: a plain insert.
                s.execute(insert(PoolMembership).values(env_id=env.id, epochs=0, joined_at=now, retired_at=None))
        s.flush()
        return EnvRecord.from_row(env)

    def _add_stages(self, session: Session, env: Environment, stages: Sequence[StageResult],
                    run_id: int | None) -> None:
        run_id = env.run_id if run_id is None else run_id
        self._run_exists(session, run_id)
        rows = []
        for result in stages:
            check(isinstance(result, StageResult), f"stages must be StageResult objects, got {type(result).__name__}")
            rows.append(stage_row(env.id, result.stage, result.passed, result.score, result.reason,
                                  result.details, result.duration_s, run_id))
        if rows:
            session.execute(insert(StageResultRow), rows)

    def retire(self, env_id: int, reason: str = "retired by hand") -> EnvRecord:
        """Take an environment out of use (and out of the training pool)."""
        with self._tx("retire") as s:
            env = self._env(s, env_id, lock=True)
            if env.status == "rejected":
                raise RegistryError(f"environment {env_id} ({env.name}) was rejected; only candidates and "
                                    "admitted environments can be retired")
            if env.status != "retired":
                env.status, env.status_reason = "retired", reason
                s.execute(update(PoolMembership).where(PoolMembership.env_id == env_id,
                                                       PoolMembership.retired_at.is_(None))
                          .values(retired_at=utcnow()))
            s.flush()
            return EnvRecord.from_row(env)

    def quarantine(self, env_id: int, *, reason: str, evidence: Mapping[str, Any]) -> EnvRecord:
        """Stop an environment the runtime audit caught paying for a known-wrong answer: it is retired
        (out of the pool and the exports) whatever it was, and the evidence is kept. The first catch
        stands; later ones change nothing."""
        doc = json_doc(dict(evidence), f"quarantine evidence of environment {env_id}")
        with self._tx("quarantine") as s:
            env = self._env(s, env_id, lock=True)
            if s.get(Quarantine, env_id) is None:
                s.add(Quarantine(env_id=env_id, reason=str(reason), evidence=doc, created_at=utcnow()))
                env.status, env.status_reason = "retired", f"quarantined: {reason}"
                s.execute(update(PoolMembership).where(PoolMembership.env_id == env_id,
                                                       PoolMembership.retired_at.is_(None))
                          .values(retired_at=utcnow()))
            s.flush()
            return EnvRecord.from_row(env)

    def quarantine_of(self, env_id: int) -> dict[str, Any] | None:
        """``{"reason", "evidence", "at"}`` when the runtime audit quarantined the environment, else None."""
        with self._tx() as s:
            row = s.get(Quarantine, env_id)
            return None if row is None else {"reason": row.reason, "evidence": dict(row.evidence or {}),
                                              "at": row.created_at}

    def quarantined_ids(self) -> set[int]:
        with self._tx() as s:
            return set(s.scalars(select(Quarantine.env_id)))
