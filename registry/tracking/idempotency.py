"""Request ids: a retried create or batch returns the first result and writes nothing twice."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from modelyard.registry.engine import Database
from modelyard.registry.schema import RequestIdRow

T = TypeVar("T")

REQUESTS = RequestIdRow.__table__
KIND_EXPERIMENT = "experiment"
KIND_RUN = "run"
KIND_BATCH = "batch"

_SELECT = select(REQUESTS.c.result).where(
    REQUESTS.c.kind == bindparam("kind"), REQUESTS.c.request_id == bindparam("request_id")
)
_INSERT = insert(REQUESTS)


def recorded(conn: Connection, kind: str, request_id: str) -> str | None:
    """The result recorded for a request id, or None."""
    return conn.execute(_SELECT, {"kind": kind, "request_id": request_id}).scalar()


def record(conn: Connection, kind: str, request_id: str, result: str) -> None:
    """Record a request id's result (in the caller's transaction)."""
    conn.execute(
        _INSERT,
        {
            "kind": kind,
            "request_id": request_id,
            "result": result,
            "created_time": time.time_ns() // 1_000_000,
        },
    )


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
