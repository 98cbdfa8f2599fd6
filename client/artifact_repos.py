"""Artifact repositories: where a run's artifact URI sends the client's bytes.

`repository_for(artifact_uri, tracking_uri=...)` picks one of two implementations:

- `StoreRepository` for `file:` URIs, plain paths, `s3:`, `wasbs:`/`wasb:`, `abfs:`/`abfss:`,
  `az:` (any fsspec protocol): an `ArtifactStore` in this process, with this process's own
  credentials. That is the embedded mode (a local folder) and direct-to-bucket.
- `ProxiedRepository` for `modelyard-artifacts:` URIs: the server's ArtifactService over gRPC.
  `modelyard-artifacts:/<p>` goes to the tracking server itself (the tracking URI must be
  grpc:// or grpcs://); `modelyard-artifacts://host:port/<p>` goes to that host, over TLS when
  the tracking URI is grpcs://.

Every path the caller gives is checked by `modelyard.artifacts.paths.clean_path` before any
byte is sent, and every path a listing returns is checked again before anything is written
locally. Trees are uploaded and downloaded with a bounded thread pool. Downloads write to a
temporary file beside the destination and rename it only when complete and verified.
"""

from __future__ import annotations

import abc
import hashlib
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import grpc

from modelyard.artifact_uris import PROXIED_SCHEME
from modelyard.artifacts.filesystems import StorageOptions
from modelyard.artifacts.paths import clean_path
from modelyard.artifacts.store import CHUNK_SIZE, ArtifactEntry, ArtifactStore
from modelyard.client.channel import RetryPolicy, create_channel, parse_target
from modelyard.client.progress import Progress, transfer_progress
from modelyard.config import ClientConfig, client_config
from modelyard.entities import FileInfo
from modelyard.errors import Aborted, InvalidArgument, ModelyardError, NotFound, Unavailable
from modelyard.v1 import artifacts_pb2 as pb
from modelyard.v1 import artifacts_pb2_grpc as pb_grpc
from modelyard.wire.status import error_from_rpc

__all__ = [
    "PROXIED_SCHEME",
    "ArtifactRepository",
    "ProxiedRepository",
    "StoreRepository",
    "directory_argument",
    "proxied_target",
    "repository_for",
]


#: Files transferred at once by log_artifacts and by the download of a directory.
MAX_PARALLEL_TRANSFERS = 8

#: Bytes re-read and compared when a download resumes, to notice a file replaced meanwhile.
RESUME_OVERLAP_BYTES = 64 * 1024

#: How often a download starts over from byte 0 after finding the file changed under it.
MAX_DOWNLOAD_RESTARTS = 2

#: Status codes after which an upload is sent again and a download resumes: the connection or
#: the server went away (a stopping server cancels its streams).
TRANSIENT_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED})


def _join(*parts: str) -> str:
    """Join clean relative paths, skipping empty ones."""
    return "/".join(p for p in parts if p)


def directory_argument(path: str | None) -> str:
    """A user-given artifact directory: None is the root; one trailing "/" is dropped."""
    if path is None:
        return ""
    if not isinstance(path, str):
        raise InvalidArgument(f"an artifact path must be a string, got {path!r}", path=path)
    if len(path) > 1 and path.endswith("/") and not path.endswith("//"):
        path = path[:-1]
    return clean_path(path, allow_empty=True)


def _file_info(entry: ArtifactEntry) -> FileInfo:
    return FileInfo(entry.path, entry.is_dir, None if entry.is_dir else entry.size)


def _partial_path(local_file: Path) -> Path:
    """A temporary name beside the destination file."""
    return local_file.with_name(f".{local_file.name}.{uuid.uuid4().hex[:12]}.partial")


@dataclass(frozen=True, slots=True)
class _Transfer:
    """One file to move: its local path and its path relative to the repository root."""

    local: Path
    remote: str
    size: int


class ArtifactRepository(abc.ABC):
    """The artifacts below one URI (usually a run's artifact root); paths are relative to it."""

    def __init__(self, artifact_uri: str) -> None:
        self.artifact_uri = artifact_uri

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.artifact_uri!r})"

    # -- primitives each implementation provides ----------------------------------------
    @abc.abstractmethod
    def _upload_file(self, local_file: Path, path: str, progress: Progress) -> None:
        """Store one local file at `path` (clean, non-empty), atomically."""

    @abc.abstractmethod
    def _download_file(self, path: str, local_file: Path, progress: Progress) -> None:
        """Write the file at `path` to local_file, atomically (temporary file, then rename)."""

    @abc.abstractmethod
    def _list(self, path: str, recursive: bool) -> list[FileInfo]:
        """Entries below `path` (clean or empty), paths relative to the repository root."""

    @abc.abstractmethod
    def stat(self, path: str) -> FileInfo | None:
        """Describe one path (None when nothing is there)."""

    @abc.abstractmethod
    def _delete(self, path: str) -> None:
        """Delete a file or tree (missing is fine)."""

    # -- the API built on them ----------------------------------------------------------
    def log_artifact(
        self, local_file: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Upload one local file as `<artifact_path>/<its name>`."""
        local = Path(local_file)
        if not local.is_file():
            raise FileNotFoundError(f"no local file {str(local)!r} to log as an artifact")
        remote = clean_path(_join(directory_argument(artifact_path), local.name))
        size = local.stat().st_size
        with transfer_progress(size, f"upload {remote}") as progress:
            self._upload_file(local, remote, progress)

    def log_artifacts(
        self, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Upload the contents of a local directory below `artifact_path`, files in parallel.

        Symbolic links to files are uploaded as the files they point to; links to directories
        are not followed, and empty directories are not recorded (object stores have none).
        """
        root = Path(local_dir)
        if not root.is_dir():
            raise NotADirectoryError(f"no local directory {str(root)!r} to log as artifacts")
        base = directory_argument(artifact_path)
        plan: list[_Transfer] = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            rel_dir = Path(dirpath).relative_to(root).as_posix()
            for name in sorted(filenames):
                local = Path(dirpath, name)
                if not local.is_file():  # a dangling link, a socket, a fifo
                    continue
                remote = clean_path(_join(base, "" if rel_dir == "." else rel_dir, name))
                plan.append(_Transfer(local, remote, local.stat().st_size))
        total = sum(t.size for t in plan)
        with transfer_progress(total, f"upload {base or root.name}") as progress:
            _run_parallel(
                [lambda t=t: self._upload_file(t.local, t.remote, progress) for t in plan]
            )

    def list(self, path: str | None = "", recursive: bool = False) -> list[FileInfo]:
        """Children of a directory (every file below it with recursive), sorted by path.

        A path naming a file lists that file alone; a missing path lists nothing.
        """
        return self._list(directory_argument(path), recursive)

    def download(self, path: str | None, dst_dir: str | os.PathLike[str]) -> str:
        """Download a file or a tree to `<dst_dir>/<path>`; return that local path.

        Raises:
            NotFound: nothing at path.
        """
        path = directory_argument(path)
        dst = Path(dst_dir).absolute()
        info = self.stat(path) if path else FileInfo("", True, None)
        if info is None:
            raise NotFound(f"no artifact at {path!r} under {self.artifact_uri}", path=path)
        if not info.is_dir:
            local = dst.joinpath(*path.split("/"))
            local.parent.mkdir(parents=True, exist_ok=True)
            with transfer_progress(info.file_size or 0, f"download {path}") as progress:
                self._download_file(path, local, progress)
            return str(local)
        top = dst.joinpath(*path.split("/")) if path else dst
        top.mkdir(parents=True, exist_ok=True)
        plan: list[_Transfer] = []
        for entry in self._list(path, recursive=True):
            remote = clean_path(entry.path)  # a listing is input too: never write outside dst
            if entry.is_dir or (path and not remote.startswith(path + "/")):
                continue
            plan.append(_Transfer(dst.joinpath(*remote.split("/")), remote, entry.file_size or 0))
        for parent in sorted({t.local.parent for t in plan}):
            parent.mkdir(parents=True, exist_ok=True)
        total = sum(t.size for t in plan)
        with transfer_progress(total, f"download {path or self.artifact_uri}") as progress:
            _run_parallel(
                [lambda t=t: self._download_file(t.remote, t.local, progress) for t in plan]
            )
        return str(top)

    def delete(self, path: str) -> None:
        """Delete a file or a directory tree below the root (the root itself is refused)."""
        if not path:
            raise InvalidArgument(
                f"refusing to delete the whole artifact root {self.artifact_uri}", path=path
            )
        self._delete(clean_path(path))


def _run_parallel(jobs: Sequence[Callable[[], None]]) -> None:
    """Run jobs on a bounded pool; stop starting new ones after a failure and raise it."""
    if len(jobs) <= 1:
        for job in jobs:
            job()
        return
    workers = min(MAX_PARALLEL_TRANSFERS, len(jobs))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="modelyard-artifacts") as pool:
        futures = [pool.submit(job) for job in jobs]
        wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:
            future.cancel()  # only the ones not yet started
    for future in futures:
        if not future.cancelled() and future.exception() is not None:
            raise future.exception()  # type: ignore[misc]


# -- in-process stores (embedded mode, direct-to-bucket) ------------------------------------


class StoreRepository(ArtifactRepository):
    """Artifacts read and written by this process through an ArtifactStore (its credentials)."""

    def __init__(self, artifact_uri: str, options: StorageOptions | None = None) -> None:
        super().__init__(artifact_uri)
        # StorageOptions() reads endpoint overrides (MODELYARD_S3_ENDPOINT_URL) from the env.
        self.store = ArtifactStore(artifact_uri, options or StorageOptions())

    def _upload_file(self, local_file: Path, path: str, progress: Progress) -> None:
        with self.store.open_upload(path) as upload, local_file.open("rb") as src:
            while chunk := src.read(CHUNK_SIZE):
                upload.write(chunk)
                progress.update(len(chunk))
            upload.commit()

    def _download_file(self, path: str, local_file: Path, progress: Progress) -> None:
        partial = _partial_path(local_file)
        reader = self.store.read(path)
        try:
            with partial.open("wb") as out:
                for chunk in reader:
                    out.write(chunk)
                    progress.update(len(chunk))
            os.replace(partial, local_file)
        finally:
            reader.close()
            partial.unlink(missing_ok=True)

    def _list(self, path: str, recursive: bool) -> list[FileInfo]:
        return [_file_info(e) for e in self.store.list(path, recursive=recursive)]

    def stat(self, path: str) -> FileInfo | None:
        """Describe one path (None when nothing is there)."""
        entry = self.store.stat(clean_path(path))
        return None if entry is None else _file_info(entry)

    def _delete(self, path: str) -> None:
        self.store.delete(path)


# -- the proxied scheme (the server's ArtifactService) --------------------------------------

_channels: dict[str, grpc.Channel] = {}
_channels_lock = threading.Lock()


def _channel(target_uri: str) -> grpc.Channel:
    """One channel per grpc[s]://host:port in this process (gRPC multiplexes streams on it)."""
    channel = _channels.get(target_uri)
    if channel is None:
        with _channels_lock:
            channel = _channels.get(target_uri)
            if channel is None:
                channel = create_channel(target_uri)
                _channels[target_uri] = channel
    return channel


def proxied_target(artifact_uri: str, tracking_uri: str) -> tuple[str, str]:
    """(grpc[s]://host:port, path prefix) for a modelyard-artifacts URI.

    Raises:
        InvalidArgument: a malformed URI, or a host-less one with a non-gRPC tracking URI.
    """
    parts = urlsplit(artifact_uri)
    if parts.scheme.lower() != PROXIED_SCHEME:
        raise InvalidArgument(f"not a {PROXIED_SCHEME}: URI: {artifact_uri!r}", uri=artifact_uri)
    if parts.query or parts.fragment or "?" in artifact_uri or "#" in artifact_uri:
        raise InvalidArgument(
            f"an artifact URI may not carry a query or fragment: {artifact_uri!r}",
            uri=artifact_uri,
        )
    path = parts.path.strip("/") if parts.path != "/" else ""
    if parts.path.startswith("//") or parts.path.endswith("//"):
        raise InvalidArgument(f"empty path segment in {artifact_uri!r}", uri=artifact_uri)
    prefix = clean_path(path, allow_empty=True)
    tracking_scheme = tracking_uri.partition(":")[0].lower()
    if not parts.netloc:
        if tracking_scheme not in ("grpc", "grpcs"):
            raise InvalidArgument(
                f"the artifact URI {artifact_uri!r} names no host, so it is served by the "
                f"tracking server, but the tracking URI {tracking_uri!r} is not grpc:// or "
                "grpcs://",
                uri=artifact_uri,
                tracking_uri=tracking_uri,
            )
        target = parse_target(tracking_uri)
        return f"{tracking_scheme}://{target.address}", prefix
    if "@" in parts.netloc:
        raise InvalidArgument(
            f"an artifact server URI may not carry user information: {artifact_uri!r}",
            uri=artifact_uri,
        )
    scheme = "grpcs" if tracking_scheme == "grpcs" else "grpc"
    target = parse_target(f"{scheme}://{parts.netloc}")
    return f"{scheme}://{target.address}", prefix


def _code(err: grpc.RpcError) -> grpc.StatusCode | None:
    code_fn = getattr(err, "code", None)
    return code_fn() if callable(code_fn) else None


class _ChangedWhileReading(Exception):
    """The remote file is not the one the kept bytes came from."""


@dataclass(slots=True)
class _UploadState:
    """What one upload attempt sent (filled in while gRPC drains the request iterator).

    gRPC reads the iterator on its own thread, which may still be inside a chunk when the
    call has already failed: `lock` and `over` keep its progress reports from crossing the
    caller's rollback of them.
    """

    size: int = 0
    reported: int = 0
    digest: Any = field(default_factory=hashlib.sha256)
    error: BaseException | None = None
    over: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def report(self, progress: Progress, n: int) -> bool:
        """Count n bytes sent unless the attempt is over; False when it is."""
        with self.lock:
            if self.over:
                return False
            progress.update(n)
            self.reported += n
            return True

    def end(self, progress: Progress) -> None:
        """The attempt failed: take back what it reported."""
        with self.lock:
            self.over = True
            progress.update(-self.reported)


@dataclass(slots=True)
class _DownloadState:
    """A download in progress: the bytes kept in the temporary file, the remote size."""

    out: BinaryIO
    kept: int = 0
    size: int | None = None
    restarts: int = 0


class ProxiedRepository(ArtifactRepository):
    """Artifacts behind a modelyard server's ArtifactService (the server holds the bucket).

    Uploads stream header, chunks and a trailer with the size and SHA-256 computed while the
    file is read; a transient failure (UNAVAILABLE, or the stream cancelled by a stopping
    server) sends the whole file again, a few times with backoff. Downloads check every
    stream's bytes against its trailer; a broken stream resumes from the last byte kept, after
    comparing the last `RESUME_OVERLAP_BYTES` kept with the server's, so that a file replaced
    in between starts over instead of being spliced.
    """

    def __init__(
        self,
        artifact_uri: str,
        *,
        tracking_uri: str,
        config: ClientConfig | None = None,
        channel: grpc.Channel | None = None,
    ) -> None:
        super().__init__(artifact_uri)
        target, self.prefix = proxied_target(artifact_uri, tracking_uri)
        self.target = target
        self._channel = channel if channel is not None else _channel(target)
        self._stub = pb_grpc.ArtifactServiceStub(self._channel)  # type: ignore[no-untyped-call]
        config = config or client_config()
        self._timeout = config.grpc_timeout if config.grpc_timeout > 0 else None
        self._retry = RetryPolicy(max_retries=max(0, config.grpc_max_retries))

    # -- plumbing ------------------------------------------------------------------------
    def _wire(self, path: str) -> str:
        """The ArtifactService path (relative to the server's destination) of a repo path."""
        return _join(self.prefix, path)

    def _relative(self, wire_path: str) -> str:
        """A path from the server back to one relative to this repository's root."""
        wire_path = clean_path(wire_path)
        if not self.prefix:
            return wire_path
        if not wire_path.startswith(self.prefix + "/"):
            raise ModelyardError(
                f"the artifact server answered with {wire_path!r}, outside {self.prefix!r}",
                path=wire_path,
            )
        return wire_path[len(self.prefix) + 1 :]

    def _pause_before_retry(self, attempt: int) -> None:
        """Back off, then wait (bounded) for the channel to reconnect."""
        time.sleep(self._retry.delay(attempt))
        ready = grpc.channel_ready_future(self._channel)
        try:
            ready.result(timeout=self._timeout or 60.0)
        except grpc.FutureTimeoutError:
            ready.cancel()  # the next attempt fails UNAVAILABLE and counts as one

    def _unary(self, method: Callable[..., object], request: object) -> object:
        attempt = 0
        while True:
            try:
                return method(request, timeout=self._timeout)
            except grpc.RpcError as err:
                if _code(err) != grpc.StatusCode.UNAVAILABLE or attempt >= self._retry.max_retries:
                    raise error_from_rpc(err) from None
            self._pause_before_retry(attempt)
            attempt += 1

    # -- primitives ------------------------------------------------------------------------
    def _list(self, path: str, recursive: bool) -> list[FileInfo]:
        response = self._unary(
            self._stub.ListArtifacts,
            pb.ListArtifactsRequest(path=self._wire(path), recursive=recursive),
        )
        return [
            FileInfo(self._relative(f.path), f.is_dir, None if f.is_dir else f.size)
            for f in response.files  # type: ignore[attr-defined]
        ]

    def stat(self, path: str) -> FileInfo | None:
        """Describe one path (None when nothing is there)."""
        try:
            response = self._unary(
                self._stub.StatArtifact, pb.StatArtifactRequest(path=self._wire(clean_path(path)))
            )
        except NotFound:
            return None
        info = response.info  # type: ignore[attr-defined]
        return FileInfo(self._relative(info.path), info.is_dir, None if info.is_dir else info.size)

    def _delete(self, path: str) -> None:
        self._unary(self._stub.DeleteArtifacts, pb.DeleteArtifactsRequest(path=self._wire(path)))

    def _upload_file(self, local_file: Path, path: str, progress: Progress) -> None:
        wire_path = self._wire(path)
        attempt = 0
        while True:
            state = _UploadState()
            try:
                response = self._stub.UploadArtifact(
                    self._upload_messages(wire_path, local_file, state, progress)
                )
            except grpc.RpcError as err:
                state.end(progress)
                if state.error is not None:  # reading the local file failed: that is the error
                    raise state.error from None
                if _code(err) not in TRANSIENT_CODES or attempt >= self._retry.max_retries:
                    raise error_from_rpc(err) from None
                self._pause_before_retry(attempt)
                attempt += 1
                continue
            if state.error is not None:
                raise state.error
            if response.size != state.size or response.sha256 != state.digest.hexdigest():
                raise ModelyardError(
                    f"the artifact server stored {response.size} bytes with sha256 "
                    f"{response.sha256} for {path!r}, but {state.size} bytes with sha256 "
                    f"{state.digest.hexdigest()} were sent",
                    path=path,
                )
            return

    @staticmethod
    def _upload_messages(
        wire_path: str, local_file: Path, state: _UploadState, progress: Progress
    ) -> Iterator[pb.UploadArtifactRequest]:
        """Header, chunks, trailer; a local read error is kept and ends the stream early."""
        yield pb.UploadArtifactRequest(header=pb.UploadArtifactHeader(path=wire_path))
        try:
            with local_file.open("rb") as src:
                while chunk := src.read(CHUNK_SIZE):
                    state.digest.update(chunk)
                    state.size += len(chunk)
                    yield pb.UploadArtifactRequest(chunk=chunk)
                    if not state.report(progress, len(chunk)):
                        return  # the call already failed; the caller sends the file again
        except Exception as exc:  # gRPC would only say CANCELLED: keep the real cause
            state.error = exc
            raise
        yield pb.UploadArtifactRequest(
            trailer=pb.UploadArtifactTrailer(size=state.size, sha256=state.digest.hexdigest())
        )

    def _download_file(self, path: str, local_file: Path, progress: Progress) -> None:
        wire_path = self._wire(path)
        partial = _partial_path(local_file)
        try:
            with partial.open("w+b") as out:
                state = _DownloadState(out)
                attempt = 0
                while True:
                    try:
                        if self._download_segment(wire_path, state, progress):
                            break
                        error: ModelyardError = Unavailable(
                            f"the download of {path!r} ended before its trailer", path=path
                        )
                    except _ChangedWhileReading:
                        self._start_over(path, state, progress)
                        continue
                    except grpc.RpcError as err:
                        error = error_from_rpc(err)
                        if _code(err) not in TRANSIENT_CODES:
                            raise error from None
                    if attempt >= self._retry.max_retries:
                        raise error
                    self._pause_before_retry(attempt)
                    attempt += 1
                if state.kept != state.size:
                    raise ModelyardError(
                        f"the download of {path!r} ended with {state.kept} of {state.size} bytes",
                        path=path,
                    )
            os.replace(partial, local_file)
        finally:
            partial.unlink(missing_ok=True)

    @staticmethod
    def _start_over(path: str, state: _DownloadState, progress: Progress) -> None:
        """The remote file changed between two streams: drop what was kept."""
        state.restarts += 1
        if state.restarts > MAX_DOWNLOAD_RESTARTS:
            raise Aborted(f"the artifact {path!r} kept changing while it was downloaded", path=path)
        progress.update(-state.kept)
        state.out.seek(0)
        state.out.truncate()
        state.kept, state.size = 0, None

    def _download_segment(self, wire_path: str, state: _DownloadState, progress: Progress) -> bool:
        """One DownloadArtifact stream from the kept offset; True when its trailer verified.

        Raises:
            grpc.RpcError: the stream failed (resumable when the code is transient).
            _ChangedWhileReading: the remote file differs from the one being downloaded.
        """
        overlap = min(state.kept, RESUME_OVERLAP_BYTES)
        offset = state.kept - overlap
        expected = b""
        if overlap:
            state.out.seek(offset)
            expected = state.out.read(overlap)
            state.out.seek(state.kept)
        digest = hashlib.sha256()
        sent = 0
        call = self._stub.DownloadArtifact(
            pb.DownloadArtifactRequest(path=wire_path, offset=offset)
        )
        verified = False
        try:
            for message in call:
                part = message.WhichOneof("part")
                if part == "chunk":
                    data = message.chunk
                    digest.update(data)
                    sent += len(data)
                    if expected:
                        n = min(len(expected), len(data))
                        if data[:n] != expected[:n]:
                            raise _ChangedWhileReading
                        expected, data = expected[n:], data[n:]
                    if data:
                        state.out.write(data)
                        state.kept += len(data)
                        progress.update(len(data))
                elif part == "header":
                    size = message.header.size
                    if message.header.offset != offset or (
                        state.size is not None and size != state.size
                    ):
                        raise _ChangedWhileReading
                    state.size = size
                elif part == "trailer":
                    if expected or (
                        message.trailer.sent != sent or message.trailer.sha256 != digest.hexdigest()
                    ):
                        raise _ChangedWhileReading
                    verified = True
            return verified
        finally:
            if not verified:
                call.cancel()


def repository_for(
    artifact_uri: str, *, tracking_uri: str, config: ClientConfig | None = None
) -> ArtifactRepository:
    """The repository for an artifact URI (see the module docstring for the schemes).

    Raises:
        InvalidArgument: runs:/ or models:/ URIs (resolve them first), or a malformed URI.
    """
    if not isinstance(artifact_uri, str) or not artifact_uri:
        raise InvalidArgument(f"not an artifact URI: {artifact_uri!r}", uri=artifact_uri)
    scheme = urlsplit(artifact_uri).scheme.lower()
    if scheme == PROXIED_SCHEME:
        return ProxiedRepository(artifact_uri, tracking_uri=tracking_uri, config=config)
    if scheme in ("runs", "models"):
        raise InvalidArgument(
            f"{artifact_uri!r} names a run or model, not a storage location; use "
            "modelyard.artifacts.download_artifacts, which resolves it",
            uri=artifact_uri,
        )
    return StoreRepository(artifact_uri)
