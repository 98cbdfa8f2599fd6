"""The seed examples run unchanged but for the import line, embedded and against a live server.

Each example runs in a fresh working directory as its own process. What it logged is then read
back through `modelyard.Client` and compared value by value; artifacts are listed, downloaded
and compared byte for byte with the files the example wrote in its working directory.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from modelyard import Client
from tests.integration.e2e.test_model_promotion import check_hyperparameter_search

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _env(tracking_uri: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    if tracking_uri:
        env["MODELYARD_TRACKING_URI"] = tracking_uri
    return env


def _run_example(name: str, cwd: Path, tracking_uri: str | None) -> str:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        cwd=cwd,
        env=_env(tracking_uri),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _printed_run_id(stdout: str) -> str:
    match = re.search(r"run_id: ([0-9a-f]{32})", stdout)
    assert match, stdout
    return match.group(1)


def _history(client: Client, run_id: str, key: str) -> list[tuple[int, float]]:
    return [(m.step, m.value) for m in client.get_metric_history(run_id, key)]


def check_tracking_quickstart(client: Client, stdout: str, cwd: Path) -> None:
    """Seed 000: one named run in tracking-experiment."""
    _check_seed_000_run(client, stdout, "tracking_quickstart.py")


def _check_seed_000_run(client: Client, stdout: str, script: str) -> None:
    run = client.get_run(_printed_run_id(stdout))
    exp = client.get_experiment_by_name("tracking-experiment")
    assert exp is not None and run.info.experiment_id == exp.experiment_id
    assert run.info.run_name == "tracking-example-run"
    assert run.info.status == "FINISHED"
    assert run.data.params == {
        "learning_rate": "0.01",
        "epochs": "0.05",
        "final_activation": "sigmoid",
    }
    assert run.data.tags["env"] == "dev"
    assert run.data.tags["mlflow.runName"] == "tracking-example-run"
    assert run.data.tags["mlflow.source.name"].endswith(script)
    history = client.get_metric_history(run.info.run_id, "val_loss")
    assert [(m.step, m.value) for m in history] == [(0, v) for v in (0.1, 0.01, 0.001, 0.00001)]
    # All four share step 0, so the latest value is the one with the newest timestamp, and
    # among points logged in the same millisecond the largest value (MLflow's rule).
    newest = max(m.timestamp for m in history)
    expected_latest = max(m.value for m in history if m.timestamp == newest)
    assert run.data.metrics == {
        "loss": 0.001,
        "acc": 0.92,
        "auc": 0.90,
        "val_loss": expected_latest,
    }
    assert [v for _, v in _history(client, run.info.run_id, "val_loss")] == [
        0.1,
        0.01,
        0.001,
        0.00001,
    ]


def check_manual_logging(client: Client, stdout: str, cwd: Path) -> None:
    """Seed 002: a run in the Default experiment with two series over three epochs."""
    run = client.get_run(_printed_run_id(stdout))
    assert run.info.experiment_id == "0"
    assert run.data.params == {"learning_rate": "0.01", "epochs": "50"}
    assert _history(client, run.info.run_id, "train_loss") == [(0, 1.0), (1, 0.5), (2, 1 / 3)]
    assert _history(client, run.info.run_id, "val_loss") == [(0, 0.0), (1, 2.0), (2, 4.0)]
    assert run.data.metrics == {"train_loss": 1 / 3, "val_loss": 4.0}


def check_train_methodically(client: Client, stdout: str, cwd: Path) -> None:
    """Seed 003: a parent run with two nested children found by the parent tag."""
    parent = client.get_run(_printed_run_id(stdout))
    assert parent.info.run_name == "sweep"
    assert parent.data.params == {
        "learning_rate": "0.001",
        "batch_size": "32",
        "epochs": "30",
        "dataset": "CIFAR10",
    }
    assert parent.data.metrics == {"loss": 0.5, "accuracy": 0.75}
    assert [v for _, v in _history(client, parent.info.run_id, "loss")] == [
        *(1.0 / n for n in range(2, 10)),
        0.5,
    ]
    children = client.search_runs(
        [parent.info.experiment_id],
        f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'",
        order_by=["params.lr DESC"],
    )
    assert [c.data.params for c in children] == [
        {"lr": "0.1", "momentum": "0.9"},
        {"lr": "0.01", "momentum": "0.95"},
    ]
    for child, lr in zip(children, (0.1, 0.01), strict=True):
        train = _history(client, child.info.run_id, "train_rmse")
        assert [s for s, _ in train] == [0, 1, 2]
        assert all(math.isclose(v, lr * (3 - s), rel_tol=1e-12) for s, v in train), train


def check_client_query(client: Client, stdout: str, cwd: Path) -> None:
    """Seed 004: the run is found again by the example's own MlflowClient query."""
    exp = client.get_experiment_by_name("nyc-taxi-experiment")
    assert exp is not None
    runs = client.search_runs([exp.experiment_id], "tags.developer = 'arnaud'")
    assert len(runs) == 1
    run = runs[0]
    assert run.data.params["alpha"] == "0.1"
    assert run.data.params["train-data-path"] == "./data/green_tripdata_2021-01.parquet"
    assert f"run id: {run.info.run_id}, rmse: {run.data.metrics['rmse']:.4f}" in stdout


def _downloaded(client: Client, run_id: str, path: str, dst: Path) -> dict[str, bytes]:
    """Download path of a run into dst; return {path relative to dst: bytes} of every file."""
    local = Path(client.download_artifacts(run_id, path, dst))
    assert local == dst.joinpath(*path.split("/")), local
    return {p.relative_to(dst).as_posix(): p.read_bytes() for p in dst.rglob("*") if p.is_file()}


def check_log_artifacts(client: Client, stdout: str, cwd: Path) -> None:
    """Seed 000, artifacts: the run resumed by id holds data/* under states/."""
    _check_seed_000_run(client, stdout, "log_artifacts.py")
    run = client.get_run(_printed_run_id(stdout))
    assert f"Artifact uri: {run.info.artifact_uri}\n" in stdout
    assert stdout.count(f"run_id: {run.info.run_id}") == 2  # the same run, resumed
    assert [(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(run.info.run_id)] == [
        ("states", True, None)
    ]
    sources = {name: (cwd / "data" / name).read_bytes() for name in ("data.json", "features.txt")}
    assert [
        (f.path, f.is_dir, f.file_size) for f in client.list_artifacts(run.info.run_id, "states")
    ] == [(f"states/{name}", False, len(data)) for name, data in sorted(sources.items())]
    got = _downloaded(client, run.info.run_id, "states", cwd / "downloaded")
    assert got == {f"states/{name}": data for name, data in sources.items()}


def check_log_model_file(client: Client, stdout: str, cwd: Path) -> None:
    """Seed 002 with its log_artifact(local_path="model/model.pkl"): the file at the run root."""
    check_manual_logging(client, stdout, cwd)
    run_id = _printed_run_id(stdout)
    model = (cwd / "model" / "model.pkl").read_bytes()
    assert [(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(run_id)] == [
        ("model.pkl", False, len(model))
    ]
    assert _downloaded(client, run_id, "model.pkl", cwd / "downloaded") == {"model.pkl": model}


CHECKS: dict[str, Callable[[Client, str, Path], None]] = {
    "tracking_quickstart.py": check_tracking_quickstart,
    "manual_logging.py": check_manual_logging,
    "train_methodically.py": check_train_methodically,
    "client_query.py": check_client_query,
    "log_artifacts.py": check_log_artifacts,
    "log_model_file.py": check_log_model_file,
    "hyperparameter_search.py": check_hyperparameter_search,
}


def test_every_example_is_checked() -> None:
    """A new example must come with its read-back check."""
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(CHECKS)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_example_embedded(name: str, tmp_path: Path) -> None:
    """No server: the embedded SQLite default in the working directory."""
    stdout = _run_example(name, tmp_path, tracking_uri=None)
    assert (tmp_path / "modelyard.db").exists()
    client = Client(tracking_uri=f"sqlite:///{tmp_path / 'modelyard.db'}")
    CHECKS[name](client, stdout, tmp_path)


@pytest.fixture(scope="module")
def server_on_postgres(
    postgres_uri_module: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A `modelyard server` subprocess backed by PostgreSQL; yields its grpc:// URI."""
    workdir = tmp_path_factory.mktemp("server")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "modelyard",
            "server",
            "--backend-store-uri",
            postgres_uri_module,
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--http-port",
            "0",
        ],
        cwd=workdir,
        env=_env(None),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        assert match, f"server did not start: {line!r}"
        yield f"grpc://127.0.0.1:{match.group(1)}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_example_against_server(name: str, tmp_path: Path, server_on_postgres: str) -> None:
    """A live server on PostgreSQL; only MODELYARD_TRACKING_URI differs."""
    stdout = _run_example(name, tmp_path, tracking_uri=server_on_postgres)
    assert not (tmp_path / "modelyard.db").exists()
    CHECKS[name](Client(tracking_uri=server_on_postgres), stdout, tmp_path)
