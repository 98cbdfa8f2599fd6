"""filesystem_for and StorageOptions: which store a root URI opens, endpoint overrides (flag or
environment) against the moto server, every Azure scheme against Azurite, refused URIs."""

from __future__ import annotations

import os
from pathlib import Path

import fsspec
import pytest

from modelyard.artifacts.filesystems import (
    S3_ENDPOINT_ENV,
    StorageOptions,
    filesystem_for,
)
from modelyard.artifacts.store import ArtifactStore
from modelyard.errors import FailedPrecondition, InvalidArgument
from tests.object_stores import AZURITE_ACCOUNT

pytestmark = pytest.mark.integration


def test_local_roots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for uri, expected in [
        ("mlartifacts", tmp_path / "mlartifacts"),
        ("./a/b/", tmp_path / "a" / "b"),
        (str(tmp_path / "x"), tmp_path / "x"),
        ((tmp_path / "with space").as_uri(), tmp_path / "with space"),
        (f"file://localhost{tmp_path}/y", tmp_path / "y"),
        (f"file:{tmp_path}/z", tmp_path / "z"),
    ]:
        fs, root = filesystem_for(uri)
        assert "file" in fs.protocol and root == str(expected), uri
        assert ArtifactStore(uri).is_local


@pytest.mark.parametrize(
    "uri",
    [
        "http://example.com/x",
        "https://example.com/x",
        "ftp://example.com/x",
        "gs://bucket/x",
        "modelyard-artifacts:/1/abc",
        "hdfs://nn/x",
    ],
)
def test_unsupported_schemes_are_refused(uri: str) -> None:
    with pytest.raises(InvalidArgument, match="unsupported scheme") as info:
        filesystem_for(uri)
    assert repr(uri) in str(info.value) and info.value.details["uri"] == uri


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "file://otherhost/tmp/x",
        "file:///tmp/x?y=1",
        "file:///tmp/x#frag",
        "s3://",
        "s3:///key",
        "s3://bucket/x?versionId=1",
        "s3://user@bucket/x",
        "s3://bucket:9000/x",
        "wasbs://@acct.blob.core.windows.net/x",
        "wasbs://c@acct.example.com/x",
        "az://c/x#frag",
    ],
)
def test_malformed_roots_are_refused(uri: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        filesystem_for(uri)
    assert repr(uri) in str(info.value)


def test_s3_endpoint_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(S3_ENDPOINT_ENV, raising=False)
    assert StorageOptions().resolved_s3_endpoint_url() is None
    monkeypatch.setenv(S3_ENDPOINT_ENV, "http://127.0.0.1:1")
    assert StorageOptions().resolved_s3_endpoint_url() == "http://127.0.0.1:1"
    option = StorageOptions(s3_endpoint_url="http://127.0.0.1:2")
    assert option.resolved_s3_endpoint_url() == "http://127.0.0.1:2"
    fs, root = filesystem_for("s3://bucket/some/prefix/", option)
    assert root == "bucket/some/prefix"
    assert fs.client_kwargs.get("endpoint_url", fs.endpoint_url) == "http://127.0.0.1:2"


def _s3_credentials_only(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.delenv(S3_ENDPOINT_ENV)


def test_s3_endpoint_from_the_option(
    s3_storage_env: dict[str, str],
    moto_endpoint: str,
    s3_bucket: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _s3_credentials_only(monkeypatch, s3_storage_env)
    store = ArtifactStore(f"s3://{s3_bucket}/opt", StorageOptions(s3_endpoint_url=moto_endpoint))
    with store.open_upload("a.txt") as upload:
        upload.write(b"via option")
        upload.commit()
    assert [e.path for e in store.list()] == ["a.txt"]


def test_s3_endpoint_from_the_environment(
    s3_storage_env: dict[str, str],
    moto_endpoint: str,
    s3_bucket: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _s3_credentials_only(monkeypatch, s3_storage_env)
    monkeypatch.setenv(S3_ENDPOINT_ENV, moto_endpoint)
    store = ArtifactStore(f"s3://{s3_bucket}")  # the bucket itself as the root
    with store.open_upload("d/b.txt") as upload:
        upload.write(b"via env")
        upload.commit()
    assert [(e.path, e.is_dir) for e in store.list()] == [("d", True)]
    with store.read("d/b.txt") as reader:
        assert b"".join(reader) == b"via env"


def test_every_azure_scheme_reaches_the_same_blobs(
    azure_storage_env: dict[str, str], azure_container: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in azure_storage_env.items():
        monkeypatch.setenv(key, value)
    host = f"{AZURITE_ACCOUNT}.blob.core.windows.net"
    writer = ArtifactStore(f"wasbs://{azure_container}@{host}/shared")
    with writer.open_upload("x/y.txt") as upload:
        upload.write(b"blob")
        upload.commit()
    for uri in [
        f"wasbs://{azure_container}@{host}/shared",
        f"wasb://{azure_container}@{host}/shared/",
        f"abfs://{azure_container}@{AZURITE_ACCOUNT}.dfs.core.windows.net/shared",
        f"abfss://{azure_container}/shared",
        f"az://{azure_container}/shared",
    ]:
        store = ArtifactStore(uri)
        assert store.root == f"{azure_container}/shared", uri
        assert [e.path for e in store.list("", recursive=True)] == ["x/y.txt"], uri


def test_wasbs_is_registered_with_fsspec(
    azure_storage_env: dict[str, str], azure_container: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import modelyard.artifacts.filesystems  # noqa: F401  (registers wasbs/wasb)

    for key, value in azure_storage_env.items():
        monkeypatch.setenv(key, value)
    url = f"wasbs://{azure_container}@{AZURITE_ACCOUNT}.blob.core.windows.net/plain.txt"
    with fsspec.open(url, "wb") as f:
        f.write(b"through fsspec")
    fs, path = fsspec.core.url_to_fs(url)
    assert path == f"{azure_container}/plain.txt" and fs.cat(path) == b"through fsspec"


def test_azure_account_must_match_the_connection_string(
    azure_storage_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in azure_storage_env.items():
        monkeypatch.setenv(key, value)
    uri = "wasbs://models@otheraccount.blob.core.windows.net/x"
    with pytest.raises(FailedPrecondition) as info:
        ArtifactStore(uri)
    message = str(info.value)
    assert repr(uri) in message and "'otheraccount'" in message
    assert repr(AZURITE_ACCOUNT) in message


def test_azure_without_credentials_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("AZURE_STORAGE_"):
            monkeypatch.delenv(key)
    with pytest.raises(FailedPrecondition, match="AZURE_STORAGE_CONNECTION_STRING"):
        ArtifactStore("az://container/x")
