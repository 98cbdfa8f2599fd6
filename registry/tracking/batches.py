"""Writes to a run: params (immutable), tags (upsert), metrics (append + latest), one transaction.

Hot path: SQL built once per database (Core upserts compiled to positional SQL) and run on
the driver's cursor (see `rawsql`), executemany inserts, one read of the run's state per
transaction and no per-row queries.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from math import isfinite

from sqlalchemy import Connection

from modelyard.entities import LifecycleStage, Metric, Param, RunTag
from modelyard.errors import ParamAlreadyLogged, RunNotActive, RunNotFound
from modelyard.registry import engine as rawsql
from modelyard.registry.engine import Database
from modelyard.registry.schema import ExperimentRow, MetricRow, ParamRow, RunRow, TagRow
from modelyard.registry.tracking.upserts import latest_metric_statement, replace_statement
from modelyard.registry.tracking.values import encode_value

EXPERIMENTS = ExperimentRow.__table__
RUNS = RunRow.__table__
PARAMS = ParamRow.__table__
TAGS = TagRow.__table__
METRICS = MetricRow.__table__

RUN_NAME_TAG = "mlflow.runName"
_DELETED = LifecycleStage.DELETED.value

_MULTIROW_SQL: dict[tuple[str, int], str] = {}


def _sqlite_multirow_max() -> int:
    """Metric rows per INSERT within SQLite's bound-variable limit (999 before 3.32)."""
    return 1000 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999 // 6


_METRIC_COLUMNS = ("run_uuid", "key", "step", "timestamp", "value", "value_kind")
_TAG_COLUMNS = ("run_uuid", "key", "value")


@dataclass(frozen=True, slots=True)
class Statements:
    """The dialect-specific hot-path SQL of one database, built once (positional markers)."""

    run_stage: str
    param_one: str
    params_of: str
    """SELECT key, value of a run's params; append one marker per key and a closing ")"."""
    insert_param: str
    upsert_tag: str
    rename_run: str
    insert_metrics_sql: str
    upsert_latest: str
    marker: str
    experiment_state: str
    insert_run: str
    insert_tag: str
    run_by_id: str
    run_columns: tuple[str, ...]
    multirow_max: int
    """Rows per multi-row metrics INSERT (SQLite); 0 means executemany."""

    @classmethod
    def for_database(cls, db: Database) -> Statements:
        """Build the statements for a database's dialect."""
        q = db.quote
        m = db.marker
        columns = ", ".join(q(c) for c in _METRIC_COLUMNS)
        markers = ", ".join([m] * len(_METRIC_COLUMNS))
        run_columns = tuple(c.name for c in RUNS.columns)
        return cls(
            run_stage=f"SELECT lifecycle_stage FROM {RUNS.name} WHERE run_uuid = {m}",
            param_one=(
                f"SELECT {q('value')} FROM {PARAMS.name} WHERE run_uuid = {m} AND {q('key')} = {m}"
            ),
            params_of=(
                f"SELECT {q('key')}, {q('value')} FROM {PARAMS.name} "
                f"WHERE run_uuid = {m} AND {q('key')} IN ("
            ),
            insert_param=(
                f"INSERT INTO {PARAMS.name} (run_uuid, {q('key')}, {q('value')}) "
                f"VALUES ({m}, {m}, {m})"
            ),
            upsert_tag=rawsql.positional_sql(
                db, replace_statement(TAGS, ("run_uuid", "key"), db.family), _TAG_COLUMNS
            ),
            rename_run=f"UPDATE {RUNS.name} SET {q('name')} = {m} WHERE run_uuid = {m}",
            insert_metrics_sql=f"INSERT INTO {METRICS.name} ({columns}) VALUES ({markers})",
            upsert_latest=rawsql.positional_sql(
                db, latest_metric_statement(db.family), _METRIC_COLUMNS
            ),
            marker=m,
            experiment_state=(
                f"SELECT lifecycle_stage, artifact_location FROM {EXPERIMENTS.name} "
                f"WHERE experiment_id = {m}"
            ),
            insert_run=(
                f"INSERT INTO {RUNS.name} ({', '.join(q(c) for c in run_columns)}) "
                f"VALUES ({', '.join([m] * len(run_columns))})"
            ),
            insert_tag=(
                f"INSERT INTO {TAGS.name} (run_uuid, {q('key')}, {q('value')}) "
                f"VALUES ({m}, {m}, {m})"
            ),
            run_by_id=(
                f"SELECT {', '.join(q(c) for c in run_columns)} FROM {RUNS.name} "
                f"WHERE run_uuid = {m}"
            ),
            run_columns=run_columns,
            multirow_max=_sqlite_multirow_max() if db.family == "sqlite" else 0,
        )


def check_run_active(conn: Connection, stmts: Statements, run_id: str) -> None:
    """Raise RunNotFound or RunNotActive unless the run exists and is active."""
    row = rawsql.fetch_one(conn, stmts.run_stage, (run_id,))
    if row is None:
        raise RunNotFound(f"Run with id={run_id} not found", run_id=run_id)
    if row[0] == _DELETED:
        raise RunNotActive(
            f"The run {run_id} must be in the 'active' state to be written to. "
            "Current state is deleted.",
            run_id=run_id,
        )


def _param_conflict(run_id: str, key: str, old: str, new: str) -> ParamAlreadyLogged:
    return ParamAlreadyLogged(
        f"Changing param values is not allowed. Param with key={key!r} was already logged "
        f"with value={old!r} for run ID={run_id!r}. Attempted logging new value {new!r}.",
        run_id=run_id,
        key=key,
        old_value=old,
        new_value=new,
    )


def write_params(conn: Connection, stmts: Statements, run_id: str, params: Sequence[Param]) -> None:
    """Insert new params; re-logging a value is a no-op, a different value is refused."""
    if len(params) == 1:
        p = params[0]
        row = rawsql.fetch_one(conn, stmts.param_one, (run_id, p.key))
        if row is None:
            rawsql.run(conn, stmts.insert_param, (run_id, p.key, p.value))
        elif row[0] != p.value:
            raise _param_conflict(run_id, p.key, row[0], p.value)
        return
    wanted: dict[str, str] = {}
    for p in sorted(params, key=lambda p: p.key):
        wanted.setdefault(p.key, p.value)
    keys = list(wanted)
    sql = stmts.params_of + ", ".join([stmts.marker] * len(keys)) + ")"
    existing = dict(rawsql.fetch_all(conn, sql, (run_id, *keys)))
    rows = []
    for key, value in wanted.items():
        old = existing.get(key)
        if old is None:
            rows.append((run_id, key, value))
        elif old != value:
            raise _param_conflict(run_id, key, old, value)
    if rows:
        rawsql.run_many(conn, stmts.insert_param, rows)


def write_tags(conn: Connection, stmts: Statements, run_id: str, tags: Iterable[RunTag]) -> None:
    """Upsert tags (the last value of a key wins); mlflow.runName also renames the run."""
    latest: dict[str, str] = {}
    for t in tags:
        latest[t.key] = t.value
    if not latest:
        return
    rawsql.run_many(conn, stmts.upsert_tag, [(run_id, k, latest[k]) for k in sorted(latest)])
    name = latest.get(RUN_NAME_TAG)
    if name is not None:
        rawsql.run(conn, stmts.rename_run, (name, run_id))


def _multirow_insert(stmts: Statements, rows: int) -> str:
    sql = _MULTIROW_SQL.get((stmts.insert_metrics_sql, rows))
    if sql is None:
        group = "(" + ", ".join([stmts.marker] * len(_METRIC_COLUMNS)) + ")"
        head = stmts.insert_metrics_sql[: stmts.insert_metrics_sql.rindex(" VALUES ")]
        sql = f"{head} VALUES " + ", ".join([group] * rows)
        _MULTIROW_SQL[(stmts.insert_metrics_sql, rows)] = sql
    return sql


def write_metrics(
    conn: Connection, stmts: Statements, run_id: str, metrics: Sequence[Metric]
) -> None:
    """Append points to the history and raise each key's latest point where it is newer."""
    rows: list[tuple[str, str, int, int, float, int]] = []
    append = rows.append
    best: dict[str, tuple[str, str, int, int, float, int]] = {}
    for m in metrics:
        value = m.value
        if isfinite(value):
            row = (run_id, m.key, m.step, m.timestamp, float(value), 0)
        else:
            stored, kind = encode_value(value)
            row = (run_id, m.key, m.step, m.timestamp, stored, kind)
        append(row)
        current = best.get(row[1])
        if current is None or row[2:5] > current[2:5]:
            best[row[1]] = row
    if not rows:
        return
    if stmts.multirow_max > 1 and len(rows) > 1:
        # SQLite: one multi-row INSERT per chunk instead of a step (and a GIL release) per row.
        size = stmts.multirow_max
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            flat = list(chain.from_iterable(chunk))
            rawsql.run(conn, _multirow_insert(stmts, len(chunk)), flat)
    else:
        rawsql.run_many(conn, stmts.insert_metrics_sql, rows)
    # Sorted keys: concurrent writers lock latest_metrics rows in the same order.
    rawsql.run_many(conn, stmts.upsert_latest, [best[k] for k in sorted(best)])


def write_batch(
    conn: Connection,
    stmts: Statements,
    run_id: str,
    *,
    metrics: Sequence[Metric] = (),
    params: Sequence[Param] = (),
    tags: Sequence[RunTag] = (),
) -> None:
    """Check the run once, then write params, tags and metrics (caller's transaction)."""
    check_run_active(conn, stmts, run_id)
    if params:
        write_params(conn, stmts, run_id, params)
    if tags:
        write_tags(conn, stmts, run_id, tags)
    if metrics:
        write_metrics(conn, stmts, run_id, metrics)
