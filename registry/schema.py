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
)
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
