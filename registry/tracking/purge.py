"""Garbage collection, the SQL side: find soft-deleted runs and experiments, purge their rows.

`modelyard gc` (modelyard/cli/gc.py) drives this module and deletes the artifacts, which this
package never touches (the registry does not import the artifact stores). The order that
makes gc safe to re-run is the caller's: per run, artifacts first, then `purge_run` in its own
transaction; per experiment, its runs, then its folder, then `purge_experiment`. Each purge
re-checks, under a row lock, that its target is still deleted, so a run restored while gc
was running keeps its rows.

Model versions: `protected_artifact_uris` lists the storage locations and sources of live
(not deleted) model versions, so gc never deletes files a registered version needs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Select, delete, false, func, or_, select

from modelyard.entities import LifecycleStage
from modelyard.errors import FailedPrecondition
from modelyard.registry.engine import Database
from modelyard.registry.schema import (
    ExperimentRow,
    ExperimentTagRow,
    LatestMetricRow,
    MetricRow,
    ModelVersionRow,
    ParamRow,
    RunRow,
    TagRow,
)
from modelyard.stores import DeletedExperiment, DeletedRun

RUNS = RunRow.__table__
EXPERIMENTS = ExperimentRow.__table__
EXP_TAGS = ExperimentTagRow.__table__
PARAMS = ParamRow.__table__
TAGS = TagRow.__table__
METRICS = MetricRow.__table__
LATEST = LatestMetricRow.__table__

MODEL_VERSIONS = ModelVersionRow.__table__
#: Children of a run, deleted before the run row (explicitly: no reliance on ON DELETE CASCADE).
RUN_CHILD_TABLES = (LATEST, METRICS, PARAMS, TAGS)

_DELETED = LifecycleStage.DELETED.value
_IN_CHUNK = 1000


def _chunks(values: Sequence[Any] | None) -> Iterator[list[Any] | None]:
    """The values in IN-list sized chunks; one None when there is no filter."""
    if values is None:
        yield None
        return
    items = list(dict.fromkeys(values))
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start : start + _IN_CHUNK]


def list_deleted_runs(
    db: Database,
    *,
    deleted_before: int | None = None,
    run_ids: Sequence[str] | None = None,
    experiment_ids: Sequence[str] | None = None,
) -> list[DeletedRun]:
    """Soft-deleted runs matching every filter, oldest deletion first (see TrackingStore)."""
    base = select(
        RUNS.c.run_uuid, RUNS.c.experiment_id, RUNS.c.artifact_uri, RUNS.c.deleted_time
    ).where(RUNS.c.lifecycle_stage == _DELETED)
    if deleted_before is not None:
        base = base.where(RUNS.c.deleted_time <= deleted_before)
    out: dict[str, DeletedRun] = {}
    exp_ids = None if experiment_ids is None else [int(e) for e in experiment_ids]
    with db.read() as conn:
        for exp_chunk in _chunks(exp_ids):
            for run_chunk in _chunks(run_ids):
                stmt = base
                if exp_chunk is not None:
                    stmt = stmt.where(RUNS.c.experiment_id.in_(exp_chunk))
                if run_chunk is not None:
                    stmt = stmt.where(RUNS.c.run_uuid.in_(run_chunk))
                for run_id, exp_id, uri, deleted_time in conn.execute(stmt):
                    out[run_id] = DeletedRun(
                        run_id=run_id,
                        experiment_id=str(exp_id),
                        artifact_uri=uri,
                        deleted_time=deleted_time,
                    )
    return sorted(out.values(), key=lambda r: (r.deleted_time or 0, r.run_id))


def list_deleted_experiments(
    db: Database,
    *,
    deleted_before: int | None = None,
    experiment_ids: Sequence[str] | None = None,
) -> list[DeletedExperiment]:
    """Soft-deleted experiments matching every filter, oldest deletion first."""
    base: Select[Any] = select(
        EXPERIMENTS.c.experiment_id,
        EXPERIMENTS.c.name,
        EXPERIMENTS.c.artifact_location,
        EXPERIMENTS.c.last_update_time,
    ).where(EXPERIMENTS.c.lifecycle_stage == _DELETED)
    if deleted_before is not None:
        base = base.where(EXPERIMENTS.c.last_update_time <= deleted_before)
    exp_ids = None if experiment_ids is None else [int(e) for e in experiment_ids]
    out: list[DeletedExperiment] = []
    with db.read() as conn:
        for chunk in _chunks(exp_ids):
            stmt = base if chunk is None else base.where(EXPERIMENTS.c.experiment_id.in_(chunk))
            out.extend(
                DeletedExperiment(
                    experiment_id=str(exp_id),
                    name=name,
                    artifact_location=location,
                    deleted_time=updated,
                )
                for exp_id, name, location, updated in conn.execute(stmt)
            )
    return sorted(out, key=lambda e: (e.deleted_time, int(e.experiment_id)))


def purge_run(db: Database, run_id: str) -> bool:
    """Delete a soft-deleted run and its params, metrics, latest metrics and tags; one transaction.

    Returns False, deleting nothing, when the run is gone or was restored.
    """

    def fn(conn: Connection) -> bool:
        row = conn.execute(
            select(RUNS.c.lifecycle_stage).where(RUNS.c.run_uuid == run_id).with_for_update()
        ).first()
        if row is None or row.lifecycle_stage != _DELETED:
            return False
        for child in RUN_CHILD_TABLES:
            conn.execute(delete(child).where(child.c.run_uuid == run_id))
        conn.execute(
            delete(RUNS).where(RUNS.c.run_uuid == run_id, RUNS.c.lifecycle_stage == _DELETED)
        )
        return True

    return db.run_write(fn)


def purge_experiment(db: Database, experiment_id: str) -> bool:
    """Delete a soft-deleted experiment without runs, and its tags; one transaction.

    Returns False, deleting nothing, when the experiment is gone or was restored.

    Raises:
        FailedPrecondition: runs of the experiment remain.
    """
    exp_id = int(experiment_id)

    def fn(conn: Connection) -> bool:
        row = conn.execute(
            select(EXPERIMENTS.c.lifecycle_stage)
            .where(EXPERIMENTS.c.experiment_id == exp_id)
            .with_for_update()
        ).first()
        if row is None or row.lifecycle_stage != _DELETED:
            return False
        remaining = conn.execute(
            select(func.count()).select_from(RUNS).where(RUNS.c.experiment_id == exp_id)
        ).scalar_one()
        if remaining:
            raise FailedPrecondition(
                f"experiment {experiment_id} still has {remaining} run(s); purge them first",
                experiment_id=experiment_id,
                runs=remaining,
            )
        conn.execute(delete(EXP_TAGS).where(EXP_TAGS.c.experiment_id == exp_id))
        conn.execute(
            delete(EXPERIMENTS).where(
                EXPERIMENTS.c.experiment_id == exp_id, EXPERIMENTS.c.lifecycle_stage == _DELETED
            )
        )
        return True

    return db.run_write(fn)


def protected_artifact_uris(db: Database) -> frozenset[str]:
    """Artifact URIs that back live model versions: each storage location and source.

    Versions deleted from the registry protect nothing; models:/ sources are left out (their
    storage location, a copy of another version's, is listed).
    """
    live = MODEL_VERSIONS.c.deleted == false()
    out: set[str] = set()
    with db.read() as conn:
        rows = conn.execute(
            select(MODEL_VERSIONS.c.storage_location, MODEL_VERSIONS.c.source).where(live)
        )
        for location, source in rows:
            if location:
                out.add(str(location))
            if source and not str(source).startswith("models:"):
                out.add(str(source))
    return frozenset(out)


def _trimmed(uri: str) -> str:
    stripped = uri.rstrip("/")
    return stripped if stripped and not stripped.endswith(":") else uri


def uri_is_under(uri: str, parent: str) -> bool:
    """True when `uri` equals `parent` or lies below it, segment by segment."""
    child, root = _trimmed(uri), _trimmed(parent)
    return child == root or child.startswith(root if root.endswith("/") else root + "/")


def uris_overlap(a: str, b: str) -> bool:
    """True when one URI equals the other or lies below it."""
    return uri_is_under(a, b) or uri_is_under(b, a)


def is_protected(uris: Sequence[str], protected: frozenset[str]) -> str | None:
    """The first protected URI overlapping any of `uris` (at, above or below), or None."""
    for p in sorted(protected):
        if any(uris_overlap(p, uri) for uri in uris):
            return p
    return None


def artifact_location_in_use(db: Database, location: str, *, experiment_id: str) -> bool:
    """True when another experiment's location, or another experiment's run, overlaps it."""
    exp_id = int(experiment_id)
    root = _trimmed(location)
    with db.read() as conn:
        others = conn.execute(
            select(EXPERIMENTS.c.artifact_location).where(EXPERIMENTS.c.experiment_id != exp_id)
        )
        if any(uris_overlap(root, other) for (other,) in others):
            return True
        below = root if root.endswith("/") else root + "/"
        run = conn.execute(
            select(RUNS.c.run_uuid)
            .where(
                RUNS.c.experiment_id != exp_id,
                or_(
                    RUNS.c.artifact_uri == root,
                    RUNS.c.artifact_uri.startswith(below, autoescape=True),
                ),
            )
            .limit(1)
        ).first()
    return run is not None
