"""Experiments: create, read, search, rename, soft delete (cascading to runs), restore, tags."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from modelyard.artifact_uris import join_artifact_uri
from modelyard.entities import Experiment, LifecycleStage, PagedList, ViewType
from modelyard.errors import (
    ExperimentAlreadyExists,
    ExperimentNotActive,
    ExperimentNotFound,
    FailedPrecondition,
    TagNotFound,
)
from modelyard.registry.engine import Database
from modelyard.registry.schema import ExperimentRow, ExperimentTagRow, RunRow
from modelyard.registry.search import PageTokens, experiment_search_statement, query_fingerprint
from modelyard.registry.tracking.idempotency import KIND_EXPERIMENT, run_idempotent
from modelyard.registry.tracking.runs import now_ms
from modelyard.registry.tracking.upserts import replace_statement

EXPERIMENTS = ExperimentRow.__table__
EXP_TAGS = ExperimentTagRow.__table__
RUNS = RunRow.__table__

_ACTIVE = LifecycleStage.ACTIVE.value
_DELETED = LifecycleStage.DELETED.value

_BY_ID = select(EXPERIMENTS).where(EXPERIMENTS.c.experiment_id == bindparam("experiment_id"))
_BY_NAME = select(EXPERIMENTS).where(EXPERIMENTS.c.name == bindparam("name"))
_TAGS_IN = select(EXP_TAGS.c.experiment_id, EXP_TAGS.c.key, EXP_TAGS.c.value).where(
    EXP_TAGS.c.experiment_id.in_(bindparam("ids", expanding=True))
)


def _to_experiment(row: Row[Any], tags: dict[str, str]) -> Experiment:
    return Experiment(
        experiment_id=str(row.experiment_id),
        name=row.name,
        artifact_location=row.artifact_location,
        lifecycle_stage=LifecycleStage(row.lifecycle_stage),
        tags=tags,
        creation_time=row.creation_time,
        last_update_time=row.last_update_time,
    )


def _with_tags(conn: Connection, rows: Sequence[Row[Any]]) -> list[Experiment]:
    tags: dict[int, dict[str, str]] = {r.experiment_id: {} for r in rows}
    ids = list(tags)
    for start in range(0, len(ids), 2000):
        chunk = ids[start : start + 2000]
        for exp_id, key, value in conn.execute(_TAGS_IN, {"ids": chunk}).all():
            tags[exp_id][key] = value
    return [_to_experiment(r, tags[r.experiment_id]) for r in rows]


def _not_found(experiment_id: str | int) -> ExperimentNotFound:
    return ExperimentNotFound(
        f"No Experiment with id={experiment_id} exists", experiment_id=experiment_id
    )


def _fetch(conn: Connection, experiment_id: str) -> Row[Any]:
    row = conn.execute(_BY_ID, {"experiment_id": int(experiment_id)}).first()
    if row is None:
        raise _not_found(experiment_id)
    return row


def _fetch_active(conn: Connection, experiment_id: str, action: str) -> Row[Any]:
    row = _fetch(conn, experiment_id)
    if row.lifecycle_stage != _ACTIVE:
        raise ExperimentNotActive(
            f"Cannot {action} experiment {experiment_id}: it must be in the 'active' state. "
            "Current state is deleted.",
            experiment_id=experiment_id,
        )
    return row


def _name_taken(name: str) -> ExperimentAlreadyExists:
    return ExperimentAlreadyExists(
        f"Experiment {name!r} already exists (names of deleted experiments stay reserved).",
        name=name,
    )


def create_experiment(
    db: Database,
    *,
    name: str,
    artifact_location: str | None,
    tags: Mapping[str, str] | None,
    request_id: str | None,
    artifact_root: str,
) -> str:
    """Create an experiment; return its id (idempotent with request_id).

    Raises:
        ExperimentAlreadyExists: the name is taken, also by a deleted experiment.
    """

    def fn(conn: Connection) -> str:
        now = now_ms()
        result = conn.execute(
            insert(EXPERIMENTS).values(
                name=name,
                artifact_location=artifact_location or "",
                lifecycle_stage=_ACTIVE,
                creation_time=now,
                last_update_time=now,
            )
        )
        experiment_id = int(result.inserted_primary_key[0])
        if not artifact_location:
            conn.execute(
                update(EXPERIMENTS)
                .where(EXPERIMENTS.c.experiment_id == experiment_id)
                .values(artifact_location=join_artifact_uri(artifact_root, str(experiment_id)))
            )
        if tags:
            conn.execute(
                insert(EXP_TAGS),
                [{"experiment_id": experiment_id, "key": k, "value": v} for k, v in tags.items()],
            )
        return str(experiment_id)

    try:
        result, _ = run_idempotent(db, KIND_EXPERIMENT, request_id, fn)
    except IntegrityError as exc:
        raise _name_taken(name) from exc
    return result


def get_experiment(db: Database, experiment_id: str) -> Experiment:
    """An experiment by id, deleted or not.

    Raises:
        ExperimentNotFound: unknown id.
    """
    with db.read() as conn:
        return _with_tags(conn, [_fetch(conn, experiment_id)])[0]


def get_experiment_by_name(db: Database, name: str) -> Experiment | None:
    """The experiment with exactly this name (deleted or not), or None."""
    with db.read() as conn:
        row = conn.execute(_BY_NAME, {"name": name}).first()
        return None if row is None else _with_tags(conn, [row])[0]


def search_experiments(
    db: Database,
    tokens: PageTokens,
    *,
    view_type: ViewType,
    filter_string: str,
    order_by: Sequence[str],
    max_results: int,
    page_token: str | None,
) -> PagedList[Experiment]:
    """One page of experiments, filtered, ordered and paged in the database."""
    fingerprint = query_fingerprint(
        "experiments", ViewType(view_type), filter_string or "", list(order_by)
    )
    offset = tokens.decode(page_token, fingerprint)
    stmt = experiment_search_statement(
        dialect_name=db.family,
        view_type=ViewType(view_type),
        filter_string=filter_string or "",
        order_by=list(order_by),
    )
    stmt = stmt.limit(max_results + 1).offset(offset)
    with db.read() as conn:
        rows = conn.execute(stmt).all()
        page = _with_tags(conn, rows[:max_results])
    token = tokens.encode(offset + max_results, fingerprint) if len(rows) > max_results else None
    return PagedList(page, token)


def rename_experiment(db: Database, experiment_id: str, new_name: str) -> None:
    """Rename an active experiment.

    Raises:
        ExperimentNotFound, ExperimentNotActive, ExperimentAlreadyExists.
    """

    def fn(conn: Connection) -> None:
        _fetch_active(conn, experiment_id, "rename")
        conn.execute(
            update(EXPERIMENTS)
            .where(EXPERIMENTS.c.experiment_id == int(experiment_id))
            .values(name=new_name, last_update_time=now_ms())
        )

    try:
        db.run_write(fn)
    except IntegrityError as exc:
        raise _name_taken(new_name) from exc


def delete_experiment(db: Database, experiment_id: str) -> None:
    """Soft-delete an active experiment and mark its active runs deleted with it."""

    def fn(conn: Connection) -> None:
        _fetch_active(conn, experiment_id, "delete")
        now = now_ms()
        exp_id = int(experiment_id)
        conn.execute(
            update(EXPERIMENTS)
            .where(EXPERIMENTS.c.experiment_id == exp_id)
            .values(lifecycle_stage=_DELETED, last_update_time=now)
        )
        conn.execute(
            update(RUNS)
            .where(RUNS.c.experiment_id == exp_id, RUNS.c.lifecycle_stage == _ACTIVE)
            .values(lifecycle_stage=_DELETED, deleted_time=now, deleted_with_experiment=True)
        )

    db.run_write(fn)


def restore_experiment(db: Database, experiment_id: str) -> None:
    """Restore a deleted experiment and only the runs its deletion removed."""

    def fn(conn: Connection) -> None:
        row = _fetch(conn, experiment_id)
        if row.lifecycle_stage != _DELETED:
            raise FailedPrecondition(
                f"Cannot restore experiment {experiment_id}: it is not deleted",
                experiment_id=experiment_id,
            )
        exp_id = int(experiment_id)
        conn.execute(
            update(EXPERIMENTS)
            .where(EXPERIMENTS.c.experiment_id == exp_id)
            .values(lifecycle_stage=_ACTIVE, last_update_time=now_ms())
        )
        conn.execute(
            update(RUNS)
            .where(RUNS.c.experiment_id == exp_id, RUNS.c.deleted_with_experiment.is_(True))
            .values(lifecycle_stage=_ACTIVE, deleted_time=None, deleted_with_experiment=False)
        )

    db.run_write(fn)


def set_experiment_tag(db: Database, experiment_id: str, key: str, value: str) -> None:
    """Upsert a tag of an active experiment."""
    stmt = replace_statement(EXP_TAGS, ("experiment_id", "key"), db.family)

    def fn(conn: Connection) -> None:
        _fetch_active(conn, experiment_id, "set a tag on")
        conn.execute(stmt, {"experiment_id": int(experiment_id), "key": key, "value": value})

    db.run_write(fn)


def delete_experiment_tag(db: Database, experiment_id: str, key: str) -> None:
    """Delete a tag of an active experiment.

    Raises:
        TagNotFound: no such tag.
    """

    def fn(conn: Connection) -> None:
        _fetch_active(conn, experiment_id, "delete a tag of")
        result = conn.execute(
            delete(EXP_TAGS).where(
                EXP_TAGS.c.experiment_id == int(experiment_id), EXP_TAGS.c.key == key
            )
        )
        if result.rowcount == 0:
            raise TagNotFound(
                f"No tag with name: {key!r} in experiment {experiment_id}",
                experiment_id=experiment_id,
                key=key,
            )

    db.run_write(fn)
