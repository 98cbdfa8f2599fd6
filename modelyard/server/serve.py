"""Run a server: pick the mode module, start, log the address, stop gracefully on a signal."""

from __future__ import annotations

import importlib
import ipaddress
import json
import logging
import signal
import sys
import threading
import time
from types import FrameType, ModuleType
from typing import Any

from modelyard.server.assembly import ServerBundle
from modelyard.server.settings import ServerSettings

#: Settings -> the module that builds that mode (imported only when selected).
MODE_MODULES = {
    False: "modelyard.server.full",
    True: "modelyard.server.artifacts_only",
}

_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
}

logger = logging.getLogger("modelyard.server")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and every `extra` field."""

    def format(self, record: logging.LogRecord) -> str:
        """Render a record as a JSON line."""
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["traceback"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure_logging(level: int | str = logging.INFO) -> None:
    """Send the "modelyard" loggers to stderr as JSON lines at `level` (idempotent)."""
    root = logging.getLogger("modelyard")
    root.setLevel(level)
    if not any(getattr(h, "_modelyard_json", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._modelyard_json = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        root.propagate = False


def mode_module(settings: ServerSettings) -> ModuleType:
    """Import the module of the mode the settings select (and only that one)."""
    return importlib.import_module(MODE_MODULES[settings.artifacts_only])


def _is_loopback(host: str) -> bool:
    """Whether an interface name or address only accepts connections from this machine."""
    name = host.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def plain_http_warning(settings: ServerSettings) -> str | None:
    """The warning for a TLS server whose plain-HTTP port is reachable from other machines."""
    if settings.tls_cert is None or settings.http_port is None:
        return None
    if _is_loopback(settings.resolved_http_host):
        return None
    return (
        "gRPC speaks TLS but the HTTP port does not, and it listens on "
        f"{settings.resolved_http_host}: the UI, the JSON API and /files/ travel in clear text. "
        "Bind it with --http-host 127.0.0.1 behind an HTTPS reverse proxy, or turn it off "
        "with --no-http"
    )


def _display_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def serve(settings: ServerSettings) -> None:
    """Start the selected server, print its address, and stop gracefully on SIGTERM/SIGINT."""
    if not logging.getLogger("modelyard").handlers:
        configure_logging()
    bundle: ServerBundle = mode_module(settings).build(settings)
    stop = threading.Event()
    signals_seen = 0

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal signals_seen
        signals_seen += 1
        if signals_seen > 1:  # a second signal: stop now, cancelling in-flight calls
            bundle.server.stop(0)
        stop.set()

    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, on_signal)
    try:
        bundle.start()
        address = f"{_display_host(settings.host)}:{bundle.port}"
        mode = "artifacts-only" if settings.artifacts_only else "full"
        logger.info(
            "server started",
            extra={"mode": mode, **bundle.info, "address": address, "workers": settings.workers},
        )
        print(f"modelyard server listening on {address}", flush=True)
        if bundle.http is not None:
            http_host = settings.resolved_http_host
            print(
                f"web UI and JSON gateway on http://{_display_host(http_host)}:{bundle.http.port}/",
                flush=True,
            )
            if warning := plain_http_warning(settings):
                logger.warning(
                    warning, extra={"http_host": http_host, "http_port": bundle.http.port}
                )
        while not stop.wait(0.5):
            pass
        logger.info("shutting down", extra={"grace_seconds": settings.grace_seconds})
        bundle.health.enter_graceful_shutdown()
        bundle.stop_http()
        bundle.server.stop(settings.grace_seconds).wait()
    finally:
        bundle.server.stop(0)
        bundle.close()
        for restored, handler in previous.items():
            signal.signal(restored, handler)
    logger.info("server stopped")
