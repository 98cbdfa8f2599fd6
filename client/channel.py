"""gRPC channels for grpc:// and grpcs:// tracking URIs, and retries of UNAVAILABLE calls.

`grpcs://` verifies the server against the system roots, or against the PEM file named by
MODELYARD_TLS_CA_FILE (read through `modelyard.config`). Calls that fail with UNAVAILABLE are
retried with exponential backoff and full jitter; writes carry request ids, so a retry of a
call the server already applied writes nothing twice.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import grpc

from modelyard.config import ClientConfig, client_config
from modelyard.errors import InvalidArgument

#: Large enough for a 1,000,000-point metric history page.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

CHANNEL_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    # gRPC's transparent retries (requests that never reached the server) stay on; retries
    # of UNAVAILABLE with backoff are ours (call_with_retries), made safe by request ids.
    ("grpc.enable_retries", 1),
)

DEFAULT_PORTS = {"grpc": 50051, "grpcs": 443}

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Target:
    """Where a tracking URI points."""

    host: str
    port: int
    secure: bool

    @property
    def address(self) -> str:
        """host:port as gRPC expects it (IPv6 in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_target(uri: str) -> Target:
    """Parse grpc://host[:port] or grpcs://host[:port] (default ports 50051 and 443)."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise InvalidArgument(f"not a grpc:// or grpcs:// URI: {uri!r}", uri=uri)
    try:
        port = parts.port
    except ValueError:
        raise InvalidArgument(f"bad port in tracking URI {uri!r}", uri=uri) from None
    host = parts.hostname
    if not host:
        raise InvalidArgument(f"no host in tracking URI {uri!r}", uri=uri)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InvalidArgument(f"a gRPC tracking URI is grpc[s]://host:port, got {uri!r}", uri=uri)
    return Target(host=host, port=port or DEFAULT_PORTS[scheme], secure=scheme == "grpcs")


def create_channel(uri: str, config: ClientConfig | None = None) -> grpc.Channel:
    """Open a channel for a grpc:// or grpcs:// URI (TLS with system roots or the CA file)."""
    target = parse_target(uri)
    if not target.secure:
        return grpc.insecure_channel(target.address, options=CHANNEL_OPTIONS)
    config = config or client_config()
    root_certificates = None
    if config.tls_ca_file:
        try:
            root_certificates = Path(config.tls_ca_file).read_bytes()
        except OSError as exc:
            raise InvalidArgument(
                f"cannot read MODELYARD_TLS_CA_FILE {config.tls_ca_file!r}: {exc}",
                tls_ca_file=config.tls_ca_file,
            ) from exc
    credentials = grpc.ssl_channel_credentials(root_certificates=root_certificates)
    return grpc.secure_channel(target.address, credentials, options=CHANNEL_OPTIONS)


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Exponential backoff with full jitter for UNAVAILABLE."""

    max_retries: int = 5
    initial_backoff: float = 0.1
    max_backoff: float = 5.0
    multiplier: float = 2.0

    def delay(self, attempt: int, rng: Callable[[float, float], float] = random.uniform) -> float:
        """Seconds to wait before retry number `attempt` (0-based), jittered in [0, cap]."""
        cap = min(self.max_backoff, self.initial_backoff * self.multiplier**attempt)
        return rng(0.0, cap)


RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE})


def call_with_retries(
    fn: Callable[[], T],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `fn` and retry it while it fails with UNAVAILABLE; re-raise the last RpcError."""
    attempt = 0
    while True:
        try:
            return fn()
        except grpc.RpcError as err:
            code_fn = getattr(err, "code", None)
            code = code_fn() if callable(code_fn) else None
            if code not in RETRYABLE or attempt >= policy.max_retries:
                raise
            sleep(policy.delay(attempt))
            attempt += 1


class GrpcConnection:
    """What every gRPC-backed store shares: the channel (its own, or lent by the caller), the
    per-call deadline, retries of UNAVAILABLE, and error mapping to domain exceptions."""

    def __init__(
        self, uri: str, *, config: ClientConfig | None = None, channel: grpc.Channel | None = None
    ) -> None:
        """Open a channel for `uri`, or use `channel` (which the caller keeps and closes)."""
        self.uri = uri
        self.config = config or client_config()
        self._channel = channel if channel is not None else create_channel(uri, self.config)
        self._owns_channel = channel is None
        self._timeout = self.config.grpc_timeout if self.config.grpc_timeout > 0 else None
        self._retry = RetryPolicy(max_retries=max(0, self.config.grpc_max_retries))
        self._lock = threading.Lock()
        self._closed = False

    def _call(self, method: Callable[..., Any], request: Any) -> Any:
        """Invoke a stub method with the deadline and retries; raise domain errors."""
        from modelyard.wire.status import error_from_rpc

        try:
            return call_with_retries(lambda: method(request, timeout=self._timeout), self._retry)
        except grpc.RpcError as err:
            raise error_from_rpc(err) from None

    def close(self) -> None:
        """Close the channel (when this object opened it)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._owns_channel:
            self._channel.close()
