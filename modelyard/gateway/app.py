"""The WSGI application of the HTTP port: routing, the security checks, metrics.

POST /api/<service>/<method>   JSON gateway (modelyard.gateway.transcoding)
GET  /files/<path>             artifact download with Range (HEAD too); PUT uploads
                               (modelyard.gateway.files; deleting is the JSON DeleteArtifacts)
GET  /health                   the gRPC health status as JSON (503 when not serving)
GET  /metrics                  Prometheus exposition
GET  /static/<file>            the UI's assets
GET  anything else             the UI's page shell (the UI routes in the browser)
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from modelyard.errors import Code, ModelyardError
from modelyard.gateway.metrics import ServerMetrics
from modelyard.gateway.security import (
    CORS_ALLOW_HEADERS,
    CORS_ALLOW_METHODS,
    CORS_EXPOSE_HEADERS,
    CSRF_COOKIE,
    CSRF_HEADER,
    SECURITY_HEADERS,
    SecurityPolicy,
)
from modelyard.gateway.transcoding import (
    GatewayContext,
    MethodTable,
    error_body,
    error_for_exception,
    internal_error,
)

logger = logging.getLogger("modelyard.server.http")

JSON = "application/json"

#: Largest JSON request body (a 1,000-entry LogBatch is far below it).
MAX_JSON_BODY = 16 * 1024 * 1024

HealthCheck = Callable[[], tuple[bool, dict[str, str]]]
"""Returns (serving, {service: status}) for /health."""


@dataclass(slots=True)
class Routes:
    """What one server mounts on its HTTP port."""

    methods: MethodTable
    health: HealthCheck
    metrics: ServerMetrics
    files: Any | None = None
    """modelyard.gateway.files.FileRoutes, when the server serves artifacts."""
    ui: Any | None = None
    """modelyard.ui.UiAssets, when the server shows the web UI."""


URL_MAP = Map(
    [
        Rule("/api/<service>/<method>", endpoint="api"),
        Rule("/files/", endpoint="files", defaults={"path": ""}),
        Rule("/files/<path:path>", endpoint="files"),
        Rule("/health", endpoint="health"),
        Rule("/metrics", endpoint="metrics"),
        Rule("/static/<path:path>", endpoint="static"),
        Rule("/", endpoint="page", defaults={"path": ""}),
        Rule("/<path:path>", endpoint="page"),
    ],
    strict_slashes=False,
    merge_slashes=False,
)


def json_response(status: int, body: bytes) -> Response:
    """A JSON response with these bytes."""
    return Response(body, status=status, content_type=JSON)


def refusal_response(http_status: int, status: str, message: str) -> Response:
    """A JSON error answer outside an RPC (host, origin, routing)."""
    code = Code[status] if status in Code.__members__ else Code.UNKNOWN
    answer = error_body(code, message, status, http_status=http_status)
    return Response(answer.body, status=http_status, content_type=JSON)


def internal_error_response(request: Request, exc: Exception) -> Response:
    """Log an unexpected error with a new incident id; answer 500 naming only that id."""
    answer = internal_error(f"{request.method} {request.path}", exc, path=request.path)
    return Response(answer.body, status=answer.http_status, content_type=JSON)


class GatewayApp:
    """The WSGI callable."""

    def __init__(self, routes: Routes, policy: SecurityPolicy) -> None:
        self.routes = routes
        self.policy = policy

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        start = time.perf_counter()
        label = "other"
        try:
            label, response = self.dispatch(request)
        except HTTPException as exc:
            response = refusal_response(
                exc.code or 500, _status_of(exc.code or 500), exc.description or ""
            )
            if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
                response.headers["Allow"] = ", ".join(exc.valid_methods)
        except ModelyardError as exc:
            answer = error_for_exception(exc)
            response = Response(answer.body, status=answer.http_status, content_type=JSON)
        except Exception as exc:  # outside an RPC (files, static): JSON, headers, an incident
            response = internal_error_response(request, exc)
        self.decorate(request, response)
        if label != "api":  # the API counts its calls by method with the gRPC status
            self.routes.metrics.observe(
                "http", label, str(response.status_code), time.perf_counter() - start
            )
        return response(environ, start_response)

    def decorate(self, request: Request, response: Response) -> None:
        """Security headers everywhere; CORS headers for an allowed foreign origin."""
        for name, value in SECURITY_HEADERS:
            response.headers.setdefault(name, value)
        allowed = self.policy.cors_origin(request.headers.get("Origin"))
        if allowed is not None:
            response.headers["Access-Control-Allow-Origin"] = allowed
            response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSE_HEADERS
            response.vary.add("Origin")

    def dispatch(self, request: Request) -> tuple[str, Response]:
        """Check the request, route it; return (metrics label, response)."""
        refused = self.policy.check_host(request.host)
        if refused is not None:
            return "refused", refusal_response(refused.http_status, refused.status, refused.message)
        if request.method == "OPTIONS":
            return "preflight", self.preflight(request)
        refused = self.policy.check_write(
            method=request.method,
            host_header=request.host,
            origin=request.headers.get("Origin"),
            referer=request.headers.get("Referer"),
            fetch_site=request.headers.get("Sec-Fetch-Site"),
            csrf_cookie=request.cookies.get(CSRF_COOKIE),
            csrf_header=request.headers.get(CSRF_HEADER),
        )
        if refused is not None:
            return "refused", refusal_response(refused.http_status, refused.status, refused.message)
        adapter = URL_MAP.bind_to_environ(request.environ)
        endpoint, args = adapter.match()
        if endpoint == "page":
            # What the rules above left because its rest starts with "/" ("/files//etc",
            # "/files/%2Fetc") or has too many segments ("/api/a/b/c") is never the page.
            head, _, rest = args["path"].partition("/")
            if head in ("files", "static"):
                endpoint, args = head, {"path": rest}
            elif head == "api":
                raise NotFound("no such API route: use POST /api/<service>/<method>")
        if endpoint == "api":
            return "api", self.api(request, args["service"], args["method"])
        if endpoint == "health":
            return "health", self.health(request)
        if endpoint == "metrics":
            body, content_type = self.routes.metrics.render()
            return "metrics", Response(body, content_type=content_type)
        if endpoint == "files":
            if self.routes.files is None:
                return "files", refusal_response(
                    501, "UNIMPLEMENTED", "this server does not serve artifacts"
                )
            return "files", self.routes.files.handle(request, args["path"])
        if self.routes.ui is None:
            raise NotFound("this server runs without the web UI")
        if endpoint == "static":
            return "static", self.routes.ui.asset(request, args["path"])
        return "page", self.routes.ui.page(request)

    def preflight(self, request: Request) -> Response:
        """Answer a CORS preflight: allowed for --cors-allowed-origins, else 403."""
        origin = self.policy.cors_origin(request.headers.get("Origin"))
        if origin is None:
            return refusal_response(
                403, "PERMISSION_DENIED", "this origin is not in --cors-allowed-origins"
            )
        response = Response(status=204)
        response.headers["Access-Control-Allow-Methods"] = CORS_ALLOW_METHODS
        response.headers["Access-Control-Allow-Headers"] = CORS_ALLOW_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"
        return response

    def api(self, request: Request, service: str, name: str) -> Response:
        """One JSON RPC."""
        if request.method != "POST":
            raise MethodNotAllowed(valid_methods=["POST"])
        method = self.routes.methods.find(service, name)
        start = time.perf_counter()
        refused = None
        mimetype = request.mimetype
        length = request.content_length
        if mimetype != JSON:
            refused = refusal_response(
                415,
                "INVALID_ARGUMENT",
                f"send the request as JSON (Content-Type: application/json), got "
                f"{mimetype or 'no content type'!r}",
            )
        elif length is not None and length > MAX_JSON_BODY:
            refused = refusal_response(
                413, "INVALID_ARGUMENT", f"request body of {length} bytes is over {MAX_JSON_BODY}"
            )
        if refused is not None:
            self.routes.metrics.observe(
                "http", method.full_name, "INVALID_ARGUMENT", time.perf_counter() - start
            )
            return refused
        body = request.get_data(cache=False)
        context = GatewayContext(
            peer=f"ipv4:{request.remote_addr}",
            metadata=tuple(
                (k.lower(), v)
                for k, v in request.headers.items()
                if k.lower().startswith("x-modelyard-")
            ),
        )
        status, payload, code = self.routes.methods.call(method, body, context)
        self.routes.metrics.observe("http", method.full_name, code, time.perf_counter() - start)
        response = json_response(status, payload)
        response.headers["Cache-Control"] = "no-store"
        return response

    def health(self, request: Request) -> Response:
        """The gRPC health statuses as JSON; 503 when the server is not serving."""
        serving, services = self.routes.health()
        body = json.dumps({"status": "SERVING" if serving else "NOT_SERVING", "services": services})
        response = Response(body, status=200 if serving else 503, content_type=JSON)
        response.headers["Cache-Control"] = "no-store"
        return response


def _status_of(http_status: int) -> str:
    return {
        400: "INVALID_ARGUMENT",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        405: "UNIMPLEMENTED",
        413: "INVALID_ARGUMENT",
        416: "OUT_OF_RANGE",
    }.get(http_status, "UNKNOWN")
