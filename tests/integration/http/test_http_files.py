"""/files/ on a live server: downloads whole and by range, HEAD, the headers that keep an
artifact inert in a browser, traversal refused, atomic PUT, protected files, and 501 on a
server that does not serve artifacts."""

from __future__ import annotations

import hashlib
import os
import random
import socket
import uuid

import pytest

from tests.integration.http.conftest import (
    MODEL_FILES,
    SOCKET_TIMEOUT_S,
    HttpServer,
    HttpServers,
    artifact_root,
)

pytestmark = pytest.mark.integration

PAYLOAD = bytes(range(50))
ARTIFACT_CSP = "default-src 'none'; sandbox"


@pytest.fixture(scope="module")
def stored(server: HttpServer) -> str:
    """A 50-byte file (bytes 0..49) in a run's artifacts; its destination path."""
    root = artifact_root(server.new_run())
    path = f"{root}/data/fifty.bin"
    reply = server.put_file(path, PAYLOAD)
    assert reply.status == 201, reply.body
    assert reply.json() == {
        "path": path,
        "size": 50,
        "sha256": hashlib.sha256(PAYLOAD).hexdigest(),
    }
    return path


def assert_inert(reply: object) -> None:
    """The headers every artifact download carries."""
    assert reply.header("Content-Type") == "application/octet-stream"
    assert reply.header("Content-Security-Policy") == ARTIFACT_CSP
    assert reply.header("X-Content-Type-Options") == "nosniff"
    assert reply.header("Content-Disposition").startswith("attachment;")
    assert reply.header("Accept-Ranges") == "bytes"


def test_whole_file(server: HttpServer, stored: str) -> None:
    reply = server.get(f"/files/{stored}")
    assert reply.status == 200
    assert reply.body == PAYLOAD
    assert reply.header("Content-Length") == "50"
    assert reply.header("Content-Range") is None
    assert_inert(reply)
    assert reply.header("Content-Disposition") == (
        "attachment; filename=\"fifty.bin\"; filename*=UTF-8''fifty.bin"
    )


@pytest.mark.parametrize(
    ("spec", "start", "stop"),
    [
        ("bytes=0-9", 0, 10),  # first bytes
        ("bytes=20-29", 20, 30),  # middle
        ("bytes=-5", 45, 50),  # suffix
        ("bytes=5-", 5, 50),  # open-ended
        ("bytes=40-1000", 40, 50),  # past the end: clipped
        ("bytes=49-49", 49, 50),  # the last byte
    ],
)
def test_ranges(server: HttpServer, stored: str, spec: str, start: int, stop: int) -> None:
    reply = server.get(f"/files/{stored}", {"Range": spec})
    assert reply.status == 206, reply.body
    assert reply.body == PAYLOAD[start:stop]
    assert reply.header("Content-Range") == f"bytes {start}-{stop - 1}/50"
    assert reply.header("Content-Length") == str(stop - start)
    assert_inert(reply)


@pytest.mark.parametrize("spec", ["bytes=50-", "bytes=100-200", "bytes=60-70"])
def test_unsatisfiable_range_is_416(server: HttpServer, stored: str, spec: str) -> None:
    reply = server.get(f"/files/{stored}", {"Range": spec})
    assert reply.status == 416
    assert reply.header("Content-Range") == "bytes */50"
    assert reply.body == b""


@pytest.mark.parametrize("spec", ["garbage", "bytes=5-2", "items=0-1"])
def test_unparseable_range_sends_the_whole_file(server: HttpServer, stored: str, spec: str) -> None:
    reply = server.get(f"/files/{stored}", {"Range": spec})
    assert reply.status == 200 and reply.body == PAYLOAD


def test_head(server: HttpServer, stored: str) -> None:
    reply = server.request("HEAD", f"/files/{stored}")
    assert reply.status == 200
    assert reply.body == b""
    assert reply.header("Content-Length") == "50"
    assert_inert(reply)
    ranged = server.request("HEAD", f"/files/{stored}", headers={"Range": "bytes=-5"})
    assert ranged.status == 206 and ranged.header("Content-Range") == "bytes 45-49/50"


def test_file_name_with_non_ascii_and_a_quote(server: HttpServer) -> None:
    root = artifact_root(server.new_run())
    name = 'rés"umé <b>.html'
    encoded = "r%C3%A9s%22um%C3%A9%20%3Cb%3E.html"
    body = b"<script>alert(1)</script>"
    assert server.put_file(f"{root}/{encoded}", body).status == 201
    assert (server.destination / root / name).read_bytes() == body
    reply = server.get(f"/files/{root}/{encoded}")
    assert reply.status == 200 and reply.body == body
    # Served as an inert download, never as HTML.
    assert_inert(reply)
    assert reply.header("Content-Disposition") == (
        f"attachment; filename=\"r_s_um_ <b>.html\"; filename*=UTF-8''{encoded}"
    )


def test_five_megabytes_round_trip(server: HttpServer) -> None:
    root = artifact_root(server.new_run())
    data = random.Random(5).randbytes(5 * 1024 * 1024 + 17)
    digest = hashlib.sha256(data).hexdigest()
    reply = server.put_file(f"{root}/big.bin", data, {"X-Content-SHA256": digest.upper()})
    assert reply.status == 201, reply.body
    assert reply.json()["sha256"] == digest
    whole = server.get(f"/files/{root}/big.bin")
    assert whole.status == 200
    assert len(whole.body) == len(data)
    assert hashlib.sha256(whole.body).hexdigest() == digest
    # A range across the store's chunk boundaries.
    start, stop = 1_048_570, 4_194_310
    part = server.get(f"/files/{root}/big.bin", {"Range": f"bytes={start}-{stop - 1}"})
    assert part.status == 206 and part.body == data[start:stop]


@pytest.mark.parametrize(
    "path",
    [
        "/files/../secret.txt",
        "/files/%2e%2e/secret.txt",
        "/files/%2E%2E/%2E%2E/secret.txt",
        "/files/1/..%2f..%2fsecret.txt",
        "/files/1%2f..%2f..%2fsecret.txt",
        "/files/..%5csecret.txt",
        "/files/1%5c..%5c..%5csecret.txt",
        "/files//etc/passwd",
        "/files/%2fetc/passwd",
        "/files/%2Fetc%2Fpasswd",
        "/files/./secret.txt",
        "/files/a//b",
        "/files/%00secret.txt",
        "/files/",
    ],
)
def test_traversal_is_refused(server: HttpServer, path: str) -> None:
    secret = server.root / "secret.txt"
    secret.write_bytes(b"TOP SECRET")
    for method in ("GET", "PUT"):
        reply = server.request(method, path, b"overwritten" if method == "PUT" else None)
        assert reply.status == 400, (method, path, reply.status, reply.body)
        assert reply.error["status"] == "INVALID_ARGUMENT"
        assert b"TOP SECRET" not in reply.body
        assert b"root:" not in reply.body
    assert secret.read_bytes() == b"TOP SECRET"
    assert not (server.root / "secret.txt.part").exists()


def test_symlink_out_of_the_destination_is_refused(server: HttpServer) -> None:
    secret = server.root / "outside.txt"
    secret.write_bytes(b"TOP SECRET")
    root = artifact_root(server.new_run())
    folder = server.destination / root
    folder.mkdir(parents=True, exist_ok=True)
    os.symlink(secret, folder / "link.txt")
    reply = server.get(f"/files/{root}/link.txt")
    assert reply.status in (403, 404), reply.body
    assert b"TOP SECRET" not in reply.body
    put = server.put_file(f"{root}/link.txt", b"overwritten")
    assert put.status in (400, 403), put.body
    assert secret.read_bytes() == b"TOP SECRET"


def partial_files(server: HttpServer) -> list[str]:
    partial = server.destination / ".modelyard-partial"
    return sorted(os.listdir(partial)) if partial.exists() else []


def test_put_is_atomic(server: HttpServer) -> None:
    root = artifact_root(server.new_run())
    path = f"{root}/model.bin"
    assert server.put_file(path, b"version one").status == 201
    # A wrong X-Content-SHA256: refused, nothing stored, the old file kept.
    wrong = server.put_file(path, b"version two", {"X-Content-SHA256": "0" * 64})
    assert wrong.status == 400 and wrong.error["status"] == "INVALID_ARGUMENT"
    assert "nothing was stored" in wrong.error["message"]
    assert server.get(f"/files/{path}").body == b"version one"
    fresh = f"{root}/never.bin"
    assert server.put_file(fresh, b"data", {"X-Content-SHA256": "not-a-hash"}).status == 400
    assert server.get(f"/files/{fresh}").status == 404
    assert partial_files(server) == []
    # A body shorter than its Content-Length (the client went away): nothing stored.
    with socket.create_connection(("127.0.0.1", server.port), timeout=SOCKET_TIMEOUT_S) as raw:
        raw.sendall(
            f"PUT /files/{fresh} HTTP/1.1\r\nHost: {server.host_header}\r\n"
            "Content-Length: 1000\r\n\r\n".encode()
            + b"only part of it"
        )
        raw.shutdown(socket.SHUT_WR)
        while raw.recv(65536):
            pass
    assert server.get(f"/files/{fresh}").status == 404
    assert not (server.destination / fresh).exists()
    assert partial_files(server) == []
    # A matching hash replaces the file.
    good = server.put_file(
        path, b"version two", {"X-Content-SHA256": hashlib.sha256(b"version two").hexdigest()}
    )
    assert good.status == 201
    assert server.get(f"/files/{path}").body == b"version two"
    # Empty files are files.
    assert server.put_file(f"{root}/empty", b"").status == 201
    empty = server.get(f"/files/{root}/empty")
    assert empty.status == 200 and empty.body == b""
    assert partial_files(server) == []


def test_put_to_a_file_backing_a_model_version_is_refused(server: HttpServer) -> None:
    run = server.new_run()
    root = artifact_root(run)
    for rel, data in MODEL_FILES.items():
        assert server.put_file(f"{root}/model/{rel}", data).status == 201
    name = f"files-{uuid.uuid4().hex[:8]}"
    server.registry("CreateRegisteredModel", {"name": name})
    server.registry(
        "CreateModelVersion",
        {
            "name": name,
            "source": f"runs:/{run['info']['runId']}/model",
            "runId": run["info"]["runId"],
        },
    )
    reply = server.put_file(f"{root}/model/MLmodel", b"tampered")
    assert reply.status == 400
    assert reply.error["status"] == "FAILED_PRECONDITION"
    assert reply.reason == "ARTIFACT_PROTECTED"
    assert "delete the model version first" in reply.error["message"]
    assert (server.destination / root / "model" / "MLmodel").read_bytes() == MODEL_FILES["MLmodel"]
    # A new file inside the model folder is refused too; a sibling folder is not.
    assert server.put_file(f"{root}/model/extra.txt", b"x").status == 400
    assert not (server.destination / root / "model" / "extra.txt").exists()
    assert server.put_file(f"{root}/notes.txt", b"x").status == 201
    assert partial_files(server) == []


def test_errors_and_other_verbs(server: HttpServer, stored: str) -> None:
    missing = server.get(f"/files/{stored}.missing")
    assert missing.status == 404 and missing.reason == "NOT_FOUND"
    folder = server.get(f"/files/{stored.rsplit('/', 1)[0]}")
    assert folder.status == 400 and "directory" in folder.error["message"]
    for verb in ("DELETE", "POST", "PATCH"):
        reply = server.request(verb, f"/files/{stored}", b"")
        assert reply.status == 405
        assert reply.header("Allow") == "GET, HEAD, PUT"
    assert server.get(f"/files/{stored}").body == PAYLOAD


def test_no_serve_artifacts_answers_501(http_servers: HttpServers) -> None:
    server = http_servers(serve_artifacts=False, default_artifact_root="s3://bucket/prefix")
    for method, body in (("GET", None), ("HEAD", None), ("PUT", b"data")):
        reply = server.request(method, "/files/1/a.txt", body)
        assert reply.status == 501, (method, reply.body)
        if method != "HEAD":
            assert reply.error["status"] == "UNIMPLEMENTED"
    assert not server.destination.exists()
    # The ArtifactService JSON methods say why too.
    listed = server.api("modelyard.v1.ArtifactService", "ListArtifacts", {"path": "1"})
    assert listed.status == 501
    assert "--no-serve-artifacts" in listed.error["message"]


def test_unexpected_error_is_a_json_500_with_an_incident_id(
    server: HttpServer, stored: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelyard.artifacts.store import ArtifactStore

    def boom(self: ArtifactStore, path: str) -> None:
        raise OSError("disk on fire at /secret/place")

    monkeypatch.setattr(ArtifactStore, "stat", boom)
    reply = server.get(f"/files/{stored}")
    assert reply.status == 500
    assert reply.header("Content-Type") == "application/json"
    assert reply.error["status"] == "INTERNAL"
    incident = reply.error["details"][0]["metadata"]["incident_id"]
    assert incident in reply.error["message"]
    for leak in (b"Traceback", b"disk on fire", b"/secret/place", b"OSError"):
        assert leak not in reply.body
    assert reply.header("X-Content-Type-Options") == "nosniff"
    assert reply.header("Content-Security-Policy") is not None
    monkeypatch.undo()
    assert server.get(f"/files/{stored}").body == PAYLOAD
