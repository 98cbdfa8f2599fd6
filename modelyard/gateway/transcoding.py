"""Every unary RPC of the registered services, callable in-process with JSON.

`MethodTable.from_servicers` reads each service's descriptor and binds its unary-unary methods
to the servicer instance the gRPC server uses, so the JSON gateway is one generic layer over
the same code path (validation, stores, errors) and no method has a hand-written route.
Streaming methods are not transcoded: downloads and uploads have their own HTTP routes
(`modelyard.gateway.files`), and a watch needs a gRPC stream.

Errors take the gRPC status of the core exception and Google's JSON error form:
`{"error": {"code": <http>, "status": "NOT_FOUND", "message": ..., "details": [ErrorInfo]}}`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from modelyard.errors import Code, ModelyardError, NotFound
from modelyard.gateway.codec import dict_to_json, message_to_json, parse_request
from modelyard.wire.status import new_incident_id

logger = logging.getLogger("modelyard.server.http")

#: gRPC status -> HTTP status (google.rpc.Code's documented mapping).
HTTP_STATUS: Mapping[Code, int] = {
    Code.OK: 200,
    Code.CANCELLED: 499,
    Code.UNKNOWN: 500,
    Code.INVALID_ARGUMENT: 400,
    Code.DEADLINE_EXCEEDED: 504,
    Code.NOT_FOUND: 404,
    Code.ALREADY_EXISTS: 409,
    Code.PERMISSION_DENIED: 403,
    Code.RESOURCE_EXHAUSTED: 429,
    Code.FAILED_PRECONDITION: 400,
    Code.ABORTED: 409,
    Code.OUT_OF_RANGE: 400,
    Code.UNIMPLEMENTED: 501,
    Code.INTERNAL: 500,
    Code.UNAVAILABLE: 503,
    Code.DATA_LOSS: 500,
    Code.UNAUTHENTICATED: 401,
}

ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo"


@dataclass(frozen=True, slots=True)
class Method:
    """One transcoded RPC."""

    service: str
    """Full service name, e.g. modelyard.v1.TrackingService."""
    name: str
    """Method name, e.g. SearchRuns."""
    request_class: type[Message]
    handler: Callable[[Message, Any], Message]
    json_handler: Callable[[Message, Any], dict[str, Any]] | None = None
    """The servicer's JSON fast path for this method (its `json_handlers`): the response
    already in protobuf's JSON mapping, equal to encoding what `handler` returns."""

    @property
    def full_name(self) -> str:
        """/service/method, as gRPC names it (the metrics label)."""
        return f"/{self.service}/{self.name}"


@dataclass(slots=True)
class ErrorBody:
    """An error answer: HTTP status, gRPC status name and the JSON body."""

    http_status: int
    status: str
    body: bytes


class _Aborted(Exception):
    """A servicer called context.abort()."""

    def __init__(self, code: Any, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


class GatewayContext:
    """The part of grpc.ServicerContext the servicers use, for an in-process call."""

    def __init__(self, peer: str, metadata: tuple[tuple[str, str], ...] = ()) -> None:
        self._peer = peer
        self._metadata = metadata
        self._callbacks: list[Callable[[], None]] = []

    def is_active(self) -> bool:
        """True: an HTTP request is served to its end."""
        return True

    def add_callback(self, callback: Callable[[], None]) -> bool:
        """Run `callback` when the call ends."""
        self._callbacks.append(callback)
        return True

    def peer(self) -> str:
        """The client address, as gRPC writes it."""
        return self._peer

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        """Request headers named x-modelyard-*, as gRPC metadata."""
        return self._metadata

    def time_remaining(self) -> float | None:
        """No deadline over HTTP."""
        return None

    def abort(self, code: Any, details: str) -> NoReturn:
        """End the call with a status."""
        raise _Aborted(code, details)

    def abort_with_status(self, status: Any) -> NoReturn:
        """End the call with a grpc.Status."""
        raise _Aborted(status.code, status.details)

    def finish(self) -> None:
        """Run the callbacks added during the call."""
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                logger.warning("a call callback failed", exc_info=True)


def internal_error(where: str, exc: Exception, **extra: object) -> ErrorBody:
    """Log an unexpected error under a new incident id; the 500 answer names only that id."""
    incident = new_incident_id()
    logger.error(
        "unexpected error in %s (incident %s)",
        where,
        incident,
        exc_info=exc,
        extra={**extra, "code": "INTERNAL", "incident_id": incident},
    )
    return error_body(
        Code.INTERNAL,
        f"internal server error (incident {incident})",
        ModelyardError.reason,
        {"incident_id": incident},
    )


def error_body(
    code: Code,
    message: str,
    reason: str,
    details: Mapping[str, object] | None = None,
    *,
    http_status: int | None = None,
) -> ErrorBody:
    """The JSON error answer for a status (`http_status` overrides the code's HTTP status)."""
    import json

    if http_status is None:
        http_status = HTTP_STATUS.get(code, 500)
    body = {
        "error": {
            "code": http_status,
            "status": code.name,
            "message": message,
            "details": [
                {
                    "@type": ERROR_INFO_TYPE,
                    "reason": reason,
                    "domain": "modelyard",
                    "metadata": {str(k): str(v) for k, v in (details or {}).items()},
                }
            ],
        }
    }
    return ErrorBody(http_status, code.name, json.dumps(body, ensure_ascii=False).encode())


def error_for_exception(exc: ModelyardError) -> ErrorBody:
    """The JSON error answer of a core exception."""
    return error_body(exc.code, exc.message, exc.reason, exc.details)


class MethodTable:
    """Full method name -> Method, for the unary-unary RPCs of the registered services."""

    def __init__(self, methods: Iterable[Method]) -> None:
        self._methods = {(m.service, m.name): m for m in methods}

    @classmethod
    def from_servicers(cls, servicers: Mapping[ServiceDescriptor, object]) -> MethodTable:
        """Bind each unary-unary method of each service descriptor to its servicer."""
        methods = []
        for service, servicer in servicers.items():
            fast = getattr(servicer, "json_handlers", {})
            for method in service.methods:
                if method.client_streaming or method.server_streaming:
                    continue
                json_name = fast.get(method.name)
                methods.append(
                    Method(
                        service=service.full_name,
                        name=method.name,
                        request_class=GetMessageClass(method.input_type),
                        handler=getattr(servicer, method.name),
                        json_handler=getattr(servicer, json_name) if json_name else None,
                    )
                )
        return cls(methods)

    def __len__(self) -> int:
        return len(self._methods)

    def names(self) -> list[str]:
        """Every transcoded method as service/method, sorted."""
        return sorted(f"{s}/{m}" for s, m in self._methods)

    def find(self, service: str, name: str) -> Method:
        """The method, or NotFound naming it."""
        method = self._methods.get((service, name))
        if method is None:
            raise NotFound(
                f"no JSON method {service}/{name}: the gateway serves the unary methods of "
                "modelyard.v1.TrackingService, ModelRegistryService and ArtifactService "
                "(artifact bytes travel through /files/)",
                method=f"{service}/{name}",
            )
        return method

    def call(self, method: Method, body: bytes, context: GatewayContext) -> tuple[int, bytes, str]:
        """Run one call; return (HTTP status, JSON body, gRPC status name)."""
        start = time.perf_counter()
        try:
            request = parse_request(body, method.request_class)
            if method.json_handler is not None:
                payload = dict_to_json(method.json_handler(request, context))
            else:
                payload = message_to_json(method.handler(request, context))
        except ModelyardError as exc:
            answer = error_for_exception(exc)
            _log(method, answer.status, start, logging.INFO, error=exc.message)
            return answer.http_status, answer.body, answer.status
        except _Aborted as exc:
            code = _core_code(exc.code)
            answer = error_body(code, exc.details, code.name)
            _log(method, answer.status, start, logging.INFO, error=exc.details)
            return answer.http_status, answer.body, answer.status
        except Exception as exc:
            answer = internal_error(method.full_name, exc, method=method.full_name)
            return answer.http_status, answer.body, answer.status
        finally:
            context.finish()
        _log(method, "OK", start, logging.DEBUG)
        return 200, payload, "OK"


def _core_code(code: Any) -> Code:
    value = getattr(code, "value", code)
    number = value[0] if isinstance(value, tuple) else value
    try:
        return Code(int(number))
    except (TypeError, ValueError):
        return Code.UNKNOWN


def _log(method: Method, code: str, start: float, level: int, **extra: object) -> None:
    if logger.isEnabledFor(level):
        duration_ms = round((time.perf_counter() - start) * 1000.0, 3)
        logger.log(
            level,
            "http rpc %s %s",
            method.full_name,
            code,
            extra={"method": method.full_name, "code": code, "duration_ms": duration_ms, **extra},
        )
