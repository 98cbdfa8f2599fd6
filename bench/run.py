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
import datetime as dt
import json
import math
import os
import platform
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

from bench import mlflow_env, servers

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
]
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
    python: str, system: str, uri: str, scenario: str, params: dict[str, Any], root: Path
) -> dict[str, Any]:
    """Run one scenario in a subprocess of the given interpreter; return its JSON result."""
    shim = _shim_dir(root)
    cmd = [
        python,
        "-P",
        "-m",
        "bench.workload",
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
        plain = [
            n for n in names if n not in ("search_filtered", "search_unfiltered", "idle_memory")
        ]
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
    finally:
        shutil.rmtree(root, ignore_errors=True)
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


# -- table ----------------------------------------------------------------------------------


def fmt(value: float | None, unit: str) -> str:
    """Format a measured value with its unit."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if unit in ("points/s", "calls/s", "runs/s", "MB"):
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
    text = fmt(res.get("value"), sc.unit)
    extras = []
    if sc.name in ("log_metric", "multiproc") and res.get("p99_ms") is not None:
        extras.append(f"p99 {res['p99_ms']:.1f} ms")
    if "errors" in res and sc.name in ("create_runs", "multiproc"):
        extras.append(f"{res['errors']} err")
    if res.get("extrapolation_factor", 1) != 1:
        extras.append(f"x{res['extrapolation_factor']:g} extrap.")
    if sc.name == "multiproc" and res.get("runs_per_process", 20) != 20:
        extras.append(f"{res['runs_per_process']} runs/proc")
    if sc.name == "idle_memory":
        extras.append(f"PSS {res.get('pss_mb', 0):,.0f} MB, {res.get('processes')} procs")
    return text + (f" ({', '.join(extras)})" if extras else "")


def _best(results: list[dict[str, Any] | None], sc: Scenario) -> dict[str, Any] | None:
    ok = [r for r in results if r and r.get("ok") and r.get("value") is not None]
    if not ok:
        return None
    key = (lambda r: r["value"]) if sc.higher_is_better else (lambda r: -r["value"])
    return max(ok, key=key)


def ratio(mine: dict[str, Any] | None, theirs: dict[str, Any] | None, sc: Scenario) -> str:
    """How many times better modelyard is than MLflow (>1 = better)."""
    if not mine or not theirs or not mine.get("ok") or not theirs.get("ok"):
        return "-"
    a, b = float(mine["value"]), float(theirs["value"])
    if a <= 0 or b <= 0:
        return "-"
    r = a / b if sc.higher_is_better else b / a
    return f"{r:,.1f}x"


def render_table(results: dict[str, dict[str, dict[str, Any]]], profile: str) -> str:
    """Markdown table: scenario | MLflow (each variant) | modelyard | ratio | target | met?."""
    mlflow_labels = [k for k in results if k.startswith("mlflow")]
    have_mlflow = bool(mlflow_labels)
    head = ["#", "scenario"]
    head += [f"MLflow {lbl.removeprefix('mlflow-')}" for lbl in mlflow_labels] or [
        "MLflow 3.17 (issue: 4w / 1w)"
    ]
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
        row.append(_cell(mine, sc))
        row.append(ratio(mine, best, sc) if have_mlflow else "-")
        row.append(sc.target)
        if mine is None:
            met = "-"
        elif not mine.get("ok"):
            met = "no (failed)"
        elif profile == "quick" and sc.size_dependent:
            met = "n/a (quick)"
        else:
            met = "yes" if sc.met(mine) else "**no**"
        row.append(met)
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
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = (
        Path(args.out)
        if args.out
        else RESULTS_DIR / (f"bench-{started.strftime('%Y%m%dT%H%M%SZ')}-{profile}.json")
    )
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
