"""The bench scenarios, written once against the MLflow-shaped API.

The same functions run against MLflow (``import mlflow``) and modelyard
(``import modelyard as mlflow``): each receives an `Api` bundle (the fluent module, the
client class and the entity classes) and a tracking URI. This module imports only the
standard library at load time, so it runs unchanged in either virtual environment:

    <venv>/bin/python -m bench.workload --system mlflow --uri http://127.0.0.1:P \
        --scenario log_metric --json

It prints one JSON object (the result) as the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

SEARCH_EXPERIMENT = "bench-search"
SEARCH_FILTER = "metrics.acc > 0.5 AND params.model = 'cnn'"
SEARCH_ORDER = "metrics.acc DESC"
MODELS = ("cnn", "rnn", "mlp", "transformer")


@dataclass(frozen=True)
class Api:
    """The MLflow-shaped surface of one system."""

    system: str
    mlflow: ModuleType
    Client: type
    Metric: type
    Param: type
    RunTag: type


def load_api(system: str) -> Api:
    """Import the fluent module, client class and entities of 'mlflow' or 'modelyard'."""
    if system == "mlflow":
        import mlflow as fluent
        from mlflow import MlflowClient
        from mlflow.entities import Metric, Param, RunTag
    elif system == "modelyard":
        import modelyard as fluent
        from modelyard import MlflowClient
        from modelyard.entities import Metric, Param, RunTag
    else:
        raise ValueError(f"unknown system {system!r}")
    return Api(system, fluent, MlflowClient, Metric, Param, RunTag)


# -- helpers -----------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Return the q-th percentile (0-100) of values, nearest-rank on sorted data."""
    if not values:
        return float("nan")
    data = sorted(values)
    k = max(0, min(len(data) - 1, round(q / 100.0 * (len(data) - 1))))
    return data[k]


def now_ms() -> int:
    """Wall-clock time in milliseconds, as the tracking APIs expect."""
    return int(time.time() * 1000)


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _work(iterations: int) -> float:
    """A fixed amount of pure-Python CPU work (holds the GIL, like a Python training step)."""
    acc = 0.0
    for i in range(iterations):
        acc += i * 0.5
    return acc


def calibrate_work(seconds: float) -> int:
    """Iterations of `_work` that take `seconds` on this machine when nothing else runs."""
    n = 20_000
    best = float("inf")
    for _ in range(15):
        t0 = time.perf_counter()
        _work(n)
        best = min(best, time.perf_counter() - t0)
    return max(1, int(n * seconds / best))


def _result(value: float, unit: str, reps: list[float], **extra: Any) -> dict[str, Any]:
    return {"value": value, "unit": unit, "reps": reps, **extra}


# -- scenario 1: single synchronous log_metric ---------------------------------------------


def log_metric(api: Api, uri: str, p: dict[str, Any]) -> dict[str, Any]:
    """Latency of single synchronous Client.log_metric calls over the server (p50/p99 ms)."""
    n, reps, warmup = int(p.get("n", 1000)), int(p.get("reps", 3)), int(p.get("warmup", 20))
    client = api.Client(tracking_uri=uri)
    exp_id = client.create_experiment(_unique("bench-log-metric"))
    p50s: list[float] = []
    p99s: list[float] = []
    for _ in range(reps):
        run_id = client.create_run(exp_id).info.run_id
        for i in range(warmup):
            client.log_metric(run_id, "warm", float(i), step=i)
        lat: list[float] = []
        for i in range(n):
            t0 = time.perf_counter()
            client.log_metric(run_id, "loss", 1.0 / (i + 1), step=i)
            lat.append((time.perf_counter() - t0) * 1000.0)
        client.set_terminated(run_id)
        p50s.append(percentile(lat, 50))
        p99s.append(percentile(lat, 99))
    return _result(
        statistics.median(p50s), "ms", p50s, p99_ms=statistics.median(p99s), p99_reps=p99s, n=n
    )


# -- scenario 2: log_batch ingest ----------------------------------------------------------


def _metric_batch(api: Api, start_step: int, size: int, keys: int = 10) -> list[Any]:
    ts = now_ms()
    steps_per_key = size // keys
    return [
        api.Metric(key=f"m{k}", value=random.random(), timestamp=ts, step=start_step + s)
        for k in range(keys)
        for s in range(steps_per_key)
    ]


def log_batch(api: Api, uri: str, p: dict[str, Any]) -> dict[str, Any]:
    """Throughput of Client.log_batch with 1,000 metric points per call (points/s)."""
    calls, reps, size = int(p.get("calls", 100)), int(p.get("reps", 3)), int(p.get("size", 1000))
    client = api.Client(tracking_uri=uri)
    exp_id = client.create_experiment(_unique("bench-log-batch"))
    rates: list[float] = []
    for _ in range(reps):
        run_id = client.create_run(exp_id).info.run_id
        client.log_batch(run_id, metrics=_metric_batch(api, 10**6, size))  # warm-up
        batches = [_metric_batch(api, i * (size // 10), size) for i in range(calls)]
        t0 = time.perf_counter()
        for batch in batches:
            client.log_batch(run_id, metrics=batch)
        elapsed = time.perf_counter() - t0
        client.set_terminated(run_id)
        rates.append(calls * size / elapsed)
    return _result(statistics.median(rates), "points/s", rates, calls=calls, batch_size=size)


# -- scenario 3: training loop -----------------------------------------------------------


def _train_run(api: Api, steps: int, synchronous: bool) -> None:
    fl = api.mlflow
    with fl.start_run():
        fl.log_params({f"param_{i}": str(i * 0.1) for i in range(10)})
        for step in range(steps):
            fl.log_metrics(
                {f"metric_{k}": 1.0 / (step + k + 1) for k in range(5)},
                step=step,
                synchronous=synchronous,
            )


def train_sync(api: Api, uri: str, p: dict[str, Any]) -> dict[str, Any]:
    """Fluent training loop: runs x (log_params of 10, steps x log_metrics of 5), seconds."""
    runs, steps, reps = int(p.get("runs", 10)), int(p.get("steps", 500)), int(p.get("reps", 1))
    full_runs = int(p.get("full_runs", 10))
    fl = api.mlflow
    fl.set_tracking_uri(uri)
    fl.set_experiment(_unique("bench-train"))
    totals: list[float] = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _r in range(runs):
            _train_run(api, steps, synchronous=True)
        totals.append(time.perf_counter() - t0)
    measured = statistics.median(totals)
    factor = full_runs / runs
    return _result(
        measured * factor,
        "s",
        [t * factor for t in totals],
        measured_s=measured,
        runs=runs,
        steps=steps,
        extrapolation_factor=factor,
    )


def train_async(api: Api, uri: str, p: dict[str, Any]) -> dict[str, Any]:
    """Overhead (%) that synchronous=False logging adds to a loop computing 1 ms per step.

    The body is a fixed amount of pure-Python work calibrated to 1 ms (not a wall-clock wait),
    so time the background logger takes from the training thread (GIL, CPU) shows up. The
    baseline (same loop, no logging) is measured before and after each logged loop.
    """
    steps, reps = int(p.get("steps", 2000)), int(p.get("reps", 3))
    iters = calibrate_work(float(p.get("body_ms", 1.0)) / 1000.0)
    fl = api.mlflow
    fl.set_tracking_uri(uri)
    fl.set_experiment(_unique("bench-train-async"))
    flush = getattr(fl, "flush_async_logging", None)

    def baseline() -> float:
        t0 = time.perf_counter()
        for _s in range(steps):
            _work(iters)
        return time.perf_counter() - t0

    over_total: list[float] = []
    over_loop: list[float] = []
    bases: list[float] = []
    baseline()  # warm-up
    for _ in range(reps):
        before = baseline()
        t0 = time.perf_counter()
        run = fl.start_run()
        fl.log_params({f"param_{i}": str(i * 0.1) for i in range(10)}, synchronous=False)
        for step in range(steps):
            _work(iters)
            fl.log_metrics(
                {f"metric_{k}": 1.0 / (step + k + 1) for k in range(5)},
                step=step,
                synchronous=False,
            )
        loop = time.perf_counter() - t0
        if flush is not None:
            flush()
        fl.end_run()
        total = time.perf_counter() - t0
        base = (before + baseline()) / 2.0
        bases.append(base)
        over_loop.append((loop - base) / base * 100.0)
        over_total.append((total - base) / base * 100.0)
        # every point must have arrived
        got = api.Client(tracking_uri=uri).get_metric_history(run.info.run_id, "metric_0")
        if len(got) != steps:
            raise RuntimeError(f"async logging lost points: {len(got)} of {steps}")
    return _result(
        statistics.median(over_total),
        "%",
        over_total,
        overhead_loop_only_pct=statistics.median(over_loop),
        overhead_loop_only_reps=over_loop,
        baseline_s=statistics.median(bases),
        steps=steps,
        work_iterations=iters,
    )


# -- scenario 4: create runs from 8 threads ---------------------------------------------------


def _one_small_run(api: Api, client: Any, exp_id: str, i: int) -> None:
    run_id = client.create_run(exp_id).info.run_id
    ts = now_ms()
    client.log_batch(
        run_id,
        metrics=[
            api.Metric(key=f"m{k}", value=random.random(), timestamp=ts, step=0) for k in range(3)
        ],
        params=[api.Param(key=f"p{k}", value=str(i + k)) for k in range(3)],
        tags=[api.RunTag(key=f"t{k}", value=f"v{i}") for k in range(2)],
    )
    client.set_terminated(run_id)


def create_runs(api: Api, uri: str, p: dict[str, Any]) -> dict[str, Any]:
    """Runs/s when 8 threads each create runs (create, one log_batch of 3+3+2, end)."""
    threads = int(p.get("threads", 8))
    per_thread, reps = int(p.get("runs_per_thread", 100)), int(p.get("reps", 3))
    exp_id = api.Client(tracking_uri=uri).create_experiment(_unique("bench-create-runs"))
    rates: list[float] = []
    errors_total = 0
    for _ in range(reps):
        barrier = threading.Barrier(threads + 1)
        errors: list[str] = []
        done = [0] * threads

        def worker(
            idx: int,
            barrier: threading.Barrier = barrier,
            errors: list[str] = errors,
            done: list[int] = done,
        ) -> None:
            client = api.Client(tracking_uri=uri)
            barrier.wait()
            for i in range(per_thread):
                try:
                    _one_small_run(api, client, exp_id, idx * per_thread + i)
                    done[idx] += 1
                except Exception as exc:
                    errors.append(repr(exc)[:300])

        pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
        for t in pool:
            t.start()
        barrier.wait()
        t0 = time.perf_counter()
        for t in pool:
            t.join(timeout=3600)
        elapsed = time.perf_counter() - t0
        rates.append(sum(done) / elapsed)
        errors_total += len(errors)
        if errors:
            print(f"create_runs errors: {errors[:3]}", file=sys.stderr)
    return _result(
        statistics.median(rates),
        "runs/s",
        rates,
        errors=errors_total,
        threads=threads,
        runs_per_thread=per_thread,
    )


# -- scenarios 5 and 6: search -----------------------------------------------------------------


def _sqlite_no_fsync() -> None:
    """Seeding only: make every new SQLite connection skip fsync (PRAGMA synchronous=OFF).

    The journal mode each system chose is left as it is; nothing measured runs with this.
    """
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        if type(dbapi_conn).__module__.startswith("sqlite3"):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA synchronous=OFF")
            cur.close()

    event.listen(Engine, "connect", on_connect)


def seed_search(api: Api, uri: str, p: dict[str, Any]) -> dict[str, Any]:
    """Seed SEARCH_EXPERIMENT with n runs (3 params, 3 metrics, 2 tags) through the client.

    Runs in-process on a sqlite:/// URI before the server starts (fsync off while seeding).
    """
    n = int(p.get("runs", 10_000))
    if uri.startswith("sqlite:") and p.get("no_fsync", True):
        _sqlite_no_fsync()
    rng = random.Random(42)
    client = api.Client(tracking_uri=uri)
    exp_id = client.create_experiment(SEARCH_EXPERIMENT)
    t0 = time.perf_counter()
    base_ts = now_ms() - n * 1000
    for i in range(n):
        ts = base_ts + i * 1000
        run_id = client.create_run(exp_id, start_time=ts).info.run_id
        client.log_batch(
            run_id,
            metrics=[
                api.Metric(key="acc", value=rng.random(), timestamp=ts, step=0),
                api.Metric(key="loss", value=rng.random() * 3, timestamp=ts, step=0),
                api.Metric(key="f1", value=rng.random(), timestamp=ts, step=0),
            ],
            params=[
                api.Param(key="model", value=MODELS[i % len(MODELS)]),
                api.Param(key="lr", value=str(rng.choice([0.1, 0.01, 0.001]))),
                api.Param(key="batch_size", value=str(rng.choice([16, 32, 64, 128]))),
            ],
            tags=[
                api.RunTag(key="team", value=f"team-{i % 5}"),
                api.RunTag(key="stage", value="dev"),
            ],
        )
        client.set_terminated(run_id, end_time=ts + 500)
        if i and i % 1000 == 0:
            rate = i / (time.perf_counter() - t0)
            print(f"seeded {i}/{n} runs ({rate:.0f} runs/s)", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - t0
    return _result(n / elapsed, "runs/s", [n / elapsed], runs=n, seconds=elapsed)


def _search(api: Api, uri: str, p: dict[str, Any], filtered: bool) -> dict[str, Any]:
    n, reps = int(p.get("n", 20)), int(p.get("reps", 3))
    expect = int(p.get("max_results", 100 if filtered else 1000))
    client = api.Client(tracking_uri=uri)
    exp = client.get_experiment_by_name(SEARCH_EXPERIMENT)
    if exp is None:
        raise RuntimeError("search experiment not seeded")
    kwargs: dict[str, Any] = {"max_results": expect}
    if filtered:
        kwargs.update(filter_string=SEARCH_FILTER, order_by=[SEARCH_ORDER])

    def call() -> int:
        return len(client.search_runs([exp.experiment_id], **kwargs))

    for _ in range(2):
        call()
    p50s: list[float] = []
    lat_all: list[float] = []
    for _ in range(reps):
        lat: list[float] = []
        for _i in range(n):
            t0 = time.perf_counter()
            got = call()
            lat.append((time.perf_counter() - t0) * 1000.0)
            if got != expect:
                raise RuntimeError(f"search returned {got} runs, expected {expect}")
        p50s.append(percentile(lat, 50))
        lat_all += lat
    return _result(
        statistics.median(p50s),
        "ms",
        p50s,
        p99_ms=percentile(lat_all, 99),
        n=n,
        results=expect,
    )


def search_filtered(api: Api, uri: str, p: dict[str, Any]) -> dict[str, Any]:
    """p50 ms of search_runs with a metric and a param filter, ordered by metric, 100 results."""
    return _search(api, uri, p, filtered=True)


def search_unfiltered(api: Api, uri: str, p: dict[str, Any]) -> dict[str, Any]:
    """p50 ms of search_runs unfiltered, 1,000 results."""
    return _search(api, uri, p, filtered=False)


# -- scenario 7: metric history ---------------------------------------------------------------


def metric_history(api: Api, uri: str, p: dict[str, Any]) -> dict[str, Any]:
    """Seconds for Client.get_metric_history to return all points of a 100,000-point metric."""
    points, reps, size = int(p.get("points", 100_000)), int(p.get("reps", 3)), 1000
    client = api.Client(tracking_uri=uri)
    exp_id = client.create_experiment(_unique("bench-history"))
    run_id = client.create_run(exp_id).info.run_id
    ts = now_ms()
    t0 = time.perf_counter()
    for start in range(0, points, size):
        client.log_batch(
            run_id,
            metrics=[
                api.Metric(key="loss", value=1.0 / (s + 1), timestamp=ts + s, step=s)
                for s in range(start, min(points, start + size))
            ],
        )
    seed_s = time.perf_counter() - t0
    times: list[float] = []
    for _ in range(reps):
        t0 = time.perf_counter()
        hist = client.get_metric_history(run_id, "loss")
        times.append(time.perf_counter() - t0)
        if len(hist) != points:
            raise RuntimeError(f"history has {len(hist)} points, expected {points}")
    return _result(
        statistics.median(times),
        "s",
        times,
        points=points,
        seed_s=seed_s,
        seed_points_per_s=points / seed_s,
    )


# -- scenario 8: 8 processes x 20 runs x 200 log_metric ---------------------------------------


def _mp_worker(
    system: str, uri: str, exp_id: str, runs: int, calls: int, barrier: Any, queue: Any
) -> None:
    """One client process of the multi-process scenario; puts its stats on the queue."""
    out: dict[str, Any] = {"lat": [], "errors": [], "t_start": 0.0, "t_end": 0.0}
    try:
        api = load_api(system)
        client = api.Client(tracking_uri=uri)
        barrier.wait(timeout=600)
        out["t_start"] = time.time()
        for _r in range(runs):
            try:
                run_id = client.create_run(exp_id).info.run_id
            except Exception as exc:
                out["errors"].append(f"create_run: {exc!r}"[:300])
                continue
            for i in range(calls):
                t0 = time.perf_counter()
                try:
                    client.log_metric(run_id, "loss", 1.0 / (i + 1), step=i)
                    out["lat"].append((time.perf_counter() - t0) * 1000.0)
                except Exception as exc:
                    out["errors"].append(f"log_metric: {exc!r}"[:300])
            try:
                client.set_terminated(run_id)
            except Exception as exc:
                out["errors"].append(f"set_terminated: {exc!r}"[:300])
        out["t_end"] = time.time()
    except Exception:
        out["errors"].append(traceback.format_exc()[-500:])
        barrier.abort()
    queue.put(out)


def multiproc(api: Api, uri: str, p: dict[str, Any]) -> dict[str, Any]:
    """Calls/s, errors and p99 of 8 processes x runs x 200 single log_metric calls."""
    import multiprocessing as mp

    from bench import workload as this  # picklable by module name in spawned children

    procs_n, runs = int(p.get("processes", 8)), int(p.get("runs_per_process", 20))
    calls, reps = int(p.get("calls_per_run", 200)), int(p.get("reps", 1))
    exp_id = api.Client(tracking_uri=uri).create_experiment(_unique("bench-multiproc"))
    ctx = mp.get_context("spawn")
    rates: list[float] = []
    p99s: list[float] = []
    errors_total = 0
    samples: list[str] = []
    for _ in range(reps):
        barrier = ctx.Barrier(procs_n)
        queue = ctx.Queue()
        procs = [
            ctx.Process(
                target=this._mp_worker,
                args=(api.system, uri, exp_id, runs, calls, barrier, queue),
                daemon=True,
            )
            for _ in range(procs_n)
        ]
        for pr in procs:
            pr.start()
        outs = [queue.get(timeout=3600) for _ in procs]
        for pr in procs:
            pr.join(timeout=60)
            if pr.is_alive():
                pr.kill()
        lat = [x for o in outs for x in o["lat"]]
        errs = [e for o in outs for e in o["errors"]]
        started = [o["t_start"] for o in outs if o["t_start"]]
        ended = [o["t_end"] for o in outs if o["t_end"]]
        wall = (max(ended) - min(started)) if started and ended else float("nan")
        rates.append(len(lat) / wall)
        p99s.append(percentile(lat, 99))
        errors_total += len(errs)
        samples += errs[:3]
    return _result(
        statistics.median(rates),
        "calls/s",
        rates,
        errors=errors_total,
        error_samples=samples,
        p99_ms=statistics.median(p99s),
        p50_ms=None,
        processes=procs_n,
        runs_per_process=runs,
        calls_per_run=calls,
    )


# -- scenario 9 helper: a few calls before measuring memory -------------------------------------


def warm(api: Api, uri: str, p: dict[str, Any]) -> dict[str, Any]:
    """A few ordinary calls so the server has loaded what serving needs (for idle RSS)."""
    client = api.Client(tracking_uri=uri)
    exp_id = client.create_experiment(_unique("bench-warm"))
    run_id = client.create_run(exp_id).info.run_id
    for i in range(20):
        client.log_metric(run_id, "loss", 1.0 / (i + 1), step=i)
    client.log_batch(run_id, metrics=_metric_batch(api, 0, 1000))
    client.log_param(run_id, "lr", "0.1")
    client.set_tag(run_id, "t", "v")
    client.get_run(run_id)
    client.search_runs([exp_id], filter_string="metrics.loss < 1", max_results=10)
    client.get_metric_history(run_id, "loss")
    client.set_terminated(run_id)
    return _result(0.0, "", [])


SCENARIOS: dict[str, Callable[[Api, str, dict[str, Any]], dict[str, Any]]] = {
    "log_metric": log_metric,
    "log_batch": log_batch,
    "train_sync": train_sync,
    "train_async": train_async,
    "create_runs": create_runs,
    "seed_search": seed_search,
    "search_filtered": search_filtered,
    "search_unfiltered": search_unfiltered,
    "metric_history": metric_history,
    "multiproc": multiproc,
    "warm": warm,
}


def _artifact_scenarios() -> None:
    """Add the artifact scenarios (bench/artifacts.py) to SCENARIOS."""
    from bench import artifacts

    SCENARIOS.update(artifacts.SCENARIOS)


_artifact_scenarios()


def main(argv: Sequence[str] | None = None) -> int:
    """Run one scenario against one system and print its result as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--system", required=True, choices=["mlflow", "modelyard"])
    parser.add_argument("--uri", required=True)
    parser.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    parser.add_argument("--params", default="{}", help="JSON object of scenario parameters")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line")
    args = parser.parse_args(argv)
    params = json.loads(args.params)
    random.seed(int(params.get("seed", 1234)))
    api = load_api(args.system)
    t0 = time.perf_counter()
    try:
        res = SCENARIOS[args.scenario](api, args.uri, params)
        res["ok"] = True
    except Exception as exc:
        traceback.print_exc()
        res = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:2000]}
    res.update(
        scenario=args.scenario,
        system=args.system,
        params=params,
        wall_s=time.perf_counter() - t0,
        pid=os.getpid(),
    )
    sys.stdout.flush()
    print(json.dumps(res) if args.json else res, flush=True)
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
