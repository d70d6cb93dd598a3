"""Plain, detached values the Registry API returns (no session needed to read them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, overload

from evoenv.registry.models import Environment, Review, Run, StageResultRow


@overload
def aware(moment: datetime) -> datetime: ...
@overload
def aware(moment: None) -> None: ...
def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands datetimes back without a zone; everything stored is UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


@dataclass(frozen=True)
class EnvRecord:
    id: int
    name: str
    description: str
    code: str
    code_sha256: str
    max_difficulty: int
    status: str
    origin: str
    generation: int
    created_at: datetime
    tags: tuple[str, ...] = ()
    run_id: int | None = None
    status_reason: str = ""
    decided_at: datetime | None = None
    fingerprint: str | None = None
    reward: float | None = None
    pass_rate: float | None = None
    novelty: float | None = None

    @classmethod
    def from_row(cls, row: Environment) -> EnvRecord:
        return cls(
            id=row.id, name=row.name, description=row.description, code=row.code,
            code_sha256=row.code_sha256, max_difficulty=row.max_difficulty, status=row.status,
            origin=row.origin, generation=row.generation, created_at=aware(row.created_at),
            tags=tuple(sorted(t.tag for t in row.tags)), run_id=row.run_id, status_reason=row.status_reason,
            decided_at=aware(row.decided_at), fingerprint=row.fingerprint, reward=row.reward,
            pass_rate=row.pass_rate, novelty=row.novelty,
        )

    def to_dict(self, code: bool = True) -> dict[str, Any]:
        data = asdict(self)
        data["tags"] = list(self.tags)
        data["created_at"] = self.created_at.isoformat()
        data["decided_at"] = self.decided_at.isoformat() if self.decided_at else None
        if not code:
            del data["code"]
        return data


@dataclass(frozen=True)
class StageRow:
    id: int
    env_id: int
    stage: str
    passed: bool | None
    score: float | None
    reason: str
    details: dict[str, Any]
    duration_s: float
    created_at: datetime
    run_id: int | None = None

    @classmethod
    def from_row(cls, row: StageResultRow) -> StageRow:
        return cls(row.id, row.env_id, row.stage, row.passed, row.score, row.reason, dict(row.details or {}),
                   row.duration_s, aware(row.created_at), row.run_id)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        return data


@dataclass(frozen=True)
class ReviewRow:
    id: int
    env_id: int
    reviewer: str
    text: str
    verdict: str
    details: dict[str, Any]
    created_at: datetime

    @classmethod
    def from_row(cls, row: Review) -> ReviewRow:
        return cls(row.id, row.env_id, row.reviewer, row.text, row.verdict, dict(row.details or {}),
                   aware(row.created_at))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        return data


@dataclass(frozen=True)
class RunRecord:
    id: int
    kind: str
    status: str
    config: dict[str, Any]
    summary: dict[str, Any]
    started_at: datetime
    finished_at: datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)  # environment statuses among its candidates

    @classmethod
    def from_row(cls, row: Run, counts: dict[str, int] | None = None) -> RunRecord:
        return cls(row.id, row.kind, row.status, dict(row.config or {}), dict(row.summary or {}),
                   aware(row.started_at), aware(row.finished_at), dict(counts or {}))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        data["finished_at"] = self.finished_at.isoformat() if self.finished_at else None
        return data
