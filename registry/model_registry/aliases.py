"""Aliases: set (a move is one ALIAS_SET event carrying the previous version), delete, resolve."""

from __future__ import annotations

from sqlalchemy import Connection, delete, update

from modelyard.entities.model_registry import ModelVersion, RegistryEventKind
from modelyard.errors import AliasNotFound
from modelyard.registry import engine as rawsql
from modelyard.registry.engine import Database
from modelyard.registry.model_registry.common import (
    ALIASES,
    MODELS,
    VersionRecord,
    append_event,
    fetch_model,
    now_ms,
    statements,
    version_entity,
    version_not_found,
)
from modelyard.registry.tracking.idempotency import write_retrying_conflicts


def set_registered_model_alias(
    db: Database, name: str, alias: str, version: int, *, user_id: str | None
) -> None:
    """Point an alias at a live version, moving it; unchanged aliases write nothing.

    Raises:
        RegisteredModelNotFound: unknown model.
        ModelVersionNotFound: unknown or deleted version.
    """

    def fn(conn: Connection) -> None:
        stmts = statements(conn)
        model = fetch_model(conn, name, for_update=True)
        model_id, model_name = model.id, model.name
        if rawsql.fetch_one(conn, stmts.live_version, (model_id, version)) is None:
            raise version_not_found(name, version)
        found = rawsql.fetch_one(conn, stmts.alias_version, (model_id, alias))
        previous = None if found is None else found[0]
        if previous == version:
            return
        if previous is None:
            rawsql.run(conn, stmts.insert_alias, (model_id, alias, version))
        else:
            rawsql.run(conn, stmts.update_alias, (version, model_id, alias))
        now = now_ms()
        rawsql.run(conn, stmts.touch_model, (now, model_id))
        append_event(
            conn,
            RegistryEventKind.ALIAS_SET,
            model_id=model_id,
            model_name=model_name,
            user_id=user_id,
            version=version,
            alias=alias,
            previous_version=previous,
            time=now,
        )

    write_retrying_conflicts(db, fn)


def delete_registered_model_alias(
    db: Database, name: str, alias: str, *, user_id: str | None
) -> None:
    """Remove an alias; a missing alias is a no-op (the model must exist)."""

    def fn(conn: Connection) -> None:
        model = fetch_model(conn, name, for_update=True)
        found = rawsql.fetch_one(conn, statements(conn).alias_version, (model.id, alias))
        if found is None:
            return
        previous = found[0]
        conn.execute(
            delete(ALIASES).where(ALIASES.c.model_id == model.id, ALIASES.c.alias == alias)
        )
        now = now_ms()
        conn.execute(update(MODELS).where(MODELS.c.id == model.id).values(last_update_time=now))
        append_event(
            conn,
            RegistryEventKind.ALIAS_DELETED,
            model_id=model.id,
            model_name=model.name,
            user_id=user_id,
            version=previous,
            alias=alias,
            previous_version=previous,
            time=now,
        )

    db.run_write(fn)


def get_model_version_by_alias(db: Database, name: str, alias: str) -> ModelVersion:
    """The live version an alias names.

    Raises:
        RegisteredModelNotFound: unknown model.
        AliasNotFound: the alias is not set.
    """
    with db.read() as conn:
        stmts = statements(conn)
        model = fetch_model(conn, name)
        found = rawsql.fetch_one(conn, stmts.alias_version, (model.id, alias))
        if found is None:
            raise AliasNotFound(
                f"Registered model alias {alias!r} of model {name!r} not found",
                name=name,
                alias=alias,
            )
        number = int(found[0])
        row = rawsql.fetch_one(conn, stmts.live_version, (model.id, number))
        if row is None:
            raise version_not_found(name, number)
        return version_entity(conn, VersionRecord(*row), model.name)
