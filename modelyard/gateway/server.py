"""The HTTP server: waitress on its own threads, beside the gRPC server in the same process."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import create_server

logger = logging.getLogger("modelyard.server.http")

#: How long stop() lets responses in flight finish before it closes their connections.
STOP_GRACE_S = 5.0


class HttpServer:
    """A bound (not yet serving) waitress server for a WSGI app; start() and stop()."""

    def __init__(
        self, app: Any, host: str, port: int, *, threads: int, trusted_proxy: str | None = None
    ) -> None:
        # Behind a TLS-terminating proxy, believing its X-Forwarded-Proto makes the request
        # https to the app (so the CSRF cookie is Secure); from anyone else it is dropped.
        proxy: dict[str, Any] = {}
        if trusted_proxy:
            proxy = {
                "trusted_proxy": trusted_proxy,
                "trusted_proxy_count": 1,
                "trusted_proxy_headers": {"x-forwarded-proto", "x-forwarded-for"},
            }
        try:
            self._server = create_server(
                app,
                host=host.strip("[]"),
                port=port,
                threads=threads,
                ident="modelyard",
                clear_untrusted_proxy_headers=True,
                **proxy,
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

    def stop(self, grace: float = STOP_GRACE_S) -> None:
        """Stop accepting, let responses in flight finish for up to `grace` seconds, then
        close every connection (idle keep-alive ones at once) and the listening socket, so
        the port is free when this returns (idempotent).

        Waitress's own close() only closes the listening socket: its loop runs on while any
        connection is open, and a browser keeps one open for minutes.
        """
        thread, self._thread = self._thread, None
        if thread is None or not thread.is_alive():
            self._close_all()  # no loop runs: close here
        else:
            # The loop's sockets are closed in the loop's thread (through its trigger).
            self._in_loop(self._close_listener_and_idle)
            deadline = time.monotonic() + grace
            while self._channels() and time.monotonic() < deadline:
                time.sleep(0.01)
                self._in_loop(self._close_idle)
            self._in_loop(self._close_all)
            thread.join(timeout=5)
            if thread.is_alive():  # pragma: no cover - the loop did not wake up
                logger.warning("the HTTP server thread did not stop")
        task_dispatcher = getattr(self._server, "task_dispatcher", None)
        if task_dispatcher is not None:
            task_dispatcher.shutdown(cancel_pending=True, timeout=5)

    def _in_loop(self, thunk: Any) -> None:
        with contextlib.suppress(OSError):  # the trigger is closed: the loop has ended
            self._server.trigger.pull_trigger(thunk)

    def _channels(self) -> list[HTTPChannel]:
        return [c for c in list(self._server._map.values()) if isinstance(c, HTTPChannel)]

    def _close_listener_and_idle(self) -> None:
        server = self._server
        server.accepting = False
        with contextlib.suppress(OSError):
            wasyncore.dispatcher.close(server)  # the listening socket, not the trigger
        self._close_idle()

    def _close_idle(self) -> None:
        for channel in self._channels():
            if not channel.requests and not channel.total_outbufs_len:  # nothing left to send
                channel.handle_close()

    def _close_all(self) -> None:
        for channel in self._channels():
            channel.handle_close()  # wakes a task thread waiting to write to it
        with contextlib.suppress(OSError):
            self._server.close()  # the listening socket and the trigger
        wasyncore.close_all(self._server._map, ignore_all=True)
