"""Lineage (run, experiment, parent runs, the version copied from) and the storage lookups that
protect registered files (versions_backing) and gc (protected locations)."""

from __future__ import annotations

from sqlalchemy import or_, select

from modelyard.entities import Run
from modelyard.entities.model_registry import ModelVersionLineage
from modelyard.errors import ExperimentNotFound, RunNotFound
from modelyard.registry.engine import Database
from modelyard.registry.model_registry.common import (
    LIVE,
    MODELS,
    VERSIONS,
    fetch_version,
    storage_key,
    to_versions,
)
from modelyard.registry.tracking import experiments, runs

PARENT_TAG = "mlflow.parentRunId"
#: Longest parent chain followed (a guard besides the cycle check).
MAX_PARENTS = 1000


def _run_or_none(db: Database, run_id: str | None) -> Run | None:
    if not run_id:
        return None
    try:
        return runs.get_run(db, run_id)
    except RunNotFound:
        return None


def get_model_version_lineage(db: Database, name: str, version: int) -> ModelVersionLineage:
    """The version with its run (None once purged), experiment, parents (nearest first) and the
    live version it was copied from.

    Raises:
        ModelVersionNotFound: unknown or deleted version.
    """
    with db.read() as conn:
        model, row = fetch_version(conn, name, version)
        mv = to_versions(conn, [row], {model.id: model.name})[0]
        copied = None
        if row.copied_from is not None:
            origin = conn.execute(
                select(VERSIONS).where(VERSIONS.c.id == row.copied_from, LIVE)
            ).first()
            if origin is not None:
                copied = to_versions(conn, [origin])[0]
    run = _run_or_none(db, row.run_id)
    experiment = None
    parents: list[Run] = []
    if run is not None:
        try:
            experiment = experiments.get_experiment(db, run.info.experiment_id)
        except ExperimentNotFound:
            experiment = None
        seen = {run.info.run_id}
        current = run
        while len(parents) < MAX_PARENTS:
            parent_id = current.data.tags.get(PARENT_TAG)
            if not parent_id or parent_id in seen:
                break
            seen.add(parent_id)
            parent = _run_or_none(db, parent_id)
            if parent is None:
                break
            parents.append(parent)
            current = parent
    return ModelVersionLineage(
        model_version=mv, run=run, experiment=experiment, parent_runs=parents, copied_from=copied
    )


def _ancestors(location: str) -> list[str]:
    """The location and every parent of it, segment by segment (without trailing slashes)."""
    trimmed = location.rstrip("/") or location
    out = [trimmed]
    for i, char in enumerate(trimmed):
        if char == "/":
            head = trimmed[:i]
            if head and not head.endswith((":", "/")):
                out.append(head)
    return out


def versions_backing(db: Database, storage_location: str) -> list[tuple[str, int]]:
    """(name, version) of live versions stored at, under or above a location, sorted.

    "At or under" is an indexed lookup of the location's ancestors' keys; "above" (a version
    inside the location) is a prefix match on storage_location.
    """
    trimmed = storage_location.rstrip("/") or storage_location
    keys = [storage_key(a) for a in _ancestors(trimmed)]
    below = trimmed if trimmed.endswith("/") else trimmed + "/"
    stmt = (
        select(MODELS.c.name, VERSIONS.c.version)
        .join(MODELS, MODELS.c.id == VERSIONS.c.model_id)
        .where(
            LIVE,
            or_(
                VERSIONS.c.storage_key.in_(keys),
                VERSIONS.c.storage_location.startswith(below, autoescape=True),
            ),
        )
    )
    with db.read() as conn:
        rows = conn.execute(stmt).all()
    return sorted((str(n), int(v)) for n, v in rows)
