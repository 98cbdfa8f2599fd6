"""Host, origin and CSRF checks, CORS, and the security headers on every kind of answer, against
live servers. Every refused state-changing request is checked to have written nothing."""

from __future__ import annotations

import json
import re
import uuid

import pytest

from tests.integration.http.conftest import (
    TRACKING,
    HttpServer,
    HttpServers,
    Reply,
    artifact_root,
)

pytestmark = pytest.mark.integration

APP_ORIGIN = "https://app.example.com"
EVIL_ORIGIN = "https://evil.example"
CREATE = f"/api/{TRACKING}/CreateExperiment"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def assert_page_csp(reply: Reply) -> None:
    """The UI's strict CSP: own scripts and styles only, nothing inline, no framing."""
    csp = reply.header("Content-Security-Policy")
    assert csp is not None
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    for name, value in SECURITY_HEADERS.items():
        assert reply.header(name) == value, name


def create_body(name: str) -> bytes:
    return json.dumps({"name": name}).encode()


def experiment_exists(server: HttpServer, name: str) -> bool:
    found = server.tracking("SearchExperiments", {"filter": f"name = '{name}'", "viewType": 3})
    return bool(found.get("experiments"))


# -- Host ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/", None),
        ("GET", "/experiments/1", None),
        ("GET", "/static/js/app.js", None),
        ("GET", "/health", None),
        ("GET", "/metrics", None),
        ("GET", "/files/1/x.txt", None),
        ("PUT", "/files/1/x.txt", b"data"),
        ("POST", CREATE, b'{"name": "rebound"}'),
        ("OPTIONS", CREATE, None),
    ],
)
def test_foreign_host_is_refused_everywhere(
    server: HttpServer, method: str, path: str, body: bytes | None
) -> None:
    before = server.db_counts()
    files_before = server.destination_files()
    reply = server.request(
        method,
        path,
        body,
        {"Host": f"attacker.example:{server.port}", "Content-Type": "application/json"},
    )
    assert reply.status == 400
    assert reply.error["status"] == "INVALID_ARGUMENT"
    assert "attacker.example" in reply.error["message"]
    assert "--allowed-hosts" in reply.error["message"]
    assert b"<html" not in reply.body.lower() and b"modelyard_requests" not in reply.body
    assert reply.header("Set-Cookie") is None
    assert_page_csp(reply)
    assert server.db_counts() == before
    assert server.destination_files() == files_before


def test_allowed_host_names(http_servers: HttpServers) -> None:
    server = http_servers(allowed_hosts=("tracking.example.com",))
    assert server.get("/health", {"Host": "tracking.example.com"}).status == 200
    assert server.get("/health", {"Host": f"TRACKING.example.com:{server.port}"}).status == 200
    assert server.get("/health", {"Host": f"127.0.0.1:{server.port}"}).status == 400
    assert server.get("/health", {"Host": "localhost"}).status == 400


def test_any_host_with_star(http_servers: HttpServers) -> None:
    server = http_servers(allowed_hosts=("*",))
    for host in ("anything.example", "10.1.2.3:8080", f"localhost:{server.port}"):
        reply = server.get("/health", {"Host": host})
        assert reply.status == 200, host
    page = server.get("/", {"Host": "anything.example"})
    assert page.status == 200 and b"<html" in page.body.lower()


# -- Origin, Sec-Fetch-Site, CSRF ----------------------------------------------------------------


def test_cross_origin_writes_are_refused_and_write_nothing(server: HttpServer) -> None:
    run = server.new_run()
    root = artifact_root(run)
    before = server.db_counts()
    files_before = server.destination_files()
    name = f"csrf-{uuid.uuid4().hex[:8]}"
    json_type = {"Content-Type": "application/json"}
    refusals = [
        ("POST", CREATE, create_body(name), {**json_type, "Origin": EVIL_ORIGIN}),
        ("POST", CREATE, create_body(name), {**json_type, "Origin": "null"}),
        (
            "POST",
            CREATE,
            create_body(name),
            {**json_type, "Origin": f"http://localhost:{server.port}"},
        ),
        ("POST", CREATE, create_body(name), {**json_type, "Referer": f"{EVIL_ORIGIN}/page"}),
        ("POST", CREATE, create_body(name), {**json_type, "Sec-Fetch-Site": "cross-site"}),
        ("POST", CREATE, create_body(name), {**json_type, "Sec-Fetch-Site": "same-site"}),
        # A form post from another site: text/plain, with the victim's cookie.
        (
            "POST",
            CREATE,
            create_body(name),
            {"Content-Type": "text/plain", "Origin": EVIL_ORIGIN, "Cookie": "modelyard_csrf=t"},
        ),
        ("PUT", f"/files/{root}/evil.txt", b"evil", {"Origin": EVIL_ORIGIN}),
        ("PUT", f"/files/{root}/evil.txt", b"evil", {"Sec-Fetch-Site": "cross-site"}),
        # The UI's cookie without the header, or with another value.
        ("POST", CREATE, create_body(name), {**json_type, "Cookie": "modelyard_csrf=token1"}),
        (
            "POST",
            CREATE,
            create_body(name),
            {**json_type, "Cookie": "modelyard_csrf=token1", "X-CSRF-Token": "token2"},
        ),
        (
            "POST",
            CREATE,
            create_body(name),
            {**json_type, "Cookie": "modelyard_csrf=token1", "X-CSRF-Token": ""},
        ),
        ("PUT", f"/files/{root}/evil.txt", b"evil", {"Cookie": "modelyard_csrf=token1"}),
    ]
    for method, path, body, headers in refusals:
        reply = server.request(method, path, body, headers)
        assert reply.status == 403, (method, path, headers, reply.status, reply.body)
        assert reply.error["status"] == "PERMISSION_DENIED"
        assert reply.header("Access-Control-Allow-Origin") is None
        assert_page_csp(reply)
    assert server.db_counts() == before
    assert server.destination_files() == files_before
    assert not experiment_exists(server, name)


def test_same_origin_and_scripts_may_write(server: HttpServer) -> None:
    json_type = {"Content-Type": "application/json"}
    allowed = [
        {},  # curl: no Origin, no cookie
        {"Origin": server.origin},
        {"Origin": server.origin, "Sec-Fetch-Site": "same-origin"},
        {"Referer": f"{server.origin}/experiments/1"},
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},
        {"Cookie": "modelyard_csrf=token1", "X-CSRF-Token": "token1", "Origin": server.origin},
    ]
    for headers in allowed:
        name = f"ok-{uuid.uuid4().hex[:8]}"
        reply = server.request("POST", CREATE, create_body(name), {**json_type, **headers})
        assert reply.status == 200, (headers, reply.body)
        assert experiment_exists(server, name)
    root = artifact_root(server.new_run())
    put = server.put_file(
        f"{root}/ui.txt", b"ui", {"Cookie": "modelyard_csrf=abc", "X-CSRF-Token": "abc"}
    )
    assert put.status == 201
    # Reads never need a token, even from another origin (CORS keeps the answer from it).
    read = server.get("/health", {"Origin": EVIL_ORIGIN, "Cookie": "modelyard_csrf=abc"})
    assert read.status == 200 and read.header("Access-Control-Allow-Origin") is None


def test_cors_allowed_origin(http_servers: HttpServers) -> None:
    server = http_servers(cors_allowed_origins=(APP_ORIGIN,))
    name = f"cors-{uuid.uuid4().hex[:8]}"
    reply = server.request(
        "POST",
        CREATE,
        create_body(name),
        {"Content-Type": "application/json", "Origin": APP_ORIGIN},
    )
    assert reply.status == 200, reply.body
    assert reply.header("Access-Control-Allow-Origin") == APP_ORIGIN
    assert "Content-Range" in reply.header("Access-Control-Expose-Headers")
    assert "Origin" in reply.header("Vary")
    assert experiment_exists(server, name)

    preflight = server.request(
        "OPTIONS",
        CREATE,
        None,
        {
            "Origin": APP_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-csrf-token",
        },
    )
    assert preflight.status == 204
    assert preflight.header("Access-Control-Allow-Origin") == APP_ORIGIN
    assert "POST" in preflight.header("Access-Control-Allow-Methods")
    assert "PUT" in preflight.header("Access-Control-Allow-Methods")
    allowed_headers = preflight.header("Access-Control-Allow-Headers").lower()
    assert "content-type" in allowed_headers and "x-csrf-token" in allowed_headers
    assert int(preflight.header("Access-Control-Max-Age")) > 0

    before = server.db_counts()
    refused = server.request(
        "OPTIONS", CREATE, None, {"Origin": EVIL_ORIGIN, "Access-Control-Request-Method": "POST"}
    )
    assert refused.status == 403
    assert refused.header("Access-Control-Allow-Origin") is None
    evil = server.request(
        "POST",
        CREATE,
        create_body("evil"),
        {"Content-Type": "application/json", "Origin": EVIL_ORIGIN},
    )
    assert evil.status == 403
    assert server.db_counts() == before


def test_preflight_without_cors_is_refused(server: HttpServer) -> None:
    reply = server.request(
        "OPTIONS", CREATE, None, {"Origin": APP_ORIGIN, "Access-Control-Request-Method": "POST"}
    )
    assert reply.status == 403
    assert reply.header("Access-Control-Allow-Origin") is None
    assert reply.header("Access-Control-Allow-Methods") is None


# -- headers on every answer -----------------------------------------------------------------------


def test_every_answer_carries_the_csp_and_nosniff(server: HttpServer) -> None:
    root = artifact_root(server.new_run())
    assert server.put_file(f"{root}/f.txt", b"hello").status == 201
    answers = {
        "page": server.get("/"),
        "deep page": server.get("/runs/abc?x=1"),
        "static": server.get("/static/js/app.js"),
        "static css": server.get("/static/css/app.css"),
        "static 404": server.get("/static/js/nope.js"),
        "api": server.api(TRACKING, "SearchExperiments", {}),
        "api error": server.api(TRACKING, "GetRun", {"runId": uuid.uuid4().hex}),
        "api 405": server.get(f"/api/{TRACKING}/GetRun"),
        "api 404": server.api("nope.Service", "Nope", {}),
        "health": server.get("/health"),
        "metrics": server.get("/metrics"),
        "files 404": server.get(f"/files/{root}/missing"),
        "files 400": server.get("/files/%2e%2e/x"),
        "files 416": server.get(f"/files/{root}/f.txt", {"Range": "bytes=100-"}),
        "refused 403": server.request("POST", CREATE, b"{}", {"Origin": EVIL_ORIGIN}),
    }
    for label, reply in answers.items():
        assert reply.header("X-Content-Type-Options") == "nosniff", label
        assert_page_csp(reply)
    assert answers["page"].status == 200 and answers["static 404"].status == 404
    download = server.get(f"/files/{root}/f.txt")
    assert download.header("X-Content-Type-Options") == "nosniff"
    assert download.header("Content-Security-Policy") == "default-src 'none'; sandbox"


def test_page_sets_the_csrf_cookie_same_site_strict(server: HttpServer) -> None:
    page = server.get("/")
    assert page.status == 200
    assert page.header("Content-Type") == "text/html; charset=utf-8"
    assert page.header("Cache-Control") == "no-store"
    cookie = page.header("Set-Cookie")
    assert cookie is not None
    match = re.match(r"modelyard_csrf=([A-Za-z0-9_\-]{32,});", cookie)
    assert match, cookie
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert "samesite=strict" in attributes
    assert "path=/" in attributes
    assert "httponly" not in attributes  # the UI's script echoes it in X-CSRF-Token
    # A browser that has the cookie keeps it; another page load gives a fresh one.
    again = server.get("/models", {"Cookie": f"modelyard_csrf={match.group(1)}"})
    assert again.header("Set-Cookie") is None
    other = server.get("/")
    assert other.header("Set-Cookie") != cookie
    # The token works as the double-submit pair.
    token = match.group(1)
    name = f"cookie-{uuid.uuid4().hex[:8]}"
    reply = server.request(
        "POST",
        CREATE,
        create_body(name),
        {
            "Content-Type": "application/json",
            "Cookie": f"modelyard_csrf={token}",
            "X-CSRF-Token": token,
        },
    )
    assert reply.status == 200


@pytest.mark.parametrize(
    "path",
    [
        "/static/../__init__.py",
        "/static/%2e%2e/__init__.py",
        "/static/..%2f__init__.py",
        "/static/js/../../__init__.py",
        "/static//etc/passwd",
        "/static/%2fetc/passwd",
        "/static/..%5c__init__.py",
    ],
)
def test_static_refuses_traversal(server: HttpServer, path: str) -> None:
    reply = server.get(path)
    assert reply.status in (400, 404), (path, reply.status)
    assert b"import" not in reply.body and b"root:" not in reply.body
    assert_page_csp(reply)
