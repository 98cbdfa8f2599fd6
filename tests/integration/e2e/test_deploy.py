"""The deployment files under deploy/ start working servers.

Each test reads a mode's systemd units and environment files, expands the units' `ExecStart`
lines the way systemd does (``${VAR}`` as one word, ``$VAR`` split on whitespace), replaces only
what must differ on a test machine (ports, database URL, bucket, credentials; the install path
of the `modelyard` executable), starts those exact command lines as processes, and runs the seed
artifact example against them as a client would. No container runtime runs here, so this is how
each mode is exercised.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from modelyard import Client
from modelyard.errors import PermissionDenied

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
EXAMPLES = ROOT / "examples"
INSTALLED_EXECUTABLE = "/opt/modelyard/.venv/bin/modelyard"
START_TIMEOUT_S = 60.0


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a systemd EnvironmentFile: KEY=VALUE lines; blank lines and # comments skipped."""
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not KEY=VALUE: {line!r}"
        env[key.strip()] = value.strip()
    return env


def read_unit(path: Path) -> tuple[str, str]:
    """Return (ExecStart command line, basename of the EnvironmentFile) of a systemd unit."""
    text = path.read_text()
    exec_start = re.search(r"^ExecStart=(.+)$", text, re.MULTILINE)
    env_file = re.search(r"^EnvironmentFile=(.+)$", text, re.MULTILINE)
    assert exec_start and env_file, f"{path.name} lacks ExecStart or EnvironmentFile"
    return exec_start.group(1).strip(), Path(env_file.group(1).strip()).name


def expand_exec_start(command: str, env: Mapping[str, str]) -> list[str]:
    """Split an ExecStart line and expand variables as systemd does."""
    argv: list[str] = []
    for word in shlex.split(command):
        whole = re.fullmatch(r"\$\{(\w+)\}", word)
        if whole:
            argv.append(env[whole.group(1)])
            continue
        split = re.fullmatch(r"\$(\w+)", word)
        if split:
            argv.extend(env[split.group(1)].split())
            continue
        assert "$" not in word, f"unsupported variable use in {word!r}"
        argv.append(word)
    if argv and argv[0] == INSTALLED_EXECUTABLE:
        argv[0:1] = [sys.executable, "-m", "modelyard"]
    return argv


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def commented_keys(path: Path) -> set[str]:
    """Keys an env file documents as optional (`# KEY=value` lines)."""
    return set(re.findall(r"^#\s*([A-Z][A-Z0-9_]*)=", path.read_text(), re.MULTILINE))


class Service:
    """One unit's process, started from its files with test overrides."""

    def __init__(
        self,
        unit: Path,
        cwd: Path,
        *,
        overrides: Mapping[str, str],
        optional: Mapping[str, str] | None = None,
    ) -> None:
        command, env_name = read_unit(unit)
        env_path = unit.parent / env_name
        file_env = read_env_file(env_path)
        unknown = set(overrides) - set(file_env)
        assert not unknown, f"overrides not in {env_name}: {sorted(unknown)}"
        undocumented = set(optional or {}) - commented_keys(env_path)
        assert not undocumented, f"{env_name} does not document {sorted(undocumented)}"
        self.env_values = {**file_env, **overrides, **(optional or {})}
        self.argv = expand_exec_start(command, self.env_values)
        # systemd starts a unit with a nearly empty environment: PATH and the file's values.
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **self.env_values}
        # Each process gets its own working directory, as on its own host.
        self.cwd = cwd / unit.stem
        self.cwd.mkdir()
        self.log = self.cwd / "service.log"
        self._log_handle = self.log.open("wb")
        self.proc = subprocess.Popen(
            self.argv, cwd=self.cwd, env=env, stdout=self._log_handle, stderr=subprocess.STDOUT
        )
        self._wait_listening()

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"{shlex.join(self.argv)} exited {self.proc.returncode}:\n"
                    + self.log.read_text(errors="replace")
                )
            if "listening on" in self.log.read_text(errors="replace"):
                return
            time.sleep(0.1)
        raise AssertionError(f"{shlex.join(self.argv)} did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        """SIGTERM, as the units' KillSignal, and wait."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log_handle.close()


@pytest.fixture
def services() -> Iterator[list[Service]]:
    """Started services; all stopped at the end."""
    started: list[Service] = []
    yield started
    for service in reversed(started):
        service.stop()


def run_example(name: str, cwd: Path, env: Mapping[str, str]) -> str:
    """Run an example as a training job would, with `env` on top of a clean environment."""
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("MODELYARD_", "AWS_", "AZURE_"))
    }
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        cwd=cwd,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def printed_run_id(stdout: str) -> str:
    """The last `run_id: <hex>` line an example printed."""
    found = re.findall(r"run_id: ([0-9a-f]{32})", stdout)
    assert found, stdout
    return found[-1]


def check_logged_states(tracking_uri: str, run_id: str, dst: Path) -> str:
    """The run holds states/data.json and states/features.txt with the example's bytes."""
    client = Client(tracking_uri)
    listed = sorted((f.path, f.is_dir) for f in client.list_artifacts(run_id, "states"))
    assert listed == [("states/data.json", False), ("states/features.txt", False)]
    dst.mkdir(parents=True, exist_ok=True)
    local = Path(client.download_artifacts(run_id, "states", str(dst)))
    assert (local / "features.txt").read_text() == (
        "rooms, zipcode, median_price, school_rating, transport"
    )
    assert '"state": "TX"' in (local / "data.json").read_text()
    return client.get_run(run_id).info.artifact_uri


def s3_env(s3_storage_env: Mapping[str, str]) -> dict[str, str]:
    """The moto credentials under the names the env files use."""
    return {k: s3_storage_env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}


def test_proxied_server_on_s3(
    services: list[Service],
    tmp_path: Path,
    sqlite_uri: str,
    s3_bucket: str,
    s3_storage_env: dict[str, str],
    moto_endpoint: str,
) -> None:
    """Mode 2: modelyard-server.service + server.env; clients reach S3 only through it."""
    port, http_port = free_port(), free_port()
    services.append(
        Service(
            DEPLOY / "modelyard-server.service",
            tmp_path,
            overrides={
                "MODELYARD_BACKEND_STORE_URI": sqlite_uri,
                "MODELYARD_PORT": str(port),
                "MODELYARD_HTTP_PORT": str(http_port),
                "MODELYARD_ARTIFACTS_DESTINATION": f"s3://{s3_bucket}/modelyard",
                **s3_env(s3_storage_env),
            },
            optional={"MODELYARD_S3_ENDPOINT_URL": moto_endpoint},
        )
    )
    uri = f"grpc://127.0.0.1:{port}"
    job = tmp_path / "job"
    job.mkdir()
    # The job has no storage credentials at all.
    run_id = printed_run_id(run_example("log_artifacts.py", job, {"MODELYARD_TRACKING_URI": uri}))
    artifact_uri = check_logged_states(uri, run_id, tmp_path / "dl")
    assert artifact_uri.startswith("modelyard-artifacts:/")
    exp_and_run = artifact_uri.removeprefix("modelyard-artifacts:/")
    assert s3_object_keys(s3_storage_env, s3_bucket) == {
        f"modelyard/{exp_and_run}/states/data.json",
        f"modelyard/{exp_and_run}/states/features.txt",
    }
    # The unit's HTTP port answers /health, and the file the job logged downloads over HTTP.
    base = f"http://127.0.0.1:{http_port}"
    with urllib.request.urlopen(f"{base}/health", timeout=10) as resp:
        assert json.load(resp)["status"] == "SERVING"
    with urllib.request.urlopen(f"{base}/files/{exp_and_run}/states/data.json", timeout=10) as resp:
        assert resp.headers["Content-Disposition"].startswith("attachment")
        assert json.loads(resp.read())


def s3_object_keys(s3_storage_env: Mapping[str, str], bucket: str) -> set[str]:
    """Every key in the bucket, read with boto3 straight from moto."""
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=s3_storage_env["AWS_ENDPOINT_URL"],
        aws_access_key_id=s3_storage_env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=s3_storage_env["AWS_SECRET_ACCESS_KEY"],
        region_name=s3_storage_env.get("AWS_DEFAULT_REGION", "us-east-1"),
    )
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {obj["Key"] for page in pages for obj in page.get("Contents", [])}


def test_split_tracking_and_artifact_servers(
    services: list[Service],
    tmp_path: Path,
    sqlite_uri: str,
    s3_bucket: str,
    s3_storage_env: dict[str, str],
    moto_endpoint: str,
) -> None:
    """Mode 4: deploy/split: a metadata-only tracking server and an --artifacts-only server."""
    tracking_port, artifacts_port = free_port(), free_port()
    services.append(
        Service(
            DEPLOY / "split" / "modelyard-artifacts.service",
            tmp_path,
            overrides={
                "MODELYARD_ARTIFACTS_DESTINATION": f"s3://{s3_bucket}/modelyard",
                "MODELYARD_HOST": "127.0.0.1",
                "MODELYARD_PORT": str(artifacts_port),
                "MODELYARD_HTTP_PORT": str(free_port()),
                **s3_env(s3_storage_env),
            },
            optional={"MODELYARD_S3_ENDPOINT_URL": moto_endpoint},
        )
    )
    services.append(
        Service(
            DEPLOY / "split" / "modelyard-tracking.service",
            tmp_path,
            overrides={
                "MODELYARD_BACKEND_STORE_URI": sqlite_uri,
                "MODELYARD_PORT": str(tracking_port),
                "MODELYARD_HTTP_PORT": str(free_port()),
                "MODELYARD_DEFAULT_ARTIFACT_ROOT": f"modelyard-artifacts://127.0.0.1:{artifacts_port}/",
            },
        )
    )
    uri = f"grpc://127.0.0.1:{tracking_port}"
    job = tmp_path / "job"
    job.mkdir()
    run_id = printed_run_id(run_example("log_artifacts.py", job, {"MODELYARD_TRACKING_URI": uri}))
    artifact_uri = check_logged_states(uri, run_id, tmp_path / "dl")
    prefix = f"modelyard-artifacts://127.0.0.1:{artifacts_port}/"
    assert artifact_uri.startswith(prefix)
    exp_and_run = artifact_uri.removeprefix(prefix)
    assert s3_object_keys(s3_storage_env, s3_bucket) == {
        f"modelyard/{exp_and_run}/states/data.json",
        f"modelyard/{exp_and_run}/states/features.txt",
    }
    # The artifact server opened no metadata database and kept nothing on its disk.
    assert [p.name for p in services[0].cwd.iterdir()] == ["service.log"]


def test_direct_to_bucket_on_azure(
    services: list[Service],
    tmp_path: Path,
    sqlite_uri: str,
    azure_container: str,
    azurite_connection_string: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Mode 3: deploy/direct-to-bucket: the tracking server has no storage credentials at all;
    the job writes to the container with the ones in client.env."""
    port = free_port()
    account = "devstoreaccount1"
    base = f"wasbs://{azure_container}@{account}.blob.core.windows.net"
    services.append(
        Service(
            DEPLOY / "direct-to-bucket" / "modelyard-tracking.service",
            tmp_path,
            overrides={
                "MODELYARD_BACKEND_STORE_URI": sqlite_uri,
                "MODELYARD_HOST": "127.0.0.1",
                "MODELYARD_PORT": str(port),
                "MODELYARD_HTTP_PORT": str(free_port()),
                "MODELYARD_DEFAULT_ARTIFACT_ROOT": f"{base}/default",
                "MODELYARD_ALLOWED_ARTIFACT_ROOT": f"{base}/teams",
            },
        )
    )
    client_env = read_env_file(DEPLOY / "direct-to-bucket" / "client.env")
    assert set(client_env) == {"MODELYARD_TRACKING_URI", "AZURE_STORAGE_CONNECTION_STRING"}
    job_env = {
        "MODELYARD_TRACKING_URI": f"grpc://127.0.0.1:{port}",
        "AZURE_STORAGE_CONNECTION_STRING": azurite_connection_string,
    }
    job = tmp_path / "job"
    job.mkdir()
    run_id = printed_run_id(run_example("log_artifacts.py", job, job_env))
    # Reading back is direct too: this process gets the job's credentials.
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite_connection_string)
    artifact_uri = check_logged_states(job_env["MODELYARD_TRACKING_URI"], run_id, tmp_path / "dl")
    assert artifact_uri.startswith(f"{base}/default/")
    assert blob_names(azurite_connection_string, azure_container) == {
        artifact_uri.removeprefix(f"{base}/") + "/states/data.json",
        artifact_uri.removeprefix(f"{base}/") + "/states/features.txt",
    }
    # A team may name a location under the allowed prefix, and nothing else.
    client = Client(job_env["MODELYARD_TRACKING_URI"])
    team = client.get_experiment(client.create_experiment("team-x", f"{base}/teams/x"))
    assert team.artifact_location == f"{base}/teams/x"
    elsewhere = f"wasbs://{azure_container}@otheraccount.blob.core.windows.net/teams/x"
    with pytest.raises(PermissionDenied, match="otheraccount"):
        client.create_experiment("team-y", elsewhere)


def blob_names(connection_string: str, container: str) -> set[str]:
    """Every blob in the container, read with the Azure SDK straight from Azurite."""
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(connection_string)
    return {b.name for b in service.get_container_client(container).list_blobs()}
