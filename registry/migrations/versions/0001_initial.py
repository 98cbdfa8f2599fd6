"""Initial schema: experiments, runs, params, tags, metrics, latest metrics, request ids, settings.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_BIG_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _table_options() -> dict[str, Any]:
    """utf8mb4 with a binary NO PAD collation on MySQL-family servers ("a", "A", "a " differ)."""
    bind = op.get_bind()
    if bind.dialect.name not in ("mysql", "mariadb"):
        return {}
    version = str(bind.exec_driver_sql("SELECT VERSION()").scalar())
    if "mariadb" in version.lower():
        collation = "utf8mb4_nopad_bin"
    else:
        major = int(version.split(".", 1)[0])
        collation = "utf8mb4_0900_bin" if major >= 8 else "utf8mb4_bin"
    return {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": collation}


def upgrade() -> None:
    """Create the tracking tables."""
    opts = _table_options()
    op.create_table(
        "experiments",
        sa.Column("experiment_id", _BIG_KEY, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("artifact_location", sa.String(2048), nullable=False),
        sa.Column("lifecycle_stage", sa.String(32), nullable=False),
        sa.Column("creation_time", sa.BigInteger(), nullable=False),
        sa.Column("last_update_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("experiment_id", name="pk_experiments"),
        sa.UniqueConstraint("name", name="uq_experiments_name"),
        **opts,
    )
    op.create_index(
        "ix_experiments_lifecycle_stage_creation_time",
        "experiments",
        ["lifecycle_stage", "creation_time"],
    )
    op.create_table(
        "experiment_tags",
        sa.Column("experiment_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("experiment_id", "key", name="pk_experiment_tags"),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.experiment_id"],
            name="fk_experiment_tags_experiment_id_experiments",
            ondelete="CASCADE",
        ),
        **opts,
    )
    op.create_table(
        "runs",
        sa.Column("run_uuid", sa.String(32), nullable=False),
        sa.Column("experiment_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("user_id", sa.String(256), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("start_time", sa.BigInteger(), nullable=False),
        sa.Column("end_time", sa.BigInteger(), nullable=True),
        sa.Column("artifact_uri", sa.String(2200), nullable=False),
        sa.Column("lifecycle_stage", sa.String(32), nullable=False),
        sa.Column("deleted_time", sa.BigInteger(), nullable=True),
        sa.Column("deleted_with_experiment", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("run_uuid", name="pk_runs"),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.experiment_id"],
            name="fk_runs_experiment_id_experiments",
            ondelete="CASCADE",
        ),
        **opts,
    )
    op.create_index(
        "ix_runs_experiment_id_lifecycle_stage_start_time",
        "runs",
        ["experiment_id", "lifecycle_stage", "start_time"],
    )
    for table in ("params", "tags"):
        op.create_table(
            table,
            sa.Column("run_uuid", sa.String(32), nullable=False),
            sa.Column("key", sa.String(250), nullable=False),
            sa.Column("value", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("run_uuid", "key", name=f"pk_{table}"),
            sa.ForeignKeyConstraint(
                ["run_uuid"],
                ["runs.run_uuid"],
                name=f"fk_{table}_run_uuid_runs",
                ondelete="CASCADE",
            ),
            **opts,
        )
    op.create_table(
        "metrics",
        sa.Column("id", _BIG_KEY, autoincrement=True, nullable=False),
        sa.Column("run_uuid", sa.String(32), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(53), nullable=False),
        sa.Column("value_kind", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_metrics"),
        sa.ForeignKeyConstraint(
            ["run_uuid"],
            ["runs.run_uuid"],
            name="fk_metrics_run_uuid_runs",
            ondelete="CASCADE",
        ),
        **opts,
    )
    op.create_index(
        "ix_metrics_run_uuid_key_step_timestamp",
        "metrics",
        ["run_uuid", "key", "step", "timestamp"],
    )
    op.create_table(
        "latest_metrics",
        sa.Column("run_uuid", sa.String(32), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(53), nullable=False),
        sa.Column("value_kind", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("run_uuid", "key", name="pk_latest_metrics"),
        sa.ForeignKeyConstraint(
            ["run_uuid"],
            ["runs.run_uuid"],
            name="fk_latest_metrics_run_uuid_runs",
            ondelete="CASCADE",
        ),
        **opts,
    )
    op.create_index("ix_latest_metrics_key_value", "latest_metrics", ["key", "value"])
    op.create_table(
        "request_ids",
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("result", sa.String(64), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "request_id", name="pk_request_ids"),
        **opts,
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.String(512), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_settings"),
        **opts,
    )


def downgrade() -> None:
    """Drop the tracking tables."""
    for table in (
        "settings",
        "request_ids",
        "latest_metrics",
        "metrics",
        "tags",
        "params",
        "runs",
        "experiment_tags",
        "experiments",
    ):
        op.drop_table(table)
