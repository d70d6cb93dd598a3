"""Response models of the JSON API (they are what the OpenAPI schema at /openapi.json shows)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class EnvSummary(BaseModel):
    id: int
    name: str
    description: str
    status: str
    origin: str | None
    generation: int
    max_difficulty: int | None
    tags: list[str]
    created_at: str | None
    code_sha256: str | None
    reward: float | None = None
    status_reason: str = ""
    run_id: int | None = None
    pass_rate: float | None = None
    novelty: float | None = None


class Filters(BaseModel):
    status: str | None = None
    origin: str | None = None
    tag: str | None = None
    q: str | None = None
    sort: str | None = None
    stage: str | None = None


class EnvPage(BaseModel):
    items: list[EnvSummary]
    page: int
    page_size: int
    total: int
    pages: int
    has_next: bool
    filters: Filters


class StageRow(BaseModel):
    stage: str
    passed: bool | None
    score: float | None
    reason: str
    details: dict[str, Any]
    duration_s: float
    at: str | None
    run_id: int | None = None


class Review(BaseModel):
    reviewer: str | None
    verdict: str | None
    text: str
    details: dict[str, Any]
    at: str | None


class CalibrationPoint(BaseModel):
    difficulty: int
    n: int
    passes: int
    rate: float | None


class Proposal(BaseModel):
    run_id: int | None
    prompt: str
    completion: str
    prompt_tokens: int | None
    completion_tokens: int | None
    cost: float | None


class EnvDetail(EnvSummary):
    code: str
    stages: list[StageRow]
    latest_stages: list[StageRow]
    failing_stage: str | None
    reason: str | None
    reviews: list[Review]
    proposals: list[Proposal]
    calibration: dict[str, list[CalibrationPoint]]
    #: {"reason", "evidence", "at"} when the runtime audit quarantined it
    quarantine: dict | None = None


class Instance(BaseModel):
    env_id: int
    seed: int
    difficulty: int
    instance: Any
    prompt: str
    reference: str | None = None


class LineageNode(BaseModel):
    id: int
    name: str | None
    status: str | None
    generation: int | None
    layer: int | None = None
    relation: str | None = None


class LineageEdge(BaseModel):
    parent: int
    child: int
    relation: str


class Lineage(BaseModel):
    root: int
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    parents: list[LineageNode]
    children: list[LineageNode]
    truncated: bool


class DiffLine(BaseModel):
    kind: str
    text: str


class Diff(BaseModel):
    parent: LineageNode
    added: int
    removed: int
    text: str
    lines: list[DiffLine]


class FunnelBar(BaseModel):
    step: str
    count: int
    entered: int | None = None
    fraction: float


class RunFunnel(BaseModel):
    id: int
    kind: str | None
    status: str | None
    started_at: str | None
    proposed: int
    duplicates: int
    admitted: int
    rejected: int
    tokens: float | None
    seconds: float | None
    tokens_per_admitted: float | None
    seconds_per_admitted: float | None
    bars: list[FunnelBar]


class SeedCount(BaseModel):
    total: int
    admitted: int


class Funnel(BaseModel):
    run_id: int | None
    bars: list[FunnelBar]
    duplicates: int
    seeds: SeedCount
    runs: list[RunFunnel]


class RejectedItem(EnvSummary):
    failing_stage: str | None
    reason: str
    details: dict[str, Any]
    passed_stages: list[str]


class ReasonPattern(BaseModel):
    stage: str | None
    pattern: str
    count: int


class RejectedPage(BaseModel):
    items: list[RejectedItem]
    common_reasons: list[ReasonPattern]
    page: int
    page_size: int
    has_next: bool
    filters: Filters
    counts: dict[str, int]
    scan_truncated: bool


class ActionResult(BaseModel):
    ok: bool
    message: str
    env: EnvSummary | None = None


class StageRun(BaseModel):
    stage: str
    passed: bool | None
    reason: str
    duration_s: float


class RerunResult(BaseModel):
    env_id: int
    stage: str
    ran: list[StageRun]
