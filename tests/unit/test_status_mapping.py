"""Errors <-> gRPC status: the closed reason table, fallbacks, and the interceptor on all
four handler kinds over a loopback server."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from grpc_status import rpc_status

from modelyard import errors
from modelyard.errors import Code, ModelyardError
from modelyard.server.interceptors import ErrorInterceptor
from modelyard.v1 import common_pb2 as cpb
from modelyard.wire import status as wire_status

ALL_CLASSES = sorted(errors.ERRORS_BY_REASON.values(), key=lambda c: c.reason)


class FakeCall(grpc.RpcError, grpc.Call):
    """A failed call as a sync stub raises it."""

    def __init__(self, status: grpc.Status) -> None:
        self._status = status

    def code(self) -> grpc.StatusCode:
        return self._status.code

    def details(self) -> str:
        return self._status.details

    def trailing_metadata(self):
        return self._status.trailing_metadata

    def initial_metadata(self):
        return ()

    def is_active(self) -> bool:
        return False

    def time_remaining(self):
        return None

    def cancel(self) -> bool:
        return False

    def add_callback(self, callback) -> bool:
        return False


def _plain_status(code: grpc.StatusCode, details: str) -> grpc.Status:
    class _Status(grpc.Status):
        pass

    status = _Status()
    status.code, status.details, status.trailing_metadata = code, details, ()
    return status


def test_error_reason_enum_matches_the_closed_table() -> None:
    proto_reasons = set(cpb.ErrorReason.keys()) - {"ERROR_REASON_UNSPECIFIED"}
    assert proto_reasons == set(wire_status.ERROR_CLASSES_BY_REASON)


def test_every_code_of_the_hierarchy_has_a_fallback() -> None:
    for cls in ALL_CLASSES:
        assert cls.code in wire_status.ERROR_CLASSES_BY_CODE
    for code in Code:
        if code is not Code.OK:
            assert code in wire_status.ERROR_CLASSES_BY_CODE


def test_grpc_codes_match_core_codes() -> None:
    for code in Code:
        assert wire_status.grpc_code(code).value[0] == int(code)
        assert wire_status.core_code(wire_status.grpc_code(code)) is code


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=lambda c: c.__name__)
def test_every_error_class_round_trips(cls: type[ModelyardError]) -> None:
    exc = cls(f"bad value 'x' for {cls.__name__}", key="x")
    exc.details["message"] = "a detail named like the constructor argument"
    status = wire_status.status_for_error(exc)
    assert status.code == wire_status.grpc_code(cls.code)
    assert status.details == exc.message
    back = wire_status.error_from_rpc(FakeCall(status))
    assert type(back) is cls
    assert back.message == exc.message
    assert back.details == exc.details


def test_error_info_carries_reason_domain_and_metadata() -> None:
    status = wire_status.status_for_error(errors.RunNotFound("no run 'abc'", run_id="abc"))
    proto = rpc_status.from_call(FakeCall(status))
    info = wire_status.error_info(proto)
    assert info is not None
    assert (info.reason, info.domain, dict(info.metadata)) == (
        "RUN_NOT_FOUND",
        "modelyard",
        {"run_id": "abc"},
    )


def test_unknown_reason_falls_back_to_the_code_class() -> None:
    proto = wire_status.status_proto(Code.NOT_FOUND, "gone", "SOMETHING_NEWER", {"a": "b"})
    back = wire_status.error_from_rpc(FakeCall(rpc_status.to_status(proto)))
    assert type(back) is errors.NotFound
    assert back.details == {"a": "b"}


def test_reason_with_inconsistent_code_falls_back_to_the_code_class() -> None:
    proto = wire_status.status_proto(Code.INVALID_ARGUMENT, "odd", "RUN_NOT_FOUND")
    back = wire_status.error_from_rpc(FakeCall(rpc_status.to_status(proto)))
    assert type(back) is errors.InvalidArgument


def test_foreign_domain_is_ignored() -> None:
    proto = wire_status.status_proto(Code.NOT_FOUND, "gone", "RUN_NOT_FOUND")
    from google.rpc import error_details_pb2

    info = error_details_pb2.ErrorInfo()
    proto.details[0].Unpack(info)
    info.domain = "example.com"
    proto.details[0].Pack(info)
    back = wire_status.error_from_rpc(FakeCall(rpc_status.to_status(proto)))
    assert type(back) is errors.NotFound


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (grpc.StatusCode.UNAVAILABLE, errors.Unavailable),
        (grpc.StatusCode.DEADLINE_EXCEEDED, errors.Unavailable),
        (grpc.StatusCode.UNIMPLEMENTED, errors.Unimplemented),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, errors.ResourceExhausted),
        (grpc.StatusCode.UNKNOWN, ModelyardError),
        (grpc.StatusCode.CANCELLED, errors.Aborted),
    ],
)
def test_plain_status_without_details_maps_by_code(code, cls) -> None:
    back = wire_status.error_from_rpc(FakeCall(_plain_status(code, "transport said no")))
    assert type(back) is cls
    assert back.message == "transport said no"
    assert back.details["grpc_code"] == code.name


def test_internal_status_is_opaque_with_incident_id() -> None:
    incident = wire_status.new_incident_id()
    status = wire_status.internal_status(incident)
    assert status.code == grpc.StatusCode.INTERNAL
    assert incident in status.details
    back = wire_status.error_from_rpc(FakeCall(status))
    assert type(back) is ModelyardError
    assert back.details == {"incident_id": incident}


def test_error_from_rpc_never_leaks_grpc_types() -> None:
    back = wire_status.error_from_rpc(grpc.RpcError())
    assert isinstance(back, ModelyardError)
    assert not isinstance(back, grpc.RpcError)


# -- the interceptor, over a real loopback server ------------------------------------------

SERVICE = "test.Errors"


def _identity(b: bytes) -> bytes:
    return b


def _raise_for(request: bytes) -> None:
    if request == b"domain":
        raise errors.InvalidArgument("bad key 'a..b'", key="a..b")
    if request == b"bug":
        raise ValueError("secret internals")


def _unary_unary(request, context):
    _raise_for(request)
    return b"ok"


def _unary_stream(request, context):
    yield b"first"
    _raise_for(request)
    yield b"second"


def _stream_unary(request_iterator, context):
    items = list(request_iterator)
    _raise_for(items[-1])
    return b"ok"


def _stream_stream(request_iterator, context):
    for item in request_iterator:
        yield b"echo"
        _raise_for(item)


def _aborts(request, context):
    context.abort(grpc.StatusCode.PERMISSION_DENIED, "handler said no")


@pytest.fixture(scope="module")
def channel():
    handlers = {
        "UU": grpc.unary_unary_rpc_method_handler(_unary_unary, _identity, _identity),
        "US": grpc.unary_stream_rpc_method_handler(_unary_stream, _identity, _identity),
        "SU": grpc.stream_unary_rpc_method_handler(_stream_unary, _identity, _identity),
        "SS": grpc.stream_stream_rpc_method_handler(_stream_stream, _identity, _identity),
        "Abort": grpc.unary_unary_rpc_method_handler(_aborts, _identity, _identity),
    }
    server = grpc.server(ThreadPoolExecutor(4), interceptors=[ErrorInterceptor()])
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, handlers)])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield ch
    server.stop(0)


def _invoke(channel: grpc.Channel, kind: str, payload: bytes):
    path = f"/{SERVICE}/{kind}"
    if kind in ("UU", "Abort"):
        return channel.unary_unary(path)(payload, timeout=10)
    if kind == "US":
        return list(channel.unary_stream(path)(payload, timeout=10))
    if kind == "SU":
        return channel.stream_unary(path)(iter([b"x", payload]), timeout=10)
    return list(channel.stream_stream(path)(iter([b"x", payload]), timeout=10))


KINDS = ["UU", "US", "SU", "SS"]


@pytest.mark.parametrize("kind", KINDS)
def test_interceptor_passes_success(channel, kind: str) -> None:
    assert _invoke(channel, kind, b"fine")


@pytest.mark.parametrize("kind", KINDS)
def test_interceptor_maps_domain_errors(channel, kind: str) -> None:
    with pytest.raises(grpc.RpcError) as info:
        _invoke(channel, kind, b"domain")
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    back = wire_status.error_from_rpc(info.value)
    assert type(back) is errors.InvalidArgument
    assert "a..b" in back.message
    assert back.details == {"key": "a..b"}


@pytest.mark.parametrize("kind", KINDS)
def test_interceptor_hides_unexpected_errors(channel, kind: str, caplog) -> None:
    with (
        caplog.at_level("ERROR", logger="modelyard.server.rpc"),
        pytest.raises(grpc.RpcError) as info,
    ):
        _invoke(channel, kind, b"bug")
    assert info.value.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in info.value.details()
    back = wire_status.error_from_rpc(info.value)
    incident = back.details["incident_id"]
    assert incident in back.message
    records = [r for r in caplog.records if getattr(r, "incident_id", None) == incident]
    assert records and records[0].exc_info is not None
    assert records[0].method == f"/{SERVICE}/{kind}"


def test_interceptor_keeps_a_status_the_handler_set(channel) -> None:
    with pytest.raises(grpc.RpcError) as info:
        _invoke(channel, "Abort", b"")
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert info.value.details() == "handler said no"


def test_interceptor_logs_code_and_duration(channel, caplog) -> None:
    with caplog.at_level("DEBUG", logger="modelyard.server.rpc"):
        _invoke(channel, "UU", b"fine")
        with pytest.raises(grpc.RpcError):
            _invoke(channel, "UU", b"domain")
    by_code = {r.code: r for r in caplog.records if hasattr(r, "code")}
    assert by_code["OK"].levelname == "DEBUG"
    assert by_code["INVALID_ARGUMENT"].levelname == "INFO"
    assert by_code["OK"].duration_ms >= 0
    assert by_code["INVALID_ARGUMENT"].method == f"/{SERVICE}/UU"


def test_long_messages_and_odd_details_stay_within_trailer_limits() -> None:
    exc = errors.InvalidArgument("x" * 100_000, value="y" * 100_000)
    exc.details["count"] = 3  # type: ignore[assignment]  # a non-str slipped in
    status = wire_status.status_for_error(exc)
    assert sum(len(k) + len(v) for k, v in status.trailing_metadata) < 8192
    back = wire_status.error_from_rpc(FakeCall(status))
    assert type(back) is errors.InvalidArgument
    assert back.message.startswith("xxx") and len(back.message) <= 2000
    assert back.details["count"] == "3"
