"""Units of the HTTP side without a server: the method table against the service descriptors,
the error body, the host/origin/CSRF policy, Content-Disposition, and the WSGI app's routing of
paths the URL rules leave over (werkzeug's test client, no sockets)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest
from werkzeug.test import Client

from modelyard.errors import Code, InvalidArgument, RunNotFound
from modelyard.gateway.app import GatewayApp, Routes
from modelyard.gateway.files import content_disposition
from modelyard.gateway.metrics import ServerMetrics
from modelyard.gateway.security import SecurityPolicy, host_name, origin_of
from modelyard.gateway.transcoding import (
    HTTP_STATUS,
    GatewayContext,
    MethodTable,
    error_body,
)
from modelyard.v1 import (
    artifacts_pb2,
    artifacts_pb2_grpc,
    registry_pb2,
    registry_pb2_grpc,
    tracking_pb2,
    tracking_pb2_grpc,
)

TRACKING = tracking_pb2.DESCRIPTOR.services_by_name["TrackingService"]
REGISTRY = registry_pb2.DESCRIPTOR.services_by_name["ModelRegistryService"]
ARTIFACTS = artifacts_pb2.DESCRIPTOR.services_by_name["ArtifactService"]


def full_table() -> MethodTable:
    return MethodTable.from_servicers(
        {
            TRACKING: tracking_pb2_grpc.TrackingServiceServicer(),
            REGISTRY: registry_pb2_grpc.ModelRegistryServiceServicer(),
            ARTIFACTS: artifacts_pb2_grpc.ArtifactServiceServicer(),
        }
    )


def test_method_table_has_exactly_the_unary_methods() -> None:
    table = full_table()
    unary, streaming = set(), set()
    for service in (TRACKING, REGISTRY, ARTIFACTS):
        for method in service.methods:
            name = f"{service.full_name}/{method.name}"
            (streaming if method.client_streaming or method.server_streaming else unary).add(name)
    assert set(table.names()) == unary
    assert len(table) == len(unary)
    assert streaming == {
        "modelyard.v1.TrackingService/StreamLogBatches",
        "modelyard.v1.ModelRegistryService/WatchRegistryEvents",
        "modelyard.v1.ArtifactService/UploadArtifact",
        "modelyard.v1.ArtifactService/DownloadArtifact",
    }
    method = table.find("modelyard.v1.TrackingService", "SearchRuns")
    assert method.request_class is tracking_pb2.SearchRunsRequest
    assert method.full_name == "/modelyard.v1.TrackingService/SearchRuns"


def test_method_table_call_maps_outcomes() -> None:
    class Servicer(tracking_pb2_grpc.TrackingServiceServicer):
        def GetRun(self, request: Any, context: Any) -> Any:
            if request.run_id == "missing":
                raise RunNotFound("no run 'missing'", run_id="missing")
            if request.run_id == "abort":
                import grpc

                context.abort(grpc.StatusCode.FAILED_PRECONDITION, "aborted by servicer")
            if request.run_id == "crash":
                raise ZeroDivisionError("secret")
            return tracking_pb2.GetRunResponse(
                run=tracking_pb2.Run(info={"run_id": request.run_id})
            )

    table = MethodTable.from_servicers({TRACKING: Servicer()})
    method = table.find("modelyard.v1.TrackingService", "GetRun")
    context = GatewayContext(peer="ipv4:127.0.0.1")

    status, body, code = table.call(method, b'{"runId": "abc"}', context)
    assert (status, code) == (200, "OK")
    assert json.loads(body) == {"run": {"info": {"runId": "abc"}}}

    status, body, code = table.call(method, b'{"runId": "missing"}', context)
    assert (status, code) == (404, "NOT_FOUND")
    assert json.loads(body)["error"]["details"][0]["reason"] == "RUN_NOT_FOUND"

    status, body, code = table.call(method, b'{"runId": "abort"}', context)
    assert (status, code) == (400, "FAILED_PRECONDITION")
    assert json.loads(body)["error"]["message"] == "aborted by servicer"

    status, body, code = table.call(method, b'{"runId": "crash"}', context)
    assert (status, code) == (500, "INTERNAL")
    assert b"secret" not in body and b"ZeroDivision" not in body
    assert "incident_id" in json.loads(body)["error"]["details"][0]["metadata"]

    status, body, code = table.call(method, b'{"runId": "x", "nope": 1}', context)
    assert (status, code) == (400, "INVALID_ARGUMENT")
    assert "nope" in json.loads(body)["error"]["message"]


def test_callbacks_run_when_the_call_ends() -> None:
    ran: list[str] = []

    class Servicer(tracking_pb2_grpc.TrackingServiceServicer):
        def GetRun(self, request: Any, context: Any) -> Any:
            context.add_callback(lambda: ran.append("done"))
            assert context.is_active() and context.time_remaining() is None
            assert ("x-modelyard-user", "alice") in context.invocation_metadata()
            raise RunNotFound("gone")

    table = MethodTable.from_servicers({TRACKING: Servicer()})
    context = GatewayContext("ipv4:1.2.3.4", (("x-modelyard-user", "alice"),))
    table.call(table.find(TRACKING.full_name, "GetRun"), b"{}", context)
    assert ran == ["done"]


def test_unknown_method_names_it() -> None:
    from modelyard.errors import NotFound

    with pytest.raises(NotFound) as caught:
        full_table().find("modelyard.v1.TrackingService", "StreamLogBatches")
    assert caught.value.details == {"method": "modelyard.v1.TrackingService/StreamLogBatches"}


def test_error_body_form() -> None:
    answer = error_body(Code.NOT_FOUND, "no run 'x'", "RUN_NOT_FOUND", {"run_id": "x"})
    assert answer.http_status == 404 and answer.status == "NOT_FOUND"
    assert json.loads(answer.body) == {
        "error": {
            "code": 404,
            "status": "NOT_FOUND",
            "message": "no run 'x'",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "RUN_NOT_FOUND",
                    "domain": "modelyard",
                    "metadata": {"run_id": "x"},
                }
            ],
        }
    }
    overridden = error_body(Code.UNIMPLEMENTED, "use POST", "UNIMPLEMENTED", http_status=405)
    assert overridden.http_status == 405 and json.loads(overridden.body)["error"]["code"] == 405
    assert set(HTTP_STATUS) == set(Code)


# -- security policy -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("localhost:5000", "localhost"),
        ("LOCALHOST", "localhost"),
        ("127.0.0.1:80", "127.0.0.1"),
        ("[::1]:5000", "[::1]"),
        ("[::1]", "[::1]"),
        ("tracking.example.com", "tracking.example.com"),
        ("", ""),
    ],
)
def test_host_name(header: str, name: str) -> None:
    assert host_name(header) == name


def test_origin_of() -> None:
    assert origin_of("https://App.Example.com:8443/page?q=1") == "https://app.example.com:8443"
    assert origin_of("/relative") is None
    assert origin_of("http://[bad") is None


def test_host_check() -> None:
    policy = SecurityPolicy()
    assert policy.check_host("localhost:5000") is None
    assert policy.check_host("127.0.0.1:5000") is None
    assert policy.check_host("[::1]:5000") is None
    refused = policy.check_host("evil.example:5000")
    assert refused is not None and refused.http_status == 400
    assert "evil.example" in refused.message and "--allowed-hosts" in refused.message
    assert policy.check_host(None) is not None
    assert SecurityPolicy(allowed_hosts=("*",)).check_host("anything.example") is None
    custom = SecurityPolicy(allowed_hosts=("Tracking.Example.com ", ""))
    assert custom.check_host("tracking.example.com:443") is None
    assert custom.check_host("localhost") is not None


def write(policy: SecurityPolicy, **headers: Any) -> Any:
    values = {
        "method": "POST",
        "host_header": "127.0.0.1:5000",
        "origin": None,
        "referer": None,
        "fetch_site": None,
        "csrf_cookie": None,
        "csrf_header": None,
        **headers,
    }
    return policy.check_write(**values)


def test_write_checks() -> None:
    policy = SecurityPolicy(cors_allowed_origins=("https://app.example.com/",))
    # Scripts and curl: no browser headers, no cookie.
    assert write(policy) is None
    # Reads are never refused here.
    assert write(policy, method="GET", origin="https://evil.example") is None
    # Same origin, another port or host, an allowed origin.
    assert write(policy, origin="http://127.0.0.1:5000") is None
    assert write(policy, origin="http://127.0.0.1:5001").http_status == 403
    assert write(policy, origin="https://evil.example").http_status == 403
    assert write(policy, origin="https://APP.example.com") is None
    assert write(policy, origin="null").http_status == 403
    # Referer when there is no Origin; Sec-Fetch-Site when there is neither.
    assert write(policy, referer="https://evil.example/x").http_status == 403
    assert write(policy, referer="http://127.0.0.1:5000/runs/1") is None
    assert write(policy, fetch_site="cross-site").http_status == 403
    assert write(policy, fetch_site="same-site").http_status == 403
    assert write(policy, fetch_site="same-origin") is None
    assert write(policy, fetch_site="none") is None
    # Double-submit CSRF.
    assert write(policy, csrf_cookie="abc").http_status == 403
    assert write(policy, csrf_cookie="abc", csrf_header="abd").http_status == 403
    assert write(policy, csrf_cookie="abc", csrf_header="abc") is None
    assert write(policy, csrf_cookie="", csrf_header="").http_status == 403
    for method in ("PUT", "DELETE", "PATCH"):
        assert write(policy, method=method, origin="https://evil.example").http_status == 403
    anyone = SecurityPolicy(cors_allowed_origins=("*",))
    assert write(anyone, origin="https://evil.example") is None
    assert anyone.cors_origin("https://evil.example") == "https://evil.example"
    assert policy.cors_origin("https://evil.example") is None
    assert policy.cors_origin(None) is None


def test_content_disposition() -> None:
    assert content_disposition("1/r/artifacts/model.pkl") == (
        "attachment; filename=\"model.pkl\"; filename*=UTF-8''model.pkl"
    )
    tricky = content_disposition('dir/rés"umé\r\n;x.txt')
    assert tricky == (
        'attachment; filename="r_s_um___;x.txt"; '
        "filename*=UTF-8''r%C3%A9s%22um%C3%A9%0D%0A%3Bx.txt"
    )
    assert "\r" not in tricky and "\n" not in tricky
    assert content_disposition("") == "attachment; filename=\"download\"; filename*=UTF-8''download"


# -- routing of leftover paths -------------------------------------------------------------------


class FakeFiles:
    """Records the paths FileRoutes would get."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def handle(self, request: Any, path: str) -> Any:
        from werkzeug.wrappers import Response

        from modelyard.artifacts.paths import clean_path

        self.paths.append(path)
        clean_path(path)
        return Response("ok")


def app_client(files: Any = None) -> Client:
    routes = Routes(
        methods=full_table(),
        health=lambda: (True, {"": "SERVING"}),
        metrics=ServerMetrics(),
        files=files,
    )
    return Client(GatewayApp(routes, SecurityPolicy()))


def test_leftover_paths_never_get_the_page() -> None:
    files = FakeFiles()
    client = app_client(files)
    base = "http://127.0.0.1:5000"
    absolute = client.get("/files//etc/passwd", base_url=base)
    assert absolute.status_code == 400
    assert files.paths == ["/etc/passwd"]
    assert absolute.get_json()["error"]["status"] == "INVALID_ARGUMENT"
    assert client.get("/files/1/a.txt", base_url=base).status_code == 200
    for path in ("/api/x", "/api/a/b/c", "/api/"):
        reply = client.post(path, base_url=base, data=b"{}", content_type="application/json")
        assert reply.status_code == 404, path
    # No UI in this app: the page and /static/ are 404 (JSON), never a 500.
    assert client.get("/", base_url=base).status_code == 404
    assert client.get("/static//etc/passwd", base_url=base).status_code == 404
    no_files = app_client(None)
    assert no_files.get("/files/a", base_url=base).status_code == 501
    assert no_files.get("/files//a", base_url=base).status_code == 501


def test_a_servicers_json_handler_answers_instead_of_encoding_its_message() -> None:
    """A method listed in the servicer's json_handlers is answered by that method's dict; its
    errors map like any other; methods not listed still encode the message."""

    class Servicer(tracking_pb2_grpc.TrackingServiceServicer):
        json_handlers: ClassVar[dict[str, str]] = {"SearchRuns": "search_json"}

        def SearchRuns(self, request: Any, context: Any) -> Any:
            raise AssertionError("the JSON path must not build the message")

        def search_json(self, request: Any, context: Any) -> dict[str, Any]:
            if request.filter == "bad":
                raise InvalidArgument("bad filter 'bad'", filter="bad")
            return {"runs": [{"info": {"runId": request.filter}}], "nextPageToken": "t"}

        def GetRun(self, request: Any, context: Any) -> Any:
            return tracking_pb2.GetRunResponse()

    table = MethodTable.from_servicers({TRACKING: Servicer()})
    search = table.find(TRACKING.full_name, "SearchRuns")
    assert search.json_handler is not None
    assert table.find(TRACKING.full_name, "GetRun").json_handler is None
    context = GatewayContext(peer="ipv4:127.0.0.1")
    status, body, code = table.call(search, b'{"filter": "abc"}', context)
    assert (status, code) == (200, "OK")
    assert json.loads(body) == {"runs": [{"info": {"runId": "abc"}}], "nextPageToken": "t"}
    status, body, code = table.call(search, b'{"filter": "bad"}', context)
    assert (status, code) == (400, "INVALID_ARGUMENT")
    status, body, code = table.call(table.find(TRACKING.full_name, "GetRun"), b"{}", context)
    assert (status, body) == (200, b"{}")
