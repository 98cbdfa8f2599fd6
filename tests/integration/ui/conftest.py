"""Browser tests of the web UI: one seeded server subprocess and one Chromium per session.

The server is the real CLI (`modelyard server`, gRPC and HTTP on free ports, SQLite and a
local artifact destination in a temporary folder), seeded once through the gRPC client. Each
test gets a fresh browser context and page (`ui` / `page`) that records console errors,
uncaught exceptions, CSP violations and dialogs and fails the test at teardown on any it did
not declare. Chromium is Debian's /usr/bin/chromium (never `playwright install`); when it or
Playwright is missing the tests skip locally and fail in CI.
"""

from __future__ import annotations

import contextlib
import getpass
import glob
import io
import json
import math
import os
import queue
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT

VIEWPORT = {"width": 1280, "height": 800}
DEFAULT_TIMEOUT_MS = 20_000
SERVER_START_TIMEOUT_S = 60.0
SEED_THREADS = 4

DEMO_EXPERIMENT = "ui-demo"
MANY_EXPERIMENT = "ui-many"
FORMULA_EXPERIMENT = "ui-formulas"
DELETED_EXPERIMENT = "ui-deleted"
MODEL_NAME = "ui-model"
XSS_RUN_NAME = "<img src=x onerror=alert(1)>"
XSS_TAG_VALUE = "<script>alert(1)</script>"
DEMO_RUNS = 30
MANY_RUNS = 250
HISTORY_STEPS = 200
OPTIMIZERS = ("adam", "sgd", "rmsprop")
FEATURES = ["alpha_feature", "beta_feature", "gamma_feature"]

# Artifact files of the artifact run (path relative to the run's artifact root -> bytes).
TEXT_ARTIFACT = "notes.txt"
BINARY_ARTIFACT = "blob.bin"
SVG_ARTIFACT = "drawing.svg"
HTML_ARTIFACT = "page.html"
TEXT_CONTENT = "modelyard ui test notes\nsecond line: <b>not bold</b>\n"


# -- server ---------------------------------------------------------------------------------


@dataclass
class UiServer:
    """The running server subprocess: its addresses and folders."""

    process: subprocess.Popen[str]
    grpc_uri: str
    base_url: str
    root: Path
    log_path: Path
    output: list[str] = field(default_factory=list)
    seeding: Future[Seed] | None = None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not stop within 15 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _server_command() -> list[str]:
    script = Path(sys.executable).parent / "modelyard"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "modelyard"]


def _server_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MODELYARD_", "MLFLOW_", "AWS_")) and k != "PYTHONPATH"
    }
    # the checkout itself, whatever the strict editable link tree holds (a static file added
    # since the last `pip install -e` has no link there yet)
    env["PYTHONPATH"] = str(REPO_ROOT)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_ui_server(root: Path) -> UiServer:
    """Start `modelyard server` on free ports under `root`; parse the addresses it prints."""
    log_path = root / "server.log"
    cmd = [
        *_server_command(),
        "server",
        "--host",
        "127.0.0.1",
        "--backend-store-uri",
        f"sqlite:///{root / 'ui.db'}",
        "--port",
        "0",
        "--http-port",
        "0",
        "--artifacts-destination",
        str(root / "art"),
    ]
    log = log_path.open("w")
    process = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        cwd=root,
        env=_server_env(),
    )
    log.close()
    assert process.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    output: list[str] = []

    def pump() -> None:  # keeps draining stdout so the server never blocks on a full pipe
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, name="ui-server-stdout", daemon=True).start()
    grpc_port: str | None = None
    http_url: str | None = None
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while grpc_port is None or http_url is None:
        remaining = deadline - time.monotonic()
        try:
            line = lines.get(timeout=max(remaining, 0.01))
        except queue.Empty:
            line = None
        if line is None:
            process.kill()
            process.wait(5)
            raise RuntimeError(
                f"`{' '.join(cmd)}` did not print its addresses (exit {process.returncode}); "
                f"stdout: {''.join(output)!r}; log: {log_path.read_text()[-3000:]}"
            )
        found = re.search(r"listening on \S*:(\d+)\s*$", line)
        if found:
            grpc_port = found.group(1)
        found = re.search(r"web UI and JSON gateway on (http://\S+?)/?\s*$", line)
        if found:
            http_url = found.group(1)
    return UiServer(
        process=process,
        grpc_uri=f"grpc://127.0.0.1:{grpc_port}",
        base_url=http_url,
        root=root,
        log_path=log_path,
        output=output,
    )


# -- seed data ------------------------------------------------------------------------------


@dataclass
class Seed:
    """What the session's server holds (ids the tests navigate to and check against)."""

    demo_experiment_id: str = ""
    demo_run_ids: list[str] = field(default_factory=list)
    """The 30 plain runs of ui-demo, run-00 … run-29 (run-i has a final loss ≈ 0.12 + 0.05 i)."""
    parents: dict[str, list[str]] = field(default_factory=dict)
    """Parent run id -> its nested child run ids (all in ui-demo)."""
    xss_run_id: str = ""
    artifact_run_id: str = ""
    artifacts: dict[str, bytes] = field(default_factory=dict)
    """Artifact path (relative to the run's root) -> content, for the files logged directly."""
    model_versions: list[str] = field(default_factory=list)
    deleted_experiment_id: str = ""
    many_experiment_id: str = ""
    many_run_ids: list[str] = field(default_factory=list)
    formula_experiment_id: str = ""
    formula_values: list[str] = field(default_factory=list)
    """Param values / run names of ui-formulas that a spreadsheet would run as formulas."""
    description_run_id: str = ""


def _loss_curve(final: float, steps: int) -> list[float]:
    return [final + (2.0 - final) * math.exp(-s / 40.0) for s in range(steps)]


def _metric_batch(run_index: int, final_loss: float, base_ms: int) -> list[Any]:
    from modelyard.entities import Metric

    points = []
    for step, loss in enumerate(_loss_curve(final_loss, HISTORY_STEPS)):
        ts = base_ms + step * 100
        points.append(Metric("loss", loss, ts, step))
        points.append(Metric("accuracy", 1.0 - loss / 2.5 + 0.001 * (run_index % 7), ts, step))
    return points


def _png_bytes() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (160, 100), (245, 245, 250))
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 10, 150, 90), outline=(40, 90, 200), width=3)
    draw.line((10, 90, 150, 10), fill=(220, 60, 60), width=3)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _artifact_files() -> dict[str, bytes]:
    rows = ["epoch,loss,accuracy"]
    rows += [f"{i},{0.9 / (i + 1):.4f},{0.5 + i / 40:.3f}" for i in range(10)]
    random_bytes = random.Random(20261123).randbytes(300 * 1024)
    return {
        TEXT_ARTIFACT: TEXT_CONTENT.encode(),
        "config.json": json.dumps({"lr": 0.01, "layers": [64, 32], "name": "<b>x</b>"}).encode(),
        "config.yaml": b"lr: 0.01\nlayers:\n  - 64\n  - 32\noptimizer: adam\n",
        "metrics.csv": ("\n".join(rows) + "\n").encode(),
        "plot.png": _png_bytes(),
        BINARY_ARTIFACT: random_bytes,
        SVG_ARTIFACT: (
            b'<svg xmlns="http://www.w3.org/2000/svg" width="80" height="80">'
            b'<script>alert("svg")</script><circle id="svg-pwned" cx="40" cy="40" r="30"/></svg>'
        ),
        HTML_ARTIFACT: (
            b'<!doctype html><html><body><h1 id="html-pwned">pwned</h1>'
            b'<script>alert("html")</script></body></html>'
        ),
    }


def seed_server(grpc_uri: str, scratch: Path) -> Seed:
    """Fill the server through the gRPC client and the fluent API (see the module docstring)."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    import modelyard
    import modelyard.sklearn
    from modelyard.client import tracking_uri as tracking_uri_module
    from modelyard.entities import Metric, Param, RunTag

    seed = Seed()
    client = modelyard.Client(grpc_uri)
    user = getpass.getuser()
    now = int(time.time() * 1000)
    base = now - 3_600_000

    # ui-demo: 30 runs with params and 200-step histories, oldest first
    seed.demo_experiment_id = client.create_experiment(DEMO_EXPERIMENT)
    exp = seed.demo_experiment_id

    def demo_run(i: int) -> str:
        start = base + i * 60_000
        run_id = client.create_run(
            exp, start_time=start, run_name=f"run-{i:02d}", tags={"mlflow.user": user}
        ).info.run_id
        params = [
            Param("lr", str(round(0.001 * (i + 1), 4))),
            Param("depth", str(2 + i % 5)),
            Param("optimizer", OPTIMIZERS[i % 3]),
        ]
        client.log_batch(run_id, metrics=_metric_batch(i, 0.12 + 0.05 * i, start), params=params)
        client.set_terminated(run_id, "FINISHED", end_time=start + 30_000)
        return run_id

    with ThreadPoolExecutor(SEED_THREADS) as pool:
        seed.demo_run_ids = list(pool.map(demo_run, range(DEMO_RUNS)))
    seed.description_run_id = seed.demo_run_ids[3]

    # two parents with nested children (fluent API: mlflow.parentRunId via nested=True)
    previous_uri = tracking_uri_module._explicit_uri
    modelyard.set_tracking_uri(grpc_uri)
    try:
        for p in range(2):
            with modelyard.start_run(experiment_id=exp, run_name=f"parent-{p}") as parent:
                parent_id = parent.info.run_id
                modelyard.log_params({"lr": "0.05", "depth": "4", "optimizer": "adam"})
                modelyard.log_metrics({"loss": 0.3 + 0.1 * p, "accuracy": 0.8})
                seed.parents[parent_id] = []
                for c in range(2):
                    with modelyard.start_run(
                        experiment_id=exp, run_name=f"parent-{p}-child-{c}", nested=True
                    ) as child:
                        modelyard.log_params({"lr": f"0.0{c + 1}", "depth": str(3 + c)})
                        modelyard.log_metric("loss", 0.25 + 0.1 * c + 0.1 * p)
                        seed.parents[parent_id].append(child.info.run_id)

        # the run whose name and tag are markup
        with modelyard.start_run(experiment_id=exp, run_name=XSS_RUN_NAME) as run:
            seed.xss_run_id = run.info.run_id
            modelyard.set_tag("markup", XSS_TAG_VALUE)
            modelyard.log_param("optimizer", XSS_TAG_VALUE)
            modelyard.log_metric("loss", 0.9)

        # the run with artifacts of every kind and a logged sklearn model
        with modelyard.start_run(experiment_id=exp, run_name="artifacts-run") as run:
            seed.artifact_run_id = run.info.run_id
            modelyard.log_params({"lr": "0.02", "depth": "3", "optimizer": "sgd"})
            modelyard.log_metric("loss", 0.7)
            files = scratch / "artifact-files"
            files.mkdir()
            seed.artifacts = _artifact_files()
            for name, content in seed.artifacts.items():
                (files / name).write_bytes(content)
                client.log_artifact(seed.artifact_run_id, files / name)
            frame = pd.DataFrame(
                np.arange(30, dtype="float64").reshape(10, 3) / 10.0, columns=FEATURES
            )
            model = LinearRegression().fit(frame, frame.sum(axis=1))
            modelyard.sklearn.log_model(model, name="model", input_example=frame.head(3))
    finally:
        modelyard.set_tracking_uri(previous_uri)

    client.create_registered_model(MODEL_NAME, description="UI test model")
    source = f"runs:/{seed.artifact_run_id}/model"
    for _ in range(2):
        version = client.create_model_version(MODEL_NAME, source, run_id=seed.artifact_run_id)
        seed.model_versions.append(str(version.version))

    # an experiment that is deleted
    seed.deleted_experiment_id = client.create_experiment(DELETED_EXPERIMENT)
    client.delete_experiment(seed.deleted_experiment_id)

    # formula-looking values for the CSV export
    seed.formula_experiment_id = client.create_experiment(FORMULA_EXPERIMENT)
    seed.formula_values = ["=1+2", "+3+4", "-5+6", "@SUM(A1)", "\tTAB", '=HYPERLINK("x")']
    for i, value in enumerate(seed.formula_values):
        run = client.create_run(
            seed.formula_experiment_id, start_time=base + i * 1000, run_name=f"formula-{i}"
        )
        client.log_batch(
            run.info.run_id,
            params=[Param("formula", value), Param("plain", f'a,"b" {i}')],
            tags=[RunTag("kind", value)],
        )

    # 250 runs for paging, one log_batch each
    seed.many_experiment_id = client.create_experiment(MANY_EXPERIMENT)

    def many_run(i: int) -> str:
        start = base + i * 1000
        run_id = client.create_run(
            seed.many_experiment_id, start_time=start, run_name=f"many-{i:03d}"
        ).info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric("loss", 1.0 / (i + 1), start, 0)],
            params=[Param("index", str(i))],
        )
        return run_id

    with ThreadPoolExecutor(SEED_THREADS) as pool:
        seed.many_run_ids = list(pool.map(many_run, range(MANY_RUNS)))
    return seed


# -- browser --------------------------------------------------------------------------------


COLUMN_VALUES_JS = """([key, rootsOnly]) => {
  const header = document.querySelector(`[data-testid="sort-${CSS.escape(key)}"]`);
  if (!header) return null;
  const box = (header.closest("th") || header).getBoundingClientRect();
  const x = (box.left + box.right) / 2;
  const rows = [...document.querySelectorAll('[data-testid="run-row"]')];
  const onPage = new Set(rows.map((r) => r.dataset.runId));
  return rows
    .filter((row) => !rootsOnly || !onPage.has(row.dataset.parentRunId || ""))
    .map((row) => {
      if (!row.getClientRects().length) return null;
      for (const cell of row.children) {
        const r = cell.getBoundingClientRect();
        if (r.left <= x && x < r.right) return cell.textContent.trim();
      }
      return null;
    });
}"""


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")


class UiPage:
    """One test's browser page plus what it saw: console errors, page errors, dialogs."""

    def __init__(self, page: Any, base_url: str, shots: Path, test_name: str) -> None:
        self.page = page
        self.base_url = base_url
        self.shots = shots
        self.test_name = _safe_name(test_name)
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.dialogs: list[str] = []
        self.allowed: list[re.Pattern[str]] = []
        self.accept_confirms = False
        self.screenshots: list[Path] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        page.on("dialog", self._on_dialog)

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            location = message.location or {}
            self.console_errors.append(f"{message.text} (at {location.get('url', '?')})")

    def _on_dialog(self, dialog: Any) -> None:
        if self.accept_confirms and dialog.type == "confirm":
            dialog.accept()
            return
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def allow_console_error(self, pattern: str) -> None:
        """Declare a console error this test expects (regex searched in the message)."""
        self.allowed.append(re.compile(pattern))

    def url(self, path: str) -> str:
        """The absolute URL of a path on the server."""
        return self.base_url + path

    def goto(self, path: str) -> Any:
        """Load a page of the UI (a full page load) and wait until its DOM is ready."""
        return self.page.goto(self.url(path), wait_until="domcontentloaded")

    def tid(self, testid: str) -> Any:
        """A locator by data-testid."""
        return self.page.locator(f'[data-testid="{testid}"]')

    def shot(self, step: str) -> Path:
        """Save a full-page screenshot as test-output/ui/<test name>-<step>.png."""
        path = self.shots / f"{self.test_name}-{_safe_name(step)}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.screenshots.append(path)
        return path

    def wait_for(self, expression: str, arg: Any = None, timeout_ms: int | None = None) -> bool:
        """Wait until a JS predicate holds; False on timeout (the test then asserts why)."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_function(
                expression, arg=arg, timeout=timeout_ms or DEFAULT_TIMEOUT_MS
            )
        except PlaywrightTimeout:
            return False
        return True

    def run_ids(self, visible_only: bool = False) -> list[str]:
        """data-run-id of the runs table's rows, top to bottom."""
        return self.page.evaluate(
            """(visibleOnly) => [...document.querySelectorAll('[data-testid="run-row"]')]
                .filter((r) => !visibleOnly || r.getClientRects().length > 0)
                .map((r) => r.dataset.runId)""",
            visible_only,
        )

    def column_values(self, key: str, roots_only: bool = False) -> list[str | None]:
        """Text of each run row's cell under the header `sort-<key>` (matched by position).

        The contract names the header, not the cells, so the cell is the one of the row whose
        horizontal extent contains the header's centre; None for rows not laid out (hidden).
        roots_only drops the rows listed under a parent that is on the page.
        """
        return self.page.evaluate(COLUMN_VALUES_JS, [key, roots_only])

    def select(self, locator: Any, text: str) -> None:
        """Choose the <option> whose value or label is `text` (case-insensitive).

        Waits for such an option first: pages fill their selects from the server.
        """
        wanted = text.lower()
        locator.wait_for()
        handle = locator.element_handle()
        self.wait_for(
            """([select, wanted]) => [...select.options].some((o) =>
                 o.value.toLowerCase() === wanted || o.label.trim().toLowerCase() === wanted)""",
            [handle, wanted],
        )
        options = locator.locator("option").evaluate_all(
            "(os) => os.map((o) => ({value: o.value, label: o.label}))"
        )
        for option in options:
            if wanted in (option["value"].lower(), option["label"].strip().lower()):
                locator.select_option(value=option["value"])
                return
        raise AssertionError(f"no option {text!r} in the select; it has {options}")

    def problems(self) -> list[str]:
        """Everything the page reported that the test did not declare."""
        unexpected = [
            f"console error: {text}"
            for text in self.console_errors
            if not any(p.search(text) for p in self.allowed)
        ]
        csp = [p for p in unexpected if "Content Security Policy" in p]
        return (
            [f"CSP violation: {p}" for p in csp]
            + [p for p in unexpected if p not in csp]
            + [f"uncaught exception: {text}" for text in self.page_errors]
            + [f"dialog opened: {text}" for text in self.dialogs]
        )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remember each phase's report on the item, so fixtures can tell a failed test."""
    report = yield
    setattr(item, f"ui_report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    """The `modelyard server` subprocess (SQLite + local artifacts), stopped after the session.

    Seeding starts at once in a background thread (`seed` waits for it), so it overlaps the
    browser's launch.
    """
    server = start_ui_server(tmp_path_factory.mktemp("ui-server"))
    pool = ThreadPoolExecutor(1, thread_name_prefix="ui-seed")
    server.seeding = pool.submit(seed_server, server.grpc_uri, tmp_path_factory.mktemp("ui-seed"))
    try:
        yield server
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        server.stop()


@pytest.fixture(scope="session")
def seed(ui_server: UiServer) -> Seed:
    """The seeded contents of the session's server."""
    assert ui_server.seeding is not None
    return ui_server.seeding.result(timeout=300)


@pytest.fixture(scope="session")
def grpc_client(ui_server: UiServer) -> Any:
    """A modelyard.Client on the session's server, for reading back what the UI changed."""
    import modelyard

    return modelyard.Client(ui_server.grpc_uri)


@pytest.fixture(scope="session")
def ui_shots_dir(test_output_dir: Path) -> Path:
    """test-output/ui/, where every screenshot goes."""
    out = test_output_dir / "ui"
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture
def ui(
    request: pytest.FixtureRequest,
    browser_available: None,
    ui_server: UiServer,
    chromium_browser: Any,
    seed: Seed,
    ui_shots_dir: Path,
) -> Iterator[UiPage]:
    """A fresh 1280x800 page; at teardown fails on console errors, exceptions, dialogs."""
    context = chromium_browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    session = UiPage(page, ui_server.base_url, ui_shots_dir, request.node.name)
    for stale in ui_shots_dir.glob(f"{glob.escape(session.test_name)}-*.png"):
        stale.unlink()  # a passing rerun leaves no old failure screenshot behind
    try:
        yield session
        call_report = getattr(request.node, "ui_report_call", None)
        if call_report is not None and call_report.failed:
            with contextlib.suppress(Exception):  # the page may be gone; the failure counts
                session.shot("failure")
        problems = session.problems()
        if problems:
            pytest.fail(
                "the page reported problems:\n  "
                + "\n  ".join(problems)
                + f"\nscreenshots: {[str(p) for p in session.screenshots]}",
                pytrace=False,
            )
    finally:
        context.close()


@pytest.fixture
def page(ui: UiPage) -> Any:
    """The Playwright page of `ui` (overrides pytest-playwright's, with the same checks)."""
    return ui.page
