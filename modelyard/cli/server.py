"""`modelyard server`: parse the flags into ServerSettings and run the selected mode."""

from __future__ import annotations

import click

from modelyard.server.serve import configure_logging, serve
from modelyard.server.settings import ServerSettings

LOG_LEVELS = ("debug", "info", "warning", "error")


def _check_allowed_roots(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> tuple[str, ...]:
    """Refuse an --allowed-artifact-roots value that clients could never be allowed under."""
    from modelyard.artifacts.locations import canonical_location
    from modelyard.errors import ModelyardError

    for root in value:
        try:
            canonical_location(root)
        except ModelyardError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None
    return value


def _check_model_sources(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> tuple[str, ...]:
    """Refuse an --allowed-model-sources value that does not parse as a model-source root."""
    from modelyard.artifacts.model_sources import parse_source
    from modelyard.errors import ModelyardError

    for root in value:
        try:
            parse_source(root)
        except ModelyardError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None
    return value


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


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
    help="Port of the web UI, the JSON gateway (/api/...), artifact files (/files/...), "
    "/health and /metrics (0 picks a free one).",
)
@click.option(
    "--http-host",
    default=None,
    metavar="HOST",
    help="Interface of the HTTP port [default: --host]. The HTTP port speaks plain HTTP even "
    "with --tls-cert: to serve it over HTTPS, bind it to 127.0.0.1 here and put an HTTPS "
    "reverse proxy in front.",
)
@click.option(
    "--trusted-proxy",
    default=None,
    metavar="ADDRESS",
    help="Address of the reverse proxy in front of the HTTP port (e.g. 127.0.0.1): its "
    "X-Forwarded-Proto and X-Forwarded-For are believed, so requests it forwarded over HTTPS "
    "count as HTTPS (the UI's CSRF cookie is then Secure). [default: none believed]",
)
@click.option(
    "--no-http",
    is_flag=True,
    default=False,
    help="Serve gRPC only: no web UI, JSON gateway or /metrics.",
)
@click.option(
    "--serve-ui/--no-serve-ui",
    default=True,
    show_default=True,
    help="Serve the web UI on the HTTP port (the JSON gateway is served either way).",
)
@click.option(
    "--allowed-hosts",
    default="localhost,127.0.0.1,[::1]",
    show_default=True,
    metavar="NAMES",
    help="Comma-separated host names the HTTP port answers to (the Host header); '*' "
    "answers any. Guards against DNS rebinding: add the name users type, e.g. "
    "tracking.example.com.",
)
@click.option(
    "--cors-allowed-origins",
    default="",
    metavar="ORIGINS",
    help="Comma-separated origins (https://app.example.com) whose pages may call the HTTP "
    "API, including state-changing calls; '*' allows any. [default: none, same origin only]",
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
    metavar="URI",
    help="Artifact location given to new experiments that name none (stored in each, as "
    "<root>/<experiment id>); clients write there. [default: modelyard-artifacts:/ (this "
    "server's ArtifactService) when serving artifacts, else ./mlartifacts as a file URI, "
    "usable only by clients on this machine]. For a split deployment use "
    "modelyard-artifacts://<artifact-host>:<port>/.",
)
@click.option(
    "--artifacts-destination",
    default=None,
    metavar="URI",
    help="Where this server's ArtifactService stores the bytes it receives: a local path or "
    "file://, s3://bucket/prefix, wasbs://container@account.blob.core.windows.net/prefix, "
    "abfs://, az://. Credentials come from the usual sources (AWS_* variables or config "
    "files; AZURE_STORAGE_CONNECTION_STRING or account keys). [default: ./mlartifacts, "
    "resolved to an absolute file URI at start]",
)
@click.option(
    "--serve-artifacts/--no-serve-artifacts",
    default=True,
    show_default=True,
    help="Proxy artifact traffic through this server's ArtifactService. With "
    "--no-serve-artifacts the ArtifactService answers UNIMPLEMENTED and clients write to "
    "experiment locations directly with their own credentials.",
)
@click.option(
    "--artifacts-only",
    is_flag=True,
    default=False,
    help="Serve only the ArtifactService (and health): no metadata database; tracking calls "
    "answer UNIMPLEMENTED.",
)
@click.option(
    "--allowed-artifact-roots",
    multiple=True,
    callback=_check_allowed_roots,
    metavar="URI",
    help="Another root (s3://bucket/prefix, wasbs://container@account.blob.core.windows.net/"
    "prefix, ...) under which clients may place an experiment's artifact location "
    "(repeatable). The destination and the default root are allowed implicitly; file:, "
    "plain paths and http(s): never are.",
)
@click.option(
    "--allowed-model-sources",
    multiple=True,
    callback=_check_model_sources,
    metavar="URI",
    help="A root (s3://bucket/prefix, wasbs://..., modelyard-artifacts:/prefix or a local "
    "path of this server) under which a model version may be registered without a run "
    "(repeatable). A version with a run must lie inside that run's artifacts; without one "
    "and without a matching root it is refused.",
)
@click.option(
    "--max-watches",
    type=click.IntRange(min=0),
    default=16,
    show_default=True,
    help="Registry event watches served at once, on their own threads beside --workers; "
    "past it a watch is RESOURCE_EXHAUSTED.",
)
@click.option(
    "--s3-endpoint-url",
    envvar="MODELYARD_S3_ENDPOINT_URL",
    show_envvar=True,
    default=None,
    metavar="URL",
    help="S3 endpoint of an s3:// destination (MinIO, moto or any S3-compatible store) "
    "[default: AWS; AWS_ENDPOINT_URL is honoured too].",
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
    http_host: str | None,
    trusted_proxy: str | None,
    no_http: bool,
    serve_ui: bool,
    allowed_hosts: str,
    cors_allowed_origins: str,
    workers: int,
    default_artifact_root: str | None,
    artifacts_destination: str | None,
    serve_artifacts: bool,
    artifacts_only: bool,
    allowed_artifact_roots: tuple[str, ...],
    allowed_model_sources: tuple[str, ...],
    max_watches: int,
    s3_endpoint_url: str | None,
    tls_cert: str | None,
    tls_key: str | None,
    grace_seconds: float,
    log_level: str,
) -> None:
    """Run the modelyard server: gRPC on --port, the web UI and JSON gateway on --http-port."""
    if artifacts_only and not serve_artifacts:
        raise click.UsageError("--artifacts-only cannot be combined with --no-serve-artifacts")
    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key must be given together")
    if s3_endpoint_url and not s3_endpoint_url.startswith(("http://", "https://")):
        raise click.BadParameter(
            f"must start with http:// or https://, got {s3_endpoint_url!r}",
            param_hint="--s3-endpoint-url",
        )
    settings = ServerSettings(
        backend_store_uri=backend_store_uri,
        host=host,
        port=port,
        http_port=None if no_http else http_port,
        http_host=http_host or None,
        trusted_proxy=trusted_proxy or None,
        allowed_hosts=_split(allowed_hosts),
        cors_allowed_origins=_split(cors_allowed_origins),
        serve_ui=serve_ui,
        workers=workers,
        default_artifact_root=default_artifact_root,
        artifacts_destination=artifacts_destination,
        serve_artifacts=serve_artifacts,
        artifacts_only=artifacts_only,
        allowed_artifact_roots=tuple(allowed_artifact_roots),
        allowed_model_sources=tuple(allowed_model_sources),
        max_watches=max_watches,
        s3_endpoint_url=s3_endpoint_url or None,
        tls_cert=tls_cert,
        tls_key=tls_key,
        grace_seconds=grace_seconds,
    )
    configure_logging(log_level.upper())
    try:
        serve(settings)
    except OSError as exc:
        raise click.ClickException(str(exc)) from exc


#: `modelyard ui`: the same server, named for what a data scientist runs it for (MLflow's
#: `mlflow ui`): the embedded SQLite default, the UI on http://127.0.0.1:5000/.
ui_command = click.Command(
    name="ui",
    params=server_command.params,
    callback=server_command.callback,
    help="Run the web UI on the embedded default (same flags as `modelyard server`): "
    "open http://127.0.0.1:5000/.",
    short_help="Run the web UI (the server on the embedded default).",
)
