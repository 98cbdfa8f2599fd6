"""Engines for the metadata database: SQLite pragmas and write locking, pools, error mapping.

`Database` wraps one SQLAlchemy engine with two kinds of transactions:

- `read()`: a plain (deferred) transaction; on SQLite in WAL mode it never waits for writers.
- `write()`: on SQLite it takes a process-wide lock for the database file and starts with
  ``BEGIN IMMEDIATE``, so parallel writers (threads and processes) queue on the busy timeout
  instead of failing with "database is locked"; on PostgreSQL and MySQL it is an ordinary
  transaction (READ COMMITTED on MySQL).

`run_write` retries a whole write transaction on deadlocks and serialization failures.
Database errors become domain errors: lost connections and timeouts → `Unavailable`.
`execute`, `run`, `run_many`, `fetch_one` and `fetch_all` run the write path's prebuilt SQL on
the driver's cursor, inside a SQLAlchemy transaction.
"""

from __future__ import annotations

import copy
import functools
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Executable, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import StaticPool

from modelyard.errors import InvalidArgument, Unavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 60_000
#: WAL pages (4 KiB) after which the committing writer checkpoints. SQLite's default of 1000
#: makes a batch-ingesting server checkpoint (two fsyncs, inside the write lock) every few
#: dozen batches; 4096 (a WAL of up to ~16 MiB) halves that cost per point written.
SQLITE_WAL_AUTOCHECKPOINT_PAGES = 4096
_BEGIN_OPTION = "modelyard_sqlite_begin"
_DEFAULT_DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}
# MySQL/MariaDB: 1213 deadlock, 1205 lock wait timeout. PostgreSQL: serialization, deadlock.
_MYSQL_RETRY_CODES = {1213, 1205}
_PG_RETRY_STATES = {"40001", "40P01"}

# One lock per SQLite file, shared by every engine of this process on that file.
_sqlite_locks: dict[str, threading.RLock] = {}
_sqlite_locks_guard = threading.Lock()


def normalize_url(uri: str) -> URL:
    """Parse a database URI, filling in modelyard's driver when none is named."""
    url = make_url(uri)
    driver = _DEFAULT_DRIVERS.get(url.drivername)
    if driver is not None:
        url = url.set(drivername=driver)
    if url.get_backend_name() in ("mysql", "mariadb") and "charset" not in url.query:
        url = url.update_query_dict({"charset": "utf8mb4"})
    return url


def dialect_family(url: URL) -> str:
    """ "sqlite", "postgresql" or "mysql" (MariaDB included)."""
    backend = url.get_backend_name()
    if backend in ("mysql", "mariadb"):
        return "mysql"
    if backend in ("sqlite", "postgresql"):
        return backend
    raise InvalidArgument(
        f"unsupported database {backend!r} in {url.render_as_string(hide_password=True)!r}: "
        "use sqlite, postgresql or mysql/mariadb",
        uri=url.render_as_string(hide_password=True),
    )


def _is_memory(url: URL) -> bool:
    db = url.database or ""
    return db in ("", ":memory:") or "mode=memory" in db or url.query.get("mode") == "memory"


def _sqlite_lock_for(url: URL) -> threading.RLock:
    db = url.database or ":memory:"
    key = db if _is_memory(url) else str(Path(db).resolve())
    with _sqlite_locks_guard:
        lock = _sqlite_locks.get(key)
        if lock is None:
            lock = _sqlite_locks[key] = threading.RLock()
        return lock


def sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite URL, or None for an in-memory database."""
    if url.get_backend_name() != "sqlite" or _is_memory(url):
        return None
    db = url.database or ""
    if db.startswith("file:"):
        db = db[len("file:") :].split("?", 1)[0]
    return Path(db).resolve()


def _configure_sqlite_connection(dbapi_conn: sqlite3.Connection, memory: bool) -> None:
    # sqlite3 must not emit its own BEGIN: the "begin" event below does it.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    try:
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        if not memory:
            mode = cur.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                for attempt in range(50):
                    try:
                        cur.execute("PRAGMA journal_mode = WAL")
                        break
                    except sqlite3.OperationalError:
                        if attempt == 49:
                            raise
                        time.sleep(0.05)
            cur.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA case_sensitive_like = ON")
    finally:
        cur.close()


def _build_engine(url: URL, extra: dict[str, Any]) -> Engine:
    family = dialect_family(url)
    if family == "sqlite":
        memory = _is_memory(url)
        path = sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, Any] = {
            "connect_args": {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        }
        if memory:
            kwargs["poolclass"] = StaticPool
        else:
            kwargs["pool_size"] = int(extra.get("pool_size", 8))
            kwargs["max_overflow"] = int(extra.get("max_overflow", 24))
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            _configure_sqlite_connection(dbapi_conn, memory)

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            mode = conn.get_execution_options().get(_BEGIN_OPTION, "")
            conn.exec_driver_sql(f"BEGIN {mode}".strip())

        return engine
    kwargs = {
        "pool_size": int(extra.get("pool_size", 10)),
        "max_overflow": int(extra.get("max_overflow", 20)),
        "pool_timeout": float(extra.get("pool_timeout", 30)),
        "pool_recycle": int(extra.get("pool_recycle", 1800)),
        "pool_pre_ping": bool(extra.get("pool_pre_ping", True)),
    }
    if family == "mysql":
        kwargs["isolation_level"] = "READ COMMITTED"
    return create_engine(url, **kwargs)


@dataclass(eq=False)
class Database:
    """One metadata database: its engine, dialect family and write discipline."""

    url: URL
    engine: Engine
    family: str
    _write_lock: threading.RLock | None = field(default=None, repr=False)
    _read_lock: threading.RLock | None = field(default=None, repr=False)

    @property
    def display_url(self) -> str:
        """The URL with any password hidden."""
        return self.url.render_as_string(hide_password=True)

    @property
    def marker(self) -> str:
        """The driver's positional parameter marker, for hot-path raw SQL."""
        return "?" if self.family == "sqlite" else "%s"

    def quote(self, name: str) -> str:
        """An identifier quoted for this dialect when it needs quoting (e.g. `key` on MySQL)."""
        return str(self.engine.dialect.identifier_preparer.quote(name))

    @property
    def write_lock(self) -> threading.RLock | None:
        """The process-wide lock of a SQLite file (None on server databases)."""
        return self._write_lock

    @contextmanager
    def connect(self, *, write: bool = False) -> Iterator[Connection]:
        """A connection whose transactions are writes (BEGIN IMMEDIATE on SQLite) if asked."""
        lock = self._write_lock if write else self._read_lock
        engine = self._write_engine if write else self.engine
        with translate_errors(), lock or nullcontext(), engine.connect() as conn:
            yield conn

    @functools.cached_property
    def _write_engine(self) -> Engine:
        """The engine sharing this pool whose connections begin writes (IMMEDIATE on SQLite).

        Set once here rather than per connection: `Connection.execution_options` runs events
        on every call, and this is the hot path of every write.
        """
        if self.family != "sqlite":
            return self.engine
        return self.engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction."""
        with self.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (committed on exit, rolled back on error)."""
        with self.connect(write=True) as conn, conn.begin():
            yield conn

    def run_write(self, fn: Callable[[Connection], T], *, attempts: int = 4) -> T:
        """Run fn in a write transaction, retrying it on deadlocks and serialization failures."""
        for attempt in range(attempts):
            try:
                with self.write() as conn:
                    return fn(conn)
            except _Retryable:
                if attempt == attempts - 1:
                    raise Unavailable(
                        "the database reported repeated deadlocks; retry the call"
                    ) from None
                time.sleep(0.01 * (2**attempt))
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


class _Retryable(Exception):
    """A deadlock or serialization failure: the whole transaction may be retried."""


def _is_retryable(exc: DBAPIError) -> bool:
    orig = exc.orig
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int) and args[0] in _MYSQL_RETRY_CODES:
        return True
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return sqlstate in _PG_RETRY_STATES


@contextmanager
def translate_errors() -> Iterator[None]:
    """Turn driver errors into domain errors (the SQL layer's one mapping)."""
    try:
        yield
    except DBAPIError as exc:
        if _is_retryable(exc):
            raise _Retryable(str(exc)) from exc
        if isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated:
            detail = str(exc.orig) if exc.orig is not None else str(exc)
            raise Unavailable(f"the database is unavailable: {detail}") from exc
        if isinstance(exc, DataError):
            detail = str(exc.orig) if exc.orig is not None else str(exc)
            raise InvalidArgument(f"the database refused a value: {detail}") from exc
        raise
    except PoolTimeout as exc:
        raise Unavailable(f"no database connection available: {exc}") from exc


def open_database(uri: str, extra: dict[str, Any] | None = None) -> Database:
    """Create the engine for a database URI (no connection is made yet)."""
    url = normalize_url(uri)
    family = dialect_family(url)
    engine = _build_engine(url, dict(extra or {}))
    write_lock = read_lock = None
    if family == "sqlite":
        write_lock = _sqlite_lock_for(url)
        if _is_memory(url):
            # One shared connection: serialise every use of it.
            read_lock = write_lock
    return Database(
        url=url, engine=engine, family=family, _write_lock=write_lock, _read_lock=read_lock
    )


_shared_lock = threading.Lock()
#: (uri, extra) -> [Database, references]: the tracking and registry stores of one URI in one
#: process share one pool (and, for sqlite://:memory:, one database).
_shared: dict[tuple[str, str], list[Any]] = {}


def _share_key(uri: str, extra: dict[str, Any] | None) -> tuple[str, str]:
    return uri, repr(sorted((extra or {}).items()))


def acquire_database(uri: str, extra: dict[str, Any] | None = None) -> Database:
    """The process's shared Database for a URI; give it back with `release_database`."""
    key = _share_key(uri, extra)
    with _shared_lock:
        entry = _shared.get(key)
        if entry is None:
            entry = [open_database(uri, extra), 0]
            _shared[key] = entry
        entry[1] += 1
        db: Database = entry[0]
        return db


def release_database(db: Database) -> None:
    """Drop one reference to a shared Database; the last one closes its pool."""
    with _shared_lock:
        for key, entry in _shared.items():
            if entry[0] is db:
                entry[1] -= 1
                if entry[1] > 0:
                    return
                del _shared[key]
                break
    db.dispose()


# -- hot-path SQL ----------------------------------------------------------------------------
# The write path runs a handful of fixed statements per call. Going through
# `Connection.execute` costs tens of microseconds per statement (compiled-cache lookup,
# parameter processing, events, result objects): more than SQLite needs to run them. These
# helpers run prebuilt SQL strings with positional parameters on the driver's cursor of a
# SQLAlchemy connection, inside its transaction. Driver errors are wrapped into SQLAlchemy's
# exception classes, so `translate_errors`, deadlock retries and `IntegrityError` handling
# work unchanged.


def positional_sql(db: Database, stmt: Executable, columns: Sequence[str]) -> str:
    """Compile a Core statement for db's dialect with positional markers in `columns` order."""
    # A copy of the engine's own dialect (server version and all), with positional markers.
    positional = copy.copy(db.engine.dialect)
    positional.paramstyle = "qmark" if db.family == "sqlite" else "format"
    positional.positional = True
    compiled = stmt.compile(dialect=positional, column_keys=list(columns))  # type: ignore[attr-defined]
    if list(compiled.positiontup or ()) != list(columns):
        raise AssertionError(f"unexpected parameter order {compiled.positiontup} for {columns}")
    return str(compiled.string)


def _wrap(conn: Connection, sql: str, params: Any, exc: Exception) -> DBAPIError:
    """SQLAlchemy's exception for a driver error; a lost connection is invalidated (as
    `Connection.execute` would), so the pool never hands it out again."""
    dialect = conn.dialect
    invalidated = False
    try:
        if dialect.is_disconnect(exc, conn.connection.dbapi_connection, None):  # type: ignore[arg-type]
            conn.invalidate(exc)
            invalidated = True
    except Exception:  # the connection is already unusable; report the original error
        log.debug("could not invalidate a failed connection", exc_info=True)
    return DBAPIError.instance(
        sql,
        params,
        exc,
        dialect.loaded_dbapi.Error,
        connection_invalidated=invalidated,
        dialect=dialect,
    )


def execute(conn: Connection, sql: str, params: Sequence[Any] = ()) -> Any:
    """Run one statement; return the open DBAPI cursor (fetch from it, then close it)."""
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(sql, params)
    except conn.dialect.loaded_dbapi.Error as exc:
        cur.close()
        raise _wrap(conn, sql, params, exc) from exc
    return cur


def run(conn: Connection, sql: str, params: Sequence[Any] = ()) -> int:
    """Run one statement that returns no rows; return its rowcount."""
    cur = execute(conn, sql, params)
    try:
        return int(cur.rowcount)
    finally:
        cur.close()


def run_many(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run one statement for each parameter row (the driver's executemany)."""
    if len(rows) == 1:
        run(conn, sql, rows[0])
        return
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.executemany(sql, rows)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise _wrap(conn, sql, rows, exc) from exc
    finally:
        cur.close()


def fetch_one(conn: Connection, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
    """The first row of a query, or None."""
    cur = execute(conn, sql, params)
    try:
        row = cur.fetchone()
    finally:
        cur.close()
    return None if row is None else tuple(row)


def fetch_all(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """All rows of a query."""
    cur = execute(conn, sql, params)
    try:
        return [tuple(r) for r in cur.fetchall()]
    finally:
        cur.close()
