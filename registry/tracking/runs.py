"""Runs: create, read (with params, tags and latest metrics), update, soft delete, search."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Row, bindparam, select, update

from modelyard.artifact_uris import join_artifact_uri
from modelyard.entities import (
    LifecycleStage,
    Metric,
    PagedList,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from modelyard.errors import (
    ExperimentNotActive,
    ExperimentNotFound,
    InvalidArgument,
    RunNotActive,
    RunNotFound,
)
from modelyard.registry import engine as rawsql
from modelyard.registry.engine import Database
from modelyard.registry.names import generate_run_name
from modelyard.registry.schema import ExperimentRow, LatestMetricRow, ParamRow, RunRow, TagRow
from modelyard.registry.search import PageTokens, query_fingerprint, run_search_statement
from modelyard.registry.tracking.batches import RUN_NAME_TAG, Statements, write_tags
from modelyard.registry.tracking.idempotency import KIND_RUN, run_idempotent
from modelyard.registry.tracking.values import decode_value

RUNS = RunRow.__table__
EXPERIMENTS = ExperimentRow.__table__
PARAMS = ParamRow.__table__
TAGS = TagRow.__table__
LATEST = LatestMetricRow.__table__

USER_TAG = "mlflow.user"
_ACTIVE = LifecycleStage.ACTIVE.value
_DELETED = LifecycleStage.DELETED.value
_IN_CHUNK = 2000

_RUN_BY_ID = select(RUNS).where(RUNS.c.run_uuid == bindparam("run_id"))
_EXPERIMENT_STATE = select(EXPERIMENTS.c.lifecycle_stage, EXPERIMENTS.c.artifact_location).where(
    EXPERIMENTS.c.experiment_id == bindparam("experiment_id")
)
_PARAMS_IN = select(PARAMS.c.run_uuid, PARAMS.c.key, PARAMS.c.value).where(
    PARAMS.c.run_uuid.in_(bindparam("ids", expanding=True))
)
_TAGS_IN = select(TAGS.c.run_uuid, TAGS.c.key, TAGS.c.value).where(
    TAGS.c.run_uuid.in_(bindparam("ids", expanding=True))
)
_LATEST_IN = select(
    LATEST.c.run_uuid,
    LATEST.c.key,
    LATEST.c.value,
    LATEST.c.value_kind,
    LATEST.c.timestamp,
    LATEST.c.step,
).where(LATEST.c.run_uuid.in_(bindparam("ids", expanding=True)))


def now_ms() -> int:
    """The current time in milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


_STATUSES = {s.value: s for s in RunStatus}
_STAGES = {s.value: s for s in LifecycleStage}


def run_info(row: Row[Any] | Mapping[str, Any]) -> RunInfo:
    """A RunInfo from a runs row (or a mapping with the same keys)."""
    m = row._mapping if isinstance(row, Row) else row
    return RunInfo(
        run_id=m["run_uuid"],
        experiment_id=str(m["experiment_id"]),
        run_name=m["name"],
        user_id=m["user_id"],
        status=_STATUSES[m["status"]],
        start_time=m["start_time"],
        end_time=m["end_time"],
        artifact_uri=m["artifact_uri"],
        lifecycle_stage=_STAGES[m["lifecycle_stage"]],
    )


def load_run_data(conn: Connection, run_ids: Sequence[str]) -> dict[str, RunData]:
    """Params, tags and latest metrics of many runs, with one IN query per table (chunked)."""
    params: dict[str, dict[str, str]] = {r: {} for r in run_ids}
    tags: dict[str, dict[str, str]] = {r: {} for r in run_ids}
    metrics: dict[str, list[Metric]] = {r: [] for r in run_ids}
    for start in range(0, len(run_ids), _IN_CHUNK):
        ids = list(run_ids[start : start + _IN_CHUNK])
        for run_id, key, value in conn.execute(_PARAMS_IN, {"ids": ids}).all():
            params[run_id][key] = value
        for run_id, key, value in conn.execute(_TAGS_IN, {"ids": ids}).all():
            tags[run_id][key] = value
        for run_id, key, value, kind, ts, step in conn.execute(_LATEST_IN, {"ids": ids}).all():
            metrics[run_id].append(
                Metric(
                    key=key,
                    value=value if kind == 0 else decode_value(value, kind),
                    timestamp=ts,
                    step=step,
                )
            )
    return {
        r: RunData(
            metric_list=tuple(sorted(metrics[r], key=lambda m: m.key)),
            params=params[r],
            tags=tags[r],
        )
        for r in run_ids
    }


def _fetch_run(conn: Connection, run_id: str) -> Row[Any]:
    row = conn.execute(_RUN_BY_ID, {"run_id": run_id}).first()
    if row is None:
        raise RunNotFound(f"Run with id={run_id} not found", run_id=run_id)
    return row


def get_run(db: Database, run_id: str) -> Run:
    """A run with its data.

    Raises:
        RunNotFound: unknown id.
    """
    with db.read() as conn:
        row = _fetch_run(conn, run_id)
        data = load_run_data(conn, [run_id])[run_id]
    return Run(info=run_info(row), data=data)


def _resolve_name(run_name: str | None, tags: dict[str, str]) -> str:
    tag_name = tags.get(RUN_NAME_TAG)
    if run_name and tag_name is not None and tag_name != run_name:
        raise InvalidArgument(
            f"Both 'run_name' argument and {RUN_NAME_TAG!r} tag are specified, but with "
            f"different values (run_name={run_name!r}, {RUN_NAME_TAG}={tag_name!r})",
            run_name=run_name,
            tag=tag_name,
        )
    return run_name or tag_name or generate_run_name()


def create_run(
    db: Database,
    *,
    experiment_id: str,
    user_id: str,
    start_time: int | None,
    run_name: str | None,
    tags: Mapping[str, str] | None,
    request_id: str | None,
    stmts: Statements | None = None,
) -> Run:
    """Create a RUNNING run in an active experiment (idempotent with request_id).

    Raises:
        ExperimentNotFound: unknown experiment.
        ExperimentNotActive: the experiment is deleted.
    """
    all_tags = dict(tags or {})
    name = _resolve_name(run_name, all_tags)
    all_tags[RUN_NAME_TAG] = name
    user = user_id or all_tags.get(USER_TAG) or "unknown"
    start = start_time or now_ms()
    created: dict[str, Any] = {}
    sql = stmts or Statements.for_database(db)

    def fn(conn: Connection) -> str:
        exp = rawsql.fetch_one(conn, sql.experiment_state, (int(experiment_id),))
        if exp is None:
            raise ExperimentNotFound(
                f"No Experiment with id={experiment_id} exists", experiment_id=experiment_id
            )
        stage, artifact_location = exp
        if stage != _ACTIVE:
            raise ExperimentNotActive(
                f"The experiment {experiment_id} must be in the 'active' state to create runs "
                "in it. Current state is deleted.",
                experiment_id=experiment_id,
            )
        run_id = uuid.uuid4().hex
        row = {
            "run_uuid": run_id,
            "experiment_id": int(experiment_id),
            "name": name,
            "user_id": user,
            "status": RunStatus.RUNNING.value,
            "start_time": start,
            "end_time": None,
            "artifact_uri": join_artifact_uri(artifact_location, run_id, "artifacts"),
            "lifecycle_stage": _ACTIVE,
            "deleted_time": None,
            "deleted_with_experiment": False,
        }
        rawsql.run(conn, sql.insert_run, tuple(row[c] for c in sql.run_columns))
        rawsql.run_many(conn, sql.insert_tag, [(run_id, k, v) for k, v in all_tags.items()])
        created["row"] = row
        return run_id

    run_id, replayed = run_idempotent(db, KIND_RUN, request_id, fn)
    row = created.get("row")
    if replayed or row is None or row["run_uuid"] != run_id:
        return get_run(db, run_id)
    return Run(info=run_info(row), data=RunData(tags=all_tags))


def update_run(
    db: Database,
    stmts: Statements,
    run_id: str,
    *,
    status: RunStatus | None,
    end_time: int | None,
    run_name: str | None,
) -> RunInfo:
    """Change status, end time and/or name of an active run; return the new info."""

    def fn(conn: Connection) -> RunInfo:
        found = rawsql.fetch_one(conn, stmts.run_by_id, (run_id,))
        if found is None:
            raise RunNotFound(f"Run with id={run_id} not found", run_id=run_id)
        row = dict(zip(stmts.run_columns, found, strict=True))
        if row["lifecycle_stage"] == _DELETED:
            raise RunNotActive(
                f"The run {run_id} must be in the 'active' state. Current state is deleted.",
                run_id=run_id,
            )
        values: dict[str, Any] = {}
        if status is not None:
            values["status"] = RunStatus(status).value
        if end_time is not None:
            values["end_time"] = end_time
        if run_name:
            write_tags(conn, stmts, run_id, [RunTag(key=RUN_NAME_TAG, value=run_name)])
            row["name"] = run_name
        if values:
            columns = ", ".join(f"{name} = {stmts.marker}" for name in values)
            rawsql.run(
                conn,
                f"UPDATE {RUNS.name} SET {columns} WHERE run_uuid = {stmts.marker}",
                (*values.values(), run_id),
            )
            row.update(values)
        return run_info(row)

    return db.run_write(fn)


def delete_run(db: Database, run_id: str) -> None:
    """Soft-delete a run (not restored by its experiment's restore)."""

    def fn(conn: Connection) -> None:
        _fetch_run(conn, run_id)
        conn.execute(
            update(RUNS)
            .where(RUNS.c.run_uuid == run_id)
            .values(lifecycle_stage=_DELETED, deleted_time=now_ms(), deleted_with_experiment=False)
        )

    db.run_write(fn)


def restore_run(db: Database, run_id: str) -> None:
    """Restore a soft-deleted run of an active experiment.

    Raises:
        RunNotFound: unknown run.
        ExperimentNotActive: the run's experiment is deleted.
    """

    def fn(conn: Connection) -> None:
        row = _fetch_run(conn, run_id)
        exp = conn.execute(_EXPERIMENT_STATE, {"experiment_id": row.experiment_id}).first()
        if exp is not None and exp.lifecycle_stage != _ACTIVE:
            raise ExperimentNotActive(
                f"Cannot restore run {run_id}: its experiment {row.experiment_id} is deleted; "
                "restore the experiment first",
                run_id=run_id,
                experiment_id=row.experiment_id,
            )
        conn.execute(
            update(RUNS)
            .where(RUNS.c.run_uuid == run_id)
            .values(lifecycle_stage=_ACTIVE, deleted_time=None, deleted_with_experiment=False)
        )

    db.run_write(fn)


def search_runs(
    db: Database,
    tokens: PageTokens,
    *,
    experiment_ids: Sequence[str],
    filter_string: str,
    view_type: ViewType,
    max_results: int,
    order_by: Sequence[str],
    page_token: str | None,
) -> PagedList[Run]:
    """One page of runs, filtered, ordered and paged in the database.

    Raises:
        InvalidFilter: the filter or order_by does not parse.
        InvalidPageToken: the token is not from this query.
    """
    ids = sorted({int(e) for e in experiment_ids})
    fingerprint = query_fingerprint(
        "runs", ids, filter_string or "", ViewType(view_type), list(order_by)
    )
    offset = tokens.decode(page_token, fingerprint)
    if not ids:
        return PagedList([], None)
    stmt = run_search_statement(
        dialect_name=db.family,
        experiment_ids=ids,
        filter_string=filter_string or "",
        view_type=ViewType(view_type),
        order_by=list(order_by),
    )
    stmt = stmt.limit(max_results + 1).offset(offset)
    with db.read() as conn:
        rows = conn.execute(stmt).all()
        page = rows[:max_results]
        data = load_run_data(conn, [r.run_uuid for r in page])
    runs = [Run(info=run_info(r), data=data[r.run_uuid]) for r in page]
    token = tokens.encode(offset + max_results, fingerprint) if len(rows) > max_results else None
    return PagedList(runs, token)
