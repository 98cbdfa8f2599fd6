"""The seed artifact examples in every deployment mode of DESIGN.md, each as its own process.

Modes: embedded (SQLite and ./mlartifacts in the working directory), a tracking server that
proxies artifacts to a local folder, to S3 (moto) and to Azure Blob (Azurite), direct-to-bucket
on S3 and on Azure (the experiment names the bucket, the server runs with
--no-serve-artifacts and only allows that bucket, the client process has the credentials), and
split (a tracking server whose default root names a separate --artifacts-only server).

Each example runs unchanged (examples/log_artifacts.py: log_artifacts with artifact_path,
get_artifact_uri, resuming the run by id; examples/log_model_file.py: log_artifact of a model
file). Then the test lists and downloads the artifacts through `modelyard.Client`, compares the
bytes with the files the example wrote, and reads the same bytes from the backend itself (the
destination folder, boto3, azure-storage-blob) to prove where they landed. In the proxied modes
the example process has no cloud credentials at all; in the direct modes the server has none
and its ArtifactService is off.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from modelyard.client import Client
from modelyard.client import client as client_module
from modelyard.client.artifact_repos import ProxiedRepository
from modelyard.errors import Unimplemented
from modelyard.server.serve import mode_module
from modelyard.server.settings import ServerSettings

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = REPO_ROOT / "examples"
AZURE_ACCOUNT = "devstoreaccount1"
#: Variables the example processes never inherit from the test process.
_PRIVATE_ENV = ("MODELYARD_", "AWS_", "AZURE_")

MODES = [
    "embedded",
    "proxied-local",
    "proxied-s3",
    "proxied-azure",
    "direct-s3",
    "direct-azure",
    "split",
]


@dataclass
class Deployment:
    """One running deployment and what a test needs to use and inspect it."""

    mode: str
    workdir: Path
    """The examples' working directory."""
    tracking_uri: str | None
    """None for the embedded mode (the example uses ./modelyard.db in its directory)."""
    uri_prefix: str
    """What every run artifact URI of this deployment starts with."""
    physical_root: Callable[[str], str]
    """A run artifact URI -> the URI of the same bytes in the backend (identity when direct)."""
    read_physical: Callable[[str], bytes]
    """Read a backend URI with the backend's own client (not modelyard)."""
    client_env: dict[str, str] = field(default_factory=dict)
    """Extra environment of the example processes (credentials, in the direct modes)."""
    experiment_location: str | None = None
    """Direct modes: the artifact_location of the experiments the examples log to."""

    def client(self) -> Client:
        """A Client on this deployment's tracking store."""
        return Client(self.tracking_uri or f"sqlite:///{self.workdir / 'modelyard.db'}")


def _read_file_uri(uri: str) -> bytes:
    return Path(unquote(urlsplit(uri).path)).read_bytes()


def _s3_reader(endpoint: str) -> Callable[[str], bytes]:
    from tests.object_stores import s3_client

    s3 = s3_client(endpoint)

    def read(uri: str) -> bytes:
        parts = urlsplit(uri)
        assert parts.scheme == "s3", uri
        body: bytes = s3.get_object(Bucket=parts.netloc, Key=parts.path.lstrip("/"))["Body"].read()
        return body

    return read


def _azure_reader(connection_string: str) -> Callable[[str], bytes]:
    from tests.object_stores import blob_service

    def read(uri: str) -> bytes:
        parts = urlsplit(uri)
        assert parts.scheme == "wasbs", uri
        container, _, host = parts.netloc.partition("@")
        assert host.startswith(f"{AZURE_ACCOUNT}."), uri
        with blob_service(connection_string) as service:
            blob = service.get_blob_client(container, parts.path.lstrip("/"))
            data: bytes = blob.download_blob().readall()
            return data

    return read


def _proxied_to(destination: str) -> Callable[[str], str]:
    """modelyard-artifacts:[//host:port]/<p> -> <destination>/<p>."""

    def physical(uri: str) -> str:
        parts = urlsplit(uri)
        assert parts.scheme == "modelyard-artifacts", uri
        return destination.rstrip("/") + "/" + parts.path.lstrip("/")

    return physical


def _identity(uri: str) -> str:
    return uri


@pytest.fixture
def deployment(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    live_server: Any,
) -> Iterator[Deployment]:
    """The deployment named by the test's `mode` parameter, started for one test."""
    mode: str = request.param
    for name in list(os.environ):
        if name.startswith(_PRIVATE_ENV):
            monkeypatch.delenv(name)
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(tmp_path)  # a server's ./mlartifacts default must not land in the repo
    backend = f"sqlite:///{tmp_path / 'server.db'}"
    started: list[Any] = []
    try:
        yield _deploy(mode, request, tmp_path, workdir, backend, monkeypatch, live_server, started)
    finally:
        for bundle in started:
            bundle.server.stop(1.0).wait(30)
            bundle.close()
        for key in [k for k in client_module._backends if str(tmp_path) in k]:
            backend_obj = client_module._backends.pop(key)
            backend_obj.store.close()


def _deploy(
    mode: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    workdir: Path,
    backend: str,
    monkeypatch: pytest.MonkeyPatch,
    live_server: Any,
    started: list[Any],
) -> Deployment:
    if mode == "embedded":
        return Deployment(
            mode,
            workdir,
            None,
            uri_prefix=(workdir / "mlartifacts").as_uri() + "/",
            physical_root=_identity,
            read_physical=_read_file_uri,
        )
    if mode == "proxied-local":
        dest = tmp_path / "destination"
        uri = live_server(backend, artifacts_destination=str(dest))
        return Deployment(
            mode,
            workdir,
            uri,
            uri_prefix="modelyard-artifacts:/",
            physical_root=_proxied_to(dest.as_uri()),
            read_physical=_read_file_uri,
        )
    if mode in ("proxied-s3", "direct-s3"):
        endpoint: str = request.getfixturevalue("moto_endpoint")
        bucket: str = request.getfixturevalue("s3_bucket")
        env: dict[str, str] = request.getfixturevalue("s3_storage_env")
        if mode == "proxied-s3":
            for name, value in env.items():  # the server (this process) holds the credentials
                monkeypatch.setenv(name, value)
            dest_uri = f"s3://{bucket}/destination"
            uri = live_server(backend, artifacts_destination=dest_uri, s3_endpoint_url=endpoint)
            return Deployment(
                mode,
                workdir,
                uri,
                uri_prefix="modelyard-artifacts:/",
                physical_root=_proxied_to(dest_uri),
                read_physical=_s3_reader(endpoint),
            )
        location = f"s3://{bucket}/direct"
        uri = live_server(
            backend, serve_artifacts=False, allowed_artifact_roots=(f"s3://{bucket}/",)
        )
        for name, value in env.items():  # to read back through Client (direct) in this process
            monkeypatch.setenv(name, value)
        return Deployment(
            mode,
            workdir,
            uri,
            uri_prefix=location + "/",
            physical_root=_identity,
            read_physical=_s3_reader(endpoint),
            client_env=env,
            experiment_location=location,
        )
    if mode in ("proxied-azure", "direct-azure"):
        conn: str = request.getfixturevalue("azurite_connection_string")
        container: str = request.getfixturevalue("azure_container")
        env = {"AZURE_STORAGE_CONNECTION_STRING": conn}
        base = f"wasbs://{container}@{AZURE_ACCOUNT}.blob.core.windows.net"
        monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", conn)
        if mode == "proxied-azure":
            dest_uri = f"{base}/destination"
            uri = live_server(backend, artifacts_destination=dest_uri)
            return Deployment(
                mode,
                workdir,
                uri,
                uri_prefix="modelyard-artifacts:/",
                physical_root=_proxied_to(dest_uri),
                read_physical=_azure_reader(conn),
            )
        location = f"{base}/direct"
        uri = live_server(backend, serve_artifacts=False, allowed_artifact_roots=(f"{base}/",))
        return Deployment(
            mode,
            workdir,
            uri,
            uri_prefix=location + "/",
            physical_root=_identity,
            read_physical=_azure_reader(conn),
            client_env=env,
            experiment_location=location,
        )
    assert mode == "split"
    dest = tmp_path / "artifact-server-destination"
    settings = ServerSettings(
        artifacts_only=True, artifacts_destination=str(dest), host="127.0.0.1", port=0, workers=8
    )
    bundle = mode_module(settings).build(settings)
    bundle.server.start()
    started.append(bundle)
    root = f"modelyard-artifacts://127.0.0.1:{bundle.port}/"
    uri = live_server(backend, default_artifact_root=root, serve_artifacts=False)
    return Deployment(
        mode,
        workdir,
        uri,
        uri_prefix=root,
        physical_root=_proxied_to(dest.as_uri()),
        read_physical=_read_file_uri,
    )


def _run_example(deployment: Deployment, name: str, extra_env: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_PRIVATE_ENV)}
    env.update(deployment.client_env)
    env.update(extra_env)
    if deployment.tracking_uri:
        env["MODELYARD_TRACKING_URI"] = deployment.tracking_uri
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        cwd=deployment.workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, (
        f"{name} failed in {deployment.mode}:\n{proc.stdout}\n{proc.stderr}"
    )
    return proc.stdout


def _run_id(stdout: str) -> str:
    match = re.search(r"run_id: ([0-9a-f]{32})", stdout)
    assert match, stdout
    return match.group(1)


def _check_files(
    deployment: Deployment, run_id: str, path: str, expected: dict[str, bytes], dst: Path
) -> None:
    """Download `path` of the run to dst and read each file from the backend: both == expected."""
    client = deployment.client()
    local = Path(client.download_artifacts(run_id, path, dst))
    assert local == dst.joinpath(*path.split("/")) if path else dst
    got = {p.relative_to(dst).as_posix(): p.read_bytes() for p in dst.rglob("*") if p.is_file()}
    assert got == expected
    root = client.get_run(run_id).info.artifact_uri
    for rel, data in expected.items():
        assert deployment.read_physical(deployment.physical_root(f"{root}/{rel}")) == data, rel


@pytest.mark.parametrize("deployment", MODES, indirect=True)
def test_seed_examples(deployment: Deployment, tmp_path: Path) -> None:
    """log_artifacts + get_artifact_uri + resume by id, and log_artifact of a model file."""
    client = deployment.client()
    model_env: dict[str, str] = {}
    if deployment.experiment_location is not None:
        # Direct-to-bucket: the experiments name the bucket (allowed by the server's policy).
        location = deployment.experiment_location
        client.create_experiment("tracking-experiment", artifact_location=f"{location}/tracking")
        client.create_experiment("model-files", artifact_location=f"{location}/models")
        model_env["MODELYARD_EXPERIMENT_NAME"] = "model-files"

    stdout = _run_example(deployment, "log_artifacts.py", {})
    client = deployment.client()
    run = client.get_run(_run_id(stdout))
    artifact_uri = run.info.artifact_uri
    assert artifact_uri.startswith(deployment.uri_prefix), artifact_uri
    assert artifact_uri.endswith(f"/{run.info.run_id}/artifacts")
    assert f"Artifact uri: {artifact_uri}\n" in stdout
    assert stdout.count(f"run_id: {run.info.run_id}") == 2  # the second block resumed it
    assert run.info.status == "FINISHED"
    assert run.data.params["learning_rate"] == "0.01"
    data_dir = deployment.workdir / "data"
    sources = {f"states/{p.name}": p.read_bytes() for p in sorted(data_dir.iterdir())}
    assert sorted(sources) == ["states/data.json", "states/features.txt"]
    assert [(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(run.info.run_id)] == [
        ("states", True, None)
    ]
    assert [
        (f.path, f.is_dir, f.file_size) for f in client.list_artifacts(run.info.run_id, "states")
    ] == [(rel, False, len(data)) for rel, data in sorted(sources.items())]
    _check_files(deployment, run.info.run_id, "states", sources, tmp_path / "dl-states")

    stdout = _run_example(deployment, "log_model_file.py", model_env)
    model_run = client.get_run(_run_id(stdout))
    assert model_run.info.artifact_uri.startswith(deployment.uri_prefix)
    model = (deployment.workdir / "model" / "model.pkl").read_bytes()
    assert [
        (f.path, f.is_dir, f.file_size) for f in client.list_artifacts(model_run.info.run_id)
    ] == [("model.pkl", False, len(model))]
    _check_files(
        deployment, model_run.info.run_id, "model.pkl", {"model.pkl": model}, tmp_path / "dl-model"
    )
    # The whole run root, to a chosen folder.
    _check_files(deployment, model_run.info.run_id, "", {"model.pkl": model}, tmp_path / "dl-all")

    if deployment.experiment_location is not None:
        # The tracking server never carries artifact bytes here: its ArtifactService is off.
        assert deployment.tracking_uri is not None
        repo = ProxiedRepository("modelyard-artifacts:/", tracking_uri=deployment.tracking_uri)
        with pytest.raises(Unimplemented, match="no-serve-artifacts"):
            repo.list("")
