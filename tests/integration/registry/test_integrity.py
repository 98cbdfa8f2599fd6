"""Integrity through a live server: the files recorded at registration, and the
ArtifactService refusing to overwrite or delete files that back a live version."""

from __future__ import annotations

import hashlib

import grpc
import pytest

from modelyard.errors import ArtifactProtected
from modelyard.registry_validation import manifest_digest
from modelyard.v1 import artifacts_pb2 as apb
from modelyard.wire.status import error_from_rpc
from tests.integration.registry.conftest import (
    CALL_TIMEOUT,
    MODEL_FILES,
    RegistryServer,
    artifact_path,
    download,
    upload,
    upload_requests,
)

pytestmark = pytest.mark.integration


def test_every_file_is_recorded_with_its_hash(env: RegistryServer) -> None:
    run = env.new_run()
    name = env.new_model()
    version = env.registry.create_model_version(name, env.log_model(run))
    files = env.registry.list_model_version_files(name, version.version)
    assert [f.path for f in files] == sorted(MODEL_FILES)
    for f in files:
        data = MODEL_FILES[f.path]
        assert f.size == len(data)
        assert f.sha256 == hashlib.sha256(data).hexdigest()
    assert version.file_count == len(MODEL_FILES)
    assert version.content_digest == manifest_digest(files)
    assert version.storage_location == f"{run.info.artifact_uri}/model"
    assert version.signature is not None
    assert version.signature.inputs == '[{"type": "double", "name": "x"}]'
    assert version.signature.params is None
    assert version.input_example_path == "input_example.json"
    again = env.registry.get_model_version(name, version.version)
    assert again.signature == version.signature
    assert again.content_digest == version.content_digest


def _protected(call: object, *args: object) -> ArtifactProtected:
    try:
        result = call(*args, timeout=CALL_TIMEOUT)  # type: ignore[operator]
        if hasattr(result, "__iter__") and not hasattr(result, "SerializeToString"):
            list(result)
    except grpc.RpcError as err:
        assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
        error = error_from_rpc(err)
        assert isinstance(error, ArtifactProtected), error
        return error
    raise AssertionError("the call succeeded")


def test_registered_files_cannot_be_overwritten_or_deleted(env: RegistryServer) -> None:
    run = env.new_run()
    name = env.new_model()
    version = env.registry.create_model_version(name, env.log_model(run))
    model_dir = artifact_path(run, "model")
    weights = f"{model_dir}/model.skops"
    stub = env.artifacts

    # Overwriting a registered file, adding one inside the model, deleting a file, the
    # model's folder or a folder above it: all refused, naming the model and the version.
    attempts = [
        (stub.UploadArtifact, upload_requests(weights, b"tampered")),
        (stub.UploadArtifact, upload_requests(f"{model_dir}/extra.py", b"import os")),
        (stub.DeleteArtifacts, apb.DeleteArtifactsRequest(path=weights)),
        (stub.DeleteArtifacts, apb.DeleteArtifactsRequest(path=model_dir)),
        (stub.DeleteArtifacts, apb.DeleteArtifactsRequest(path=artifact_path(run))),
        (stub.DeleteArtifacts, apb.DeleteArtifactsRequest(path=artifact_path(run).split("/")[0])),
    ]
    for call, request in attempts:
        err = _protected(call, request)
        assert name in err.message and f"version {version.version}" in err.message, err.message
        assert err.details["model"] == name
        assert err.details["version"] == str(version.version)

    # Nothing changed: the bytes are the registered ones, nothing was added.
    for rel, data in MODEL_FILES.items():
        assert download(stub, f"{model_dir}/{rel}") == data
    listing = stub.ListArtifacts(
        apb.ListArtifactsRequest(path=model_dir, recursive=True), timeout=CALL_TIMEOUT
    )
    assert sorted(f.path for f in listing.files) == sorted(
        f"{model_dir}/{rel}" for rel in MODEL_FILES
    )
    # A sibling path of the run is not protected.
    upload(stub, artifact_path(run, "notes.txt"), b"fine")
    stub.DeleteArtifacts(
        apb.DeleteArtifactsRequest(path=artifact_path(run, "notes.txt")), timeout=CALL_TIMEOUT
    )


def test_deleting_the_version_lifts_the_protection(env: RegistryServer) -> None:
    run = env.new_run()
    name = env.new_model()
    version = env.registry.create_model_version(name, env.log_model(run))
    model_dir = artifact_path(run, "model")
    weights = f"{model_dir}/model.skops"
    _protected(env.artifacts.UploadArtifact, upload_requests(weights, b"tampered"))
    env.registry.delete_model_version(name, version.version)
    upload(env.artifacts, weights, b"retrained")
    assert download(env.artifacts, weights) == b"retrained"
    env.artifacts.DeleteArtifacts(apb.DeleteArtifactsRequest(path=model_dir), timeout=CALL_TIMEOUT)


def test_two_versions_on_one_folder_both_protect_it(env: RegistryServer) -> None:
    run = env.new_run()
    name = env.new_model()
    source = env.log_model(run)
    first = env.registry.create_model_version(name, source)
    copy = env.registry.create_model_version(name, f"models:/{name}/{first.version}")
    assert copy.storage_location == first.storage_location
    assert copy.content_digest == first.content_digest
    env.registry.delete_model_version(name, first.version)
    weights = f"{artifact_path(run, 'model')}/model.skops"
    err = _protected(env.artifacts.UploadArtifact, upload_requests(weights, b"x"))
    assert err.details["version"] == str(copy.version)
