"""Server settings: parsed from CLI flags, passed as an argument (no globals, no env handoff)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

#: The proxied artifact scheme new experiments get when the server serves artifacts.
PROXIED_ARTIFACT_ROOT = "modelyard-artifacts:/"

#: Where the server's ArtifactService writes when --artifacts-destination is not given
#: (relative to the server's working directory, resolved to an absolute file URI at start).
DEFAULT_ARTIFACTS_DESTINATION = "./mlartifacts"

_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+:")


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerSettings:
    """Everything a server mode needs to build itself."""

    backend_store_uri: str = "sqlite:///modelyard.db"
    """SQLAlchemy URL of the metadata database."""
    host: str = "127.0.0.1"
    """Interface to bind."""
    port: int = 50051
    """gRPC port; 0 picks a free port."""
    http_port: int | None = None
    """Port of the HTTP side (JSON gateway, files, UI, /health, /metrics); 0 picks a free
    port; None serves no HTTP (the CLI's default is 5000; code that embeds a server opts in)."""
    http_host: str | None = None
    """Interface of the HTTP port; None binds the same one as the gRPC port (`host`)."""
    trusted_proxy: str | None = None
    """Address of a reverse proxy in front of the HTTP port whose X-Forwarded-Proto and
    X-Forwarded-For are believed ("*": any peer); None believes no forwarded header."""
    allowed_hosts: tuple[str, ...] = ("localhost", "127.0.0.1", "[::1]")
    """Host names the HTTP side answers ("*": any); the defence against DNS rebinding."""
    cors_allowed_origins: tuple[str, ...] = ()
    """Other origins (scheme://host:port) whose pages may call the HTTP side."""
    serve_ui: bool = True
    """Serve the web UI on the HTTP port (the JSON gateway is served either way)."""
    workers: int = 16
    """Size of the bounded worker pool."""
    default_artifact_root: str | None = None
    """Root of new experiments naming none; None means the proxied scheme when serving artifacts."""
    artifacts_destination: str | None = None
    """Where the server's own ArtifactService writes: any fsspec URI (file://, s3://,
    wasbs://...) or a local path; None means ./mlartifacts. See resolved_artifacts_destination."""
    serve_artifacts: bool = True
    """Register the ArtifactService (else it answers UNIMPLEMENTED)."""
    artifacts_only: bool = False
    """Serve only artifacts: no database, the TrackingService answers UNIMPLEMENTED."""
    allowed_artifact_roots: tuple[str, ...] = ()
    """Other locations experiments may point at."""
    allowed_model_sources: tuple[str, ...] = ()
    """Roots a model version may be registered from without a run (--allowed-model-sources)."""
    max_watches: int = 16
    """Registry event watches served at once, on threads beside the `workers`."""
    s3_endpoint_url: str | None = None
    """S3 endpoint for the destination (MinIO, any S3-compatible store); None = AWS default."""
    tls_cert: str | None = None
    """PEM certificate chain file; with tls_key, the server speaks TLS."""
    tls_key: str | None = None
    """PEM private key file."""
    grace_seconds: float = 10.0
    """How long in-flight calls may run on after SIGTERM."""

    @property
    def resolved_http_host(self) -> str:
        """The interface the HTTP port binds: http_host, else host."""
        return self.http_host or self.host

    def __post_init__(self) -> None:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("--tls-cert and --tls-key must be given together")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0 to 65535, got {self.port}")
        if self.http_port is not None and not 0 <= self.http_port <= 65535:
            raise ValueError(f"http_port must be 0 to 65535, got {self.http_port}")
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if self.max_watches < 0:
            raise ValueError(f"max_watches must be >= 0, got {self.max_watches}")
        if self.grace_seconds < 0:
            raise ValueError(f"grace_seconds must be >= 0, got {self.grace_seconds}")
        if self.artifacts_only and not self.serve_artifacts:
            raise ValueError("artifacts_only cannot be combined with serve_artifacts=False")
        if self.s3_endpoint_url is not None and not self.s3_endpoint_url.startswith(
            ("http://", "https://")
        ):
            raise ValueError(
                f"the S3 endpoint URL must start with http:// or https://, "
                f"got {self.s3_endpoint_url!r}"
            )

    @property
    def threads(self) -> int:
        """Threads of the server's pool: the workers, plus one per watch in the full mode."""
        return self.workers + (0 if self.artifacts_only else self.max_watches)

    @property
    def resolved_artifacts_destination(self) -> str:
        """The destination as a URI: local paths (and the default) become absolute file URIs."""
        destination = self.artifacts_destination or DEFAULT_ARTIFACTS_DESTINATION
        if _URI_SCHEME.match(destination):  # two letters at least: "C:" is a drive
            return destination
        return Path(destination).expanduser().resolve().as_uri()

    @property
    def effective_default_artifact_root(self) -> str | None:
        """Root for new experiments: the flag, else the proxied scheme when serving artifacts."""
        if self.default_artifact_root:
            return self.default_artifact_root
        return PROXIED_ARTIFACT_ROOT if self.serve_artifacts else None
