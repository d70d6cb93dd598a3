"""Initial registry schema: environments and everything recorded about them.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSONDoc = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _when(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _env_fk(column: str = "env_id", primary_key: bool = False) -> sa.Column:
    return sa.Column(column, sa.Integer(), nullable=False, primary_key=primary_key)


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("config", JSONDoc, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("summary", JSONDoc, nullable=False),
        _when("started_at"),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    op.create_index(op.f("ix_runs_kind"), "runs", ["kind"])

    op.create_table(
        "environments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("code_sha256", sa.String(length=64), nullable=False),
        sa.Column("max_difficulty", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        _when("created_at"),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fingerprint", sa.String(length=128), nullable=True),
        sa.Column("reward", sa.Float(), nullable=True),
        sa.CheckConstraint("origin IN ('seed', 'generated', 'imported')", name=op.f("ck_environments_origin")),
        sa.CheckConstraint("status IN ('candidate', 'admitted', 'rejected', 'retired')",
                           name=op.f("ck_environments_status")),
        sa.CheckConstraint("max_difficulty >= 1", name=op.f("ck_environments_max_difficulty")),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_environments_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_environments")),
        sa.UniqueConstraint("code_sha256", name=op.f("uq_environments_code_sha256")),
    )
    op.create_index(op.f("ix_environments_fingerprint"), "environments", ["fingerprint"])
    op.create_index(op.f("ix_environments_name"), "environments", ["name"])
    op.create_index(op.f("ix_environments_run_id"), "environments", ["run_id"])
    op.create_index("ix_environments_status_id", "environments", ["status", "id"])
    op.create_index("ix_environments_origin_id", "environments", ["origin", "id"])
    op.create_index("ix_environments_status_reward", "environments", ["status", "reward"])

    def env_fk(table: str, column: str = "env_id") -> sa.ForeignKeyConstraint:
        return sa.ForeignKeyConstraint([column], ["environments.id"], ondelete="CASCADE",
                                       name=op.f(f"fk_{table}_{column}_environments"))

    def run_fk(table: str) -> sa.ForeignKeyConstraint:
        return sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f(f"fk_{table}_run_id_runs"))

    op.create_table(
        "environment_tags",
        _env_fk(),
        sa.Column("tag", sa.String(length=64), nullable=False),
        env_fk("environment_tags"),
        sa.PrimaryKeyConstraint("env_id", "tag", name=op.f("pk_environment_tags")),
    )
    op.create_index(op.f("ix_environment_tags_tag"), "environment_tags", ["tag"])

    op.create_table(
        "lineage",
        _env_fk("child_id"),
        _env_fk("parent_id"),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.CheckConstraint("relation IN ('mutation', 'crossover', 'repair', 'inspired_by')",
                           name=op.f("ck_lineage_relation")),
        env_fk("lineage", "child_id"),
        env_fk("lineage", "parent_id"),
        sa.PrimaryKeyConstraint("child_id", "parent_id", "relation", name=op.f("pk_lineage")),
    )
    op.create_index(op.f("ix_lineage_parent_id"), "lineage", ["parent_id"])

    op.create_table(
        "stage_results",
        sa.Column("id", sa.Integer(), nullable=False),
        _env_fk(),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", JSONDoc, nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        _when("created_at"),
        env_fk("stage_results"),
        run_fk("stage_results"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_results")),
    )
    op.create_index("ix_stage_results_env_stage", "stage_results", ["env_id", "stage"])
    op.create_index("ix_stage_results_run_stage", "stage_results", ["run_id", "stage"])

    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        _env_fk(),
        sa.Column("reviewer", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("verdict", sa.String(length=32), nullable=False),
        sa.Column("details", JSONDoc, nullable=False),
        _when("created_at"),
        env_fk("reviews"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
    )
    op.create_index(op.f("ix_reviews_env_id"), "reviews", ["env_id"])

    op.create_table(
        "calibrations",
        sa.Column("id", sa.Integer(), nullable=False),
        _env_fk(),
        sa.Column("checkpoint", sa.String(length=200), nullable=False),
        sa.Column("difficulty", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("passes", sa.Integer(), nullable=False),
        sa.Column("pass_rate", sa.Float(), nullable=False),
        _when("created_at"),
        sa.CheckConstraint("n >= 0 AND passes >= 0 AND passes <= n", name=op.f("ck_calibrations_counts")),
        env_fk("calibrations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calibrations")),
    )
    op.create_index("ix_calibrations_env_checkpoint", "calibrations", ["env_id", "checkpoint", "difficulty"])

    op.create_table(
        "embeddings",
        _env_fk(),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        env_fk("embeddings"),
        sa.PrimaryKeyConstraint("env_id", "model", name=op.f("pk_embeddings")),
    )
    op.create_index(op.f("ix_embeddings_model"), "embeddings", ["model"])

    op.create_table(
        "proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        _env_fk(),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("completion", sa.Text(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        _when("created_at"),
        env_fk("proposals"),
        run_fk("proposals"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposals")),
    )
    op.create_index(op.f("ix_proposals_env_id"), "proposals", ["env_id"])
    op.create_index(op.f("ix_proposals_run_id"), "proposals", ["run_id"])

    op.create_table(
        "pool_membership",
        _env_fk(),
        sa.Column("epochs", sa.Integer(), nullable=False),
        _when("joined_at"),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        env_fk("pool_membership"),
        sa.PrimaryKeyConstraint("env_id", name=op.f("pk_pool_membership")),
    )
    op.create_index(op.f("ix_pool_membership_retired_at"), "pool_membership", ["retired_at"])

    op.create_table(
        "training_usage",
        sa.Column("id", sa.Integer(), nullable=False),
        _env_fk(),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("mean_reward", sa.Float(), nullable=False),
        _when("created_at"),
        env_fk("training_usage"),
        run_fk("training_usage"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_usage")),
    )
    op.create_index(op.f("ix_training_usage_env_id"), "training_usage", ["env_id"])
    op.create_index("ix_training_usage_run_step", "training_usage", ["run_id", "step"])

    if op.get_bind().dialect.name == "sqlite":
        _create_sqlite_fts()


def _create_sqlite_fts() -> None:
    # Full-text index over name, description and code (external content: the text is
    # stored once, in environments). Triggers keep it in step with the table.
    op.execute("CREATE VIRTUAL TABLE environments_fts USING fts5("
               "name, description, code, content='environments', content_rowid='id')")
    op.execute("CREATE TRIGGER environments_fts_insert AFTER INSERT ON environments BEGIN "
               "INSERT INTO environments_fts(rowid, name, description, code) "
               "VALUES (new.id, new.name, new.description, new.code); END")
    op.execute("CREATE TRIGGER environments_fts_delete AFTER DELETE ON environments BEGIN "
               "INSERT INTO environments_fts(environments_fts, rowid, name, description, code) "
               "VALUES ('delete', old.id, old.name, old.description, old.code); END")
    op.execute("CREATE TRIGGER environments_fts_update AFTER UPDATE OF name, description, code "
               "ON environments BEGIN "
               "INSERT INTO environments_fts(environments_fts, rowid, name, description, code) "
               "VALUES ('delete', old.id, old.name, old.description, old.code); "
               "INSERT INTO environments_fts(rowid, name, description, code) "
               "VALUES (new.id, new.name, new.description, new.code); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS environments_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS environments_fts")
    for table in ("training_usage", "pool_membership", "proposals", "embeddings", "calibrations",
                  "reviews", "stage_results", "lineage", "environment_tags", "environments", "runs"):
        op.drop_table(table)
