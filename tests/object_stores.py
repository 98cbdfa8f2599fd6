"""Object-store fixtures (pytest plugin, loaded by tests/conftest.py): moto server and Azurite.

Both servers are started once per test session on free 127.0.0.1 ports and stopped at the end.
They keep every object in memory, so tests keep their objects small and the function-scoped
bucket and container fixtures empty and delete what they created.

- `moto_endpoint` (session): `http://127.0.0.1:<port>` of a `moto_server` from the venv.
- `s3_storage_env` (session): the environment a process needs to reach it:
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, AWS_ENDPOINT_URL and
  MODELYARD_S3_ENDPOINT_URL (apply it with monkeypatch.setenv or pass it to a subprocess;
  the fixture itself never touches os.environ).
- `s3_bucket` (function): the name of a fresh, empty bucket; emptied and deleted afterwards.
- `azurite_connection_string` (session): connection string of an Azurite blob server from
  tests/azurite/node_modules (installed by scripts/test.sh with `npm ci`).
- `azure_storage_env` (session): {"AZURE_STORAGE_CONNECTION_STRING": <that string>}.
- `azure_container` (function): the name of a fresh container; deleted afterwards.

When a server cannot start, the fixtures call tests.conftest.service_missing: the tests skip
locally and fail in CI.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
AZURITE_BIN = REPO_ROOT / "tests" / "azurite" / "node_modules" / ".bin" / "azurite-blob"
START_TIMEOUT_S = 30.0

AWS_KEY = "testing"
AWS_REGION = "us-east-1"
AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key (public, documented by Microsoft).
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def _missing(reason: str) -> None:
    from tests.conftest import service_missing

    service_missing(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


class _Server:
    """A child process listening on 127.0.0.1:port; its output goes to a log file."""

    def __init__(self, name: str, cmd: list[str], port: int, workdir: Path) -> None:
        self.name, self.cmd, self.port = name, cmd, port
        self.log = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.workdir = workdir

    def start(self) -> str | None:
        """Start and wait for the port; None on success, else why it failed."""
        try:
            with open(self.log, "wb") as log:
                self.proc = subprocess.Popen(
                    self.cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.workdir,
                    start_new_session=True,
                )
        except OSError as exc:
            return f"{self.name} could not be started ({' '.join(self.cmd)}): {exc}"
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return (
                    f"{self.name} exited with {self.proc.returncode} at start-up "
                    f"({' '.join(self.cmd)}):\n{_tail(self.log)}"
                )
            if _port_open(self.port):
                return None
            time.sleep(0.1)
        self.stop()
        return f"{self.name} did not listen on 127.0.0.1:{self.port} within {START_TIMEOUT_S} s"

    def stop(self) -> None:
        """Terminate the process (kill it if it lingers)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


@contextlib.contextmanager
def _running(server: _Server) -> Iterator[_Server]:
    why = server.start()
    if why:
        server.stop()
        _missing(why)
    try:
        yield server
    finally:
        server.stop()


# -- S3: moto server -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a moto S3 server started for this session on a free 127.0.0.1 port."""
    try:
        import moto.server  # noqa: F401
    except ImportError as exc:
        _missing(f"moto[server] is not installed ({exc}); pip install -e '.[dev]'")
    port = _free_port()
    script = Path(sys.executable).with_name("moto_server")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "moto.server"]
    cmd += ["-H", "127.0.0.1", "-p", str(port)]
    server = _Server("moto", cmd, port, tmp_path_factory.mktemp("moto"))
    with _running(server):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def s3_storage_env(moto_endpoint: str) -> dict[str, str]:
    """Environment variables that point boto3, s3fs and modelyard at the moto server."""
    return {
        "AWS_ACCESS_KEY_ID": AWS_KEY,
        "AWS_SECRET_ACCESS_KEY": AWS_KEY,
        "AWS_DEFAULT_REGION": AWS_REGION,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
        "MODELYARD_S3_ENDPOINT_URL": moto_endpoint,
    }


def s3_client(endpoint: str) -> Any:
    """A boto3 S3 client for the moto server (explicit credentials, no environment)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=AWS_KEY,
        aws_secret_access_key=AWS_KEY,
        region_name=AWS_REGION,
    )


def _empty_bucket(s3: Any, bucket: str) -> None:
    for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
        for up in page.get("Uploads", []):
            s3.abort_multipart_upload(Bucket=bucket, Key=up["Key"], UploadId=up["UploadId"])
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})


@pytest.fixture
def s3_bucket(moto_endpoint: str) -> Iterator[str]:
    """Name of a fresh bucket on the moto server; emptied and deleted after the test."""
    s3 = s3_client(moto_endpoint)
    bucket = f"modelyard-test-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=bucket)
    try:
        yield bucket
    finally:
        with contextlib.suppress(Exception):
            _empty_bucket(s3, bucket)
            s3.delete_bucket(Bucket=bucket)


# -- Azure Blob: Azurite -------------------------------------------------------------------------


def azurite_connection(port: int) -> str:
    """The connection string of an Azurite blob server on 127.0.0.1:port."""
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
        f"AccountKey={AZURITE_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};"
    )


@pytest.fixture(scope="session")
def azurite_connection_string(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Connection string of an Azurite blob server started for this session (in memory)."""
    if not AZURITE_BIN.exists():
        _missing(
            f"Azurite is not installed at {AZURITE_BIN}: run "
            "`npm ci --no-audit --no-fund` in tests/azurite (scripts/test.sh does)"
        )
    try:
        import azure.storage.blob  # noqa: F401
    except ImportError as exc:
        _missing(f"azure-storage-blob is not installed ({exc}); pip install -e '.[dev]'")
    port = _free_port()
    workdir = tmp_path_factory.mktemp("azurite")
    cmd = [
        str(AZURITE_BIN),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(port),
        "--inMemoryPersistence",
        "--disableTelemetry",
        "--skipApiVersionCheck",  # azure-storage-blob sends API versions newer than Azurite's
        "--silent",
    ]
    server = _Server("azurite", cmd, port, workdir)
    with _running(server):
        yield azurite_connection(port)


@pytest.fixture(scope="session")
def azure_storage_env(azurite_connection_string: str) -> dict[str, str]:
    """Environment that points adlfs, azure-storage-blob and modelyard at Azurite."""
    return {"AZURE_STORAGE_CONNECTION_STRING": azurite_connection_string}


def blob_service(connection_string: str) -> Any:
    """A (sync) azure-storage-blob BlobServiceClient for the connection string."""
    from azure.storage.blob import BlobServiceClient

    return BlobServiceClient.from_connection_string(connection_string)


@pytest.fixture
def azure_container(azurite_connection_string: str) -> Iterator[str]:
    """Name of a fresh container on Azurite; deleted (with its blobs) after the test."""
    name = f"modelyard-test-{uuid.uuid4().hex[:16]}"
    with blob_service(azurite_connection_string) as service:
        service.create_container(name)
        try:
            yield name
        finally:
            with contextlib.suppress(Exception):
                service.delete_container(name)
