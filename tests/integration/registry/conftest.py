"""A live server on PostgreSQL with a local destination, and helpers to put models there.

Models are uploaded through the server's ArtifactService (what `log_model` does in the
proxied mode), so registration reads them back through the destination.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest

from modelyard.entities import Run
from modelyard.registry_stores import RegistryStore
from modelyard.store_registry import registry_store_for_uri, tracking_store_for_uri
from modelyard.stores import TrackingStore
from modelyard.v1 import artifacts_pb2 as apb
from modelyard.v1 import artifacts_pb2_grpc as apb_grpc
from tests.conftest import REPO_ROOT

if TYPE_CHECKING:
    from tests.conftest import LiveServers

CALL_TIMEOUT = 30.0
START_TIMEOUT_S = 60.0
_LISTENING = re.compile(r"listening on (\S+):(\d+)")


class CliServer:
    """`python -m modelyard server ...` in a subprocess, on a free port."""

    def __init__(
        self, backend_uri: str, destination: Path, log: Path, *, grace_seconds: float = 2.0
    ) -> None:
        self.log_path = log
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "modelyard",
                "server",
                "--backend-store-uri",
                backend_uri,
                "--artifacts-destination",
                str(destination),
                "--port",
                "0",
                "--http-port",
                "0",
                "--workers",
                "8",
                "--grace-seconds",
                str(grace_seconds),
            ],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        )
        self.uri = self._wait_for_address()

    def _wait_for_address(self) -> str:
        assert self.proc.stdout is not None
        result: list[str] = []

        def read() -> None:
            assert self.proc.stdout is not None
            for raw in self.proc.stdout:
                match = _LISTENING.search(raw.decode(errors="replace"))
                if match:
                    result.append(f"grpc://127.0.0.1:{match.group(2)}")
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(START_TIMEOUT_S)
        if not result:
            self.stop()
            raise AssertionError(
                f"the server did not start: {self.log_path.read_text(errors='replace')[-3000:]}"
            )
        return result[0]

    def stop(self) -> int:
        """SIGTERM and wait; return the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()
        return self.proc.returncode


PROXIED = "modelyard-artifacts:/"

MLMODEL = b"""\
artifact_path: model
flavors:
  python_function:
    loader_module: modelyard.sklearn
signature:
  inputs: '[{"type": "double", "name": "x"}]'
  outputs: '[{"type": "double"}]'
  params: null
saved_input_example_info:
  artifact_path: input_example.json
  type: dataframe
"""

#: A small model directory: path -> bytes.
MODEL_FILES: dict[str, bytes] = {
    "MLmodel": MLMODEL,
    "input_example.json": b'{"columns": ["x"], "data": [[1.0]]}',
    "model.skops": b"weights" * 1000,
    "sub/requirements.txt": b"scikit-learn\n",
}


@dataclass
class RegistryServer:
    """A live server and clients for it."""

    uri: str
    backend_uri: str
    destination: Path
    tracking: TrackingStore
    registry: RegistryStore
    channel: grpc.Channel
    artifacts: apb_grpc.ArtifactServiceStub
    allowed_root: Path

    def new_run(self) -> Run:
        """A run in a fresh experiment (default location: the proxied destination)."""
        experiment_id = self.tracking.create_experiment(f"exp-{uuid.uuid4().hex[:10]}")
        return self.tracking.create_run(experiment_id=experiment_id, user_id="tester")

    def new_model(self) -> str:
        """A fresh registered model's name."""
        name = f"model-{uuid.uuid4().hex[:10]}"
        self.registry.create_registered_model(name)
        return name

    def log_model(
        self, run: Run, path: str = "model", files: dict[str, bytes] | None = None
    ) -> str:
        """Upload a model directory under the run's artifacts; return runs:/<id>/<path>."""
        base = artifact_path(run, path)
        for rel, data in (files or MODEL_FILES).items():
            upload(self.artifacts, f"{base}/{rel}", data)
        return f"runs:/{run.info.run_id}/{path}"


def artifact_path(run: Run, path: str = "") -> str:
    """The destination-relative path of a run's artifact (its URI is modelyard-artifacts:/)."""
    uri = run.info.artifact_uri
    assert uri.startswith(PROXIED), uri
    rel = uri[len(PROXIED) :].strip("/")
    return f"{rel}/{path}" if path else rel


def upload_requests(path: str, data: bytes) -> Iterator[apb.UploadArtifactRequest]:
    """Header, one chunk, trailer."""
    yield apb.UploadArtifactRequest(header=apb.UploadArtifactHeader(path=path))
    if data:
        yield apb.UploadArtifactRequest(chunk=data)
    yield apb.UploadArtifactRequest(
        trailer=apb.UploadArtifactTrailer(size=len(data), sha256=hashlib.sha256(data).hexdigest())
    )


def upload(stub: apb_grpc.ArtifactServiceStub, path: str, data: bytes) -> None:
    """Upload bytes to a destination path through the ArtifactService."""
    stub.UploadArtifact(upload_requests(path, data), timeout=CALL_TIMEOUT)


def download(stub: apb_grpc.ArtifactServiceStub, path: str) -> bytes:
    """The bytes at a destination path, through the ArtifactService."""
    parts = stub.DownloadArtifact(apb.DownloadArtifactRequest(path=path), timeout=CALL_TIMEOUT)
    return b"".join(p.chunk for p in parts if p.WhichOneof("part") == "chunk")


def open_server(
    servers: LiveServers, backend_uri: str, root: Path, **settings: object
) -> RegistryServer:
    """Start a server on `backend_uri` with its destination and an allowed root under `root`."""
    destination = root / "destination"
    allowed = root / "allowed-models"
    allowed.mkdir(parents=True, exist_ok=True)
    uri = servers(
        backend_uri,
        artifacts_destination=str(destination),
        allowed_model_sources=(str(allowed),),
        **settings,
    )
    channel = grpc.insecure_channel(uri.removeprefix("grpc://"))
    return RegistryServer(
        uri=uri,
        backend_uri=backend_uri,
        destination=destination,
        tracking=tracking_store_for_uri(uri),
        registry=registry_store_for_uri(uri),
        channel=channel,
        artifacts=apb_grpc.ArtifactServiceStub(channel),  # type: ignore[no-untyped-call]
        allowed_root=allowed,
    )


def close_server(server: RegistryServer) -> None:
    """Close the clients of a RegistryServer."""
    server.tracking.close()
    server.registry.close()
    server.channel.close()


@pytest.fixture(scope="module")
def env(
    postgres_uri_module: str,
    live_server_module: LiveServers,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RegistryServer]:
    """One server on one PostgreSQL database for the module."""
    server = open_server(live_server_module, postgres_uri_module, tmp_path_factory.mktemp("reg"))
    try:
        yield server
    finally:
        close_server(server)
