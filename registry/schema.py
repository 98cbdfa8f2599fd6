"""The metadata database schema (SQLAlchemy 2 typed ORM): real columns and indexes, no blobs.

Conventions:
- Times are BIGINT milliseconds since the epoch.
- Metric values: the `value` column holds the number for finite values, 0 for NaN and
  +/-1.7976931348623157e308 for +/-inf, so SQL comparisons and ordering stay correct; the
  `value_kind` column (ValueKind) says which, so every value reads back exactly on SQLite
  (which turns NaN into NULL), MariaDB (which rejects NaN and inf) and PostgreSQL alike.
- On MySQL/MariaDB every table uses utf8mb4 with a binary, no-pad collation (chosen per server
  in the migrations), so "a", "A" and "a " are three different keys.
- Changes go through Alembic revisions in registry/migrations/versions; a test checks that the
  head revision matches this module.
"""

from __future__ import annotations

from enum import IntEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.mysql import MEDIUMTEXT
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Autoincrementing 64-bit key that SQLite accepts as its rowid alias.
BigIntKey = BigInteger().with_variant(Integer(), "sqlite")

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

FLOAT_MAX = 1.7976931348623157e308


class ValueKind(IntEnum):
    """What a stored metric value really is."""

    FINITE = 0
    NAN = 1
    POS_INF = 2
    NEG_INF = 3


class Base(DeclarativeBase):
    """Declarative base with stable constraint names."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ExperimentRow(Base):
    """One experiment."""

    __tablename__ = "experiments"

    experiment_id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(500), nullable=False, unique=True)
    artifact_location: Mapped[str] = mapped_column(String(2048), nullable=False)
    lifecycle_stage: Mapped[str] = mapped_column(String(32), nullable=False)
    creation_time: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_update_time: Mapped[int] = mapped_column(BigInteger, nullable=False)

    __table_args__ = (Index(None, "lifecycle_stage", "creation_time"),)


class ExperimentTagRow(Base):
    """One experiment tag."""

    __tablename__ = "experiment_tags"

    experiment_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("experiments.experiment_id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)


class RunRow(Base):
    """One run."""

    __tablename__ = "runs"

    run_uuid: Mapped[str] = mapped_column(String(32), primary_key=True)
    experiment_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("experiments.experiment_id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(250), nullable=False)
    user_id: Mapped[str] = mapped_column(String(256), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    start_time: Mapped[int] = mapped_column(BigInteger, nullable=False)
    end_time: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    artifact_uri: Mapped[str] = mapped_column(String(2200), nullable=False)
    lifecycle_stage: Mapped[str] = mapped_column(String(32), nullable=False)
    deleted_time: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: True when the run was deleted by its experiment's deletion (restored with it).
    deleted_with_experiment: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    __table_args__ = (Index(None, "experiment_id", "lifecycle_stage", "start_time"),)


class ParamRow(Base):
    """One param of one run (one value per key: params are immutable)."""

    __tablename__ = "params"

    run_uuid: Mapped[str] = mapped_column(
        String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)


class TagRow(Base):
    """One tag of one run."""

    __tablename__ = "tags"

    run_uuid: Mapped[str] = mapped_column(
        String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)


class MetricRow(Base):
    """One point of a metric history (append-only)."""

    __tablename__ = "metrics"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    run_uuid: Mapped[str] = mapped_column(
        String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False
    )
    key: Mapped[str] = mapped_column(String(250), nullable=False)
    step: Mapped[int] = mapped_column(BigInteger, nullable=False)
    timestamp: Mapped[int] = mapped_column(BigInteger, nullable=False)
    value: Mapped[float] = mapped_column(Float(53), nullable=False)
    value_kind: Mapped[int] = mapped_column(SmallInteger, nullable=False)

    __table_args__ = (Index(None, "run_uuid", "key", "step", "timestamp"),)


class LatestMetricRow(Base):
    """The latest point of each metric of each run: max by (step, timestamp, value).

    Maintained in the same transaction as every metric write; search and sort use it.
    """

    __tablename__ = "latest_metrics"

    run_uuid: Mapped[str] = mapped_column(
        String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    step: Mapped[int] = mapped_column(BigInteger, nullable=False)
    timestamp: Mapped[int] = mapped_column(BigInteger, nullable=False)
    value: Mapped[float] = mapped_column(Float(53), nullable=False)
    value_kind: Mapped[int] = mapped_column(SmallInteger, nullable=False)

    __table_args__ = (Index(None, "key", "value"),)


class RequestIdRow(Base):
    """A client idempotency key and the result of the call that first carried it."""

    __tablename__ = "request_ids"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    result: Mapped[str] = mapped_column(String(64), nullable=False)
    created_time: Mapped[int] = mapped_column(BigInteger, nullable=False)


class SettingRow(Base):
    """Database-wide settings shared by every server replica (e.g. the page-token key)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(512), nullable=False)


# -- model registry (issue 4) ------------------------------------------------------------------

#: Text up to 16 MiB on MySQL/MariaDB, whose TEXT holds only 65,535 bytes (registry tag values
#: may be 100,000 characters, descriptions 65,536).
LongText = Text().with_variant(MEDIUMTEXT(), "mysql", "mariadb")

#: Characters of a version tag value copied into `value_prefix` (indexed with the key).
TAG_VALUE_PREFIX_LENGTH = 100


class RegisteredModelRow(Base):
    """One registered model; `last_version` allocates version numbers (row-locked UPDATE)."""

    __tablename__ = "registered_models"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(256), nullable=False, unique=True)
    description: Mapped[str | None] = mapped_column(LongText, nullable=True)
    user_id: Mapped[str | None] = mapped_column(String(256), nullable=True)
    creation_time: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_update_time: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    #: SQLite must never reuse the id of a deleted model (history is kept by id).
    __table_args__ = {"sqlite_autoincrement": True}


class RegisteredModelTagRow(Base):
    """One tag of a registered model."""

    __tablename__ = "registered_model_tags"

    model_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("registered_models.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(LongText, nullable=False)


class ModelVersionRow(Base):
    """One version of a registered model (soft-deleted: `deleted`; its number stays used)."""

    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    model_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("registered_models.id", ondelete="CASCADE"), nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    user_id: Mapped[str | None] = mapped_column(String(256), nullable=True)
    stage: Mapped[str] = mapped_column(String(20), nullable=False)
    description: Mapped[str | None] = mapped_column(LongText, nullable=True)
    source: Mapped[str] = mapped_column(Text, nullable=False)
    #: No foreign key: runs can be purged; lineage then says the run is gone.
    run_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    run_link: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(32), nullable=False)
    status_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    storage_location: Mapped[str] = mapped_column(Text, nullable=False)
    #: SHA-256 (hex) of the canonical storage location: exact lookups through an index.
    storage_key: Mapped[str] = mapped_column(String(64), nullable=False)
    signature_inputs: Mapped[str | None] = mapped_column(LongText, nullable=True)
    signature_outputs: Mapped[str | None] = mapped_column(LongText, nullable=True)
    signature_params: Mapped[str | None] = mapped_column(LongText, nullable=True)
    input_example_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    file_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    content_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: The version (pk) this one was copied from (a models:/ source); no FK: it may go.
    copied_from: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    deleted_time: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    creation_time: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_update_time: Mapped[int] = mapped_column(BigInteger, nullable=False)

    __table_args__ = (
        UniqueConstraint("model_id", "version"),
        Index(None, "last_update_time"),
        Index(None, "run_id"),
        Index(None, "storage_key"),
        {"sqlite_autoincrement": True},  # `copied_from` must never name a reused id
    )


class ModelVersionTagRow(Base):
    """One tag of a model version.

    Values may be 100,000 characters, too long for a B-tree key on every database, so the
    first TAG_VALUE_PREFIX_LENGTH characters are copied into `value_prefix` and indexed with
    the key: `tags.k = 'v'` seeks (key, prefix) and re-checks the full value on those rows.
    """

    __tablename__ = "model_version_tags"

    version_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(LongText, nullable=False)
    value_prefix: Mapped[str] = mapped_column(String(TAG_VALUE_PREFIX_LENGTH), nullable=False)

    __table_args__ = (Index(None, "key", "value_prefix", "version_id"),)


class ModelVersionFileRow(Base):
    """One file recorded at registration: path relative to the storage location, size, SHA-256."""

    __tablename__ = "model_version_files"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    version_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("model_versions.id", ondelete="CASCADE"), nullable=False
    )
    path: Mapped[str] = mapped_column(Text, nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)

    __table_args__ = (Index(None, "version_id"),)


class RegisteredModelAliasRow(Base):
    """An alias of a registered model and the version number it names."""

    __tablename__ = "registered_model_aliases"

    model_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("registered_models.id", ondelete="CASCADE"), primary_key=True
    )
    alias: Mapped[str] = mapped_column(String(255), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)


class RegistryEventRow(Base):
    """One committed registry change (append-only; kept when its model is deleted)."""

    __tablename__ = "registry_events"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    kind: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    time: Mapped[int] = mapped_column(BigInteger, nullable=False)
    user_id: Mapped[str | None] = mapped_column(String(256), nullable=True)
    #: No foreign key: events outlive their model.
    model_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    model_name: Mapped[str] = mapped_column(String(256), nullable=False)
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    from_stage: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_stage: Mapped[str | None] = mapped_column(String(20), nullable=True)
    alias: Mapped[str | None] = mapped_column(String(255), nullable=True)
    previous_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    new_model_name: Mapped[str | None] = mapped_column(String(256), nullable=True)

    __table_args__ = (Index(None, "model_id", "id"), {"sqlite_autoincrement": True})
