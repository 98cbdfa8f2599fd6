"""The only mapping between `ModelyardError` and gRPC status (google.rpc.Status + ErrorInfo).

Server side: `status_for_error(exc)` builds a `grpc.Status` whose trailing metadata carries a
`google.rpc.Status` with one `ErrorInfo(reason, domain="modelyard", metadata=details)`.
Client side: `error_from_rpc(err)` rebuilds the exception from a closed `reason -> class`
table (a class is chosen only if its code matches the status code), falling back to the class
of the status code. Nothing here imports a module named by the peer.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from types import MappingProxyType

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from modelyard import errors
from modelyard.errors import Code, ModelyardError

#: The ErrorInfo domain of every error modelyard returns.
DOMAIN = "modelyard"

#: Closed table reason -> class (snapshot of the core's hierarchy at import time).
ERROR_CLASSES_BY_REASON: Mapping[str, type[ModelyardError]] = MappingProxyType(
    dict(errors.ERRORS_BY_REASON)
)

#: Fallback class for each status code, including codes with no class of their own.
ERROR_CLASSES_BY_CODE: Mapping[Code, type[ModelyardError]] = MappingProxyType(
    {
        **errors.ERRORS_BY_CODE,
        Code.OUT_OF_RANGE: errors.InvalidArgument,
        Code.DEADLINE_EXCEEDED: errors.Unavailable,
        Code.CANCELLED: errors.Aborted,
        Code.UNKNOWN: ModelyardError,
        Code.DATA_LOSS: ModelyardError,
    }
)

_GRPC_CODES: Mapping[int, grpc.StatusCode] = MappingProxyType(
    {sc.value[0]: sc for sc in grpc.StatusCode}
)


def grpc_code(code: Code) -> grpc.StatusCode:
    """The grpc.StatusCode with the same number as a core Code."""
    return _GRPC_CODES[int(code)]


def core_code(code: grpc.StatusCode | int) -> Code:
    """The core Code with the same number as a grpc.StatusCode (UNKNOWN for a stranger)."""
    number = code.value[0] if isinstance(code, grpc.StatusCode) else code
    try:
        return Code(number)
    except ValueError:
        return Code.UNKNOWN


#: Status travels in HTTP/2 trailers, which peers cap (8-16 KiB by default): keep it small.
MAX_MESSAGE_CHARS = 2000
MAX_DETAIL_CHARS = 500
MAX_DETAILS = 20


def _clip(text: object, limit: int) -> str:
    value = str(text)
    return value if len(value) <= limit else value[: limit - 1] + "\u2026"


def status_proto(
    code: Code, message: str, reason: str, details: Mapping[str, object] | None = None
) -> status_pb2.Status:
    """A google.rpc.Status with one modelyard ErrorInfo (message and metadata clipped)."""
    metadata = {
        _clip(k, MAX_DETAIL_CHARS): _clip(v, MAX_DETAIL_CHARS)
        for k, v in list((details or {}).items())[:MAX_DETAILS]
    }
    info = error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN, metadata=metadata)
    packed = any_pb2.Any()
    packed.Pack(info)
    return status_pb2.Status(
        code=int(code), message=_clip(message, MAX_MESSAGE_CHARS), details=[packed]
    )


def status_for_error(exc: ModelyardError) -> grpc.Status:
    """The grpc.Status (with rich details) that carries a ModelyardError."""
    status: grpc.Status = rpc_status.to_status(
        status_proto(exc.code, exc.message, exc.reason, exc.details)
    )
    return status


def new_incident_id() -> str:
    """An opaque id that ties an INTERNAL status to its server log entry."""
    return uuid.uuid4().hex[:16]


def internal_status(incident_id: str) -> grpc.Status:
    """The opaque INTERNAL status returned for an unexpected server failure."""
    status: grpc.Status = rpc_status.to_status(
        status_proto(
            Code.INTERNAL,
            f"internal server error (incident {incident_id})",
            ModelyardError.reason,
            {"incident_id": incident_id},
        )
    )
    return status


def error_info(status: status_pb2.Status) -> error_details_pb2.ErrorInfo | None:
    """The modelyard ErrorInfo packed in a google.rpc.Status, if any."""
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            if info.domain == DOMAIN:
                return info
    return None


def error_class(code: Code, reason: str | None) -> type[ModelyardError]:
    """The exception class for a status: by reason when known and consistent, else by code."""
    if reason:
        cls = ERROR_CLASSES_BY_REASON.get(reason)
        if cls is not None and cls.code == code:
            return cls
    return ERROR_CLASSES_BY_CODE.get(code, ModelyardError)


def error_from_status(
    code: Code, message: str, reason: str | None, details: Mapping[str, str]
) -> ModelyardError:
    """Build the exception for a decoded status; details become `exc.details` unchanged."""
    exc = error_class(code, reason)(message)
    exc.details = dict(details)
    return exc


def error_from_rpc(err: grpc.RpcError) -> ModelyardError:
    """Rebuild the ModelyardError a failed call carries (never returns grpc types)."""
    code_fn = getattr(err, "code", None)
    grpc_status_code = code_fn() if callable(code_fn) else None
    code = (
        core_code(grpc_status_code)
        if isinstance(grpc_status_code, grpc.StatusCode)
        else Code.UNKNOWN
    )
    details_fn = getattr(err, "details", None)
    message = (details_fn() if callable(details_fn) else None) or str(err) or code.name
    status: status_pb2.Status | None = None
    try:
        status = rpc_status.from_call(err)
    except (ValueError, AttributeError, TypeError):
        status = None
    if status is None:
        return error_from_status(code, message, None, {"grpc_code": code.name})
    info = error_info(status)
    if info is None:
        return error_from_status(
            core_code(status.code), status.message or message, None, {"grpc_code": code.name}
        )
    return error_from_status(core_code(status.code), status.message, info.reason, info.metadata)
