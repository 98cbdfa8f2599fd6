"""Safety through the live server: every bad path on every ArtifactService call, symlinks that
lead out of the destination, and the artifact locations CreateExperiment accepts."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from modelyard.v1 import artifacts_pb2 as apb
from modelyard.v1 import tracking_pb2 as tpb
from tests.integration.artifacts.conftest import (
    CALL_TIMEOUT,
    ArtifactServer,
    ArtifactServers,
    create_experiment,
    destination_dir,
    download,
    rpc_error,
    upload,
    upload_requests,
)

pytestmark = pytest.mark.integration

INVALID = grpc.StatusCode.INVALID_ARGUMENT
DENIED = grpc.StatusCode.PERMISSION_DENIED

#: One or more bad paths of every category the issue names.
BAD_PATHS: dict[str, str] = {
    "dotdot": "../outside.txt",
    "dotdot inside": "1/run/../../../outside.txt",
    "dotdot alone": "..",
    "dot segment": "1/./a.txt",
    "absolute": "/etc/passwd",
    "absolute double slash": "//server/share/a.txt",
    "drive letter": "C:/Windows/win.ini",
    "drive letter inside": "1/c:/a.txt",
    "backslash": "1\\..\\..\\outside.txt",
    "backslash drive": "C:\\x.txt",
    "encoded dots": "%2e%2e/outside.txt",
    "encoded slash": "1%2f..%2f..%2foutside.txt",
    "double-encoded slash": "1%252f..%252foutside.txt",
    "double-encoded dots": "%252e%252e/outside.txt",
    "encoded backslash": "1%5c..%5coutside.txt",
    "path parameter": "1/a.txt;jsessionid=1",
    "parameter on dotdot": "..;/outside.txt",
    "NUL": "1/a.txt\x00.png",
    "newline": "1/a\n.txt",
    "tab": "1/a\t.txt",
    "escape": "1/a\x1b.txt",
    "DEL": "1/a\x7f.txt",
    "C1 control": "1/a\x85.txt",
    "empty segment": "1//a.txt",
    "trailing slash": "1/a/",
    "reserved partial folder": ".modelyard-partial/x",
    "too long": "a/" * 600 + "b",
}


def call_with(rpc: str, path: str) -> Callable[[ArtifactServer], grpc.RpcError]:
    """A function making `rpc` on `path` and returning the error it must raise."""

    def run(server: ArtifactServer) -> grpc.RpcError:
        stub = server.artifacts
        if rpc == "upload":
            return rpc_error(stub.UploadArtifact, upload_requests(path, b"payload"))
        if rpc == "download":
            return rpc_error(stub.DownloadArtifact, apb.DownloadArtifactRequest(path=path))
        if rpc == "download at offset":
            return rpc_error(
                stub.DownloadArtifact, apb.DownloadArtifactRequest(path=path, offset=1)
            )
        if rpc == "list":
            return rpc_error(stub.ListArtifacts, apb.ListArtifactsRequest(path=path))
        if rpc == "list recursive":
            return rpc_error(
                stub.ListArtifacts, apb.ListArtifactsRequest(path=path, recursive=True)
            )
        if rpc == "delete":
            return rpc_error(stub.DeleteArtifacts, apb.DeleteArtifactsRequest(path=path))
        assert rpc == "stat"
        return rpc_error(stub.StatArtifact, apb.StatArtifactRequest(path=path))

    return run


RPCS = ["upload", "download", "download at offset", "list", "list recursive", "delete", "stat"]


@pytest.fixture(scope="module")
def guarded(local_server: ArtifactServer) -> ArtifactServer:
    """The module's server with a file right outside its destination and one inside."""
    outside = destination_dir(local_server).parent / "outside.txt"
    outside.write_text("outside")
    upload(local_server.artifacts, "1/a.txt", b"inside")
    return local_server


@pytest.mark.parametrize("rpc", RPCS)
@pytest.mark.parametrize("category", list(BAD_PATHS))
def test_bad_paths_are_invalid_argument_naming_the_path(
    guarded: ArtifactServer, category: str, rpc: str
) -> None:
    path = BAD_PATHS[category]
    err = call_with(rpc, path)(guarded)
    assert err.code() == INVALID, (err.code(), err.details())
    shown = repr(path if len(path) <= 80 else path[:80] + "...")
    assert shown in err.details(), err.details()
    outside = destination_dir(guarded).parent / "outside.txt"
    assert outside.read_text() == "outside"
    assert download(guarded.artifacts, "1/a.txt")[1] == b"inside"


# -- symlinks inside the destination ---------------------------------------------------------


@pytest.fixture
def linked(artifact_servers: ArtifactServers, tmp_path: Path) -> tuple[ArtifactServer, Path]:
    """A server whose destination holds `link` -> an outside folder and `filelink` -> a file."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    server = artifact_servers(artifacts_destination=str(tmp_path / "destination"))
    upload(server.artifacts, "1/ok.txt", b"ok")  # the destination exists now
    root = tmp_path / "destination"
    (root / "link").symlink_to(outside, target_is_directory=True)
    (root / "1" / "filelink").symlink_to(outside / "secret.txt")
    return server, outside


def _outside_untouched(outside: Path) -> None:
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_text() == "secret"


REFUSED = (DENIED, INVALID)


@pytest.mark.parametrize(
    "path", ["link/secret.txt", "1/filelink", "link/new.txt", "link/sub/new.txt"]
)
def test_symlinks_cannot_be_written_through(linked: tuple[ArtifactServer, Path], path: str) -> None:
    server, outside = linked
    err = rpc_error(server.artifacts.UploadArtifact, upload_requests(path, b"overwritten"))
    assert err.code() in REFUSED, err.details()
    assert path in err.details()
    _outside_untouched(outside)


@pytest.mark.parametrize("path", ["link/secret.txt", "1/filelink"])
def test_symlinks_cannot_be_read_through(linked: tuple[ArtifactServer, Path], path: str) -> None:
    server, _ = linked
    for make in (
        lambda: rpc_error(
            server.artifacts.DownloadArtifact, apb.DownloadArtifactRequest(path=path)
        ),
        lambda: rpc_error(server.artifacts.StatArtifact, apb.StatArtifactRequest(path=path)),
    ):
        err = make()
        assert err.code() in REFUSED, err.details()
        assert path in err.details()
        assert "secret" not in err.details().replace(path, "")


@pytest.mark.parametrize("recursive", [False, True])
def test_symlinks_cannot_be_listed_through(
    linked: tuple[ArtifactServer, Path], recursive: bool
) -> None:
    server, _ = linked
    err = rpc_error(
        server.artifacts.ListArtifacts, apb.ListArtifactsRequest(path="link", recursive=recursive)
    )
    assert err.code() in REFUSED, err.details()
    # Listing the root never shows what lies behind a link.
    root = server.artifacts.ListArtifacts(
        apb.ListArtifactsRequest(path="", recursive=recursive), timeout=CALL_TIMEOUT
    )
    assert not any("secret" in f.path for f in root.files), [f.path for f in root.files]


@pytest.mark.parametrize("path", ["link/secret.txt", "link", "1/filelink"])
def test_symlinks_cannot_be_deleted_through(linked: tuple[ArtifactServer, Path], path: str) -> None:
    server, outside = linked
    try:
        server.artifacts.DeleteArtifacts(
            apb.DeleteArtifactsRequest(path=path), timeout=CALL_TIMEOUT
        )
    except grpc.RpcError as err:
        assert err.code() in REFUSED, err.details()
    else:  # only removing the link itself (not what it points to) could be acceptable
        assert path in ("link", "1/filelink")
    _outside_untouched(outside)
    assert download(server.artifacts, "1/ok.txt")[1] == b"ok"


def test_deleting_a_folder_holding_a_link_keeps_the_outside(
    linked: tuple[ArtifactServer, Path],
) -> None:
    server, outside = linked
    try:
        server.artifacts.DeleteArtifacts(apb.DeleteArtifactsRequest(path="1"), timeout=CALL_TIMEOUT)
    except grpc.RpcError as err:
        assert err.code() in REFUSED, err.details()
    _outside_untouched(outside)


# -- artifact locations of new experiments ---------------------------------------------------

ALLOWED_S3 = "s3://team-bucket/experiments"
ALLOWED_AZURE = "wasbs://models@teamacct.blob.core.windows.net/experiments"


@pytest.fixture(scope="module")
def policy_server(module_servers: ArtifactServers) -> ArtifactServer:
    """A full server that allows two extra roots besides its destination and default root."""
    return module_servers(allowed_artifact_roots=(ALLOWED_S3, ALLOWED_AZURE))


def _name() -> str:
    return f"exp-{uuid.uuid4().hex[:10]}"


@pytest.mark.parametrize(
    "location",
    [
        f"{ALLOWED_S3}/a",
        f"{ALLOWED_S3}/",
        f"{ALLOWED_S3}/deep/er/path",
        f"{ALLOWED_AZURE}/x",
        "abfss://models@teamacct.dfs.core.windows.net/experiments/x",  # same account and bytes
        "modelyard-artifacts:/custom/place",  # under the default root
    ],
)
def test_create_experiment_accepts_allowed_locations(
    policy_server: ArtifactServer, location: str
) -> None:
    experiment = create_experiment(policy_server.tracking, _name(), location)
    assert experiment.artifact_location == location


@pytest.mark.parametrize(
    ("location", "code"),
    [
        ("file:///etc", DENIED),
        ("file:///" + "tmp/x", DENIED),
        ("FILE:/etc/passwd", DENIED),
        ("/srv/artifacts", DENIED),
        ("relative/dir", DENIED),
        ("C:/artifacts", DENIED),
        ("http://169.254.169.254/latest/meta-data", DENIED),
        ("https://example.com/x", DENIED),
        ("ftp://example.com/x", DENIED),
        ("gs://bucket/x", DENIED),
        ("s3://other-bucket/x", DENIED),
        ("s3://team-bucket/experimentsX", DENIED),  # segment-wise prefix only
        ("s3://team-bucket/other", DENIED),
        ("wasbs://models@otheracct.blob.core.windows.net/experiments/x", DENIED),
        ("wasbs://other@teamacct.blob.core.windows.net/experiments/x", DENIED),
        ("modelyard-artifacts://evil.example:443/x", DENIED),
        (f"{ALLOWED_S3}/a?versionId=1", INVALID),
        (f"{ALLOWED_S3}/a#frag", INVALID),
        (f"{ALLOWED_S3}/a;type=d", INVALID),
        (f"{ALLOWED_S3}/../../other", INVALID),
        (f"{ALLOWED_S3}/%2e%2e/other", INVALID),
        (f"{ALLOWED_S3}/a%252fb", INVALID),
        (f"{ALLOWED_S3}/a\\b", INVALID),
        (f"{ALLOWED_S3}/a\x00b", INVALID),
        ("s3://user:pw@team-bucket/experiments/a", INVALID),
        ("s3://team-bucket:9000/experiments/a", INVALID),
        ("az://models/experiments/x", INVALID),  # no account: where would the bytes go?
    ],
)
def test_create_experiment_refuses_other_locations(
    policy_server: ArtifactServer, location: str, code: grpc.StatusCode
) -> None:
    name = _name()
    err = rpc_error(
        policy_server.tracking.CreateExperiment,
        tpb.CreateExperimentRequest(name=name, artifact_location=location),
    )
    assert err.code() == code, err.details()
    assert repr(location) in err.details()
    if code == DENIED:
        assert ALLOWED_S3 in err.details()  # the refusal names the allowed roots
    # Nothing was created.
    missing = rpc_error(
        policy_server.tracking.GetExperimentByName, tpb.GetExperimentByNameRequest(name=name)
    )
    assert missing.code() == grpc.StatusCode.NOT_FOUND


def test_default_location_is_proxied_and_joined_without_double_slash(
    policy_server: ArtifactServer,
) -> None:
    experiment = create_experiment(policy_server.tracking, _name())
    assert experiment.artifact_location == f"modelyard-artifacts:/{experiment.experiment_id}"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_uploads_never_follow_a_link_created_mid_way(
    linked: tuple[ArtifactServer, Path],
) -> None:
    """A folder replaced by a link after the upload started still cannot be written through."""
    server, outside = linked
    root = destination_dir(server)
    (root / "2").mkdir()

    def requests() -> Iterator[apb.UploadArtifactRequest]:
        yield from upload_requests("2/late.txt", b"late", trailer=False)
        os.rename(root / "2", root / "2-moved")
        (root / "2").symlink_to(outside, target_is_directory=True)
        yield apb.UploadArtifactRequest(
            trailer=apb.UploadArtifactTrailer(size=4, sha256=_digest(b"late"))
        )

    try:
        server.artifacts.UploadArtifact(requests(), timeout=CALL_TIMEOUT)
    except grpc.RpcError as err:
        assert err.code() in REFUSED, err.details()
    _outside_untouched(outside)
