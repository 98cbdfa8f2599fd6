"""What every server mode shares: the grpc.Server, its options, port binding, health, reflection."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from modelyard.server.interceptors import ErrorInterceptor
from modelyard.server.settings import ServerSettings

#: Large enough for a 1,000,000-point metric history page and a 1,000-entry batch.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

SERVER_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    # Refuse to share the port with another process (a stale server would steal calls).
    ("grpc.so_reuseport", 0),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
)


@dataclass(slots=True)
class ServerBundle:
    """A built (not started) server and what shutting it down needs."""

    server: grpc.Server
    port: int
    health: health.HealthServicer
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        """Release the stores (after the server stopped)."""
        for close in self.closers:
            close()
        self.closers.clear()


def new_server(settings: ServerSettings) -> grpc.Server:
    """A grpc.Server with a bounded worker pool and the error interceptor."""
    executor = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="modelyard-rpc")
    return grpc.server(
        executor,
        interceptors=[ErrorInterceptor()],
        options=SERVER_OPTIONS,
        maximum_concurrent_rpcs=max(4 * settings.workers, 64),
    )


def _address(host: str, port: int) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"


def bind(server: grpc.Server, settings: ServerSettings) -> int:
    """Bind host:port (TLS when a cert and key are set); return the bound port."""
    address = _address(settings.host, settings.port)
    try:
        if settings.tls_cert and settings.tls_key:
            key = Path(settings.tls_key).read_bytes()
            cert = Path(settings.tls_cert).read_bytes()
            credentials = grpc.ssl_server_credentials([(key, cert)])
            port = server.add_secure_port(address, credentials)
        else:
            port = server.add_insecure_port(address)
    except RuntimeError as exc:
        raise OSError(f"cannot listen on {address}: {exc}") from exc
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    return port


def add_health_and_reflection(
    server: grpc.Server, service_names: Sequence[str], *, serving: Sequence[str] | None = None
) -> health.HealthServicer:
    """Register grpc.health.v1 ("" and `serving`, default all services, SERVING) and reflection."""
    servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    for name in service_names if serving is None else serving:
        servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        (*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    return servicer
