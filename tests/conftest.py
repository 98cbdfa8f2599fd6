"""Shared fixtures: real PostgreSQL and MariaDB on 127.0.0.1, SQLite files, live gRPC servers.

Services are found, or started if they are installed but down. When one cannot be reached the
tests that need it skip with the reason locally, and FAIL in CI (the environment variable CI
is set and non-empty): CI must never pass by skipping.

Database fixtures come in three scopes so suites can trade isolation for speed: `postgres_uri`
(one database per test), `postgres_uri_class` (per class), `postgres_uri_module` (per module);
the same for `mysql_uri*` and `sqlite_uri*`. Every database gets a unique name and is dropped
afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
MY_HOST, MY_PORT, MY_USER = "127.0.0.1", 3306, "root"
SERVICE_START_TIMEOUT_S = 20.0
pytest_plugins = ["tests.object_stores"]


def pytest_configure(config: pytest.Config) -> None:
    """Register markers (also declared in pyproject.toml, so either place is enough)."""
    config.addinivalue_line(
        "markers", "integration: needs a real database, server or other component"
    )


def in_ci() -> bool:
    """True when running in CI, where a missing service is a failure, never a skip."""
    return bool(os.environ.get("CI", "").strip())


def service_missing(reason: str) -> None:
    """Fail (CI) or skip (locally) because a service the test needs is not there."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set: a missing service fails the run)", pytrace=False)
    pytest.skip(reason)


def _port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _wait_for_port(host: str, port: int, timeout: float = SERVICE_START_TIMEOUT_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _port_open(host, port):
            return True
        time.sleep(0.2)
    return _port_open(host, port)


def _try(cmd: list[str]) -> str:
    """Run a start command; return a short description of what happened (never raises)."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{' '.join(cmd)}: {exc}"
    out = (proc.stdout + proc.stderr).strip().splitlines()
    return f"{' '.join(cmd)}: exit {proc.returncode} {out[-1] if out else ''}".strip()


def _start_postgres() -> str:
    clusters = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not clusters or not shutil.which("pg_ctlcluster"):
        return "no PostgreSQL cluster under /etc/postgresql or no pg_ctlcluster"
    return _try(["pg_ctlcluster", "--skip-systemctl-redirect", clusters[-1], "main", "start"])


def _start_mariadb() -> str:
    if not os.path.exists("/usr/sbin/mariadbd") or not shutil.which("start-stop-daemon"):
        return "/usr/sbin/mariadbd or start-stop-daemon not installed"
    return _try(
        [
            "start-stop-daemon",
            "--start",
            "--oknodo",
            "--background",
            "--exec",
            "/usr/sbin/mariadbd",
        ]
    )


def _ensure_service(name: str, host: str, port: int, start: Callable[[], str]) -> str | None:
    """None when host:port answers (after starting the service if needed), else why not."""
    if _port_open(host, port):
        return None
    attempt = start()
    if _wait_for_port(host, port):
        return None
    return f"{name} is not reachable on {host}:{port} (tried to start it: {attempt})"


def unique_name(prefix: str) -> str:
    """A database-safe unique name."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@dataclass
class DatabaseServer:
    """A reachable database server that hands out throwaway databases."""

    kind: str
    created: list[str] = field(default_factory=list)

    def _admin(self) -> Any:
        if self.kind == "postgres":
            import psycopg

            return psycopg.connect(
                host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True
            )
        import pymysql

        return pymysql.connect(host=MY_HOST, port=MY_PORT, user=MY_USER, autocommit=True)

    def create_database(self) -> str:
        """Create an empty, uniquely named database and return its SQLAlchemy URL."""
        name = unique_name("modelyard_test")
        with contextlib.closing(self._admin()) as conn:
            cur = conn.cursor()
            if self.kind == "postgres":
                cur.execute(f'CREATE DATABASE "{name}"')
            else:
                # Server-default collation on purpose: the schema must pick its own.
                cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        self.created.append(name)
        if self.kind == "postgres":
            return f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
        return f"mysql+pymysql://{MY_USER}@{MY_HOST}:{MY_PORT}/{name}?charset=utf8mb4"

    def drop_database(self, url: str) -> None:
        """Drop a database made by create_database (closing leftover connections on PG)."""
        name = url.rsplit("/", 1)[1].split("?", 1)[0]
        with contextlib.closing(self._admin()) as conn:
            cur = conn.cursor()
            if self.kind == "postgres":
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            else:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        if name in self.created:
            self.created.remove(name)


_SERVICES = {
    "postgres": ("PostgreSQL", PG_HOST, PG_PORT, _start_postgres, "psycopg"),
    "mysql": ("MariaDB/MySQL", MY_HOST, MY_PORT, _start_mariadb, "pymysql"),
}


def _database_server(kind: str) -> DatabaseServer:
    label, host, port, start, driver = _SERVICES[kind]
    try:
        __import__(driver)
    except ImportError:
        service_missing(f"the {driver} driver is not installed (pip install modelyard[{kind}])")
    why = _ensure_service(label, host, port, start)
    if why:
        service_missing(why)
    server = DatabaseServer(kind)
    try:  # a server that answers on the port but refuses us is as good as missing
        with contextlib.closing(server._admin()):
            pass
    except Exception as exc:
        service_missing(f"{label} on {host}:{port} refused a connection as {kind} admin: {exc}")
    return server


@pytest.fixture(scope="session")
def postgres_server() -> DatabaseServer:
    """The PostgreSQL server on 127.0.0.1:5432 (started if needed)."""
    return _database_server("postgres")


@pytest.fixture(scope="session")
def mysql_server() -> DatabaseServer:
    """The MariaDB/MySQL server on 127.0.0.1:3306 (started if needed)."""
    return _database_server("mysql")


@contextlib.contextmanager
def _database(server: DatabaseServer) -> Iterator[str]:
    url = server.create_database()
    try:
        yield url
    finally:
        server.drop_database(url)


@pytest.fixture
def postgres_uri(postgres_server: DatabaseServer) -> Iterator[str]:
    """A fresh PostgreSQL database for one test."""
    with _database(postgres_server) as url:
        yield url


@pytest.fixture(scope="class")
def postgres_uri_class(postgres_server: DatabaseServer) -> Iterator[str]:
    """A fresh PostgreSQL database shared by one test class."""
    with _database(postgres_server) as url:
        yield url


@pytest.fixture(scope="module")
def postgres_uri_module(postgres_server: DatabaseServer) -> Iterator[str]:
    """A fresh PostgreSQL database shared by one test module."""
    with _database(postgres_server) as url:
        yield url


@pytest.fixture
def mysql_uri(mysql_server: DatabaseServer) -> Iterator[str]:
    """A fresh MariaDB/MySQL database for one test."""
    with _database(mysql_server) as url:
        yield url


@pytest.fixture(scope="class")
def mysql_uri_class(mysql_server: DatabaseServer) -> Iterator[str]:
    """A fresh MariaDB/MySQL database shared by one test class."""
    with _database(mysql_server) as url:
        yield url


@pytest.fixture(scope="module")
def mysql_uri_module(mysql_server: DatabaseServer) -> Iterator[str]:
    """A fresh MariaDB/MySQL database shared by one test module."""
    with _database(mysql_server) as url:
        yield url


@pytest.fixture
def sqlite_uri(tmp_path: Path) -> str:
    """A SQLite database file (not yet created) for one test."""
    return f"sqlite:///{tmp_path / 'modelyard.db'}"


@pytest.fixture(scope="class")
def sqlite_uri_class(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite database file shared by one test class."""
    return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'modelyard.db'}"


@pytest.fixture(scope="module")
def sqlite_uri_module(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite database file shared by one test module."""
    return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'modelyard.db'}"


# -- browser --------------------------------------------------------------------------------

#: Debian's Chromium (never a Playwright download) and the flags it runs with here: headless as
#: root, and none of the background connections this machine's closed network refuses.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser_available() -> None:
    """Skip (locally) or fail (CI), before a server starts, without Chromium or Playwright."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        service_missing("playwright is not installed (pip install -e '.[dev]')")
    if not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        service_missing(f"{CHROMIUM} is missing (apt-get install chromium; scripts/test.sh does)")


@pytest.fixture(scope="session")
def chromium_browser(browser_available: None) -> Iterator[Any]:
    """Debian's Chromium through Playwright, one per session (one Playwright loop for every
    suite that drives a browser: a second sync_playwright in the same thread is refused)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# -- live servers ----------------------------------------------------------------------------


class LiveServers:
    """Starts in-process full servers on 127.0.0.1:0 and stops them all on close()."""

    def __init__(self) -> None:
        self._running: list[tuple[Any, Callable[[], None]]] = []

    def __call__(self, backend_store_uri: str, **settings: Any) -> str:
        """Start a server on this backend; return its grpc://127.0.0.1:<port> URI."""
        from modelyard.server import full
        from modelyard.server.settings import ServerSettings

        conf = ServerSettings(
            backend_store_uri=backend_store_uri,
            **{"host": "127.0.0.1", "port": 0, "workers": 8, "http_port": None, **settings},
        )
        build = getattr(full, "build", None)
        if build is not None:  # the bundle also closes the server's store (DB connections)
            bundle = build(conf)
            server, port, release = bundle.server, bundle.port, bundle.close
        else:
            server, port = full.build_server(conf)
            release = _nothing
        server.start()
        self._running.append((server, release))
        return f"grpc://127.0.0.1:{port}"

    def close(self) -> None:
        """Stop every server started here (in-flight calls get a second), newest first."""
        while self._running:
            server, release = self._running.pop()
            server.stop(grace=1.0).wait(10)
            release()


def _nothing() -> None:
    return None


@pytest.fixture
def live_server() -> Iterator[LiveServers]:
    """Factory: `uri = live_server(backend_store_uri, **ServerSettings fields)`; stopped after."""
    servers = LiveServers()
    try:
        yield servers
    finally:
        servers.close()


@pytest.fixture(scope="class")
def live_server_class() -> Iterator[LiveServers]:
    """The same factory; its servers live until the end of the test class."""
    servers = LiveServers()
    try:
        yield servers
    finally:
        servers.close()


@pytest.fixture(scope="module")
def live_server_module() -> Iterator[LiveServers]:
    """The same factory; its servers live until the end of the test module."""
    servers = LiveServers()
    try:
        yield servers
    finally:
        servers.close()


@pytest.fixture(scope="session")
def test_output_dir() -> Path:
    """test-output/ at the repository root (git-ignored), for screenshots and logs."""
    out = REPO_ROOT / "test-output"
    out.mkdir(exist_ok=True)
    return out
