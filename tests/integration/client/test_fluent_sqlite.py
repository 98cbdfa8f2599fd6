"""The fluent API and Client against the embedded SQLite store, in a fresh working directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import modelyard as mlflow
from modelyard.client import Client, MlflowClient, fluent
from modelyard.client import client as client_module
from modelyard.entities import LifecycleStage, Metric, Param, RunStatus, RunTag, ViewType
from modelyard.errors import (
    ExperimentAlreadyExists,
    ExperimentNotFound,
    FailedPrecondition,
    InvalidArgument,
    ParamAlreadyLogged,
    RegisteredModelNotFound,
    RunNotActive,
    RunNotFound,
    TagNotFound,
)

pytestmark = pytest.mark.integration


def clean_env() -> dict[str, str]:
    """The environment without MODELYARD_* variables (for subprocesses)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}


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
        mlflow.end_run()
    mlflow.set_tracking_uri(None)
    key = f"sqlite:///{tmp_path}/modelyard.db"
    backend = client_module._backends.pop(key, None)
    if backend is not None:
        if backend._logger is not None:
            backend._logger.close()
        backend.store.close()


def test_seed_flow_reads_back_through_client(workdir: Path) -> None:
    mlflow.set_experiment("tracking-experiment")
    with mlflow.start_run(run_name="tracking-example-run") as run:
        mlflow.log_param("learning_rate", 0.01)
        mlflow.log_params({"epochs": 0.05, "final_activation": "sigmoid"})
        mlflow.set_tag("env", "dev")
        mlflow.log_metric("loss", 0.001)
        mlflow.log_metrics({"acc": 0.92, "auc": 0.90})
        for val_loss in [0.1, 0.01, 0.001, 0.00001]:
            mlflow.log_metric("val_loss", val_loss)
    assert (workdir / "modelyard.db").exists()
    client = MlflowClient()
    got = client.get_run(run.info.run_id)
    assert got.info.status == RunStatus.FINISHED and got.info.end_time is not None
    assert got.info.run_name == "tracking-example-run"
    assert got.data.params == {
        "learning_rate": "0.01",
        "epochs": "0.05",
        "final_activation": "sigmoid",
    }
    # val_loss points share step 0 and may share a millisecond: "latest" is then the largest
    # value (MLflow's rule), so only its history is compared exactly.
    assert {k: v for k, v in got.data.metrics.items() if k != "val_loss"} == {
        "loss": 0.001,
        "acc": 0.92,
        "auc": 0.90,
    }
    assert got.data.tags["env"] == "dev"
    assert got.data.tags["mlflow.source.type"] == "LOCAL"
    assert got.data.tags["mlflow.user"] == got.info.user_id
    history = client.get_metric_history(run.info.run_id, "val_loss")
    assert [m.value for m in history] == [0.1, 0.01, 0.001, 0.00001]
    exp = client.get_experiment_by_name("tracking-experiment")
    assert exp is not None and got.info.experiment_id == exp.experiment_id


def test_client_experiments(workdir: Path) -> None:
    client = Client()
    assert client.get_experiment("0").name == "Default"
    assert client.get_experiment_by_name("missing") is None
    with pytest.raises(ExperimentNotFound):
        client.get_experiment("4242")
    eid = client.create_experiment("e1", tags={"team": "vision"})
    with pytest.raises(ExperimentAlreadyExists):
        client.create_experiment("e1")
    client.set_experiment_tag(eid, "k", 1)
    client.delete_experiment_tag(eid, "team")
    assert client.get_experiment(eid).tags == {"k": "1"}
    with pytest.raises(TagNotFound):
        client.delete_experiment_tag(eid, "team")
    client.rename_experiment(eid, "e1-renamed")
    assert client.get_experiment_by_name("e1-renamed").experiment_id == eid

    run = client.create_run(eid)
    client.delete_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == LifecycleStage.DELETED
    assert client.get_run(run.info.run_id).info.lifecycle_stage == LifecycleStage.DELETED
    with pytest.raises(ExperimentAlreadyExists):  # a deleted experiment keeps its name
        client.create_experiment("e1-renamed")
    client.restore_experiment(eid)
    assert client.get_run(run.info.run_id).info.lifecycle_stage == LifecycleStage.ACTIVE


def test_search_experiments_pages(workdir: Path) -> None:
    client = Client()
    for i in range(3):
        client.create_experiment(f"x{i}")
    seen, token = [], None
    while True:
        page = client.search_experiments(max_results=2, page_token=token)
        seen.extend(e.name for e in page)
        token = page.token
        if token is None:
            break
    assert sorted(seen) == ["Default", "x0", "x1", "x2"]
    assert len(mlflow.search_experiments(max_results=3)) == 3
    assert len(mlflow.search_experiments(view_type=ViewType.ALL)) == 4


def test_client_runs_lifecycle(workdir: Path) -> None:
    client = Client()
    run = client.create_run("0", tags={"mlflow.user": "ada"}, run_name="r")
    rid = run.info.run_id
    assert run.info.user_id == "ada" and run.info.status == RunStatus.RUNNING
    info = client.update_run(rid, name="renamed")
    assert info.run_name == "renamed"
    assert client.get_run(rid).data.tags["mlflow.runName"] == "renamed"
    info = client.set_terminated(rid, "KILLED")
    assert info.status == RunStatus.KILLED and info.end_time is not None
    client.log_metric(rid, "after-end", 1.0)  # logging to a finished run is allowed
    client.delete_run(rid)
    with pytest.raises(RunNotActive) as info_err:
        client.log_param(rid, "p", 1)
    assert isinstance(info_err.value, FailedPrecondition)
    client.restore_run(rid)
    assert client.log_param(rid, "p", 1) == 1
    with pytest.raises(RunNotFound):
        client.get_run("f" * 32)


def test_search_runs_with_filter_order_and_pages(workdir: Path) -> None:
    client = Client()
    eid = client.create_experiment("search")
    ids = []
    for i in range(5):
        run = client.create_run(eid)
        client.log_batch(
            run.info.run_id,
            metrics=[Metric(key="rmse", value=float(i), timestamp=1, step=0)],
            params=[Param(key="alpha", value=str(i % 2))],
            tags=[RunTag(key="dev", value="arnaud")],
        )
        ids.append(run.info.run_id)
    found = client.search_runs(
        [eid], "metrics.rmse < 3 and params.alpha = '0'", order_by=["metrics.rmse DESC"]
    )
    assert [r.info.run_id for r in found] == [ids[2], ids[0]]
    pages, token = [], None
    while True:
        page = client.search_runs(eid, max_results=2, page_token=token)
        pages.append(len(page))
        token = page.token
        if token is None:
            break
    assert pages == [2, 2, 1]
    frame = mlflow.search_runs([eid], order_by=["metrics.rmse ASC"])
    assert list(frame["run_id"]) == ids
    assert list(frame["metrics.rmse"]) == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert set(frame["params.alpha"]) == {"0", "1"}


def test_log_batch_over_the_limits_is_split(workdir: Path) -> None:
    client = Client()
    rid = client.create_run("0").info.run_id
    metrics = [Metric(key="m", value=float(i), timestamp=1000 + i, step=i) for i in range(2500)]
    params = [Param(key=f"p{i}", value=str(i)) for i in range(101)]
    tags = [RunTag(key=f"t{i}", value=str(i)) for i in range(120)]
    client.log_batch(rid, metrics=metrics, params=params, tags=tags)
    run = client.get_run(rid)
    assert len(run.data.params) == 101
    assert {f"t{i}" for i in range(120)} <= set(run.data.tags)
    assert client.get_metric_history(rid, "m") == metrics


def test_metric_history_and_bulk(workdir: Path) -> None:
    client = Client()
    first = client.create_run("0").info.run_id
    second = client.create_run("0").info.run_id
    for step in (2, 0, 1):
        client.log_metric(first, "loss", step * 10, step=step, timestamp=100 + step)
    client.log_metric(second, "loss", 5.0)
    assert [(m.step, m.value) for m in client.get_metric_history(first, "loss")] == [
        (0, 0.0),
        (1, 10.0),
        (2, 20.0),
    ]
    bulk = client.get_metric_history_bulk([second, first], "loss")
    assert [h.run_id for h in bulk] == [second, first]
    assert list(bulk[1].values) == [0.0, 10.0, 20.0] and list(bulk[0].values) == [5.0]
    assert client.get_run(first).data.metrics == {"loss": 20.0}


def test_bad_values_name_what_was_wrong(workdir: Path) -> None:
    with mlflow.start_run() as run:
        mlflow.log_param("lr", 0.1)
        with pytest.raises(ParamAlreadyLogged) as info:
            mlflow.log_param("lr", 0.2)
        assert "lr" in str(info.value) and "0.1" in str(info.value)
        with pytest.raises(InvalidArgument) as bad_metric:
            mlflow.log_metric("acc", "high")
        assert "'acc'" in str(bad_metric.value) and "'high'" in str(bad_metric.value)
        with pytest.raises(InvalidArgument):
            mlflow.log_metric("../escape", 1.0)
        with pytest.raises(TagNotFound):
            mlflow.delete_tag("never-set")
    assert Client().get_run(run.info.run_id).data.params == {"lr": "0.1"}


def test_nested_runs_are_searchable_by_parent(workdir: Path) -> None:
    mlflow.set_experiment("sweep")
    with mlflow.start_run(run_name="parent") as parent:
        for lr in (0.1, 0.01):
            with mlflow.start_run(nested=True):
                mlflow.log_param("lr", lr)
    children = mlflow.search_runs(
        filter_string=f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'", output_format="list"
    )
    assert sorted(r.data.params["lr"] for r in children) == ["0.01", "0.1"]
    parent_of = mlflow.get_parent_run(children[0].info.run_id)
    assert parent_of is not None and parent_of.info.run_id == parent.info.run_id


def test_resume_run_and_last_active_run(workdir: Path) -> None:
    with mlflow.start_run() as run:
        mlflow.log_metric("a", 1.0)
    with mlflow.start_run(run_id=run.info.run_id):
        mlflow.log_metric("a", 2.0, step=1)
    last = mlflow.last_active_run()
    assert last is not None and last.info.run_id == run.info.run_id
    assert last.info.status == RunStatus.FINISHED and last.data.metrics == {"a": 2.0}


def test_tracking_uri_from_environment_and_set_tracking_uri(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELYARD_TRACKING_URI", "sqlite:///from-env.db")
    with mlflow.start_run():
        mlflow.log_metric("x", 1.0)
    assert (workdir / "from-env.db").exists()
    mlflow.set_tracking_uri(workdir / "explicit.db")
    with mlflow.start_run():
        pass
    assert (workdir / "explicit.db").exists()
    assert not (workdir / "modelyard.db").exists()


def _run_script(cwd: Path, body: str) -> subprocess.CompletedProcess[str]:
    script = cwd / "train.py"
    script.write_text(textwrap.dedent(body))
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_runs_left_active_end_at_exit(workdir: Path) -> None:
    proc = _run_script(
        workdir,
        """
        import modelyard as mlflow
        mlflow.log_metric("x", 1.0)   # starts a run that is never ended explicitly
        print("run_id:", mlflow.active_run().info.run_id)
        """,
    )
    assert proc.returncode == 0, proc.stderr
    run = Client().get_run(proc.stdout.split("run_id:")[1].strip())
    assert run.info.status == RunStatus.FINISHED
    assert run.data.tags["mlflow.source.name"].endswith("train.py")


def test_a_script_that_dies_leaves_its_run_failed(workdir: Path) -> None:
    proc = _run_script(
        workdir,
        """
        import modelyard as mlflow
        mlflow.start_run()
        print("run_id:", mlflow.active_run().info.run_id, flush=True)
        raise SystemError("boom")
        """,
    )
    assert proc.returncode != 0 and "boom" in proc.stderr
    run = Client().get_run(proc.stdout.split("run_id:")[1].strip())
    assert run.info.status == RunStatus.FAILED


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_tags_of_a_script_in_a_checkout(workdir: Path) -> None:
    env = {**clean_env(), "GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@b"}
    env |= {"GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@b"}
    for args in (["init", "-q", "-b", "dev"], ["commit", "-q", "--allow-empty", "-m", "c"]):
        subprocess.run(["git", *args], cwd=workdir, env=env, check=True, capture_output=True)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=workdir, capture_output=True, text=True, check=True
    ).stdout.strip()
    proc = _run_script(
        workdir,
        """
        import modelyard as mlflow
        with mlflow.start_run() as run:
            print("run_id:", run.info.run_id)
        """,
    )
    assert proc.returncode == 0, proc.stderr
    tags = Client().get_run(proc.stdout.split("run_id:")[1].strip()).data.tags
    assert tags["mlflow.source.git.commit"] == commit
    assert tags["mlflow.source.git.branch"] == "dev"
    assert "mlflow.source.git.repoURL" not in tags  # no origin remote


def test_registry_uri_set_apart_from_the_tracking_uri(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """set_registry_uri / MODELYARD_REGISTRY_URI send registry calls to another store while
    runs stay in the tracking store; unset, the registry is the tracking store."""
    assert mlflow.get_registry_uri() == mlflow.get_tracking_uri() == "sqlite:///modelyard.db"
    monkeypatch.setenv("MODELYARD_REGISTRY_URI", "sqlite:///from-env-registry.db")
    assert mlflow.get_registry_uri() == "sqlite:///from-env-registry.db"
    mlflow.set_registry_uri(workdir / "registry.db")
    registry_uri = f"sqlite:///{workdir / 'registry.db'}"
    assert mlflow.get_registry_uri() == registry_uri
    client = mlflow.MlflowClient()
    assert client.tracking_uri == "sqlite:///modelyard.db"
    client.create_registered_model("kept-apart")
    assert [m.name for m in mlflow.MlflowClient(registry_uri).search_registered_models()] == [
        "kept-apart"
    ]
    with pytest.raises(RegisteredModelNotFound):
        mlflow.MlflowClient(registry_uri="sqlite:///modelyard.db").get_registered_model(
            "kept-apart"
        )
    with pytest.raises(InvalidArgument, match="not a registry URI: 'nowhere'"):
        mlflow.set_registry_uri("nowhere")
    mlflow.set_registry_uri(None)
    monkeypatch.delenv("MODELYARD_REGISTRY_URI")
    assert mlflow.get_registry_uri() == "sqlite:///modelyard.db"
