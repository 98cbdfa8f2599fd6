"""Asynchronous logging against the embedded SQLite store: coalesced, never losing a point."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import modelyard as mlflow
from modelyard.client import Client, fluent
from modelyard.client import client as client_module
from modelyard.client.batching import RunOperations
from modelyard.entities import Metric, RunStatus
from modelyard.errors import ParamAlreadyLogged, RunNotActive

pytestmark = pytest.mark.integration


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh working directory with the embedded default (sqlite:///modelyard.db) in it."""
    for name in list(os.environ):
        if name.startswith("MODELYARD_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(fluent, "_active_experiment", None)
    mlflow.set_tracking_uri(None)
    yield tmp_path
    while mlflow.active_run() is not None:
        with contextlib.suppress(Exception):
            mlflow.end_run()
    mlflow.set_tracking_uri(None)
    backend = client_module._backends.pop(f"sqlite:///{tmp_path}/modelyard.db", None)
    if backend is not None:
        if backend._logger is not None:
            with contextlib.suppress(Exception):
                backend._logger.close()
        backend.store.close()


def _values(run_id: str, key: str) -> list[float]:
    return [m.value for m in Client().get_metric_history(run_id, key)]


def test_many_async_points_are_all_written_by_end_run(workdir: Path) -> None:
    with mlflow.start_run() as run:
        ops = None
        for step in range(5000):
            ops = mlflow.log_metric("loss", step / 10, step=step, synchronous=False)
        mlflow.log_params({"lr": 0.1}, synchronous=False)
        mlflow.set_tag("phase", "train", synchronous=False)
        assert isinstance(ops, RunOperations)
    got = Client().get_run(run.info.run_id)
    assert got.info.status == RunStatus.FINISHED
    assert got.data.params == {"lr": "0.1"} and got.data.tags["phase"] == "train"
    assert _values(run.info.run_id, "loss") == [step / 10 for step in range(5000)]


def test_environment_switch_turns_logging_asynchronous(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELYARD_ASYNC_LOGGING", "true")
    with mlflow.start_run() as run:
        assert isinstance(mlflow.log_metric("m", 1.0), RunOperations)
        assert isinstance(mlflow.log_param("p", 1), RunOperations)
        assert mlflow.log_metric("sync", 2.0, synchronous=True) is None
        mlflow.flush_async_logging()
        assert Client().get_run(run.info.run_id).data.metrics == {"m": 1.0, "sync": 2.0}


def test_only_the_bad_call_fails_and_its_error_names_it(workdir: Path) -> None:
    run = mlflow.start_run()
    rid = run.info.run_id
    mlflow.log_param("p", "1", synchronous=False)
    for step in range(200):
        mlflow.log_metric("m", float(step), step=step, synchronous=False)
        if step == 100:
            mlflow.log_param("p", "2", synchronous=False)  # conflicts: refused by the store
    with pytest.raises(ParamAlreadyLogged) as info:
        mlflow.end_run()
    message = str(info.value)
    assert "log_param('p', '2')" in message and rid in message
    got = Client().get_run(rid)
    assert got.info.status == RunStatus.FINISHED  # the run was still ended
    assert got.data.params == {"p": "1"}
    assert _values(rid, "m") == [float(s) for s in range(200)]  # nothing else was lost


def test_a_stored_error_is_raised_on_the_next_call(workdir: Path) -> None:
    client = Client()
    rid = client.create_run("0").info.run_id
    client.delete_run(rid)
    client.log_metric(rid, "m", 1.0, synchronous=False)
    client._backend.logger().wait()
    with pytest.raises(RunNotActive, match=r"asynchronous log_metric\('m', 1.0"):
        client.log_metric(rid, "m", 2.0, synchronous=False)
    client.restore_run(rid)
    client.log_metric(rid, "m", 3.0, synchronous=False)
    client.flush()
    assert _values(rid, "m") == [3.0]


def test_run_operations_wait(workdir: Path) -> None:
    client = Client()
    rid = client.create_run("0").info.run_id
    ops = client.log_batch(
        rid, metrics=[Metric(key="k", value=1.0, timestamp=5, step=0)], synchronous=False
    )
    assert isinstance(ops, RunOperations)
    ops.wait()
    assert _values(rid, "k") == [1.0]


def test_synchronous_calls_see_earlier_asynchronous_ones(workdir: Path) -> None:
    with mlflow.start_run() as run:
        mlflow.set_tag("t", "v", synchronous=False)
        mlflow.delete_tag("t")  # must not overtake the queued set_tag
        mlflow.log_metric("a", 1.0, synchronous=False)
        assert mlflow.get_run(run.info.run_id).data.metrics == {"a": 1.0}
    assert "t" not in Client().get_run(run.info.run_id).data.tags


def test_interpreter_exit_flushes_every_point(workdir: Path) -> None:
    script = workdir / "train.py"
    script.write_text(
        textwrap.dedent(
            """
            import modelyard as mlflow
            run = mlflow.start_run()
            print("run_id:", run.info.run_id, flush=True)
            for step in range(20000):
                mlflow.log_metric("loss", float(step), step=step, synchronous=False)
            # no end_run, no flush: the exit handler must write everything
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    rid = proc.stdout.split("run_id:")[1].strip()
    run = Client().get_run(rid)
    assert run.info.status == RunStatus.FINISHED
    assert _values(rid, "loss") == [float(s) for s in range(20000)]
