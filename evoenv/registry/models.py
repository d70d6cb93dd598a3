"""The registry's tables, as SQLAlchemy 2.0 typed models.

Only ``evoenv.registry`` touches these; every other module goes through
``Registry``. The Alembic migrations in ``db/`` create exactly this schema
(a test compares the two).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

STATUSES = ("candidate", "admitted", "rejected", "retired")
ORIGINS = ("seed", "generated", "imported")
RELATIONS = ("mutation", "crossover", "repair", "inspired_by")

# JSON documents: JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
JSONDoc = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    # Named constraints, so migrations can refer to them on every backend.
    metadata = MetaData(naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    })


class Run(Base):
    """One grow, train or CoTEvol run and the config it ran with."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="running")
    summary: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Environment(Base):
    """One environment's source and where it stands. ``code_sha256`` is its content address."""

    __tablename__ = "environments"
    __table_args__ = (
        CheckConstraint(_one_of("status", STATUSES), name="status"),
        CheckConstraint(_one_of("origin", ORIGINS), name="origin"),
        CheckConstraint("max_difficulty >= 1", name="max_difficulty"),
        # The list views: filter on status or origin, newest (highest id) first; best reward first.
        Index("ix_environments_status_id", "status", "id"),
        Index("ix_environments_origin_id", "origin", "id"),
        Index("ix_environments_status_reward", "status", "reward"),
        # The browser's "best pass rate" / "most novel" sorts walk these instead of sorting.
        Index("ix_environments_pass_rate_id", "pass_rate", "id"),
        Index("ix_environments_novelty_id", "novelty", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    code: Mapped[str] = mapped_column(Text)
    code_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    max_difficulty: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="candidate")
    status_reason: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[str] = mapped_column(String(16), default="generated")
    generation: Mapped[int] = mapped_column(Integer, default=0)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Behavioural fingerprint (novelty stage): catches renamed or reformatted copies.
    fingerprint: Mapped[str | None] = mapped_column(String(128), index=True)
    # The generator's reward for proposing this environment.
    reward: Mapped[float | None] = mapped_column(Float)
    # Denormalised for sorting (kept by Registry in the writing transaction):
    # mean pass rate over the difficulties of the newest calibrated checkpoint, and
    # 1 - max similarity to admitted environments from the newest novelty stage result.
    pass_rate: Mapped[float | None] = mapped_column(Float)
    novelty: Mapped[float | None] = mapped_column(Float)

    # Unordered (records sort them): an ORDER BY tag here made PostgreSQL walk the tag index
    # over every tag row instead of looking up the page's ids (18 ms instead of 0.5 at 100k).
    tags: Mapped[list[EnvironmentTag]] = relationship(
        back_populates="environment", cascade="all, delete-orphan", lazy="selectin")


class EnvironmentTag(Base):
    __tablename__ = "environment_tags"

    env_id: Mapped[int] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)

    environment: Mapped[Environment] = relationship(back_populates="tags")


class Lineage(Base):
    """``child`` was made from ``parent`` by ``relation``."""

    __tablename__ = "lineage"
    __table_args__ = (CheckConstraint(_one_of("relation", RELATIONS), name="relation"),)

    child_id: Mapped[int] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"), primary_key=True)
    parent_id: Mapped[int] = mapped_column(
        ForeignKey("environments.id", ondelete="CASCADE"), primary_key=True, index=True)
    relation: Mapped[str] = mapped_column(String(16), primary_key=True)


class StageResultRow(Base):
    """One run of one admission stage on one environment. Re-running appends a row."""

    __tablename__ = "stage_results"
    __table_args__ = (
        Index("ix_stage_results_env_stage", "env_id", "stage"),
        Index("ix_stage_results_run_stage", "run_id", "stage"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    env_id: Mapped[int] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    stage: Mapped[str] = mapped_column(String(32))
    passed: Mapped[bool | None] = mapped_column(Boolean)
    score: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Review(Base):
    """One reviewer's raw text and verdict on one environment."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    env_id: Mapped[int] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"), index=True)
    reviewer: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(String(32))
    details: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Calibration(Base):
    """``passes`` of ``n`` solver attempts by ``checkpoint`` at ``difficulty``. Rows add up."""

    __tablename__ = "calibrations"
    __table_args__ = (
        CheckConstraint("n >= 0 AND passes >= 0 AND passes <= n", name="counts"),
        Index("ix_calibrations_env_checkpoint", "env_id", "checkpoint", "difficulty"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    env_id: Mapped[int] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"))
    checkpoint: Mapped[str] = mapped_column(String(200))
    difficulty: Mapped[int] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(Integer)
    passes: Mapped[int] = mapped_column(Integer)
    pass_rate: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Embedding(Base):
    """A float32 vector, stored as little-endian bytes (``dim`` floats)."""

    __tablename__ = "embeddings"

    env_id: Mapped[int] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"), primary_key=True)
    model: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class Proposal(Base):
    """What the generator was asked and what it wrote, for one candidate."""

    __tablename__ = "proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    env_id: Mapped[int] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), index=True)
    prompt: Mapped[str] = mapped_column(Text)
    completion: Mapped[str] = mapped_column(Text)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PoolMembership(Base):
    """An admitted environment's time in the training pool."""

    __tablename__ = "pool_membership"

    env_id: Mapped[int] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"), primary_key=True)
    epochs: Mapped[int] = mapped_column(Integer, default=0)
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)


class TrainingUsage(Base):
    """Mean reward of an environment's prompts at one training step."""

    __tablename__ = "training_usage"
    __table_args__ = (Index("ix_training_usage_run_step", "run_id", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    env_id: Mapped[int] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    step: Mapped[int] = mapped_column(Integer)
    mean_reward: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Quarantine(Base):
    """An environment the runtime audit caught paying for a known-wrong answer (see ``evoenv.audit``),
    with the evidence. The environment itself is retired, so it leaves the pool and the exports."""

    __tablename__ = "quarantines"

    env_id: Mapped[int] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    #: the instance (seed, difficulty), the wrong answer, its kind and the score it paid; where it was caught
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
