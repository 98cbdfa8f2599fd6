"""Every fenced block of every docs/*.md page runs, so the docs cannot rot.

One test per page. A page's blocks run in order in one scratch folder (the test's tmp_path),
with the test venv's bin first on PATH (so `python` and `modelyard` are the ones under test),
HOME set to the scratch folder and no MODELYARD_* variable unless a block sets one.

Fence kinds (the info string after the backticks; anything else fails the page):

- ```python: run as `python -c <block>`; a non-zero exit fails the page.
- ```bash: run as `bash -euo pipefail -c <block>`. A bash block whose one command is
  `modelyard server ...` or `modelyard ui ...` starts that server in the background instead,
  on free ports (`--port 0 --http-port 0` replace the written ones, `--host 127.0.0.1` the
  written host); every later block of the page sees 127.0.0.1:<written port> and
  localhost:<written port> rewritten to the real ones (50051 and 5000 when the block names
  none). A page may start several servers on different written ports. Each is stopped with
  SIGTERM at the end of the page and must exit 0.
- ```bash install: the install commands, checked textually against the README's set-up
  command rather than run (scripts/test.sh performs that install on every CI run); an
  optional `source .venv/bin/activate` is what the harness's PATH already does. An install
  of extras (`.venv/bin/pip install -e '.[postgres,s3]'`) may name only extras that the
  `dev` extra pulls in, which scripts/test.sh installs.
- ```text and ```console: output shown to the reader, not run.

Deployment pages name the reader's site with fixed placeholder names (SITE below: a database
on `db-host`, the bucket `ml-artifacts`, the Azure account `mlteamstore`, the hosts
`tracking.internal` and `artifacts.internal`). The harness maps each one a page uses to a
stand-in on this machine (a fresh PostgreSQL database, a bucket on a moto server, a container
on Azurite, 127.0.0.1) before running a block, and gives every process the stand-in S3
endpoint the way a site's DNS would. A server started with `--no-serve-artifacts` gets no
storage credentials at all, which is the claim of those modes.

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
import tomllib
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
    for line in script.replace("\\\n", " ").splitlines():
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


def dev_extras() -> set[str]:
    """The extras that the `dev` extra pulls in (scripts/test.sh installs `.[dev]`)."""
    with (REPO_ROOT / "pyproject.toml").open("rb") as f:
        optional = tomllib.load(f)["project"]["optional-dependencies"]
    found = set()
    for requirement in optional["dev"]:
        if nested := re.fullmatch(r"modelyard\[([\w,\s-]+)\]", requirement):
            found |= {name.strip() for name in nested.group(1).split(",")}
    return found


EXTRAS_INSTALL = re.compile(r"^(?:\.venv/bin/)?pip install -e '\.\[([\w,-]+)\]'$")


def check_install(block: Block) -> None:
    """A `bash install` block is the README's install (then activation) or an extras install."""
    parts = commands(block.body)
    if parts and parts[-1] == ACTIVATE:
        parts = parts[:-1]
    if len(parts) == 1 and (extras := EXTRAS_INSTALL.match(parts[0])):
        named = set(extras.group(1).split(","))
        assert named <= dev_extras(), (
            f"line {block.line}: extras {sorted(named - dev_extras())} are not in the dev "
            f"extra, so CI does not install them"
        )
        return
    assert parts == readme_install(), (
        f"line {block.line}: a `bash install` block must be the README's set-up install "
        f"{readme_install()} (optionally then {ACTIVATE!r}) or `pip install -e '.[extras]'`, "
        f"got {parts}"
    )


@dataclass(frozen=True)
class ServerBlock:
    """A block that only starts a server: the argv to run and the ports the page wrote."""

    argv: list[str]
    grpc_port: int
    http_port: int | None


def server_command(block: Block) -> ServerBlock | None:
    """The server a block starts, on free ports and the loopback host; None for other blocks."""
    parts = commands(block.body)
    if len(parts) != 1 or not SERVER_COMMAND.match(parts[0]):
        return None
    argv = shlex.split(parts[0])
    written = {"--port": str(DEFAULT_GRPC_PORT), "--http-port": str(DEFAULT_HTTP_PORT)}
    kept: list[str] = []
    args = iter(argv)
    for arg in args:
        name, eq, value = arg.partition("=")
        if name in ("--port", "--http-port", "--host"):
            written[name] = value if eq else next(args)
            continue
        kept.append(arg)
    no_http = "--no-http" in kept
    return ServerBlock(
        argv=[
            *kept,
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            *([] if no_http else ["--http-port", "0"]),
        ],
        grpc_port=int(written["--port"]),
        http_port=None if no_http else int(written["--http-port"]),
    )


@dataclass
class Server:
    """A server a page started: its process, the ports the page wrote, the real ones, output."""

    process: subprocess.Popen[str]
    written: ServerBlock
    grpc_port: int
    http_port: int | None
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


def start_server(spec: ServerBlock, cwd: Path, env: dict[str, str]) -> Server:
    """Start a server block; wait for its "listening on" (and HTTP) lines; note the real ports."""
    argv = spec.argv
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
    grpc_port: int | None = None
    http_port: int | None = None
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while grpc_port is None or (http_port is None and spec.http_port is not None):
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
    return Server(process, spec, grpc_port, http_port, output)


def rewrite_ports(text: str, servers: list[Server]) -> str:
    """The page's written addresses replaced by the running servers' real ones."""
    mapping = {s.written.grpc_port: s.grpc_port for s in servers}
    mapping |= {s.written.http_port: s.http_port for s in servers if s.http_port is not None}
    if not mapping:
        return text
    ports = "|".join(str(p) for p in mapping)
    return re.sub(
        rf"\b(127\.0\.0\.1|localhost):({ports})(?!\d)",
        lambda m: f"{m.group(1)}:{mapping[int(m.group(2))]}",
        text,
    )


# -- the reader's site, and its stand-ins here --------------------------------------------------

SITE_DATABASE = "postgresql+psycopg://modelyard@db-host/modelyard"
SITE_BUCKET = "s3://ml-artifacts/"
SITE_CONTAINER = "wasbs://artifacts@mlteamstore.blob.core.windows.net/"
SITE_AZURE_CONNECTION = (
    "DefaultEndpointsProtocol=https;AccountName=mlteamstore;AccountKey=<account key>;"
    "EndpointSuffix=core.windows.net"
)
SITE_HOSTS = ("tracking.internal", "artifacts.internal")
STORAGE_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AZURE_STORAGE_")


@dataclass
class Site:
    """What a page's placeholder names stand for on this machine, and the stand-ins' env."""

    replacements: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    def apply(self, text: str) -> str:
        """A block's text with the reader's site names replaced by the stand-ins."""
        for name, stand_in in self.replacements.items():
            text = text.replace(name, stand_in)
        return text


def site_for(text: str, request: pytest.FixtureRequest) -> Site:
    """The stand-ins a page needs: only the fixtures for the names its text uses are started."""
    site = Site()
    if SITE_DATABASE in text:
        site.replacements[SITE_DATABASE] = request.getfixturevalue("postgres_uri")
    if SITE_BUCKET in text:
        bucket = request.getfixturevalue("s3_bucket")
        site.replacements[SITE_BUCKET] = f"s3://{bucket}/"
        endpoint = request.getfixturevalue("moto_endpoint")
        site.env |= {"AWS_ENDPOINT_URL": endpoint, "AWS_EC2_METADATA_DISABLED": "true"}
    if SITE_CONTAINER in text or SITE_AZURE_CONNECTION in text:
        container = request.getfixturevalue("azure_container")
        site.replacements[SITE_CONTAINER] = (
            f"wasbs://{container}@devstoreaccount1.blob.core.windows.net/"
        )
        site.replacements[SITE_AZURE_CONNECTION] = request.getfixturevalue(
            "azurite_connection_string"
        )
    for host in SITE_HOSTS:
        site.replacements[host] = "127.0.0.1"
    return site


def server_env(spec: ServerBlock, env: dict[str, str]) -> dict[str, str]:
    """A server that does not serve artifacts starts with no storage credentials at all."""
    if "--no-serve-artifacts" not in spec.argv:
        return env
    bare = {k: v for k, v in env.items() if not k.startswith(STORAGE_CREDENTIALS)}
    # nor the shared AWS files a page may have written into HOME for another server
    return bare | {"AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_CONFIG_FILE": os.devnull}


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
    default = ServerBlock([], DEFAULT_GRPC_PORT, DEFAULT_HTTP_PORT)
    proxy = ServerBlock([], 50052, None)
    servers = [
        Server(None, default, grpc_port=40001, http_port=40002),  # type: ignore[arg-type]
        Server(None, proxy, grpc_port=40003, http_port=None),  # type: ignore[arg-type]
    ]
    assert rewrite_ports(
        "grpc://127.0.0.1:50051 http://localhost:5000/ :50052 127.0.0.1:50052 :50001", servers
    ) == ("grpc://127.0.0.1:40001 http://localhost:40002/ :50052 127.0.0.1:40003 :50001")
    block = Block("bash", "modelyard ui --host 0.0.0.0 \\\n  --port 1 --http-port=2\n", 1)
    assert server_command(block) == ServerBlock(
        ["modelyard", "ui", "--host", "127.0.0.1", "--port", "0", "--http-port", "0"], 1, 2
    )
    assert server_command(Block("bash", "modelyard server --no-http\n", 1)) == ServerBlock(
        ["modelyard", "server", "--no-http", "--host", "127.0.0.1", "--port", "0"], 50051, None
    )
    assert server_command(Block("bash", "modelyard ui\nls\n", 1)) is None


def test_install_blocks() -> None:
    check_install(Block(INSTALL_KIND, "python3 -m venv .venv && .venv/bin/pip install -e .\n", 1))
    check_install(Block(INSTALL_KIND, ".venv/bin/pip install -e '.[postgres,s3]'\n", 1))
    with pytest.raises(AssertionError, match="not in the dev extra"):
        check_install(Block(INSTALL_KIND, "pip install -e '.[gpu]'\n", 1))
    with pytest.raises(AssertionError, match="set-up install"):
        check_install(Block(INSTALL_KIND, "pip install modelyard\n", 1))


@pytest.mark.parametrize("doc", PAGES)
def test_page_blocks_run(doc: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    scratch = tmp_path
    text = (DOCS / doc).read_text(encoding="utf-8")
    site = site_for(text, request)
    env = page_env(scratch) | site.env
    servers: list[Server] = []
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
            body = rewrite_ports(site.apply(block.body), servers)
            spec = server_command(Block(block.kind, body, block.line))
            if block.kind == "bash" and spec is not None:
                taken = {p for s in servers for p in (s.written.grpc_port, s.written.http_port)}
                clash = {spec.grpc_port, spec.http_port} & taken - {None}
                assert not clash, f"{doc} line {block.line}: a second server on ports {clash}"
                servers.append(start_server(spec, scratch, server_env(spec, env)))
                continue
            run_block(block, body, scratch, env)
        if doc == "quickstart.md":
            assert servers, "the quickstart starts a server"
            # The session's browser, asked for only here: other pages need no Chromium.
            browser = request.getfixturevalue("chromium_browser")
            check_quickstart_run_visible(servers[0], scratch, browser)
    finally:
        codes = [(server, server.stop()) for server in reversed(servers)]
        for server, code in codes:
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


# -- links between the pages ------------------------------------------------------------------

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """The anchors of a Markdown page's headings (outside fenced blocks)."""
    found: set[str] = set()
    in_fence = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and line.startswith("#"):
            found.add(slug(line.lstrip("#")))
    return found


@pytest.mark.parametrize("doc", [*PAGES, "../README.md", "../deploy/README.md"])
def test_links_resolve(doc: str) -> None:
    """Every relative link of a page names a file that exists, and a heading that exists."""
    page = (DOCS / doc).resolve()
    text = "\n".join(
        line
        for line in page.read_text(encoding="utf-8").splitlines()
        if not line.startswith("    ")
    )
    broken = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists() or (
            anchor and linked.suffix == ".md" and anchor not in anchors(linked)
        ):
            broken.append(target)
    assert not broken, f"{doc}: links to nothing: {broken}"
