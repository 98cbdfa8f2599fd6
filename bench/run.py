"""Bench runner: the same workload against MLflow and modelyard, printed side by side.

    python -m bench.run                       # both systems, full sizes
    python -m bench.run --only modelyard --quick   # smoke run, < 2 minutes
    python -m bench.run --scenarios 1,2,log_batch --mlflow-workers 1,4

Each scenario runs in a fresh server on a fresh SQLite file in a temporary directory; the
workload runs in a subprocess of each system's own virtual environment (bench/workload.py).
Results go to bench/results/<timestamp>.json; see bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import mlflow_env, servers, ui

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
CACHE_DIR = RESULTS_DIR / "cache"
WORKLOAD_TIMEOUT_S = 3600
SEARCH_RUNS = 10_000


@dataclass(frozen=True)
class Scenario:
    """One row of the table: how to measure it, how to judge it."""

    sid: str
    name: str
    title: str
    unit: str
    higher_is_better: bool
    target: str
    met: Callable[[dict[str, Any]], bool]
    issue_mlflow: str
    size_dependent: bool = False
    #: modelyard must beat the best MLflow variant by this factor (None: no such target).
    min_vs_mlflow: float | None = None
    #: modelyard must reach this share (%) of the bare gRPC stream (None: no such target).
    min_of_bare_pct: float | None = None
    #: the issue's MLflow figure, used for the factor when MLflow was not run.
    issue_mlflow_value: float | None = None


SCENARIOS: list[Scenario] = [
    Scenario(
        "1",
        "log_metric",
        "single sync log_metric, p50",
        "ms",
        False,
        "<= 2 ms",
        lambda r: r["value"] <= 2.0,
        "56 / 14.6 ms",
    ),
    Scenario(
        "2",
        "log_batch",
        "log_batch 1,000 pts/call",
        "points/s",
        True,
        ">= 100,000",
        lambda r: r["value"] >= 100_000,
        "4,200 / 4,760",
    ),
    Scenario(
        "3",
        "train_sync",
        "training loop 10x500 (sync)",
        "s",
        False,
        "<= 12 s",
        lambda r: r["value"] <= 12.0,
        "369 / 96 s",
        True,
    ),
    Scenario(
        "3b",
        "train_async",
        "async logging overhead, 1 ms body",
        "%",
        False,
        "< 5 %",
        lambda r: r["value"] < 5.0,
        "-",
    ),
    Scenario(
        "4",
        "create_runs",
        "create runs, 8 threads",
        "runs/s",
        True,
        ">= 300",
        lambda r: r["value"] >= 300 and r.get("errors", 0) == 0,
        "13",
    ),
    Scenario(
        "5",
        "search_filtered",
        "search filtered, 100 res, p50",
        "ms",
        False,
        "<= 30 ms",
        lambda r: r["value"] <= 30.0,
        "299 ms @5k",
        True,
    ),
    Scenario(
        "6",
        "search_unfiltered",
        "search unfiltered, 1,000 res, p50",
        "ms",
        False,
        "<= 100 ms",
        lambda r: r["value"] <= 100.0,
        "1,003 ms @5k",
        True,
    ),
    Scenario(
        "7",
        "metric_history",
        "get_metric_history 100k pts",
        "s",
        False,
        "<= 0.3 s",
        lambda r: r["value"] <= 0.3,
        "8.05 / 7.20 s",
        True,
    ),
    Scenario(
        "8",
        "multiproc",
        "8 procs x 20 runs x 200 log_metric",
        "calls/s",
        True,
        ">= 2,000, 0 err",
        lambda r: r["value"] >= 2000 and r.get("errors", 1) == 0,
        "86 / 62",
    ),
    Scenario(
        "9",
        "idle_memory",
        "server RSS idle",
        "MB",
        False,
        "<= 150 MB",
        lambda r: r["value"] <= 150.0,
        "~3,100 / 2,300 MB",
    ),
    Scenario(
        "10",
        "artifact_upload_1g",
        "log_artifact 1 GiB via proxy",
        "MB/s",
        True,
        ">= 2x MLflow, >= 70 % bare",
        lambda r: True,
        "207 MB/s (cp 745)",
        True,
        min_vs_mlflow=2.0,
        min_of_bare_pct=70.0,
        issue_mlflow_value=207.0,
    ),
    Scenario(
        "11",
        "artifact_download_1g",
        "download_artifacts 1 GiB via proxy",
        "MB/s",
        True,
        ">= 2x MLflow, >= 70 % bare",
        lambda r: True,
        "192 MB/s",
        True,
        min_vs_mlflow=2.0,
        min_of_bare_pct=70.0,
        issue_mlflow_value=192.0,
    ),
    Scenario(
        "12",
        "artifact_memory_5g",
        "server RSS growth, 5 GiB up+down",
        "MiB",
        False,
        "<= 100 MiB",
        lambda r: r["value"] <= 100.0,
        "+2 MiB",
        True,
    ),
    Scenario(
        "13",
        "log_artifacts_1000",
        "log_artifacts 1,000 x 10 KB",
        "s",
        False,
        ">= 5x MLflow",
        lambda r: True,
        "-",
        True,
        min_vs_mlflow=5.0,
    ),
    Scenario(
        "14",
        "registry_ops",
        "registry ops (version+stage+alias), 4 thr",
        "ops/s",
        True,
        ">= 300",
        lambda r: r["value"] >= 300 and r.get("errors", 0) == 0,
        "9.6 / 29 ops/s",
    ),
    Scenario(
        "15",
        "concurrent_versions",
        "10 clients create versions of 1 model",
        "versions/s",
        True,
        "unique, gapless, 0 err",
        lambda r: bool(r.get("unique_gapless")) and r.get("errors", 1) == 0,
        "-",
    ),
    Scenario(
        "16",
        "search_versions_10k",
        "search_model_versions tag filter, p50",
        "ms",
        False,
        "<= 30 ms",
        lambda r: r["value"] <= 30.0,
        "-",
        True,
    ),
    Scenario(
        "17",
        "ui_runs_page",
        "runs page, 10,000 runs: first 100 rows shown",
        "ms",
        False,
        "<= 500 ms",
        lambda r: r["value"] <= 500.0,
        "-",
        True,
    ),
    Scenario(
        "18",
        "ui_metric_chart",
        "100,000-point metric chart, click to drawn",
        "ms",
        False,
        "<= 1 s",
        lambda r: r["value"] <= 1000.0,
        "-",
        True,
    ),
    Scenario(
        "19",
        "gateway_overhead",
        "JSON gateway SearchRuns 100 runs over gRPC",
        "%",
        False,
        "<= 20 %",
        lambda r: r["value"] <= 20.0,
        "-",
        True,
    ),
]
#: the model-registry scenarios (issue 4): bench/registry.py, run as `python -m bench.registry`.
REGISTRY_SCENARIOS = ("registry_ops", "concurrent_versions", "search_versions_10k")
REGISTRY_MODULE = "bench.registry"
#: the web UI and JSON gateway scenarios (issue 5): bench/ui.py, run as `python -m bench.ui`.
UI_SCENARIOS = ui.UI_SCENARIOS
UI_MODULE = "bench.ui"
ARTIFACT_SCENARIOS = (
    "artifact_upload_1g",
    "artifact_download_1g",
    "artifact_memory_5g",
    "log_artifacts_1000",
)
#: artifact scenarios where modelyard's repetitions alternate with a bare gRPC stream's.
BARE_SCENARIOS = ("artifact_upload_1g", "artifact_download_1g")
BY_KEY = {s.sid: s for s in SCENARIOS} | {s.name: s for s in SCENARIOS}

# Sizes per (system, profile). MLflow is ~100x slower; where its run is scaled down the
# row says so. train_sync is extrapolated linearly (10 identical runs -> runs measured);
# multiproc reports a rate (calls/s) so fewer runs per process need no extrapolation.
PARAMS: dict[str, dict[str, dict[str, Any]]] = {
    "full": {
        "log_metric": {"n": 2000, "reps": 3},
        "log_batch": {"calls": 100, "reps": 3},
        "train_sync": {"runs": 10, "steps": 500, "reps": 3},
        "train_async": {"steps": 2000, "reps": 3},
        "create_runs": {"threads": 8, "runs_per_thread": 100, "reps": 3},
        "search_filtered": {"n": 20, "reps": 3},
        "search_unfiltered": {"n": 20, "reps": 3},
        "metric_history": {"points": 100_000, "reps": 3},
        "multiproc": {"processes": 8, "runs_per_process": 20, "calls_per_run": 200},
        "artifact_upload_1g": {"size_mib": 1024, "reps": 5},
        "artifact_download_1g": {"size_mib": 1024, "reps": 5},
        "artifact_memory_5g": {"size_mib": 5120, "reps": 3},
        "log_artifacts_1000": {"files": 1000, "file_bytes": 10_000, "reps": 5},
        "registry_ops": {"threads": [1, 4], "iterations": 100, "reps": 3},
        "concurrent_versions": {"clients": 10, "versions_per_client": 50, "reps": 3},
        "search_versions_10k": {"n": 20, "reps": 3},
        "ui_runs_page": {"loads": 20, "warmups": 3},
        "ui_metric_chart": {"clicks": 10, "history_calls": 20},
        "gateway_overhead": {"n": 200, "rounds": 4, "warmup": 20},
    },
    "quick": {
        "log_metric": {"n": 200, "reps": 3},
        "log_batch": {"calls": 20, "reps": 3},
        "train_sync": {"runs": 2, "steps": 100, "reps": 1, "full_runs": 2},
        "train_async": {"steps": 300, "reps": 1},
        "create_runs": {"threads": 8, "runs_per_thread": 10, "reps": 1},
        "search_filtered": {"n": 5, "reps": 1},
        "search_unfiltered": {"n": 5, "reps": 1},
        "metric_history": {"points": 10_000, "reps": 1},
        "multiproc": {"processes": 8, "runs_per_process": 2, "calls_per_run": 50},
        "artifact_upload_1g": {"size_mib": 64, "reps": 3},
        "artifact_download_1g": {"size_mib": 64, "reps": 3},
        "artifact_memory_5g": {"size_mib": 256, "reps": 1},
        "log_artifacts_1000": {"files": 100, "file_bytes": 10_000, "reps": 3},
        "registry_ops": {"threads": [1, 4], "iterations": 10, "reps": 1},
        "concurrent_versions": {"clients": 10, "versions_per_client": 5, "reps": 1},
        "search_versions_10k": {"n": 5, "reps": 1},
        "ui_runs_page": {"loads": 5, "warmups": 1},
        "ui_metric_chart": {"clicks": 3, "history_calls": 5},
        "gateway_overhead": {"n": 40, "rounds": 2, "warmup": 5},
    },
}
MLFLOW_FULL_OVERRIDES: dict[str, dict[str, Any]] = {
    "log_metric": {"n": 200},
    "log_batch": {"calls": 20},
    "train_sync": {"runs": 2, "reps": 3},
    "train_async": {"steps": 1000},
    "create_runs": {"runs_per_thread": 5},
    "search_filtered": {"n": 5},
    "search_unfiltered": {"n": 3},
    "multiproc": {"runs_per_process": 2},
    "artifact_memory_5g": {"reps": 1},
    "registry_ops": {"iterations": 20},
    "concurrent_versions": {"versions_per_client": 10},
    "search_versions_10k": {"n": 5},
    "ui_runs_page": {"loads": 10},
    "gateway_overhead": {"n": 50},
}
MLFLOW_UNSCALED_OVERRIDES: dict[str, dict[str, Any]] = {
    "log_metric": {"n": 200},
    "log_batch": {"calls": 20},
    "train_sync": {"runs": 10, "reps": 1},
    "train_async": {"steps": 1000},
    "create_runs": {"runs_per_thread": 10},
    "search_filtered": {"n": 5},
    "search_unfiltered": {"n": 3},
    "multiproc": {"runs_per_process": 20},
}
SEARCH_SIZE = {"full": SEARCH_RUNS, "quick": 1000}
#: versions seeded for search_versions_10k, spread over VERSION_MODELS registered models.
VERSIONS_SIZE = {"full": 10_000, "quick": 1000}
VERSION_MODELS = 10
#: runs of the experiment behind the runs page and SearchRuns (17, 19); points of the chart (18).
UI_RUNS_SIZE = {"full": SEARCH_RUNS, "quick": 2000}
UI_CHART_POINTS = {"full": 100_000, "quick": 20_000}


def _log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- running one workload -------------------------------------------------------------------


def _shim_dir(root: Path) -> Path:
    """A directory holding only a link to bench/, so workloads import nothing else from the
    checkout (the MLflow venv must not see modelyard's top-level folders)."""
    shim = root / "shim"
    shim.mkdir(exist_ok=True)
    link = shim / "bench"
    if not link.exists():
        link.symlink_to(BENCH_DIR, target_is_directory=True)
    return shim


def run_workload(
    python: str,
    system: str,
    uri: str,
    scenario: str,
    params: dict[str, Any],
    root: Path,
    module: str = "bench.workload",
) -> dict[str, Any]:
    """Run one scenario in a subprocess of the given interpreter; return its JSON result.

    `module` is the scenario's entry point: bench.workload, or bench.registry for the model
    registry scenarios (which adds them to bench.workload's and runs its main).
    """
    shim = _shim_dir(root)
    cmd = [
        python,
        "-P",
        "-m",
        module,
        "--system",
        system,
        "--uri",
        uri,
        "--scenario",
        scenario,
        "--json",
        "--params",
        json.dumps(params),
    ]
    env = servers.quiet_env({"PYTHONPATH": str(shim)})
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    proc = subprocess.run(
        cmd,
        cwd=shim,
        env=env,
        capture_output=True,
        text=True,
        timeout=WORKLOAD_TIMEOUT_S,
        check=False,
    )
    lines = [ln for ln in proc.stdout.strip().splitlines() if ln.startswith("{")]
    if not lines:
        return {
            "ok": False,
            "error": f"workload exited {proc.returncode}: {proc.stderr[-2000:]}",
            "wall_s": time.perf_counter() - t0,
        }
    res = json.loads(lines[-1])
    res["loadavg_before"] = load_before
    res["loadavg_after"] = os.getloadavg()
    if not res.get("ok"):
        res["stderr"] = proc.stderr[-3000:]
    return res


# -- one system ------------------------------------------------------------------------------


@dataclass
class SystemSpec:
    """How to start one system's server and run its workload."""

    system: str
    label: str
    python: str
    workers: int = 1

    def start(self, db: Path, workdir: Path) -> servers.Server:
        """Start this system's server on db."""
        if self.system == "modelyard":
            return servers.start_modelyard(db, workdir, self.python)
        return servers.start_mlflow(db, workdir, self.python, self.workers)


def _params(spec: SystemSpec, name: str, profile: str, unscaled: bool) -> dict[str, Any]:
    p = dict(PARAMS[profile].get(name, {}))
    if spec.system == "mlflow" and profile == "full":
        p.update((MLFLOW_UNSCALED_OVERRIDES if unscaled else MLFLOW_FULL_OVERRIDES).get(name, {}))
    return p


def _seed_search_db(spec: SystemSpec, db: Path, n: int, root: Path) -> dict[str, Any]:
    """Seed a SQLite file with n runs in-process through the system's own client."""
    cache = None
    if spec.system == "mlflow":
        cache = CACHE_DIR / f"mlflow-{mlflow_env.MLFLOW_VERSION}-search-{n}.db"
        if cache.exists():
            shutil.copyfile(cache, db)
            return {"ok": True, "cached": str(cache)}
    _log(f"{spec.label}: seeding {n} runs in-process into {db.name}")
    res = run_workload(
        spec.python, spec.system, f"sqlite:///{db}", "seed_search", {"runs": n}, root
    )
    if res.get("ok") and cache is not None:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(db, cache)
    return res


def run_system(
    spec: SystemSpec, names: list[str], profile: str, unscaled: bool
) -> dict[str, dict[str, Any]]:
    """Run the chosen scenarios against one system; each in a fresh server and database."""
    out: dict[str, dict[str, Any]] = {}
    root = Path(tempfile.mkdtemp(prefix=f"bench-{spec.label}-"))
    try:
        special = (
            "search_filtered",
            "search_unfiltered",
            "idle_memory",
            *ARTIFACT_SCENARIOS,
            *REGISTRY_SCENARIOS,
            *UI_SCENARIOS,
        )
        plain = [n for n in names if n not in special]
        for name in plain:
            work = Path(tempfile.mkdtemp(prefix=name + "-", dir=root))
            params = _params(spec, name, profile, unscaled)
            _log(f"{spec.label}: {name} {params}")
            server = spec.start(work / "bench.db", work)
            with servers.running(server):
                res = run_workload(spec.python, spec.system, server.uri, name, params, root)
                res["server_after"] = servers.tree_memory(server.proc.pid)
                res["server_settle_s"] = server.settle_s
            if not res.get("ok"):
                res["server_log"] = server.log_tail(30)
                _log(f"{spec.label}: {name} FAILED: {res.get('error')}")
            out[name] = res
        searches = [n for n in names if n in ("search_filtered", "search_unfiltered")]
        if searches:
            work = Path(tempfile.mkdtemp(prefix="search-", dir=root))
            db = work / "bench.db"
            seed = _seed_search_db(spec, db, SEARCH_SIZE[profile], root)
            if not seed.get("ok"):
                _log(f"{spec.label}: seeding failed: {seed.get('error')}")
                for name in searches:
                    out[name] = {"ok": False, "error": f"seeding: {seed.get('error')}"}
            else:
                server = spec.start(db, work)
                with servers.running(server):
                    for name in searches:
                        params = _params(spec, name, profile, unscaled)
                        _log(f"{spec.label}: {name} {params}")
                        res = run_workload(spec.python, spec.system, server.uri, name, params, root)
                        res["seed"] = seed
                        res["search_runs"] = SEARCH_SIZE[profile]
                        if not res.get("ok"):
                            res["server_log"] = server.log_tail(30)
                        out[name] = res
        if "idle_memory" in names:
            out["idle_memory"] = measure_idle_memory(spec, root)
        for name in (n for n in names if n in ARTIFACT_SCENARIOS):
            out[name] = measure_artifacts(spec, name, _params(spec, name, profile, unscaled), root)
        for name in (n for n in names if n in REGISTRY_SCENARIOS):
            params = _params(spec, name, profile, unscaled)
            out[name] = measure_registry(spec, name, params, profile, root)
        uis = [n for n in names if n in UI_SCENARIOS]
        if uis:
            out.update(measure_ui(spec, uis, profile, unscaled, root))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return out


def _seed_versions_db(spec: SystemSpec, work: Path, n: int, root: Path) -> dict[str, Any]:
    """Seed a SQLite file with n model versions in-process through the system's own client."""
    db = work / "bench.db"
    cache = None
    if spec.system == "mlflow":
        cache = CACHE_DIR / f"mlflow-{mlflow_env.MLFLOW_VERSION}-versions-{n}"
        if (cache / "bench.db").exists():
            shutil.copyfile(cache / "bench.db", db)
            shutil.copytree(cache / "seed-artifacts", work / "seed-artifacts")
            return {"ok": True, "cached": str(cache)}
    _log(f"{spec.label}: seeding {n} model versions in-process into {db.name}")
    params = {
        "versions": n,
        "models": VERSION_MODELS,
        "artifact_root": (work / "seed-artifacts").as_uri(),
    }
    res = run_workload(
        spec.python, spec.system, f"sqlite:///{db}", "seed_versions", params, root, REGISTRY_MODULE
    )
    if res.get("ok") and cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(db, cache / "bench.db")
        shutil.copytree(work / "seed-artifacts", cache / "seed-artifacts", dirs_exist_ok=True)
    return res


def measure_registry(
    spec: SystemSpec, name: str, params: dict[str, Any], profile: str, root: Path
) -> dict[str, Any]:
    """One registry scenario against a fresh server (search_versions_10k: on a seeded file)."""
    work = Path(tempfile.mkdtemp(prefix=name + "-", dir=root))
    seed: dict[str, Any] | None = None
    if name == "search_versions_10k":
        n = VERSIONS_SIZE[profile]
        seed = _seed_versions_db(spec, work, n, root)
        if not seed.get("ok"):
            _log(f"{spec.label}: seeding versions failed: {seed.get('error')}")
            return {"ok": False, "error": f"seeding: {seed.get('error')}", "seed": seed}
        params = {**params, "expect": n // 100}
    _log(f"{spec.label}: {name} {params}")
    server = spec.start(work / "bench.db", work)
    with servers.running(server):
        res = run_workload(
            spec.python, spec.system, server.uri, name, params, root, REGISTRY_MODULE
        )
        res["server_after"] = servers.tree_memory(server.proc.pid)
        res["server_settle_s"] = server.settle_s
        if not res.get("ok"):
            res["server_log"] = server.log_tail(30)
            _log(f"{spec.label}: {name} FAILED: {res.get('error')}")
    if seed is not None:
        res["seed"] = seed
        res["versions"] = VERSIONS_SIZE[profile]
    return res


def _seed_ui_db(spec: SystemSpec, db: Path, runs: int, points: int, root: Path) -> dict[str, Any]:
    """Seed the UI scenarios' SQLite file in-process through the system's own client."""
    cache = None
    if spec.system == "mlflow":
        cache = CACHE_DIR / f"mlflow-{mlflow_env.MLFLOW_VERSION}-ui-{runs}-{points}.db"
        if cache.exists():
            shutil.copyfile(cache, db)
            return {"ok": True, "cached": str(cache)}
    _log(f"{spec.label}: seeding {runs} runs and a {points}-point metric into {db.name}")
    params = {"runs": runs, "chart_points": points}
    res = run_workload(
        spec.python, spec.system, f"sqlite:///{db}", "seed_ui", params, root, UI_MODULE
    )
    if res.get("ok") and cache is not None:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(db, cache)
    return res


def measure_ui(
    spec: SystemSpec, names: list[str], profile: str, unscaled: bool, root: Path
) -> dict[str, dict[str, Any]]:
    """The UI scenarios against one server on one seeded file (runs page, chart, gateway).

    Their clients are a browser and raw HTTP/gRPC connections, not the system's Python client,
    so they run in the bench's own interpreter (the modelyard venv, with Playwright) for MLflow
    too; `target` tells them which system they face.
    """
    work = Path(tempfile.mkdtemp(prefix="ui-", dir=root))
    db = work / "bench.db"
    runs = UI_RUNS_SIZE[profile] if {"ui_runs_page", "gateway_overhead"} & set(names) else 0
    points = UI_CHART_POINTS[profile] if "ui_metric_chart" in names else 0
    seed = _seed_ui_db(spec, db, runs, points, root)
    if not seed.get("ok"):
        _log(f"{spec.label}: seeding failed: {seed.get('error')}")
        return {n: {"ok": False, "error": f"seeding: {seed.get('error')}"} for n in names}
    python = spec.python if spec.system == "modelyard" else sys.executable
    out: dict[str, dict[str, Any]] = {}
    server = spec.start(db, work)
    with servers.running(server):
        if spec.system == "mlflow":
            origin = server.uri
        elif server.extra_ports:
            origin = f"http://{servers.HOST}:{server.extra_ports[0]}"
        else:
            return {n: {"ok": False, "error": "modelyard server has no --http-port"} for n in names}
        for name in names:
            params = {
                **_params(spec, name, profile, unscaled),
                "http": origin,
                "target": spec.system,
                "server_pid": server.proc.pid,
            }
            _log(f"{spec.label}: {name} {params}")
            res = run_workload(python, "modelyard", server.uri, name, params, root, UI_MODULE)
            res.update(system=spec.system, seed=seed, ui_runs=runs, chart_points=points)
            res["server_after"] = servers.tree_memory(server.proc.pid)
            res["server_settle_s"] = server.settle_s
            if not res.get("ok"):
                res["server_log"] = server.log_tail(30)
                _log(f"{spec.label}: {name} FAILED: {res.get('error')}")
            out[name] = res
    return out


def measure_idle_memory(spec: SystemSpec, root: Path) -> dict[str, Any]:
    """RSS of the server process tree after start and a few calls, then 2 s idle."""
    work = Path(tempfile.mkdtemp(prefix="memory-", dir=root))
    _log(f"{spec.label}: idle_memory")
    server = spec.start(work / "bench.db", work)
    with servers.running(server):
        at_start = servers.tree_memory(server.proc.pid)
        warm = run_workload(spec.python, spec.system, server.uri, "warm", {}, root)
        time.sleep(2.0)
        reps = []
        for _ in range(3):
            reps.append(servers.tree_memory(server.proc.pid))
            time.sleep(0.5)
    rss = statistics.median(r["rss_bytes"] for r in reps) / 2**20
    pss = statistics.median(r["pss_bytes"] for r in reps) / 2**20
    return {
        "ok": bool(warm.get("ok")),
        "error": warm.get("error"),
        "value": rss,
        "unit": "MB",
        "reps": [r["rss_bytes"] / 2**20 for r in reps],
        "pss_mb": pss,
        "processes": reps[-1]["processes"],
        "at_start_rss_mb": at_start["rss_bytes"] / 2**20,
    }


def measure_artifacts(
    spec: SystemSpec, name: str, params: dict[str, Any], root: Path
) -> dict[str, Any]:
    """One artifact scenario: a fresh server (and, for modelyard, a bare stream beside it)."""
    work = Path(tempfile.mkdtemp(prefix=name + "-", dir=root))
    scratch = work / "scratch"
    scratch.mkdir()
    if name == "artifact_memory_5g":
        from bench.artifacts import MIB, disk_shortfall

        skip = disk_shortfall(scratch, int(params["size_mib"]) * MIB)
        if skip:
            _log(f"{spec.label}: {name} {skip}")
            return {"ok": True, "value": None, "unit": "MiB", "skipped": skip}
    _log(f"{spec.label}: {name} {params}")
    server = spec.start(work / "bench.db", work)
    with contextlib.ExitStack() as stack:
        stack.enter_context(servers.running(server))
        if server.artifacts_dir is None:
            return {
                "ok": False,
                "error": f"{spec.label} server has no --artifacts-destination flag yet",
            }
        params = {**params, "destination": str(server.artifacts_dir), "scratch": str(scratch)}
        bare = None
        if spec.system == "modelyard" and name in BARE_SCENARIOS:
            bare = servers.start_bare(server.artifacts_dir, work, spec.python)
            stack.enter_context(servers.running(bare))
            params["bare_uri"] = bare.uri
        sampler = None
        if name == "artifact_memory_5g":
            sampler = servers.RssSampler(server.proc.pid)
            sampler.start()
        ours = [server.proc.pid] + ([bare.proc.pid] if bare is not None else [])
        cpu0 = _cpu_snapshot(ours)
        try:
            res = run_workload(spec.python, spec.system, server.uri, name, params, root)
        finally:
            samples = sampler.stop() if sampler is not None else []
        res["other_cores"] = _other_cores(cpu0, _cpu_snapshot(ours))
        res["server_settle_s"] = server.settle_s
        res["params"] = {k: v for k, v in params.items() if k not in ("destination", "scratch")}
        if res.get("ok") and sampler is not None and not res.get("skipped"):
            res.update(memory_growth(samples, res))
        if not res.get("ok"):
            res["server_log"] = server.log_tail(30)
            if bare is not None:
                res["bare_log"] = bare.log_tail(30)
            _log(f"{spec.label}: {name} FAILED: {res.get('error')}")
    return res


def _cpu_snapshot(pids: list[int]) -> tuple[float, float, float]:
    """(wall time, machine busy CPU s, CPU s of the runner, its server trees and children)."""
    own = sum(servers.tree_cpu_seconds(p) for p in pids)
    for who in (resource.RUSAGE_CHILDREN, resource.RUSAGE_SELF):
        usage = resource.getrusage(who)
        own += usage.ru_utime + usage.ru_stime
    return time.monotonic(), servers.machine_cpu_seconds(), own


def _other_cores(before: tuple[float, float, float], after: tuple[float, float, float]) -> float:
    """Cores that processes other than the bench's own used, on average, between snapshots."""
    wall = after[0] - before[0]
    others = (after[1] - before[1]) - (after[2] - before[2])
    return max(0.0, others / wall) if wall > 0 else 0.0


def memory_growth(samples: list[tuple[float, int]], res: dict[str, Any]) -> dict[str, Any]:
    """Peak RSS growth (MiB) during each upload+download over the quiet second before it."""
    phases = res.get("phases") or []
    growth: list[float] = []
    detail: list[dict[str, float]] = []
    for ph in phases:
        before = [r for t, r in samples if ph["up0"] - 0.9 <= t < ph["up0"]]
        up = [r for t, r in samples if ph["up0"] <= t <= ph["up1"]]
        down = [r for t, r in samples if ph["dn0"] <= t <= ph["dn1"]]
        if not before or not up or not down:
            raise RuntimeError("memory sampler has no samples in a phase")
        base = statistics.median(before)
        growth.append((max(up + down) - base) / 2**20)
        detail.append(
            {
                "baseline_mib": base / 2**20,
                "upload_peak_growth_mib": (max(up) - base) / 2**20,
                "download_peak_growth_mib": (max(down) - base) / 2**20,
                "samples": len(up) + len(down),
            }
        )
    after = [r for t, r in samples if phases and phases[-1]["dn1"] < t <= res["end"]]
    first_base = detail[0]["baseline_mib"] if detail else 0.0
    return {
        "value": max(growth),
        "reps": growth,
        "detail": detail,
        "after_mib": (statistics.median(after) / 2**20 - first_base) if after else None,
        "sample_count": len(samples),
    }


# -- table ----------------------------------------------------------------------------------


def fmt(value: float | None, unit: str) -> str:
    """Format a measured value with its unit."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if unit in ("points/s", "calls/s", "runs/s", "MB", "MB/s", "MiB", "ops/s", "versions/s"):
        return f"{value:,.0f} {unit}" if value >= 100 else f"{value:,.1f} {unit}"
    if unit == "ms":
        return f"{value:,.2f} ms" if value < 100 else f"{value:,.0f} ms"
    if unit == "s":
        return f"{value:,.3f} s" if value < 10 else f"{value:,.1f} s"
    if unit == "%":
        return f"{value:,.1f} %"
    return f"{value:g} {unit}"


def _cell(res: dict[str, Any] | None, sc: Scenario) -> str:
    if res is None:
        return "-"
    if not res.get("ok"):
        return "FAILED"
    if res.get("skipped"):
        return "skipped (disk)"
    if sc.name in UI_SCENARIOS:
        return ui.cell(sc.name, res)
    text = fmt(res.get("value"), sc.unit)
    if sc.name == "artifact_memory_5g":
        text = "+" + text
    extras = []
    if sc.name in ("log_metric", "multiproc") and res.get("p99_ms") is not None:
        extras.append(f"p99 {res['p99_ms']:.1f} ms")
    if sc.name == "registry_ops" and res.get("threads"):
        head = str(res.get("headline_threads"))
        extras += [
            f"{k} thr {v['ops_per_s']:,.0f} ops/s"
            for k, v in sorted(res["threads"].items())
            if k != head
        ]
    if sc.name == "concurrent_versions" and res.get("checks"):
        total = sum(c["created"] for c in res["checks"])
        verdict = "unique+gapless" if res.get("unique_gapless") else "NOT unique/gapless"
        extras.append(f"{total} versions, {verdict}")
    if sc.name == "search_versions_10k" and res.get("versions"):
        extras.append(f"{res['versions']:,} versions, {res.get('results')} hits")
    if "errors" in res and sc.name in (
        "create_runs",
        "multiproc",
        "registry_ops",
        "concurrent_versions",
    ):
        extras.append(f"{res['errors']} err")
    if res.get("extrapolation_factor", 1) != 1:
        extras.append(f"x{res['extrapolation_factor']:g} extrap.")
    if sc.name == "multiproc" and res.get("runs_per_process", 20) != 20:
        extras.append(f"{res['runs_per_process']} runs/proc")
    if sc.name == "idle_memory":
        extras.append(f"PSS {res.get('pss_mb', 0):,.0f} MB, {res.get('processes')} procs")
    if res.get("of_bare_pct") is not None:
        extras.append(f"{res['of_bare_pct']:.0f} % of bare")
    if sc.name == "artifact_memory_5g" and res.get("upload_mbps"):
        up = statistics.median(res["upload_mbps"])
        down = statistics.median(res["download_mbps"])
        extras.append(f"{up:,.0f}/{down:,.0f} MB/s up/down")
    if sc.name in ARTIFACT_SCENARIOS and res.get("loadavg_before"):
        load = f"load {res['loadavg_before'][0]:.1f}"
        if res.get("other_cores") is not None:
            load += f", others {res['other_cores']:.2f} cores"
        extras.append(load)
    return text + (f" ({', '.join(extras)})" if extras else "")


def _best(results: list[dict[str, Any] | None], sc: Scenario) -> dict[str, Any] | None:
    field = ui.COMPARE_KEY.get(sc.name, "value")
    ok = [r for r in results if r and r.get("ok") and r.get(field) is not None]
    if not ok:
        return None
    key = (lambda r: r[field]) if sc.higher_is_better else (lambda r: -r[field])
    return max(ok, key=key)


def ratio(mine: dict[str, Any] | None, theirs: dict[str, Any] | None, sc: Scenario) -> str:
    """How many times better modelyard is than MLflow (>1 = better)."""
    if not mine or not theirs or not mine.get("ok") or not theirs.get("ok"):
        return "-"
    if mine.get("value") is None or theirs.get("value") is None:
        return "-"
    if sc.name == "artifact_memory_5g":
        return "-"  # growths near zero: a ratio of them says nothing
    key = ui.COMPARE_KEY.get(sc.name, "value")
    if mine.get(key) is None or theirs.get(key) is None:
        return "-"
    a, b = float(mine[key]), float(theirs[key])
    if a <= 0 or b <= 0:
        return "-"
    r = a / b if sc.higher_is_better else b / a
    return f"{r:,.1f}x"


def _bare_cell(res: dict[str, Any] | None) -> str:
    if not res or not res.get("ok") or res.get("bare_value") is None:
        return "-"
    refs = [
        f"{label} {res[key]:,.0f}"
        for label, key in (("+fsync", "bare_fsync_value"), ("cp", "cp_value"))
        if res.get(key) is not None
    ]
    return fmt(res["bare_value"], "MB/s") + (f" ({', '.join(refs)})" if refs else "")


def verdict(sc: Scenario, mine: dict[str, Any], best: dict[str, Any] | None, profile: str) -> str:
    """The met? cell: the absolute target, the factor over MLflow, the share of bare gRPC."""
    if not mine.get("ok"):
        return "no (failed)"
    if mine.get("skipped"):
        return "n/a (skipped)"
    if profile == "quick" and sc.size_dependent:
        return "n/a (quick)"
    misses: list[str] = []
    notes: list[str] = []
    if not sc.met(mine):
        if sc.min_vs_mlflow is None and sc.min_of_bare_pct is None:
            return "**no**"
        misses.append(sc.target)
    if sc.min_vs_mlflow is not None:
        theirs: float | None = None
        if best is not None:
            theirs = float(best["value"])
        elif sc.issue_mlflow_value is not None:
            theirs = sc.issue_mlflow_value
            notes.append("vs issue's MLflow")
        if theirs is None:
            notes.append("no MLflow figure")
        else:
            a = float(mine["value"])
            factor = a / theirs if sc.higher_is_better else theirs / a
            if factor < sc.min_vs_mlflow:
                misses.append(f"{factor:.1f}x < {sc.min_vs_mlflow:g}x MLflow")
    if sc.min_of_bare_pct is not None:
        share = mine.get("of_bare_pct")
        if share is None:
            notes.append("no bare figure")
        elif share < sc.min_of_bare_pct:
            misses.append(f"{share:.0f} % < {sc.min_of_bare_pct:g} % of bare")
    text = "**no** (" + "; ".join(misses) + ")" if misses else "yes"
    return text + (f" ({', '.join(notes)})" if notes else "")


def render_table(results: dict[str, dict[str, dict[str, Any]]], profile: str) -> str:
    """Markdown table: scenario | MLflow (each variant) | modelyard | ratio | target | met?."""
    mlflow_labels = [k for k in results if k.startswith("mlflow")]
    have_mlflow = bool(mlflow_labels)
    have_bare = any(r.get("bare_value") is not None for rs in results.values() for r in rs.values())
    head = ["#", "scenario"]
    head += [f"MLflow {lbl.removeprefix('mlflow-')}" for lbl in mlflow_labels] or [
        "MLflow 3.17 (issue: 4w / 1w)"
    ]
    head += ["bare gRPC"] if have_bare else []
    head += ["modelyard", "ratio", "target", "met?"]
    rows = [head, ["---"] * len(head)]
    mine_all = results.get("modelyard", {})
    for sc in SCENARIOS:
        if not any(sc.name in r for r in results.values()):
            continue
        mine = mine_all.get(sc.name)
        row = [sc.sid, sc.title]
        if have_mlflow:
            row += [_cell(results[lbl].get(sc.name), sc) for lbl in mlflow_labels]
            best = _best([results[lbl].get(sc.name) for lbl in mlflow_labels], sc)
        else:
            row.append(sc.issue_mlflow)
            best = None
        if have_bare:
            row.append(_bare_cell(mine))
        row.append(_cell(mine, sc))
        row.append(ratio(mine, best, sc) if have_mlflow else "-")
        row.append(sc.target)
        row.append("-" if mine is None else verdict(sc, mine, best, profile))
        rows.append(row)
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)


def _git_rev() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_DIR,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
    except OSError:
        return ""


def _select(spec: str | None) -> list[str]:
    if not spec:
        return [s.name for s in SCENARIOS]
    names = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        if part not in BY_KEY:
            raise SystemExit(
                f"unknown scenario {part!r}; choose from "
                + ", ".join(f"{s.sid}={s.name}" for s in SCENARIOS)
            )
        names.append(BY_KEY[part].name)
    return [s.name for s in SCENARIOS if s.name in names]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["modelyard", "mlflow"], help="run one system only")
    parser.add_argument("--scenarios", help="comma-separated ids or names (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument(
        "--mlflow-workers",
        default="1,4",
        help="comma-separated MLflow worker counts to run (e.g. 1,4)",
    )
    parser.add_argument(
        "--mlflow-unscaled",
        action="store_true",
        help="run MLflow at full size too (slow: many minutes)",
    )
    parser.add_argument("--modelyard-python", default=sys.executable)
    parser.add_argument(
        "--load",
        action="append",
        default=[],
        help="merge systems from an earlier results JSON (not re-run)",
    )
    parser.add_argument("--out", help="results JSON path (default bench/results/<ts>.json)")
    args = parser.parse_args(argv)

    names = _select(args.scenarios)
    profile = "quick" if args.quick else "full"
    started = dt.datetime.now(dt.UTC)
    load_start = os.getloadavg()
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for path in args.load:
        prev = json.loads(Path(path).read_text())
        results.update(prev["results"])

    specs: list[SystemSpec] = []
    if args.only in (None, "mlflow"):
        if not mlflow_env.is_ready():
            _log("creating the MLflow venv (bench/.venv-mlflow); this takes a while")
            mlflow_env.ensure()
        py = str(mlflow_env.venv_python())
        for w in (int(x) for x in args.mlflow_workers.split(",") if x.strip()):
            specs.append(SystemSpec("mlflow", f"mlflow-w{w}", py, w))
    if args.only in (None, "modelyard"):
        specs.append(SystemSpec("modelyard", "modelyard", args.modelyard_python))

    for spec in specs:
        t0 = time.perf_counter()
        results[spec.label] = run_system(spec, names, profile, args.mlflow_unscaled)
        _log(f"{spec.label}: done in {time.perf_counter() - t0:.0f} s")

    table = render_table(results, profile)
    command = "python -m bench.run " + " ".join(sys.argv[1:] if argv is None else argv)
    meta = {
        "command": command.strip(),
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "profile": profile,
        "git": _git_rev(),
        "host": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "mlflow_version": mlflow_env.MLFLOW_VERSION,
        "search_runs": SEARCH_SIZE[profile],
        "ui_runs": UI_RUNS_SIZE[profile],
        "ui_chart_points": UI_CHART_POINTS[profile],
        "loadavg_start": load_start,
        "loadavg_end": os.getloadavg(),
    }
    out = (
        Path(args.out)
        if args.out
        else RESULTS_DIR / (f"bench-{started.strftime('%Y%m%dT%H%M%SZ')}-{profile}.json")
    )
    out.parent.mkdir(parents=True, exist_ok=True)  # only the folder written to
    out.write_text(json.dumps({"meta": meta, "results": results, "table": table}, indent=1))
    print(f"\n{meta['command']}  ({meta['started_utc']}, {profile}, git {meta['git']})\n")
    print(table)
    print(f"\nresults: {out}")
    failed = [(lbl, n) for lbl, rs in results.items() for n, r in rs.items() if not r.get("ok")]
    for lbl, n in failed:
        print(f"FAILED {lbl} {n}: {results[lbl][n].get('error')}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
