"""`modelyard server`: parse the flags into ServerSettings and run the selected mode."""

from __future__ import annotations

import click

from modelyard.server.serve import configure_logging, serve
from modelyard.server.settings import ServerSettings

LOG_LEVELS = ("debug", "info", "warning", "error")


@click.command("server")
@click.option(
    "--backend-store-uri",
    default="sqlite:///modelyard.db",
    show_default=True,
    help="SQLAlchemy URL of the metadata database.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=50051,
    show_default=True,
    help="gRPC port (0 picks a free one).",
)
@click.option(
    "--http-port",
    type=click.IntRange(0, 65535),
    default=5000,
    show_default=True,
    help="Port of the UI and JSON gateway (reserved; not served yet).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="Size of the worker pool.",
)
@click.option(
    "--default-artifact-root",
    default=None,
    help="Artifact root of new experiments that name none "
    "[default: modelyard-artifacts:/ when serving artifacts].",
)
@click.option(
    "--artifacts-destination",
    default=None,
    help="Where the server's ArtifactService writes artifacts.",
)
@click.option(
    "--serve-artifacts/--no-serve-artifacts",
    default=True,
    show_default=True,
    help="Proxy artifact traffic through this server.",
)
@click.option(
    "--artifacts-only",
    is_flag=True,
    default=False,
    help="Serve only artifacts: no metadata database, no tracking service.",
)
@click.option(
    "--allowed-artifact-roots",
    multiple=True,
    metavar="URI",
    help="Another location experiments may use as artifact root (repeatable).",
)
@click.option(
    "--tls-cert",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="PEM certificate chain; with --tls-key the server speaks TLS.",
)
@click.option(
    "--tls-key",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="PEM private key of --tls-cert.",
)
@click.option(
    "--grace-seconds",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    help="How long in-flight calls may finish after SIGTERM.",
)
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS),
    default="info",
    show_default=True,
    help="Level of the JSON log lines on stderr (debug logs every call).",
)
def server_command(
    backend_store_uri: str,
    host: str,
    port: int,
    http_port: int,
    workers: int,
    default_artifact_root: str | None,
    artifacts_destination: str | None,
    serve_artifacts: bool,
    artifacts_only: bool,
    allowed_artifact_roots: tuple[str, ...],
    tls_cert: str | None,
    tls_key: str | None,
    grace_seconds: float,
    log_level: str,
) -> None:
    """Run the modelyard gRPC server."""
    if artifacts_only and not serve_artifacts:
        raise click.UsageError("--artifacts-only cannot be combined with --no-serve-artifacts")
    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key must be given together")
    settings = ServerSettings(
        backend_store_uri=backend_store_uri,
        host=host,
        port=port,
        http_port=http_port,
        workers=workers,
        default_artifact_root=default_artifact_root,
        artifacts_destination=artifacts_destination,
        serve_artifacts=serve_artifacts,
        artifacts_only=artifacts_only,
        allowed_artifact_roots=tuple(allowed_artifact_roots),
        tls_cert=tls_cert,
        tls_key=tls_key,
        grace_seconds=grace_seconds,
    )
    configure_logging(log_level.upper())
    try:
        serve(settings)
    except OSError as exc:
        raise click.ClickException(str(exc)) from exc
