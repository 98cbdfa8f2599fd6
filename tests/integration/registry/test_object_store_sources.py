"""Sources on S3 (moto) through a live server: a run whose experiment points at the bucket,
and an operator's allowed model-source root; files are hashed through fsspec."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from modelyard.errors import Code, PermissionDenied
from modelyard.registry_stores import RegistryStore
from modelyard.registry_validation import manifest_digest
from modelyard.store_registry import registry_store_for_uri, tracking_store_for_uri
from modelyard.stores import TrackingStore
from tests.integration.registry.conftest import MODEL_FILES
from tests.object_stores import s3_client

if TYPE_CHECKING:
    from tests.conftest import LiveServers

pytestmark = pytest.mark.integration


@pytest.fixture
def s3_env(s3_storage_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The moto credentials and endpoint in this process (the server runs in it)."""
    for key, value in s3_storage_env.items():
        monkeypatch.setenv(key, value)
    return s3_storage_env


@pytest.fixture
def stores(
    s3_env: dict[str, str], s3_bucket: str, postgres_uri: str, live_server: LiveServers
) -> Iterator[tuple[TrackingStore, RegistryStore]]:
    """Tracking and registry stores of a server allowing experiments and models in the bucket."""
    uri = live_server(
        postgres_uri,
        allowed_artifact_roots=(f"s3://{s3_bucket}/experiments",),
        allowed_model_sources=(f"s3://{s3_bucket}/models",),
        s3_endpoint_url=s3_env["MODELYARD_S3_ENDPOINT_URL"],
    )
    tracking, registry = tracking_store_for_uri(uri), registry_store_for_uri(uri)
    try:
        yield tracking, registry
    finally:
        registry.close()
        tracking.close()


def _put_model(endpoint: str, bucket: str, prefix: str) -> None:
    s3 = s3_client(endpoint)
    for rel, data in MODEL_FILES.items():
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{rel}", Body=data)


def _assert_files(registry: RegistryStore, name: str, version: int) -> None:
    files = registry.list_model_version_files(name, version)
    assert {f.path: f.sha256 for f in files} == {
        rel: hashlib.sha256(data).hexdigest() for rel, data in MODEL_FILES.items()
    }
    mv = registry.get_model_version(name, version)
    assert mv.content_digest == manifest_digest(files)
    assert mv.signature is not None and mv.input_example_path == "input_example.json"


def test_a_run_in_the_bucket_registers_its_own_model_only(
    stores: tuple[TrackingStore, RegistryStore], s3_bucket: str, s3_env: dict[str, str]
) -> None:
    tracking, registry = stores
    endpoint = s3_env["MODELYARD_S3_ENDPOINT_URL"]
    experiment_id = tracking.create_experiment(
        "direct", artifact_location=f"s3://{s3_bucket}/experiments/direct"
    )
    mine = tracking.create_run(experiment_id=experiment_id)
    theirs = tracking.create_run(experiment_id=experiment_id)
    for run in (mine, theirs):
        prefix = run.info.artifact_uri.removeprefix(f"s3://{s3_bucket}/")
        _put_model(endpoint, s3_bucket, f"{prefix}/model")
    registry.create_registered_model("s3-model")
    version = registry.create_model_version("s3-model", f"runs:/{mine.info.run_id}/model")
    assert version.storage_location == f"{mine.info.artifact_uri}/model"
    _assert_files(registry, "s3-model", version.version)
    other = f"{theirs.info.artifact_uri}/model"
    with pytest.raises(PermissionDenied) as info:
        registry.create_model_version("s3-model", other, run_id=mine.info.run_id)
    assert info.value.code == Code.PERMISSION_DENIED and other in info.value.message
    assert [v.version for v in registry.search_model_versions()] == [1]


def test_an_allowed_model_source_root_in_the_bucket(
    stores: tuple[TrackingStore, RegistryStore], s3_bucket: str, s3_env: dict[str, str]
) -> None:
    _, registry = stores
    prefix = f"models/{uuid.uuid4().hex[:8]}"
    _put_model(s3_env["MODELYARD_S3_ENDPOINT_URL"], s3_bucket, prefix)
    registry.create_registered_model("from-root")
    version = registry.create_model_version("from-root", f"s3://{s3_bucket}/{prefix}/")
    assert version.storage_location == f"s3://{s3_bucket}/{prefix}"
    assert version.run_id is None
    _assert_files(registry, "from-root", version.version)
    outside = f"s3://{s3_bucket}/elsewhere/model"
    with pytest.raises(PermissionDenied) as info:
        registry.create_model_version("from-root", outside)
    assert outside in info.value.message
