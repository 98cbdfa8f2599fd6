"""Live servers for the artifact tests, in every mode, with raw gRPC stubs, and what the tests
share: request builders, error helpers, and per-destination probes for partial uploads.

Servers are built by the same `mode_module(settings).build` that `modelyard server` uses, bind
127.0.0.1:0 and run in this process. The moto and Azurite fixtures (`moto_endpoint`,
`s3_bucket`, `s3_storage_env`, `azurite_connection_string`, `azure_container`) come from
tests/object_stores.py.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest

from modelyard.server.assembly import ServerBundle
from modelyard.server.serve import mode_module
from modelyard.server.settings import ServerSettings
from modelyard.v1 import artifacts_pb2 as apb
from modelyard.v1 import artifacts_pb2_grpc as apb_grpc
from modelyard.v1 import tracking_pb2 as tpb
from modelyard.v1 import tracking_pb2_grpc as tpb_grpc
from modelyard.wire.status import error_from_rpc

#: Per-call deadline: a safety net against hangs, never an assertion about speed.
CALL_TIMEOUT = 60.0
#: How long to wait for the server to notice an interrupted stream (polling, not asserting).
NOTICE_TIMEOUT = 60.0
#: The reserved folder of local partial uploads (see modelyard.artifacts.paths).
PARTIAL_DIR = ".modelyard-partial"
MiB = 1024 * 1024


@dataclass
class ArtifactServer:
    """A running in-process server and raw stubs on one channel."""

    settings: ServerSettings
    bundle: ServerBundle
    channel: grpc.Channel
    artifacts: apb_grpc.ArtifactServiceStub
    tracking: tpb_grpc.TrackingServiceStub
    stopped: bool = False

    @property
    def port(self) -> int:
        """The bound port."""
        return self.bundle.port

    @property
    def address(self) -> str:
        """host:port for new channels."""
        return f"127.0.0.1:{self.bundle.port}"

    def stop(self, grace: float | None = None) -> None:
        """Stop the server (cancelling in-flight calls after `grace`) and release its stores."""
        if self.stopped:
            return
        self.stopped = True
        self.channel.close()
        self.bundle.server.stop(grace).wait(CALL_TIMEOUT)
        self.bundle.close()


@dataclass
class ArtifactServers:
    """Factory of in-process servers; `close()` stops them all."""

    base: Path
    running: list[ArtifactServer] = field(default_factory=list)

    def __call__(self, **settings: Any) -> ArtifactServer:
        """Start a server (full mode unless artifacts_only=True); defaults under `base`."""
        defaults: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": 0,
            "workers": 8,
            "backend_store_uri": f"sqlite:///{self.base / 'modelyard.db'}",
            "artifacts_destination": str(self.base / "destination"),
            "grace_seconds": 1.0,
        }
        conf = ServerSettings(**{**defaults, **settings})
        bundle: ServerBundle = mode_module(conf).build(conf)
        bundle.server.start()
        channel = grpc.insecure_channel(f"127.0.0.1:{bundle.port}")
        server = ArtifactServer(
            settings=conf,
            bundle=bundle,
            channel=channel,
            artifacts=apb_grpc.ArtifactServiceStub(channel),
            tracking=tpb_grpc.TrackingServiceStub(channel),
        )
        self.running.append(server)
        return server

    def close(self) -> None:
        """Stop every server started here, newest first."""
        while self.running:
            self.running.pop().stop(1.0)


@pytest.fixture
def artifact_servers(tmp_path: Path) -> Iterator[ArtifactServers]:
    """Factory: `server = artifact_servers(**ServerSettings fields)`; all stopped after the test."""
    servers = ArtifactServers(tmp_path)
    try:
        yield servers
    finally:
        servers.close()


@pytest.fixture(scope="module")
def module_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArtifactServers]:
    """The same factory; servers live until the end of the module."""
    servers = ArtifactServers(tmp_path_factory.mktemp("artifact-server"))
    try:
        yield servers
    finally:
        servers.close()


@pytest.fixture(scope="module")
def local_server(module_servers: ArtifactServers) -> ArtifactServer:
    """A full server proxying artifacts to a local destination, shared by a module."""
    return module_servers()


def destination_dir(server: ArtifactServer) -> Path:
    """The local destination folder of a server (its settings name a plain path)."""
    assert server.settings.artifacts_destination is not None
    return Path(server.settings.artifacts_destination)


# -- requests and errors ---------------------------------------------------------------------


def upload_requests(
    path: str,
    data: bytes,
    *,
    chunk_size: int = MiB,
    trailer: bool = True,
    size: int | None = None,
    sha256: str | None = None,
) -> Iterator[apb.UploadArtifactRequest]:
    """Header, chunks and (unless `trailer` is False) a trailer, optionally with wrong values."""
    yield apb.UploadArtifactRequest(header=apb.UploadArtifactHeader(path=path))
    for start in range(0, len(data), chunk_size):
        yield apb.UploadArtifactRequest(chunk=data[start : start + chunk_size])
    if trailer:
        yield apb.UploadArtifactRequest(
            trailer=apb.UploadArtifactTrailer(
                size=len(data) if size is None else size,
                sha256=hashlib.sha256(data).hexdigest() if sha256 is None else sha256,
            )
        )


def upload(
    stub: apb_grpc.ArtifactServiceStub, path: str, data: bytes, **kwargs: Any
) -> apb.UploadArtifactResponse:
    """Upload `data` to `path` in one stream."""
    return stub.UploadArtifact(upload_requests(path, data, **kwargs), timeout=CALL_TIMEOUT)


def download(
    stub: apb_grpc.ArtifactServiceStub, path: str, offset: int = 0
) -> tuple[apb.DownloadArtifactHeader, bytes, apb.DownloadArtifactTrailer, int]:
    """(header, bytes, trailer, number of chunk messages) of one download stream."""
    parts = list(
        stub.DownloadArtifact(
            apb.DownloadArtifactRequest(path=path, offset=offset), timeout=CALL_TIMEOUT
        )
    )
    assert parts[0].WhichOneof("part") == "header"
    assert parts[-1].WhichOneof("part") == "trailer"
    chunks = [p.chunk for p in parts[1:-1]]
    assert all(p.WhichOneof("part") == "chunk" for p in parts[1:-1])
    return parts[0].header, b"".join(chunks), parts[-1].trailer, len(chunks)


def rpc_error(call: Callable[..., Any], *args: Any) -> grpc.RpcError:
    """The RpcError a call raises (streaming results are drained); fails if it succeeds."""
    try:
        result = call(*args, timeout=CALL_TIMEOUT)
        if hasattr(result, "__iter__") and not hasattr(result, "SerializeToString"):
            list(result)
    except grpc.RpcError as err:
        return err
    raise AssertionError(f"{call} succeeded")


def reason_of(err: grpc.RpcError) -> str:
    """The ErrorInfo reason of a failed call."""
    return error_from_rpc(err).reason  # type: ignore[arg-type]


def stat_or_none(stub: apb_grpc.ArtifactServiceStub, path: str) -> apb.ArtifactInfo | None:
    """The ArtifactInfo at `path`, or None when the server answers NOT_FOUND."""
    try:
        return stub.StatArtifact(apb.StatArtifactRequest(path=path), timeout=CALL_TIMEOUT).info
    except grpc.RpcError as err:
        if err.code() == grpc.StatusCode.NOT_FOUND:
            return None
        raise


def create_experiment(
    stub: tpb_grpc.TrackingServiceStub, name: str, location: str = ""
) -> tpb.Experiment:
    """Create an experiment through the raw stub and return it."""
    response = stub.CreateExperiment(
        tpb.CreateExperimentRequest(name=name, artifact_location=location), timeout=CALL_TIMEOUT
    )
    return response.experiment


def wait_until(condition: Callable[[], bool], what: str, timeout: float = NOTICE_TIMEOUT) -> None:
    """Poll `condition` until it holds; fail naming `what` if it never does."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.05)


# -- destinations and their partial uploads --------------------------------------------------


@dataclass
class Destination:
    """A server destination and raw probes into it (no modelyard code), whatever the store."""

    kind: str
    uri: str
    settings: dict[str, Any]
    started: Callable[[], bool]
    """True once an upload in progress left a trace (temporary file, multipart upload, staged
    blocks)."""
    partials: Callable[[], list[str]]
    """What uploads in progress left behind and must be gone after an abort: temporary files
    (local), multipart uploads (S3). Azure keeps uncommitted blocks until it expires them
    (7 days) and offers no call to drop them, so for Azure this is always empty."""
    exists: Callable[[str], bool]
    """True when a committed file exists at a path relative to the destination."""


def _local_destination(root: Path) -> Destination:
    def partials() -> list[str]:
        partial = root / PARTIAL_DIR
        return sorted(p.name for p in partial.iterdir()) if partial.is_dir() else []

    return Destination(
        kind="local",
        uri=str(root),
        settings={"artifacts_destination": str(root)},
        started=lambda: bool(partials()),
        partials=partials,
        exists=lambda path: (root / path).exists(),
    )


def _s3_destination(env: dict[str, str], endpoint: str, bucket: str) -> Destination:
    import boto3
    from botocore.exceptions import ClientError

    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env.get("AWS_DEFAULT_REGION", "us-east-1"),
    )

    def partials() -> list[str]:
        found = s3.list_multipart_uploads(Bucket=bucket, Prefix="proxied/").get("Uploads", [])
        return sorted(u["Key"] for u in found)

    def exists(path: str) -> bool:
        try:
            s3.head_object(Bucket=bucket, Key=f"proxied/{path}")
        except ClientError:
            return False
        return True

    uri = f"s3://{bucket}/proxied"
    return Destination(
        kind="s3",
        uri=uri,
        settings={"artifacts_destination": uri, "s3_endpoint_url": endpoint},
        started=lambda: bool(partials()),
        partials=partials,
        exists=exists,
    )


def _azure_destination(connection_string: str, container: str) -> Destination:
    from azure.storage.blob import BlobServiceClient

    client = BlobServiceClient.from_connection_string(connection_string).get_container_client(
        container
    )

    def names(**kwargs: Any) -> set[str]:
        return {b.name for b in client.list_blobs(name_starts_with="proxied/", **kwargs)}

    def started() -> bool:
        return bool(names(include=["uncommittedblobs"]) - names())

    uri = f"wasbs://{container}@devstoreaccount1.blob.core.windows.net/proxied"
    return Destination(
        kind="azure",
        uri=uri,
        settings={"artifacts_destination": uri},
        started=started,
        partials=list,
        exists=lambda path: f"proxied/{path}" in names(),
    )


@pytest.fixture(params=["local", "s3", "azure"])
def destination(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Destination:
    """Each kind of destination in turn: a local folder, a moto bucket, an Azurite container.

    The storage credentials go into this process's environment, where the in-process server
    finds them as it would in production.
    """
    if request.param == "local":
        return _local_destination(tmp_path / "destination")
    if request.param == "s3":
        endpoint: str = request.getfixturevalue("moto_endpoint")
        bucket: str = request.getfixturevalue("s3_bucket")
        env: dict[str, str] = dict(request.getfixturevalue("s3_storage_env"))
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return _s3_destination(env, endpoint, bucket)
    connection_string: str = request.getfixturevalue("azurite_connection_string")
    container: str = request.getfixturevalue("azure_container")
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", connection_string)
    return _azure_destination(connection_string, container)


class AbortLog(logging.Handler):
    """Collects the servicer's "upload aborted" records (the server noticed a dropped stream)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.paths: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Remember the path of an aborted upload."""
        if record.getMessage().startswith("upload aborted"):
            self.paths.append(str(getattr(record, "path", "")))


@pytest.fixture
def aborted_uploads() -> Iterator[AbortLog]:
    """The paths of uploads the server aborted because their stream was cancelled."""
    logger = logging.getLogger("modelyard.server.artifacts")
    handler = AbortLog()
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def client_env() -> dict[str, str]:
    """Environment for client subprocesses: this checkout first on sys.path."""
    root = Path(__file__).resolve().parents[3]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def chunks_of(data: bytes, size: int) -> Iterable[bytes]:
    """`data` in pieces of `size` bytes."""
    return (data[i : i + size] for i in range(0, len(data), size))
