"""`modelyard server --http-port 0` in a subprocess (its address line, the JSON gateway, a clean
stop on SIGTERM, checked at the fixture's teardown), the README's curl flow run with the real
`curl`, and the HTTP flags' parsing."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

import modelyard
from modelyard.cli import cli
from modelyard.entities import ViewType
from modelyard.server.serve import plain_http_warning
from modelyard.server.settings import ServerSettings
from tests.conftest import REPO_ROOT, service_missing

pytestmark = pytest.mark.integration

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
GRPC_LINE = re.compile(r"modelyard server listening on (\S+):(\d+)")
HTTP_LINE = re.compile(r"web UI and JSON gateway on http://([^/\s]+):(\d+)/")


@dataclass
class CliServer:
    """A `modelyard server` subprocess and the addresses it printed."""

    proc: subprocess.Popen[bytes]
    lines: list[str]
    grpc_port: int
    http_port: int
    log: Path

    @property
    def base(self) -> str:
        """http://127.0.0.1:<http port>."""
        return f"http://127.0.0.1:{self.http_port}"

    def stop(self) -> int:
        """SIGTERM; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT_S)
        return self.proc.returncode


def start_cli_server(root: Path, *extra: str) -> CliServer:
    log = root / "server.log"
    with log.open("wb") as stderr:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "modelyard",
                "server",
                "--backend-store-uri",
                f"sqlite:///{root / 'modelyard.db'}",
                "--artifacts-destination",
                str(root / "destination"),
                "--port",
                "0",
                "--http-port",
                "0",
                "--workers",
                "4",
                "--max-watches",
                "1",
                "--grace-seconds",
                "2",
                *extra,
            ],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        )
    lines: list[str] = []
    found: dict[str, int] = {}

    def read() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            lines.append(line)
            if match := GRPC_LINE.search(line):
                found["grpc"] = int(match.group(2))
            if match := HTTP_LINE.search(line):
                found["http"] = int(match.group(2))
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(START_TIMEOUT_S)
    if "http" not in found or "grpc" not in found:
        proc.kill()
        proc.wait(STOP_TIMEOUT_S)
        raise AssertionError(
            f"the server did not print its addresses: {lines} "
            f"{log.read_text(errors='replace')[-3000:]}"
        )
    return CliServer(proc, lines, found["grpc"], found["http"], log)


@pytest.fixture(scope="module")
def cli_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliServer]:
    """One subprocess for the module; at teardown it must stop cleanly on SIGTERM."""
    server = start_cli_server(tmp_path_factory.mktemp("cli-http"))
    try:
        yield server
    finally:
        code = server.stop()
    log = server.log.read_text(errors="replace")
    assert code == 0, log[-3000:]
    assert "server stopped" in log
    assert "Traceback" not in log


def readme_curl_flow() -> str:
    """The README's "JSON with curl" block as a bash script against $BASE.

    Comment lines go; http://127.0.0.1:5000 becomes $BASE; each command's answer is
    followed by a newline, the run id is printed, and the ranged download is shown.
    """
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("**JSON with curl.**", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    script = ["set -euo pipefail"]
    for line in block.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        script.append(line.replace("http://127.0.0.1:5000", "$BASE"))
        if line.endswith("\\"):
            continue
        if line.lstrip().startswith("|"):  # the end of RUN=$(...)
            script.append('echo "$RUN"')
        elif "-o head.bin" in line:
            script += ["cat head.bin", "echo"]
        elif line.startswith(("curl", "echo")):
            script.append("echo")
    return "\n".join(script) + "\n"


def test_cli_prints_the_http_address_and_serves_json(cli_server: CliServer) -> None:
    assert HTTP_LINE.search(cli_server.lines[-1])
    assert f"http://127.0.0.1:{cli_server.http_port}/" in cli_server.lines[-1]
    assert cli_server.http_port not in (0, cli_server.grpc_port)
    # Read-only here: the README flow below expects its experiment to be the first one ("1").
    request = urllib.request.Request(
        f"{cli_server.base}/api/modelyard.v1.TrackingService/SearchExperiments",
        data=b'{"viewType": "VIEW_TYPE_ALL"}',
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        over_json = json.loads(response.read()).get("experiments", [])
    client = modelyard.Client(f"grpc://127.0.0.1:{cli_server.grpc_port}")
    over_grpc = client.search_experiments(view_type=ViewType.ALL)
    assert [e["name"] for e in over_json] == [e.name for e in over_grpc]
    assert [e["experimentId"] for e in over_json] == [e.experiment_id for e in over_grpc]
    with urllib.request.urlopen(f"{cli_server.base}/health", timeout=30) as response:
        assert json.loads(response.read())["status"] == "SERVING"


def test_readme_curl_flow(cli_server: CliServer, tmp_path: Path) -> None:
    if shutil.which("curl") is None or shutil.which("bash") is None:
        service_missing("the curl and bash binaries are needed")
    result = subprocess.run(
        ["bash", "-c", readme_curl_flow()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "BASE": cli_server.base},
    )
    assert result.returncode == 0, (result.stdout, result.stderr)
    lines = result.stdout.splitlines()
    assert len(lines) == 7, lines
    experiment = json.loads(lines[0])["experiment"]
    assert experiment["experimentId"] == "1" and experiment["name"] == "from-curl"
    run_id = lines[1]
    assert re.fullmatch(r"[0-9a-f]{32}", run_id)
    assert json.loads(lines[2]) == {}
    [found] = json.loads(lines[3])["runs"]
    assert found["info"]["runId"] == run_id and found["info"]["runName"] == "first"
    assert found["data"]["metrics"] == [
        {"key": "loss", "value": 0.25, "timestamp": "1795000000000", "step": "3"}
    ]
    error = json.loads(lines[4])["error"]
    assert error["code"] == 400 and error["status"] == "INVALID_ARGUMENT"
    assert error["details"][0]["reason"] == "INVALID_FILTER"
    assert "metrics.loss <" in error["message"]
    uploaded = json.loads(lines[5])
    assert uploaded["path"] == f"1/{run_id}/artifacts/model/MLmodel" and uploaded["size"] == 11
    assert lines[6] == "model"
    # The same run over gRPC.
    client = modelyard.Client(f"grpc://127.0.0.1:{cli_server.grpc_port}")
    assert client.get_run(run_id).data.metrics == {"loss": 0.25}


# -- flag parsing (the server itself replaced) --------------------------------------------------


def parsed(monkeypatch: pytest.MonkeyPatch, *args: str) -> ServerSettings:
    """The ServerSettings `modelyard server <args>` would run with."""
    seen: list[ServerSettings] = []
    monkeypatch.setattr("modelyard.cli.server.serve", seen.append)
    monkeypatch.setattr("modelyard.cli.server.configure_logging", lambda level: None)
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    [settings] = seen
    return settings


def test_http_flags_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = parsed(monkeypatch, "server")
    assert defaults.http_port == 5000
    assert defaults.allowed_hosts == ("localhost", "127.0.0.1", "[::1]")
    assert defaults.cors_allowed_origins == ()
    assert defaults.serve_ui is True

    custom = parsed(
        monkeypatch,
        "server",
        "--http-port",
        "8080",
        "--allowed-hosts",
        "a.example, b.example,,",
        "--cors-allowed-origins",
        "https://app.example.com,http://localhost:3000",
        "--no-serve-ui",
    )
    assert custom.http_port == 8080
    assert custom.allowed_hosts == ("a.example", "b.example")
    assert custom.cors_allowed_origins == ("https://app.example.com", "http://localhost:3000")
    assert custom.serve_ui is False

    assert parsed(monkeypatch, "server", "--no-http").http_port is None
    assert parsed(monkeypatch, "server", "--http-port", "0").http_port == 0
    assert parsed(monkeypatch, "ui", "--allowed-hosts", "*").allowed_hosts == ("*",)

    refused = CliRunner().invoke(cli, ["server", "--http-port", "70000"])
    assert refused.exit_code == 2 and "--http-port" in refused.output


def test_http_host_binds_the_http_port_apart(tmp_path: Path) -> None:
    """--http-host puts the HTTP port on its own interface (here 127.0.0.2, a loopback address
    apart from gRPC's 127.0.0.1): it answers there and not on --host."""
    server = start_cli_server(tmp_path, "--http-host", "127.0.0.2", "--allowed-hosts", "*")
    try:
        assert any("web UI and JSON gateway on http://127.0.0.2:" in line for line in server.lines)
        url = f"http://127.0.0.2:{server.http_port}/health"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert json.loads(response.read())["status"] == "SERVING"
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{server.http_port}/health", timeout=5)
    finally:
        assert server.stop() == 0


def test_http_host_parses_and_a_public_plain_http_port_beside_tls_is_warned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert parsed(monkeypatch, "server").http_host is None
    assert parsed(monkeypatch, "server").resolved_http_host == "127.0.0.1"
    split = parsed(monkeypatch, "server", "--host", "0.0.0.0", "--http-host", "127.0.0.1")
    assert (split.host, split.resolved_http_host) == ("0.0.0.0", "127.0.0.1")

    tls = {"tls_cert": "c.pem", "tls_key": "k.pem"}
    warned = plain_http_warning(ServerSettings(host="0.0.0.0", http_port=5000, **tls))
    assert warned is not None and "0.0.0.0" in warned and "--http-host 127.0.0.1" in warned
    for quiet in (
        ServerSettings(host="0.0.0.0", http_port=5000),  # no TLS: nothing to contrast
        ServerSettings(host="0.0.0.0", http_port=None, **tls),  # no HTTP port
        ServerSettings(host="0.0.0.0", http_host="127.0.0.1", http_port=5000, **tls),
        ServerSettings(host="::1", http_port=5000, **tls),
        ServerSettings(host="localhost", http_port=5000, **tls),
    ):
        assert plain_http_warning(quiet) is None, quiet
    for public in ("10.1.2.3", "tracking.internal", "[2001:db8::1]"):
        assert plain_http_warning(ServerSettings(host=public, http_port=5000, **tls))


def _csrf_cookie(base: str, headers: dict[str, str]) -> str:
    request = urllib.request.Request(f"{base}/", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        cookies = [v for k, v in response.headers.items() if k.lower() == "set-cookie"]
    (cookie,) = [c for c in cookies if c.startswith("modelyard_csrf=")]
    return cookie


def test_a_trusted_proxy_makes_forwarded_https_requests_secure(tmp_path: Path) -> None:
    """With --trusted-proxy 127.0.0.1, a page requested through it over HTTPS sets the CSRF
    cookie Secure; without the option the same forwarded header is not believed."""
    https = {"X-Forwarded-Proto": "https"}
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    trusting = start_cli_server(tmp_path / "a", "--trusted-proxy", "127.0.0.1")
    try:
        assert "Secure" in _csrf_cookie(trusting.base, https)
        assert "Secure" not in _csrf_cookie(trusting.base, {})
    finally:
        assert trusting.stop() == 0
    plain = start_cli_server(tmp_path / "b")
    try:
        assert "Secure" not in _csrf_cookie(plain.base, https)
    finally:
        assert plain.stop() == 0
