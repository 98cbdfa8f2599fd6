"""ArtifactStore: files under one artifact root, on a local disk, S3 or Azure Blob (fsspec).

Every method checks the client-supplied path with `clean_path` first, then confines it again
on the store's side:

- local roots resolve the real path (symlinks included) of whatever they touch and refuse
  (PermissionDenied naming the path) anything whose real path is not inside the real root, so
  a symlink inside the root cannot be used to read, write, list or delete outside it;
- object stores build keys only as `<root>/<clean path>`.

Writes stream and are atomic; nothing buffers a whole file:

- local: a temporary file in `<root>/.modelyard-partial/`, fsync'ed, then `os.replace`d onto
  the final path;
- S3: an s3fs file opened with `autocommit=False` (a multipart upload with parts of
  S3_BLOCK_SIZE); `commit()` completes it, `abort()` aborts it, so nothing appears at the key
  before the commit (even an empty or small file);
- Azure: one `stage_block` per AZURE_BLOCK_SIZE of data through the azure-storage-blob client,
  and `commit_block_list` only in `commit()` (adlfs' own files commit on close even with
  `autocommit=False`, so they are not used for writing).

What a killed process could not abort is removed by `sweep` (local temporary files, S3
multipart uploads); Azure discards uncommitted blocks by itself after 7 days.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import logging
import os
import shutil
import stat as stat_mod
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import fsspec
from fsspec.asyn import sync

from modelyard.artifacts.filesystems import StorageOptions, filesystem_for
from modelyard.artifacts.paths import PARTIAL_DIR, clean_path
from modelyard.errors import (
    Aborted,
    InvalidArgument,
    ModelyardError,
    NotFound,
    PermissionDenied,
    Unavailable,
)

logger = logging.getLogger(__name__)

#: Read and transfer chunk: 1 MiB (the wire allows up to 4 MiB - 1 KiB per message).
CHUNK_SIZE = 1 << 20
#: Part size of S3 multipart uploads (S3 needs >= 5 MiB for every part but the last).
S3_BLOCK_SIZE = 8 << 20
#: Size of each staged Azure block.
AZURE_BLOCK_SIZE = 4 << 20
#: Bytes fetched per ranged GET when reading from an object store.
OBJECT_READ_SIZE = 8 << 20


@dataclass(frozen=True)
class ArtifactEntry:
    """A file or directory below the store root (path relative to the root)."""

    path: str
    is_dir: bool
    size: int
    modified_time: int  # milliseconds since the epoch; 0 when the store does not say


@dataclass(frozen=True)
class UploadResult:
    """A committed upload: where it went, how many bytes and their SHA-256 (hex)."""

    path: str
    size: int
    sha256: str


class _Sink(Protocol):
    def write(self, data: bytes) -> None: ...

    def commit(self) -> None: ...

    def abort(self) -> None: ...


class ArtifactUpload:
    """One file being written; appears at its path only on commit() (a context manager)."""

    def __init__(self, path: str, sink: _Sink) -> None:
        """Wrap a backend sink for `path` (use ArtifactStore.open_upload to get one)."""
        self.path = path
        self._sink = sink
        self._hash = hashlib.sha256()
        self._size = 0
        self._state = "open"

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return self._size

    @property
    def sha256(self) -> str:
        """SHA-256 (lowercase hex) of the bytes written so far."""
        return self._hash.hexdigest()

    @property
    def state(self) -> str:
        """The upload's state: open, committed or aborted."""
        return self._state

    def write(self, data: bytes) -> None:
        """Append bytes; the upload is aborted if the store fails."""
        if self._state != "open":
            raise ValueError(f"upload of {self.path!r} is already {self._state}")
        try:
            with _storage_errors(self.path):
                self._sink.write(data)
        except BaseException:
            self.abort()
            raise
        self._hash.update(data)
        self._size += len(data)

    def commit(self) -> UploadResult:
        """Make the file appear at its path (atomically replacing any previous one)."""
        if self._state != "open":
            raise ValueError(f"upload of {self.path!r} is already {self._state}")
        try:
            with _storage_errors(self.path):
                self._sink.commit()
        except BaseException:
            self.abort()
            raise
        self._state = "committed"
        return UploadResult(self.path, self._size, self.sha256)

    def abort(self) -> None:
        """Drop everything written; the path keeps what it had before. Idempotent."""
        if self._state != "open":
            return
        self._state = "aborted"
        try:
            self._sink.abort()
        except Exception:  # what is left behind is removed by sweep(); keep the first error
            logger.warning("could not abort the upload of %r", self.path, exc_info=True)

    def __enter__(self) -> ArtifactUpload:
        """Return self."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Abort unless committed (on an exception and when left uncommitted)."""
        self.abort()


class ArtifactReader:
    """Iterates a file's bytes in chunks from an offset; `.size` is the whole file's size."""

    def __init__(
        self, path: str, size: int, offset: int, chunks: Iterator[bytes], close: Callable[[], None]
    ) -> None:
        """Wrap a chunk iterator and the function that releases its file."""
        self.path = path
        self.size = size
        self.offset = offset
        self._chunks = chunks
        self._close = close
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        """Return self (an iterator of bytes chunks)."""
        return self

    def __next__(self) -> bytes:
        """The next chunk; StopIteration at the end of the file."""
        if self._closed:
            raise StopIteration
        return next(self._chunks)

    def close(self) -> None:
        """Release the underlying file. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            close_gen = getattr(self._chunks, "close", None)
            if close_gen is not None:
                close_gen()
        finally:
            self._close()

    def __enter__(self) -> ArtifactReader:
        """Return self."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close."""
        self.close()


def _check_offset(path: str, offset: int, size: int) -> None:
    if offset < 0 or offset > size:
        raise InvalidArgument(
            f"offset {offset} is outside artifact {path!r} of {size} bytes",
            path=path,
            offset=offset,
        )


def _inside(real: str, real_root: str) -> bool:
    return real == real_root or os.path.commonpath([real_root, real]) == real_root


def _escapes(path: str) -> PermissionDenied:
    return PermissionDenied(f"artifact path {path!r} resolves outside the artifact root", path=path)


# -- local disk --------------------------------------------------------------------------------


class _LocalSink:
    """Temporary file in <root>/.modelyard-partial, fsync'ed and renamed on commit."""

    def __init__(self, backend: _LocalBackend, path: str) -> None:
        self._backend = backend
        self._path = path
        os.makedirs(backend.root, exist_ok=True)
        target = backend.confined(path)
        if os.path.isdir(target):
            raise InvalidArgument(f"artifact path {path!r} is a directory", path=path)
        partial = backend.partial_dir()
        os.makedirs(partial, exist_ok=True)
        if os.path.realpath(partial) != partial:
            raise PermissionDenied(
                f"{PARTIAL_DIR!r} in the artifact root must be a plain directory, not a link",
                path=path,
            )
        self._tmp = os.path.join(partial, f"{uuid.uuid4().hex}.part")
        fd = os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        self._file = os.fdopen(fd, "wb")

    def write(self, data: bytes) -> None:
        self._file.write(data)

    def commit(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        path = self._path
        head, _, name = path.rpartition("/")
        parent = self._backend.confined(head, path) if head else self._backend.real_root()
        try:
            os.makedirs(parent, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise InvalidArgument(
                f"artifact path {path!r}: a parent of it is a file", path=path
            ) from exc
        parent = self._backend.confined(head, path) if head else self._backend.real_root()
        dest = os.path.join(parent, name)
        if not _inside(os.path.realpath(dest), self._backend.real_root()):
            raise _escapes(path)
        if os.path.isdir(dest) and not os.path.islink(dest):
            raise InvalidArgument(f"artifact path {path!r} is a directory", path=path)
        os.replace(self._tmp, dest)

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._tmp)


class _LocalBackend:
    """A directory on a local (or mounted) filesystem, accessed with os calls."""

    def __init__(self, root: str) -> None:
        self.root = root

    def real_root(self) -> str:
        return os.path.realpath(self.root)

    def partial_dir(self) -> str:
        return os.path.join(self.real_root(), PARTIAL_DIR)

    def confined(self, path: str, shown: str | None = None) -> str:
        """The real path of root/path; PermissionDenied (naming `shown`) when it is outside."""
        real_root = self.real_root()
        if not path:
            return real_root
        real = os.path.realpath(os.path.join(real_root, *path.split("/")))
        if not _inside(real, real_root):
            raise _escapes(shown or path)
        return real

    def open_sink(self, path: str) -> _Sink:
        return _LocalSink(self, path)

    def read(self, path: str, offset: int, chunk_size: int) -> ArtifactReader:
        real = self.confined(path)
        try:  # O_NONBLOCK: a FIFO planted in the root must not hang the reader
            fd = os.open(real, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(f"no artifact at {path!r}", path=path) from None
        try:
            st = os.fstat(fd)
            if stat_mod.S_ISDIR(st.st_mode):
                raise InvalidArgument(f"artifact path {path!r} is a directory", path=path)
            if not stat_mod.S_ISREG(st.st_mode):
                raise InvalidArgument(f"artifact path {path!r} is not a regular file", path=path)
        except BaseException:
            os.close(fd)
            raise
        f = os.fdopen(fd, "rb", buffering=0)
        try:
            size = st.st_size
            _check_offset(path, offset, size)
            f.seek(offset)
        except BaseException:
            f.close()
            raise

        def chunks() -> Iterator[bytes]:
            remaining = size - offset
            while remaining > 0:
                data = f.read(min(chunk_size, remaining))
                if not data:
                    raise Aborted(f"artifact {path!r} shrank while being read", path=path)
                remaining -= len(data)
                yield data

        return ArtifactReader(path, size, offset, chunks(), f.close)

    @staticmethod
    def _entry(path: str, st: os.stat_result) -> ArtifactEntry:
        is_dir = stat_mod.S_ISDIR(st.st_mode)
        return ArtifactEntry(path, is_dir, 0 if is_dir else st.st_size, st.st_mtime_ns // 10**6)

    def stat(self, path: str) -> ArtifactEntry | None:
        try:
            st = os.stat(self.confined(path))
        except (FileNotFoundError, NotADirectoryError):
            return None
        return self._entry(path, st)

    def list(self, path: str, recursive: bool) -> builtins.list[ArtifactEntry]:
        real_root = self.real_root()
        real = self.confined(path)
        try:
            st = os.stat(real)
        except (FileNotFoundError, NotADirectoryError):
            return []
        if not stat_mod.S_ISDIR(st.st_mode):
            return [self._entry(path, st)]
        out: builtins.list[ArtifactEntry] = []

        def walk(directory: str, rel: str) -> None:
            try:
                with os.scandir(directory) as it:
                    items = builtins.list(it)
            except (FileNotFoundError, NotADirectoryError):
                return
            for item in items:
                if item.name == PARTIAL_DIR:
                    continue
                try:
                    item.name.encode("utf-8")
                except UnicodeEncodeError:
                    continue  # not representable on the wire
                child = f"{rel}/{item.name}" if rel else item.name
                link = item.is_symlink()
                try:
                    if link:
                        target = os.path.realpath(item.path)
                        if not _inside(target, real_root):
                            continue  # never show (or follow) what lies outside the root
                        st = os.stat(target)
                    else:
                        target = item.path
                        st = item.stat(follow_symlinks=False)
                except OSError:
                    continue  # vanished or dangling
                if stat_mod.S_ISDIR(st.st_mode):
                    if not recursive:
                        out.append(self._entry(child, st))
                    elif not link:  # symlinked directories are not descended (no cycles)
                        walk(target, child)
                elif stat_mod.S_ISREG(st.st_mode):
                    out.append(self._entry(child, st))

        walk(real, path)
        out.sort(key=lambda e: e.path)
        return out

    def delete(self, path: str) -> None:
        head, _, name = path.rpartition("/")
        parent = self.confined(head, path) if head else self.real_root()
        target = os.path.join(parent, name)
        if not os.path.lexists(target):
            return
        if not _inside(os.path.realpath(target), self.real_root()):
            raise _escapes(path)
        try:
            if os.path.isdir(target) and not os.path.islink(target):
                shutil.rmtree(target)
            else:
                os.unlink(target)
        except FileNotFoundError:
            pass

    def sweep(self, older_than_s: float) -> int:
        partial = self.partial_dir()
        cutoff = time.time() - older_than_s
        removed = 0
        try:
            with os.scandir(partial) as it:
                items = builtins.list(it)
        except (FileNotFoundError, NotADirectoryError):
            return 0
        for item in items:
            try:
                if not item.is_file(follow_symlinks=False):
                    continue
                if older_than_s > 0 and item.stat(follow_symlinks=False).st_mtime > cutoff:
                    continue
                os.unlink(item.path)
                removed += 1
            except FileNotFoundError:
                continue
        return removed


# -- object stores (fsspec) ----------------------------------------------------------------------


def _mtime_ms(info: dict[str, Any]) -> int:
    for key in ("LastModified", "last_modified", "mtime", "modified"):
        value = info.get(key)
        if value is None:
            continue
        if hasattr(value, "timestamp"):
            return int(value.timestamp() * 1000)
        if isinstance(value, int | float):
            return int(value * 1000)
    return 0


class _FsspecSink:
    """An fsspec file opened with autocommit=False: commit() or discard() decides."""

    def __init__(self, fs: fsspec.AbstractFileSystem, key: str, block_size: int) -> None:
        self._file = fs.open(key, "wb", autocommit=False, block_size=block_size)

    def write(self, data: bytes) -> None:
        self._file.write(data)

    def commit(self) -> None:
        self._file.close()  # uploads the last part; with autocommit=False nothing is final yet
        self._file.commit()

    def abort(self) -> None:
        try:
            self._file.discard()  # aborts the multipart upload
        except FileNotFoundError:
            pass  # already aborted (by sweep) or never started
        finally:
            self._file.closed = True  # do not flush the dropped buffer on close/GC


class _AzureBlockSink:
    """Stages blocks as the data arrives; commit_block_list only in commit()."""

    def __init__(self, fs: fsspec.AbstractFileSystem, key: str, block_size: int) -> None:
        container, blob, _ = fs.split_path(key)
        self._loop = fs.loop
        self._blob = fs.service_client.get_blob_client(container, blob)
        self._block_size = block_size
        self._prefix = uuid.uuid4().hex
        self._ids: builtins.list[str] = []
        self._pending: builtins.list[bytes] = []
        self._pending_size = 0

    def _run(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return sync(self._loop, method, *args, **kwargs)

    def _stage(self) -> None:
        data = b"".join(self._pending)
        self._pending, self._pending_size = [], 0
        block_id = f"{self._prefix}{len(self._ids):08x}"  # same length for every block
        self._run(self._blob.stage_block, block_id=block_id, data=data, length=len(data))
        self._ids.append(block_id)

    def write(self, data: bytes) -> None:
        self._pending.append(bytes(data))
        self._pending_size += len(data)
        if self._pending_size >= self._block_size:
            self._stage()

    def commit(self) -> None:
        if self._pending_size:
            self._stage()
        self._run(self._blob.commit_block_list, self._ids)

    def abort(self) -> None:
        # Staged blocks that are never committed are discarded by Azure after 7 days.
        self._pending, self._pending_size = [], 0


class _ObjectBackend:
    """Any fsspec filesystem with object-store semantics (keys under a root prefix)."""

    block_size = S3_BLOCK_SIZE

    def __init__(self, fs: fsspec.AbstractFileSystem, root: str) -> None:
        self.fs = fs
        self.root = root.rstrip("/")

    def key(self, path: str) -> str:
        return f"{self.root}/{path}" if path else self.root

    def _rel(self, name: str) -> str | None:
        name = name.rstrip("/")
        if name == self.root:
            return ""
        prefix = self.root + "/"
        return name[len(prefix) :] if name.startswith(prefix) else None

    def _info(self, key: str) -> dict[str, Any] | None:
        try:
            return self.fs.info(key)
        except FileNotFoundError:
            return None

    @staticmethod
    def _is_dir(info: dict[str, Any]) -> bool:
        return info.get("type") == "directory"

    def _entry(self, path: str, info: dict[str, Any]) -> ArtifactEntry:
        if self._is_dir(info):
            return ArtifactEntry(path, True, 0, 0)
        return ArtifactEntry(path, False, int(info.get("size") or 0), _mtime_ms(info))

    def open_sink(self, path: str) -> _Sink:
        return _FsspecSink(self.fs, self.key(path), self.block_size)

    def read(self, path: str, offset: int, chunk_size: int) -> ArtifactReader:
        key = self.key(path)
        info = self._info(key)
        if info is None:
            raise NotFound(f"no artifact at {path!r}", path=path)
        if self._is_dir(info):
            raise InvalidArgument(f"artifact path {path!r} is a directory", path=path)
        size = int(info.get("size") or 0)
        _check_offset(path, offset, size)
        block = max(chunk_size, OBJECT_READ_SIZE // chunk_size * chunk_size)
        try:
            f = self.fs.open(key, "rb", cache_type="none", block_size=block)
        except FileNotFoundError:
            raise NotFound(f"no artifact at {path!r}", path=path) from None

        def chunks() -> Iterator[bytes]:
            f.seek(offset)
            remaining = size - offset
            while remaining > 0:
                data = f.read(min(block, remaining))
                if not data:
                    raise Aborted(f"artifact {path!r} shrank while being read", path=path)
                remaining -= len(data)
                if len(data) <= chunk_size:
                    yield data
                    continue
                view = memoryview(data)
                for start in range(0, len(data), chunk_size):
                    yield bytes(view[start : start + chunk_size])

        return ArtifactReader(path, size, offset, chunks(), f.close)

    def stat(self, path: str) -> ArtifactEntry | None:
        info = self._info(self.key(path))
        return None if info is None else self._entry(path, info)

    def _under(self, key: str, items: Any) -> Iterator[tuple[str, dict[str, Any]]]:
        """(relative path, info) for listed items strictly below key, hiding reserved names."""
        for info in items:
            name = info["name"].rstrip("/")
            if key and not name.startswith(key + "/"):
                continue
            rel = self._rel(name)
            if not rel or PARTIAL_DIR in rel.split("/"):
                continue
            yield rel, info

    def list(self, path: str, recursive: bool) -> builtins.list[ArtifactEntry]:
        key = self.key(path)
        if path:
            info = self._info(key)
            if info is None:
                return []
            if not self._is_dir(info):
                return [self._entry(path, info)]
        try:
            if recursive:
                items: Any = self.fs.find(key, withdirs=False, detail=True).values()
            else:
                items = self.fs.ls(key, detail=True)
        except FileNotFoundError:
            return []
        seen: dict[tuple[str, bool], ArtifactEntry] = {}
        for rel, info in self._under(key, items):
            entry = self._entry(rel, info)
            if recursive and entry.is_dir:
                continue
            seen[(rel, entry.is_dir)] = entry
        return sorted(seen.values(), key=lambda e: (e.path, e.is_dir))

    def delete(self, path: str) -> None:
        key = self.key(path)
        names = []
        info = self._info(key)
        if info is None:
            return
        if not self._is_dir(info):
            names.append(key)
        try:
            found = self.fs.find(key, withdirs=False)
        except FileNotFoundError:
            found = []
        names.extend(n for n in found if n.startswith(key + "/"))
        if names:
            self.fs.rm(sorted(set(names)))

    def sweep(self, older_than_s: float) -> int:
        return 0


class _S3Backend(_ObjectBackend):
    """s3fs: multipart uploads for writes; sweep aborts orphaned multipart uploads."""

    block_size = S3_BLOCK_SIZE

    def sweep(self, older_than_s: float) -> int:
        """Abort multipart uploads under the root started more than older_than_s ago."""
        bucket, _, prefix = self.root.partition("/")
        prefix = f"{prefix}/" if prefix else ""
        cutoff = time.time() - older_than_s
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        removed = 0
        while True:
            page = self.fs.call_s3("list_multipart_uploads", **kwargs)
            for upload in page.get("Uploads", []):
                key = upload["Key"]
                if not key.startswith(prefix):
                    continue  # a store that ignored Prefix: never touch outside the root
                initiated = upload.get("Initiated")
                if older_than_s > 0 and (initiated is None or initiated.timestamp() > cutoff):
                    continue
                try:
                    self.fs.call_s3(
                        "abort_multipart_upload",
                        Bucket=bucket,
                        Key=key,
                        UploadId=upload["UploadId"],
                    )
                    removed += 1
                except FileNotFoundError:
                    continue  # completed or aborted meanwhile
            if not page.get("IsTruncated"):
                return removed
            kwargs["KeyMarker"] = page.get("NextKeyMarker", "")
            kwargs["UploadIdMarker"] = page.get("NextUploadIdMarker", "")


class _AzureBackend(_ObjectBackend):
    """adlfs for reads and listings; block uploads driven through azure-storage-blob."""

    block_size = AZURE_BLOCK_SIZE

    def open_sink(self, path: str) -> _Sink:
        return _AzureBlockSink(self.fs, self.key(path), self.block_size)

    def sweep(self, older_than_s: float) -> int:
        """Nothing to do: Azure discards uncommitted blocks by itself after 7 days."""
        return 0


def _backend_for(fs: fsspec.AbstractFileSystem, root: str) -> Any:
    protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    if "file" in protocols or "local" in protocols:
        return _LocalBackend(root)
    if "s3" in protocols:
        return _S3Backend(fs, root)
    if "abfs" in protocols or "az" in protocols:
        return _AzureBackend(fs, root)
    return _ObjectBackend(fs, root)


@contextlib.contextmanager
def _storage_errors(path: str) -> Iterator[None]:
    """Turn backend errors into modelyard errors that name the path."""
    try:
        yield
    except ModelyardError:
        raise
    except FileNotFoundError as exc:
        raise NotFound(f"artifact path {path!r}: not found in the store: {exc}", path=path) from exc
    except PermissionError as exc:
        raise PermissionDenied(
            f"the storage backend denied access to artifact path {path!r}: {exc}", path=path
        ) from exc
    except (ConnectionError, TimeoutError) as exc:
        raise Unavailable(
            f"the artifact store is unreachable for path {path!r}: {exc}", path=path
        ) from exc
    except OSError as exc:
        if type(exc).__name__ == "FileExpired":  # s3fs: the object changed while being read
            raise Aborted(
                f"artifact {path!r} was replaced while being read; retry", path=path
            ) from exc
        raise
    except Exception as exc:
        status = getattr(exc, "status_code", None)  # azure-core HttpResponseError
        if status == 403:
            raise PermissionDenied(
                f"the storage backend denied access to artifact path {path!r}: {exc}",
                path=path,
            ) from exc
        if status == 404:
            raise NotFound(
                f"artifact path {path!r}: not found in the store: {exc}", path=path
            ) from exc
        if type(exc).__name__ in ("ServiceRequestError", "ServiceResponseError"):
            raise Unavailable(
                f"the artifact store is unreachable for path {path!r}: {exc}", path=path
            ) from exc
        raise


class ArtifactStore:
    """Files under one artifact root URI (local path, file://, s3://, wasbs://, abfs://, az://)."""

    def __init__(self, root_uri: str, options: StorageOptions | None = None) -> None:
        """Open the store for root_uri; nothing is contacted until the first call."""
        self.root_uri = root_uri
        self.fs, self.root = filesystem_for(root_uri, options)
        self._backend = _backend_for(self.fs, self.root)

    def __repr__(self) -> str:
        """ArtifactStore('<root uri>')."""
        return f"ArtifactStore({self.root_uri!r})"

    @property
    def is_local(self) -> bool:
        """True when the root is on a local (or mounted) filesystem."""
        return isinstance(self._backend, _LocalBackend)

    def open_upload(self, path: str) -> ArtifactUpload:
        """Start writing a file at path; it appears there only when committed."""
        clean_path(path)
        with _storage_errors(path):
            return ArtifactUpload(path, self._backend.open_sink(path))

    def upload_file(self, path: str, local_file: str | Path) -> UploadResult:
        """Upload a local file to path (streamed, atomic)."""
        with open(local_file, "rb") as f, self.open_upload(path) as upload, _storage_errors(path):
            while data := f.read(CHUNK_SIZE):
                upload.write(data)
            return upload.commit()

    def read(self, path: str, offset: int = 0, chunk_size: int = CHUNK_SIZE) -> ArtifactReader:
        """Open the file at path for reading chunks from offset (NotFound if missing)."""
        clean_path(path)
        if chunk_size <= 0:
            raise InvalidArgument(f"chunk size {chunk_size} must be positive", path=path)
        if offset < 0:
            raise InvalidArgument(f"offset {offset} must not be negative", path=path)
        with _storage_errors(path):
            reader = self._backend.read(path, offset, chunk_size)
        chunks = reader._chunks

        def guarded() -> Iterator[bytes]:
            with _storage_errors(path):
                yield from chunks

        reader._chunks = guarded()
        return reader

    def download_file(self, path: str, local_file: str | Path) -> None:
        """Download the file at path to local_file (written to a temporary file, then renamed)."""
        dest = Path(local_file)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with self.read(path) as reader:
            tmp = dest.parent / f".{dest.name}.{uuid.uuid4().hex[:12]}.part"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
            try:
                with os.fdopen(fd, "wb") as f:
                    for chunk in reader:
                        f.write(chunk)
                os.replace(tmp, dest)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise

    def stat(self, path: str) -> ArtifactEntry | None:
        """Describe path ("" is the root); None when nothing is there."""
        clean_path(path, allow_empty=True)
        with _storage_errors(path):
            return self._backend.stat(path)

    def delete(self, path: str) -> None:
        """Delete the file or the directory tree at path; a missing path is fine."""
        if path == "":
            raise InvalidArgument("the artifact root itself cannot be deleted", path=path)
        clean_path(path)
        with _storage_errors(path):
            self._backend.delete(path)

    def sweep(self, older_than_s: float) -> int:
        """Remove uploads orphaned more than older_than_s ago; return how many were removed.

        Local: temporary files in `.modelyard-partial/`. S3: multipart uploads under the root.
        Azure: nothing (uncommitted blocks are discarded by Azure itself after 7 days), 0.
        """
        with _storage_errors(""):
            return self._backend.sweep(older_than_s)

    def list(self, path: str = "", recursive: bool = False) -> builtins.list[ArtifactEntry]:
        """Direct children of path (or every file below it), sorted; paths relative to root."""
        clean_path(path, allow_empty=True)
        with _storage_errors(path):
            return self._backend.list(path, recursive)
