"""The `modelyard` command line: server flags, db upgrade, experiments and runs commands."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelyard.cli import cli
from modelyard.entities import Metric, Param
from modelyard.server import full
from modelyard.server.settings import ServerSettings
from modelyard.store_registry import tracking_store_for_uri

pytestmark = pytest.mark.integration


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[ServerSettings]:
    """Replace serve() so that `modelyard server` only parses its flags."""
    seen: list[ServerSettings] = []
    monkeypatch.setattr("modelyard.cli.server.serve", seen.append)
    monkeypatch.setattr("modelyard.cli.server.configure_logging", lambda level: None)
    return seen


@pytest.fixture
def db_uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


# -- server flags ------------------------------------------------------------------------


def test_server_defaults(runner: CliRunner, captured: list[ServerSettings]) -> None:
    result = runner.invoke(cli, ["server"])
    assert result.exit_code == 0, result.output
    assert captured == [ServerSettings(http_port=5000)]  # the CLI serves HTTP on 5000


def test_http_flags_map_to_settings(runner: CliRunner, captured: list[ServerSettings]) -> None:
    args = [
        "ui",
        "--http-port", "0",
        "--allowed-hosts", "tracking.example.com, localhost",
        "--cors-allowed-origins", "https://app.example.com",
        "--no-serve-ui",
    ]  # fmt: skip
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert captured == [
        ServerSettings(
            http_port=0,
            allowed_hosts=("tracking.example.com", "localhost"),
            cors_allowed_origins=("https://app.example.com",),
            serve_ui=False,
        )
    ]
    captured.clear()
    result = runner.invoke(cli, ["server", "--no-http"])
    assert result.exit_code == 0, result.output
    assert captured[0].http_port is None


def test_server_flags_map_to_settings(
    runner: CliRunner, captured: list[ServerSettings], tmp_path: Path
) -> None:
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("c")
    key.write_text("k")
    args = [
        "server",
        "--backend-store-uri", "postgresql+psycopg://u@127.0.0.1/db",
        "--host", "0.0.0.0",
        "--port", "6000",
        "--http-port", "6001",
        "--workers", "3",
        "--default-artifact-root", "s3://bucket/root",
        "--artifacts-destination", "file:///srv/artifacts",
        "--no-serve-artifacts",
        "--allowed-artifact-roots", "s3://a",
        "--allowed-artifact-roots", "s3://b",
        "--tls-cert", str(cert),
        "--tls-key", str(key),
        "--grace-seconds", "2.5",
    ]  # fmt: skip
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert captured == [
        ServerSettings(
            backend_store_uri="postgresql+psycopg://u@127.0.0.1/db",
            host="0.0.0.0",
            port=6000,
            http_port=6001,
            workers=3,
            default_artifact_root="s3://bucket/root",
            artifacts_destination="file:///srv/artifacts",
            serve_artifacts=False,
            allowed_artifact_roots=("s3://a", "s3://b"),
            tls_cert=str(cert),
            tls_key=str(key),
            grace_seconds=2.5,
        )
    ]


def test_artifacts_only_flag(runner: CliRunner, captured: list[ServerSettings]) -> None:
    result = runner.invoke(cli, ["server", "--artifacts-only", "--port", "0"])
    assert result.exit_code == 0, result.output
    assert captured[0].artifacts_only and captured[0].port == 0


@pytest.mark.parametrize(
    "args",
    [
        ["--artifacts-only", "--no-serve-artifacts"],
        ["--port", "70000"],
        ["--workers", "0"],
    ],
)
def test_bad_server_flags_are_usage_errors(
    runner: CliRunner, captured: list[ServerSettings], args: list[str]
) -> None:
    result = runner.invoke(cli, ["server", *args])
    assert result.exit_code == 2
    assert captured == []


def test_tls_flags_come_in_pairs(
    runner: CliRunner, captured: list[ServerSettings], tmp_path: Path
) -> None:
    cert = tmp_path / "c.pem"
    cert.write_text("c")
    result = runner.invoke(cli, ["server", "--tls-cert", str(cert)])
    assert result.exit_code == 2
    assert "--tls-key" in result.output
    assert captured == []


def test_default_artifact_root_is_the_proxied_scheme_when_serving() -> None:
    assert ServerSettings().effective_default_artifact_root == "modelyard-artifacts:/"
    assert ServerSettings(serve_artifacts=False).effective_default_artifact_root is None
    assert ServerSettings(default_artifact_root="s3://b").effective_default_artifact_root == (
        "s3://b"
    )


def test_console_entry_point_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "modelyard", "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    for command in ("server", "db", "experiments", "runs"):
        assert command in result.stdout


# -- db upgrade --------------------------------------------------------------------------


def test_db_upgrade_creates_the_schema(runner: CliRunner, db_uri: str) -> None:
    result = runner.invoke(cli, ["db", "upgrade", db_uri])
    assert result.exit_code == 0, result.output
    assert "revision" in result.output
    again = runner.invoke(cli, ["db", "upgrade", db_uri])
    assert again.exit_code == 0, again.output
    store = tracking_store_for_uri(db_uri)
    try:
        assert store.get_experiment("0").name == "Default"
    finally:
        store.close()


# -- experiments and runs ----------------------------------------------------------------


@pytest.fixture(params=["sqlite", "grpc"])
def tracking_uri(request: pytest.FixtureRequest, db_uri: str) -> Iterator[str]:
    """The same commands in-process and through a live server."""
    if request.param == "sqlite":
        yield db_uri
        return
    bundle = full.build(ServerSettings(backend_store_uri=db_uri, port=0))
    bundle.server.start()
    try:
        yield f"grpc://127.0.0.1:{bundle.port}"
    finally:
        bundle.server.stop(None)
        bundle.close()


def test_experiment_commands(runner: CliRunner, tracking_uri: str) -> None:
    def run(*args: str):
        result = runner.invoke(cli, [*args, "--tracking-uri", tracking_uri])
        assert result.exit_code == 0, result.output
        return result

    created = run("experiments", "create", "--name", "cli-exp", "--tag", "team=a", "--json")
    experiment = json.loads(created.stdout)
    assert experiment["name"] == "cli-exp" and experiment["tags"] == {"team": "a"}
    experiment_id = experiment["experiment_id"]

    table = run("experiments", "list").stdout
    assert "experiment_id" in table.splitlines()[0]
    assert "cli-exp" in table and "Default" in table

    run("experiments", "rename", experiment_id, "cli-renamed")
    names = {e["name"] for e in json.loads(run("experiments", "list", "--json").stdout)}
    assert "cli-renamed" in names

    run("experiments", "delete", experiment_id)
    deleted = json.loads(run("experiments", "list", "--view", "deleted", "--json").stdout)
    assert [e["experiment_id"] for e in deleted] == [experiment_id]

    run("experiments", "restore", experiment_id)
    active = json.loads(run("experiments", "list", "--json").stdout)
    assert experiment_id in {e["experiment_id"] for e in active}


def test_run_commands(runner: CliRunner, tracking_uri: str, db_uri: str) -> None:
    store = tracking_store_for_uri(db_uri)
    try:
        experiment_id = store.create_experiment("cli-runs")
        run_id = store.create_run(experiment_id=experiment_id, run_name="first").info.run_id
        store.log_param(run_id, Param(key="lr", value="0.1"))
        store.log_metric(run_id, Metric(key="loss", value=math.nan, timestamp=1))
    finally:
        store.close()

    def run(*args: str):
        result = runner.invoke(cli, [*args, "--tracking-uri", tracking_uri])
        assert result.exit_code == 0, result.output
        return result

    table = run("runs", "list", "--experiment-id", experiment_id).stdout
    assert run_id in table and "first" in table

    shown = json.loads(run("runs", "get", run_id).stdout)
    assert shown["info"]["run_id"] == run_id
    assert shown["data"]["params"] == {"lr": "0.1"}
    assert shown["data"]["metrics"] == {"loss": "NaN"}

    run("runs", "delete", run_id)
    listed = json.loads(run("runs", "list", "--experiment-id", experiment_id, "--json").stdout)
    assert listed == []
    deleted = run("runs", "list", "--experiment-id", experiment_id, "--view", "deleted")
    assert run_id in deleted.stdout
    run("runs", "restore", run_id)
    listed = json.loads(run("runs", "list", "--experiment-id", experiment_id, "--json").stdout)
    assert [r["info"]["run_id"] for r in listed] == [run_id]


@pytest.mark.parametrize(
    ("args", "expected", "exit_code"),
    [
        (["runs", "get", "not-a-run-id"], "InvalidArgument", 2),
        (["runs", "get", "0" * 32], "RunNotFound", 3),
        (["experiments", "create", "--name", ""], "InvalidArgument", 2),
        (["experiments", "delete", "999999"], "ExperimentNotFound", 3),
    ],
)
def test_domain_errors_are_one_line_messages(
    runner: CliRunner, tracking_uri: str, args: list[str], expected: str, exit_code: int
) -> None:
    result = runner.invoke(cli, [*args, "--tracking-uri", tracking_uri])
    assert result.exit_code == exit_code
    assert expected in result.output
    assert "Traceback" not in result.output
