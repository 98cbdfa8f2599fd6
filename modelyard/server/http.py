"""Assemble the HTTP side of a server from the servicers its gRPC server uses."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from google.protobuf.descriptor import ServiceDescriptor

from modelyard.gateway.app import GatewayApp, Routes
from modelyard.gateway.metrics import ServerMetrics
from modelyard.gateway.security import SecurityPolicy
from modelyard.gateway.server import HttpServer
from modelyard.gateway.transcoding import MethodTable
from modelyard.server.assembly import ShutdownAwareHealth
from modelyard.server.settings import ServerSettings

if TYPE_CHECKING:  # pragma: no cover
    from modelyard.artifacts.store import ArtifactStore


def build_http(
    settings: ServerSettings,
    *,
    servicers: Mapping[ServiceDescriptor, object],
    health: ShutdownAwareHealth,
    metrics: ServerMetrics,
    artifact_store: ArtifactStore | None = None,
    protected: Callable[[str], list[tuple[str, int]]] | None = None,
) -> HttpServer | None:
    """The bound HTTP server of these servicers, or None when settings.http_port is None."""
    if settings.http_port is None:
        return None
    files = None
    if artifact_store is not None:
        from modelyard.gateway.files import FileRoutes

        files = FileRoutes(artifact_store, protected=protected, metrics=metrics)
    ui = None
    if settings.serve_ui:
        from modelyard.ui import UiAssets

        ui = UiAssets()
    routes = Routes(
        methods=MethodTable.from_servicers(servicers),
        health=health.statuses,
        metrics=metrics,
        files=files,
        ui=ui,
    )
    app = GatewayApp(routes, SecurityPolicy(settings.allowed_hosts, settings.cors_allowed_origins))
    return HttpServer(
        app,
        settings.resolved_http_host,
        settings.http_port,
        threads=settings.workers,
        trusted_proxy=settings.trusted_proxy,
    )
