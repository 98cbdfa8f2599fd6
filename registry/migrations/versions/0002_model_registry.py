"""Model registry: registered models, versions, tags, files, aliases and registry events.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.mysql import MEDIUMTEXT

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_BIG_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
#: MEDIUMTEXT on MySQL/MariaDB (TEXT holds 65,535 bytes; tag values may be 100,000 chars).
_LONG_TEXT = sa.Text().with_variant(MEDIUMTEXT(), "mysql", "mariadb")


def _table_options() -> dict[str, Any]:
    """utf8mb4 with a binary NO PAD collation on MySQL-family servers (as revision 0001)."""
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


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    name = target.split(".", 1)[0]
    return sa.ForeignKeyConstraint(
        [column], [target], name=f"fk_{table}_{column}_{name}", ondelete="CASCADE"
    )


def upgrade() -> None:
    """Create the registry tables."""
    opts = _table_options()
    op.create_table(
        "registered_models",
        sa.Column("id", _BIG_KEY, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("description", _LONG_TEXT, nullable=True),
        sa.Column("user_id", sa.String(256), nullable=True),
        sa.Column("creation_time", sa.BigInteger(), nullable=False),
        sa.Column("last_update_time", sa.BigInteger(), nullable=False),
        sa.Column("last_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_registered_models"),
        sa.UniqueConstraint("name", name="uq_registered_models_name"),
        sqlite_autoincrement=True,
        **opts,
    )
    op.create_table(
        "registered_model_tags",
        sa.Column("model_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", _LONG_TEXT, nullable=False),
        sa.PrimaryKeyConstraint("model_id", "key", name="pk_registered_model_tags"),
        _fk("registered_model_tags", "model_id", "registered_models.id"),
        **opts,
    )
    op.create_table(
        "model_versions",
        sa.Column("id", _BIG_KEY, autoincrement=True, nullable=False),
        sa.Column("model_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(256), nullable=True),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("description", _LONG_TEXT, nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.Column("run_link", sa.Text(), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=True),
        sa.Column("storage_location", sa.Text(), nullable=False),
        sa.Column("storage_key", sa.String(64), nullable=False),
        sa.Column("signature_inputs", _LONG_TEXT, nullable=True),
        sa.Column("signature_outputs", _LONG_TEXT, nullable=True),
        sa.Column("signature_params", _LONG_TEXT, nullable=True),
        sa.Column("input_example_path", sa.Text(), nullable=True),
        sa.Column("file_count", sa.Integer(), nullable=False),
        sa.Column("content_digest", sa.String(64), nullable=True),
        sa.Column("copied_from", sa.BigInteger(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("deleted_time", sa.BigInteger(), nullable=True),
        sa.Column("creation_time", sa.BigInteger(), nullable=False),
        sa.Column("last_update_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_model_versions"),
        sa.UniqueConstraint("model_id", "version", name="uq_model_versions_model_id_version"),
        _fk("model_versions", "model_id", "registered_models.id"),
        sqlite_autoincrement=True,
        **opts,
    )
    op.create_index("ix_model_versions_last_update_time", "model_versions", ["last_update_time"])
    op.create_index("ix_model_versions_run_id", "model_versions", ["run_id"])
    op.create_index("ix_model_versions_storage_key", "model_versions", ["storage_key"])
    op.create_table(
        "model_version_tags",
        sa.Column("version_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", _LONG_TEXT, nullable=False),
        sa.Column("value_prefix", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("version_id", "key", name="pk_model_version_tags"),
        _fk("model_version_tags", "version_id", "model_versions.id"),
        **opts,
    )
    op.create_index(
        "ix_model_version_tags_key_value_prefix_version_id",
        "model_version_tags",
        ["key", "value_prefix", "version_id"],
    )
    op.create_table(
        "model_version_files",
        sa.Column("id", _BIG_KEY, autoincrement=True, nullable=False),
        sa.Column("version_id", sa.BigInteger(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_model_version_files"),
        _fk("model_version_files", "version_id", "model_versions.id"),
        **opts,
    )
    op.create_index("ix_model_version_files_version_id", "model_version_files", ["version_id"])
    op.create_table(
        "registered_model_aliases",
        sa.Column("model_id", sa.BigInteger(), nullable=False),
        sa.Column("alias", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("model_id", "alias", name="pk_registered_model_aliases"),
        _fk("registered_model_aliases", "model_id", "registered_models.id"),
        **opts,
    )
    op.create_table(
        "registry_events",
        sa.Column("id", _BIG_KEY, autoincrement=True, nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("time", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.String(256), nullable=True),
        sa.Column("model_id", sa.BigInteger(), nullable=False),
        sa.Column("model_name", sa.String(256), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("from_stage", sa.String(20), nullable=True),
        sa.Column("to_stage", sa.String(20), nullable=True),
        sa.Column("alias", sa.String(255), nullable=True),
        sa.Column("previous_version", sa.Integer(), nullable=True),
        sa.Column("new_model_name", sa.String(256), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_registry_events"),
        sqlite_autoincrement=True,
        **opts,
    )
    op.create_index("ix_registry_events_model_id_id", "registry_events", ["model_id", "id"])


def downgrade() -> None:
    """Drop the registry tables."""
    for table in (
        "registry_events",
        "registered_model_aliases",
        "model_version_files",
        "model_version_tags",
        "model_versions",
        "registered_model_tags",
        "registered_models",
    ):
        op.drop_table(table)
