"""What every server mode shares: the grpc.Server, its options, port binding, health,
reflection, refusing servicers, and the ArtifactService over the destination.

Nothing here imports SQLAlchemy (the artifacts-only mode uses this module); fsspec and the
artifact store are imported only when a mode builds the ArtifactService.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import grpc
from google.protobuf.descriptor import ServiceDescriptor
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from modelyard.errors import Unimplemented
from modelyard.gateway.metrics import ServerMetrics
from modelyard.server.interceptors import ErrorInterceptor
from modelyard.server.settings import ServerSettings
from modelyard.v1 import artifacts_pb2, registry_pb2, tracking_pb2

if TYPE_CHECKING:  # pragma: no cover
    from modelyard.artifacts.store import ArtifactStore
    from modelyard.gateway.server import HttpServer

logger = logging.getLogger("modelyard.server")

#: The three services' descriptors (the HTTP gateway binds their methods) and full names
#: (for health and reflection).
TRACKING_DESCRIPTOR = tracking_pb2.DESCRIPTOR.services_by_name["TrackingService"]
REGISTRY_DESCRIPTOR = registry_pb2.DESCRIPTOR.services_by_name["ModelRegistryService"]
ARTIFACT_DESCRIPTOR = artifacts_pb2.DESCRIPTOR.services_by_name["ArtifactService"]
TRACKING_SERVICE = TRACKING_DESCRIPTOR.full_name
REGISTRY_SERVICE = REGISTRY_DESCRIPTOR.full_name
ARTIFACT_SERVICE = ARTIFACT_DESCRIPTOR.full_name

#: Partial uploads older than this are orphans (their server died) and are removed at start-up.
#: An hour is far longer than any upload stalls without progress while its server runs, and
#: several replicas may share one destination.
ORPHAN_UPLOAD_AGE_S = 3600.0

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
    health: ShutdownAwareHealth
    closers: list[Callable[[], None]] = field(default_factory=list)
    info: dict[str, object] = field(default_factory=dict)
    """What the start-up log line reports (mode, destination, ...)."""
    http: HttpServer | None = None
    """The HTTP side (JSON gateway, files, UI, metrics), when --http-port is set."""

    def start(self) -> None:
        """Start serving gRPC, then HTTP."""
        self.server.start()
        if self.http is not None:
            self.http.start()

    def stop_http(self) -> None:
        """Stop the HTTP side (before the gRPC server's grace period ends)."""
        if self.http is not None:
            self.http.stop()

    def close(self) -> None:
        """Release the HTTP port and the stores (after the server stopped)."""
        self.stop_http()
        for close in self.closers:
            close()
        self.closers.clear()


def new_server(settings: ServerSettings, metrics: ServerMetrics | None = None) -> grpc.Server:
    """A grpc.Server with a bounded pool and the error interceptor (which counts calls).

    The pool has `workers` threads for ordinary calls plus one per registry watch the server
    allows (`settings.threads`), so open watches never take the ordinary workers.
    """
    executor = ThreadPoolExecutor(max_workers=settings.threads, thread_name_prefix="modelyard-rpc")
    extra = settings.threads - settings.workers
    return grpc.server(
        executor,
        interceptors=[ErrorInterceptor(None if metrics is None else metrics.observe)],
        options=SERVER_OPTIONS,
        maximum_concurrent_rpcs=max(4 * settings.workers, 64) + extra,
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


class ShutdownAwareHealth(health.HealthServicer):
    """The health servicer; entering graceful shutdown also runs the registered hooks.

    The server runner calls `enter_graceful_shutdown()` before stopping the server, so hooks
    (ending open registry watches) run before the grace period, not after it.
    """

    def __init__(self) -> None:
        super().__init__(experimental_non_blocking=True)
        self.on_shutdown: list[Callable[[], None]] = []
        self._statuses: dict[str, int] = {}

    def set(self, service: str, status: int) -> None:
        """Set a service's status (and remember it for the HTTP /health route)."""
        self._statuses[service] = status
        super().set(service, status)

    def statuses(self) -> tuple[bool, dict[str, str]]:
        """(overall serving, {service or "": status name}) for the HTTP /health route."""
        names = {
            service or "": health_pb2.HealthCheckResponse.ServingStatus.Name(status)
            for service, status in self._statuses.items()
        }
        return names.get("") == "SERVING", names

    def enter_graceful_shutdown(self) -> None:
        """Report NOT_SERVING everywhere, then run the shutdown hooks (each once)."""
        super().enter_graceful_shutdown()
        hooks, self.on_shutdown = self.on_shutdown, []
        for hook in hooks:
            try:
                hook()
            except Exception:  # a failing hook must not stop the shutdown
                logger.warning("a shutdown hook failed", exc_info=True)


def add_health_and_reflection(
    server: grpc.Server, service_names: Sequence[str], *, serving: Sequence[str] | None = None
) -> ShutdownAwareHealth:
    """Register grpc.health.v1 ("" and `serving`, default all services, SERVING) and reflection."""
    servicer = ShutdownAwareHealth()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    for name in service_names if serving is None else serving:
        servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        (*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    return servicer


_S = TypeVar("_S")


def refusing_servicer(base: type[_S], service: ServiceDescriptor, message: str, *, mode: str) -> _S:
    """An instance of `base` whose every method raises Unimplemented(message, mode=mode)."""

    def refuse(method: str) -> Callable[..., NoReturn]:
        def handler(self: Any, request: Any, context: grpc.ServicerContext) -> NoReturn:
            raise Unimplemented(message, mode=mode, method=method)

        handler.__name__ = method
        handler.__doc__ = f"{method}: refused ({mode})."
        return handler

    methods = {m.name: refuse(m.name) for m in service.methods}
    cls = type(f"Refusing{service.name}Servicer", (base,), methods)
    return cls()  # type: ignore[no-any-return]


def open_artifact_store(settings: ServerSettings) -> ArtifactStore:
    """The ArtifactStore on the resolved destination, its orphaned uploads swept."""
    from modelyard.artifacts.filesystems import StorageOptions
    from modelyard.artifacts.store import ArtifactStore

    destination = settings.resolved_artifacts_destination
    store = ArtifactStore(destination, StorageOptions(s3_endpoint_url=settings.s3_endpoint_url))
    sweep_orphans(store)
    return store


def sweep_orphans(store: ArtifactStore, older_than_s: float = ORPHAN_UPLOAD_AGE_S) -> int:
    """Remove partial uploads a stopped server left behind; log and go on when it fails."""
    try:
        removed = store.sweep(older_than_s)
    except Exception as exc:  # a destination that is briefly unreachable must not block start-up
        logger.warning(
            "could not sweep orphaned uploads: %s",
            exc,
            extra={"destination": store.root_uri, "error": repr(exc)},
        )
        return 0
    logger.info(
        "swept orphaned uploads",
        extra={"destination": store.root_uri, "removed": removed, "older_than_s": older_than_s},
    )
    return removed


def add_artifact_service(
    server: grpc.Server,
    store: ArtifactStore,
    *,
    protected: Callable[[str], list[tuple[str, int]]] | None = None,
    metrics: ServerMetrics | None = None,
) -> object:
    """Register the ArtifactService over `store` (refusing writes to `protected` paths)."""
    from modelyard.artifacts.servicer import ArtifactServicer
    from modelyard.v1 import artifacts_pb2_grpc

    count = None if metrics is None else (lambda d, n: metrics.add_bytes(d, "grpc", n))
    servicer = ArtifactServicer(store, protected=protected, count_bytes=count)
    artifacts_pb2_grpc.add_ArtifactServiceServicer_to_server(  # type: ignore[no-untyped-call]
        servicer, server
    )
    return servicer


def add_refusing_registry_service(server: grpc.Server, message: str, *, mode: str) -> object:
    """Register a ModelRegistryService that answers every call UNIMPLEMENTED naming the mode."""
    from modelyard.v1 import registry_pb2_grpc

    servicer = refusing_servicer(
        registry_pb2_grpc.ModelRegistryServiceServicer,
        REGISTRY_DESCRIPTOR,
        message,
        mode=mode,
    )
    registry_pb2_grpc.add_ModelRegistryServiceServicer_to_server(  # type: ignore[no-untyped-call]
        servicer, server
    )
    return servicer


def add_refusing_artifact_service(server: grpc.Server, message: str, *, mode: str) -> object:
    """Register an ArtifactService that answers every call UNIMPLEMENTED naming the mode."""
    from modelyard.v1 import artifacts_pb2_grpc

    servicer = refusing_servicer(
        artifacts_pb2_grpc.ArtifactServiceServicer,
        ARTIFACT_DESCRIPTOR,
        message,
        mode=mode,
    )
    artifacts_pb2_grpc.add_ArtifactServiceServicer_to_server(  # type: ignore[no-untyped-call]
        servicer, server
    )
    return servicer
