"""The HTTP side in the artifacts-only mode, without HTTP, and across stop(): the port is
released even with a keep-alive connection open, and a response in flight still completes."""

from __future__ import annotations

import http.client
import socket
import threading
import time
import uuid

import pytest

import modelyard
from modelyard.registry.tracking.store import SqlTrackingStore
from modelyard.server import full
from modelyard.server.settings import ServerSettings
from tests.integration.http.conftest import (
    ARTIFACTS,
    REGISTRY,
    SOCKET_TIMEOUT_S,
    TRACKING,
    HttpServers,
)

pytestmark = pytest.mark.integration

#: Upper bound of the polling loops below: they wait for a state, never measure time.
WAIT_LIMIT_S = 30.0


# -- artifacts-only ------------------------------------------------------------------------------


def test_artifacts_only_serves_files_health_metrics_and_the_artifact_json(
    http_servers: HttpServers,
) -> None:
    server = http_servers(artifacts_only=True)
    put = server.put_file("1/run/artifacts/a.txt", b"artifact")
    assert put.status == 201, put.body
    assert server.get("/files/1/run/artifacts/a.txt").body == b"artifact"
    assert server.get("/files/1/run/artifacts/a.txt", {"Range": "bytes=-3"}).body == b"act"
    listing = server.artifacts("ListArtifacts", {"path": "1", "recursive": True})["files"]
    assert [f["path"] for f in listing] == ["1/run/artifacts/a.txt"]
    assert (
        server.artifacts("StatArtifact", {"path": "1/run/artifacts/a.txt"})["info"]["size"] == "8"
    )
    assert server.artifacts("DeleteArtifacts", {"path": "1/run"}) == {}
    assert server.get("/files/1/run/artifacts/a.txt").status == 404

    health = server.get("/health")
    assert health.status == 200
    assert health.json() == {
        "status": "SERVING",
        "services": {"": "SERVING", ARTIFACTS: "SERVING"},
    }
    metrics = server.get("/metrics")
    assert metrics.status == 200
    assert b'modelyard_artifact_bytes_total{direction="in",transport="http"} 8.0' in metrics.body
    assert b"modelyard_db_pool" not in metrics.body  # no database in this mode

    for service, method, payload in (
        (TRACKING, "CreateExperiment", {"name": "x"}),
        (TRACKING, "SearchRuns", {}),
        (REGISTRY, "SearchRegisteredModels", {}),
    ):
        reply = server.api(service, method, payload)
        assert reply.status == 501, reply.body
        assert reply.error["status"] == "UNIMPLEMENTED"
        assert reply.reason == "UNIMPLEMENTED"
        assert "--artifacts-only" in reply.error["message"]
        assert reply.error["details"][0]["metadata"]["mode"] == "artifacts-only"
        assert reply.error["details"][0]["metadata"]["method"] == method
    assert not server.db_path.exists()


# -- no HTTP -------------------------------------------------------------------------------------


def test_no_http_serves_grpc_only(tmp_path: object) -> None:
    settings = ServerSettings(
        backend_store_uri=f"sqlite:///{tmp_path}/db.sqlite",
        artifacts_destination=f"{tmp_path}/destination",
        port=0,
        http_port=None,
        workers=2,
        max_watches=1,
    )
    bundle = full.build(settings)
    try:
        bundle.start()
        assert bundle.http is None
        assert "http_port" not in bundle.info
        client = modelyard.Client(f"grpc://127.0.0.1:{bundle.port}")
        assert client.create_experiment(f"grpc-only-{uuid.uuid4().hex[:6]}")
    finally:
        bundle.server.stop(1)
        bundle.close()


# -- stop() ----------------------------------------------------------------------------------------


def connection_refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT_S):
            return False
    except ConnectionRefusedError:
        return True


def test_stop_releases_the_port_with_a_keep_alive_connection_open(
    http_servers: HttpServers,
) -> None:
    server = http_servers()
    port = server.port
    held = http.client.HTTPConnection("127.0.0.1", port, timeout=SOCKET_TIMEOUT_S)
    reply = server.request("GET", "/health", connection=held)
    assert reply.status == 200
    assert reply.header("Connection") != "close"  # HTTP/1.1 keeps it open
    assert server.bundle.http is not None
    loop_thread = server.bundle.http._thread
    assert loop_thread is not None and loop_thread.is_alive()

    http_servers.stop(server)

    # The server closed the idle keep-alive connection (the read ends instead of hanging) ...
    assert held.sock is not None
    assert held.sock.recv(1) == b""
    held.close()
    # ... its loop thread ended, nothing listens, and a new server can take the port at once.
    assert not loop_thread.is_alive()
    assert connection_refused(port)
    again = http_servers(http_port=port)
    assert again.port == port
    assert again.get("/health").status == 200


def test_stop_lets_a_response_in_flight_finish(
    http_servers: HttpServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = http_servers()
    experiment_id = server.new_experiment()
    entered, release = threading.Event(), threading.Event()
    original = SqlTrackingStore.get_experiment

    def slow(self: SqlTrackingStore, experiment_id: str) -> object:
        entered.set()
        release.wait(WAIT_LIMIT_S)
        return original(self, experiment_id)

    monkeypatch.setattr(SqlTrackingStore, "get_experiment", slow)
    replies: list[object] = []
    caller = threading.Thread(
        target=lambda: replies.append(
            server.api(TRACKING, "GetExperiment", {"experimentId": experiment_id})
        )
    )
    caller.start()
    assert entered.wait(WAIT_LIMIT_S)
    assert server.bundle.http is not None
    stopper = threading.Thread(target=server.bundle.http.stop)
    stopper.start()
    # Wait until the listening socket is closed, then let the call finish.
    deadline = time.monotonic() + WAIT_LIMIT_S
    while not connection_refused(server.port) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert connection_refused(server.port)
    release.set()
    caller.join(WAIT_LIMIT_S)
    stopper.join(WAIT_LIMIT_S)
    assert not caller.is_alive() and not stopper.is_alive()
    [reply] = replies
    assert reply.status == 200, reply.body
    assert reply.json()["experiment"]["experimentId"] == experiment_id
    http_servers.stop(server)  # idempotent after stop()


def test_stop_before_start_releases_the_port(tmp_path: object) -> None:
    settings = ServerSettings(
        backend_store_uri=f"sqlite:///{tmp_path}/db.sqlite",
        artifacts_destination=f"{tmp_path}/destination",
        port=0,
        http_port=0,
        workers=2,
        max_watches=1,
    )
    bundle = full.build(settings)
    assert bundle.http is not None
    port = bundle.http.port
    bundle.close()  # never started
    bundle.close()
    assert connection_refused(port)
    bundle.server.stop(0)
