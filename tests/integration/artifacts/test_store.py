"""ArtifactStore contract on a local folder, an S3 bucket (moto server) and an Azure container
(Azurite): round trips, offsets, listings, stat, delete, atomic overwrite, and uploads that are
interrupted by an exception or by killing the writing process. Plus the local store's symlink
confinement."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from modelyard.artifacts.paths import PARTIAL_DIR
from modelyard.artifacts.store import (
    AZURE_BLOCK_SIZE,
    CHUNK_SIZE,
    S3_BLOCK_SIZE,
    ArtifactEntry,
    ArtifactStore,
    UploadResult,
)
from modelyard.errors import InvalidArgument, NotFound
from tests.object_stores import AZURITE_ACCOUNT, blob_service, s3_client

pytestmark = pytest.mark.integration

MiB = 1 << 20
REPO_ROOT = Path(__file__).resolve().parents[3]
#: Larger than every store's block, so a multipart upload / staged blocks are under way.
BIG = 12 * MiB
assert max(S3_BLOCK_SIZE, AZURE_BLOCK_SIZE) < BIG


def payload(size: int, seed: int = 0) -> bytes:
    """Deterministic pseudo-random bytes."""
    return random.Random(seed).randbytes(size)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pieces(data: bytes, size: int = 700 * 1024) -> list[bytes]:
    """Odd-sized pieces, so writes never line up with block boundaries."""
    return [data[i : i + size] for i in range(0, len(data), size)]


@dataclass
class Subject:
    """A store under test plus raw probes into its backend (no modelyard code)."""

    kind: str
    uri: str
    store: ArtifactStore
    env: dict[str, str]
    partials: Callable[[], list[str]]
    """Leftovers of unfinished uploads that sweep must remove (local files, S3 uploads)."""
    staged: Callable[[], list[str]]
    """Paths with uncommitted data (Azure: staged blocks; elsewhere the same as partials)."""
    raw_put: Callable[[str, bytes], None]
    """Write an object next to the store's root (path relative to the bucket/container)."""
    raw_names: Callable[[], list[str]]
    """Every committed object or file in the bucket/container (relative to it)."""


def _local(tmp_path: Path) -> Subject:
    base = tmp_path / "base"
    root = base / "root"

    def partials() -> list[str]:
        partial = root / PARTIAL_DIR
        return sorted(p.name for p in partial.iterdir()) if partial.is_dir() else []

    def raw_put(name: str, data: bytes) -> None:
        target = base / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    def raw_names() -> list[str]:
        return sorted(
            str(p.relative_to(base))
            for p in base.rglob("*")
            if p.is_file() and PARTIAL_DIR not in p.parts
        )

    return Subject(
        "local", root.as_uri(), ArtifactStore(root.as_uri()), {}, partials, partials, raw_put,
        raw_names,
    )  # fmt: skip


def _s3(endpoint: str, bucket: str, env: dict[str, str]) -> Subject:
    s3 = s3_client(endpoint)

    def partials() -> list[str]:
        found = s3.list_multipart_uploads(Bucket=bucket, Prefix="root/").get("Uploads", [])
        return sorted(u["Key"] for u in found)

    def raw_put(name: str, data: bytes) -> None:
        s3.put_object(Bucket=bucket, Key=name, Body=data)

    def raw_names() -> list[str]:
        return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))

    uri = f"s3://{bucket}/root"
    return Subject("s3", uri, ArtifactStore(uri), env, partials, partials, raw_put, raw_names)


def _azure(connection_string: str, container: str, env: dict[str, str]) -> Subject:
    client = blob_service(connection_string).get_container_client(container)

    def names(**kwargs: Any) -> set[str]:
        return {b.name for b in client.list_blobs(**kwargs)}

    def staged() -> list[str]:
        return sorted(names(include=["uncommittedblobs"]) - names())

    def raw_put(name: str, data: bytes) -> None:
        client.upload_blob(name, data, overwrite=True)

    uri = f"wasbs://{container}@{AZURITE_ACCOUNT}.blob.core.windows.net/root"
    return Subject(
        "azure", uri, ArtifactStore(uri), env, list, staged, raw_put, lambda: sorted(names())
    )


@pytest.fixture(params=["local", "s3", "azure"])
def subject(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Subject:
    """Each kind of store in turn, rooted at `root` inside a fresh folder/bucket/container."""
    if request.param == "local":
        return _local(tmp_path)
    if request.param == "s3":
        env = dict(request.getfixturevalue("s3_storage_env"))
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return _s3(
            request.getfixturevalue("moto_endpoint"), request.getfixturevalue("s3_bucket"), env
        )
    env = dict(request.getfixturevalue("azure_storage_env"))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    conn = request.getfixturevalue("azurite_connection_string")
    return _azure(conn, request.getfixturevalue("azure_container"), env)


def put(store: ArtifactStore, path: str, data: bytes) -> UploadResult:
    """Upload through open_upload in odd-sized pieces."""
    with store.open_upload(path) as upload:
        for piece in pieces(data):
            upload.write(piece)
        return upload.commit()


def read_all(store: ArtifactStore, path: str, offset: int = 0) -> bytes:
    with store.read(path, offset) as reader:
        return b"".join(reader)


# -- round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 10, BIG + 12345], ids=["empty", "small", "multi-block"])
def test_round_trip(subject: Subject, tmp_path: Path, size: int) -> None:
    store, data = subject.store, payload(size, seed=size)
    result = put(store, "dir/sub/file.bin", data)
    assert result == UploadResult("dir/sub/file.bin", size, sha(data))

    entry = store.stat("dir/sub/file.bin")
    assert entry is not None and not entry.is_dir and entry.size == size
    with store.read("dir/sub/file.bin") as reader:
        assert reader.size == size
        chunks = list(reader)
    assert all(0 < len(c) <= CHUNK_SIZE for c in chunks)
    assert len(chunks) == -(-size // CHUNK_SIZE)
    assert sha(b"".join(chunks)) == sha(data)

    local = tmp_path / "download" / "copy.bin"
    store.download_file("dir/sub/file.bin", local)
    assert local.stat().st_size == size and sha(local.read_bytes()) == sha(data)
    assert sorted(p.name for p in local.parent.iterdir()) == ["copy.bin"]  # no temporary left


def test_upload_file_and_custom_chunk_size(subject: Subject, tmp_path: Path) -> None:
    data = payload(3 * MiB + 17, seed=3)
    source = tmp_path / "source.bin"
    source.write_bytes(data)
    result = subject.store.upload_file("up/source.bin", source)
    assert (result.size, result.sha256) == (len(data), sha(data))
    with subject.store.read("up/source.bin", chunk_size=1000) as reader:
        chunks = list(reader)
    assert max(len(c) for c in chunks) == 1000 and b"".join(chunks) == data


def test_read_with_offset(subject: Subject) -> None:
    data = payload(3 * MiB + 5, seed=1)
    put(subject.store, "f.bin", data)
    for offset in (0, 1, CHUNK_SIZE, CHUNK_SIZE + 7, len(data) - 1, len(data)):
        with subject.store.read("f.bin", offset) as reader:
            assert reader.size == len(data) and reader.offset == offset
            assert b"".join(reader) == data[offset:]
    for bad in (len(data) + 1, -1):
        with pytest.raises(InvalidArgument, match=str(bad)):
            subject.store.read("f.bin", bad)


def test_read_missing_and_directory(subject: Subject) -> None:
    put(subject.store, "d/f.txt", b"x")
    with pytest.raises(NotFound, match=r"'nope\.txt'"):
        subject.store.read("nope.txt")
    with pytest.raises(NotFound, match=r"'d/f\.txt/below'"):
        subject.store.read("d/f.txt/below")
    with pytest.raises(InvalidArgument, match="'d' is a directory"):
        subject.store.read("d")


# -- list, stat, delete ------------------------------------------------------------------------


@pytest.fixture
def tree(subject: Subject) -> Subject:
    """root/{a.txt, d/b.txt, d/e/c.txt, dd/x.txt} plus objects beside the root."""
    for path, data in [
        ("a.txt", b"a"),
        ("d/b.txt", b"bb"),
        ("d/e/c.txt", b"ccc"),
        ("dd/x.txt", b"xxxx"),
    ]:
        put(subject.store, path, data)
    subject.raw_put("rootx.txt", b"beside")  # shares the root's prefix, outside it
    subject.raw_put("root-sibling/y.txt", b"beside")
    return subject


def _summary(entries: list[ArtifactEntry]) -> list[tuple[str, bool, int]]:
    return [(e.path, e.is_dir, e.size) for e in entries]


def test_list_one_level(tree: Subject) -> None:
    store = tree.store
    assert _summary(store.list()) == [
        ("a.txt", False, 1),
        ("d", True, 0),
        ("dd", True, 0),
    ]
    assert _summary(store.list("d")) == [("d/b.txt", False, 2), ("d/e", True, 0)]
    assert _summary(store.list("d/e")) == [("d/e/c.txt", False, 3)]
    files = [e for e in store.list() if not e.is_dir]
    assert all(e.modified_time > 1_000_000_000_000 for e in files)  # milliseconds


def test_list_recursive(tree: Subject) -> None:
    store = tree.store
    assert _summary(store.list("", recursive=True)) == [
        ("a.txt", False, 1),
        ("d/b.txt", False, 2),
        ("d/e/c.txt", False, 3),
        ("dd/x.txt", False, 4),
    ]
    assert _summary(store.list("d", recursive=True)) == [
        ("d/b.txt", False, 2),
        ("d/e/c.txt", False, 3),
    ]


def test_list_file_and_missing(tree: Subject) -> None:
    assert _summary(tree.store.list("d/b.txt")) == [("d/b.txt", False, 2)]
    assert _summary(tree.store.list("d/b.txt", recursive=True)) == [("d/b.txt", False, 2)]
    assert tree.store.list("missing") == []
    assert tree.store.list("d/missing", recursive=True) == []


def test_an_empty_store_lists_nothing(subject: Subject) -> None:
    assert subject.store.list() == [] and subject.store.list("", recursive=True) == []
    assert subject.store.stat("anything") is None


def test_stat(tree: Subject) -> None:
    store = tree.store
    entry = store.stat("d/e/c.txt")
    assert entry is not None and (entry.path, entry.is_dir, entry.size) == ("d/e/c.txt", False, 3)
    assert entry.modified_time > 1_000_000_000_000
    directory = store.stat("d")
    assert directory is not None and (directory.is_dir, directory.size) == (True, 0)
    assert store.stat("d/nope") is None
    assert store.stat("a.txt/below") is None
    root = store.stat("")
    assert root is not None and root.is_dir


def test_delete_file_tree_and_missing(tree: Subject) -> None:
    store = tree.store
    store.delete("d/b.txt")
    assert store.stat("d/b.txt") is None and store.stat("d/e/c.txt") is not None
    store.delete("d")
    assert store.stat("d") is None and store.list("d", recursive=True) == []
    store.delete("d")  # missing is fine
    store.delete("never/was")
    # "dd" shares a prefix with "d" but is another folder; objects beside the root stay too.
    assert _summary(store.list("", recursive=True)) == [("a.txt", False, 1), ("dd/x.txt", False, 4)]
    assert "rootx.txt" in tree.raw_names() and "root-sibling/y.txt" in tree.raw_names()


def test_the_root_cannot_be_deleted(tree: Subject) -> None:
    with pytest.raises(InvalidArgument, match="root"):
        tree.store.delete("")
    assert len(tree.store.list("", recursive=True)) == 4


def test_bad_paths_are_refused_by_every_method(subject: Subject) -> None:
    store = subject.store
    for bad in ("../x", "/etc/passwd", "a//b", "%2e%2e/x", f"{PARTIAL_DIR}/x"):
        for call in (
            lambda p: store.open_upload(p),
            lambda p: store.read(p),
            lambda p: store.stat(p),
            lambda p: store.list(p),
            lambda p: store.delete(p),
        ):
            with pytest.raises(InvalidArgument, match="invalid artifact path"):
                call(bad)


# -- atomicity ---------------------------------------------------------------------------------


def test_overwrite_is_atomic(subject: Subject) -> None:
    store = subject.store
    old, new = payload(1000, seed=5), payload(BIG, seed=6)
    put(store, "model.bin", old)
    with store.open_upload("model.bin") as upload:
        for piece in pieces(new):
            upload.write(piece)
        # Blocks or parts of the new file are already in the store: readers still see the old.
        entry = store.stat("model.bin")
        assert entry is not None and entry.size == len(old)
        assert read_all(store, "model.bin") == old
        upload.commit()
    assert sha(read_all(store, "model.bin")) == sha(new)
    assert subject.partials() == []


@pytest.mark.parametrize("size", [10, BIG], ids=["small", "multi-block"])
def test_exception_inside_upload_leaves_nothing(subject: Subject, size: int) -> None:
    store = subject.store
    put(store, "kept.bin", b"previous")
    for path in ("new.bin", "kept.bin"):
        with pytest.raises(RuntimeError, match="boom"), store.open_upload(path) as upload:
            for piece in pieces(payload(size, seed=7)):
                upload.write(piece)
            raise RuntimeError("boom")
        assert upload.state == "aborted"
    assert store.stat("new.bin") is None
    assert read_all(store, "kept.bin") == b"previous"
    assert _summary(store.list("", recursive=True)) == [("kept.bin", False, 8)]
    assert subject.raw_names() == [_raw(subject, "kept.bin")]
    assert subject.partials() == []  # temporary files removed, multipart uploads aborted


def test_upload_left_uncommitted_is_aborted(subject: Subject) -> None:
    store = subject.store
    with store.open_upload("forgotten.bin") as upload:
        upload.write(b"data")
    assert upload.state == "aborted"
    assert store.stat("forgotten.bin") is None and subject.partials() == []
    with pytest.raises(ValueError, match="aborted"):
        upload.write(b"more")


def _raw(subject: Subject, path: str) -> str:
    return f"root/{path}"


KILLED_WRITER = textwrap.dedent(
    """
    import sys
    from modelyard.artifacts.store import ArtifactStore

    store = ArtifactStore(sys.argv[1])
    upload = store.open_upload(sys.argv[2])
    block = bytes(range(256)) * 4096
    for _ in range(int(sys.argv[3])):
        upload.write(block)
    print("written", flush=True)
    sys.stdin.read()  # block until killed
    """
)


def test_killed_writer_leaves_nothing_and_sweep_removes_leftovers(subject: Subject) -> None:
    store = subject.store
    env = {**os.environ, **subject.env, "PYTHONPATH": str(REPO_ROOT)}
    mib = 10  # beyond S3's 8 MiB part and two 4 MiB Azure blocks: bytes reached the store
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, subject.uri, "big/model.bin", str(mib)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else b""
        assert line.strip() == b"written", (line, proc.stderr.read() if proc.stderr else b"")
        assert subject.staged(), "the writer's bytes should have reached the store"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream:
                stream.close()
    assert proc.returncode == -signal.SIGKILL

    assert store.stat("big/model.bin") is None
    assert store.list("", recursive=True) == []
    assert store.list("big") == []
    assert subject.raw_names() == []
    leftovers = subject.partials()
    if subject.kind == "azure":
        # Azure keeps the staged blocks uncommitted (it drops them after 7 days): no blob.
        assert leftovers == [] and subject.staged() == ["root/big/model.bin"]
        assert store.sweep(0) == 0
    else:
        assert len(leftovers) == 1
        assert store.sweep(0) == 1
        assert subject.partials() == []
    assert store.list("", recursive=True) == []


# Not on S3: moto reports every multipart upload as initiated in 2010.
@pytest.mark.parametrize("subject", ["local", "azure"], indirect=True)
def test_sweep_spares_recent_uploads(subject: Subject) -> None:
    store = subject.store
    with store.open_upload("live.bin") as upload:
        for piece in pieces(payload(BIG, seed=9)):
            upload.write(piece)
        assert store.sweep(3600) == 0  # in progress, younger than an hour
        if subject.kind == "local":
            old = time.time() - 7200
            for name in subject.partials():
                os.utime(Path(store.root) / PARTIAL_DIR / name, (old, old))
            assert store.sweep(3600) == 1
            assert subject.partials() == []
            with pytest.raises(NotFound, match=r"'live\.bin'"):
                upload.commit()
        else:
            upload.commit()
            assert store.stat("live.bin") is not None


@pytest.mark.parametrize("subject", ["s3"], indirect=True)
def test_s3_sweep_spares_uploads_outside_the_root(subject: Subject) -> None:
    s3 = s3_client(subject.env["AWS_ENDPOINT_URL"])
    bucket = subject.store.root.split("/")[0]
    foreign = [
        s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        for key in ("elsewhere/x.bin", "rootx/y.bin")  # "rootx" shares the root's prefix
    ]
    with subject.store.open_upload("mine.bin") as upload:
        upload.write(payload(BIG, seed=10))
        assert subject.store.sweep(0) == 1
    uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert sorted(u["UploadId"] for u in uploads) == sorted(foreign)
