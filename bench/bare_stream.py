"""A bare gRPC byte stream: the baseline the artifact transfers are measured against.

One client-streaming method (upload: the first message is the path, optionally followed by
"\nfsync" to fsync the file before closing it, then raw chunks) and one
server-streaming method (download: the request is the path, the reply raw chunks), registered
as generic handlers with no (de)serializers, so the bytes pass through untouched: no protobuf,
no hashing, no fsync, no temporary file. The server writes to and reads from files under the
directory it is given (the same artifacts destination the system under test uses); the chunk
size is modelyard's CHUNK_SIZE and the channel and server options are modelyard's own.

    python -m bench.bare_stream serve --port 50999 --root /tmp/dest   # prints "listening on"

The client half (`upload`, `download`) is called from bench/artifacts.py inside the workload.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc

SERVICE = "bench.BareStream"
UPLOAD = f"/{SERVICE}/Upload"
DOWNLOAD = f"/{SERVICE}/Download"
FALLBACK_CHUNK_SIZE = 1024 * 1024


def chunk_size() -> int:
    """modelyard's transfer chunk (artifacts.store.CHUNK_SIZE), 1 MiB until that exists."""
    try:
        from modelyard.artifacts.store import CHUNK_SIZE
    except ImportError:
        return FALLBACK_CHUNK_SIZE
    return int(CHUNK_SIZE)


def server_options() -> tuple[tuple[str, Any], ...]:
    """modelyard's grpc.Server options (so the baseline has the same transport settings)."""
    try:
        from modelyard.server.assembly import SERVER_OPTIONS
    except ImportError:
        return (
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
        )
    return tuple(SERVER_OPTIONS)


def channel_options() -> tuple[tuple[str, Any], ...]:
    """modelyard's client channel options."""
    try:
        from modelyard.client.channel import CHANNEL_OPTIONS
    except ImportError:
        return (
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
        )
    return tuple(CHANNEL_OPTIONS)


# -- server --------------------------------------------------------------------------------


class BareHandlers:
    """Upload/download of raw bytes to/from files under root."""

    def __init__(self, root: Path, chunk: int) -> None:
        """Serve files below root, reading in chunks of `chunk` bytes."""
        self.root = root
        self.chunk = chunk

    def _path(self, raw: bytes) -> Path:
        rel = raw.decode()
        if rel.startswith("/") or ".." in rel.split("/"):
            raise ValueError(f"bad path {rel!r}")
        return self.root / rel

    def upload(self, request_iterator: Iterator[bytes], context: grpc.ServicerContext) -> bytes:
        """Write every chunk after the first (path) message to the file; reply its size."""
        raw, _, option = next(request_iterator).partition(b"\n")
        path = self._path(raw)
        path.parent.mkdir(parents=True, exist_ok=True)
        size = 0
        with open(path, "wb") as f:
            for chunk in request_iterator:
                f.write(chunk)
                size += len(chunk)
            if option == b"fsync":
                f.flush()
                os.fsync(f.fileno())
        return str(size).encode()

    def download(self, request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
        """Stream the file named by the request in chunks."""
        with open(self._path(request), "rb") as f:
            while chunk := f.read(self.chunk):
                yield chunk


def serve(host: str, port: int, root: Path, workers: int = 8) -> None:
    """Run the bare server until SIGTERM/SIGINT."""
    handlers = BareHandlers(root, chunk_size())
    server = grpc.server(
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bare-rpc"),
        options=server_options(),
    )
    generic = grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Upload": grpc.stream_unary_rpc_method_handler(handlers.upload),
            "Download": grpc.unary_stream_rpc_method_handler(handlers.download),
        },
    )
    server.add_generic_rpc_handlers((generic,))
    bound = server.add_insecure_port(f"{host}:{port}")
    server.start()
    print(f"bare gRPC stream listening on {host}:{bound} root={root}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    server.stop(grace=2).wait()


# -- client --------------------------------------------------------------------------------


class BareClient:
    """The client half: one channel, upload and download of whole files."""

    def __init__(self, uri: str) -> None:
        """Connect to grpc://host:port."""
        target = uri.removeprefix("grpc://")
        self.channel = grpc.insecure_channel(target, options=channel_options())
        self.chunk = chunk_size()
        self._upload = self.channel.stream_unary(UPLOAD)
        self._download = self.channel.unary_stream(DOWNLOAD)

    def upload(
        self, local_file: str | os.PathLike[str], remote_path: str, fsync: bool = False
    ) -> int:
        """Stream local_file to remote_path (relative to the server root); return bytes stored.

        With fsync the server fsyncs the file before closing it (as modelyard's store does).
        """

        def messages() -> Iterator[bytes]:
            """The path message, then the file in chunks."""
            yield remote_path.encode() + (b"\nfsync" if fsync else b"")
            with open(local_file, "rb") as f:
                while chunk := f.read(self.chunk):
                    yield chunk

        return int(self._upload(messages()))

    def download(self, remote_path: str, local_file: str | os.PathLike[str]) -> int:
        """Stream remote_path into local_file; return bytes written."""
        size = 0
        with open(local_file, "wb") as f:
            for chunk in self._download(remote_path.encode()):
                f.write(chunk)
                size += len(chunk)
        return size

    def close(self) -> None:
        """Close the channel."""
        self.channel.close()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: `serve --port P --root DIR`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--root", type=Path, required=True)
    s.add_argument("--workers", type=int, default=8)
    args = parser.parse_args(argv)
    args.root.mkdir(parents=True, exist_ok=True)
    serve(args.host, args.port, args.root, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
