"""Server modes and flags: proxied artifacts (the default), --no-serve-artifacts, --artifacts-only,
the split deployment, defaults resolved at start, the start-up sweep, and the CLI flags."""

from __future__ import annotations

import os
import time
from pathlib import Path

import grpc
import pytest
from click.testing import CliRunner
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from modelyard.cli import cli
from modelyard.errors import InvalidArgument, PermissionDenied
from modelyard.server import full
from modelyard.server.settings import ServerSettings
from modelyard.v1 import artifacts_pb2 as apb
from modelyard.v1 import tracking_pb2 as tpb
from tests.integration.artifacts.conftest import (
    CALL_TIMEOUT,
    ArtifactServer,
    ArtifactServers,
    create_experiment,
    download,
    reason_of,
    rpc_error,
    upload,
    upload_requests,
)

pytestmark = pytest.mark.integration

ARTIFACT_SERVICE = "modelyard.v1.ArtifactService"
TRACKING_SERVICE = "modelyard.v1.TrackingService"
UNIMPLEMENTED = grpc.StatusCode.UNIMPLEMENTED


def health(server: ArtifactServer, service: str) -> str:
    """The health status name of `service`, or the status code name when it is unknown."""
    stub = health_pb2_grpc.HealthStub(server.channel)
    try:
        status = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=CALL_TIMEOUT)
    except grpc.RpcError as err:
        return err.code().name
    return health_pb2.HealthCheckResponse.ServingStatus.Name(status.status)


def reflected_services(server: ArtifactServer) -> set[str]:
    """Service names the reflection service lists."""
    stub = reflection_pb2_grpc.ServerReflectionStub(server.channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    responses = stub.ServerReflectionInfo(iter([request]), timeout=CALL_TIMEOUT)
    return {s.name for r in responses for s in r.list_services_response.service}


ARTIFACT_CALLS = {
    "UploadArtifact": lambda s: rpc_error(s.UploadArtifact, upload_requests("1/a.txt", b"x")),
    "DownloadArtifact": lambda s: rpc_error(
        s.DownloadArtifact, apb.DownloadArtifactRequest(path="1/a.txt")
    ),
    "ListArtifacts": lambda s: rpc_error(s.ListArtifacts, apb.ListArtifactsRequest(path="")),
    "DeleteArtifacts": lambda s: rpc_error(s.DeleteArtifacts, apb.DeleteArtifactsRequest(path="1")),
    "StatArtifact": lambda s: rpc_error(s.StatArtifact, apb.StatArtifactRequest(path="1")),
}


# -- the default: a full server proxying artifacts to ./mlartifacts ---------------------------


def test_defaults_proxy_artifacts_to_mlartifacts_in_the_working_directory(
    artifact_servers: ArtifactServers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    server = artifact_servers(artifacts_destination=None, backend_store_uri="sqlite:///my.db")
    destination = (tmp_path / "mlartifacts").resolve()
    assert server.bundle.info["artifacts_destination"] == destination.as_uri()
    assert health(server, ARTIFACT_SERVICE) == "SERVING"
    assert health(server, TRACKING_SERVICE) == "SERVING"
    assert {ARTIFACT_SERVICE, TRACKING_SERVICE} <= reflected_services(server)

    default = server.tracking.GetExperiment(
        tpb.GetExperimentRequest(experiment_id="0"), timeout=CALL_TIMEOUT
    ).experiment
    assert default.artifact_location == "modelyard-artifacts:/0"
    experiment = create_experiment(server.tracking, "proxied")
    assert experiment.artifact_location == f"modelyard-artifacts:/{experiment.experiment_id}"
    run = server.tracking.CreateRun(
        tpb.CreateRunRequest(experiment_id=experiment.experiment_id), timeout=CALL_TIMEOUT
    ).run
    path = run.info.artifact_uri.removeprefix("modelyard-artifacts:/") + "/model.pkl"
    upload(server.artifacts, path, b"model bytes")
    assert (destination / path).read_bytes() == b"model bytes"
    assert path.startswith(f"{experiment.experiment_id}/{run.info.run_id}/artifacts/")


def test_resolved_artifacts_destination(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    here = tmp_path.resolve()
    assert ServerSettings().resolved_artifacts_destination == (here / "mlartifacts").as_uri()
    relative = ServerSettings(artifacts_destination="data/art")
    assert relative.resolved_artifacts_destination == (here / "data" / "art").as_uri()
    for uri in (
        "s3://bucket/prefix",
        "wasbs://cont@acct.blob.core.windows.net/p",
        "file:///srv/artifacts",
    ):
        assert ServerSettings(artifacts_destination=uri).resolved_artifacts_destination == uri


def test_s3_endpoint_must_be_http() -> None:
    with pytest.raises(ValueError, match="S3 endpoint"):
        ServerSettings(s3_endpoint_url="127.0.0.1:9000")


def test_bad_allowed_roots_stop_the_server_from_starting(tmp_path: Path) -> None:
    base = {"port": 0, "backend_store_uri": f"sqlite:///{tmp_path / 'x.db'}"}
    with pytest.raises(PermissionDenied, match="file"):
        full.build(ServerSettings(**base, allowed_artifact_roots=("file:///srv",)))
    with pytest.raises(InvalidArgument, match="query"):
        full.build(ServerSettings(**base, allowed_artifact_roots=("s3://bucket/p?x=1",)))


# -- start-up sweep --------------------------------------------------------------------------


def test_start_up_sweeps_orphaned_uploads(
    artifact_servers: ArtifactServers, tmp_path: Path
) -> None:
    destination = tmp_path / "destination"
    partial = destination / ".modelyard-partial"
    partial.mkdir(parents=True)
    old, fresh = partial / "old.part", partial / "fresh.part"
    old.write_bytes(b"left by a killed server")
    fresh.write_bytes(b"another replica is writing this one right now")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    artifact_servers(artifacts_destination=str(destination))
    assert not old.exists()
    assert fresh.exists()


# -- --no-serve-artifacts ----------------------------------------------------------------------


@pytest.fixture
def no_serve(
    artifact_servers: ArtifactServers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> ArtifactServer:
    monkeypatch.chdir(tmp_path)
    return artifact_servers(
        serve_artifacts=False,
        artifacts_destination=None,
        allowed_artifact_roots=("s3://team-bucket/exp",),
    )


@pytest.mark.parametrize("method", list(ARTIFACT_CALLS))
def test_no_serve_artifacts_answers_unimplemented(no_serve: ArtifactServer, method: str) -> None:
    err = ARTIFACT_CALLS[method](no_serve.artifacts)
    assert err.code() == UNIMPLEMENTED
    assert "--no-serve-artifacts" in err.details()
    assert reason_of(err) == "UNIMPLEMENTED"


def test_no_serve_artifacts_keeps_tracking_and_writes_no_artifacts(
    no_serve: ArtifactServer, tmp_path: Path
) -> None:
    assert health(no_serve, TRACKING_SERVICE) == "SERVING"
    assert health(no_serve, ARTIFACT_SERVICE) != "SERVING"
    assert ARTIFACT_SERVICE in reflected_services(no_serve)
    # Like MLflow without a default root: a local folder of the server, as a file URI.
    experiment = create_experiment(no_serve.tracking, "local-default")
    root = (tmp_path / "mlartifacts").resolve().as_uri()
    assert experiment.artifact_location == f"{root}/{experiment.experiment_id}"
    # Direct-to-bucket locations under the allowed roots are accepted ...
    bucket = create_experiment(no_serve.tracking, "bucket", "s3://team-bucket/exp/one")
    assert bucket.artifact_location == "s3://team-bucket/exp/one"
    # ... the proxied scheme is not (nothing serves it), nor the server's own disk.
    for location in ("modelyard-artifacts:/1", f"{root}/9"):
        err = rpc_error(
            no_serve.tracking.CreateExperiment,
            tpb.CreateExperimentRequest(name=f"n-{len(location)}", artifact_location=location),
        )
        assert err.code() == grpc.StatusCode.PERMISSION_DENIED
        assert repr(location) in err.details()
    assert not (tmp_path / "mlartifacts").exists()


# -- --artifacts-only --------------------------------------------------------------------------


@pytest.fixture
def artifacts_only(
    artifact_servers: ArtifactServers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> ArtifactServer:
    monkeypatch.chdir(tmp_path)
    return artifact_servers(
        artifacts_only=True,
        artifacts_destination=None,
        backend_store_uri=ServerSettings().backend_store_uri,  # never opened
    )


def test_artifacts_only_serves_artifacts_without_a_database(
    artifacts_only: ArtifactServer, tmp_path: Path
) -> None:
    data = os.urandom(3 * 1024 * 1024 + 1)
    assert upload(artifacts_only.artifacts, "5/run/artifacts/m.bin", data).size == len(data)
    assert download(artifacts_only.artifacts, "5/run/artifacts/m.bin")[1] == data
    assert (tmp_path / "mlartifacts" / "5" / "run" / "artifacts" / "m.bin").read_bytes() == data
    assert health(artifacts_only, ARTIFACT_SERVICE) == "SERVING"
    assert health(artifacts_only, TRACKING_SERVICE) != "SERVING"
    assert {ARTIFACT_SERVICE, TRACKING_SERVICE} <= reflected_services(artifacts_only)
    assert not list(tmp_path.rglob("*.db")), "the artifacts-only server created a database"


@pytest.mark.parametrize(
    "call",
    [
        lambda t: rpc_error(t.GetExperiment, tpb.GetExperimentRequest(experiment_id="0")),
        lambda t: rpc_error(t.CreateExperiment, tpb.CreateExperimentRequest(name="x")),
        lambda t: rpc_error(t.StreamLogBatches, iter([tpb.LogBatchRequest()])),
    ],
    ids=["GetExperiment", "CreateExperiment", "StreamLogBatches"],
)
def test_artifacts_only_refuses_tracking_naming_the_mode(
    artifacts_only: ArtifactServer, call: object, tmp_path: Path
) -> None:
    err = call(artifacts_only.tracking)  # type: ignore[operator]
    assert err.code() == UNIMPLEMENTED
    assert "--artifacts-only" in err.details()
    assert reason_of(err) == "UNIMPLEMENTED"
    assert not list(tmp_path.rglob("*.db"))


# -- split: a tracking server pointing clients at an artifacts-only server ---------------------


def test_split_deployment(artifact_servers: ArtifactServers, tmp_path: Path) -> None:
    artifacts = artifact_servers(artifacts_only=True, artifacts_destination=str(tmp_path / "bytes"))
    root = f"modelyard-artifacts://127.0.0.1:{artifacts.port}/"
    tracking = artifact_servers(
        serve_artifacts=False,
        default_artifact_root=root,
        backend_store_uri=f"sqlite:///{tmp_path / 'meta.db'}",
    )
    experiment = create_experiment(tracking.tracking, "split")
    assert experiment.artifact_location == f"{root}{experiment.experiment_id}"
    run = tracking.tracking.CreateRun(
        tpb.CreateRunRequest(experiment_id=experiment.experiment_id), timeout=CALL_TIMEOUT
    ).run
    assert run.info.artifact_uri.startswith(root)
    path = run.info.artifact_uri.removeprefix(root) + "/a.txt"
    upload(artifacts.artifacts, path, b"through the artifact server")
    assert (tmp_path / "bytes" / path).read_bytes() == b"through the artifact server"
    # An experiment may name another folder on the same artifact server, not another server.
    same = create_experiment(tracking.tracking, "same-server", f"{root}shared/place")
    assert same.artifact_location == f"{root}shared/place"
    err = rpc_error(
        tracking.tracking.CreateExperiment,
        tpb.CreateExperimentRequest(
            name="other-server", artifact_location="modelyard-artifacts://10.0.0.1:1/x"
        ),
    )
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED


# -- CLI flags -------------------------------------------------------------------------------


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[ServerSettings]:
    """Replace serve() so that `modelyard server` only parses its flags."""
    seen: list[ServerSettings] = []
    monkeypatch.setattr("modelyard.cli.server.serve", seen.append)
    monkeypatch.setattr("modelyard.cli.server.configure_logging", lambda level: None)
    monkeypatch.delenv("MODELYARD_S3_ENDPOINT_URL", raising=False)
    return seen


def test_artifact_flags_map_to_settings(captured: list[ServerSettings]) -> None:
    args = [
        "server",
        "--artifacts-destination", "s3://bucket/artifacts",
        "--s3-endpoint-url", "http://127.0.0.1:9000",
        "--default-artifact-root", "modelyard-artifacts://art.internal:50052/",
        "--allowed-artifact-roots", "s3://team/exp",
        "--allowed-artifact-roots", "wasbs://cont@acct.blob.core.windows.net/p",
    ]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert captured == [
        ServerSettings(
            http_port=5000,
            artifacts_destination="s3://bucket/artifacts",
            s3_endpoint_url="http://127.0.0.1:9000",
            default_artifact_root="modelyard-artifacts://art.internal:50052/",
            allowed_artifact_roots=("s3://team/exp", "wasbs://cont@acct.blob.core.windows.net/p"),
        )
    ]


def test_s3_endpoint_from_the_environment(
    captured: list[ServerSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELYARD_S3_ENDPOINT_URL", "http://minio:9000")
    result = CliRunner().invoke(cli, ["server", "--artifacts-only"])
    assert result.exit_code == 0, result.output
    assert captured[0].s3_endpoint_url == "http://minio:9000"
    assert captured[0].artifacts_only


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--s3-endpoint-url", "minio:9000"], "http://"),
        (["--allowed-artifact-roots", "file:///srv"], "file"),
        (["--allowed-artifact-roots", "/srv/artifacts"], "local path"),
        (["--allowed-artifact-roots", "s3://bucket/p?x=1"], "query"),
    ],
)
def test_bad_artifact_flags_are_usage_errors(
    captured: list[ServerSettings], args: list[str], message: str
) -> None:
    result = CliRunner().invoke(cli, ["server", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert captured == []


def test_help_explains_the_artifact_flags() -> None:
    result = CliRunner().invoke(cli, ["server", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for flag in (
        "--artifacts-destination",
        "--default-artifact-root",
        "--serve-artifacts / --no-serve-artifacts",
        "--artifacts-only",
        "--allowed-artifact-roots",
        "--s3-endpoint-url",
        "MODELYARD_S3_ENDPOINT_URL",
    ):
        assert flag in result.output
