"""The full server: TrackingService over the metadata database, health and reflection."""

from __future__ import annotations

import grpc

from modelyard.registry.servicers import TrackingServicer
from modelyard.server.assembly import ServerBundle, add_health_and_reflection, bind, new_server
from modelyard.server.settings import ServerSettings
from modelyard.store_registry import tracking_store_for_uri
from modelyard.stores import StoreOptions
from modelyard.v1 import tracking_pb2 as pb
from modelyard.v1 import tracking_pb2_grpc as pb_grpc

TRACKING_SERVICE = pb.DESCRIPTOR.services_by_name["TrackingService"].full_name

MODE = "full"


def build(settings: ServerSettings) -> ServerBundle:
    """Build (not start) the full server and what shutting it down needs."""
    store = tracking_store_for_uri(
        settings.backend_store_uri,
        StoreOptions(
            default_artifact_root=settings.effective_default_artifact_root,
            extra={"allowed_artifact_roots": settings.allowed_artifact_roots},
        ),
    )
    try:
        server = new_server(settings)
        pb_grpc.add_TrackingServiceServicer_to_server(  # type: ignore[no-untyped-call]
            TrackingServicer(store), server
        )
        health = add_health_and_reflection(server, [TRACKING_SERVICE])
        port = bind(server, settings)
    except BaseException:
        store.close()
        raise
    return ServerBundle(server=server, port=port, health=health, closers=[store.close])


def build_server(settings: ServerSettings) -> tuple[grpc.Server, int]:
    """Build (not start) the full server; return it and the bound port."""
    bundle = build(settings)
    return bundle.server, bundle.port
