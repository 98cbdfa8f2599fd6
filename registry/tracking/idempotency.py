"""Request ids: a retried create or batch returns the first result and writes nothing twice."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from modelyard.registry import engine as rawsql
from modelyard.registry.engine import Database
from modelyard.registry.schema import RequestIdRow

T = TypeVar("T")

REQUESTS = RequestIdRow.__table__
KIND_EXPERIMENT = "experiment"
KIND_RUN = "run"
KIND_BATCH = "batch"

_SQL: dict[str, tuple[str, str]] = {}


def _sql(conn: Connection) -> tuple[str, str]:
    """(select, insert) SQL for the connection's dialect, with positional markers."""
    name = conn.dialect.name
    sql = _SQL.get(name)
    if sql is None:
        q = conn.dialect.identifier_preparer.quote
        m = "?" if name == "sqlite" else "%s"
        table = q(REQUESTS.name)
        select_sql = (
            f"SELECT {q('result')} FROM {table} WHERE {q('kind')} = {m} AND request_id = {m}"
        )
        insert_sql = (
            f"INSERT INTO {table} ({q('kind')}, request_id, {q('result')}, created_time) "
            f"VALUES ({m}, {m}, {m}, {m})"
        )
        sql = _SQL[name] = (select_sql, insert_sql)
    return sql


def recorded(conn: Connection, kind: str, request_id: str) -> str | None:
    """The result recorded for a request id, or None."""
    row = rawsql.fetch_one(conn, _sql(conn)[0], (kind, request_id))
    return None if row is None else str(row[0])


def record(conn: Connection, kind: str, request_id: str, result: str) -> None:
    """Record a request id's result (in the caller's transaction)."""
    rawsql.run(conn, _sql(conn)[1], (kind, request_id, result, time.time_ns() // 1_000_000))


def write_retrying_conflicts(db: Database, fn: Callable[[Connection], T]) -> T:
    """Run fn in a write transaction; after a unique-key conflict, run it once more.

    On PostgreSQL and MySQL two transactions can both decide to insert the same new key (a
    param, a request id); the loser's retry sees the winner's row and decides again.
    """
    try:
        return db.run_write(fn)
    except IntegrityError:
        return db.run_write(fn)


def run_idempotent(
    db: Database, kind: str, request_id: str | None, fn: Callable[[Connection], str]
) -> tuple[str, bool]:
    """Run fn in a write transaction unless request_id was seen; return (result, replayed).

    The request id is recorded in the same transaction as fn's writes, so a retry after a
    lost reply finds it and writes nothing twice.
    """

    def tx(conn: Connection) -> tuple[str, bool]:
        if request_id:
            previous = recorded(conn, kind, request_id)
            if previous is not None:
                return previous, True
        result = fn(conn)
        if request_id:
            record(conn, kind, request_id, result)
        return result, False

    return write_retrying_conflicts(db, tx)
