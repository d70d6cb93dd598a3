"""``Registry``: the one API through which the platform reads and writes the registry.

Every public method is one transaction. Writes on SQLite take the write lock at
BEGIN (``BEGIN IMMEDIATE``); on PostgreSQL the rows a decision depends on are
locked with ``SELECT ... FOR UPDATE``. Decisions (admit / reject) are made once:
a second decision on the same environment (two growers racing) only appends its
stage results, and the returned record shows the status that stands.

Every admission commit is one serialisation point across all writers: on
PostgreSQL the transaction first takes one advisory transaction lock
(``ADMISSION_LOCK``), on SQLite the write lock taken at BEGIN already excludes
every other writer. Inside it an optional ``gate`` sees what is admitted at that
moment (``AdmittedView``) and may veto, so two workers cannot both admit
near-duplicates of each other (docs/scaling.md).
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, case, column, delete, distinct, func, insert, or_, select, table, update
from sqlalchemy import text as sql_text
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from evoenv.admission.result import STAGES, StageResult
from evoenv.hashing import code_sha256
from evoenv.registry.database import (
    FTS_TABLE, PG_SEARCH_COLUMN, RegistryError, SchemaOutOfDate, check_schema, database_url, describe_url,
    make_engine, translate, upgrade, writer,
)
from evoenv.registry.models import (
    ORIGINS, RELATIONS, STATUSES, Calibration, Embedding, Environment, EnvironmentTag, Lineage,
    PoolMembership, Proposal, Quarantine, Review, Run, StageResultRow, TrainingUsage, utcnow,
)
from evoenv.registry.records import EnvRecord, ReviewRow, RunRecord, StageRow

#: Sort keys of ``list_envs``. "created" is newest first by insertion order (ids only grow),
#: which every filter index can serve without a sort.
SORTS = {
    "created": (Environment.id.desc(),),
    "id": (Environment.id.asc(),),
    "name": (Environment.name.asc(), Environment.id.asc()),
    "generation": (Environment.generation.desc(), Environment.id.desc()),
    "reward": (Environment.reward.desc().nulls_last(), Environment.id.desc()),
    "difficulty": (Environment.max_difficulty.desc(), Environment.id.desc()),
    # Best first; environments never calibrated / never novelty-checked go last on every backend.
    "pass_rate": (Environment.pass_rate.desc().nulls_last(), Environment.id.desc()),
    "novelty": (Environment.novelty.desc().nulls_last(), Environment.id.desc()),
}
#: The SQLite full-text index (made by the migration; not a model, so autogenerate leaves it alone).
FTS = table(FTS_TABLE, column("rowid"))
#: Statuses whose environments once passed admission (novelty compares against these).
EVER_ADMITTED = ("admitted", "retired")
#: The PostgreSQL advisory lock every admission commit takes ("EvoEnv" in ASCII): one key, so
#: admissions from any number of grow processes commit one at a time.
ADMISSION_LOCK = 0x45766F456E76


class UnknownEnvironment(RegistryError, LookupError):
    """No environment has that id, name or hash."""


class UnknownRun(RegistryError, LookupError):
    """No run has that id."""


def novelty_of(stage: str, passed: bool | None, score: float | None, details: Mapping[str, Any]) -> float | None:
    """What a stage result says about novelty (1 - max similarity to admitted environments):
    the novelty stage's score, or 0 for a behavioural duplicate (which has no score)."""
    if stage != "novelty":
        return None
    if score is not None:
        return float(score)
    if passed is False and (details or {}).get("duplicate_of"):
        return 0.0
    return None


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise RegistryError(message)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _json_doc(value: Any, what: str) -> Any:
    """A JSON-clean copy of ``value`` (numpy scalars allowed), or a clear error naming ``what``."""
    try:
        return json.loads(json.dumps(value if value is not None else {}, default=_json_default, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise RegistryError(f"{what} is not JSON data: {exc}") from None


def _finite(value: float | None, what: str) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RegistryError(f"{what} must be a number, got {value!r}") from None
    _check(math.isfinite(number), f"{what} must be finite, got {value!r}")
    return number


def _search_words(text: str) -> list[str]:
    """The user's words: runs of letters, digits and underscores holding a letter or digit."""
    return re.findall(r"\w*[^\W_]\w*", text)


def _fts_query(text: str) -> str | None:
    """The user's words as an SQLite FTS5 query: every word must appear, as a word's beginning."""
    words = _search_words(text)
    return " ".join(f'"{word}"*' for word in words) if words else None


def _tsquery(text: str) -> str | None:
    """The same for PostgreSQL's ``to_tsquery``: ``word:*`` ANDed (``a_b:*`` becomes a phrase)."""
    words = _search_words(text)
    return " & ".join(f"{word}:*" for word in words) if words else None


def _like_pattern(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


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


#: Called inside the admission commit; a StageResult it returns vetoes the admission (a rejection).
AdmissionGate = Callable[[AdmittedView], "StageResult | None"]


class Registry:
    """The registry on one database. Use ``open_registry()`` to get one."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.dialect = engine.dialect.name
        self._read = sessionmaker(bind=engine, expire_on_commit=False)
        self._write = sessionmaker(bind=writer(engine), expire_on_commit=False)

    # ---- plumbing ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        return describe_url(str(self.engine.url))

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Registry":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _tx(self, operation: str | None = None) -> Iterator[Session]:
        """One transaction: a write one when ``operation`` names it, else a read one."""
        maker = self._write if operation else self._read
        try:
            with maker() as session, session.begin():
                yield session
        except (OperationalError, ProgrammingError) as exc:
            raise translate(exc, self.engine) from None

    def _env(self, session: Session, env_id: int, lock: bool = False) -> Environment:
        _check(isinstance(env_id, int) and not isinstance(env_id, bool),
               f"environment id must be an int, got {env_id!r}")
        query = select(Environment).where(Environment.id == env_id)
        if lock:
            query = query.with_for_update()
        env = session.scalars(query).one_or_none()
        if env is None:
            raise UnknownEnvironment(f"no environment with id {env_id} in {self.url}")
        return env

    def _run_exists(self, session: Session, run_id: int | None) -> None:
        if run_id is not None and session.get(Run, run_id) is None:
            raise UnknownRun(f"no run with id {run_id} in {self.url}")

    # ---- candidates ---------------------------------------------------------------------

    def add_candidate(
        self, code: str, *, name: str, description: str, max_difficulty: int, origin: str = "generated",
        generation: int = 0, parents: Sequence[tuple[int, str]] = (), run_id: int | None = None,
        proposal: Mapping[str, Any] | None = None, tags: Iterable[str] = (),
    ) -> EnvRecord:
        """Store a new candidate, or return the environment that already has this code.

        The row, its tags, its lineage and its proposal are one transaction. When the
        same code arrives twice, even at the same moment from two processes, there is
        one environment; a second proposal is still recorded against it.
        """
        _check(isinstance(code, str) and code.strip() != "", "code must be non-empty source text")
        _check(isinstance(name, str) and 0 < len(name.strip()) <= 200, f"name must be 1..200 characters, got {name!r}")
        _check(isinstance(description, str), "description must be text")
        _check(isinstance(max_difficulty, int) and max_difficulty >= 1,
               f"max_difficulty must be an int >= 1, got {max_difficulty!r}")
        _check(origin in ORIGINS, f"origin must be one of {', '.join(ORIGINS)}, got {origin!r}")
        _check(isinstance(generation, int) and generation >= 0, f"generation must be an int >= 0, got {generation!r}")
        parents = [tuple(p) for p in parents]
        for parent in parents:
            _check(len(parent) == 2 and parent[1] in RELATIONS,
                   f"each parent is (parent_id, relation) with relation one of {', '.join(RELATIONS)}; got {parent!r}")
        tags = sorted({str(t).strip() for t in tags if str(t).strip()})
        for tag in tags:
            _check(len(tag) <= 64, f"tag {tag[:20]!r}... is longer than 64 characters")
        proposal_row = self._proposal_row(proposal, run_id) if proposal is not None else None
        sha = code_sha256(code)

        try:
            with self._tx("add_candidate") as s:
                existing = s.scalars(select(Environment).where(Environment.code_sha256 == sha)).one_or_none()
                if existing is not None:
                    if proposal_row is not None:
                        proposal_row.env_id = existing.id
                        s.add(proposal_row)
                    return EnvRecord.from_row(existing)
                self._run_exists(s, run_id)
                if parents:
                    wanted = {pid for pid, _ in parents}
                    found = set(s.scalars(select(Environment.id).where(Environment.id.in_(wanted))))
                    if wanted - found:
                        missing = ", ".join(map(str, sorted(wanted - found, key=str)))
                        raise UnknownEnvironment(f"parent environment {missing} does not exist in {self.url}")
                env = Environment(
                    name=name.strip(), description=description, code=code, code_sha256=sha,
                    max_difficulty=max_difficulty, status="candidate", status_reason="", origin=origin,
                    generation=generation, run_id=run_id, created_at=utcnow(),
                    tags=[EnvironmentTag(tag=t) for t in tags])
                s.add(env)
                s.flush()
                if parents:
                    s.execute(insert(Lineage), [{"child_id": env.id, "parent_id": pid, "relation": rel}
                                                for pid, rel in sorted(set(parents))])
                if proposal_row is not None:
                    proposal_row.env_id = env.id
                    s.add(proposal_row)
                s.flush()
                return EnvRecord.from_row(env)
        except IntegrityError as exc:
            # Another writer stored the same code between our look-up and our insert.
            record = self.by_hash(sha)
            if record is None:
                raise RegistryError(f"could not store candidate {name!r}: {exc.orig}") from None
            if proposal is not None:
                self.record_proposal(record.id, **{**dict(proposal), "run_id": run_id})
            return record

    def _proposal_row(self, proposal: Mapping[str, Any], run_id: int | None) -> Proposal:
        _check(isinstance(proposal, Mapping), "proposal must be a mapping with prompt and completion")
        missing = {"prompt", "completion"} - set(proposal)
        _check(not missing, f"proposal lacks {', '.join(sorted(missing))}")
        counts = {}
        for key in ("prompt_tokens", "completion_tokens"):
            value = proposal.get(key) or 0
            _check(isinstance(value, int) and value >= 0, f"proposal {key} must be an int >= 0, got {value!r}")
            counts[key] = value
        return Proposal(
            run_id=proposal.get("run_id", run_id), prompt=str(proposal["prompt"]),
            completion=str(proposal["completion"]), **counts,
            cost=_finite(proposal.get("cost") or 0.0, "proposal cost"), created_at=utcnow())

    def record_proposal(self, env_id: int, *, run_id: int | None, prompt: str, completion: str,
                        prompt_tokens: int = 0, completion_tokens: int = 0, cost: float = 0.0) -> int:
        row = self._proposal_row({"prompt": prompt, "completion": completion, "prompt_tokens": prompt_tokens,
                                  "completion_tokens": completion_tokens, "cost": cost}, run_id)
        with self._tx("record_proposal") as s:
            self._env(s, env_id)
            self._run_exists(s, run_id)
            row.env_id = env_id
            s.add(row)
            s.flush()
            return row.id

    # ---- stage results, reviews, calibration ----------------------------------------------

    def _stage_row(self, env_id: int, stage: str, passed: bool | None, score: float | None, reason: str,
                   details: Any, duration_s: float, run_id: int | None) -> dict[str, Any]:
        _check(stage in STAGES, f"unknown stage {stage!r}; stages are {', '.join(STAGES)}")
        _check(passed is None or isinstance(passed, (bool, np.bool_)),
               f"stage {stage}: passed must be True, False or None, got {passed!r}")
        return dict(
            env_id=env_id, run_id=run_id, stage=stage, passed=None if passed is None else bool(passed),
            score=_finite(score, f"stage {stage} score"), reason=str(reason or ""),
            details=_json_doc(details, f"stage {stage} details of environment {env_id}"),
            duration_s=_finite(duration_s or 0.0, f"stage {stage} duration_s"), created_at=utcnow())

    def record_stage(self, env_id: int, stage: str, *, passed: bool | None, score: float | None = None,
                     reason: str = "", details: Mapping[str, Any] | None = None, duration_s: float = 0.0,
                     run_id: int | None = None) -> int:
        """Append one stage result (re-running a stage adds a row; nothing is overwritten)."""
        row = StageResultRow(**self._stage_row(env_id, stage, passed, score, reason, details, duration_s, run_id))
        with self._tx("record_stage") as s:
            env = self._env(s, env_id, lock=row.stage == "novelty")
            self._run_exists(s, run_id)
            s.add(row)
            novelty = novelty_of(row.stage, row.passed, row.score, row.details)
            if novelty is not None:
                env.novelty = novelty
            s.flush()
            return row.id

    def record_review(self, env_id: int, *, reviewer: str, text: str, verdict: str,
                      details: Mapping[str, Any] | None = None) -> int:
        row = self._review_row(env_id, reviewer=reviewer, text=text, verdict=verdict, details=details)
        with self._tx("record_review") as s:
            self._env(s, env_id)
            s.add(row)
            s.flush()
            return row.id

    @staticmethod
    def _review_row(env_id: int, *, reviewer: str, text: str, verdict: str,
                    details: Mapping[str, Any] | None = None) -> Review:
        _check(isinstance(verdict, str) and 0 < len(verdict) <= 32, f"verdict must be 1..32 characters, got {verdict!r}")
        return Review(env_id=env_id, reviewer=str(reviewer)[:200], text=str(text), verdict=verdict,
                      details=_json_doc(details, f"review details of environment {env_id}"), created_at=utcnow())

    def record_calibration(self, env_id: int, *, checkpoint: str, difficulty: int, n: int, passes: int) -> int:
        """Add ``passes`` of ``n`` attempts; rows for the same checkpoint and difficulty add up."""
        with self._tx("record_calibration") as s:
            # Locked: two writers calibrating one environment must not both compute a stale mean.
            env = self._env(s, env_id, lock=True)
            return self._add_calibration(s, env, checkpoint=checkpoint, difficulty=difficulty, n=n, passes=passes)

    def _add_calibration(self, session: Session, env: Environment, *, checkpoint: str, difficulty: int, n: int,
                         passes: int) -> int:
        _check(isinstance(checkpoint, str) and 0 < len(checkpoint) <= 200, "checkpoint must be 1..200 characters")
        _check(isinstance(n, int) and isinstance(passes, int) and 0 <= passes <= n,
               f"calibration needs ints 0 <= passes <= n, got passes={passes!r} n={n!r}")
        _check(isinstance(difficulty, int) and 1 <= difficulty <= env.max_difficulty,
               f"difficulty {difficulty!r} is outside 1..{env.max_difficulty} of environment {env.id}")
        row = Calibration(env_id=env.id, checkpoint=checkpoint, difficulty=difficulty, n=n, passes=passes,
                          pass_rate=passes / n if n else 0.0, created_at=utcnow())
        session.add(row)
        session.flush()
        env.pass_rate = self._mean_pass_rate(session, env.id)
        return row.id

    @staticmethod
    def _mean_pass_rate(session: Session, env_id: int) -> float | None:
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

    def record_embedding(self, env_id: int, model: str, vector: Any) -> None:
        with self._tx("record_embedding") as s:
            self._env(s, env_id)
            self._put_embedding(s, env_id, model, vector)

    def _put_embedding(self, session: Session, env_id: int, model: str, vector: Any) -> None:
        _check(isinstance(model, str) and 0 < len(model) <= 200, f"embedding model must be 1..200 characters, got {model!r}")
        array = np.asarray(vector, dtype="<f4")
        _check(array.ndim == 1 and array.size > 0, f"embedding must be a non-empty 1-D vector, got shape {array.shape}")
        _check(bool(np.isfinite(array).all()), "embedding has NaN or infinite values")
        # Replace, portably (no dialect-specific upsert): one row per environment and model.
        session.execute(delete(Embedding).where(Embedding.env_id == env_id, Embedding.model == model))
        session.execute(insert(Embedding).values(env_id=env_id, model=model, dim=int(array.size),
                                                 vector=array.tobytes()))

    # ---- decisions ----------------------------------------------------------------------

    def admit(self, env_id: int, *, stages: Sequence[StageResult] = (), embedding: tuple[str, Any] | None = None,
              fingerprint: str | None = None, reward: float | None = None, run_id: int | None = None,
              reviews: Sequence[Mapping[str, Any]] = (), calibration: Sequence[Mapping[str, Any]] = (),
              gate: AdmissionGate | None = None) -> EnvRecord:
        """Admit a candidate: status, stage results, reviews, calibration, embedding, fingerprint,
        reward and pool membership in ONE transaction, under the admission lock. ``gate``, when
        given, is asked inside it; a StageResult it returns is added and the candidate is
        rejected instead (its reward then 0: the admission it was paid for did not happen).
        On an environment already decided, only the stage results are added; the returned
        record shows the status that stands."""
        _check(fingerprint is None or (isinstance(fingerprint, str) and len(fingerprint) <= 128),
               "fingerprint must be text of at most 128 characters")
        reward = _finite(reward, "reward")
        with self._tx("admit") as s:
            self._admission_lock(s)
            env = self._env(s, env_id, lock=True)
            veto = gate(AdmittedView(s, env.id)) if gate is not None and env.status == "candidate" else None
            if veto is not None:
                _check(isinstance(veto, StageResult) and veto.passed is False,
                       "an admission gate vetoes with a failed StageResult")
                return self._decide(s, env, "rejected", [*stages, veto], run_id, reason=f"{veto.stage}: "
                                    f"{veto.reason}", reward=0.0, reviews=reviews, calibration=calibration)
            return self._decide(s, env, "admitted", stages, run_id, reward=reward, fingerprint=fingerprint,
                                embedding=embedding, reviews=reviews, calibration=calibration)

    def reject(self, env_id: int, *, stages: Sequence[StageResult] = (), reason: str,
               reward: float | None = None, run_id: int | None = None,
               reviews: Sequence[Mapping[str, Any]] = (), calibration: Sequence[Mapping[str, Any]] = ()
               ) -> EnvRecord:
        """Reject a candidate with its stage results, reviews, calibration and a reason, in one transaction."""
        _check(isinstance(reason, str) and reason.strip() != "", "a rejection needs a reason")
        reward = _finite(reward, "reward")
        with self._tx("reject") as s:
            env = self._env(s, env_id, lock=True)
            return self._decide(s, env, "rejected", stages, run_id, reason=reason, reward=reward,
                                reviews=reviews, calibration=calibration)

    def _admission_lock(self, session: Session) -> None:
        """Wait for the admission lock (PostgreSQL; released at commit or when the connection dies,
        e.g. a worker killed with SIGKILL). SQLite's BEGIN IMMEDIATE already holds the only write lock."""
        if self.dialect == "postgresql":
            session.execute(sql_text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADMISSION_LOCK})

    def _decide(self, s: Session, env: Environment, status: str, stages: Sequence[StageResult],
                run_id: int | None, *, reason: str = "", reward: float | None = None, fingerprint: str | None = None,
                embedding: tuple[str, Any] | None = None, reviews: Sequence[Mapping[str, Any]] = (),
                calibration: Sequence[Mapping[str, Any]] = ()) -> EnvRecord:
        self._add_stages(s, env, stages, run_id)
        if env.status == "candidate":
            # Reviews and calibration come with the decision: a kill never leaves them without one.
            for review in reviews:
                s.add(self._review_row(env.id, **review))
            for point in calibration:
                self._add_calibration(s, env, **point)
            now = utcnow()
            env.status, env.status_reason, env.decided_at = status, reason, now
            if reward is not None:
                env.reward = reward
            if status == "admitted":
                if fingerprint is not None:
                    env.fingerprint = fingerprint
                if embedding is not None:
                    model, vector = embedding
                    self._put_embedding(s, env.id, model, vector)
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
            _check(isinstance(result, StageResult), f"stages must be StageResult objects, got {type(result).__name__}")
            rows.append(self._stage_row(env.id, result.stage, result.passed, result.score, result.reason,
                                        result.details, result.duration_s, run_id))
        if rows:
            session.execute(insert(StageResultRow), rows)
        for row in rows:  # the last novelty result recorded is the one that stands
            novelty = novelty_of(row["stage"], row["passed"], row["score"], row["details"])
            if novelty is not None:
                env.novelty = novelty

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
        doc = _json_doc(dict(evidence), f"quarantine evidence of environment {env_id}")
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

    # ---- look-ups ----------------------------------------------------------------------

    def get(self, id_or_name: int | str) -> EnvRecord:
        """By id, or by name (several with one name: the newest admitted, else the newest)."""
        with self._tx() as s:
            if isinstance(id_or_name, int) or (isinstance(id_or_name, str) and id_or_name.strip().isdigit()):
                return EnvRecord.from_row(self._env(s, int(id_or_name)))
            admitted_first = case((Environment.status == "admitted", 0), else_=1)
            env = s.scalars(select(Environment).where(Environment.name == str(id_or_name))
                            .order_by(admitted_first, Environment.id.desc()).limit(1)).one_or_none()
            if env is None:
                raise UnknownEnvironment(f"no environment with id or name {id_or_name!r} in {self.url}")
            return EnvRecord.from_row(env)

    def by_hash(self, sha: str) -> EnvRecord | None:
        with self._tx() as s:
            env = s.scalars(select(Environment).where(Environment.code_sha256 == sha)).one_or_none()
            return EnvRecord.from_row(env) if env is not None else None

    def find_fingerprint(self, fingerprint: str) -> EnvRecord | None:
        """The first environment that passed admission with this behavioural fingerprint."""
        with self._tx() as s:
            env = s.scalars(select(Environment).where(Environment.fingerprint == fingerprint,
                                                      Environment.status.in_(EVER_ADMITTED))
                            .order_by(Environment.id).limit(1)).one_or_none()
            return EnvRecord.from_row(env) if env is not None else None

    def _filters(self, status, origin, tag, search=None) -> list:
        where = []
        if status is not None:
            _check(status in STATUSES, f"status must be one of {', '.join(STATUSES)}, got {status!r}")
            where.append(Environment.status == status)
        if origin is not None:
            _check(origin in ORIGINS, f"origin must be one of {', '.join(ORIGINS)}, got {origin!r}")
            where.append(Environment.origin == origin)
        if tag is not None:
            # EXISTS (not IN): walking environments newest first stops after ``limit`` hits.
            where.append(select(EnvironmentTag.env_id).where(EnvironmentTag.env_id == Environment.id,
                                                            EnvironmentTag.tag == tag).exists())
        if search:
            where.append(self._search_clause(search))
        return where

    def _search_clause(self, text: str):
        if self.dialect == "sqlite" and (query := _fts_query(text)) is not None:
            return Environment.id.in_(sql_text(
                f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :fts_query"
            ).bindparams(fts_query=query))
        if self.dialect == "postgresql" and (query := _tsquery(text)) is not None:
            return sql_text(f"{PG_SEARCH_COLUMN} @@ to_tsquery('simple'::regconfig, :ts_query)"
                            ).bindparams(ts_query=query)
        # No word in the text (e.g. "%"): the text itself, as a substring of name, description or code.
        return or_(*(column.ilike(_like_pattern(text), escape="\\")
                     for column in (Environment.name, Environment.description, Environment.code)))

    def list_envs(self, status: str | None = None, origin: str | None = None, tag: str | None = None,
                  search: str | None = None, sort: str = "created", limit: int = 50,
                  offset: int = 0) -> list[EnvRecord]:
        """Environments matching every given filter. ``search`` matches words in the name,
        description or code: each of its words must begin a word there (full-text index)."""
        _check(sort in SORTS, f"sort must be one of {', '.join(SORTS)}, got {sort!r}")
        _check(isinstance(limit, int) and limit >= 0, f"limit must be an int >= 0, got {limit!r}")
        _check(isinstance(offset, int) and offset >= 0, f"offset must be an int >= 0, got {offset!r}")
        fts = _fts_query(search) if search and self.dialect == "sqlite" else None
        with self._tx() as s:
            if fts is not None and sort == "created":
                # Newest matches first, straight from the full-text index in rowid order.
                query = (select(Environment).join(FTS, FTS.c.rowid == Environment.id)
                         .where(sql_text(f"{FTS_TABLE} MATCH :fts_query").bindparams(fts_query=fts),
                                *self._filters(status, origin, tag))
                         .order_by(FTS.c.rowid.desc()))
            else:
                query = select(Environment).where(*self._filters(status, origin, tag, search)).order_by(*SORTS[sort])
            return [EnvRecord.from_row(env) for env in s.scalars(query.limit(limit).offset(offset))]

    def count_envs(self, status: str | None = None, origin: str | None = None, tag: str | None = None,
                   search: str | None = None) -> int:
        with self._tx() as s:
            query = select(func.count()).select_from(Environment).where(*self._filters(status, origin, tag, search))
            return int(s.scalar(query))

    def status_counts(self, run_id: int | None = None) -> dict[str, int]:
        """How many environments have each status (only those a run proposed, when given)."""
        with self._tx() as s:
            query = select(Environment.status, func.count()).group_by(Environment.status)
            if run_id is not None:
                query = query.where(Environment.run_id == run_id)
            counts = dict(s.execute(query).all())
        return {status: int(counts.get(status, 0)) for status in STATUSES}

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

    def reviews(self, env_id: int) -> list[ReviewRow]:
        with self._tx() as s:
            self._env(s, env_id)
            rows = s.scalars(select(Review).where(Review.env_id == env_id).order_by(Review.id))
            return [ReviewRow.from_row(r) for r in rows]

    def proposals(self, env_id: int) -> list[dict[str, Any]]:
        with self._tx() as s:
            self._env(s, env_id)
            rows = s.scalars(select(Proposal).where(Proposal.env_id == env_id).order_by(Proposal.id))
            return [{"id": p.id, "run_id": p.run_id, "prompt": p.prompt, "completion": p.completion,
                     "prompt_tokens": p.prompt_tokens, "completion_tokens": p.completion_tokens,
                     "cost": p.cost} for p in rows]

    def lineage(self, env_id: int) -> dict[str, list[dict[str, Any]]]:
        """Direct parents and children: ``{"parents": [...], "children": [...]}``, each
        ``{"id", "name", "status", "generation", "relation"}``."""
        with self._tx() as s:
            self._env(s, env_id)
            return self._lineage(s, [env_id])[env_id]

    def lineage_many(self, env_ids: Iterable[int]) -> dict[int, dict[str, list[dict[str, Any]]]]:
        """``lineage`` of several environments in two queries (unknown ids map to empty lists)."""
        ids = sorted({int(i) for i in env_ids})
        if not ids:
            return {}
        with self._tx() as s:
            return self._lineage(s, ids)

    def _lineage(self, s: Session, env_ids: list[int]) -> dict[int, dict[str, list[dict[str, Any]]]]:
        found: dict[int, dict[str, list[dict[str, Any]]]] = {i: {"parents": [], "children": []} for i in env_ids}

        def add(direction: str, other_end, this_end) -> None:
            query = (select(this_end, Environment.id, Environment.name, Environment.status, Environment.generation,
                            Lineage.relation)
                     .join(Lineage, other_end == Environment.id).where(this_end.in_(env_ids))
                     .order_by(Environment.id))
            for this, i, n, st, g, r in s.execute(query):
                found[this][direction].append({"id": i, "name": n, "status": st, "generation": g, "relation": r})

        add("parents", Lineage.parent_id, Lineage.child_id)
        add("children", Lineage.child_id, Lineage.parent_id)
        return found

    def ancestry(self, env_id: int, max_depth: int = 32) -> dict[str, Any]:
        """The ancestry tree: ``{"id", "name", "status", "generation", "relation", "parents": [...]}``
        recursively. An ancestor reached by several paths (crossovers share ancestors) has its
        parents drawn once, at its first place depth-first; later places are leaves marked
        ``"shown_above": True``. Otherwise the tree doubles per generation of crossovers."""
        with self._tx() as s:
            root = self._env(s, env_id)
            # Every ancestor's parents, one query per generation back (not one per node).
            parents_of: dict[int, list[dict[str, Any]]] = {}
            frontier = [root.id]
            for _ in range(max_depth):
                todo = sorted({i for i in frontier if i not in parents_of})
                if not todo:
                    break
                found = self._lineage(s, todo)
                for i in todo:
                    parents_of[i] = found[i]["parents"]
                frontier = [p["id"] for i in todo for p in parents_of[i]]

        expanded: set[int] = set()

        def node(item: dict[str, Any], depth: int) -> dict[str, Any]:
            item = dict(item)
            if item["id"] in expanded:
                item.update(parents=[], shown_above=True)
                return item
            expanded.add(item["id"])
            parents = parents_of.get(item["id"], []) if depth < max_depth else []
            item["parents"] = [node(p, depth + 1) for p in parents]
            return item

        return node({"id": root.id, "name": root.name, "status": root.status, "generation": root.generation,
                     "relation": None}, 0)

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
            for checkpoint, difficulty, n, passes in s.execute(query):
                n, passes = int(n), int(passes)
                curve[checkpoint].append((difficulty, n, passes, passes / n if n else 0.0))
            return dict(curve)

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
                rows = conn.execute(query).fetchall()
        except OperationalError as exc:
            raise translate(exc, self.engine) from None
        if not rows:
            return [], np.zeros((0, 0), dtype=np.float32)
        rows.sort(key=lambda row: row[0])
        dims = {row[1] for row in rows}
        _check(len(dims) == 1, f"embeddings of model {model!r} have mixed dimensions {sorted(dims)}")
        matrix = np.empty((len(rows), dims.pop()), dtype=np.float32)
        for i, row in enumerate(rows):
            matrix[i] = np.frombuffer(row[2], dtype="<f4")
        return [row[0] for row in rows], matrix

    # ---- the training pool --------------------------------------------------------------

    def pool(self) -> list[tuple[int, str, int]]:
        """Active pool members: (env_id, origin, epochs)."""
        with self._tx() as s:
            return [tuple(r) for r in s.execute(self._pool_query())]

    def _pool_query(self):
        return (select(PoolMembership.env_id, Environment.origin, PoolMembership.epochs)
                .join(Environment, Environment.id == PoolMembership.env_id)
                .where(PoolMembership.retired_at.is_(None), Environment.status == "admitted")
                .order_by(PoolMembership.env_id))

    def sample_pool(self, k: int, rng, seed_floor: float = 0.2) -> list[EnvRecord]:
        """``k`` environments drawn with replacement from the active pool; at least
        ``ceil(seed_floor * k)`` of them are seeds (when the pool has seeds).
        ``rng`` is a ``random.Random`` or a ``numpy.random.Generator``."""
        _check(isinstance(k, int) and k >= 0, f"k must be an int >= 0, got {k!r}")
        _check(0.0 <= seed_floor <= 1.0, f"seed_floor must be within [0, 1], got {seed_floor!r}")
        members = self.pool()
        if k == 0 or not members:
            return []
        seeds = [env_id for env_id, origin, _ in members if origin == "seed"]
        everyone = [env_id for env_id, _, _ in members]
        n_seeds = min(k, math.ceil(seed_floor * k)) if seeds else 0
        picks = [seeds[_below(rng, len(seeds))] for _ in range(n_seeds)]
        picks += [everyone[_below(rng, len(everyone))] for _ in range(k - n_seeds)]
        _shuffle(rng, picks)
        with self._tx() as s:
            records = {e.id: EnvRecord.from_row(e)
                       for e in s.scalars(select(Environment).where(Environment.id.in_(set(picks))))}
        return [records[i] for i in picks]

    def advance_pool_epoch(self, max_epochs: int) -> list[int]:
        """One more epoch for every active member; generated environments that have now
        been in the pool ``max_epochs`` epochs are retired. Returns the retired ids."""
        _check(isinstance(max_epochs, int) and max_epochs >= 1, f"max_epochs must be an int >= 1, got {max_epochs!r}")
        with self._tx("advance_pool_epoch") as s:
            active = select(PoolMembership.env_id).where(PoolMembership.retired_at.is_(None)).scalar_subquery()
            s.execute(update(PoolMembership).where(PoolMembership.env_id.in_(active))
                      .values(epochs=PoolMembership.epochs + 1))
            due = list(s.scalars(
                select(PoolMembership.env_id).join(Environment, Environment.id == PoolMembership.env_id)
                .where(PoolMembership.retired_at.is_(None), PoolMembership.epochs >= max_epochs,
                       Environment.origin == "generated", Environment.status == "admitted")
                .order_by(PoolMembership.env_id)))
            if due:
                s.execute(update(PoolMembership).where(PoolMembership.env_id.in_(due)).values(retired_at=utcnow()))
                s.execute(update(Environment).where(Environment.id.in_(due))
                          .values(status="retired", status_reason=f"rotated out after {max_epochs} pool epochs"))
            return due

    # ---- runs and training ----------------------------------------------------------------

    def start_run(self, kind: str, config: Mapping[str, Any] | None = None) -> int:
        _check(isinstance(kind, str) and 0 < len(kind) <= 32, f"run kind must be 1..32 characters, got {kind!r}")
        with self._tx("start_run") as s:
            run = Run(kind=kind, config=_json_doc(dict(config or {}), f"{kind} run config"), status="running",
                      summary={}, started_at=utcnow())
            s.add(run)
            s.flush()
            return run.id

    def finish_run(self, run_id: int, status: str = "finished", summary: Mapping[str, Any] | None = None) -> None:
        _check(isinstance(status, str) and 0 < len(status) <= 16, f"run status must be 1..16 characters, got {status!r}")
        with self._tx("finish_run") as s:
            run = s.get(Run, run_id)
            if run is None:
                raise UnknownRun(f"no run with id {run_id} in {self.url}")
            run.status, run.finished_at = status, utcnow()
            run.summary = _json_doc(dict(summary or {}), f"summary of run {run_id}")

    def get_run(self, run_id: int) -> RunRecord:
        with self._tx() as s:
            run = s.get(Run, run_id)
            if run is None:
                raise UnknownRun(f"no run with id {run_id} in {self.url}")
            return RunRecord.from_row(run, self._run_counts(s, [run_id]).get(run_id))

    def runs(self, kind: str | None = None, limit: int = 50) -> list[RunRecord]:
        """Newest first, each with the statuses of the candidates it proposed."""
        with self._tx() as s:
            query = select(Run).order_by(Run.id.desc()).limit(limit)
            if kind is not None:
                query = query.where(Run.kind == kind)
            runs = list(s.scalars(query))
            counts = self._run_counts(s, [r.id for r in runs])
            return [RunRecord.from_row(r, counts.get(r.id)) for r in runs]

    def _run_counts(self, s: Session, run_ids: list[int]) -> dict[int, dict[str, int]]:
        counts: dict[int, dict[str, int]] = defaultdict(dict)
        query = (select(Environment.run_id, Environment.status, func.count())
                 .where(Environment.run_id.in_(run_ids)).group_by(Environment.run_id, Environment.status))
        for run_id, status, n in s.execute(query):
            counts[run_id][status] = int(n)
        return counts

    def record_usage(self, env_id: int, *, run_id: int | None, step: int, mean_reward: float) -> None:
        _check(isinstance(step, int) and step >= 0, f"step must be an int >= 0, got {step!r}")
        row = TrainingUsage(env_id=env_id, run_id=run_id, step=step,
                            mean_reward=_finite(mean_reward, "mean_reward"), created_at=utcnow())
        with self._tx("record_usage") as s:
            self._env(s, env_id)
            self._run_exists(s, run_id)
            s.add(row)

    def usage(self, env_id: int) -> list[dict[str, Any]]:
        with self._tx() as s:
            rows = s.scalars(select(TrainingUsage).where(TrainingUsage.env_id == env_id).order_by(TrainingUsage.id))
            return [{"run_id": u.run_id, "step": u.step, "mean_reward": u.mean_reward} for u in rows]

    def funnel(self, run_id: int | None = None) -> dict[str, dict[str, int]]:
        """Per stage, in pipeline order: how many environments it ran on (``entered``),
        how many passed, and how many it could not run on (``not_run``)."""
        query = self._funnel_query()
        if run_id is not None:
            query = query.where(StageResultRow.run_id == run_id)
        with self._tx() as s:
            return _in_stage_order({stage: counts for stage, *counts in s.execute(query)})

    def funnels(self, run_ids: Iterable[int]) -> dict[int, dict[str, dict[str, int]]]:
        """``funnel(run_id)`` of several runs in one query (a run without stage results maps to {})."""
        ids = sorted({int(i) for i in run_ids})
        query = (self._funnel_query(StageResultRow.run_id).where(StageResultRow.run_id.in_(ids))
                 .group_by(StageResultRow.run_id))
        found: dict[int, dict[str, tuple[int, int, int]]] = {i: {} for i in ids}
        if ids:
            with self._tx() as s:
                for run_id, stage, *counts in s.execute(query):
                    found[run_id][stage] = counts
        return {run_id: _in_stage_order(stages) for run_id, stages in found.items()}

    @staticmethod
    def _funnel_query(*keys):
        """Per ``keys`` and stage: environments it ran on, that passed, it could not run on."""
        ran = StageResultRow.passed.is_not(None)
        return (select(*keys, StageResultRow.stage,
                       func.count(distinct(case((ran, StageResultRow.env_id)))),
                       func.count(distinct(case((StageResultRow.passed.is_(True), StageResultRow.env_id)))),
                       func.count(distinct(case((~ran, StageResultRow.env_id)))))
                .group_by(StageResultRow.stage))


def _in_stage_order(found: Mapping[str, Sequence[int]]) -> dict[str, dict[str, int]]:
    """``{stage: (entered, passed, not_run)}`` as the funnel's dicts, pipeline stages first."""
    order = [st for st in STAGES if st in found] + sorted(set(found) - set(STAGES))
    return {stage: dict(zip(("entered", "passed", "not_run"), map(int, found[stage]))) for stage in order}

def _below(rng, n: int) -> int:
    if hasattr(rng, "integers"):  # numpy Generator
        return int(rng.integers(n))
    return rng.randrange(n)


def _shuffle(rng, items: list) -> None:
    if hasattr(rng, "integers"):
        order = rng.permutation(len(items))
        items[:] = [items[i] for i in order]
    else:
        rng.shuffle(items)


def open_registry(url: str | None = None, *, upgrade_schema: bool = False) -> Registry:
    """The registry at ``url`` (default ``$EVOENV_DB``, else ``sqlite:///evoenv.db``).

    Refuses a database whose schema is not the newest, naming ``evoenv db upgrade``;
    ``upgrade_schema=True`` applies the migrations first (what ``evoenv init`` does).
    """
    if upgrade_schema:
        upgrade(url)
    else:
        _refuse_missing_sqlite_file(url)
    engine = make_engine(url)
    try:
        check_schema(engine)
    except BaseException:
        engine.dispose()
        raise
    return Registry(engine)


def _refuse_missing_sqlite_file(url: str | None) -> None:
    """Opening a SQLite file creates it; don't leave an empty one behind a typo'd path."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    url = database_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        return  # make_engine names the problem
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        if not Path(parsed.database).expanduser().exists():
            raise SchemaOutOfDate(f"there is no registry database at {parsed.database}; "
                                  "run: evoenv init (or evoenv db upgrade)")
