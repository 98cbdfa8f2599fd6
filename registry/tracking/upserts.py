"""Dialect-specific upserts: tags (last write wins) and latest metrics (keep the maximum)."""

from __future__ import annotations

from sqlalchemy import Executable, Table, and_, func, or_
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlalchemy.sql.elements import ColumnElement

from modelyard.registry.schema import LatestMetricRow

LATEST = LatestMetricRow.__table__


def replace_statement(table: Table, keys: tuple[str, ...], family: str) -> Executable:
    """INSERT that overwrites the non-key columns when the key exists (executemany-ready)."""
    others = [c.name for c in table.columns if c.name not in keys]
    if family == "mysql":
        stmt = mysql.insert(table)
        return stmt.on_duplicate_key_update([(name, stmt.inserted[name]) for name in others])
    dialect_insert = postgresql.insert if family == "postgresql" else sqlite.insert
    stmt = dialect_insert(table)
    return stmt.on_conflict_do_update(
        index_elements=list(keys), set_={name: stmt.excluded[name] for name in others}
    )


def _newer(n: ReadOnlyColumnCollection, o: ReadOnlyColumnCollection) -> ColumnElement[bool]:
    """new (step, timestamp, value) > old (step, timestamp, value), spelled out."""
    return or_(
        n.step > o.step,
        and_(
            n.step == o.step,
            or_(n.timestamp > o.timestamp, and_(n.timestamp == o.timestamp, n.value > o.value)),
        ),
    )


def latest_metric_statement(family: str) -> Executable:
    """INSERT into latest_metrics that replaces a row only with a newer point."""
    if family == "mysql":
        stmt = mysql.insert(LATEST)
        new = stmt.inserted
        cond = _newer(new, LATEST.c)
        # MySQL applies these assignments left to right, each seeing the columns already
        # changed; in this order the condition keeps its original outcome for every column
        # that still differs (MariaDB's SIMULTANEOUS_ASSIGNMENT mode is also correct).
        assignments = [
            (name, func.if_(cond, new[name], LATEST.c[name]))
            for name in ("value_kind", "value", "timestamp", "step")
        ]
        return stmt.on_duplicate_key_update(assignments)
    dialect_insert = postgresql.insert if family == "postgresql" else sqlite.insert
    stmt = dialect_insert(LATEST)
    new = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=["run_uuid", "key"],
        set_={name: new[name] for name in ("step", "timestamp", "value", "value_kind")},
        where=_newer(new, LATEST.c),
    )
