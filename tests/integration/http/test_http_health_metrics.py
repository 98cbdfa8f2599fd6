"""/health and /metrics on live servers: the health statuses and graceful shutdown, call
counters and latencies per transport, artifact bytes per direction and transport, the
database pool gauges (SQLite and PostgreSQL), and one registry per server."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

import modelyard
from modelyard.v1 import artifacts_pb2 as apb
from modelyard.v1 import artifacts_pb2_grpc as apb_grpc
from tests.integration.http.conftest import TRACKING, HttpServer, HttpServers, artifact_root

pytestmark = pytest.mark.integration

CALL_TIMEOUT = 30.0
CREATE_EXPERIMENT = "/modelyard.v1.TrackingService/CreateExperiment"
SERVICES = {
    "": "SERVING",
    "modelyard.v1.TrackingService": "SERVING",
    "modelyard.v1.ModelRegistryService": "SERVING",
    "modelyard.v1.ArtifactService": "SERVING",
}


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(server: HttpServer) -> Samples:
    """Every sample of /metrics: (name, labels) -> value."""
    reply = server.get("/metrics")
    assert reply.status == 200
    assert reply.header("Content-Type").startswith("text/plain; version=")
    out: Samples = {}
    for family in text_string_to_metric_families(reply.body.decode()):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value, 0 when absent."""
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def artifact_stub(server: HttpServer) -> Iterator[apb_grpc.ArtifactServiceStub]:
    with grpc.insecure_channel(f"127.0.0.1:{server.bundle.port}") as channel:
        yield apb_grpc.ArtifactServiceStub(channel)  # type: ignore[no-untyped-call]


def grpc_upload(stub: apb_grpc.ArtifactServiceStub, path: str, data: bytes) -> None:
    def parts() -> Iterator[apb.UploadArtifactRequest]:
        yield apb.UploadArtifactRequest(header=apb.UploadArtifactHeader(path=path))
        yield apb.UploadArtifactRequest(chunk=data)
        yield apb.UploadArtifactRequest(
            trailer=apb.UploadArtifactTrailer(
                size=len(data), sha256=hashlib.sha256(data).hexdigest()
            )
        )

    stub.UploadArtifact(parts(), timeout=CALL_TIMEOUT)


def grpc_download(stub: apb_grpc.ArtifactServiceStub, path: str) -> bytes:
    parts = stub.DownloadArtifact(apb.DownloadArtifactRequest(path=path), timeout=CALL_TIMEOUT)
    return b"".join(p.chunk for p in parts if p.WhichOneof("part") == "chunk")


# -- /health ---------------------------------------------------------------------------------------


def test_health_serving(server: HttpServer) -> None:
    reply = server.get("/health")
    assert reply.status == 200
    assert reply.header("Content-Type") == "application/json"
    assert reply.header("Cache-Control") == "no-store"
    assert reply.json() == {"status": "SERVING", "services": SERVICES}


def test_health_after_graceful_shutdown_is_503(http_servers: HttpServers) -> None:
    server = http_servers()
    assert server.get("/health").status == 200
    server.bundle.health.enter_graceful_shutdown()
    reply = server.get("/health")
    assert reply.status == 503
    assert reply.json() == {
        "status": "NOT_SERVING",
        "services": {name: "NOT_SERVING" for name in SERVICES},
    }


# -- /metrics --------------------------------------------------------------------------------------


def test_call_counters_and_latency_per_transport(server: HttpServer) -> None:
    before = scrape(server)
    client = modelyard.Client(server.grpc_uri)
    client.create_experiment("metrics-over-grpc")
    client.create_experiment("metrics-over-grpc-2")
    server.tracking("CreateExperiment", {"name": "metrics-over-http"})
    assert server.api(TRACKING, "GetRun", {"runId": "0" * 32}).status == 404
    server.get("/health")
    after = scrape(server)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    total = "modelyard_requests_total"
    assert delta(total, transport="grpc", method=CREATE_EXPERIMENT, code="OK") == 2
    assert delta(total, transport="http", method=CREATE_EXPERIMENT, code="OK") == 1
    assert (
        delta(
            total, transport="http", method="/modelyard.v1.TrackingService/GetRun", code="NOT_FOUND"
        )
        == 1
    )
    assert delta(total, transport="http", method="health", code="200") == 1
    count = "modelyard_request_duration_seconds_count"
    assert delta(count, transport="grpc", method=CREATE_EXPERIMENT) == 2
    assert delta(count, transport="http", method=CREATE_EXPERIMENT) == 1
    buckets = [
        key
        for key in after
        if key[0] == "modelyard_request_duration_seconds_bucket"
        and ("transport", "http") in key[1]
        and ("method", CREATE_EXPERIMENT) in key[1]
    ]
    assert {dict(labels)["le"] for _, labels in buckets} >= {"0.001", "1.0", "30.0", "+Inf"}
    inf = value(
        after,
        "modelyard_request_duration_seconds_bucket",
        le="+Inf",
        method=CREATE_EXPERIMENT,
        transport="http",
    )
    assert inf == value(after, count, transport="http", method=CREATE_EXPERIMENT)
    assert (
        value(
            after,
            "modelyard_request_duration_seconds_sum",
            transport="grpc",
            method=CREATE_EXPERIMENT,
        )
        > 0
    )


def test_refused_api_calls_are_counted(server: HttpServer) -> None:
    before = scrape(server)
    reply = server.request(
        "POST", f"/api/{TRACKING}/CreateExperiment", b"{}", {"Content-Type": "text/plain"}
    )
    assert reply.status == 415
    after = scrape(server)
    labels = {"transport": "http", "method": CREATE_EXPERIMENT, "code": "INVALID_ARGUMENT"}
    assert (
        value(after, "modelyard_requests_total", **labels)
        - value(before, "modelyard_requests_total", **labels)
        == 1
    )


def test_artifact_bytes_in_and_out(
    server: HttpServer, artifact_stub: apb_grpc.ArtifactServiceStub
) -> None:
    root = artifact_root(server.new_run())
    before = scrape(server)
    grpc_upload(artifact_stub, f"{root}/g.bin", b"g" * 1000)
    assert grpc_download(artifact_stub, f"{root}/g.bin") == b"g" * 1000
    assert grpc_download(artifact_stub, f"{root}/g.bin") == b"g" * 1000
    assert server.put_file(f"{root}/h.bin", b"h" * 300).status == 201
    assert server.get(f"/files/{root}/h.bin").body == b"h" * 300
    assert server.get(f"/files/{root}/h.bin", {"Range": "bytes=-10"}).body == b"h" * 10
    assert server.request("HEAD", f"/files/{root}/h.bin").status == 200
    # Refused uploads store nothing and count nothing.
    assert server.put_file(f"{root}/x.bin", b"x" * 50, {"X-Content-SHA256": "0" * 64}).status == 400
    after = scrape(server)

    def delta(direction: str, transport: str) -> float:
        labels = {"direction": direction, "transport": transport}
        name = "modelyard_artifact_bytes_total"
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("in", "grpc") == 1000
    assert delta("out", "grpc") == 2000
    assert delta("in", "http") == 300
    assert delta("out", "http") == 310


def test_pool_gauges_on_sqlite(server: HttpServer) -> None:
    samples = scrape(server)
    # SQLite files use SQLAlchemy's QueuePool (size 8 here); :memory: uses a StaticPool,
    # which offers no statistics, so no gauges appear for it.
    assert value(samples, "modelyard_db_pool_size") == 8
    assert value(samples, "modelyard_db_pool_checked_out") >= 0
    assert value(samples, "modelyard_db_pool_checked_in") >= 1
    assert value(samples, "modelyard_db_pool_overflow") >= 0


def test_pool_gauges_on_postgres(http_servers: HttpServers, postgres_uri: str) -> None:
    server = http_servers(backend_store_uri=postgres_uri)
    server.tracking("CreateExperiment", {"name": "pool"})
    samples = scrape(server)
    names = {name for name, _ in samples}
    assert {
        "modelyard_db_pool_size",
        "modelyard_db_pool_checked_out",
        "modelyard_db_pool_checked_in",
        "modelyard_db_pool_overflow",
    } <= names
    assert value(samples, "modelyard_db_pool_size") == 10
    assert value(samples, "modelyard_db_pool_checked_in") >= 1
    assert value(samples, "modelyard_db_pool_overflow") == 0


def test_two_servers_in_one_process_count_separately(http_servers: HttpServers) -> None:
    first, second = http_servers(), http_servers()
    first.tracking("CreateExperiment", {"name": "only-on-first"})
    first.tracking("CreateExperiment", {"name": "only-on-first-2"})
    second.get("/health")
    on_first, on_second = scrape(first), scrape(second)
    labels = {"transport": "http", "method": CREATE_EXPERIMENT, "code": "OK"}
    assert value(on_first, "modelyard_requests_total", **labels) == 2
    assert value(on_second, "modelyard_requests_total", **labels) == 0
    assert (
        value(on_second, "modelyard_requests_total", transport="http", method="health", code="200")
        == 1
    )
    assert (
        value(on_first, "modelyard_requests_total", transport="http", method="health", code="200")
        == 0
    )
