"""The --artifacts-only server: no database. For now health, reflection and a TrackingService
that answers UNIMPLEMENTED; the ArtifactService arrives in a later issue.

This module must not import SQLAlchemy or the metadata store (checked by a test).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

import grpc

from modelyard.errors import Unimplemented
from modelyard.server.assembly import ServerBundle, add_health_and_reflection, bind, new_server
from modelyard.server.settings import ServerSettings
from modelyard.v1 import tracking_pb2 as pb
from modelyard.v1 import tracking_pb2_grpc as pb_grpc

TRACKING_SERVICE = pb.DESCRIPTOR.services_by_name["TrackingService"].full_name
MODE = "artifacts-only"
UNAVAILABLE_MESSAGE = (
    "this server runs with --artifacts-only: the tracking service is not available"
)


def _refuse(method: str) -> Callable[..., NoReturn]:
    def handler(self: Any, request: Any, context: grpc.ServicerContext) -> NoReturn:
        raise Unimplemented(UNAVAILABLE_MESSAGE, mode=MODE, method=method)

    handler.__name__ = method
    handler.__doc__ = f"{method}: refused in --artifacts-only mode."
    return handler


#: Every TrackingService method answers UNIMPLEMENTED naming the mode.
RefusingTrackingServicer = type(
    "RefusingTrackingServicer",
    (pb_grpc.TrackingServiceServicer,),
    {m.name: _refuse(m.name) for m in pb.DESCRIPTOR.services_by_name["TrackingService"].methods},
)


def build(settings: ServerSettings) -> ServerBundle:
    """Build (not start) the artifacts-only server."""
    server = new_server(settings)
    pb_grpc.add_TrackingServiceServicer_to_server(  # type: ignore[no-untyped-call]
        RefusingTrackingServicer(), server
    )
    # Reflection lists the TrackingService (it answers, with UNIMPLEMENTED); health does not
    # report it SERVING.
    health = add_health_and_reflection(server, [TRACKING_SERVICE], serving=())
    port = bind(server, settings)
    return ServerBundle(server=server, port=port, health=health)


def build_server(settings: ServerSettings) -> tuple[grpc.Server, int]:
    """Build (not start) the artifacts-only server; return it and the bound port."""
    bundle = build(settings)
    return bundle.server, bundle.port
