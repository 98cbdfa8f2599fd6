"""In-process servers with their HTTP side on a free port, and a small HTTP client for them.

`http_server(**settings)` builds `modelyard.server.full.build(ServerSettings(...))` (or the
artifacts-only mode) on 127.0.0.1 with `port=0, http_port=0`, SQLite and a destination in a
temporary folder, starts it and returns an `HttpServer` handle: the bundle, the bound ports
and helpers for `/api`, `/files` and raw requests. Every server is stopped at teardown with
`bundle.server.stop(1)` and `bundle.close()`.

Requests go through `http.client` (one connection per request unless a test holds one), with
a generous socket timeout that only guards against hangs; nothing asserts on time.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import sqlite3
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from modelyard.server.assembly import ServerBundle
from modelyard.server.settings import ServerSettings

SOCKET_TIMEOUT_S = 30.0
JSON_TYPE = "application/json"
TRACKING = "modelyard.v1.TrackingService"
REGISTRY = "modelyard.v1.ModelRegistryService"
ARTIFACTS = "modelyard.v1.ArtifactService"
PROXIED = "modelyard-artifacts:/"

MLMODEL = b"""\
artifact_path: model
flavors:
  python_function:
    loader_module: modelyard.sklearn
signature:
  inputs: '[{"type": "double", "name": "x"}]'
  outputs: '[{"type": "double"}]'
  params: null
"""

#: A small model directory: path -> bytes.
MODEL_FILES: dict[str, bytes] = {
    "MLmodel": MLMODEL,
    "model.skops": b"weights" * 100,
    "requirements.txt": b"scikit-learn\n",
}


@dataclass
class Reply:
    """One HTTP answer."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        """One header (case-insensitive), None when absent."""
        return self.headers.get(name)

    @property
    def error(self) -> dict[str, Any]:
        """The "error" object of a JSON error body."""
        body = self.json()
        assert set(body) == {"error"}, body
        return body["error"]  # type: ignore[no-any-return]

    @property
    def reason(self) -> str:
        """The ErrorInfo reason of a JSON error body."""
        details = self.error["details"]
        assert details[0]["@type"] == "type.googleapis.com/google.rpc.ErrorInfo", details
        assert details[0]["domain"] == "modelyard"
        return details[0]["reason"]  # type: ignore[no-any-return]


@dataclass
class HttpServer:
    """A running in-process server and an HTTP client for its HTTP port."""

    bundle: ServerBundle
    settings: ServerSettings
    root: Path
    host_header: str = field(init=False)

    def __post_init__(self) -> None:
        self.host_header = f"127.0.0.1:{self.port}"

    @property
    def port(self) -> int:
        """The bound HTTP port."""
        assert self.bundle.http is not None
        return self.bundle.http.port

    @property
    def grpc_uri(self) -> str:
        """grpc://127.0.0.1:<grpc port>."""
        return f"grpc://127.0.0.1:{self.bundle.port}"

    @property
    def destination(self) -> Path:
        """The local artifact destination folder."""
        return self.root / "destination"

    @property
    def db_path(self) -> Path:
        """The SQLite file of the metadata database."""
        return self.root / "modelyard.db"

    @property
    def origin(self) -> str:
        """This server's own origin, as a browser on it sends it."""
        return f"http://127.0.0.1:{self.port}"

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        connection: http.client.HTTPConnection | None = None,
    ) -> Reply:
        """Send one request (path sent as given, not re-encoded) and read the whole answer."""
        conn = connection or http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=SOCKET_TIMEOUT_S
        )
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            sent = {"Host": self.host_header, **(headers or {})}
            for name, value in sent.items():
                conn.putheader(name, value)
            if body is not None and "Content-Length" not in sent:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            data = response.read()
            return Reply(response.status, response.headers, data)
        finally:
            if connection is None:
                conn.close()

    def api_raw(
        self, service: str, method: str, body: bytes, headers: Mapping[str, str] | None = None
    ) -> Reply:
        """POST /api/<service>/<method> with this body (JSON content type unless overridden)."""
        return self.request(
            "POST",
            f"/api/{service}/{method}",
            body,
            {"Content-Type": JSON_TYPE, **(headers or {})},
        )

    def api(
        self,
        service: str,
        method: str,
        payload: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """POST a JSON request."""
        return self.api_raw(service, method, json.dumps(payload or {}).encode(), headers)

    def ok(self, service: str, method: str, payload: Mapping[str, Any] | None = None) -> Any:
        """POST a JSON request that must succeed; return the parsed answer."""
        reply = self.api(service, method, payload)
        assert reply.status == 200, (reply.status, reply.body)
        assert reply.header("Content-Type") == JSON_TYPE
        return reply.json()

    def tracking(self, method: str, payload: Mapping[str, Any] | None = None) -> Any:
        """A TrackingService call that must succeed."""
        return self.ok(TRACKING, method, payload)

    def registry(self, method: str, payload: Mapping[str, Any] | None = None) -> Any:
        """A ModelRegistryService call that must succeed."""
        return self.ok(REGISTRY, method, payload)

    def artifacts(self, method: str, payload: Mapping[str, Any] | None = None) -> Any:
        """An ArtifactService call that must succeed."""
        return self.ok(ARTIFACTS, method, payload)

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Reply:
        """GET a path."""
        return self.request("GET", path, None, headers)

    def put_file(self, path: str, data: bytes, headers: Mapping[str, str] | None = None) -> Reply:
        """PUT bytes to /files/<path>."""
        return self.request("PUT", f"/files/{path}", data, headers)

    def new_experiment(self, prefix: str = "exp") -> str:
        """Create an experiment over JSON; return its id."""
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        return self.tracking("CreateExperiment", {"name": name})["experiment"]["experimentId"]  # type: ignore[no-any-return]

    def new_run(self, experiment_id: str | None = None, **fields: Any) -> dict[str, Any]:
        """Create a run over JSON (in a fresh experiment unless given); return its Run JSON."""
        experiment_id = experiment_id or self.new_experiment()
        payload = {"experimentId": experiment_id, "userId": "tester", **fields}
        return self.tracking("CreateRun", payload)["run"]  # type: ignore[no-any-return]

    def db_counts(self) -> dict[str, int]:
        """Row counts of the tables a refused write could touch (read straight from SQLite)."""
        with contextlib.closing(sqlite3.connect(self.db_path)) as conn:
            names = [
                row[0]
                for row in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%' AND name != 'alembic_version'"
                )
            ]
            return {
                name: conn.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]
                for name in sorted(names)
            }

    def destination_files(self) -> dict[str, bytes]:
        """Every file under the destination (relative path -> bytes), temporary ones included."""
        if not self.destination.exists():
            return {}
        return {
            p.relative_to(self.destination).as_posix(): p.read_bytes()
            for p in sorted(self.destination.rglob("*"))
            if p.is_file()
        }


def artifact_root(run: Mapping[str, Any]) -> str:
    """The destination-relative folder of a run's artifacts (from its modelyard-artifacts URI)."""
    uri = run["info"]["artifactUri"]
    assert uri.startswith(PROXIED), uri
    return uri[len(PROXIED) :].strip("/")


class HttpServers:
    """Starts in-process servers with HTTP on free ports; stops them all on close()."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._factory = tmp_path_factory
        self._running: list[ServerBundle] = []

    def __call__(self, *, artifacts_only: bool = False, **overrides: Any) -> HttpServer:
        """Build and start a server; `overrides` are ServerSettings fields."""
        from modelyard.server import artifacts_only as artifacts_only_mode
        from modelyard.server import full

        root = self._factory.mktemp("http")
        fields: dict[str, Any] = {
            "backend_store_uri": f"sqlite:///{root / 'modelyard.db'}",
            "artifacts_destination": str(root / "destination"),
            "host": "127.0.0.1",
            "port": 0,
            "http_port": 0,
            "workers": 4,
            "max_watches": 2,
            "artifacts_only": artifacts_only,
            **overrides,
        }
        settings = ServerSettings(**fields)
        bundle = (artifacts_only_mode if artifacts_only else full).build(settings)
        self._running.append(bundle)
        bundle.start()
        return HttpServer(bundle, settings, root)

    def stop(self, server: HttpServer) -> None:
        """Stop one server now (idempotent)."""
        if server.bundle in self._running:
            self._running.remove(server.bundle)
            _stop(server.bundle)

    def close(self) -> None:
        """Stop every server started here, newest first."""
        while self._running:
            _stop(self._running.pop())


def _stop(bundle: ServerBundle) -> None:
    bundle.server.stop(1)
    bundle.close()


@pytest.fixture
def http_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServers]:
    """Factory of servers stopped after the test."""
    servers = HttpServers(tmp_path_factory)
    try:
        yield servers
    finally:
        servers.close()


@pytest.fixture(scope="module")
def http_servers_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServers]:
    """Factory of servers stopped after the module."""
    servers = HttpServers(tmp_path_factory)
    try:
        yield servers
    finally:
        servers.close()


@pytest.fixture(scope="module")
def server(http_servers_module: HttpServers) -> HttpServer:
    """One full server (SQLite, local destination, default security settings) per module."""
    return http_servers_module()
