"""The error interceptor: every handler kind, every error mapped once, one log line per call.

`ModelyardError` becomes its status with an ErrorInfo (see `modelyard.wire.status`); any other
exception is logged with its traceback and answered INTERNAL with an opaque incident id.
Streaming responses are wrapped around the iteration itself, so errors raised while streaming
are mapped too. Log lines go to the "modelyard.server.rpc" logger: INFO for errors, DEBUG for
successes, with `method`, `code` and `duration_ms` as record attributes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from modelyard.errors import ModelyardError
from modelyard.wire.status import internal_status, new_incident_id, status_for_error

logger = logging.getLogger("modelyard.server.rpc")

_Behavior = Callable[[Any, grpc.ServicerContext], Any]


Observe = Callable[[str, str, str, float], None]
"""(transport, method, status name, seconds) -> None: the metrics hook."""


def _log(
    observe: Observe | None, method: str, code: str, start: float, level: int, **extra: object
) -> None:
    if observe is not None:
        observe("grpc", method, code, time.perf_counter() - start)
    if logger.isEnabledFor(level):
        duration_ms = round((time.perf_counter() - start) * 1000.0, 3)
        logger.log(
            level,
            "rpc %s %s",
            method,
            code,
            extra={"method": method, "code": code, "duration_ms": duration_ms, **extra},
        )


def _already_aborted(context: grpc.ServicerContext) -> bool:
    """True when the call was cancelled or the handler itself set a non-OK status."""
    try:
        if not context.is_active():
            return True
        code = context.code()  # type: ignore[attr-defined]
    except Exception:
        return False
    return code is not None and code != grpc.StatusCode.OK


def _fail(
    observe: Observe | None,
    method: str,
    start: float,
    context: grpc.ServicerContext,
    exc: Exception,
) -> None:
    """Map `exc` to a status on `context` and abort (always raises)."""
    if isinstance(exc, ModelyardError):
        _log(
            observe,
            method,
            exc.code.name,
            start,
            logging.INFO,
            reason=exc.reason,
            error=exc.message,
        )
        context.abort_with_status(status_for_error(exc))
    incident = new_incident_id()
    if observe is not None:
        observe("grpc", method, "INTERNAL", time.perf_counter() - start)
    logger.error(
        "unexpected error in %s (incident %s)",
        method,
        incident,
        exc_info=exc,
        extra={
            "method": method,
            "code": "INTERNAL",
            "duration_ms": round((time.perf_counter() - start) * 1000.0, 3),
            "incident_id": incident,
        },
    )
    context.abort_with_status(internal_status(incident))


def _wrap_unary_response(method: str, inner: _Behavior, observe: Observe | None) -> _Behavior:
    def behavior(request: Any, context: grpc.ServicerContext) -> Any:
        start = time.perf_counter()
        try:
            response = inner(request, context)
        except Exception as exc:
            if _already_aborted(context):
                raise
            _fail(observe, method, start, context, exc)
            raise  # unreachable: _fail aborts
        _log(observe, method, "OK", start, logging.DEBUG)
        return response

    return behavior


def _wrap_streaming_response(method: str, inner: _Behavior, observe: Observe | None) -> _Behavior:
    def behavior(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        start = time.perf_counter()
        try:
            yield from inner(request, context)
        except Exception as exc:
            if _already_aborted(context):
                raise
            _fail(observe, method, start, context, exc)
            raise  # unreachable: _fail aborts
        _log(observe, method, "OK", start, logging.DEBUG)

    return behavior


def _wrap_handler(
    method: str, handler: grpc.RpcMethodHandler[Any, Any], observe: Observe | None = None
) -> grpc.RpcMethodHandler[Any, Any]:
    deserializer = handler.request_deserializer
    serializer = handler.response_serializer
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(
            _wrap_unary_response(method, handler.unary_unary, observe),
            request_deserializer=deserializer,
            response_serializer=serializer,
        )
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(
            _wrap_streaming_response(method, handler.unary_stream, observe),
            request_deserializer=deserializer,
            response_serializer=serializer,
        )
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(
            _wrap_unary_response(method, handler.stream_unary, observe),
            request_deserializer=deserializer,
            response_serializer=serializer,
        )
    if handler.stream_stream is not None:
        return grpc.stream_stream_rpc_method_handler(
            _wrap_streaming_response(method, handler.stream_stream, observe),
            request_deserializer=deserializer,
            response_serializer=serializer,
        )
    return handler


class ErrorInterceptor(grpc.ServerInterceptor):
    """Maps errors of all four handler kinds to statuses, logs and counts each call."""

    def __init__(self, observe: Observe | None = None) -> None:
        self._observe = observe
        self._wrapped: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        """Return the wrapped handler of the called method (cached per method)."""
        method = handler_call_details.method
        wrapped = self._wrapped.get(method)
        if wrapped is not None:
            return wrapped
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        wrapped = _wrap_handler(method, handler, self._observe)
        self._wrapped[method] = wrapped
        return wrapped
