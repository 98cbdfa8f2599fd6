"""Schema bootstrap: create a missing database at head, refuse an outdated one, upgrade on demand.

`ensure_schema` runs when a store opens (an explicit step of the factory, never a constructor
side effect); `upgrade_database` backs `modelyard db upgrade <url>`. Both hold a lock while they
look at and change the schema, so several processes starting at once initialise it only once:
a file lock next to a SQLite file, `pg_advisory_lock` on PostgreSQL, `GET_LOCK` on MySQL.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, insert, inspect, select

from modelyard.artifact_uris import join_artifact_uri
from modelyard.errors import SchemaOutdated
from modelyard.registry.engine import (
    Database,
    acquire_database,
    open_database,
    release_database,
    sqlite_file,
)
from modelyard.registry.schema import Base, ExperimentRow, SettingRow

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
DEFAULT_EXPERIMENT_ID = 0
DEFAULT_EXPERIMENT_NAME = "Default"
PAGE_TOKEN_SECRET_KEY = "page_token_secret"
_PG_LOCK_KEY = 0x6D6F64656C796172  # "modelyar"
_LOCK_TIMEOUT_S = 600


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic Config for modelyard's migrations, optionally bound to a connection."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@cache
def head_revision() -> str:
    """The newest migration revision this version of modelyard knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


@cache
def _known_revisions() -> frozenset[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return frozenset(rev.revision for rev in script.walk_revisions())


def resolve_artifact_root(root: str | None) -> str:
    """The artifact root for new experiments: the given one, or file://<cwd>/mlartifacts."""
    if not root:
        root = Path.cwd().joinpath("mlartifacts").resolve().as_uri()
    return root


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _state(conn: Connection) -> tuple[str, str | None]:
    """("fresh" | "head" | "outdated" | "newer" | "foreign" | "unversioned", current revision).

    "foreign": an Alembic revision modelyard does not know on a database without modelyard's
    tables, which is another application's (an MLflow tracking database, typically).
    """
    current = MigrationContext.configure(conn).get_current_revision()
    ours = set(Base.metadata.tables)
    if current is not None:
        if current == head_revision():
            return "head", current
        if current in _known_revisions():
            return "outdated", current
        if ours <= set(inspect(conn).get_table_names()):
            return "newer", current
        return "foreign", current
    present = set(inspect(conn).get_table_names())
    return ("unversioned" if present & ours else "fresh"), None


def _refuse(db: Database, state: str, current: str | None) -> SchemaOutdated:
    url = db.display_url
    if state == "newer":
        return SchemaOutdated(
            f"the database {url} is at schema revision {current!r}, which is newer than this "
            f"version of modelyard knows (head {head_revision()!r}); upgrade modelyard",
            revision=current,
        )
    if state == "foreign":
        return SchemaOutdated(
            f"the database {url} belongs to another application: it is at Alembic revision "
            f"{current!r}, which is not one of modelyard's, and it lacks modelyard's tables (an "
            "MLflow tracking database looks like this). modelyard neither reads nor changes it: "
            "give modelyard a database of its own",
            revision=current,
        )
    if state == "unversioned":
        return SchemaOutdated(
            f"the database {url} has modelyard tables but no alembic_version table; it was not "
            f"created by modelyard's migrations. Restore it or run `modelyard db upgrade {url}` "
            "on a copy after stamping it",
        )
    return SchemaOutdated(
        f"the database {url} is at schema revision {current!r} but this version of modelyard "
        f"needs {head_revision()!r}; take a backup and run `modelyard db upgrade {url}`",
        revision=current,
        head=head_revision(),
    )


@contextmanager
def _schema_lock(db: Database, conn: Connection) -> Iterator[None]:
    """Hold the database-wide bootstrap lock (file lock, advisory lock or GET_LOCK)."""
    if db.family == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_lock({_PG_LOCK_KEY})")
        conn.commit()
        try:
            yield
        finally:
            conn.rollback()
            conn.exec_driver_sql(f"SELECT pg_advisory_unlock({_PG_LOCK_KEY})")
            conn.commit()
        return
    if db.family == "mysql":
        name = f"modelyard.bootstrap.{db.url.database}"[:64]
        got = conn.exec_driver_sql("SELECT GET_LOCK(%s, %s)", (name, _LOCK_TIMEOUT_S)).scalar()
        conn.commit()
        if got != 1:
            raise SchemaOutdated(f"could not take the schema lock {name!r} on {db.display_url}")
        try:
            yield
        finally:
            conn.rollback()
            conn.exec_driver_sql("SELECT RELEASE_LOCK(%s)", (name,))
            conn.commit()
        return
    path = sqlite_file(db.url)
    if path is None:
        yield
        return
    with _file_lock(path.with_name(path.name + ".lock")):
        yield


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on a file (fcntl on POSIX, msvcrt on Windows)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if os.name == "nt":  # pragma: no cover - exercised on Windows only
            import msvcrt

            while True:
                try:
                    msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                    break
                except OSError:
                    time.sleep(0.05)
            try:
                yield
            finally:
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _upgrade(conn: Connection) -> None:
    command.upgrade(alembic_config(conn), "head")


def _insert_default_experiment(db: Database, conn: Connection, root: str) -> None:
    now = _now_ms()
    stmt = insert(ExperimentRow.__table__).values(
        experiment_id=DEFAULT_EXPERIMENT_ID,
        name=DEFAULT_EXPERIMENT_NAME,
        artifact_location=join_artifact_uri(root, str(DEFAULT_EXPERIMENT_ID)),
        lifecycle_stage="active",
        creation_time=now,
        last_update_time=now,
    )
    if db.family != "mysql":
        conn.execute(stmt)
        return
    mode = conn.exec_driver_sql("SELECT @@SESSION.sql_mode").scalar()
    conn.exec_driver_sql(
        "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), "
        "'NO_AUTO_VALUE_ON_ZERO')"
    )
    try:
        conn.execute(stmt)
    finally:
        conn.exec_driver_sql("SET SESSION sql_mode = %s", (mode or "",))


def _ensure_secret(conn: Connection) -> None:
    table = SettingRow.__table__
    exists = conn.execute(
        select(table.c.value).where(table.c.key == PAGE_TOKEN_SECRET_KEY)
    ).scalar()
    if exists is None:
        conn.execute(insert(table).values(key=PAGE_TOKEN_SECRET_KEY, value=secrets.token_hex(32)))


def _create_fresh(db: Database, conn: Connection, root: str) -> None:
    _upgrade(conn)
    _insert_default_experiment(db, conn, root)
    _ensure_secret(conn)


def _has_secret(conn: Connection) -> bool:
    table = SettingRow.__table__
    query = select(table.c.value).where(table.c.key == PAGE_TOKEN_SECRET_KEY)
    return conn.execute(query).scalar() is not None


def ensure_schema(db: Database, artifact_root: str | None = None) -> None:
    """Create a missing or empty database at head; refuse one at another revision.

    Raises:
        SchemaOutdated: the database is at an older (or unknown) revision, or unversioned.
    """
    with db.read() as conn:
        state, _ = _state(conn)
        if state == "head" and _has_secret(conn):
            return
    # Decide again under the lock: another process may be creating the schema right now
    # (on MySQL its DDL is visible before it finishes).
    root = resolve_artifact_root(artifact_root)
    with db.connect(write=True) as conn, _schema_lock(db, conn), conn.begin():
        state, current = _state(conn)
        if state == "fresh":
            _create_fresh(db, conn, root)
        elif state == "head":
            _ensure_secret(conn)
        else:
            raise _refuse(db, state, current)


def upgrade_database(uri: str, default_artifact_root: str | None = None) -> str:
    """Bring a database to the head revision (creating it if empty); return the head.

    Raises:
        SchemaOutdated: the database is newer than this modelyard, or was not made by it.
    """
    db = open_database(uri)
    root = resolve_artifact_root(default_artifact_root)
    try:
        with db.connect(write=True) as conn, _schema_lock(db, conn), conn.begin():
            state, current = _state(conn)
            if state == "fresh":
                _create_fresh(db, conn, root)
            elif state in ("head", "outdated"):
                if state == "outdated":
                    _upgrade(conn)
                _ensure_secret(conn)
            else:
                raise _refuse(db, state, current)
    finally:
        db.dispose()
    return head_revision()


def page_token_secret(conn: Connection) -> bytes:
    """The database-wide key that signs page tokens (shared by every server replica)."""
    table = SettingRow.__table__
    value = conn.execute(
        select(table.c.value).where(table.c.key == PAGE_TOKEN_SECRET_KEY)
    ).scalar_one()
    return bytes.fromhex(value)


def open_metadata_database(
    uri: str, extra: dict[str, object], default_artifact_root: str | None
) -> tuple[Database, bytes]:
    """The shared Database of a URI with its schema at head, and the page-token secret.

    Give the Database back with `release_database` when the store using it closes.

    Raises:
        SchemaOutdated: the database is at another revision; run `modelyard db upgrade <url>`.
        Unavailable: the database cannot be reached.
    """
    db = acquire_database(uri, dict(extra))
    try:
        ensure_schema(db, default_artifact_root)
        with db.read() as conn:
            secret = page_token_secret(conn)
    except BaseException:
        release_database(db)
        raise
    return db, secret
