"""Each thread and each asyncio task has its own active run (embedded SQLite store)."""

from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import modelyard as mlflow
from modelyard.client import Client, fluent
from modelyard.client import client as client_module
from modelyard.entities import Run, RunStatus

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
    mlflow.set_experiment("threads")
    yield tmp_path
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)
    backend = client_module._backends.pop(f"sqlite:///{tmp_path}/modelyard.db", None)
    if backend is not None:
        if backend._logger is not None:
            backend._logger.close()
        backend.store.close()


def _check_run(run_id: str, index: int, steps: int) -> None:
    client = Client()
    run = client.get_run(run_id)
    assert run.info.status == RunStatus.FINISHED
    assert run.data.params == {"worker": str(index)}
    history = client.get_metric_history(run_id, "value")
    assert [m.value for m in history] == [float(index * 1000 + s) for s in range(steps)]


def test_threads_each_run_their_own_run(workdir: Path) -> None:
    steps, count = 30, 8
    run_ids: dict[int, str] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def work(index: int) -> None:
        try:
            with mlflow.start_run(run_name=f"worker-{index}") as run:
                barrier.wait(timeout=60)  # every thread has a run active at the same time
                run_ids[index] = run.info.run_id
                mlflow.log_param("worker", index)
                for step in range(steps):
                    mlflow.log_metric("value", float(index * 1000 + step), step=step)
                assert mlflow.active_run() is run
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(run_ids.values())) == count
    for index, run_id in run_ids.items():
        _check_run(run_id, index, steps)
    assert mlflow.active_run() is None  # nothing leaked into the main thread


def test_a_thread_that_logs_without_a_run_starts_its_own(workdir: Path) -> None:
    results: dict[str, str] = {}

    def work() -> None:
        mlflow.log_param("worker", 7)
        results["thread"] = mlflow.active_run().info.run_id
        mlflow.end_run()

    with mlflow.start_run() as main_run:
        worker = threading.Thread(target=work)
        worker.start()
        worker.join()
        assert mlflow.active_run() is main_run
    assert results["thread"] != main_run.info.run_id
    client = Client()
    assert client.get_run(results["thread"]).data.params == {"worker": "7"}
    assert client.get_run(main_run.info.run_id).data.params == {}


def test_thread_pool_children_of_one_parent(workdir: Path) -> None:
    with mlflow.start_run(run_name="parent") as parent:
        parent_id = parent.info.run_id

        def child(index: int) -> str:
            with mlflow.start_run(parent_run_id=parent_id, run_name=f"c{index}") as run:
                mlflow.log_param("worker", index)
                for step in range(5):
                    mlflow.log_metric("value", float(index * 1000 + step), step=step)
                return run.info.run_id

        with ThreadPoolExecutor(max_workers=4) as pool:
            children = list(pool.map(child, range(8)))
    assert len(set(children)) == 8
    for index, run_id in enumerate(children):
        _check_run(run_id, index, 5)
        assert Client().get_parent_run(run_id).info.run_id == parent_id


def test_asyncio_tasks_each_run_their_own_run(workdir: Path) -> None:
    steps, count = 20, 6

    async def work(index: int) -> str:
        with mlflow.start_run(run_name=f"task-{index}") as run:
            mlflow.log_param("worker", index)
            for step in range(steps):
                await asyncio.sleep(0)  # let the other tasks interleave
                assert mlflow.active_run() is run
                mlflow.log_metric("value", float(index * 1000 + step), step=step)
            return run.info.run_id

    async def main() -> list[str]:
        return await asyncio.gather(*(work(i) for i in range(count)))

    run_ids = asyncio.run(main())
    assert len(set(run_ids)) == count
    for index, run_id in enumerate(run_ids):
        _check_run(run_id, index, steps)
    assert mlflow.active_run() is None


def test_a_task_starts_from_its_creators_stack(workdir: Path) -> None:
    async def child() -> Run:
        with mlflow.start_run(nested=True) as run:
            mlflow.log_param("worker", 1)
            return run

    async def main() -> tuple[str, Run]:
        with mlflow.start_run() as parent:
            run = await asyncio.create_task(child())
            assert mlflow.active_run() is parent  # the task's end_run did not touch ours
            return parent.info.run_id, run

    parent_id, child_run = asyncio.run(main())
    assert child_run.data.tags["mlflow.parentRunId"] == parent_id


def test_threads_logging_asynchronously(workdir: Path) -> None:
    run_ids: dict[int, str] = {}

    def work(index: int) -> None:
        with mlflow.start_run() as run:
            run_ids[index] = run.info.run_id
            mlflow.log_param("worker", index, synchronous=False)
            for step in range(1000):
                mlflow.log_metric("value", float(index * 1000 + step), step=step, synchronous=False)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for index, run_id in run_ids.items():
        _check_run(run_id, index, 1000)
