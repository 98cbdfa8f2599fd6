"""The full server: TrackingService and ModelRegistryService over the metadata database, the
ArtifactService over the destination (or a refusing one with --no-serve-artifacts), health
and reflection.

Registration reads model files through `FsspecSourceInspector`: the destination for
`modelyard-artifacts:/` sources, fsspec for the rest, the operator's --allowed-model-sources
for versions without a run. The ArtifactService refuses to overwrite or delete files that
back a live model version (asked of the registry store for each upload and delete).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
from google.protobuf.descriptor import ServiceDescriptor

from modelyard.artifact_uris import join_artifact_uri
from modelyard.artifacts.filesystems import StorageOptions
from modelyard.artifacts.locations import ArtifactRootPolicy
from modelyard.artifacts.model_sources import FsspecSourceInspector, insecure_artifact_channel
from modelyard.config import client_config
from modelyard.gateway.metrics import PoolStats, ServerMetrics, sqlalchemy_pool_stats
from modelyard.registry.registry_servicer import ModelRegistryServicer
from modelyard.registry.servicers import TrackingServicer
from modelyard.registry_stores import RegistryStore
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
    add_refusing_artifact_service,
    add_refusing_registry_service,
    bind,
    new_server,
    open_artifact_store,
)
from modelyard.server.http import build_http
from modelyard.server.settings import PROXIED_ARTIFACT_ROOT, ServerSettings
from modelyard.store_registry import (
    registry_registry,
    registry_store_for_uri,
    tracking_store_for_uri,
    uri_scheme,
)
from modelyard.stores import StoreOptions
from modelyard.v1 import registry_pb2_grpc
from modelyard.v1 import tracking_pb2_grpc as pb_grpc

if TYPE_CHECKING:  # pragma: no cover
    from modelyard.artifacts.store import ArtifactStore


MODE = "full"
NO_SERVE_ARTIFACTS_MODE = "no-serve-artifacts"
NO_REGISTRY_MODE = "no-registry"
NO_REGISTRY_MESSAGE = (
    "the backend store of this server ({scheme}:) offers no model registry: the model "
    "registry service is not available"
)
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


def source_inspector(
    settings: ServerSettings, artifact_store: ArtifactStore | None
) -> FsspecSourceInspector:
    """The server's model-source inspector: its destination and --allowed-model-sources."""
    return FsspecSourceInspector(
        destination=artifact_store,
        allowed_roots=settings.allowed_model_sources,
        storage_options=StorageOptions(s3_endpoint_url=settings.s3_endpoint_url),
        artifact_channel=artifact_server_channel(settings),
    )


def artifact_server_channel(settings: ServerSettings) -> Callable[[str], grpc.Channel]:
    """How this server reaches a separate artifact server ("host:port") to hash a model.

    A server that speaks TLS expects its artifact server to speak it too, verified against
    the system roots or MODELYARD_TLS_CA_FILE; a plaintext server uses plaintext.
    """
    if not settings.tls_cert:
        return insecure_artifact_channel
    ca_file = client_config().tls_ca_file
    roots = Path(ca_file).read_bytes() if ca_file else None

    def secure(address: str) -> grpc.Channel:
        return grpc.secure_channel(address, grpc.ssl_channel_credentials(root_certificates=roots))

    return secure


def protected_paths(
    registry: RegistryStore, artifact_store: ArtifactStore
) -> Callable[[str], list[tuple[str, int]]]:
    """destination-relative path -> the live versions backing it (at, under or above it).

    Versions registered from the destination hold `modelyard-artifacts:/<path>`; those whose
    run points straight into an object-store destination hold its direct URI, asked too.
    """
    direct_root = None if artifact_store.is_local else artifact_store.root_uri

    def backing(path: str) -> list[tuple[str, int]]:
        uris = [join_artifact_uri(PROXIED_ARTIFACT_ROOT, path)]
        if direct_root is not None:
            uris.append(join_artifact_uri(direct_root, path))
        found: list[tuple[str, int]] = []
        for uri in uris:
            for item in registry.versions_backing(uri):
                if item not in found:
                    found.append(item)
        return found

    return backing


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
    inspector = source_inspector(settings, artifact_store)
    store = tracking_store_for_uri(
        settings.backend_store_uri,
        StoreOptions(default_artifact_root=default_root),
    )
    closers: list[Callable[[], None]] = [store.close]
    metrics = ServerMetrics(pool_stats=database_pool_stats(store))
    try:
        server = new_server(settings, metrics)
        tracking_servicer = TrackingServicer(store, check_artifact_location=policy.check)
        pb_grpc.add_TrackingServiceServicer_to_server(  # type: ignore[no-untyped-call]
            tracking_servicer, server
        )
        servicers: dict[ServiceDescriptor, object] = {TRACKING_DESCRIPTOR: tracking_servicer}
        services = [TRACKING_SERVICE, REGISTRY_SERVICE, ARTIFACT_SERVICE]
        serving = [TRACKING_SERVICE]
        registry: RegistryStore | None = None
        registry_servicer: ModelRegistryServicer | None = None
        scheme = uri_scheme(settings.backend_store_uri)
        if scheme in registry_registry:
            registry = registry_store_for_uri(
                settings.backend_store_uri,
                StoreOptions(default_artifact_root=default_root, source_inspector=inspector),
            )
            closers.append(registry.close)
            registry_servicer = ModelRegistryServicer(registry, max_watches=settings.max_watches)
            closers.insert(0, registry_servicer.close)
            registry_pb2_grpc.add_ModelRegistryServiceServicer_to_server(  # type: ignore[no-untyped-call]
                registry_servicer, server
            )
            servicers[REGISTRY_DESCRIPTOR] = registry_servicer
            serving.append(REGISTRY_SERVICE)
        else:  # a third-party tracking store without a registry
            servicers[REGISTRY_DESCRIPTOR] = add_refusing_registry_service(
                server, NO_REGISTRY_MESSAGE.format(scheme=scheme), mode=NO_REGISTRY_MODE
            )
        protected = None
        if artifact_store is not None:
            protected = protected_paths(registry, artifact_store) if registry else None
            servicers[ARTIFACT_DESCRIPTOR] = add_artifact_service(
                server, artifact_store, protected=protected, metrics=metrics
            )
            serving.append(ARTIFACT_SERVICE)
        else:
            servicers[ARTIFACT_DESCRIPTOR] = add_refusing_artifact_service(
                server, NO_SERVE_ARTIFACTS_MESSAGE, mode=NO_SERVE_ARTIFACTS_MODE
            )
        health = add_health_and_reflection(server, services, serving=serving)
        if registry_servicer is not None:
            health.on_shutdown.append(registry_servicer.close)
        port = bind(server, settings)
        http = build_http(
            settings,
            servicers=servicers,
            health=health,
            metrics=metrics,
            artifact_store=artifact_store,
            protected=protected,
        )
        if http is not None:
            closers.insert(0, http.stop)
    except BaseException:
        for close in closers:
            close()
        raise
    info["allowed_artifact_roots"] = list(policy.roots)
    info["allowed_model_sources"] = list(inspector.allowed_roots)
    info["max_watches"] = settings.max_watches
    if http is not None:
        info["http_port"] = http.port
    return ServerBundle(
        server=server, port=port, health=health, closers=closers, info=info, http=http
    )


def database_pool_stats(store: object) -> PoolStats | None:
    """Pool statistics of a SQL store's engine (None for a store without one).

    The store the server holds is a validating wrapper: the engine is on the `inner` store.
    """
    seen = 0
    while store is not None and getattr(store, "db", None) is None and seen < 8:
        store, seen = getattr(store, "inner", None), seen + 1
    engine = getattr(getattr(store, "db", None), "engine", None)
    return None if engine is None else sqlalchemy_pool_stats(engine)


def build_server(settings: ServerSettings) -> tuple[grpc.Server, int]:
    """Build (not start) the full server; return it and the bound port."""
    bundle = build(settings)
    return bundle.server, bundle.port
