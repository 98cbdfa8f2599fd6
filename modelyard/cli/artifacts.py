"""`modelyard artifacts …`: log, list and download a run's artifacts from CI scripts.

The commands and options mirror MLflow's `mlflow artifacts` (log-artifact, log-artifacts, list,
download) and go through `modelyard.Client`, so they use whatever store the run's artifact URI
names: the server's proxy, a bucket with the caller's credentials, or a local folder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from modelyard.cli.app import echo_json, echo_table
from modelyard.cli.tracking import tracking_uri_option

if TYPE_CHECKING:
    from modelyard.client.client import Client

run_id_option = click.option("--run-id", "-r", required=True, help="The run's id.")
artifact_path_option = click.option(
    "--artifact-path",
    "-a",
    default=None,
    help="Directory inside the run's artifact root [default: the root].",
)


def _client(tracking_uri: str | None) -> Client:
    """A Client on the flag's URI, else MODELYARD_TRACKING_URI, else the embedded default."""
    from modelyard.client.client import Client

    return Client(tracking_uri)


@click.group("artifacts")
def artifacts_group() -> None:
    """Upload, list and download run artifacts."""


@artifacts_group.command("log-artifact")
@click.option(
    "--local-file",
    "-l",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="The file to upload.",
)
@run_id_option
@artifact_path_option
@tracking_uri_option
def log_artifact_command(
    local_file: str, run_id: str, artifact_path: str | None, tracking_uri: str | None
) -> None:
    """Upload one file into a run's artifacts."""
    client = _client(tracking_uri)
    client.log_artifact(run_id, local_file, artifact_path)
    click.echo(f"logged {local_file} to run {run_id}")


@artifacts_group.command("log-artifacts")
@click.option(
    "--local-dir",
    "-l",
    required=True,
    type=click.Path(exists=True, file_okay=False),
    help="The directory whose contents to upload.",
)
@run_id_option
@artifact_path_option
@tracking_uri_option
def log_artifacts_command(
    local_dir: str, run_id: str, artifact_path: str | None, tracking_uri: str | None
) -> None:
    """Upload the contents of a directory into a run's artifacts (files in parallel)."""
    client = _client(tracking_uri)
    client.log_artifacts(run_id, local_dir, artifact_path)
    click.echo(f"logged the contents of {local_dir} to run {run_id}")


@artifacts_group.command("list")
@run_id_option
@artifact_path_option
@tracking_uri_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_command(
    run_id: str, artifact_path: str | None, tracking_uri: str | None, as_json: bool
) -> None:
    """List one level of a run's artifacts."""
    client = _client(tracking_uri)
    files = client.list_artifacts(run_id, artifact_path)
    if as_json:
        echo_json([{"path": f.path, "is_dir": f.is_dir, "file_size": f.file_size} for f in files])
        return
    echo_table(["path", "is_dir", "file_size"], [(f.path, f.is_dir, f.file_size) for f in files])


@artifacts_group.command("download")
@click.option("--run-id", "-r", default=None, help="The run's id (with --artifact-path).")
@artifact_path_option
@click.option(
    "--artifact-uri",
    "-u",
    default=None,
    help="Instead of --run-id: runs:/<run_id>/<path>, modelyard-artifacts:/…, s3://…, …",
)
@click.option(
    "--dst-path",
    "-d",
    default=None,
    type=click.Path(file_okay=False),
    help="Local folder to download into [default: a new temporary folder].",
)
@tracking_uri_option
def download_command(
    run_id: str | None,
    artifact_path: str | None,
    artifact_uri: str | None,
    dst_path: str | None,
    tracking_uri: str | None,
) -> None:
    """Download an artifact file or directory; print its local path."""
    from modelyard.client.artifact_api import download_artifacts

    if (run_id is None) == (artifact_uri is None):
        raise click.UsageError("give exactly one of --run-id and --artifact-uri")
    local = download_artifacts(
        artifact_uri,
        run_id=run_id,
        artifact_path=artifact_path,
        dst_path=dst_path,
        tracking_uri=tracking_uri,
    )
    click.echo(local)
