"""The web UI and JSON gateway scenarios of the bench (issue 5), run in a workload subprocess.

    .venv/bin/python -m bench.ui --system modelyard --uri grpc://127.0.0.1:P \
        --scenario ui_runs_page --json --params '{"http": "http://127.0.0.1:H"}'

Each function has the workload signature `(api, uri, params) -> result`; `params["http"]` is
the server's HTTP origin (modelyard's --http-port, MLflow's only port) and `params["target"]`
the system behind it. Their clients are a browser and raw HTTP/gRPC connections, not the
system's Python client, so bench/run.py runs them in its own interpreter (the project's venv,
which has Playwright) for MLflow too; only `seed_ui` runs in the system's own venv.

- 17 `ui_runs_page`: headless Chromium (Playwright driving /usr/bin/chromium) opens the runs
  page of an experiment of 10,000 runs; the value is the time from navigation start to the
  animation frame in which the first 100 rows are in the DOM (`wait_for_function` polled every
  frame); the page's `modelyard:rows` mark is reported beside it. The first load of the one
  browser context is the cold load; then 3 warm-ups and 20 measured loads, each a fresh page
  (the HTTP cache of a returning user).
- 18 `ui_metric_chart`: the run page of a run with a 100,000-point metric; from the click on
  the metric's row (stamped in the page by a capture-phase mousedown listener) to the next
  `modelyard:chart-drawn` mark, p50 of 10 loads; plus the time of the history calls with
  maxPoints=1000 (GetMetricHistoryBulk, and GetMetricHistory, which the run page calls for its
  one run) over a keep-alive HTTP connection.
- 19 `gateway_overhead`: one SearchRuns page (100 runs with their params, metrics and tags) over
  gRPC (the generated stub, one channel) and over the JSON gateway (http.client keep-alive,
  json.loads of the body included), the calls alternating one by one; overhead =
  p50_json / p50_grpc - 1. Also the in-process cost of the steps only one path has and, when
  over target (or asked), a py-spy profile of the server for each transport.

MLflow: the same page loads against its React UI (`/#/experiments/<id>/runs`, to its first 100
grid rows), its `get-history-bulk-interval` with 1,000 points (the call its charts make) and
`POST /api/2.0/mlflow/runs/search` (no gRPC twin: the figure compared is the JSON search).

The data is seeded in-process on the SQLite file before the server starts (`seed_ui`).
Only the standard library is imported at load time (this runs in either venv).
"""

from __future__ import annotations

import http.client
import json
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import workload
from bench.workload import Api, percentile

UI_EXPERIMENT = "bench-ui"
CHART_EXPERIMENT = "bench-ui-chart"
CHART_KEY = "loss"
CHART_MAX_POINTS = 1000
PAGE_ROWS = 100
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TRACKING = "modelyard.v1.TrackingService"
SEARCH_PATH = f"/api/{TRACKING}/SearchRuns"
HISTORY_PATH = f"/api/{TRACKING}/GetMetricHistoryBulk"
SINGLE_HISTORY_PATH = f"/api/{TRACKING}/GetMetricHistory"
MLFLOW_SEARCH_PATH = "/api/2.0/mlflow/runs/search"
MLFLOW_HISTORY_PATH = "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval"
#: the JSON overhead above which the gateway's server is profiled (scenario 19's target).
OVERHEAD_TARGET_PCT = 20.0

MODELS = ("cnn", "rnn", "mlp", "transformer", "gbm")
OPTIMIZERS = ("sgd", "adam", "adamw")
DATASETS = ("mnist", "cifar10", "imdb")


# -- seeding -----------------------------------------------------------------------------------


def seed_ui(api: Api, uri: str, p: dict[str, Any]) -> dict[str, Any]:
    """Seed UI_EXPERIMENT with n runs (5 params, 5 metrics, 3 tags, a name) and
    CHART_EXPERIMENT with one run whose metric CHART_KEY has `chart_points` points.

    Runs in-process on a sqlite:/// URI before the server starts (fsync off while seeding).
    """
    import random

    n, points = int(p.get("runs", 10_000)), int(p.get("chart_points", 100_000))
    if uri.startswith("sqlite:"):
        workload._sqlite_no_fsync()
    rng = random.Random(5)
    client = api.Client(tracking_uri=uri)
    t0 = time.perf_counter()
    if n:
        exp_id = client.create_experiment(UI_EXPERIMENT)
        base_ts = workload.now_ms() - n * 1000
        for i in range(n):
            ts = base_ts + i * 1000
            run_id = client.create_run(exp_id, start_time=ts, run_name=f"run-{i:05d}").info.run_id
            m = api.Metric
            client.log_batch(
                run_id,
                metrics=[
                    m(key="acc", value=rng.random(), timestamp=ts, step=0),
                    m(key="loss", value=rng.random() * 3, timestamp=ts, step=0),
                    m(key="f1", value=rng.random(), timestamp=ts, step=0),
                    m(key="precision", value=rng.random(), timestamp=ts, step=0),
                    m(key="recall", value=rng.random(), timestamp=ts, step=0),
                ],
                params=[
                    api.Param(key="model", value=MODELS[i % len(MODELS)]),
                    api.Param(key="lr", value=str(rng.choice([0.1, 0.01, 0.001]))),
                    api.Param(key="batch_size", value=str(rng.choice([16, 32, 64, 128]))),
                    api.Param(key="optimizer", value=rng.choice(OPTIMIZERS)),
                    api.Param(key="dropout", value=str(rng.choice([0.0, 0.1, 0.3, 0.5]))),
                ],
                tags=[
                    api.RunTag(key="team", value=f"team-{i % 5}"),
                    api.RunTag(key="stage", value="dev"),
                    api.RunTag(key="dataset", value=DATASETS[i % len(DATASETS)]),
                ],
            )
            client.set_terminated(run_id, end_time=ts + 500)
            if i and i % 1000 == 0:
                rate = i / (time.perf_counter() - t0)
                print(f"seeded {i}/{n} runs ({rate:.0f} runs/s)", file=sys.stderr, flush=True)
    runs_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    if points:
        chart_exp = client.create_experiment(CHART_EXPERIMENT)
        run_id = client.create_run(chart_exp, run_name="chart-100k").info.run_id
        ts = workload.now_ms()
        for start in range(0, points, 1000):
            client.log_batch(
                run_id,
                metrics=[
                    api.Metric(key=CHART_KEY, value=_curve(s), timestamp=ts + s, step=s)
                    for s in range(start, min(points, start + 1000))
                ],
            )
        client.log_batch(
            run_id,
            metrics=[api.Metric(key="acc", value=0.9, timestamp=ts, step=0)],
            params=[api.Param(key="lr", value="0.01")],
        )
        client.set_terminated(run_id)
    return workload._result(
        0.0,
        "s",
        [],
        runs=n,
        chart_points=points,
        runs_seconds=runs_s,
        chart_seconds=time.perf_counter() - t1,
    )


def _curve(step: int) -> float:
    """A noisy decaying loss (deterministic), so a chart has structure to draw."""
    return 2.0 / (1.0 + step / 2000.0) + 0.05 * ((step * 7919) % 101) / 101.0


def _ids(system: str, origin: str) -> tuple[str | None, str | None]:
    """(experiment id of UI_EXPERIMENT, run id of the chart run) over the system's JSON API;
    None where not seeded."""
    conn = JsonConnection(origin)
    try:
        if system == "modelyard":

            def exp_id(name: str) -> str | None:
                try:
                    got = conn.post(f"/api/{TRACKING}/GetExperimentByName", {"name": name})
                except HttpError as exc:
                    if exc.status == 404:
                        return None
                    raise
                return str(got["experiment"]["experimentId"])

            def first_run(exp: str) -> str | None:
                got = conn.post(SEARCH_PATH, {"experimentIds": [exp], "pageSize": 1})
                runs = got.get("runs", [])
                return str(runs[0]["info"]["runId"]) if runs else None
        else:

            def exp_id(name: str) -> str | None:
                try:
                    got = conn.get(
                        f"/api/2.0/mlflow/experiments/get-by-name?experiment_name={name}"
                    )
                except HttpError as exc:
                    if exc.status == 404:
                        return None
                    raise
                return str(got["experiment"]["experiment_id"])

            def first_run(exp: str) -> str | None:
                got = conn.post(MLFLOW_SEARCH_PATH, {"experiment_ids": [exp], "max_results": 1})
                runs = got.get("runs", [])
                return str(runs[0]["info"]["run_id"]) if runs else None

        exp = exp_id(UI_EXPERIMENT)
        chart = exp_id(CHART_EXPERIMENT)
        return exp, (first_run(chart) if chart else None)
    finally:
        conn.close()


def _target(api: Api, p: dict[str, Any]) -> tuple[str, str]:
    """(system under test, its HTTP origin): these scenarios' clients are a browser or raw
    HTTP/gRPC connections, so they run in the bench's own interpreter for either system."""
    return str(p.get("target", api.system)), str(p["http"]).rstrip("/")


# -- HTTP helpers ------------------------------------------------------------------------------


class HttpError(RuntimeError):
    """A non-200 answer."""

    def __init__(self, status: int, message: str) -> None:
        """Keep the status."""
        super().__init__(message)
        self.status = status


class JsonConnection:
    """One keep-alive HTTP/1.1 connection posting JSON (what a script or a proxy would do)."""

    def __init__(self, origin: str) -> None:
        """Connect to http://host:port."""
        parts = urlsplit(origin)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        """POST a JSON body; return the decoded JSON answer (raises on a non-200 status)."""
        data = json.dumps(body).encode()
        self.conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
        resp = self.conn.getresponse()
        raw = resp.read()
        if resp.status != 200:
            raise HttpError(resp.status, f"POST {path} -> {resp.status}: {raw[:500]!r}")
        return json.loads(raw)

    def get(self, path: str) -> Any:
        """GET; return the decoded JSON answer (raises on a non-200 status)."""
        self.conn.request("GET", path)
        resp = self.conn.getresponse()
        raw = resp.read()
        if resp.status != 200:
            raise HttpError(resp.status, f"GET {path} -> {resp.status}: {raw[:500]!r}")
        return json.loads(raw)

    def text(self, path: str) -> str:
        """GET a text resource."""
        self.conn.request("GET", path)
        resp = self.conn.getresponse()
        return resp.read().decode("utf-8", "replace")

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


def _timed(fn: Callable[[], Any], n: int) -> list[float]:
    out: list[float] = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000.0)
    return out


def _stats(values: Sequence[float]) -> dict[str, float]:
    vals = [v for v in values if v is not None]
    if not vals:
        return {"p50": float("nan"), "p95": float("nan"), "min": float("nan"), "n": 0}
    return {
        "p50": percentile(vals, 50),
        "p95": percentile(vals, 95),
        "min": min(vals),
        "max": max(vals),
        "n": len(vals),
    }


# -- the browser -------------------------------------------------------------------------------


class Browser:
    """Headless Chromium through Playwright; one context (one HTTP cache) at a time."""

    def __init__(self) -> None:
        """Launch the system's Chromium."""
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        self.browser = self._pw.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        self.version = self.browser.version
        self.context = self.browser.new_context(viewport={"width": 1400, "height": 900})
        self.errors: list[str] = []

    def page(self) -> Any:
        """A fresh page in the current context, collecting page errors."""
        page = self.context.new_page()
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"[:500]))
        page.on(
            "console",
            lambda msg: (
                self.errors.append(f"console.{msg.type}: {msg.text}"[:500])
                if msg.type == "error"
                else None
            ),
        )
        return page

    def close(self) -> None:
        """Close the browser and stop Playwright."""
        try:
            self.browser.close()
        finally:
            self._pw.stop()


NAV_TIMING_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0] || {};
  const api = performance.getEntriesByType('resource')
    .filter((e) => e.name.includes('/api/') || e.name.includes('/ajax-api/'))
    .map((e) => ({name: e.name.replace(/^.*\\/(api|ajax-api)\\//, ''), start: e.startTime,
                  end: e.responseEnd, bytes: e.encodedBodySize}));
  const all = performance.getEntriesByType('resource');
  const pageModule = all.find((e) => e.name.includes('/static/js/pages/'));
  return {
    page_module_end: pageModule ? pageModule.responseEnd : null,
    response_end: nav.responseEnd, dom_content_loaded: nav.domContentLoadedEventEnd,
    load_end: nav.loadEventEnd || null, api,
    resources: all.length,
    transfer_bytes: all.reduce((s, e) => s + (e.transferSize || 0), 0)
      + (nav.transferSize || 0),
  };
}"""

MARK_JS = """(name) => {
  const e = performance.getEntriesByName(name);
  return e.length ? e[0].startTime : null;
}"""

#: a row counter polled every animation frame; resolves to performance.now() of that frame.
MODELYARD_ROWS_JS = """(n) => {
  const got = document.querySelectorAll('[data-testid="run-row"]').length;
  return got >= n ? performance.now() : false;
}"""

#: MLflow's runs table is an ag-grid; it renders every row of its 100-run page (its footer
#: says "100 matching runs"): count the distinct row ids of the grid's center container.
MLFLOW_ROWS_JS = """(n) => {
  const ids = new Set();
  document.querySelectorAll('.ag-center-cols-container .ag-row[row-id]')
    .forEach((r) => ids.add(r.getAttribute('row-id')));
  return ids.size >= n ? performance.now() : false;
}"""


def _load_once(
    browser: Browser, url: str, rows_js: str, rows: int, mark: str | None, timeout_ms: float
) -> dict[str, Any]:
    page = browser.page()
    try:
        page.goto(url, wait_until="commit", timeout=timeout_ms)
        shown = page.wait_for_function(rows_js, arg=rows, polling="raf", timeout=timeout_ms)
        rows_ms = float(shown.json_value())
        mark_ms = page.evaluate(MARK_JS, mark) if mark else None
        timing = page.evaluate(NAV_TIMING_JS)
    finally:
        page.close()
    return {"rows_ms": rows_ms, "mark_ms": mark_ms, **timing}


def ui_runs_page(api: Api, uri: str, p: dict[str, Any]) -> dict[str, Any]:
    """ms from navigation start to the first 100 rows of the runs page (10,000 runs)."""
    system, origin = _target(api, p)
    loads, warmups = int(p.get("loads", 20)), int(p.get("warmups", 3))
    timeout_ms = float(p.get("timeout_s", 60)) * 1000.0
    exp_id, _run = _ids(system, origin)
    if exp_id is None:
        raise RuntimeError(f"experiment {UI_EXPERIMENT!r} not seeded")
    if system == "modelyard":
        url, rows_js, mark = f"{origin}/experiments/{exp_id}", MODELYARD_ROWS_JS, "modelyard:rows"
    else:
        url, rows_js, mark = f"{origin}/#/experiments/{exp_id}/runs", MLFLOW_ROWS_JS, None
    browser = Browser()
    try:
        try:
            cold = _load_once(browser, url, rows_js, PAGE_ROWS, mark, timeout_ms)
        except Exception as exc:
            raise RuntimeError(f"{url}: {exc}; page errors: {browser.errors[:5]}") from exc
        for _ in range(warmups):
            _load_once(browser, url, rows_js, PAGE_ROWS, mark, timeout_ms)
        measured = [
            _load_once(browser, url, rows_js, PAGE_ROWS, mark, timeout_ms) for _ in range(loads)
        ]
        version = browser.version
        errors = list(browser.errors)
    finally:
        browser.close()
    rows = _stats([m["rows_ms"] for m in measured])
    marks = _stats([m["mark_ms"] for m in measured if m.get("mark_ms") is not None])
    phases = {
        "document_response_end": _stats([m["response_end"] for m in measured]),
        "dom_content_loaded": _stats([m["dom_content_loaded"] for m in measured]),
        "page_module_loaded": _stats([m.get("page_module_end") for m in measured]),
        "search_request_start": _stats([_search_entry(m, "start") for m in measured]),
        "search_response_end": _stats([_search_entry(m, "end") for m in measured]),
        "rows_after_search_response": _stats(
            [m["rows_ms"] - (_search_entry(m, "end") or m["rows_ms"]) for m in measured]
        ),
    }
    return workload._result(
        rows["p50"],
        "ms",
        [m["rows_ms"] for m in measured],
        p95_ms=rows["p95"],
        mark_p50_ms=marks["p50"],
        mark_p95_ms=marks["p95"],
        cold_ms=cold["rows_ms"],
        cold_mark_ms=cold.get("mark_ms"),
        cold_transfer_bytes=cold.get("transfer_bytes"),
        warm_transfer_bytes=statistics.median(m["transfer_bytes"] for m in measured),
        phases_p50_ms={k: v["p50"] for k, v in phases.items()},
        api_calls=[a["name"] for a in measured[-1].get("api", [])],
        loads=loads,
        warmups=warmups,
        url=url.replace(origin, ""),
        chromium=version,
        page_errors=errors[:10],
        detail=measured,
    )


def _search_entry(m: dict[str, Any], key: str) -> float | None:
    for a in m.get("api", []):
        if "SearchRuns" in a["name"] or "runs/search" in a["name"]:
            return float(a[key])
    return None


# -- 18: a 100,000-point metric chart ----------------------------------------------------------


CLICK_STAMP_JS = """() => {
  window.__benchClickAt = null;
  document.addEventListener('mousedown', () => {
    if (window.__benchClickAt === null) window.__benchClickAt = performance.now();
  }, {capture: true});
}"""

CHART_DRAWN_JS = """() => {
  const t0 = window.__benchClickAt;
  if (t0 === null || t0 === undefined) return false;
  const marks = performance.getEntriesByName('modelyard:chart-drawn')
    .filter((m) => m.startTime >= t0);
  if (!marks.length) return false;
  const chart = document.querySelector('[data-testid="metric-chart"][data-drawn="true"]')
    || document.querySelector('[data-testid="compare-chart"][data-drawn="true"]');
  return {click: t0, drawn: marks[0].startTime, ms: marks[0].startTime - t0,
          points: chart ? Number(chart.dataset.points) : null,
          series: chart ? Number(chart.dataset.series) : null};
}"""


def _chart_once(browser: Browser, url: str, key: str, timeout_ms: float) -> dict[str, Any]:
    page = browser.page()
    try:
        page.goto(url, wait_until="load", timeout=timeout_ms)
        row = page.locator(f'[data-testid="metric-row"][data-key="{key}"]')
        row.wait_for(state="visible", timeout=timeout_ms)
        page.wait_for_load_state("networkidle", timeout=timeout_ms)
        page.evaluate(CLICK_STAMP_JS)
        row.click(timeout=timeout_ms)
        done = page.wait_for_function(CHART_DRAWN_JS, polling="raf", timeout=timeout_ms)
        out = dict(done.json_value())
        out["api"] = page.evaluate(NAV_TIMING_JS)["api"]
    finally:
        page.close()
    return out


def _history_calls(conn: JsonConnection, system: str, run_id: str) -> dict[str, Callable[[], int]]:
    """The history calls to time, by name; each returns the number of points it got."""

    def post(path: str, body: dict[str, Any], bulk: bool) -> Callable[[], int]:
        def call() -> int:
            got = conn.post(path, body)
            history = got["histories"][0] if bulk else got.get("history", {})
            return len(history.get("values", []))

        return call

    if system != "modelyard":
        path = (
            f"{MLFLOW_HISTORY_PATH}?run_ids={run_id}&metric_key={CHART_KEY}"
            f"&max_results={CHART_MAX_POINTS}"
        )
        return {"bulk": lambda: len(conn.get(path).get("metrics", []))}
    one = {"runId": run_id, "metricKey": CHART_KEY}
    return {
        # what the issue names (the compare page's call) ...
        "bulk": post(
            HISTORY_PATH,
            {"runIds": [run_id], "metricKey": CHART_KEY, "maxPoints": CHART_MAX_POINTS},
            True,
        ),
        # ... what the run page calls for its one run, and the whole history for scale
        "single": post(SINGLE_HISTORY_PATH, {**one, "maxPoints": CHART_MAX_POINTS}, False),
        "full": post(SINGLE_HISTORY_PATH, one, False),
    }


def _time_history(calls: dict[str, Callable[[], int]], n: int) -> dict[str, Any]:
    """p50/p95 ms and points of each history call (an error is kept, not raised)."""
    out: dict[str, Any] = {}
    for name, call in calls.items():
        count = 3 if name == "full" else n
        try:
            points = call()
            call()
            lat = _timed(call, count)
        except Exception as exc:
            out[f"{name}_error"] = f"{type(exc).__name__}: {exc}"[:400]
            continue
        out[f"{name}_p50_ms"] = percentile(lat, 50)
        out[f"{name}_p95_ms"] = percentile(lat, 95)
        out[f"{name}_points"] = points
    return out


def ui_metric_chart(api: Api, uri: str, p: dict[str, Any]) -> dict[str, Any]:
    """ms from a click on a 100,000-point metric to its chart drawn; the history call's time."""
    system, origin = _target(api, p)
    clicks, history_n = int(p.get("clicks", 10)), int(p.get("history_calls", 20))
    timeout_ms = float(p.get("timeout_s", 60)) * 1000.0
    _exp, run_id = _ids(system, origin)
    if run_id is None:
        raise RuntimeError(f"experiment {CHART_EXPERIMENT!r} not seeded")
    conn = JsonConnection(origin)
    try:
        hist = _time_history(_history_calls(conn, system, run_id), history_n)
    finally:
        conn.close()
    # the figure compared with MLflow's get-history-bulk-interval: the bulk call, or the
    # single-run one when the bulk call failed
    used = "bulk" if "bulk_p50_ms" in hist else "single"
    extra: dict[str, Any] = {
        **hist,
        "history_call": used,
        "history_p50_ms": hist.get(f"{used}_p50_ms"),
        "run_id": run_id,
    }
    if system != "modelyard":
        # The click-to-chart path of MLflow's UI is not scripted here (its charts are a
        # different page flow); the figure compared is the history call its charts make.
        if extra["history_p50_ms"] is None:
            raise RuntimeError(hist.get("bulk_error", "history call failed"))
        return workload._result(extra["history_p50_ms"], "ms", [], browser=False, **extra)
    url = f"{origin}/runs/{run_id}"
    browser = Browser()
    try:
        try:
            first = _chart_once(browser, url, CHART_KEY, timeout_ms)
        except Exception as exc:
            raise RuntimeError(f"{url}: {exc}; page errors: {browser.errors[:5]}") from exc
        measured = [_chart_once(browser, url, CHART_KEY, timeout_ms) for _ in range(clicks)]
        errors = list(browser.errors)
    finally:
        browser.close()
    ms = [m["ms"] for m in measured]
    return workload._result(
        percentile(ms, 50),
        "ms",
        ms,
        p95_ms=percentile(ms, 95),
        first_ms=first["ms"],
        points_drawn=measured[-1].get("points"),
        series=measured[-1].get("series"),
        clicks=clicks,
        page_errors=errors[:10],
        detail=measured,
        **extra,
    )


# -- 19: JSON gateway overhead over gRPC -------------------------------------------------------


def _grpc_search(uri: str, exp_id: str, page_size: int) -> tuple[Callable[[], int], Any]:
    from modelyard.client.channel import create_channel
    from modelyard.v1 import tracking_pb2 as pb
    from modelyard.v1 import tracking_pb2_grpc as pb_grpc

    channel = create_channel(uri)
    stub = pb_grpc.TrackingServiceStub(channel)
    request = pb.SearchRunsRequest(experiment_ids=[exp_id], page_size=page_size)

    def call() -> int:
        return len(stub.SearchRuns(request, timeout=60).runs)

    return call, channel


def _json_search(
    conn: JsonConnection, system: str, exp_id: str, page_size: int
) -> Callable[[], int]:
    if system == "modelyard":
        body: dict[str, Any] = {"experimentIds": [exp_id], "pageSize": page_size}

        def call() -> int:
            return len(conn.post(SEARCH_PATH, body).get("runs", []))
    else:
        body = {"experiment_ids": [exp_id], "max_results": page_size}

        def call() -> int:
            return len(conn.post(MLFLOW_SEARCH_PATH, body).get("runs", []))

    return call


def _server_means(conn: JsonConnection) -> dict[str, tuple[float, float]]:
    """(sum seconds, count) of SearchRuns handling per transport, from /metrics."""
    out: dict[str, tuple[float, float]] = {}
    text = conn.text("/metrics")
    for line in text.splitlines():
        if not line.startswith("modelyard_request_duration_seconds_") or "SearchRuns" not in line:
            continue
        name, _, value = line.rpartition(" ")
        transport = "grpc" if 'transport="grpc"' in name else "http"
        s, c = out.get(transport, (0.0, 0.0))
        if name.startswith("modelyard_request_duration_seconds_sum"):
            out[transport] = (s + float(value), c)
        elif name.startswith("modelyard_request_duration_seconds_count"):
            out[transport] = (s, c + float(value))
    return out


def _breakdown(uri: str, exp_id: str, page_size: int, body: bytes) -> dict[str, float]:
    """In-process ms per call of the steps only the JSON path has (and their gRPC twins)."""
    from modelyard.client.channel import create_channel
    from modelyard.gateway.codec import message_to_dict, message_to_json, parse_request
    from modelyard.v1 import tracking_pb2 as pb
    from modelyard.v1 import tracking_pb2_grpc as pb_grpc

    channel = create_channel(uri)
    try:
        stub = pb_grpc.TrackingServiceStub(channel)
        resp = stub.SearchRuns(pb.SearchRunsRequest(experiment_ids=[exp_id], page_size=page_size))
    finally:
        channel.close()
    wire = resp.SerializeToString()
    req_body = json.dumps({"experimentIds": [exp_id], "pageSize": page_size}).encode()
    n = 50

    def p50(fn: Callable[[], Any]) -> float:
        fn()
        return percentile(_timed(fn, n), 50)

    as_dict = message_to_dict(resp)
    return {
        "server_encode_proto_to_json_ms": p50(lambda: message_to_json(resp)),
        "server_encode_dict_only_ms": p50(lambda: message_to_dict(resp)),
        "server_json_dumps_ms": p50(
            lambda: json.dumps(as_dict, separators=(",", ":"), ensure_ascii=False).encode()
        ),
        "server_parse_json_request_ms": p50(lambda: parse_request(req_body, pb.SearchRunsRequest)),
        "client_json_loads_ms": p50(lambda: json.loads(body)),
        "grpc_serialize_ms": p50(resp.SerializeToString),
        "grpc_client_parse_ms": p50(lambda: pb.SearchRunsResponse.FromString(wire)),
        "json_bytes": float(len(body)),
        "proto_bytes": float(len(wire)),
    }


def gateway_overhead(api: Api, uri: str, p: dict[str, Any]) -> dict[str, Any]:
    """Overhead (%) of SearchRuns (100 runs) over the JSON gateway against the same gRPC call."""
    system, origin = _target(api, p)
    n, rounds = int(p.get("n", 200)), int(p.get("rounds", 4))
    warmup, page_size = int(p.get("warmup", 20)), int(p.get("page_size", PAGE_ROWS))
    exp_id, _run = _ids(system, origin)
    if exp_id is None:
        raise RuntimeError(f"experiment {UI_EXPERIMENT!r} not seeded")
    conn = JsonConnection(origin)
    json_call = _json_search(conn, system, exp_id, page_size)
    if system != "modelyard":
        try:
            got = json_call()
            if got != page_size:
                raise RuntimeError(f"search returned {got} runs, expected {page_size}")
            _timed(json_call, warmup)
            lat = _timed(json_call, n)
        finally:
            conn.close()
        return workload._result(
            percentile(lat, 50),
            "ms",
            lat,
            json_p50_ms=percentile(lat, 50),
            json_p95_ms=percentile(lat, 95),
            n=n,
            page_size=page_size,
        )
    grpc_call, channel = _grpc_search(uri, exp_id, page_size)
    try:
        for call in (grpc_call, json_call):
            got = call()
            if got != page_size:
                raise RuntimeError(f"search returned {got} runs, expected {page_size}")
            _timed(call, warmup)
        before = _server_means(conn)
        # Calls alternate one by one (the pair's order flips each time), so both transports
        # see the same machine even when its load drifts; the rounds are the repetitions.
        calls = {"grpc": grpc_call, "json": json_call}
        lat: dict[str, list[float]] = {"grpc": [], "json": []}
        per_round: list[float] = []
        pairs = max(1, n // rounds)
        for _r in range(rounds):
            got_round: dict[str, list[float]] = {"grpc": [], "json": []}
            for i in range(pairs):
                for name in ("grpc", "json") if i % 2 == 0 else ("json", "grpc"):
                    t0 = time.perf_counter()
                    calls[name]()
                    got_round[name].append((time.perf_counter() - t0) * 1000.0)
            for name, values in got_round.items():
                lat[name] += values
            per_round.append(
                (percentile(got_round["json"], 50) / percentile(got_round["grpc"], 50) - 1) * 100
            )
        after = _server_means(conn)
        conn.conn.request(
            "POST",
            SEARCH_PATH,
            body=json.dumps({"experimentIds": [exp_id], "pageSize": page_size}).encode(),
            headers={"Content-Type": "application/json"},
        )
        body = conn.conn.getresponse().read()
    finally:
        channel.close()
        conn.close()
    g50, j50 = percentile(lat["grpc"], 50), percentile(lat["json"], 50)
    overhead = (j50 / g50 - 1.0) * 100.0
    server = {
        t: ((after[t][0] - before.get(t, (0, 0))[0]) / (after[t][1] - before.get(t, (0, 0))[1]))
        * 1000.0
        for t in after
        if after[t][1] - before.get(t, (0, 0))[1] > 0
    }
    extra: dict[str, Any] = {}
    want = str(p.get("profile", "auto"))
    if want == "always" or (want == "auto" and overhead > OVERHEAD_TARGET_PCT):
        pid = p.get("server_pid")
        if pid:
            try:
                extra["profile"] = profile_server(
                    int(pid), uri, origin, exp_id, page_size, float(p.get("profile_s", 8))
                )
            except Exception as exc:  # a profile is a diagnosis: never lose the figures
                extra["profile"] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
    return workload._result(
        overhead,
        "%",
        per_round,
        grpc_p50_ms=g50,
        json_p50_ms=j50,
        grpc_p95_ms=percentile(lat["grpc"], 95),
        json_p95_ms=percentile(lat["json"], 95),
        # two more views for a busy machine: the rounds' median, the fastest calls
        overhead_round_median_pct=statistics.median(per_round),
        overhead_min_pct=(min(lat["json"]) / min(lat["grpc"]) - 1.0) * 100.0,
        server_mean_ms=server,
        breakdown=_breakdown(uri, exp_id, page_size, body),
        n=len(lat["json"]),
        rounds=rounds,
        page_size=page_size,
        **extra,
    )


# -- profiling (py-spy) ------------------------------------------------------------------------

#: (file fragment, function) -> category; the innermost matching frame of a sample decides.
PROFILE_MARKERS: tuple[tuple[str, str, str], ...] = (
    ("", "SearchRuns", "servicer SearchRuns (store + entities to proto)"),
    ("codec.py", "message_to_json", "gateway: proto -> JSON encode"),
    ("codec.py", "parse_request", "gateway: JSON request parse"),
    ("metrics.py", "observe", "metrics (prometheus)"),
    ("gateway/app.py", "", "gateway: WSGI app (werkzeug request, checks, routing)"),
    ("werkzeug/", "", "gateway: WSGI app (werkzeug request, checks, routing)"),
    ("waitress/", "", "waitress: HTTP parse, socket I/O, task threads"),
    ("grpc/", "", "grpc runtime (+ protobuf (de)serialization)"),
    ("interceptors.py", "", "grpc interceptors"),
)


#: leaf frames of threads that wait (py-spy's idle detection misses these: their waits are
#: in C calls that look busy from outside), counted apart.
IDLE_LEAVES: tuple[tuple[str, str], ...] = (
    ("threading.py", "wait"),
    ("concurrent/futures/thread.py", "_worker"),
    ("grpc/_server.py", "_serve"),
    ("waitress/wasyncore.py", "poll"),
    ("selectors.py", "select"),
)
IDLE = "idle (waits in C: locks, queues, pollers)"


def _py_spy() -> str | None:
    found = shutil.which("py-spy")
    if found:
        return found
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else None


def _categorize(stack: list[str]) -> str:
    leaf_fn, _, leaf_where = stack[-1].partition(" (")
    leaf_fn = leaf_fn.rsplit(".", 1)[-1]
    if any(f in leaf_where and leaf_fn == fn for f, fn in IDLE_LEAVES):
        return IDLE
    for frame in reversed(stack):
        qualified, _, where = frame.partition(" (")
        fn = qualified.rsplit(".", 1)[-1]  # py-spy writes Class.method
        for fragment, func, label in PROFILE_MARKERS:
            if (not fragment or fragment in where) and (not func or fn == func):
                return label
    return "other (threads, GC, logging, ...)"


def _profile_transport(
    exe: str, pid: int, seconds: float, drive: Callable[[], int], rate: int
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-pyspy-") as tmp:
        out = Path(tmp) / "raw.txt"
        cmd = [exe, "record", "-p", str(pid), "-d", str(int(seconds)), "-r", str(rate)]
        cmd += ["-f", "raw", "-o", str(out), "--nonblocking"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(1.0)  # attached
        calls = 0
        stop = threading.Event()

        def loop() -> None:
            nonlocal calls
            while not stop.is_set() and proc.poll() is None:
                drive()
                calls += 1

        driver = threading.Thread(target=loop, daemon=True)
        driver.start()
        try:
            # py-spy counts samples, not seconds: on a busy machine it runs late; SIGINT makes
            # it write what it has.
            _stdout, stderr = proc.communicate(timeout=seconds * 2 + 10)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)
            _stdout, stderr = proc.communicate(timeout=60)
        finally:
            stop.set()
            driver.join(timeout=60)
        if not out.exists():
            return {"error": f"py-spy exited {proc.returncode}: {stderr.decode()[-500:]}"}
        lines = out.read_text().splitlines()
    totals: dict[str, int] = {}
    funcs: dict[str, int] = {}
    samples = 0
    for line in lines:
        stack_text, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        stack = stack_text.split(";")
        samples += count
        label = _categorize(stack)
        totals[label] = totals.get(label, 0) + count
        if label != IDLE:
            funcs[stack[-1]] = funcs.get(stack[-1], 0) + count
    idle = totals.pop(IDLE, 0)
    busy = samples - idle
    per_call = {k: v / rate / max(calls, 1) * 1000.0 for k, v in totals.items()}
    top = sorted(funcs.items(), key=lambda kv: -kv[1])[:12]
    return {
        "calls": calls,
        "samples": samples,
        "idle_samples": idle,
        "rate_hz": rate,
        "busy_ms_per_call": dict(sorted(per_call.items(), key=lambda kv: -kv[1])),
        "busy_ms_per_call_total": sum(per_call.values()),
        "top_self": [{"frame": f, "share_pct": c * 100.0 / max(busy, 1)} for f, c in top],
    }


def profile_server(
    pid: int, uri: str, origin: str, exp_id: str, page_size: int, seconds: float
) -> dict[str, Any]:
    """py-spy the server while one client drives each transport; server CPU ms per call."""
    exe = _py_spy()
    if exe is None:
        return {
            "error": "py-spy not installed (for a profile: .venv/bin/python -m pip install "
            "py-spy; it is not a dependency)"
        }
    rate = 200
    grpc_call, channel = _grpc_search(uri, exp_id, page_size)
    conn = JsonConnection(origin)
    try:
        json_call = _json_search(conn, "modelyard", exp_id, page_size)
        return {
            "tool": "py-spy record --nonblocking -f raw",
            "seconds": seconds,
            "grpc": _profile_transport(exe, pid, seconds, grpc_call, rate),
            "json": _profile_transport(exe, pid, seconds, json_call, rate),
        }
    finally:
        channel.close()
        conn.close()


# -- table cells (used by bench/run.py) --------------------------------------------------------

UI_SCENARIOS = ("ui_runs_page", "ui_metric_chart", "gateway_overhead")
#: the result field each scenario compares with MLflow's (its own value is not comparable).
COMPARE_KEY = {
    "ui_runs_page": "value",
    "ui_metric_chart": "history_p50_ms",
    "gateway_overhead": "json_p50_ms",
}


def _ms(value: float | None) -> str:
    if value is None or value != value:
        return "-"
    return f"{value:,.0f} ms" if value >= 100 else f"{value:,.1f} ms"


def cell(name: str, res: dict[str, Any]) -> str:
    """The table cell of one UI scenario's result (modelyard's or MLflow's)."""
    system = res.get("system", "modelyard")
    if name == "ui_runs_page":
        text = f"p50 {_ms(res.get('value'))}, p95 {_ms(res.get('p95_ms'))}"
        extras = [f"cold {_ms(res.get('cold_ms'))}"]
        if res.get("mark_p50_ms") is not None and res["mark_p50_ms"] == res["mark_p50_ms"]:
            extras.insert(0, f"mark {_ms(res['mark_p50_ms'])}")
    elif name == "ui_metric_chart":
        if system != "modelyard":
            return f"history 1k pts {_ms(res.get('history_p50_ms'))} (UI not scripted)"
        text = f"p50 {_ms(res.get('value'))}, p95 {_ms(res.get('p95_ms'))}"
        bulk = f"Bulk 1k pts {_ms(res['bulk_p50_ms'])}" if "bulk_p50_ms" in res else "Bulk FAILED"
        extras = [
            f"{res.get('points_drawn')} pts drawn",
            bulk,
            f"GetMetricHistory 1k pts {_ms(res.get('single_p50_ms'))}",
        ]
    else:
        if system != "modelyard":
            return f"JSON search p50 {_ms(res.get('json_p50_ms'))} (no gRPC)"
        text = f"{res.get('value', float('nan')):+.1f} %"
        extras = [f"JSON {_ms(res.get('json_p50_ms'))} vs gRPC {_ms(res.get('grpc_p50_ms'))}"]
    load = res.get("loadavg_before")
    if load:
        extras.append(f"load {load[0]:.1f}")
    return text + f" ({', '.join(extras)})"


SCENARIOS: dict[str, Callable[[Api, str, dict[str, Any]], dict[str, Any]]] = {
    "seed_ui": seed_ui,
    "ui_runs_page": ui_runs_page,
    "ui_metric_chart": ui_metric_chart,
    "gateway_overhead": gateway_overhead,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one UI scenario through bench.workload's command line."""
    workload.SCENARIOS.update(SCENARIOS)
    return workload.main(argv)


if __name__ == "__main__":
    sys.exit(main())
