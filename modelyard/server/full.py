"""The full server: TrackingService over the metadata database, the ArtifactService over the
destination (or a refusing one with --no-serve-artifacts), health and reflection."""

from __future__ import annotations

import logging

import grpc

from modelyard.artifacts.locations import ArtifactRootPolicy
from modelyard.registry.servicers import TrackingServicer
from modelyard.server.assembly import (
    ARTIFACT_SERVICE,
    ServerBundle,
    add_artifact_service,
    add_health_and_reflection,
    add_refusing_artifact_service,
    bind,
    new_server,
    open_artifact_store,
)
from modelyard.server.settings import ServerSettings
from modelyard.store_registry import tracking_store_for_uri
from modelyard.stores import StoreOptions
from modelyard.v1 import tracking_pb2 as pb
from modelyard.v1 import tracking_pb2_grpc as pb_grpc

TRACKING_SERVICE = pb.DESCRIPTOR.services_by_name["TrackingService"].full_name

MODE = "full"
NO_SERVE_ARTIFACTS_MODE = "no-serve-artifacts"
NO_SERVE_ARTIFACTS_MESSAGE = (
    "this server runs with --no-serve-artifacts: the artifact service is not available; "
    "clients read and write artifacts at their experiment's artifact location directly"
)

logger = logging.getLogger("modelyard.server")


def artifact_root_policy(settings: ServerSettings) -> ArtifactRootPolicy:
    """Where clients may point experiments: --allowed-artifact-roots, the destination (when
    serving artifacts) and the default root; locations clients can never use (file:, plain
    paths) drop out of the implicit ones."""
    implicit = []
    if settings.serve_artifacts:
        implicit.append(settings.resolved_artifacts_destination)
    if settings.effective_default_artifact_root:
        implicit.append(settings.effective_default_artifact_root)
    return ArtifactRootPolicy(settings.allowed_artifact_roots, implicit_roots=implicit)


def build(settings: ServerSettings) -> ServerBundle:
    """Build (not start) the full server and what shutting it down needs."""
    policy = artifact_root_policy(settings)
    default_root = settings.effective_default_artifact_root
    if default_root is None:
        logger.warning(
            "no --default-artifact-root and --no-serve-artifacts: new experiments get "
            "./mlartifacts on this machine as their location, which only clients on this "
            "machine can write; set --default-artifact-root s3://... or wasbs://... "
        )
    if not settings.serve_artifacts and settings.artifacts_destination:
        logger.warning(
            "--artifacts-destination is ignored with --no-serve-artifacts",
            extra={"artifacts_destination": settings.artifacts_destination},
        )
    info: dict[str, object] = {"mode": MODE, "serve_artifacts": settings.serve_artifacts}
    artifact_store = open_artifact_store(settings) if settings.serve_artifacts else None
    if artifact_store is not None:
        info["artifacts_destination"] = artifact_store.root_uri
    store = tracking_store_for_uri(
        settings.backend_store_uri,
        StoreOptions(default_artifact_root=default_root),
    )
    try:
        server = new_server(settings)
        pb_grpc.add_TrackingServiceServicer_to_server(  # type: ignore[no-untyped-call]
            TrackingServicer(store, check_artifact_location=policy.check), server
        )
        if artifact_store is not None:
            add_artifact_service(server, artifact_store)
            serving = [TRACKING_SERVICE, ARTIFACT_SERVICE]
        else:
            add_refusing_artifact_service(
                server, NO_SERVE_ARTIFACTS_MESSAGE, mode=NO_SERVE_ARTIFACTS_MODE
            )
            serving = [TRACKING_SERVICE]
        health = add_health_and_reflection(
            server, [TRACKING_SERVICE, ARTIFACT_SERVICE], serving=serving
        )
        port = bind(server, settings)
    except BaseException:
        store.close()
        raise
    info["allowed_artifact_roots"] = list(policy.roots)
    return ServerBundle(server=server, port=port, health=health, closers=[store.close], info=info)


def build_server(settings: ServerSettings) -> tuple[grpc.Server, int]:
    """Build (not start) the full server; return it and the bound port."""
    bundle = build(settings)
    return bundle.server, bundle.port
