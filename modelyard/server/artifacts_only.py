"""The --artifacts-only server: the ArtifactService over the destination, health and
reflection, and a TrackingService and a ModelRegistryService that answer UNIMPLEMENTED naming
the mode. No database.

This module must not import SQLAlchemy or the metadata store (checked by a test).
"""

from __future__ import annotations

import grpc

from modelyard.gateway.metrics import ServerMetrics
from modelyard.server.assembly import (
    ARTIFACT_DESCRIPTOR,
    ARTIFACT_SERVICE,
    REGISTRY_DESCRIPTOR,
    REGISTRY_SERVICE,
    TRACKING_DESCRIPTOR,
    TRACKING_SERVICE,
    ServerBundle,
    add_artifact_service,
    add_health_and_reflection,
    add_refusing_registry_service,
    bind,
    new_server,
    open_artifact_store,
    refusing_servicer,
)
from modelyard.server.http import build_http
from modelyard.server.settings import ServerSettings
from modelyard.v1 import tracking_pb2_grpc as pb_grpc

MODE = "artifacts-only"
UNAVAILABLE_MESSAGE = (
    "this server runs with --artifacts-only: the tracking service is not available"
)
REGISTRY_UNAVAILABLE_MESSAGE = (
    "this server runs with --artifacts-only: the model registry service is not available"
)


def refusing_tracking_servicer() -> pb_grpc.TrackingServiceServicer:
    """A TrackingService whose every method answers UNIMPLEMENTED naming the mode."""
    return refusing_servicer(
        pb_grpc.TrackingServiceServicer,
        TRACKING_DESCRIPTOR,
        UNAVAILABLE_MESSAGE,
        mode=MODE,
    )


def build(settings: ServerSettings) -> ServerBundle:
    """Build (not start) the artifacts-only server."""
    store = open_artifact_store(settings)
    metrics = ServerMetrics()
    server = new_server(settings, metrics)
    tracking = refusing_tracking_servicer()
    pb_grpc.add_TrackingServiceServicer_to_server(  # type: ignore[no-untyped-call]
        tracking, server
    )
    registry = add_refusing_registry_service(server, REGISTRY_UNAVAILABLE_MESSAGE, mode=MODE)
    artifacts = add_artifact_service(server, store, metrics=metrics)
    # Reflection lists the TrackingService and the ModelRegistryService (they answer, with
    # UNIMPLEMENTED); health reports only the ArtifactService SERVING.
    health = add_health_and_reflection(
        server, [TRACKING_SERVICE, REGISTRY_SERVICE, ARTIFACT_SERVICE], serving=[ARTIFACT_SERVICE]
    )
    port = bind(server, settings)
    servicers = {
        TRACKING_DESCRIPTOR: tracking,
        REGISTRY_DESCRIPTOR: registry,
        ARTIFACT_DESCRIPTOR: artifacts,
    }
    http = build_http(
        settings, servicers=servicers, health=health, metrics=metrics, artifact_store=store
    )
    info: dict[str, object] = {"mode": MODE, "artifacts_destination": store.root_uri}
    if http is not None:
        info["http_port"] = http.port
    return ServerBundle(server=server, port=port, health=health, info=info, http=http)


def build_server(settings: ServerSettings) -> tuple[grpc.Server, int]:
    """Build (not start) the artifacts-only server; return it and the bound port."""
    bundle = build(settings)
    return bundle.server, bundle.port
