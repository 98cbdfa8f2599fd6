"""The gRPC ArtifactService over an ArtifactStore: streamed upload and download, list, delete, stat.

Every client-supplied path goes through `clean_path` once, here at the boundary; the store
confines it again. Uploads are hashed while they stream and committed only when the trailer
matches what arrived; any other ending (no trailer, a mismatch, a message out of order, the
client gone, the server stopping) aborts the upload, so nothing appears at the path. Neither
direction holds more than one chunk in this process. Errors are `modelyard.errors` classes;
the server's ErrorInterceptor maps them to status codes.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator

import grpc

from modelyard.artifacts.paths import clean_path
from modelyard.artifacts.store import CHUNK_SIZE, ArtifactEntry, ArtifactStore
from modelyard.errors import ArtifactProtected, InvalidArgument, NotFound
from modelyard.v1 import artifacts_pb2 as pb
from modelyard.v1 import artifacts_pb2_grpc as pb_grpc

#: Largest chunk a client may send (the proto's limit: 4 MiB minus 1 KiB).
MAX_CHUNK_BYTES = 4 * 1024 * 1024 - 1024

logger = logging.getLogger("modelyard.server.artifacts")

Ctx = grpc.ServicerContext

#: destination-relative path -> (model name, version) of the live versions whose files are at,
#: under or above it.
ProtectedPaths = Callable[[str], list[tuple[str, int]]]


class _StreamCancelled(Exception):
    """The upload stream ended because the call was cancelled, not by the client's choice."""


def _log_abort(path: str, reason: str) -> None:
    """One INFO line per upload that ended without a commit (nothing was stored)."""
    logger.info("upload aborted: %s", reason, extra={"path": path, "reason": reason})


def entry_to_pb(entry: ArtifactEntry) -> pb.ArtifactInfo:
    """An ArtifactEntry as the wire's ArtifactInfo."""
    return pb.ArtifactInfo(
        path=entry.path,
        is_dir=entry.is_dir,
        size=0 if entry.is_dir else entry.size,
        modified_time=entry.modified_time,
    )


class ArtifactServicer(pb_grpc.ArtifactServiceServicer):
    """modelyard.v1.ArtifactService over one ArtifactStore (the server's destination)."""

    def __init__(
        self,
        store: ArtifactStore,
        *,
        chunk_size: int = CHUNK_SIZE,
        protected: ProtectedPaths | None = None,
        count_bytes: Callable[[str, int], None] | None = None,
    ) -> None:
        """Serve `store`; downloads send chunks of `chunk_size` bytes.

        `protected` names the registered versions backing a path: uploads to and deletes of
        such paths are refused (ArtifactProtected) before anything is written. `count_bytes`
        ("in" or "out", bytes) is told of every stored upload and every download's bytes.
        """
        if not 0 < chunk_size <= MAX_CHUNK_BYTES:
            raise ValueError(f"chunk_size must be 1 to {MAX_CHUNK_BYTES}, got {chunk_size}")
        self.store = store
        self.chunk_size = chunk_size
        self.protected = protected
        self.count_bytes = count_bytes

    def _refuse_protected(self, path: str, action: str) -> None:
        """Raise ArtifactProtected when registered model versions are backed by `path`."""
        refuse_protected(self.protected, path, action)

    def UploadArtifact(
        self, request_iterator: Iterator[pb.UploadArtifactRequest], context: Ctx
    ) -> pb.UploadArtifactResponse:
        """Receive header, chunks and trailer; commit only when the trailer matches."""
        first = next(request_iterator, None)
        if first is None:
            raise InvalidArgument("empty upload stream: the first message must be the header")
        part = first.WhichOneof("part")
        if part != "header":
            raise InvalidArgument(
                f"upload out of order: the first message must be the header, got {part}",
                part=str(part),
            )
        path = clean_path(first.header.path)
        self._refuse_protected(path, "overwrite")
        try:
            return self._receive(path, request_iterator, context)
        except (grpc.RpcError, _StreamCancelled) as exc:
            # The client went away or the server is stopping.
            _log_abort(path, "the stream was cancelled")
            if isinstance(exc, grpc.RpcError):
                raise
            return pb.UploadArtifactResponse()  # never delivered: the call is cancelled
        except Exception as exc:
            _log_abort(path, str(exc))
            raise

    def _receive(
        self, path: str, request_iterator: Iterator[pb.UploadArtifactRequest], context: Ctx
    ) -> pb.UploadArtifactResponse:
        """Write the chunks after the header to an upload; commit it when the trailer matches."""
        with self.store.open_upload(path) as upload:
            trailer: pb.UploadArtifactTrailer | None = None
            for index, message in enumerate(request_iterator, start=1):
                part = message.WhichOneof("part")
                if trailer is not None:
                    raise InvalidArgument(
                        f"upload of {path!r} out of order: message {index} ({part}) after "
                        "the trailer",
                        path=path,
                        part=str(part),
                    )
                if part == "chunk":
                    if len(message.chunk) > MAX_CHUNK_BYTES:
                        raise InvalidArgument(
                            f"upload of {path!r}: chunk {index} has {len(message.chunk)} bytes, "
                            f"more than the limit of {MAX_CHUNK_BYTES}",
                            path=path,
                            chunk_bytes=len(message.chunk),
                        )
                    upload.write(message.chunk)
                elif part == "trailer":
                    trailer = message.trailer
                else:
                    raise InvalidArgument(
                        f"upload of {path!r} out of order: message {index} is a {part}, "
                        "expected a chunk or the trailer",
                        path=path,
                        part=str(part),
                    )
            if trailer is None:
                if not context.is_active():  # cancelled (a stopping server ends the stream)
                    raise _StreamCancelled(path)
                raise InvalidArgument(
                    f"upload of {path!r} ended without a trailer after {upload.size} bytes; "
                    "nothing was stored",
                    path=path,
                    received=upload.size,
                )
            if trailer.size != upload.size or trailer.sha256.lower() != upload.sha256:
                claimed = trailer.sha256[:80]  # echo a bounded amount of what the client sent
                raise InvalidArgument(
                    f"upload of {path!r} does not match its trailer: the client sent "
                    f"{trailer.size} bytes with sha256 {claimed!r}, the server received "
                    f"{upload.size} bytes with sha256 {upload.sha256!r}; nothing was stored",
                    path=path,
                    trailer_size=trailer.size,
                    trailer_sha256=claimed,
                    received_size=upload.size,
                    received_sha256=upload.sha256,
                )
            result = upload.commit()
        if self.count_bytes is not None:
            self.count_bytes("in", result.size)
        return pb.UploadArtifactResponse(path=result.path, size=result.size, sha256=result.sha256)

    def DownloadArtifact(
        self, request: pb.DownloadArtifactRequest, context: Ctx
    ) -> Iterator[pb.DownloadArtifactResponse]:
        """Send a header, the file from `offset` in chunks, and a trailer with their hash."""
        path = clean_path(request.path)
        if request.offset < 0:
            raise InvalidArgument(
                f"download of {path!r}: offset {request.offset} is negative",
                path=path,
                offset=request.offset,
            )
        reader = self.store.read(path, offset=request.offset, chunk_size=self.chunk_size)
        sent = 0
        try:
            yield pb.DownloadArtifactResponse(
                header=pb.DownloadArtifactHeader(size=reader.size, offset=request.offset)
            )
            digest = hashlib.sha256()
            for chunk in reader:
                digest.update(chunk)
                sent += len(chunk)
                yield pb.DownloadArtifactResponse(chunk=chunk)
            yield pb.DownloadArtifactResponse(
                trailer=pb.DownloadArtifactTrailer(sent=sent, sha256=digest.hexdigest())
            )
        finally:
            reader.close()
            if self.count_bytes is not None:
                self.count_bytes("out", sent)

    def ListArtifacts(
        self, request: pb.ListArtifactsRequest, context: Ctx
    ) -> pb.ListArtifactsResponse:
        """List a directory's children (or every file below it with `recursive`)."""
        path = clean_path(request.path, allow_empty=True)
        entries = self.store.list(path, recursive=request.recursive)
        return pb.ListArtifactsResponse(files=[entry_to_pb(e) for e in entries])

    def DeleteArtifacts(
        self, request: pb.DeleteArtifactsRequest, context: Ctx
    ) -> pb.DeleteArtifactsResponse:
        """Delete a file or a directory tree; a missing path is fine, the root is refused."""
        if not request.path:
            raise InvalidArgument(
                "the destination root cannot be deleted: name a file or directory below it",
                path=request.path,
            )
        path = clean_path(request.path)
        self._refuse_protected(path, "delete")
        self.store.delete(path)
        return pb.DeleteArtifactsResponse()

    def StatArtifact(
        self, request: pb.StatArtifactRequest, context: Ctx
    ) -> pb.StatArtifactResponse:
        """Describe one path; NOT_FOUND when nothing is there."""
        path = clean_path(request.path)
        entry = self.store.stat(path)
        if entry is None:
            raise NotFound(f"no artifact at {path!r}", path=path)
        return pb.StatArtifactResponse(info=entry_to_pb(entry))


def refuse_protected(protected: ProtectedPaths | None, path: str, action: str) -> None:
    """Raise ArtifactProtected when `protected` names model versions backed by `path`."""
    if protected is None:
        return
    backing = protected(path)
    if not backing:
        return
    name, version = backing[0]
    listed = ", ".join(f"{n!r} version {v}" for n, v in backing[:5])
    more = f" and {len(backing) - 5} more" if len(backing) > 5 else ""
    raise ArtifactProtected(
        f"cannot {action} artifact {path!r}: it backs registered model {listed}{more}; "
        "delete the model version first",
        path=path,
        model=name,
        version=version,
    )
