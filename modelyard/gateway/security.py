"""What keeps the HTTP side to its own origin: host names, origins, CSRF, CORS, CSP.

- Host: only the names in --allowed-hosts are answered (DNS rebinding sends a foreign name
  that resolves to this server); "*" turns the check off.
- State-changing requests (POST, PUT, PATCH, DELETE) from a browser must come from this
  server's own origin or one in --cors-allowed-origins (the Origin header, else Referer, else
  Sec-Fetch-Site). A request that carries the UI's CSRF cookie must also send its value in the
  X-CSRF-Token header (double submit): a form on another site can do neither. Requests with no
  browser headers and no cookie (curl, scripts) pass.
- Every response gets a strict Content-Security-Policy (scripts and styles from this origin
  only, nothing inline, no frames, no plugins) and nosniff.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_ALLOWED_HOSTS = ("localhost", "127.0.0.1", "[::1]")
CSRF_COOKIE = "modelyard_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "connect-src 'self'",
        "font-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
)

CORS_ALLOW_HEADERS = "Content-Type, X-CSRF-Token, Range"
CORS_ALLOW_METHODS = "GET, HEAD, POST, PUT, DELETE"
CORS_EXPOSE_HEADERS = "Content-Range, Content-Length, Content-Disposition, Accept-Ranges"


def host_name(host_header: str) -> str:
    """The host of a Host header without its port, lower-case ("[::1]" keeps its brackets)."""
    host = host_header.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[: end + 1] if end != -1 else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def origin_of(url: str) -> str | None:
    """scheme://host[:port] of a URL, lower-case; None when it has none."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def new_csrf_token() -> str:
    """A fresh random token for the CSRF cookie."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request is refused: HTTP status, gRPC status name, message."""

    http_status: int
    status: str
    message: str


class SecurityPolicy:
    """The host, origin and CSRF checks of one server."""

    def __init__(
        self,
        allowed_hosts: Iterable[str] = DEFAULT_ALLOWED_HOSTS,
        cors_allowed_origins: Iterable[str] = (),
    ) -> None:
        hosts = [h.strip().lower() for h in allowed_hosts if h.strip()]
        self.any_host = "*" in hosts
        self.allowed_hosts = frozenset(hosts)
        origins = [o.strip().rstrip("/").lower() for o in cors_allowed_origins if o.strip()]
        self.any_origin = "*" in origins
        self.cors_allowed_origins = frozenset(origins)

    def check_host(self, host_header: str | None) -> Refusal | None:
        """Refuse a Host the server is not configured for."""
        if self.any_host:
            return None
        name = host_name(host_header or "")
        if name in self.allowed_hosts:
            return None
        return Refusal(
            400,
            "INVALID_ARGUMENT",
            f"host {name!r} is not served here: add it to --allowed-hosts "
            f"(now {', '.join(sorted(self.allowed_hosts))})",
        )

    def cors_origin(self, origin: str | None) -> str | None:
        """The origin to allow in CORS headers, if it is one of --cors-allowed-origins."""
        if not origin:
            return None
        cleaned = origin.rstrip("/").lower()
        if self.any_origin or cleaned in self.cors_allowed_origins:
            return origin
        return None

    def check_write(
        self,
        *,
        method: str,
        host_header: str | None,
        origin: str | None,
        referer: str | None,
        fetch_site: str | None,
        csrf_cookie: str | None,
        csrf_header: str | None,
    ) -> Refusal | None:
        """Refuse a state-changing request from another origin or without its CSRF token."""
        if method.upper() in SAFE_METHODS:
            return None
        own = (host_header or "").strip().lower()
        claimed = origin_of(origin) if origin and origin != "null" else None
        if origin == "null":
            claimed = "null"
        if claimed is None and referer:
            claimed = origin_of(referer)
        if claimed is not None:
            # Compared by host:port: behind a TLS-terminating proxy the scheme differs.
            if urlsplit(claimed).netloc != own and self.cors_origin(claimed) is None:
                return Refusal(
                    403,
                    "PERMISSION_DENIED",
                    f"cross-origin {method} from {claimed!r} refused: allow it with "
                    "--cors-allowed-origins",
                )
        elif fetch_site in ("cross-site", "same-site"):
            return Refusal(403, "PERMISSION_DENIED", f"{fetch_site} {method} refused")
        if csrf_cookie is not None and not (
            csrf_header and hmac.compare_digest(csrf_cookie.encode(), csrf_header.encode())
        ):
            return Refusal(
                403,
                "PERMISSION_DENIED",
                f"{method} with the UI's session cookie needs a matching {CSRF_HEADER} header",
            )
        return None
