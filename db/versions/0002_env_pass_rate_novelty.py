"""Sortable pass rate and novelty on environments, backfilled from the rows they summarise.

``pass_rate``: mean over difficulties of the summed pass rate of the checkpoint
calibrated most recently. ``novelty``: the newest novelty stage result's score
(1 - max similarity to admitted environments), 0 for a behavioural duplicate.
The Registry keeps both from here on; this migration derives them once for rows
written before it (the rules are repeated here so the migration stays fixed).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import json
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

environments = sa.table("environments", sa.column("id", sa.Integer), sa.column("pass_rate", sa.Float),
                        sa.column("novelty", sa.Float))
calibrations = sa.table("calibrations", sa.column("id", sa.Integer), sa.column("env_id", sa.Integer),
                        sa.column("checkpoint", sa.String), sa.column("difficulty", sa.Integer),
                        sa.column("n", sa.Integer), sa.column("passes", sa.Integer))
stage_results = sa.table("stage_results", sa.column("id", sa.Integer), sa.column("env_id", sa.Integer),
                         sa.column("stage", sa.String), sa.column("passed", sa.Boolean),
                         sa.column("score", sa.Float), sa.column("details", sa.JSON))


def upgrade() -> None:
    op.add_column("environments", sa.Column("pass_rate", sa.Float(), nullable=True))
    op.add_column("environments", sa.Column("novelty", sa.Float(), nullable=True))
    op.create_index("ix_environments_pass_rate_id", "environments", ["pass_rate", "id"])
    op.create_index("ix_environments_novelty_id", "environments", ["novelty", "id"])
    bind = op.get_bind()
    _backfill(bind, "pass_rate", _pass_rates(bind))
    _backfill(bind, "novelty", _novelties(bind))


def downgrade() -> None:
    op.drop_index("ix_environments_novelty_id", table_name="environments")
    op.drop_index("ix_environments_pass_rate_id", table_name="environments")
    # Plain DROP COLUMN (SQLite >= 3.35 and PostgreSQL): a batch table rebuild would lose the FTS triggers.
    op.execute("ALTER TABLE environments DROP COLUMN novelty")
    op.execute("ALTER TABLE environments DROP COLUMN pass_rate")


def _pass_rates(bind) -> dict[int, float]:
    latest: dict[int, str] = {}
    sums: dict[tuple[int, str, int], list[int]] = defaultdict(lambda: [0, 0])
    query = sa.select(calibrations.c.env_id, calibrations.c.checkpoint, calibrations.c.difficulty,
                      calibrations.c.n, calibrations.c.passes).order_by(calibrations.c.id)
    for env_id, checkpoint, difficulty, n, passes in bind.execute(query):
        latest[env_id] = checkpoint  # rows come oldest first: the last one seen is the newest
        total = sums[(env_id, checkpoint, difficulty)]
        total[0] += n
        total[1] += passes
    rates: dict[int, list[float]] = defaultdict(list)
    for (env_id, checkpoint, _), (n, passes) in sums.items():
        if checkpoint == latest[env_id] and n:
            rates[env_id].append(passes / n)
    return {env_id: sum(values) / len(values) for env_id, values in rates.items()}


def _novelties(bind) -> dict[int, float]:
    found: dict[int, float] = {}
    query = (sa.select(stage_results.c.env_id, stage_results.c.passed, stage_results.c.score,
                       stage_results.c.details)
             .where(stage_results.c.stage == "novelty").order_by(stage_results.c.id))
    for env_id, passed, score, details in bind.execute(query):
        if isinstance(details, str):
            details = json.loads(details)
        if score is not None:
            found[env_id] = float(score)
        elif passed is False and (details or {}).get("duplicate_of"):
            found[env_id] = 0.0
    return found


def _backfill(bind, column: str, values: dict[int, float]) -> None:
    if values:
        statement = (sa.update(environments).where(environments.c.id == sa.bindparam("env_id"))
                     .values({column: sa.bindparam("value")}))
        bind.execute(statement, [{"env_id": k, "value": v} for k, v in values.items()])
