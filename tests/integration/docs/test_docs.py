"""Every fenced block of every docs/*.md page runs, so the docs cannot rot.

One test per page. A page's blocks run in order in one scratch folder (the test's tmp_path),
with the test venv's bin first on PATH (so `python` and `modelyard` are the ones under test),
HOME set to the scratch folder and no MODELYARD_* variable unless a block sets one.

Fence kinds (the info string after the backticks; anything else fails the page):

- ```python: run as `python -c <block>`; a non-zero exit fails the page.
- ```bash: run as `bash -euo pipefail -c <block>`. A bash block whose one command is
  `modelyard server ...` or `modelyard ui ...` starts that server in the background instead,
  on free ports (`--port 0 --http-port 0` replace the written ones); every later block of the
  page sees 127.0.0.1:50051 / localhost:50051 and 127.0.0.1:5000 / localhost:5000 rewritten
  to the real ports. The server is stopped with SIGTERM at the end of the page and must exit 0.
- ```bash install: the install commands, checked textually against the README's set-up
  command rather than run (scripts/test.sh performs that install on every CI run); an
  optional `source .venv/bin/activate` is what the harness's PATH already does.
- ```text and ```console: output shown to the reader, not run.

After the quickstart's blocks the harness also checks, over the JSON gateway and in headless
Chromium, that the run the page logged is visible in the UI.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration

DOCS = REPO_ROOT / "docs"
VENV_BIN = Path(sys.executable).parent
RUN_KINDS = ("python", "bash")
OUTPUT_KINDS = ("text", "console")
INSTALL_KIND = "bash install"
BLOCK_TIMEOUT_S = 60.0
SERVER_START_TIMEOUT_S = 30.0
DEFAULT_GRPC_PORT, DEFAULT_HTTP_PORT = 50051, 5000
ACTIVATE = "source .venv/bin/activate"
FENCE = re.compile(r"^(`{3,}|~{3,})(.*)$")
SERVER_COMMAND = re.compile(r"^modelyard\s+(server|ui)(\s|$)")


@dataclass(frozen=True)
class Block:
    """One fenced block: its info string, its text and the line its fence opens on."""

    kind: str
    body: str
    line: int


def blocks(text: str) -> list[Block]:
    """The fenced blocks of a Markdown page, in order (fences at the start of a line)."""
    found: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence, kind = opening.group(1), opening.group(2).strip()
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not (
            lines[j].startswith(fence[0] * len(fence)) and not lines[j].strip(fence[0]).strip()
        ):
            body.append(lines[j])
            j += 1
        assert j < len(lines), f"line {i + 1}: unclosed fence"
        found.append(Block(kind, "\n".join(body) + "\n", i + 1))
        i = j + 1
    return found


def commands(script: str) -> list[str]:
    """The commands of a shell snippet: comments and blank lines dropped, split on `&&`."""
    out: list[str] = []
    for line in script.splitlines():
        line = line.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            out += [part.strip() for part in line.split("&&")]
    return out


def readme_install() -> list[str]:
    """The install part of the README's "Set-up: two commands" (everything but the server)."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Set-up: two commands", 1)[1]
    setup = next(line for line in section.splitlines() if line.startswith("    python3 -m venv"))
    parts = commands(setup)
    assert parts[-1].endswith("modelyard server"), parts
    return parts[:-1]


def check_install(block: Block) -> None:
    """A `bash install` block is the README's install, optionally followed by activation."""
    parts = commands(block.body)
    if parts and parts[-1] == ACTIVATE:
        parts = parts[:-1]
    assert parts == readme_install(), (
        f"line {block.line}: a `bash install` block must be the README's set-up install "
        f"{readme_install()} (optionally then {ACTIVATE!r}), got {parts}"
    )


def server_command(block: Block) -> list[str] | None:
    """The argv of a block that only starts a server, with its ports made free; else None."""
    parts = commands(block.body)
    if len(parts) != 1 or not SERVER_COMMAND.match(parts[0]):
        return None
    argv = shlex.split(parts[0])
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in ("--port", "--http-port"):
            skip = True
            continue
        if arg.startswith(("--port=", "--http-port=")):
            continue
        kept.append(arg)
    return [*kept, "--port", "0", "--http-port", "0"]


@dataclass
class Server:
    """A server a page started: its process, real ports and output."""

    process: subprocess.Popen[str]
    grpc_port: int
    http_port: int
    output: list[str] = field(default_factory=list)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode


def start_server(argv: list[str], cwd: Path, env: dict[str, str]) -> Server:
    """Start argv; wait for its "listening on" and HTTP lines; return the real ports."""
    process = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    output: list[str] = []

    def pump() -> None:  # drains the pipe so the server never blocks on it
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, name="docs-server-stdout", daemon=True).start()
    grpc_port = http_port = None
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while grpc_port is None or http_port is None:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            line = None
        if line is None:
            process.kill()
            process.wait(5)
            pytest.fail(f"`{shlex.join(argv)}` did not start: {''.join(output)}", pytrace=False)
        if found := re.search(r"listening on \S*:(\d+)\s*$", line):
            grpc_port = int(found.group(1))
        if found := re.search(r"web UI and JSON gateway on http://\S+:(\d+)/?\s*$", line):
            http_port = int(found.group(1))
    return Server(process, grpc_port, http_port, output)


def rewrite_ports(text: str, server: Server | None) -> str:
    """The page's default addresses replaced by the running server's real ones."""
    if server is None:
        return text
    for port, real in (
        (DEFAULT_GRPC_PORT, server.grpc_port),
        (DEFAULT_HTTP_PORT, server.http_port),
    ):
        text = re.sub(rf"\b(127\.0\.0\.1|localhost):{port}(?!\d)", rf"\g<1>:{real}", text)
    return text


def page_env(scratch: Path) -> dict[str, str]:
    """The environment a reader has after the install: the venv first on PATH, no MODELYARD_*."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MODELYARD_", "MLFLOW_")) and k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(scratch)
    env["VIRTUAL_ENV"] = str(VENV_BIN.parent)
    # the checkout itself, whatever the strict editable link tree holds (as the UI tests do)
    env["PYTHONPATH"] = str(REPO_ROOT)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_block(block: Block, body: str, scratch: Path, env: dict[str, str]) -> str:
    """Run one python or bash block; fail the page with its output on a non-zero exit."""
    if block.kind == "python":
        argv = [str(VENV_BIN / "python"), "-c", body]
    else:
        argv = ["bash", "-euo", "pipefail", "-c", body]
    proc = subprocess.run(
        argv,
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT_S,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"the {block.kind} block at line {block.line} exited {proc.returncode}\n"
            f"--- block ---\n{body}--- stdout ---\n{proc.stdout}--- stderr ---\n{proc.stderr}",
            pytrace=False,
        )
    return proc.stdout


PAGES = sorted(p.name for p in DOCS.glob("*.md"))


def test_the_docs_have_pages() -> None:
    assert {"README.md", "quickstart.md", "filter-language.md", "migrating-from-mlflow.md"} <= set(
        PAGES
    )


def test_the_index_links_every_page() -> None:
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    for name in PAGES:
        if name != "README.md":
            assert f"]({name})" in index, f"docs/README.md does not link {name}"


def test_block_parsing_and_port_rewriting() -> None:
    text = "a\n```python\nx = 1\n```\n\n````text\n```\n````\n```bash install\nls\n```\n"
    assert blocks(text) == [
        Block("python", "x = 1\n", 2),
        Block("text", "```\n", 6),
        Block("bash install", "ls\n", 9),
    ]
    server = Server(process=None, grpc_port=40001, http_port=40002)  # type: ignore[arg-type]
    assert rewrite_ports("grpc://127.0.0.1:50051 http://localhost:5000/ :50052 :50001", server) == (
        "grpc://127.0.0.1:40001 http://localhost:40002/ :50052 :50001"
    )
    assert server_command(Block("bash", "modelyard ui --port 1 --http-port=2\n", 1)) == [
        "modelyard",
        "ui",
        "--port",
        "0",
        "--http-port",
        "0",
    ]
    assert server_command(Block("bash", "modelyard ui\nls\n", 1)) is None


@pytest.mark.parametrize("doc", PAGES)
def test_page_blocks_run(doc: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    scratch = tmp_path
    text = (DOCS / doc).read_text(encoding="utf-8")
    env = page_env(scratch)
    server: Server | None = None
    try:
        for block in blocks(text):
            if block.kind in OUTPUT_KINDS:
                continue
            if block.kind == INSTALL_KIND:
                check_install(block)
                continue
            assert block.kind in RUN_KINDS, (
                f"{doc} line {block.line}: fence kind {block.kind!r} is neither run "
                f"({', '.join(RUN_KINDS)}), checked ({INSTALL_KIND!r}) nor output "
                f"({', '.join(OUTPUT_KINDS)})"
            )
            argv = server_command(block) if block.kind == "bash" else None
            if argv is not None:
                assert server is None, f"{doc} line {block.line}: a second server"
                server = start_server(argv, scratch, env)
                continue
            run_block(block, rewrite_ports(block.body, server), scratch, env)
        if doc == "quickstart.md":
            assert server is not None, "the quickstart starts a server"
            # The session's browser, asked for only here: other pages need no Chromium.
            browser = request.getfixturevalue("chromium_browser")
            check_quickstart_run_visible(server, scratch, browser)
    finally:
        if server is not None:
            code = server.stop()
            assert code == 0, f"the server exited {code}: {''.join(server.output)[-3000:]}"


# -- the quickstart's run, seen as a user sees it ---------------------------------------------

QUICKSTART_EXPERIMENT = "quickstart"
QUICKSTART_RUN = "first-run"


def gateway(server: Server, method: str, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.http_port}/api/modelyard.v1.TrackingService/{method}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def check_quickstart_run_visible(server: Server, scratch: Path, browser: Any) -> None:
    """The quickstart's run is in the server: over the gateway, then on the UI's runs page."""
    experiment = gateway(server, "GetExperimentByName", {"name": QUICKSTART_EXPERIMENT})
    experiment_id = experiment["experiment"]["experimentId"]  # type: ignore[index]
    found = gateway(server, "SearchRuns", {"experimentIds": [experiment_id]})
    runs = found.get("runs", [])
    assert [r["info"]["runName"] for r in runs] == [QUICKSTART_RUN], found  # type: ignore[index]
    run = runs[0]  # type: ignore[index]
    assert {m["key"] for m in run["data"]["metrics"]} == {"loss", "accuracy"}
    assert run["data"]["params"] == {"lr": "0.01", "epochs": "5"}
    assert run["data"]["tags"]["team"] == "vision"
    assert (scratch / "modelyard.db").exists()  # the embedded default, in the folder
    stored = scratch / "mlartifacts" / experiment_id / run["info"]["runId"] / "artifacts"
    assert (stored / "notes.txt").read_text() == "trained on the quickstart's data\n"
    page = browser.new_page()
    try:
        page.set_default_timeout(20_000)
        page.goto(f"http://127.0.0.1:{server.http_port}/experiments/{experiment_id}")
        row = page.locator('[data-testid="run-row"]')
        row.first.wait_for()
        assert row.count() == 1
        assert QUICKSTART_RUN in row.first.inner_text()
    finally:
        page.close()
