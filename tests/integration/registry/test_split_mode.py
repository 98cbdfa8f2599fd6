"""Split deployment: a tracking server (no artifacts) and an --artifacts-only server. A
version of a run whose artifacts live on the artifact server is hashed through that server's
ArtifactService; the artifacts-only server itself refuses every registry call."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest

from modelyard.errors import Code, Unimplemented
from modelyard.server import artifacts_only
from modelyard.server.settings import ServerSettings
from modelyard.store_registry import registry_store_for_uri, tracking_store_for_uri
from modelyard.v1 import artifacts_pb2_grpc as apb_grpc
from tests.integration.registry.conftest import MODEL_FILES, upload

if TYPE_CHECKING:
    from tests.conftest import LiveServers

pytestmark = pytest.mark.integration


@pytest.fixture
def artifact_server(tmp_path: Path) -> Iterator[int]:
    """An --artifacts-only server on a free port; yields the port."""
    bundle = artifacts_only.build(
        ServerSettings(
            host="127.0.0.1",
            port=0,
            workers=4,
            artifacts_only=True,
            artifacts_destination=str(tmp_path / "art"),
        )
    )
    bundle.server.start()
    try:
        yield bundle.port
    finally:
        bundle.server.stop(1).wait(10)
        bundle.close()


def test_a_version_is_hashed_through_the_artifact_server(
    artifact_server: int, postgres_uri: str, live_server: LiveServers
) -> None:
    root = f"modelyard-artifacts://127.0.0.1:{artifact_server}/"
    uri = live_server(postgres_uri, serve_artifacts=False, default_artifact_root=root)
    tracking, registry = tracking_store_for_uri(uri), registry_store_for_uri(uri)
    try:
        experiment_id = tracking.create_experiment(f"split-{uuid.uuid4().hex[:8]}")
        run = tracking.create_run(experiment_id=experiment_id)
        assert run.info.artifact_uri.startswith(root)
        base = run.info.artifact_uri.removeprefix(root)
        with grpc.insecure_channel(f"127.0.0.1:{artifact_server}") as channel:
            stub = apb_grpc.ArtifactServiceStub(channel)  # type: ignore[no-untyped-call]
            for rel, data in MODEL_FILES.items():
                upload(stub, f"{base}/model/{rel}", data)
        registry.create_registered_model("split")
        version = registry.create_model_version("split", f"runs:/{run.info.run_id}/model")
        assert version.status == "READY"
        assert version.storage_location == f"{run.info.artifact_uri}/model"
        assert version.signature is not None
        files = registry.list_model_version_files("split", version.version)
        assert {f.path: f.sha256 for f in files} == {
            rel: hashlib.sha256(data).hexdigest() for rel, data in MODEL_FILES.items()
        }
    finally:
        registry.close()
        tracking.close()


def test_the_artifacts_only_server_serves_no_registry(artifact_server: int) -> None:
    registry = registry_store_for_uri(f"grpc://127.0.0.1:{artifact_server}")
    try:
        with pytest.raises(Unimplemented) as info:
            registry.get_registered_model("anything")
        assert info.value.code == Code.UNIMPLEMENTED
        assert "--artifacts-only" in info.value.message
        assert info.value.details["mode"] == "artifacts-only"
    finally:
        registry.close()
