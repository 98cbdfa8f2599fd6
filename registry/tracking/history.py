"""Metric histories: ordered reads, paging, and min/max-preserving downsampling for charts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, select

from modelyard.entities import MetricHistory
from modelyard.errors import RunNotFound, Unavailable
from modelyard.metric_points import downsample
from modelyard.registry.engine import Database
from modelyard.registry.schema import MetricRow, RunRow
from modelyard.registry.search import PageTokens, query_fingerprint
from modelyard.registry.tracking.values import decode_value
from modelyard.stores import METRIC_HISTORY_PAGE_MAX

METRICS = MetricRow.__table__
RUNS = RunRow.__table__

_RUN_EXISTS = select(RUNS.c.run_uuid).where(RUNS.c.run_uuid.in_(bindparam("ids", expanding=True)))


def _fetch_points(
    db: Database,
    conn: Connection,
    run_ids: Sequence[str],
    key: str,
    *,
    limit: int | None = None,
    offset: int = 0,
    start_step: int | None = None,
    end_step: int | None = None,
) -> list[tuple[Any, ...]]:
    """Raw DBAPI read of (run_uuid or 1, step, timestamp, value, value_kind) rows, in order.

    The hot read of the service (100,000 points in one call): a plain cursor skips the
    per-row Row objects SQLAlchemy would build.
    """
    m, q = db.marker, db.quote
    if len(run_ids) == 1:
        # One run: a constant first column spares building 100,000 copies of its id.
        first, where = "1", f"{q('run_uuid')} = {m}"
    else:
        first = q("run_uuid")
        where = f"{first} IN ({', '.join([m] * len(run_ids))})"
    params: tuple[Any, ...] = (*run_ids, key)
    where += f" AND {q('key')} = {m}"
    if start_step is not None:
        where += f" AND {q('step')} >= {m}"
        params += (start_step,)
    if end_step is not None:
        where += f" AND {q('step')} <= {m}"
        params += (end_step,)
    sql = (
        f"SELECT {first}, {q('step')}, {q('timestamp')}, {q('value')}, "
        f"{q('value_kind')} FROM {METRICS.name} WHERE {where} "
        f"ORDER BY {q('run_uuid')}, {q('step')}, {q('timestamp')}, {q('id')}"
    )
    if limit is not None:
        sql += f" LIMIT {m} OFFSET {m}"
        params += (limit, offset)
    dbapi = db.engine.dialect.loaded_dbapi
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    except dbapi.OperationalError as exc:
        raise Unavailable(f"the database is unavailable: {exc}") from exc
    finally:
        cursor.close()


def _unpack(run_id: str, key: str, rows: Sequence[Sequence[Any]]) -> MetricHistory:
    """Rows of (run_uuid, step, timestamp, value, value_kind) as a packed history."""
    steps = [r[1] for r in rows]
    timestamps = [r[2] for r in rows]
    if any([r[4] for r in rows]):
        values = [r[3] if r[4] == 0 else decode_value(r[3], r[4]) for r in rows]
    else:
        values = [r[3] for r in rows]
    return MetricHistory(run_id=run_id, key=key, steps=steps, timestamps=timestamps, values=values)


def _check_runs_exist(conn: Connection, run_ids: Sequence[str]) -> None:
    found = set(conn.execute(_RUN_EXISTS, {"ids": list(run_ids)}).scalars())
    for run_id in run_ids:
        if run_id not in found:
            raise RunNotFound(f"Run with id={run_id} not found", run_id=run_id)


def get_metric_history(
    db: Database,
    tokens: PageTokens,
    run_id: str,
    key: str,
    *,
    max_results: int | None,
    page_token: str | None,
    max_points: int | None,
) -> tuple[MetricHistory, str | None]:
    """One page of a metric's history ordered by (step, timestamp), and the next page's token.

    With max_points the whole history is downsampled and returned as one page.

    Raises:
        RunNotFound: unknown run.
        InvalidPageToken: the token is not from this run and key.
    """
    fingerprint = query_fingerprint("metric_history", run_id, key)
    offset = 0 if max_points else tokens.decode(page_token, fingerprint)
    limit = max_results or METRIC_HISTORY_PAGE_MAX
    with db.read() as conn:
        if max_points:
            rows = _fetch_points(db, conn, [run_id], key)
        else:
            rows = _fetch_points(db, conn, [run_id], key, limit=limit + 1, offset=offset)
        if not rows:
            _check_runs_exist(conn, [run_id])
    if max_points:
        return downsample(_unpack(run_id, key, rows), max_points), None
    token = None
    if len(rows) > limit:
        rows = rows[:limit]
        token = tokens.encode(offset + limit, fingerprint)
    return _unpack(run_id, key, rows), token


def get_metric_history_bulk(
    db: Database,
    run_ids: Sequence[str],
    key: str,
    *,
    max_points: int | None,
    start_step: int | None = None,
    end_step: int | None = None,
) -> list[MetricHistory]:
    """Histories of one metric for several runs (in the order given), one query; with
    start_step / end_step only the points in that step range (inclusive), before downsampling.

    Raises:
        RunNotFound: one of the runs does not exist.
    """
    grouped: dict[str, list[Sequence[Any]]] = {r: [] for r in run_ids}
    ids = list(grouped)
    with db.read() as conn:
        _check_runs_exist(conn, ids)
        rows = _fetch_points(db, conn, ids, key, start_step=start_step, end_step=end_step)
    if len(ids) == 1:  # one run: _fetch_points puts a constant in the first column
        grouped[ids[0]] = rows
    else:
        for row in rows:
            grouped[row[0]].append(row)
    out = []
    for run_id in run_ids:
        history = _unpack(run_id, key, grouped[run_id])
        out.append(downsample(history, max_points) if max_points else history)
    return out
