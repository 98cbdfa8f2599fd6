"""Registered models: create, read, rename, describe, delete (hard, events stay), tags, search,
latest versions per stage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from modelyard.entities import PagedList
from modelyard.entities.model_registry import (
    ModelStage,
    ModelVersion,
    RegisteredModel,
    RegistryEventKind,
)
from modelyard.errors import RegisteredModelAlreadyExists
from modelyard.registry.engine import Database
from modelyard.registry.model_registry.common import (
    ALIASES,
    FILES,
    MODEL_TAGS,
    MODELS,
    VERSION_TAGS,
    VERSIONS,
    append_event,
    fetch_model,
    latest_version_rows,
    model_not_found,
    now_ms,
    to_models,
    to_versions,
)
from modelyard.registry.search import PageTokens, query_fingerprint
from modelyard.registry.search.model_registry import registered_model_search_statement
from modelyard.registry.tracking.idempotency import run_idempotent
from modelyard.registry.tracking.upserts import replace_statement

KIND_MODEL = "registered_model"


def _taken(name: str) -> RegisteredModelAlreadyExists:
    return RegisteredModelAlreadyExists(
        f"Registered Model (name={name!r}) already exists", name=name
    )


def create_registered_model(
    db: Database,
    name: str,
    *,
    tags: Mapping[str, str] | None,
    description: str | None,
    user_id: str | None,
    request_id: str | None,
) -> RegisteredModel:
    """Create a model (idempotent with request_id).

    Raises:
        RegisteredModelAlreadyExists: the name is taken.
    """

    def fn(conn: Connection) -> str:
        now = now_ms()
        result = conn.execute(
            insert(MODELS).values(
                name=name,
                description=description,
                user_id=user_id,
                creation_time=now,
                last_update_time=now,
                last_version=0,
            )
        )
        model_id = int(result.inserted_primary_key[0])
        if tags:
            conn.execute(
                insert(MODEL_TAGS),
                [{"model_id": model_id, "key": k, "value": v} for k, v in tags.items()],
            )
        append_event(
            conn,
            RegistryEventKind.MODEL_CREATED,
            model_id=model_id,
            model_name=name,
            user_id=user_id,
            time=now,
        )
        return str(model_id)

    try:
        model_id, _ = run_idempotent(db, KIND_MODEL, request_id, fn)
    except IntegrityError as exc:
        raise _taken(name) from exc
    with db.read() as conn:
        row = conn.execute(select(MODELS).where(MODELS.c.id == int(model_id))).first()
        if row is None:  # created, then deleted before a replay
            raise model_not_found(name)
        return to_models(conn, [row])[0]


def get_registered_model(db: Database, name: str) -> RegisteredModel:
    """A model with tags, aliases and latest versions.

    Raises:
        RegisteredModelNotFound: unknown name.
    """
    with db.read() as conn:
        row = conn.execute(select(MODELS).where(MODELS.c.name == name)).first()
        if row is None:
            raise model_not_found(name)
        return to_models(conn, [row])[0]


def rename_registered_model(
    db: Database, name: str, new_name: str, *, user_id: str | None
) -> RegisteredModel:
    """Rename a model; versions, aliases and history follow (they refer to its id).

    Raises:
        RegisteredModelNotFound: unknown name.
        RegisteredModelAlreadyExists: new_name is taken.
    """

    def fn(conn: Connection) -> None:
        model = fetch_model(conn, name, for_update=True)
        if new_name == name:
            return
        now = now_ms()
        conn.execute(
            update(MODELS)
            .where(MODELS.c.id == model.id)
            .values(name=new_name, last_update_time=now)
        )
        conn.execute(
            update(VERSIONS).where(VERSIONS.c.model_id == model.id).values(last_update_time=now)
        )
        append_event(
            conn,
            RegistryEventKind.MODEL_RENAMED,
            model_id=model.id,
            model_name=name,
            new_model_name=new_name,
            user_id=user_id,
            time=now,
        )

    try:
        db.run_write(fn)
    except IntegrityError as exc:
        raise _taken(new_name) from exc
    return get_registered_model(db, new_name)


def update_registered_model(db: Database, name: str, description: str | None) -> RegisteredModel:
    """Set a model's description (bumps its last update time)."""

    def fn(conn: Connection) -> None:
        model = fetch_model(conn, name, for_update=True)
        conn.execute(
            update(MODELS)
            .where(MODELS.c.id == model.id)
            .values(description=description, last_update_time=now_ms())
        )

    db.run_write(fn)
    return get_registered_model(db, name)


def delete_registered_model(db: Database, name: str, *, user_id: str | None) -> None:
    """Hard-delete a model, its versions, tags, aliases and files; its events stay."""

    def fn(conn: Connection) -> None:
        model = fetch_model(conn, name, for_update=True)
        version_ids = select(VERSIONS.c.id).where(VERSIONS.c.model_id == model.id)
        conn.execute(delete(FILES).where(FILES.c.version_id.in_(version_ids)))
        conn.execute(delete(VERSION_TAGS).where(VERSION_TAGS.c.version_id.in_(version_ids)))
        conn.execute(delete(ALIASES).where(ALIASES.c.model_id == model.id))
        conn.execute(delete(VERSIONS).where(VERSIONS.c.model_id == model.id))
        conn.execute(delete(MODEL_TAGS).where(MODEL_TAGS.c.model_id == model.id))
        conn.execute(delete(MODELS).where(MODELS.c.id == model.id))
        append_event(
            conn,
            RegistryEventKind.MODEL_DELETED,
            model_id=model.id,
            model_name=name,
            user_id=user_id,
        )

    db.run_write(fn)


def search_registered_models(
    db: Database,
    tokens: PageTokens,
    *,
    filter_string: str,
    order_by: Sequence[str],
    max_results: int,
    page_token: str | None,
) -> PagedList[RegisteredModel]:
    """One page of models, filtered, ordered and paged in the database."""
    fingerprint = query_fingerprint("registered_models", filter_string or "", list(order_by))
    offset = tokens.decode(page_token, fingerprint)
    stmt = registered_model_search_statement(
        dialect_name=db.family, filter_string=filter_string or "", order_by=list(order_by)
    )
    stmt = stmt.limit(max_results + 1).offset(offset)
    with db.read() as conn:
        rows = conn.execute(stmt).all()
        page = to_models(conn, rows[:max_results])
    token = tokens.encode(offset + max_results, fingerprint) if len(rows) > max_results else None
    return PagedList(page, token)


def set_registered_model_tag(db: Database, name: str, key: str, value: str) -> None:
    """Upsert a model tag."""
    stmt = replace_statement(MODEL_TAGS, ("model_id", "key"), db.family)

    def fn(conn: Connection) -> None:
        model = fetch_model(conn, name)
        conn.execute(stmt, {"model_id": model.id, "key": key, "value": value})

    db.run_write(fn)


def delete_registered_model_tag(db: Database, name: str, key: str) -> None:
    """Delete a model tag; a missing tag is a no-op (the model must exist)."""

    def fn(conn: Connection) -> None:
        model = fetch_model(conn, name)
        conn.execute(
            delete(MODEL_TAGS).where(MODEL_TAGS.c.model_id == model.id, MODEL_TAGS.c.key == key)
        )

    db.run_write(fn)


def get_latest_versions(
    db: Database, name: str, stages: Sequence[ModelStage]
) -> list[ModelVersion]:
    """The highest non-deleted version of each given stage (every stage if none), by stage.

    Raises:
        RegisteredModelNotFound: unknown name.
    """
    wanted = {ModelStage(s).value for s in stages}
    with db.read() as conn:
        model = fetch_model(conn, name)
        rows = latest_version_rows(conn, [model.id])[model.id]
        rows = [r for r in rows if not wanted or r.stage in wanted]
        return to_versions(conn, rows, {model.id: model.name})
