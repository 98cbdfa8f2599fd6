"""Shared pieces of the SQL registry: tables, row lookups that raise the right NOT_FOUND, row ->
entity conversion with tags and aliases loaded in bulk, and the event append."""

from __future__ import annotations

import hashlib
from collections import namedtuple
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect, Row, Table, and_, bindparam, false, func, select

from modelyard.entities.model_registry import (
    ModelStage,
    ModelVersion,
    RegisteredModel,
    RegistryEvent,
    RegistryEventKind,
    SignatureMetadata,
    event_kind_from_number,
    event_kind_number,
)
from modelyard.errors import ModelVersionNotFound, RegisteredModelNotFound
from modelyard.registry import engine as rawsql
from modelyard.registry.schema import (
    TAG_VALUE_PREFIX_LENGTH,
    ModelVersionFileRow,
    ModelVersionRow,
    ModelVersionTagRow,
    RegisteredModelAliasRow,
    RegisteredModelRow,
    RegisteredModelTagRow,
    RegistryEventRow,
    RunRow,
)
from modelyard.registry.tracking.runs import now_ms

MODELS: Table = RegisteredModelRow.__table__  # type: ignore[assignment]
MODEL_TAGS: Table = RegisteredModelTagRow.__table__  # type: ignore[assignment]
VERSIONS: Table = ModelVersionRow.__table__  # type: ignore[assignment]
VERSION_TAGS: Table = ModelVersionTagRow.__table__  # type: ignore[assignment]
FILES: Table = ModelVersionFileRow.__table__  # type: ignore[assignment]
ALIASES: Table = RegisteredModelAliasRow.__table__  # type: ignore[assignment]
EVENTS: Table = RegistryEventRow.__table__  # type: ignore[assignment]

_IN_CHUNK = 1000
#: A version that is not deleted (the index-friendly spelling on every dialect).
LIVE = VERSIONS.c.deleted == false()
_STAGES = {s.value: s for s in ModelStage}

__all__ = [
    "ALIASES",
    "EVENTS",
    "FILES",
    "LIVE",
    "MODELS",
    "MODEL_TAGS",
    "VERSIONS",
    "VERSION_COLUMNS",
    "VERSION_INSERT_COLUMNS",
    "VERSION_TAGS",
    "ModelRef",
    "Statements",
    "VersionRecord",
    "append_event",
    "append_events",
    "chunks",
    "event_params",
    "fetch_model",
    "fetch_version",
    "insert_returning_id",
    "now_ms",
    "storage_key",
    "tag_prefix",
    "to_event",
    "to_models",
    "to_versions",
    "version_entity",
]


#: The columns of model_versions, in table order (the order of a VersionRecord).
VERSION_COLUMNS: tuple[str, ...] = tuple(c.name for c in VERSIONS.columns)
#: A model_versions row read with prebuilt SQL (attribute access like a SQLAlchemy Row).
VersionRecord = namedtuple("VersionRecord", VERSION_COLUMNS)  # type: ignore[misc]
#: The columns an INSERT of a version sets (all but the autoincrement id), in table order.
VERSION_INSERT_COLUMNS: tuple[str, ...] = tuple(c for c in VERSION_COLUMNS if c != "id")
_EVENT_COLUMNS = (
    "kind",
    "time",
    "user_id",
    "model_id",
    "model_name",
    "version",
    "from_stage",
    "to_stage",
    "alias",
    "previous_version",
    "new_model_name",
)
_STATEMENTS: dict[str, Statements] = {}


@dataclass(frozen=True, slots=True)
class Statements:
    """The registry's hot-path SQL for one dialect, built once (positional markers).

    Run with `modelyard.registry.engine` (`run`, `run_many`, `fetch_one`, `fetch_all`).
    """

    marker: str
    returning_id: bool
    """True where an INSERT reports its new id with RETURNING (PostgreSQL), not lastrowid."""
    model_by_name: str
    model_by_name_locked: str
    model_name_by_id: str
    bump_last_version: str
    model_counter: str
    touch_model: str
    run_artifact_uri: str
    insert_version: str
    version_by_id: str
    version_by_id_locked: str
    live_version: str
    """A live version row by model id and number."""
    set_stage: str
    others_in_stage_locked: str
    archive_in: str
    """UPDATE of stage and time WHERE id IN (: append one marker per id and a closing ")"."""
    mark_ready: str
    mark_failed: str
    insert_file: str
    insert_version_tag: str
    version_tags: str
    version_aliases: str
    alias_version: str
    insert_alias: str
    update_alias: str
    insert_event: str

    @classmethod
    def for_dialect(cls, dialect: Dialect) -> Statements:
        """Build the statements for a dialect (sqlite, postgresql, mysql or mariadb)."""
        family = dialect.name
        q = dialect.identifier_preparer.quote
        m = "?" if family == "sqlite" else "%s"
        lock = "" if family == "sqlite" else " FOR UPDATE"
        live = f"{q('deleted')} = {false().compile(dialect=dialect)}"
        models = q(MODELS.name)
        versions = q(VERSIONS.name)
        aliases = q(ALIASES.name)
        version_cols = ", ".join(q(c) for c in VERSION_COLUMNS)

        def assign(*columns: str) -> str:
            return ", ".join(f"{q(c)} = {m}" for c in columns)

        def values(columns: Sequence[str]) -> str:
            return f"({', '.join(q(c) for c in columns)}) VALUES ({', '.join([m] * len(columns))})"

        return cls(
            marker=m,
            returning_id=family == "postgresql",
            model_by_name=f"SELECT {q('id')}, {q('name')} FROM {models} WHERE {q('name')} = {m}",
            model_by_name_locked=(
                f"SELECT {q('id')}, {q('name')} FROM {models} WHERE {q('name')} = {m}{lock}"
            ),
            model_name_by_id=f"SELECT {q('name')} FROM {models} WHERE {q('id')} = {m}",
            bump_last_version=(
                f"UPDATE {models} SET {q('last_version')} = {q('last_version')} + 1, "
                f"{assign('last_update_time')} WHERE {q('name')} = {m}"
            ),
            model_counter=(
                f"SELECT {q('id')}, {q('last_version')} FROM {models} WHERE {q('name')} = {m}"
            ),
            touch_model=f"UPDATE {models} SET {assign('last_update_time')} WHERE {q('id')} = {m}",
            run_artifact_uri=(
                f"SELECT {q('artifact_uri')} FROM {q(RunRow.__tablename__)} "
                f"WHERE {q('run_uuid')} = {m}"
            ),
            insert_version=(
                f"INSERT INTO {versions} {values(VERSION_INSERT_COLUMNS)}"
                + (f" RETURNING {q('id')}" if family == "postgresql" else "")
            ),
            version_by_id=f"SELECT {version_cols} FROM {versions} WHERE {q('id')} = {m}",
            version_by_id_locked=(
                f"SELECT {version_cols} FROM {versions} WHERE {q('id')} = {m}{lock}"
            ),
            live_version=(
                f"SELECT {version_cols} FROM {versions} "
                f"WHERE {q('model_id')} = {m} AND {q('version')} = {m} AND {live}"
            ),
            set_stage=(
                f"UPDATE {versions} SET {assign('stage', 'last_update_time')} WHERE {q('id')} = {m}"
            ),
            others_in_stage_locked=(
                f"SELECT {q('id')}, {q('version')} FROM {versions} "
                f"WHERE {q('model_id')} = {m} AND {q('stage')} = {m} AND {q('id')} != {m} "
                f"AND {live} ORDER BY {q('version')}{lock}"
            ),
            archive_in=(
                f"UPDATE {versions} SET {assign('stage', 'last_update_time')} WHERE {q('id')} IN ("
            ),
            mark_ready=(
                f"UPDATE {versions} SET "
                + assign(
                    "status",
                    "signature_inputs",
                    "signature_outputs",
                    "signature_params",
                    "input_example_path",
                    "file_count",
                    "content_digest",
                    "last_update_time",
                )
                + f" WHERE {q('id')} = {m}"
            ),
            mark_failed=(
                f"UPDATE {versions} SET "
                f"{assign('status', 'status_message', 'last_update_time')} WHERE {q('id')} = {m}"
            ),
            insert_file=(
                f"INSERT INTO {q(FILES.name)} {values(('version_id', 'path', 'size', 'sha256'))}"
            ),
            insert_version_tag=(
                f"INSERT INTO {q(VERSION_TAGS.name)} "
                f"{values(('version_id', 'key', 'value', 'value_prefix'))}"
            ),
            version_tags=(
                f"SELECT {q('key')}, {q('value')} FROM {q(VERSION_TAGS.name)} "
                f"WHERE {q('version_id')} = {m}"
            ),
            version_aliases=(
                f"SELECT {q('alias')} FROM {aliases} "
                f"WHERE {q('model_id')} = {m} AND {q('version')} = {m}"
            ),
            alias_version=(
                f"SELECT {q('version')} FROM {aliases} "
                f"WHERE {q('model_id')} = {m} AND {q('alias')} = {m}"
            ),
            insert_alias=f"INSERT INTO {aliases} {values(('model_id', 'alias', 'version'))}",
            update_alias=(
                f"UPDATE {aliases} SET {assign('version')} "
                f"WHERE {q('model_id')} = {m} AND {q('alias')} = {m}"
            ),
            insert_event=f"INSERT INTO {q(EVENTS.name)} {values(_EVENT_COLUMNS)}",
        )


def statements(conn: Connection) -> Statements:
    """The hot-path statements of a connection's dialect (built on first use)."""
    stmts = _STATEMENTS.get(conn.dialect.name)
    if stmts is None:
        stmts = _STATEMENTS[conn.dialect.name] = Statements.for_dialect(conn.dialect)
    return stmts


def insert_returning_id(
    conn: Connection, stmts: Statements, sql: str, params: Sequence[Any]
) -> int:
    """Run an INSERT of one row (built with RETURNING id where the dialect needs it); its id."""
    if stmts.returning_id:
        row = rawsql.fetch_one(conn, sql, params)
        assert row is not None
        return int(row[0])
    cur = rawsql.execute(conn, sql, params)
    try:
        return int(cur.lastrowid)
    finally:
        cur.close()


def chunks(values: Sequence[Any], size: int = _IN_CHUNK) -> list[list[Any]]:
    """The values in IN-list sized chunks."""
    items = list(values)
    return [items[i : i + size] for i in range(0, len(items), size)]


def storage_key(location: str) -> str:
    """The indexed key of a storage location: SHA-256 hex of it without trailing slashes."""
    trimmed = location.rstrip("/") or location
    return hashlib.sha256(trimmed.encode("utf-8")).hexdigest()


def tag_prefix(value: str) -> str:
    """The indexed prefix of a version tag value."""
    return value[:TAG_VALUE_PREFIX_LENGTH]


def model_not_found(name: str) -> RegisteredModelNotFound:
    """The error for an unknown model name."""
    return RegisteredModelNotFound(f"Registered Model with name={name!r} not found", name=name)


def version_not_found(name: str, version: int) -> ModelVersionNotFound:
    """The error for an unknown or deleted version."""
    return ModelVersionNotFound(
        f"Model Version (name={name!r}, version={version}) not found", name=name, version=version
    )


@dataclass(frozen=True, slots=True)
class ModelRef:
    """The id and name of a registered model."""

    id: int
    name: str


def fetch_model(conn: Connection, name: str, *, for_update: bool = False) -> ModelRef:
    """The model's id and name by name (its row locked if asked), with the prebuilt SQL.

    Raises:
        RegisteredModelNotFound: unknown name.
    """
    stmts = statements(conn)
    sql = stmts.model_by_name_locked if for_update else stmts.model_by_name
    row = rawsql.fetch_one(conn, sql, (name,))
    if row is None:
        raise model_not_found(name)
    return ModelRef(int(row[0]), str(row[1]))


def fetch_version(
    conn: Connection, name: str, version: int, *, for_update: bool = False
) -> tuple[ModelRef, Row[Any]]:
    """(model, live version row) by name and number, in one query.

    With `for_update` only the version row is locked (lock the model row first, with
    `fetch_model`, where both are needed: that is the order every writer takes them in).

    Raises:
        ModelVersionNotFound: unknown model, unknown or deleted version.
    """
    stmt = (
        select(VERSIONS, MODELS.c.name.label("model_name"))
        .join(MODELS, MODELS.c.id == VERSIONS.c.model_id)
        .where(MODELS.c.name == name, VERSIONS.c.version == version, LIVE)
    )
    if for_update:
        stmt = stmt.with_for_update(of=VERSIONS)
    row = conn.execute(stmt).first()
    if row is None:
        raise version_not_found(name, version)
    return ModelRef(int(row.model_id), str(row.model_name)), row


def event_params(
    kind: RegistryEventKind,
    *,
    model_id: int,
    model_name: str,
    user_id: str | None,
    time: int | None = None,
    version: int | None = None,
    from_stage: str | None = None,
    to_stage: str | None = None,
    alias: str | None = None,
    previous_version: int | None = None,
    new_model_name: str | None = None,
) -> tuple[Any, ...]:
    """The parameters of one event row for `Statements.insert_event` (see `append_events`)."""
    return (
        event_kind_number(kind),
        now_ms() if time is None else time,
        user_id,
        model_id,
        model_name,
        version,
        from_stage,
        to_stage,
        alias,
        previous_version,
        new_model_name,
    )


def append_events(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Append event rows (built by `event_params`), in order, in the caller's transaction."""
    if rows:
        rawsql.run_many(conn, statements(conn).insert_event, rows)


def append_event(
    conn: Connection,
    kind: RegistryEventKind,
    *,
    model_id: int,
    model_name: str,
    user_id: str | None,
    time: int | None = None,
    version: int | None = None,
    from_stage: str | None = None,
    to_stage: str | None = None,
    alias: str | None = None,
    previous_version: int | None = None,
    new_model_name: str | None = None,
) -> None:
    """Append one event row in the caller's transaction."""
    params = event_params(
        kind,
        model_id=model_id,
        model_name=model_name,
        user_id=user_id,
        time=time,
        version=version,
        from_stage=from_stage,
        to_stage=to_stage,
        alias=alias,
        previous_version=previous_version,
        new_model_name=new_model_name,
    )
    rawsql.run(conn, statements(conn).insert_event, params)


def to_event(row: Row[Any]) -> RegistryEvent:
    """An event row as the domain type."""
    return RegistryEvent(
        event_id=int(row.id),
        kind=event_kind_from_number(int(row.kind)),
        time=int(row.time),
        user_id=row.user_id,
        model_name=row.model_name,
        version=row.version,
        from_stage=row.from_stage,
        to_stage=row.to_stage,
        alias=row.alias,
        previous_version=row.previous_version,
        new_model_name=row.new_model_name,
        user_verified=False,
    )


def _signature(row: Any) -> SignatureMetadata | None:
    parts = (row.signature_inputs, row.signature_outputs, row.signature_params)
    if all(p is None for p in parts):
        return None
    return SignatureMetadata(*parts)


def _version(row: Any, name: str, tags: dict[str, str], aliases: list[str]) -> ModelVersion:
    return ModelVersion(
        name=name,
        version=int(row.version),
        creation_timestamp=int(row.creation_time),
        last_updated_timestamp=int(row.last_update_time),
        user_id=row.user_id,
        current_stage=_STAGES.get(row.stage) or ModelStage(row.stage),
        description=row.description,
        source=row.source,
        run_id=row.run_id,
        run_link=row.run_link,
        status=row.status,
        status_message=row.status_message,
        tags=tags,
        aliases=sorted(aliases),
        storage_location=row.storage_location,
        signature=_signature(row),
        input_example_path=row.input_example_path,
        file_count=int(row.file_count),
        content_digest=row.content_digest,
    )


def _ids() -> Any:
    """An expanding IN-list parameter named "ids" (run with {"ids": [...]})."""
    return bindparam("ids", expanding=True)


# The bulk loads below run on every read of models and versions: built once, not per call.
_MODEL_NAMES_IN = select(MODELS.c.id, MODELS.c.name).where(MODELS.c.id.in_(_ids()))
_MODEL_TAGS_IN = select(MODEL_TAGS.c.model_id, MODEL_TAGS.c.key, MODEL_TAGS.c.value).where(
    MODEL_TAGS.c.model_id.in_(_ids())
)
_VERSION_TAGS_IN = select(
    VERSION_TAGS.c.version_id, VERSION_TAGS.c.key, VERSION_TAGS.c.value
).where(VERSION_TAGS.c.version_id.in_(_ids()))
_ALIASES_IN = select(ALIASES.c.model_id, ALIASES.c.alias, ALIASES.c.version).where(
    ALIASES.c.model_id.in_(_ids())
)
_BEST = (
    select(
        VERSIONS.c.model_id.label("m"),
        VERSIONS.c.stage.label("s"),
        func.max(VERSIONS.c.version).label("v"),
    )
    .where(VERSIONS.c.model_id.in_(_ids()), LIVE)
    .group_by(VERSIONS.c.model_id, VERSIONS.c.stage)
    .subquery()
)
_LATEST_IN = select(VERSIONS).join(
    _BEST, and_(VERSIONS.c.model_id == _BEST.c.m, VERSIONS.c.version == _BEST.c.v)
)
_STAGE_ORDER = {s.value: i for i, s in enumerate(ModelStage)}


def _model_aliases(conn: Connection, model_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """model id -> {alias: version number}."""
    out: dict[int, dict[str, int]] = {i: {} for i in model_ids}
    for chunk in chunks(model_ids):
        for model_id, alias, number in conn.execute(_ALIASES_IN, {"ids": chunk}):
            out[model_id][alias] = int(number)
    return out


def _to_versions(
    conn: Connection,
    rows: Sequence[Row[Any]],
    names: dict[int, str] | None,
    model_aliases: dict[int, dict[str, int]],
) -> list[ModelVersion]:
    """`to_versions` with the aliases of the rows' models already loaded."""
    if not rows:
        return []
    names = dict(names or {})
    missing = sorted({r.model_id for r in rows} - set(names))
    for chunk in chunks(missing):
        for model_id, name in conn.execute(_MODEL_NAMES_IN, {"ids": chunk}):
            names[model_id] = name
    tags: dict[int, dict[str, str]] = {r.id: {} for r in rows}
    for chunk in chunks(list(tags)):
        for version_id, key, value in conn.execute(_VERSION_TAGS_IN, {"ids": chunk}):
            tags[version_id][key] = value
    aliases: dict[tuple[int, int], list[str]] = {}
    for model_id, found in model_aliases.items():
        for alias, number in found.items():
            aliases.setdefault((model_id, number), []).append(alias)
    return [
        _version(r, names[r.model_id], tags[r.id], aliases.get((r.model_id, r.version), []))
        for r in rows
    ]


def to_versions(
    conn: Connection, rows: Sequence[Row[Any]], names: dict[int, str] | None = None
) -> list[ModelVersion]:
    """Version rows as entities, with their tags and aliases (loaded in bulk).

    `names` maps model id -> name; models missing from it are looked up.
    """
    if not rows:
        return []
    return _to_versions(conn, rows, names, _model_aliases(conn, sorted({r.model_id for r in rows})))


def latest_version_rows(conn: Connection, model_ids: Sequence[int]) -> dict[int, list[Row[Any]]]:
    """model id -> the highest non-deleted version row of each stage, ordered by stage."""
    out: dict[int, list[Row[Any]]] = {m: [] for m in model_ids}
    for chunk in chunks(list(model_ids)):
        for row in conn.execute(_LATEST_IN, {"ids": chunk}):
            out[row.model_id].append(row)
    for rows in out.values():
        rows.sort(key=lambda r: _STAGE_ORDER.get(r.stage, len(_STAGE_ORDER)))
    return out


def to_models(conn: Connection, rows: Sequence[Row[Any]]) -> list[RegisteredModel]:
    """Model rows as entities, with tags, aliases and latest versions (loaded in bulk)."""
    if not rows:
        return []
    ids = [r.id for r in rows]
    names = {r.id: r.name for r in rows}
    tags: dict[int, dict[str, str]] = {i: {} for i in ids}
    for chunk in chunks(ids):
        for model_id, key, value in conn.execute(_MODEL_TAGS_IN, {"ids": chunk}):
            tags[model_id][key] = value
    aliases = _model_aliases(conn, ids)
    latest = latest_version_rows(conn, ids)
    flat = [row for i in ids for row in latest[i]]
    versions = iter(_to_versions(conn, flat, names, aliases))
    latest_entities = {i: [next(versions) for _ in latest[i]] for i in ids}
    return [
        RegisteredModel(
            name=r.name,
            creation_timestamp=int(r.creation_time),
            last_updated_timestamp=int(r.last_update_time),
            user_id=r.user_id,
            description=r.description,
            tags=tags[r.id],
            aliases=dict(sorted(aliases[r.id].items())),
            latest_versions=latest_entities[r.id],
        )
        for r in rows
    ]


def version_entity(conn: Connection, row: VersionRecord, name: str) -> ModelVersion:
    """One version row (read with prebuilt SQL) as an entity, with its tags and aliases."""
    stmts = statements(conn)
    tags = dict(rawsql.fetch_all(conn, stmts.version_tags, (row.id,)))
    found = rawsql.fetch_all(conn, stmts.version_aliases, (row.model_id, row.version))
    aliases = [alias for (alias,) in found]
    return _version(row, name, tags, aliases)
