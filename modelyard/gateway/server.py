"""The HTTP server: waitress on its own threads, beside the gRPC server in the same process."""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

from waitress.server import create_server

logger = logging.getLogger("modelyard.server.http")


class HttpServer:
    """A bound (not yet serving) waitress server for a WSGI app; start() and stop()."""

    def __init__(self, app: Any, host: str, port: int, *, threads: int) -> None:
        try:
            self._server = create_server(
                app,
                host=host.strip("[]"),
                port=port,
                threads=threads,
                ident="modelyard",
                clear_untrusted_proxy_headers=True,
                channel_timeout=120,
                # Responses stream: a multi-GB download is never held in memory.
                outbuf_overflow=1 << 20,
            )
        except OSError as exc:
            raise OSError(f"cannot listen on {host}:{port} (HTTP): {exc}") from exc
        self.port: int = int(self._server.effective_port)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Serve on a daemon thread."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="modelyard-http", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with contextlib.suppress(OSError):  # closed while select() waited: the way out
            self._server.run()

    def stop(self) -> None:
        """Stop accepting and close the listening socket (idempotent)."""
        with contextlib.suppress(OSError):
            self._server.close()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5)
        task_dispatcher = getattr(self._server, "task_dispatcher", None)
        if task_dispatcher is not None:
            task_dispatcher.shutdown(cancel_pending=True, timeout=5)
