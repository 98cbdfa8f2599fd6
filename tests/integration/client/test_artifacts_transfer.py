"""Transfers through a live server: parallel trees, a download that resumes after the server
went away mid-stream, an upload sent again whole, and a progress bar for large transfers.

The server is built in this process and restarted on the same port with the same database and
destination, as an operator's restart would; nothing is mocked. The only hook is the client's
progress reporter (`transfer_progress`), used to see what the client received and when to
stop the server.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from modelyard.client import Client, artifact_repos
from modelyard.client import client as client_module
from modelyard.client.progress import Progress
from modelyard.server import full
from modelyard.server.assembly import ServerBundle
from modelyard.server.settings import ServerSettings

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
#: Generous bound for waiting on a condition (polling, never an assertion about speed).
WAIT_S = 60.0


@dataclass
class RestartableServer:
    """A full server on a fixed port that can be stopped and started again."""

    backend: str
    destination: Path
    port: int = 0
    bundle: ServerBundle | None = None
    generations: int = 0

    def start(self) -> None:
        """Start (or start again) on the same port, database and destination."""
        settings = ServerSettings(
            backend_store_uri=self.backend,
            host="127.0.0.1",
            port=self.port,
            workers=8,
            artifacts_destination=str(self.destination),
        )
        self.bundle = full.build(settings)
        self.bundle.server.start()
        self.port = self.bundle.port
        self.generations += 1

    def stop(self) -> None:
        """Stop now, cancelling in-flight calls, and release the stores."""
        if self.bundle is not None:
            self.bundle.server.stop(None).wait(WAIT_S)
            self.bundle.close()
            self.bundle = None

    def restart(self) -> None:
        """What an operator's restart does, mid-transfer."""
        self.stop()
        self.start()

    @property
    def uri(self) -> str:
        """grpc://127.0.0.1:<port>."""
        return f"grpc://127.0.0.1:{self.port}"


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RestartableServer]:
    """A restartable server with a local destination."""
    for name in list(os.environ):
        if name.startswith("MODELYARD_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    srv = RestartableServer(f"sqlite:///{tmp_path / 'server.db'}", tmp_path / "destination")
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
        client_module._backends.pop(srv.uri, None)


@dataclass
class Recorder(Progress):
    """A progress reporter that records updates and can act once after `trigger_at` bytes."""

    trigger_at: int | None = None
    action: Any = None
    updates: list[int] = field(default_factory=list)
    threads: set[str] = field(default_factory=set)
    """Transfer-pool threads alive during the updates."""
    fired_at: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def update(self, n: int) -> None:
        """Record n; run the action once when the running total passes trigger_at."""
        with self.lock:
            self.updates.append(n)
            # The transfer pool only adds a worker when every worker is busy, so more than one
            # alive means transfers ran at the same time.
            self.threads.update(
                t.name for t in threading.enumerate() if t.name.startswith("modelyard-artifacts")
            )
            fire = (
                self.trigger_at is not None
                and self.fired_at is None
                and sum(self.updates) >= self.trigger_at
            )
            if fire:
                self.fired_at = sum(self.updates)
        if fire:
            self.action()


def _use(monkeypatch: pytest.MonkeyPatch, recorder: Recorder) -> None:
    monkeypatch.setattr(artifact_repos, "transfer_progress", lambda *a, **k: recorder)


def _partials(destination: Path) -> list[Path]:
    partial = destination / ".modelyard-partial"
    return sorted(partial.iterdir()) if partial.exists() else []


def _wait_until(condition: Any) -> bool:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


def test_tree_upload_and_download_in_parallel(
    server: RestartableServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """60 files (some larger than one chunk) up with log_artifacts and down to a chosen folder,
    on several worker threads, byte for byte."""
    src = tmp_path / "src"
    rng = __import__("random").Random(3)
    files: dict[str, bytes] = {}
    for i in range(60):
        rel = f"d{i % 4}/sub{i % 3}/f{i:02d}.bin"
        size = rng.choice([0, 1, 700, 10_000, MiB + 17, 2 * MiB])
        files[rel] = rng.randbytes(size)
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(files[rel])
    client = Client(server.uri)
    run_id = client.create_run("0").info.run_id
    up = Recorder()
    _use(monkeypatch, up)
    client.log_artifacts(run_id, src, artifact_path="tree")
    assert sum(up.updates) == sum(len(b) for b in files.values())
    down = Recorder()
    _use(monkeypatch, down)
    dst = tmp_path / "chosen"
    assert client.download_artifacts(run_id, "tree", dst) == str(dst / "tree")
    got = {
        p.relative_to(dst / "tree").as_posix(): p.read_bytes()
        for p in (dst / "tree").rglob("*")
        if p.is_file()
    }
    assert got == files
    assert sum(down.updates) == sum(len(b) for b in files.values())
    for recorder in (up, down):
        assert len(recorder.threads) > 1, recorder.threads
    assert not [p for p in dst.rglob("*.partial")]


def test_interrupted_download_resumes_from_the_last_byte(
    server: RestartableServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server is stopped mid-download and started again: the client resumes at its offset,
    never receives a byte twice, and the file is complete and correct."""
    data = os.urandom(40 * MiB + 123)
    (tmp_path / "model.bin").write_bytes(data)
    client = Client(server.uri)
    run_id = client.create_run("0").info.run_id
    client.log_artifact(run_id, tmp_path / "model.bin", artifact_path="big")

    recorder = Recorder(trigger_at=6 * MiB, action=server.restart)
    _use(monkeypatch, recorder)
    local = Path(client.download_artifacts(run_id, "big/model.bin", tmp_path / "dl"))
    assert server.generations == 2, "the server was not restarted mid-download"
    assert recorder.fired_at is not None and recorder.fired_at < len(data)
    assert local.read_bytes() == data
    assert all(n > 0 for n in recorder.updates), "bytes were dropped and fetched again"
    assert sum(recorder.updates) == len(data)
    assert sorted(p.name for p in local.parent.iterdir()) == ["model.bin"]  # no .partial left


def test_failed_upload_is_sent_again_whole(
    server: RestartableServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server is stopped mid-upload: the client sends the file again from the start; the
    stored file is complete and nothing partial is left at the destination."""
    data = os.urandom(24 * MiB + 5)
    (tmp_path / "weights.bin").write_bytes(data)
    client = Client(server.uri)
    run_id = client.create_run("0").info.run_id
    run = client.get_run(run_id)

    recorder = Recorder(trigger_at=5 * MiB, action=server.restart)
    _use(monkeypatch, recorder)
    client.log_artifact(run_id, tmp_path / "weights.bin")
    assert server.generations == 2, "the server was not restarted mid-upload"
    assert any(n < 0 for n in recorder.updates), "the upload was not started over"
    assert sum(recorder.updates) == len(data)
    stored = server.destination / run.info.artifact_uri.removeprefix("modelyard-artifacts:/")
    assert hashlib.sha256((stored / "weights.bin").read_bytes()).digest() == (
        hashlib.sha256(data).digest()
    )
    assert _wait_until(lambda: _partials(server.destination) == []), _partials(server.destination)
    assert [(f.path, f.file_size) for f in client.list_artifacts(run_id)] == [
        ("weights.bin", len(data))
    ]


def test_progress_bar_for_large_transfers_when_forced(
    server: RestartableServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MODELYARD_PROGRESS=1 shows a tqdm bar for a transfer above the threshold (even in tests
    and off a terminal); smaller transfers never get one."""
    from modelyard.client import progress

    stream = io.StringIO()
    real = progress.transfer_progress
    monkeypatch.setattr(
        artifact_repos,
        "transfer_progress",
        lambda total, description: real(total, description, threshold=MiB, stream=stream),
    )
    monkeypatch.setenv("MODELYARD_PROGRESS", "1")
    (tmp_path / "small.bin").write_bytes(b"x" * 1000)
    (tmp_path / "large.bin").write_bytes(os.urandom(3 * MiB))
    client = Client(server.uri)
    run_id = client.create_run("0").info.run_id
    client.log_artifact(run_id, tmp_path / "small.bin")
    assert stream.getvalue() == ""
    client.log_artifact(run_id, tmp_path / "large.bin")
    assert "upload large.bin" in stream.getvalue()
    monkeypatch.setenv("MODELYARD_PROGRESS", "0")
    before = stream.getvalue()
    client.download_artifacts(run_id, "large.bin", tmp_path / "dl")
    assert stream.getvalue() == before
