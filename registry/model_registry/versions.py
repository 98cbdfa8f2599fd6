"""Model versions: create (numbers from the model row's counter; inspect outside transactions),
read, describe, soft delete, tags, search, stages, files.

create_model_version runs in three steps so no transaction waits on an artifact store:
1. resolve the source (runs:/, models:/ or a URI) and ask the inspector where its files are —
   pure policy: if it raises, nothing was written and no number was used;
2. transaction 1 takes the next number (an UPDATE of the model row's `last_version`, which
   row-locks it on PostgreSQL and MySQL, and runs under the write lock on SQLite) and inserts
   the version PENDING_REGISTRATION;
3. the inspector lists and hashes the files with no transaction open; transaction 2 marks the
   version READY with its files, signature and a VERSION_CREATED event, or
   FAILED_REGISTRATION with the reason (the call then raises RegistrationFailed).
A models:/ source copies another version's location, files and signature in one transaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, delete, select, update

from modelyard.artifact_uris import join_artifact_uri
from modelyard.entities import PagedList
from modelyard.entities.model_registry import (
    ModelFile,
    ModelStage,
    ModelVersion,
    ModelVersionStatus,
    RegistryEventKind,
    SourceInspection,
)
from modelyard.errors import (
    AliasNotFound,
    FailedPrecondition,
    InvalidArgument,
    ModelVersionNotFound,
    PermissionDenied,
    RegistrationFailed,
    RunNotFound,
)
from modelyard.models.uris import parse_runs_uri
from modelyard.registry import engine as rawsql
from modelyard.registry.engine import Database
from modelyard.registry.model_registry.common import (
    ALIASES,
    FILES,
    LIVE,
    MODELS,
    VERSION_INSERT_COLUMNS,
    VERSION_TAGS,
    VERSIONS,
    VersionRecord,
    append_event,
    append_events,
    chunks,
    event_params,
    fetch_model,
    fetch_version,
    insert_returning_id,
    latest_version_rows,
    model_not_found,
    now_ms,
    statements,
    storage_key,
    tag_prefix,
    to_versions,
    version_entity,
    version_not_found,
)
from modelyard.registry.search import PageTokens, query_fingerprint
from modelyard.registry.search.model_registry import model_version_search_statement
from modelyard.registry.tracking.idempotency import run_idempotent
from modelyard.registry.tracking.upserts import replace_statement
from modelyard.registry_stores import ModelSourceInspector
from modelyard.registry_validation import manifest_digest

KIND_VERSION = "model_version"
_RUN_ID_RE = re.compile(r"^[0-9a-f]{32}$")
_MAX_STATUS_MESSAGE = 4000


@dataclass(frozen=True, slots=True)
class _Plan:
    """What registration decided before writing: the run, the location, or a version to copy."""

    run_id: str | None
    storage_location: str
    copy_of: Row[Any] | None = None


# -- source resolution ---------------------------------------------------------------------------


def _parse_runs_uri(source: str) -> tuple[str, str]:
    """(run_id, path) of runs:/<run_id>/<path> (the core's parser, plus a real run id)."""
    parsed = parse_runs_uri(source)
    if not _RUN_ID_RE.match(parsed.run_id):
        raise InvalidArgument(
            f"invalid runs URI {source!r}: {parsed.run_id!r} is not a run id (32 lowercase hex)",
            source=source,
        )
    return parsed.run_id, parsed.path


def _parse_models_uri(source: str) -> tuple[str, str | None, str | None]:
    """(model name, version-or-stage-or-latest, alias) of a models:/ URI."""
    rest = source[len("models:") :]
    bad = InvalidArgument(
        f"invalid models URI {source!r}: expected models:/<name>/<version|stage|latest> or "
        "models:/<name>@<alias>",
        source=source,
    )
    if not rest.startswith("/") or rest.startswith("//"):
        raise bad
    parts = rest[1:].split("/")
    if len(parts) == 1:
        name, at, alias = parts[0].rpartition("@")
        if not at or not name or not alias:
            raise bad
        return name, None, alias
    if len(parts) != 2 or not parts[0] or not parts[1] or "@" in parts[1]:
        raise bad
    return parts[0], parts[1], None


def _resolve_models_uri(conn: Connection, source: str) -> Row[Any]:
    """The live, READY version row a models:/ URI names."""
    name, suffix, alias = _parse_models_uri(source)
    model = fetch_model(conn, name)
    live = select(VERSIONS).where(VERSIONS.c.model_id == model.id, LIVE)
    if alias is not None:
        number = conn.execute(
            select(ALIASES.c.version).where(
                ALIASES.c.model_id == model.id, ALIASES.c.alias == alias
            )
        ).scalar()
        if number is None:
            raise AliasNotFound(
                f"Registered model alias {alias!r} of {name!r} not found", name=name, alias=alias
            )
        row = conn.execute(live.where(VERSIONS.c.version == number)).first()
    elif suffix is not None and suffix.isdigit() and suffix.isascii():
        row = conn.execute(live.where(VERSIONS.c.version == int(suffix))).first()
        if row is None:
            raise version_not_found(name, int(suffix))
    elif suffix is not None and suffix.lower() == "latest":
        ready = live.where(VERSIONS.c.status == ModelVersionStatus.READY.value)
        row = conn.execute(ready.order_by(VERSIONS.c.version.desc()).limit(1)).first()
    else:
        stage = next((s for s in ModelStage if s.value.lower() == (suffix or "").lower()), None)
        if stage is None:
            raise InvalidArgument(
                f"invalid models URI {source!r}: {suffix!r} is not a version number, a stage "
                "or 'latest'",
                source=source,
            )
        row = conn.execute(
            live.where(VERSIONS.c.stage == stage.value).order_by(VERSIONS.c.version.desc()).limit(1)
        ).first()
    if row is None:
        raise ModelVersionNotFound(f"no model version matches {source!r}", source=source)
    if row.status != ModelVersionStatus.READY.value:
        raise FailedPrecondition(
            f"cannot copy {source!r}: version {row.version} of {name!r} is {row.status}",
            source=source,
        )
    return row


def _plan(
    db: Database,
    inspector: Callable[[], ModelSourceInspector],
    name: str,
    source: str,
    run_id: str | None,
) -> _Plan:
    """Resolve a source and check where its files may come from; writes nothing."""
    with db.read() as conn:
        stmts = statements(conn)
        fetch_model(conn, name)  # the model registered to must exist
        if source.startswith("models:"):
            row = _resolve_models_uri(conn, source)
            return _Plan(run_id or row.run_id, row.storage_location, row)
        resolved = source
        if source.startswith("runs:"):
            source_run, path = _parse_runs_uri(source)
            if run_id is not None and run_id != source_run:
                raise InvalidArgument(
                    f"run_id {run_id!r} does not match the run of the source {source!r}",
                    run_id=run_id,
                    source=source,
                )
            run_id = source_run
        run_artifact_uri = None
        if run_id is not None:
            run = rawsql.fetch_one(conn, stmts.run_artifact_uri, (run_id,))
            if run is None:
                raise RunNotFound(f"Run with id={run_id} not found", run_id=run_id)
            run_artifact_uri = str(run[0])
            if source.startswith("runs:"):
                resolved = join_artifact_uri(run_artifact_uri, path) if path else run_artifact_uri
    try:
        location = inspector().check(resolved, run_artifact_uri=run_artifact_uri)
    except (InvalidArgument, PermissionDenied) as exc:
        if resolved == source or source in str(exc):
            raise
        raise type(exc)(
            f"model version source {source!r} (at {resolved!r}): {exc}", source=source
        ) from exc
    return _Plan(run_id, location)


# -- create ----------------------------------------------------------------------------------


def _insert_version(
    conn: Connection,
    name: str,
    *,
    source: str,
    plan: _Plan,
    tags: Mapping[str, str] | None,
    description: str | None,
    run_link: str | None,
    user_id: str | None,
) -> tuple[int, int, int]:
    """Take the next number and insert the version row; return (version pk, number, model id)."""
    stmts = statements(conn)
    now = now_ms()
    if rawsql.run(conn, stmts.bump_last_version, (now, name)) == 0:
        raise model_not_found(name)
    counter = rawsql.fetch_one(conn, stmts.model_counter, (name,))
    assert counter is not None  # the row was just updated in this transaction
    model_id, number = int(counter[0]), int(counter[1])
    copy = plan.copy_of
    values: dict[str, Any] = dict.fromkeys(VERSION_INSERT_COLUMNS)
    values.update(
        model_id=model_id,
        version=number,
        user_id=user_id,
        stage=ModelStage.NONE.value,
        description=description,
        source=source,
        run_id=plan.run_id,
        run_link=run_link,
        status=ModelVersionStatus.PENDING_REGISTRATION.value,
        status_message=None,
        storage_location=plan.storage_location,
        storage_key=storage_key(plan.storage_location),
        file_count=0,
        deleted=False,
        creation_time=now,
        last_update_time=now,
    )
    if copy is not None:
        values.update(
            status=ModelVersionStatus.READY.value,
            signature_inputs=copy.signature_inputs,
            signature_outputs=copy.signature_outputs,
            signature_params=copy.signature_params,
            input_example_path=copy.input_example_path,
            file_count=copy.file_count,
            content_digest=copy.content_digest,
            copied_from=copy.id,
        )
    version_id = insert_returning_id(conn, stmts, stmts.insert_version, tuple(values.values()))
    if tags:
        rawsql.run_many(
            conn,
            stmts.insert_version_tag,
            [(version_id, k, v, tag_prefix(v)) for k, v in tags.items()],
        )
    if copy is not None:
        files = conn.execute(
            select(FILES.c.path, FILES.c.size, FILES.c.sha256).where(FILES.c.version_id == copy.id)
        ).all()
        _insert_files(conn, version_id, [ModelFile(*f) for f in files])
        append_event(
            conn,
            RegistryEventKind.VERSION_CREATED,
            model_id=model_id,
            model_name=name,
            user_id=user_id,
            version=number,
            time=now,
        )
    return version_id, number, model_id


def _insert_files(conn: Connection, version_id: int, files: Sequence[ModelFile]) -> None:
    sql = statements(conn).insert_file
    for start in range(0, len(files), 1000):
        chunk = files[start : start + 1000]
        rawsql.run_many(conn, sql, [(version_id, f.path, f.size, f.sha256) for f in chunk])


def _finish(
    db: Database, version_id: int, inspection: SourceInspection | None, failure: str | None
) -> ModelVersion | None:
    """Transaction 2: READY with files and event, or FAILED with the reason; the version
    as it then is, or None when it is gone or was finished meanwhile."""

    def fn(conn: Connection) -> ModelVersion | None:
        stmts = statements(conn)
        found = rawsql.fetch_one(conn, stmts.version_by_id_locked, (version_id,))
        if found is None:
            return None
        row = VersionRecord(*found)
        if row.status != ModelVersionStatus.PENDING_REGISTRATION.value:
            return None
        named = rawsql.fetch_one(conn, stmts.model_name_by_id, (row.model_id,))
        model_name = str(named[0]) if named is not None else str(None)
        now = now_ms()
        if inspection is None:
            message = (failure or "registration failed")[:_MAX_STATUS_MESSAGE]
            status = ModelVersionStatus.FAILED_REGISTRATION.value
            rawsql.run(conn, stmts.mark_failed, (status, message, now, version_id))
            # The row is locked: it is what was read plus what was just set.
            failed = row._replace(status=status, status_message=message, last_update_time=now)
            return version_entity(conn, failed, model_name)
        files = sorted(inspection.files, key=lambda f: f.path)
        signature = inspection.signature
        ready = row._replace(
            status=ModelVersionStatus.READY.value,
            signature_inputs=signature.inputs if signature else None,
            signature_outputs=signature.outputs if signature else None,
            signature_params=signature.params if signature else None,
            input_example_path=inspection.input_example_path,
            file_count=len(files),
            content_digest=manifest_digest(files),
            last_update_time=now,
        )
        rawsql.run(
            conn,
            stmts.mark_ready,
            (
                ready.status,
                ready.signature_inputs,
                ready.signature_outputs,
                ready.signature_params,
                ready.input_example_path,
                ready.file_count,
                ready.content_digest,
                now,
                version_id,
            ),
        )
        _insert_files(conn, version_id, files)
        append_event(
            conn,
            RegistryEventKind.VERSION_CREATED,
            model_id=row.model_id,
            model_name=model_name,
            user_id=row.user_id,
            version=row.version,
            time=now,
        )
        return version_entity(conn, ready, model_name)

    return db.run_write(fn)


def _reread(conn: Connection, version_id: int, model_id: int, name: str) -> ModelVersion:
    """A version as the current transaction sees it."""
    row = conn.execute(select(VERSIONS).where(VERSIONS.c.id == version_id)).one()
    return to_versions(conn, [row], {model_id: name})[0]


def _by_id(db: Database, version_id: int) -> ModelVersion:
    with db.read() as conn:
        row = conn.execute(select(VERSIONS).where(VERSIONS.c.id == version_id)).first()
        if row is None or row.deleted:
            raise ModelVersionNotFound(
                f"Model Version {version_id} no longer exists", version_id=version_id
            )
        return to_versions(conn, [row])[0]


def _failed(source: str, version: ModelVersion, reason: str | None) -> RegistrationFailed:
    return RegistrationFailed(
        f"registering {source!r} as version {version.version} of {version.name!r} failed: "
        f"{reason or 'registration failed'}",
        source=source,
        name=version.name,
        version=version.version,
    )


def create_model_version(
    db: Database,
    inspector: Callable[[], ModelSourceInspector],
    name: str,
    source: str,
    *,
    run_id: str | None,
    tags: Mapping[str, str] | None,
    description: str | None,
    run_link: str | None,
    user_id: str | None,
    request_id: str | None,
) -> ModelVersion:
    """Create a version from a source; READY, or FAILED_REGISTRATION and RegistrationFailed."""
    plan = _plan(db, inspector, name, source, run_id)

    def fn(conn: Connection) -> str:
        version_id, _, _ = _insert_version(
            conn,
            name,
            source=source,
            plan=plan,
            tags=tags,
            description=description,
            run_link=run_link,
            user_id=user_id,
        )
        return str(version_id)

    result, replayed = run_idempotent(db, KIND_VERSION, request_id, fn)
    version_id = int(result)
    if replayed or plan.copy_of is not None:
        version = _by_id(db, version_id)
        if version.status == ModelVersionStatus.FAILED_REGISTRATION:
            raise _failed(source, version, version.status_message)
        return version
    try:
        inspection: SourceInspection | None = inspector().inspect(plan.storage_location)
        failure = None
    except Exception as exc:  # any failure to read the source fails the registration
        inspection, failure = None, f"{type(exc).__name__}: {exc}"
    version = _finish(db, version_id, inspection, failure) or _by_id(db, version_id)
    if version.status == ModelVersionStatus.FAILED_REGISTRATION:
        raise _failed(source, version, version.status_message)
    return version


# -- read, update, delete ----------------------------------------------------------------------


def get_model_version(db: Database, name: str, version: int) -> ModelVersion:
    """A live version.

    Raises:
        ModelVersionNotFound: unknown model or version, or a deleted version.
    """
    with db.read() as conn:
        model, row = fetch_version(conn, name, version)
        return to_versions(conn, [row], {model.id: model.name})[0]


def update_model_version(
    db: Database, name: str, version: int, description: str | None
) -> ModelVersion:
    """Set a version's description."""

    def fn(conn: Connection) -> ModelVersion:
        model, row = fetch_version(conn, name, version, for_update=True)
        conn.execute(
            update(VERSIONS)
            .where(VERSIONS.c.id == row.id)
            .values(description=description, last_update_time=now_ms())
        )
        return _reread(conn, row.id, model.id, model.name)

    return db.run_write(fn)


def delete_model_version(db: Database, name: str, version: int, *, user_id: str | None) -> None:
    """Soft-delete a version: the number stays used, tags stay, aliases go (with events)."""

    def fn(conn: Connection) -> None:
        fetch_model(conn, name, for_update=True)  # lock order: model row, then version rows
        model, row = fetch_version(conn, name, version, for_update=True)
        now = now_ms()
        conn.execute(
            update(VERSIONS)
            .where(VERSIONS.c.id == row.id)
            .values(deleted=True, deleted_time=now, last_update_time=now)
        )
        aliases = conn.execute(
            select(ALIASES.c.alias)
            .where(ALIASES.c.model_id == model.id, ALIASES.c.version == version)
            .order_by(ALIASES.c.alias)
        ).scalars()
        for alias in list(aliases):
            conn.execute(
                delete(ALIASES).where(ALIASES.c.model_id == model.id, ALIASES.c.alias == alias)
            )
            append_event(
                conn,
                RegistryEventKind.ALIAS_DELETED,
                model_id=model.id,
                model_name=model.name,
                user_id=user_id,
                version=version,
                alias=alias,
                previous_version=version,
                time=now,
            )
        conn.execute(update(MODELS).where(MODELS.c.id == model.id).values(last_update_time=now))
        append_event(
            conn,
            RegistryEventKind.VERSION_DELETED,
            model_id=model.id,
            model_name=model.name,
            user_id=user_id,
            version=version,
            time=now,
        )

    db.run_write(fn)


def search_model_versions(
    db: Database,
    tokens: PageTokens,
    *,
    filter_string: str,
    order_by: Sequence[str],
    max_results: int,
    page_token: str | None,
) -> PagedList[ModelVersion]:
    """One page of live versions, filtered, ordered and paged in the database."""
    fingerprint = query_fingerprint("model_versions", filter_string or "", list(order_by))
    offset = tokens.decode(page_token, fingerprint)
    stmt = model_version_search_statement(
        dialect_name=db.family, filter_string=filter_string or "", order_by=list(order_by)
    )
    stmt = stmt.limit(max_results + 1).offset(offset)
    with db.read() as conn:
        keys = conn.execute(stmt).all()
        names = {k.model_id: k.model_name for k in keys}
        ids = [k.id for k in keys[:max_results]]
        by_id = {}
        for chunk in chunks(ids):
            for row in conn.execute(select(VERSIONS).where(VERSIONS.c.id.in_(chunk))):
                by_id[row.id] = row
        page = to_versions(conn, [by_id[i] for i in ids if i in by_id], names)
    token = tokens.encode(offset + max_results, fingerprint) if len(keys) > max_results else None
    return PagedList(page, token)


def set_model_version_tag(db: Database, name: str, version: int, key: str, value: str) -> None:
    """Upsert a version tag."""
    stmt = replace_statement(VERSION_TAGS, ("version_id", "key"), db.family)

    def fn(conn: Connection) -> None:
        _, row = fetch_version(conn, name, version)
        conn.execute(
            stmt,
            {"version_id": row.id, "key": key, "value": value, "value_prefix": tag_prefix(value)},
        )

    db.run_write(fn)


def delete_model_version_tag(db: Database, name: str, version: int, key: str) -> None:
    """Delete a version tag; a missing tag is a no-op (the version must exist)."""

    def fn(conn: Connection) -> None:
        _, row = fetch_version(conn, name, version)
        conn.execute(
            delete(VERSION_TAGS).where(
                VERSION_TAGS.c.version_id == row.id, VERSION_TAGS.c.key == key
            )
        )

    db.run_write(fn)


def get_model_version_download_uri(db: Database, name: str, version: int) -> str:
    """The storage location of a live version."""
    with db.read() as conn:
        _, row = fetch_version(conn, name, version)
        return str(row.storage_location)


def transition_model_version_stage(
    db: Database,
    name: str,
    version: int,
    stage: ModelStage,
    *,
    archive_existing_versions: bool,
    user_id: str | None,
) -> ModelVersion:
    """Move a version to a stage (and the others in it to Archived if asked); one transaction."""
    target = ModelStage(stage).value

    def fn(conn: Connection) -> ModelVersion:
        stmts = statements(conn)
        model = fetch_model(conn, name, for_update=True)
        model_id, model_name = model.id, model.name
        found = rawsql.fetch_one(conn, stmts.live_version, (model_id, version))
        if found is None:
            raise version_not_found(name, version)
        row = VersionRecord(*found)
        now = now_ms()
        # Already there: nothing to record for this version (a retried CI step is a no-op),
        # though archive_existing_versions still archives the others in that stage.
        changed = row.stage != target
        if changed:
            rawsql.run(conn, stmts.set_stage, (target, now, row.id))
            append_event(
                conn,
                RegistryEventKind.STAGE_TRANSITIONED,
                model_id=model_id,
                model_name=model_name,
                user_id=user_id,
                version=version,
                from_stage=row.stage,
                to_stage=target,
                time=now,
            )
        if archive_existing_versions:
            others = rawsql.fetch_all(
                conn, stmts.others_in_stage_locked, (model_id, target, row.id)
            )
            archived = ModelStage.ARCHIVED.value
            for chunk in chunks([other_id for other_id, _ in others]):
                sql = stmts.archive_in + ", ".join([stmts.marker] * len(chunk)) + ")"
                rawsql.run(conn, sql, (archived, now, *chunk))
            append_events(
                conn,
                [
                    event_params(
                        RegistryEventKind.STAGE_TRANSITIONED,
                        model_id=model_id,
                        model_name=model_name,
                        user_id=user_id,
                        version=number,
                        from_stage=target,
                        to_stage=archived,
                        time=now,
                    )
                    for _, number in others
                ],
            )
            changed = changed or bool(others)
        if changed:
            rawsql.run(conn, stmts.touch_model, (now, model_id))
        # Re-read: the version row is not locked, so its other columns may have moved.
        current = rawsql.fetch_one(conn, stmts.version_by_id, (row.id,))
        assert current is not None  # the model row is locked: the version cannot go
        return version_entity(conn, VersionRecord(*current), model_name)

    return db.run_write(fn)


def list_model_version_files(db: Database, name: str, version: int) -> list[ModelFile]:
    """The files recorded at registration, sorted by path."""
    with db.read() as conn:
        _, row = fetch_version(conn, name, version)
        files = conn.execute(
            select(FILES.c.path, FILES.c.size, FILES.c.sha256).where(FILES.c.version_id == row.id)
        ).all()
    return sorted((ModelFile(p, int(s), h) for p, s, h in files), key=lambda f: f.path)


__all__ = [
    "create_model_version",
    "delete_model_version",
    "delete_model_version_tag",
    "get_model_version",
    "get_model_version_download_uri",
    "latest_version_rows",
    "list_model_version_files",
    "search_model_versions",
    "set_model_version_tag",
    "transition_model_version_stage",
    "update_model_version",
]
