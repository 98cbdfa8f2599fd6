"""The model-source policy (FsspecSourceInspector.check) and MLmodel parsing: pure logic."""

from __future__ import annotations

import pytest

from modelyard.artifacts.model_sources import (
    FsspecSourceInspector,
    parse_source,
    read_mlmodel,
    storage_uri,
)
from modelyard.entities.model_registry import SignatureMetadata
from modelyard.errors import (
    InvalidArgument,
    ModelyardError,
    PermissionDenied,
)

RUN = "s3://bucket/exp/1/run-a/artifacts"
AZ = "wasbs://models@acct.blob.core.windows.net/exp/run-a/artifacts"


def _raises(expected: type[ModelyardError], fn: object, *args: object, **kw: object) -> str:
    with pytest.raises(expected) as info:
        fn(*args, **kw)  # type: ignore[operator]
    assert info.value.code == expected.code
    return info.value.message


@pytest.mark.parametrize(
    ("source", "canonical"),
    [
        ("s3://bucket/exp/1/run-a/artifacts/model", f"{RUN}/model"),
        ("S3://bucket/exp/1/run-a/artifacts/model/", f"{RUN}/model"),
        ("s3://bucket/exp/1/run-a/artifacts", RUN),
        (f"{AZ}/model", f"{AZ}/model"),
        (
            "wasbs://models@ACCT.Blob.Core.Windows.Net/exp/run-a/artifacts/m",
            f"{AZ}/m",
        ),
    ],
)
def test_sources_under_the_run_are_canonicalised(source: str, canonical: str) -> None:
    run = AZ if "wasbs" in source.lower() else RUN
    assert FsspecSourceInspector().check(source, run_artifact_uri=run) == canonical


@pytest.mark.parametrize(
    "source",
    [
        "s3://bucket/exp/1/run-a/artifacts/../run-b/artifacts/model",
        "s3://bucket/exp/1/run-a/artifacts/./model",
        "s3://bucket/exp/1/run-a/artifacts//model",
        "s3://bucket/exp/1/run-a/artifacts/model?versionId=3",
        "s3://bucket/exp/1/run-a/artifacts/model#top",
        "s3://bucket/exp/1/run-a/artifacts/%2e%2e/x",
        "s3://bucket/exp/1/run-a/artifacts/model;type=a",
        "s3://bucket/exp/1/run-a/artifacts/mo\\del",
        "s3://bucket/exp/1/run-a/artifacts/mo\x00del",
        "s3://bucket/exp/1/run-a/artifacts/mo\x1bdel",
        "s3://user:pw@bucket/exp/1/run-a/artifacts/model",
        "s3://bucket:443/exp/1/run-a/artifacts/model",
        "wasbs://models@acct.blob.core.windows.net:443/exp/run-a/artifacts",
        "modelyard-artifacts://u@host:5000/x",
        "file://host/tmp/model",
        "file:relative/model",
        "/tmp/run/../other",
        "C:/models/x",
        "",
    ],
)
def test_malformed_sources_are_invalid_and_named(source: str) -> None:
    message = _raises(InvalidArgument, FsspecSourceInspector().check, source, run_artifact_uri=RUN)
    assert repr(source) in message


@pytest.mark.parametrize(
    "source",
    [
        "s3://bucket/exp/1/run-b/artifacts/model",  # another run
        "s3://bucket/exp/1/run-a/artifactsX/model",  # a sibling sharing a prefix
        "s3://bucket/exp/1/run-a",  # above the run's root
        "s3://other-bucket/exp/1/run-a/artifacts/model",
        "wasbs://models@other.blob.core.windows.net/exp/1/run-a/artifacts/model",
        "file:///tmp/exp/1/run-a/artifacts/model",
        "/srv/mlartifacts/1/run-a/artifacts/model",
        "http://bucket.s3.amazonaws.com/exp/1/run-a/artifacts/model",
        "runs:/run-a/model",
    ],
)
def test_sources_outside_the_run_are_denied(source: str) -> None:
    message = _raises(PermissionDenied, FsspecSourceInspector().check, source, run_artifact_uri=RUN)
    assert repr(source) in message


def test_without_a_run_only_the_allowed_roots() -> None:
    inspector = FsspecSourceInspector(allowed_roots=["s3://bucket/models", "/srv/models"])
    assert inspector.check("s3://bucket/models/a", run_artifact_uri=None) == "s3://bucket/models/a"
    assert inspector.check("/srv/models/a", run_artifact_uri=None) == "file:///srv/models/a"
    for source in ("s3://bucket/modelsX/a", "s3://bucket/other", "/srv/other", RUN):
        message = _raises(PermissionDenied, inspector.check, source, run_artifact_uri=None)
        assert repr(source) in message and "--allowed-model-sources" in message


def test_proxied_sources_need_a_destination() -> None:
    run = "modelyard-artifacts:/1/run-a/artifacts"
    message = _raises(
        InvalidArgument,
        FsspecSourceInspector().check,
        f"{run}/model",
        run_artifact_uri=run,
    )
    assert "no artifact destination" in message


def test_split_mode_sources_stay_on_their_runs_artifact_server() -> None:
    run = "modelyard-artifacts://art.example:5001/1/run-a/artifacts"
    inspector = FsspecSourceInspector()
    location = inspector.check(f"{run}/model", run_artifact_uri=run)
    assert location == f"{run}/model"
    for denied in (
        "modelyard-artifacts://other.example:5001/1/run-a/artifacts/model",
        "modelyard-artifacts://art.example:5002/1/run-a/artifacts/model",
        "s3://art.example/1/run-a/artifacts/model",
    ):
        _raises(PermissionDenied, inspector.check, denied, run_artifact_uri=run)


def test_bad_allowed_roots_are_refused_at_start() -> None:
    with pytest.raises(InvalidArgument):
        FsspecSourceInspector(allowed_roots=["s3://bucket/../x"])
    with pytest.raises(PermissionDenied):
        FsspecSourceInspector(allowed_roots=["http://example.com/models"])


def test_parse_and_storage_uri_agree() -> None:
    for text in ("s3://b/p", "modelyard-artifacts:/1/2", "modelyard-artifacts://h:1/x", "/a/b"):
        canon = parse_source(text)
        assert parse_source(storage_uri(text, canon)) == canon
    assert parse_source("file:///a/b") == parse_source("/a/b") == parse_source("file:/a/b")


def test_read_mlmodel() -> None:
    signature, example = read_mlmodel(
        b"signature:\n  inputs: '[1]'\n  outputs: null\nsaved_input_example_info:\n"
        b"  artifact_path: ex.json\n",
        "s3://b/m",
    )
    assert signature == SignatureMetadata(inputs="[1]", outputs=None, params=None)
    assert example == "ex.json"
    assert read_mlmodel(b"flavors: {}\n", "s3://b/m") == (None, None)
    for bad in (b"flavors: [unclosed", b"- a list\n", b"\xff\xfe"):
        message = _raises(InvalidArgument, read_mlmodel, bad, "s3://b/m")
        assert "'s3://b/m'" in message
    message = _raises(
        InvalidArgument,
        read_mlmodel,
        b"saved_input_example_info:\n  artifact_path: ../../etc/passwd\n",
        "s3://b/m",
    )
    assert "../../etc/passwd" in message
