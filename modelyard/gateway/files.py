"""Artifact files of the server's destination over plain HTTP.

    GET  /files/<path>   the file's bytes; `Range: bytes=a-b` gives 206 with Content-Range,
                         an unsatisfiable range 416; always `Content-Disposition: attachment`
                         and `application/octet-stream`, so a browser never renders an
                         artifact (HTML or SVG from a run cannot run script on this origin)
    HEAD /files/<path>   the same headers, no body
    PUT  /files/<path>   the request body becomes the file, atomically (the same store upload
                         the gRPC ArtifactService uses); `X-Content-SHA256`, when sent, must
                         match or nothing is stored; refused for files backing a model version

Paths go through the same `clean_path` as gRPC; `/files/` names the destination root, so
`modelyard-artifacts:/1/<run>/artifacts/x` is `/files/1/<run>/artifacts/x`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from werkzeug.exceptions import MethodNotAllowed
from werkzeug.wrappers import Request, Response

from modelyard.artifacts.paths import clean_path
from modelyard.artifacts.servicer import refuse_protected
from modelyard.artifacts.store import CHUNK_SIZE
from modelyard.errors import InvalidArgument, NotFound
from modelyard.gateway.metrics import ServerMetrics

if TYPE_CHECKING:  # pragma: no cover
    from modelyard.artifacts.store import ArtifactStore

#: Headers that keep a downloaded artifact inert in a browser.
INERT_HEADERS = (
    ("Content-Security-Policy", "default-src 'none'; sandbox"),
    ("X-Content-Type-Options", "nosniff"),
)
SHA256_HEADER = "X-Content-SHA256"
READ_SIZE = 1 << 20


def content_disposition(path: str) -> str:
    """attachment; filename=<ASCII fallback>; filename*=UTF-8''<the file's name>."""
    from urllib.parse import quote

    name = path.rsplit("/", 1)[-1] or "download"
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


class FileRoutes:
    """GET, HEAD and PUT of destination files."""

    def __init__(
        self,
        store: ArtifactStore,
        *,
        protected: Callable[[str], list[tuple[str, int]]] | None = None,
        metrics: ServerMetrics | None = None,
    ) -> None:
        self.store = store
        self.protected = protected
        self.metrics = metrics

    def handle(self, request: Request, raw_path: str) -> Response:
        """Serve one request under /files/."""
        if request.method in ("GET", "HEAD"):
            return self.download(request, clean_path(raw_path))
        if request.method == "PUT":
            return self.upload(request, clean_path(raw_path))
        raise MethodNotAllowed(valid_methods=["GET", "HEAD", "PUT"])

    def download(self, request: Request, path: str) -> Response:
        """The file, whole or one byte range."""
        entry = self.store.stat(path)
        if entry is None:
            raise NotFound(f"no artifact at {path!r}", path=path)
        if entry.is_dir:
            raise InvalidArgument(f"artifact path {path!r} is a directory", path=path)
        size = entry.size
        start, stop, status = 0, size, 200
        if request.headers.get("Range"):
            wanted = request.range
            span = wanted.range_for_length(size) if wanted is not None else None
            # Other units and several ranges are ignored (the whole file, as RFC 9110 allows).
            if (
                wanted is not None
                and wanted.units == "bytes"
                and span is None
                and len(wanted.ranges) == 1
            ):
                response = Response(status=416)
                response.headers["Content-Range"] = f"bytes */{size}"
                return response
            if span is not None:
                start, stop, status = span[0], span[1], 206
        response = Response(status=status, content_type="application/octet-stream")
        response.headers["Content-Disposition"] = content_disposition(path)
        response.headers["Accept-Ranges"] = "bytes"
        response.headers["Cache-Control"] = "private, no-cache"
        for name, value in INERT_HEADERS:
            response.headers[name] = value
        if status == 206:
            response.headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
        response.content_length = stop - start
        if request.method == "HEAD" or stop == start:
            response.response = []
            return response
        response.response = self._stream(path, start, stop)
        response.direct_passthrough = True
        return response

    def _stream(self, path: str, start: int, stop: int) -> Iterator[bytes]:
        reader = self.store.read(path, offset=start, chunk_size=min(CHUNK_SIZE, stop - start))
        remaining = stop - start
        try:
            for chunk in reader:
                if len(chunk) > remaining:
                    chunk = chunk[:remaining]
                remaining -= len(chunk)
                if self.metrics is not None:
                    # Counted before it is handed over: once a client has the bytes, so has
                    # /metrics (counting after the last chunk raced the client's next scrape).
                    self.metrics.add_bytes("out", "http", len(chunk))
                yield chunk
                if remaining <= 0:
                    break
        finally:
            reader.close()

    def upload(self, request: Request, path: str) -> Response:
        """Store the request body at `path` (201 with its size and SHA-256)."""
        refuse_protected(self.protected, path, "overwrite")
        claimed = (request.headers.get(SHA256_HEADER) or "").strip().lower() or None
        digest = hashlib.sha256()
        stream = request.stream
        with self.store.open_upload(path) as upload:
            while True:
                chunk = stream.read(READ_SIZE)
                if not chunk:
                    break
                digest.update(chunk)
                upload.write(chunk)
            expected = request.content_length
            if expected is not None and upload.size != expected:
                raise InvalidArgument(
                    f"upload of {path!r} ended after {upload.size} of {expected} bytes; "
                    "nothing was stored",
                    path=path,
                    received=upload.size,
                )
            if claimed is not None and claimed != digest.hexdigest():
                raise InvalidArgument(
                    f"upload of {path!r}: {SHA256_HEADER} is {claimed[:80]!r}, the server "
                    f"received sha256 {digest.hexdigest()!r}; nothing was stored",
                    path=path,
                    claimed_sha256=claimed[:80],
                    received_sha256=digest.hexdigest(),
                )
            result = upload.commit()
        if self.metrics is not None:
            self.metrics.add_bytes("in", "http", result.size)
        body = json.dumps({"path": result.path, "size": result.size, "sha256": result.sha256})
        return Response(body, status=201, content_type="application/json")
