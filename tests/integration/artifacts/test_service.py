"""The ArtifactService through a live server with raw gRPC stubs: round trips, resume, list,
delete, stat, out-of-order and mismatched uploads, and uploads interrupted by a killed client
or a stopped server, on local, S3 (moto) and Azure (Azurite) destinations."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from modelyard.artifacts.store import CHUNK_SIZE
from modelyard.v1 import artifacts_pb2 as apb
from modelyard.v1 import tracking_pb2 as tpb
from tests.integration.artifacts.conftest import (
    CALL_TIMEOUT,
    AbortLog,
    ArtifactServer,
    ArtifactServers,
    Destination,
    MiB,
    client_env,
    create_experiment,
    destination_dir,
    download,
    reason_of,
    rpc_error,
    stat_or_none,
    upload,
    upload_requests,
    wait_until,
)

pytestmark = pytest.mark.integration

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def prefix() -> str:
    """A fresh folder per test on the module's shared server."""
    return f"t-{uuid.uuid4().hex[:10]}"


# -- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "client_chunk"),
    [
        (1, MiB),
        (1000, 7),
        (CHUNK_SIZE, MiB),
        (5 * CHUNK_SIZE + 12345, MiB),  # several chunks, the last one short
        (3 * CHUNK_SIZE, 333_333),  # client chunks that do not line up with the server's
    ],
)
def test_upload_download_round_trip(
    local_server: ArtifactServer, prefix: str, size: int, client_chunk: int
) -> None:
    data = os.urandom(size)
    path = f"{prefix}/run/artifacts/model.bin"
    response = upload(local_server.artifacts, path, data, chunk_size=client_chunk)
    assert (response.path, response.size, response.sha256) == (path, size, sha(data))
    assert (destination_dir(local_server) / path).read_bytes() == data

    header, received, trailer, chunk_count = download(local_server.artifacts, path)
    assert (header.size, header.offset) == (size, 0)
    assert received == data
    assert (trailer.sent, trailer.sha256) == (size, sha(data))
    assert chunk_count == -(-size // CHUNK_SIZE)  # chunks of CHUNK_SIZE, the last one short


def test_empty_file_round_trip(local_server: ArtifactServer, prefix: str) -> None:
    path = f"{prefix}/empty.txt"
    response = upload(local_server.artifacts, path, b"")
    assert (response.size, response.sha256) == (0, sha(b""))
    assert (destination_dir(local_server) / path).read_bytes() == b""
    header, received, trailer, chunk_count = download(local_server.artifacts, path)
    assert (header.size, received, chunk_count) == (0, b"", 0)
    assert (trailer.sent, trailer.sha256) == (0, sha(b""))


def test_upload_replaces_an_existing_file(local_server: ArtifactServer, prefix: str) -> None:
    path = f"{prefix}/a.txt"
    upload(local_server.artifacts, path, b"first version, longer")
    upload(local_server.artifacts, path, b"second")
    assert download(local_server.artifacts, path)[1] == b"second"


def test_upload_hash_is_case_insensitive(local_server: ArtifactServer, prefix: str) -> None:
    data = b"upper-case hex from some client"
    response = upload(local_server.artifacts, f"{prefix}/u", data, sha256=sha(data).upper())
    assert response.sha256 == sha(data)


# -- download resume -------------------------------------------------------------------------


def test_download_resumes_from_an_offset(local_server: ArtifactServer, prefix: str) -> None:
    data = os.urandom(3 * CHUNK_SIZE + 10)
    path = f"{prefix}/big.bin"
    upload(local_server.artifacts, path, data)
    # A client kept the first bytes of an interrupted download and asks for the rest.
    kept = CHUNK_SIZE + 17
    header, rest, trailer, _ = download(local_server.artifacts, path, offset=kept)
    assert (header.size, header.offset) == (len(data), kept)
    assert rest == data[kept:]
    assert (trailer.sent, trailer.sha256) == (len(data) - kept, sha(data[kept:]))
    # At the end: nothing more to send, still a header and a trailer.
    header, rest, trailer, chunk_count = download(local_server.artifacts, path, offset=len(data))
    assert (header.size, rest, chunk_count, trailer.sent) == (len(data), b"", 0, 0)


@pytest.mark.parametrize("offset", [-1, 11])
def test_download_offset_out_of_range(
    local_server: ArtifactServer, prefix: str, offset: int
) -> None:
    path = f"{prefix}/ten.txt"
    upload(local_server.artifacts, path, b"0123456789")
    err = rpc_error(
        local_server.artifacts.DownloadArtifact,
        apb.DownloadArtifactRequest(path=path, offset=offset),
    )
    assert err.code() == INVALID
    assert str(offset) in err.details()


def test_download_missing_file_and_directory(local_server: ArtifactServer, prefix: str) -> None:
    upload(local_server.artifacts, f"{prefix}/dir/f.txt", b"x")
    missing = rpc_error(
        local_server.artifacts.DownloadArtifact, apb.DownloadArtifactRequest(path=f"{prefix}/nope")
    )
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    assert f"{prefix}/nope" in missing.details()
    directory = rpc_error(
        local_server.artifacts.DownloadArtifact, apb.DownloadArtifactRequest(path=f"{prefix}/dir")
    )
    assert directory.code() == INVALID
    assert f"{prefix}/dir" in directory.details()


# -- list, stat, delete ----------------------------------------------------------------------


@pytest.fixture
def tree(local_server: ArtifactServer, prefix: str) -> str:
    """prefix/{a.txt, b/c.txt, b/d/e.txt, f/} -- f holds one file so it exists on every store."""
    for path, data in [
        ("a.txt", b"a"),
        ("b/c.txt", b"cc"),
        ("b/d/e.txt", b"eee"),
        ("f/g.bin", b""),
    ]:
        upload(local_server.artifacts, f"{prefix}/{path}", data)
    return prefix


def listing(
    server: ArtifactServer, path: str, recursive: bool = False
) -> list[tuple[str, bool, int]]:
    response = server.artifacts.ListArtifacts(
        apb.ListArtifactsRequest(path=path, recursive=recursive), timeout=CALL_TIMEOUT
    )
    return [(f.path, f.is_dir, f.size) for f in response.files]


def test_list_one_level(local_server: ArtifactServer, tree: str) -> None:
    assert listing(local_server, tree) == [
        (f"{tree}/a.txt", False, 1),
        (f"{tree}/b", True, 0),
        (f"{tree}/f", True, 0),
    ]
    assert listing(local_server, f"{tree}/b") == [
        (f"{tree}/b/c.txt", False, 2),
        (f"{tree}/b/d", True, 0),
    ]


def test_list_recursive_lists_files_only(local_server: ArtifactServer, tree: str) -> None:
    assert listing(local_server, tree, recursive=True) == [
        (f"{tree}/a.txt", False, 1),
        (f"{tree}/b/c.txt", False, 2),
        (f"{tree}/b/d/e.txt", False, 3),
        (f"{tree}/f/g.bin", False, 0),
    ]


def test_list_root_file_and_missing(local_server: ArtifactServer, tree: str) -> None:
    assert (tree, True, 0) in listing(local_server, "")
    assert all(not p.startswith(".modelyard") for p, _, _ in listing(local_server, ""))
    assert listing(local_server, f"{tree}/a.txt") == [(f"{tree}/a.txt", False, 1)]
    assert listing(local_server, f"{tree}/missing") == []


def test_list_reports_modification_times(local_server: ArtifactServer, tree: str) -> None:
    response = local_server.artifacts.ListArtifacts(
        apb.ListArtifactsRequest(path=tree, recursive=True), timeout=CALL_TIMEOUT
    )
    assert all(f.modified_time > 1_600_000_000_000 for f in response.files)


def test_stat(local_server: ArtifactServer, tree: str) -> None:
    info = local_server.artifacts.StatArtifact(
        apb.StatArtifactRequest(path=f"{tree}/b/c.txt"), timeout=CALL_TIMEOUT
    ).info
    assert (info.path, info.is_dir, info.size) == (f"{tree}/b/c.txt", False, 2)
    folder = stat_or_none(local_server.artifacts, f"{tree}/b")
    assert folder is not None and (folder.path, folder.is_dir) == (f"{tree}/b", True)
    err = rpc_error(local_server.artifacts.StatArtifact, apb.StatArtifactRequest(path=f"{tree}/x"))
    assert err.code() == grpc.StatusCode.NOT_FOUND
    assert f"{tree}/x" in err.details()


def test_delete_file_tree_and_missing(local_server: ArtifactServer, tree: str) -> None:
    delete = local_server.artifacts.DeleteArtifacts
    delete(apb.DeleteArtifactsRequest(path=f"{tree}/a.txt"), timeout=CALL_TIMEOUT)
    assert stat_or_none(local_server.artifacts, f"{tree}/a.txt") is None
    delete(apb.DeleteArtifactsRequest(path=f"{tree}/b"), timeout=CALL_TIMEOUT)
    assert listing(local_server, tree, recursive=True) == [(f"{tree}/f/g.bin", False, 0)]
    # Deleting what is not there succeeds, so a retry is safe.
    delete(apb.DeleteArtifactsRequest(path=f"{tree}/b"), timeout=CALL_TIMEOUT)
    assert not (destination_dir(local_server) / tree / "b").exists()


def test_the_root_cannot_be_deleted(local_server: ArtifactServer, tree: str) -> None:
    err = rpc_error(local_server.artifacts.DeleteArtifacts, apb.DeleteArtifactsRequest(path=""))
    assert err.code() == INVALID
    assert (destination_dir(local_server) / tree / "a.txt").exists()


# -- uploads that must not commit ------------------------------------------------------------


def _header(path: str) -> apb.UploadArtifactRequest:
    return apb.UploadArtifactRequest(header=apb.UploadArtifactHeader(path=path))


def _chunk(data: bytes) -> apb.UploadArtifactRequest:
    return apb.UploadArtifactRequest(chunk=data)


def _trailer(data: bytes) -> apb.UploadArtifactRequest:
    return apb.UploadArtifactRequest(
        trailer=apb.UploadArtifactTrailer(size=len(data), sha256=sha(data))
    )


BAD_STREAMS = {
    "no trailer": lambda p, d: list(upload_requests(p, d, trailer=False)),
    "wrong hash": lambda p, d: list(upload_requests(p, d, sha256=sha(b"other"))),
    "hash not hex": lambda p, d: list(upload_requests(p, d, sha256="zz")),
    "wrong size": lambda p, d: list(upload_requests(p, d, size=len(d) + 1)),
    "size zero": lambda p, d: list(upload_requests(p, d, size=0)),
    "chunk before header": lambda p, d: [_chunk(d), _header(p), _chunk(d), _trailer(d)],
    "trailer first": lambda p, d: [_trailer(d), _header(p)],
    "header twice": lambda p, d: [_header(p), _chunk(d), _header(p), _trailer(d)],
    "chunk after trailer": lambda p, d: [_header(p), _trailer(d), _chunk(d)],
    "trailer twice": lambda p, d: [_header(p), _chunk(d), _trailer(d), _trailer(d)],
    "empty message": lambda p, d: [_header(p), apb.UploadArtifactRequest(), _trailer(d)],
    "empty stream": lambda p, d: [],
}


@pytest.mark.parametrize("existing", [False, True], ids=["new path", "existing file"])
@pytest.mark.parametrize("case", list(BAD_STREAMS))
def test_bad_upload_streams_store_nothing(
    local_server: ArtifactServer, prefix: str, case: str, existing: bool
) -> None:
    path = f"{prefix}/model.bin"
    original = b"the original stays"
    if existing:
        upload(local_server.artifacts, path, original)
    data = os.urandom(2 * MiB + 5)
    err = rpc_error(local_server.artifacts.UploadArtifact, iter(BAD_STREAMS[case](path, data)))
    assert err.code() == INVALID, err.details()
    assert reason_of(err) == "INVALID_ARGUMENT"
    if existing:
        assert download(local_server.artifacts, path)[1] == original
    else:
        assert stat_or_none(local_server.artifacts, path) is None
        assert not (destination_dir(local_server) / path).exists()
    wait_until(
        lambda: not list((destination_dir(local_server) / ".modelyard-partial").glob("*")),
        "no temporary file is left",
    )


def test_mismatch_names_path_and_both_hashes(local_server: ArtifactServer, prefix: str) -> None:
    path = f"{prefix}/m.bin"
    err = rpc_error(
        local_server.artifacts.UploadArtifact,
        upload_requests(path, b"abc", sha256=sha(b"abd")),
    )
    assert path in err.details()
    assert sha(b"abd") in err.details() and sha(b"abc") in err.details()


def test_oversized_chunk_is_refused(local_server: ArtifactServer, prefix: str) -> None:
    path = f"{prefix}/huge-chunk.bin"
    data = b"\0" * (4 * MiB)
    err = rpc_error(
        local_server.artifacts.UploadArtifact, upload_requests(path, data, chunk_size=4 * MiB)
    )
    assert err.code() == INVALID
    assert str(4 * MiB) in err.details()
    assert stat_or_none(local_server.artifacts, path) is None


# -- every store: round trip and interrupted uploads -----------------------------------------


def test_proxied_round_trip_on_every_destination(
    artifact_servers: ArtifactServers, destination: Destination
) -> None:
    server = artifact_servers(**destination.settings)
    experiment = create_experiment(server.tracking, f"e-{uuid.uuid4().hex[:8]}")
    assert experiment.artifact_location == f"modelyard-artifacts:/{experiment.experiment_id}"
    run = server.tracking.CreateRun(
        tpb.CreateRunRequest(experiment_id=experiment.experiment_id), timeout=CALL_TIMEOUT
    ).run
    run_uri = run.info.artifact_uri
    assert run_uri == f"{experiment.artifact_location}/{run.info.run_id}/artifacts"
    base = run_uri.removeprefix("modelyard-artifacts:/")
    data = os.urandom(6 * MiB + 3)
    path = f"{base}/model/model.bin"
    assert upload(server.artifacts, path, data).sha256 == sha(data)
    upload(server.artifacts, f"{base}/model/MLmodel", b"flavors: {}\n")
    assert destination.exists(path)
    header, received, trailer, _ = download(server.artifacts, path, offset=MiB)
    assert (header.size, received, trailer.sha256) == (len(data), data[MiB:], sha(data[MiB:]))
    files = server.artifacts.ListArtifacts(
        apb.ListArtifactsRequest(path=base, recursive=True), timeout=CALL_TIMEOUT
    ).files
    assert [(f.path, f.size) for f in files] == [(f"{base}/model/MLmodel", 12), (path, len(data))]
    top = server.artifacts.ListArtifacts(apb.ListArtifactsRequest(path=base), timeout=CALL_TIMEOUT)
    assert [(f.path, f.is_dir) for f in top.files] == [(f"{base}/model", True)]
    info = stat_or_none(server.artifacts, path)
    assert info is not None and (info.size, info.is_dir) == (len(data), False)
    server.artifacts.DeleteArtifacts(apb.DeleteArtifactsRequest(path=base), timeout=CALL_TIMEOUT)
    assert stat_or_none(server.artifacts, path) is None
    assert not destination.exists(path)


KILLED_CLIENT = textwrap.dedent(
    """
    import sys
    import grpc
    from modelyard.v1 import artifacts_pb2 as apb, artifacts_pb2_grpc as apb_grpc

    address, path, mib = sys.argv[1], sys.argv[2], int(sys.argv[3])

    def requests():
        yield apb.UploadArtifactRequest(header=apb.UploadArtifactHeader(path=path))
        block = bytes(range(256)) * 4096
        for _ in range(mib):
            yield apb.UploadArtifactRequest(chunk=block)
        print("SENT", flush=True)
        sys.stdin.readline()  # hang mid-stream until killed

    stub = apb_grpc.ArtifactServiceStub(grpc.insecure_channel(address))
    stub.UploadArtifact(requests())
    """
)

#: Enough to pass S3's 5 MiB minimum part and the stores' buffers, so bytes reach the store.
INTERRUPTED_MIB = 24


@pytest.fixture
def killable_client() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(CALL_TIMEOUT)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_killed_client_leaves_nothing(
    artifact_servers: ArtifactServers,
    destination: Destination,
    aborted_uploads: AbortLog,
    killable_client: list[subprocess.Popen[str]],
    tmp_path: Path,
) -> None:
    server = artifact_servers(**destination.settings)
    path = "1/run/artifacts/killed.bin"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_CLIENT, server.address, path, str(INTERRUPTED_MIB)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=client_env(),
        cwd=tmp_path,
    )
    killable_client.append(proc)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "SENT", line + (proc.stderr.read() if proc.poll() is not None else "")
    wait_until(destination.started, "the upload reached the store")
    proc.send_signal(signal.SIGKILL)
    proc.wait(CALL_TIMEOUT)
    wait_until(lambda: path in aborted_uploads.paths, "the server aborted the upload")
    assert destination.partials() == []
    assert not destination.exists(path)
    assert stat_or_none(server.artifacts, path) is None
    # The server is fine afterwards.
    assert upload(server.artifacts, path, b"again").size == 5


def test_server_stopped_mid_upload_leaves_nothing(
    artifact_servers: ArtifactServers, destination: Destination, aborted_uploads: AbortLog
) -> None:
    server = artifact_servers(**destination.settings)
    path = "1/run/artifacts/stopped.bin"
    release = threading.Event()
    outcome: list[BaseException | apb.UploadArtifactResponse] = []

    def requests() -> Iterator[apb.UploadArtifactRequest]:
        yield _header(path)
        for _ in range(INTERRUPTED_MIB):
            yield _chunk(os.urandom(MiB))
        release.wait(CALL_TIMEOUT)

    def call() -> None:
        try:
            outcome.append(server.artifacts.UploadArtifact(requests(), timeout=CALL_TIMEOUT))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    try:
        wait_until(destination.started, "the upload reached the store")
        server.bundle.server.stop(0).wait(CALL_TIMEOUT)
        wait_until(lambda: path in aborted_uploads.paths, "the server aborted the upload")
    finally:
        release.set()
        thread.join(CALL_TIMEOUT)
    assert len(outcome) == 1 and isinstance(outcome[0], grpc.RpcError)
    assert destination.partials() == []
    assert not destination.exists(path)
