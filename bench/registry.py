"""The model-registry scenarios of the bench (issue 4), run in a workload subprocess.

    <venv>/bin/python -m bench.registry --system modelyard --uri grpc://127.0.0.1:P \
        --scenario registry_ops --json

Each function has the workload signature `(api, uri, params) -> result` and runs through the
system's own `MlflowClient` with the same calls (`create_registered_model`,
`create_model_version`, `transition_model_version_stage`, `set_registered_model_alias`,
`search_model_versions`). Versions need real sources: every scenario first saves one tiny
scikit-learn model with the system's own `sklearn.save_model`, logs it once as the artifacts
of one run (`runs:/<run_id>/model`) and then registers that source many times (modelyard hashes
the files of every version it registers, so the model is kept tiny).

- 14 `registry_ops`: ops/s of a mixed loop (create a version, transition it to Production
  archiving the previous one, point the alias `champion` at it) with 1 and 4 client threads,
  each thread on its own registered model.
- 15 `concurrent_versions`: 10 client threads (each with its own client) create versions of one
  registered model at once; every returned number must be unique, the model's numbers gapless
  (1..N), and no call may fail.
- 16 `search_versions_10k`: p50 of `search_model_versions` with a tag filter over 10,000
  versions (seeded in-process by `seed_versions` on the SQLite file before the server starts).

Only the standard library is imported at load time (this runs in either venv).
"""

from __future__ import annotations

import importlib
import statistics
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench import workload
from bench.workload import Api, _unique, percentile

SEARCH_VERSIONS_FILTER = "tags.batch = '42'"
SEARCH_VERSIONS_BATCHES = 100
SEED_EXPERIMENT = "bench-registry-seed"


def _quiet() -> None:
    """MLflow warns on every stage call (stages are deprecated there); keep stderr readable."""
    warnings.simplefilter("ignore")


def log_tiny_model(api: Api, client: Any, experiment_id: str) -> str:
    """Save a one-feature LinearRegression with the system's sklearn flavor, log it as the
    artifacts of a new run at `model`; return the run id."""
    import numpy as np
    from sklearn.linear_model import LinearRegression

    flavor = importlib.import_module(f"{api.mlflow.__name__}.sklearn")
    model = LinearRegression().fit(np.array([[0.0], [1.0], [2.0]]), np.array([1.0, 3.0, 5.0]))
    run_id = client.create_run(experiment_id).info.run_id
    with tempfile.TemporaryDirectory(prefix="bench-model-") as tmp:
        local = Path(tmp) / "model"
        flavor.save_model(model, str(local))
        client.log_artifacts(run_id, str(local), "model")
    client.set_terminated(run_id)
    return run_id


def _source_run(api: Api, client: Any, artifact_location: str | None = None) -> str:
    exp_id = client.create_experiment(_unique("bench-registry"), artifact_location)
    return log_tiny_model(api, client, exp_id)


def _version_number(mv: Any) -> int:
    return int(mv.version)


# -- scenario 14: mixed registry operations ----------------------------------------------------


def _ops_once(
    api: Api, uri: str, run_id: str, threads: int, iterations: int
) -> tuple[float, int, list[str], dict[str, list[float]]]:
    """One timed repetition: (ops/s, ops done, errors, latencies in ms per op kind)."""
    source = f"runs:/{run_id}/model"
    barrier = threading.Barrier(threads + 1)
    errors: list[str] = []
    done = [0] * threads
    lat: dict[str, list[float]] = {"create": [], "transition": [], "alias": []}
    lock = threading.Lock()

    def worker(idx: int) -> None:
        _quiet()
        client = api.Client(tracking_uri=uri)
        name = _unique(f"bench-ops-t{idx}")
        client.create_registered_model(name)
        mine: dict[str, list[float]] = {k: [] for k in lat}
        barrier.wait()
        for _ in range(iterations):
            try:
                t0 = time.perf_counter()
                mv = client.create_model_version(name, source, run_id=run_id)
                t1 = time.perf_counter()
                version = str(_version_number(mv))
                client.transition_model_version_stage(
                    name, version, "Production", archive_existing_versions=True
                )
                t2 = time.perf_counter()
                client.set_registered_model_alias(name, "champion", version)
                t3 = time.perf_counter()
            except Exception as exc:
                errors.append(repr(exc)[:300])
                continue
            done[idx] += 3
            mine["create"].append((t1 - t0) * 1000.0)
            mine["transition"].append((t2 - t1) * 1000.0)
            mine["alias"].append((t3 - t2) * 1000.0)
        with lock:
            for key, values in mine.items():
                lat[key].extend(values)

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in pool:
        t.join(timeout=3600)
    elapsed = time.perf_counter() - t0
    return sum(done) / elapsed, sum(done), errors, lat


def registry_ops(api: Api, uri: str, p: dict[str, Any]) -> dict[str, Any]:
    """Ops/s of create version + transition (archive existing) + set alias, 1 and 4 threads."""
    _quiet()
    thread_counts = [int(x) for x in p.get("threads", [1, 4])]
    iterations, reps = int(p.get("iterations", 100)), int(p.get("reps", 3))
    client = api.Client(tracking_uri=uri)
    run_id = _source_run(api, client)
    _ops_once(api, uri, run_id, 1, int(p.get("warmup", 5)))  # connections, caches, JIT-free
    by_threads: dict[str, dict[str, Any]] = {}
    errors_total = 0
    error_samples: list[str] = []
    for threads in thread_counts:
        rates: list[float] = []
        lat_all: dict[str, list[float]] = {"create": [], "transition": [], "alias": []}
        for _ in range(reps):
            rate, _ops, errors, lat = _ops_once(api, uri, run_id, threads, iterations)
            rates.append(rate)
            errors_total += len(errors)
            error_samples += errors[:3]
            for key, values in lat.items():
                lat_all[key] += values
        by_threads[str(threads)] = {
            "ops_per_s": statistics.median(rates),
            "reps": rates,
            "p50_ms": {k: percentile(v, 50) for k, v in lat_all.items()},
        }
    best_threads = max(by_threads, key=lambda k: by_threads[k]["ops_per_s"])
    headline = str(max(thread_counts))
    return workload._result(
        by_threads[headline]["ops_per_s"],
        "ops/s",
        by_threads[headline]["reps"],
        threads=by_threads,
        headline_threads=int(headline),
        best_threads=int(best_threads),
        iterations_per_thread=iterations,
        errors=errors_total,
        error_samples=error_samples[:5],
    )


# -- scenario 15: concurrent version creation --------------------------------------------------


def _all_versions(client: Any, name: str) -> list[int]:
    numbers: list[int] = []
    token = None
    while True:
        page = client.search_model_versions(f"name = '{name}'", max_results=1000, page_token=token)
        numbers += [_version_number(v) for v in page]
        token = getattr(page, "token", None)
        if not token:
            return sorted(numbers)


def concurrent_versions(api: Api, uri: str, p: dict[str, Any]) -> dict[str, Any]:
    """10 clients create versions of one model at once: unique, gapless numbers, 0 errors."""
    _quiet()
    clients_n, per_client = int(p.get("clients", 10)), int(p.get("versions_per_client", 50))
    reps = int(p.get("reps", 3))
    client = api.Client(tracking_uri=uri)
    run_id = _source_run(api, client)
    source = f"runs:/{run_id}/model"
    rates: list[float] = []
    errors_total = 0
    error_samples: list[str] = []
    checks: list[dict[str, Any]] = []
    for _ in range(reps):
        name = _unique("bench-concurrent")
        client.create_registered_model(name)
        barrier = threading.Barrier(clients_n + 1)
        returned: list[list[int]] = [[] for _ in range(clients_n)]
        errors: list[str] = []

        def worker(
            idx: int,
            name: str = name,
            barrier: threading.Barrier = barrier,
            returned: list[list[int]] = returned,
            errors: list[str] = errors,
        ) -> None:
            _quiet()
            mine = api.Client(tracking_uri=uri)
            barrier.wait()
            for _ in range(per_client):
                try:
                    mv = mine.create_model_version(name, source, run_id=run_id)
                    returned[idx].append(_version_number(mv))
                except Exception as exc:
                    errors.append(repr(exc)[:300])

        pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients_n)]
        for t in pool:
            t.start()
        barrier.wait()
        t0 = time.perf_counter()
        for t in pool:
            t.join(timeout=3600)
        elapsed = time.perf_counter() - t0
        got = [n for nums in returned for n in nums]
        stored = _all_versions(client, name)
        check = {
            "created": len(got),
            "unique": len(set(got)) == len(got),
            "stored": len(stored),
            "gapless": stored == list(range(1, len(stored) + 1)),
            "returned_match_stored": sorted(got) == stored,
            "errors": len(errors),
        }
        checks.append(check)
        rates.append(len(got) / elapsed)
        errors_total += len(errors)
        error_samples += errors[:3]
    ok = all(c["unique"] and c["gapless"] and c["returned_match_stored"] for c in checks)
    return workload._result(
        statistics.median(rates),
        "versions/s",
        rates,
        clients=clients_n,
        versions_per_client=per_client,
        unique_gapless=ok,
        checks=checks,
        errors=errors_total,
        error_samples=error_samples[:5],
    )


# -- scenario 16: search_model_versions over 10,000 versions -----------------------------------


def seed_versions(api: Api, uri: str, p: dict[str, Any]) -> dict[str, Any]:
    """Seed n versions (spread over `models` registered models, tags batch/stage) in-process.

    Runs on the sqlite:/// URI before the server starts, with fsync off while seeding; the
    source run's artifacts go to `artifact_root` (a local folder beside the database).
    """
    _quiet()
    n, models = int(p.get("versions", 10_000)), int(p.get("models", 10))
    if uri.startswith("sqlite:"):
        workload._sqlite_no_fsync()
    client = api.Client(tracking_uri=uri)
    exp_id = client.create_experiment(SEED_EXPERIMENT, p.get("artifact_root"))
    run_id = log_tiny_model(api, client, exp_id)
    source = f"runs:/{run_id}/model"
    names = [f"bench-search-{m:03d}" for m in range(models)]
    for name in names:
        client.create_registered_model(name)
    t0 = time.perf_counter()
    for i in range(n):
        tags = {"batch": str(i % SEARCH_VERSIONS_BATCHES), "team": f"team-{i % 7}"}
        client.create_model_version(names[i % models], source, run_id=run_id, tags=tags)
        if i and i % 1000 == 0:
            rate = i / (time.perf_counter() - t0)
            print(f"seeded {i}/{n} versions ({rate:.0f}/s)", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - t0
    return workload._result(n / elapsed, "versions/s", [n / elapsed], versions=n, seconds=elapsed)


def search_versions_10k(api: Api, uri: str, p: dict[str, Any]) -> dict[str, Any]:
    """p50 ms of search_model_versions with a tag filter (1 in 100 versions match)."""
    _quiet()
    n, reps = int(p.get("n", 20)), int(p.get("reps", 3))
    expect = int(p["expect"])
    client = api.Client(tracking_uri=uri)

    def call() -> int:
        return len(client.search_model_versions(SEARCH_VERSIONS_FILTER, max_results=1000))

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
                raise RuntimeError(f"search returned {got} versions, expected {expect}")
        p50s.append(percentile(lat, 50))
        lat_all += lat
    return workload._result(
        statistics.median(p50s),
        "ms",
        p50s,
        p99_ms=percentile(lat_all, 99),
        n=n,
        results=expect,
        filter=SEARCH_VERSIONS_FILTER,
    )


SCENARIOS: dict[str, Callable[[Api, str, dict[str, Any]], dict[str, Any]]] = {
    "registry_ops": registry_ops,
    "concurrent_versions": concurrent_versions,
    "seed_versions": seed_versions,
    "search_versions_10k": search_versions_10k,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one registry scenario through bench.workload's command line."""
    workload.SCENARIOS.update(SCENARIOS)
    return workload.main(argv)


if __name__ == "__main__":
    sys.exit(main())
