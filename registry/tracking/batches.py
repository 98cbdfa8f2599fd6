"""Writes to a run: params (immutable), tags (upsert), metrics (append + latest), one transaction.

Hot path: prebuilt Core statements (compiled once and cached by SQLAlchemy), executemany
inserts, one read of the run's state per transaction and no per-row queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from math import isfinite

from sqlalchemy import Connection, Executable, bindparam, insert, select, update

from modelyard.entities import LifecycleStage, Metric, Param, RunTag
from modelyard.errors import ParamAlreadyLogged, RunNotActive, RunNotFound
from modelyard.registry.engine import Database
from modelyard.registry.schema import MetricRow, ParamRow, RunRow, TagRow
from modelyard.registry.tracking.upserts import latest_metric_statement, replace_statement
from modelyard.registry.tracking.values import encode_value

RUNS = RunRow.__table__
PARAMS = ParamRow.__table__
TAGS = TagRow.__table__
METRICS = MetricRow.__table__

RUN_NAME_TAG = "mlflow.runName"
_DELETED = LifecycleStage.DELETED.value

_RUN_STAGE = select(RUNS.c.lifecycle_stage).where(RUNS.c.run_uuid == bindparam("run_id"))
_PARAMS_OF = select(PARAMS.c.key, PARAMS.c.value).where(
    PARAMS.c.run_uuid == bindparam("run_id"), PARAMS.c.key.in_(bindparam("keys", expanding=True))
)
_PARAM_ONE = select(PARAMS.c.value).where(
    PARAMS.c.run_uuid == bindparam("run_id"), PARAMS.c.key == bindparam("key")
)
_INSERT_PARAM = insert(PARAMS)
_METRIC_COLUMNS = ("run_uuid", "key", "step", "timestamp", "value", "value_kind")
_RENAME_RUN = (
    update(RUNS).where(RUNS.c.run_uuid == bindparam("run_id")).values(name=bindparam("name"))
)


@dataclass(frozen=True, slots=True)
class Statements:
    """The dialect-specific write statements of one database, built once."""

    upsert_tag: Executable
    upsert_latest: Executable
    insert_metrics_sql: str
    """Raw positional INSERT for executemany: skips per-row parameter processing."""

    @classmethod
    def for_database(cls, db: Database) -> Statements:
        """Build the statements for a database's dialect."""
        columns = ", ".join(db.quote(c) for c in _METRIC_COLUMNS)
        markers = ", ".join([db.marker] * len(_METRIC_COLUMNS))
        return cls(
            upsert_tag=replace_statement(TAGS, ("run_uuid", "key"), db.family),
            upsert_latest=latest_metric_statement(db.family),
            insert_metrics_sql=f"INSERT INTO {METRICS.name} ({columns}) VALUES ({markers})",
        )


def check_run_active(conn: Connection, run_id: str) -> None:
    """Raise RunNotFound or RunNotActive unless the run exists and is active."""
    stage = conn.execute(_RUN_STAGE, {"run_id": run_id}).scalar()
    if stage is None:
        raise RunNotFound(f"Run with id={run_id} not found", run_id=run_id)
    if stage == _DELETED:
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


def write_params(conn: Connection, run_id: str, params: Sequence[Param]) -> None:
    """Insert new params; re-logging a value is a no-op, a different value is refused."""
    if len(params) == 1:
        p = params[0]
        old = conn.execute(_PARAM_ONE, {"run_id": run_id, "key": p.key}).scalar()
        if old is None:
            conn.execute(_INSERT_PARAM, {"run_uuid": run_id, "key": p.key, "value": p.value})
        elif old != p.value:
            raise _param_conflict(run_id, p.key, old, p.value)
        return
    wanted: dict[str, str] = {}
    for p in sorted(params, key=lambda p: p.key):
        wanted.setdefault(p.key, p.value)
    existing = dict(conn.execute(_PARAMS_OF, {"run_id": run_id, "keys": list(wanted)}).all())
    rows = []
    for key, value in wanted.items():
        old = existing.get(key)
        if old is None:
            rows.append({"run_uuid": run_id, "key": key, "value": value})
        elif old != value:
            raise _param_conflict(run_id, key, old, value)
    if rows:
        conn.execute(_INSERT_PARAM, rows)


def write_tags(conn: Connection, stmts: Statements, run_id: str, tags: Iterable[RunTag]) -> None:
    """Upsert tags (the last value of a key wins); mlflow.runName also renames the run."""
    latest: dict[str, str] = {}
    for t in tags:
        latest[t.key] = t.value
    if not latest:
        return
    conn.execute(
        stmts.upsert_tag,
        [{"run_uuid": run_id, "key": k, "value": latest[k]} for k in sorted(latest)],
    )
    name = latest.get(RUN_NAME_TAG)
    if name is not None:
        conn.execute(_RENAME_RUN, {"run_id": run_id, "name": name})


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
    conn.exec_driver_sql(stmts.insert_metrics_sql, rows if len(rows) > 1 else rows[0])
    # Sorted keys: concurrent writers lock latest_metrics rows in the same order.
    latest = [dict(zip(_METRIC_COLUMNS, best[k], strict=True)) for k in sorted(best)]
    conn.execute(stmts.upsert_latest, latest if len(latest) > 1 else latest[0])


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
    check_run_active(conn, run_id)
    if params:
        write_params(conn, run_id, params)
    if tags:
        write_tags(conn, stmts, run_id, tags)
    if metrics:
        write_metrics(conn, stmts, run_id, metrics)
