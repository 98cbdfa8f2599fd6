"""THE concurrency proof: two `modelyard server` processes (the real CLI) on one PostgreSQL,
10 client threads split across them creating versions of one model: every number is unique
and the numbers are gapless 1..N, with 0 errors."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from modelyard.store_registry import registry_store_for_uri, tracking_store_for_uri
from modelyard.v1 import artifacts_pb2_grpc as apb_grpc
from tests.integration.registry.conftest import (
    MODEL_FILES,
    PROXIED,
    CliServer,
    artifact_path,
    upload,
)

pytestmark = pytest.mark.integration

THREADS = 10
VERSIONS_PER_THREAD = 5


@pytest.fixture
def two_servers(postgres_uri: str, tmp_path: Path) -> Iterator[tuple[CliServer, CliServer]]:
    """Two CLI servers on one PostgreSQL database and one destination (started one by one:
    the first creates the schema)."""
    destination = tmp_path / "destination"
    first = CliServer(postgres_uri, destination, tmp_path / "a.log")
    try:
        second = CliServer(postgres_uri, destination, tmp_path / "b.log")
    except BaseException:
        first.stop()
        raise
    try:
        yield first, second
    finally:
        codes = (first.stop(), second.stop())
        assert codes == (0, 0), codes


def test_two_server_processes_allocate_unique_gapless_numbers(
    two_servers: tuple[CliServer, CliServer],
) -> None:
    a, b = two_servers
    tracking = tracking_store_for_uri(a.uri)
    setup = registry_store_for_uri(a.uri)
    try:
        experiment_id = tracking.create_experiment("concurrency")
        run = tracking.create_run(experiment_id=experiment_id, user_id="ci")
        assert run.info.artifact_uri.startswith(PROXIED)
        with grpc.insecure_channel(a.uri.removeprefix("grpc://")) as channel:
            stub = apb_grpc.ArtifactServiceStub(channel)  # type: ignore[no-untyped-call]
            for rel, data in MODEL_FILES.items():
                upload(stub, f"{artifact_path(run, 'model')}/{rel}", data)
        setup.create_registered_model("contended")
    finally:
        setup.close()
        tracking.close()

    source = f"runs:/{run.info.run_id}/model"
    numbers: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def client(index: int) -> None:
        store = registry_store_for_uri((a if index % 2 == 0 else b).uri)
        try:
            start.wait()
            for _ in range(VERSIONS_PER_THREAD):
                version = store.create_model_version("contended", source, user_id=f"t{index}")
                with lock:
                    numbers.append(version.version)
        except BaseException as exc:
            with lock:
                errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    total = THREADS * VERSIONS_PER_THREAD
    assert sorted(numbers) == list(range(1, total + 1))

    # Both servers see the same versions, all READY, with the same files.
    for server in (a, b):
        store = registry_store_for_uri(server.uri)
        try:
            versions = store.search_model_versions(filter_string="name = 'contended'")
            assert sorted(v.version for v in versions) == list(range(1, total + 1))
            assert {v.status for v in versions} == {"READY"}
            assert len({v.content_digest for v in versions}) == 1
        finally:
            store.close()
