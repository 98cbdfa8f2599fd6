"""Fluent-API state and rules (MLflow's start_run rules), against an in-memory fake store.

The fake store is registered for the `memfake:` scheme; it sits behind the same validating
wrapper as real stores, so keys and limits are checked as in production.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import threading
import uuid

import numpy as np
import pytest

import modelyard as mlflow
from modelyard.client import Client, context, fluent, tracking_uri
from modelyard.entities import (
    Experiment,
    LifecycleStage,
    Metric,
    MetricHistory,
    PagedList,
    Param,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from modelyard.errors import (
    ExperimentAlreadyExists,
    ExperimentNotActive,
    ExperimentNotFound,
    FailedPrecondition,
    InvalidArgument,
    ModelyardError,
    ParamAlreadyLogged,
    RunNotActive,
    RunNotFound,
    TagNotFound,
)
from modelyard.store_registry import register_tracking_store
from modelyard.stores import TrackingStore

# -- an in-memory TrackingStore -------------------------------------------------------------


@dataclasses.dataclass
class _RunRow:
    info: RunInfo
    params: dict[str, str] = dataclasses.field(default_factory=dict)
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    metrics: list[Metric] = dataclasses.field(default_factory=list)


class MemoryStore(TrackingStore):
    """Just enough of the store contract for the fluent layer's rules."""

    def __init__(self) -> None:
        self.experiments: dict[str, Experiment] = {
            "0": Experiment(experiment_id="0", name="Default", artifact_location="mem:///0")
        }
        self.runs: dict[str, _RunRow] = {}
        self.batches: list[tuple[str, int, int, int]] = []

    def create_experiment(self, name, *, artifact_location=None, tags=None, request_id=None):
        if any(e.name == name for e in self.experiments.values()):
            raise ExperimentAlreadyExists(f"experiment {name!r} exists", name=name)
        eid = str(len(self.experiments))
        self.experiments[eid] = Experiment(
            experiment_id=eid,
            name=name,
            artifact_location=artifact_location or f"mem:///{eid}",
            tags=dict(tags or {}),
        )
        return eid

    def get_experiment(self, experiment_id):
        try:
            return self.experiments[experiment_id]
        except KeyError:
            raise ExperimentNotFound(f"No Experiment with id={experiment_id} exists") from None

    def get_experiment_by_name(self, name):
        return next((e for e in self.experiments.values() if e.name == name), None)

    def search_experiments(self, *, view_type=ViewType.ACTIVE_ONLY, filter_string="",
                           order_by=(), max_results=1000, page_token=None):  # fmt: skip
        found = [e for e in self.experiments.values() if _visible(e.lifecycle_stage, view_type)]
        return PagedList(found[:max_results], None)

    def _replace_experiment(self, experiment_id, **changes):
        exp = self.get_experiment(experiment_id)
        self.experiments[experiment_id] = dataclasses.replace(exp, **changes)

    def rename_experiment(self, experiment_id, new_name):
        self._replace_experiment(experiment_id, name=new_name)

    def delete_experiment(self, experiment_id):
        self._replace_experiment(experiment_id, lifecycle_stage=LifecycleStage.DELETED)

    def restore_experiment(self, experiment_id):
        self._replace_experiment(experiment_id, lifecycle_stage=LifecycleStage.ACTIVE)

    def set_experiment_tag(self, experiment_id, key, value):
        exp = self.get_experiment(experiment_id)
        self._replace_experiment(experiment_id, tags={**exp.tags, key: value})

    def delete_experiment_tag(self, experiment_id, key):
        exp = self.get_experiment(experiment_id)
        self._replace_experiment(
            experiment_id, tags={k: v for k, v in exp.tags.items() if k != key}
        )

    def create_run(self, *, experiment_id, user_id="", start_time=None, run_name=None, tags=None,
                   request_id=None):  # fmt: skip
        exp = self.get_experiment(experiment_id)
        if exp.lifecycle_stage != LifecycleStage.ACTIVE:
            raise ExperimentNotActive(f"experiment {experiment_id} is deleted")
        run_id = uuid.uuid4().hex
        name = run_name or (tags or {}).get("mlflow.runName") or "generated-name-1"
        info = RunInfo(
            run_id=run_id, experiment_id=experiment_id, run_name=name, user_id=user_id,
            status=RunStatus.RUNNING, start_time=start_time or 1, end_time=None,
            artifact_uri=f"{exp.artifact_location}/{run_id}/artifacts",
            lifecycle_stage=LifecycleStage.ACTIVE,
        )  # fmt: skip
        self.runs[run_id] = _RunRow(info, tags={**(tags or {}), "mlflow.runName": name})
        return self.get_run(run_id)

    def _row(self, run_id) -> _RunRow:
        try:
            return self.runs[run_id]
        except KeyError:
            raise RunNotFound(f"Run with id={run_id} not found") from None

    def get_run(self, run_id):
        row = self._row(run_id)
        latest: dict[str, Metric] = {}
        for m in row.metrics:
            if m.key not in latest or (m.step, m.timestamp) >= (
                latest[m.key].step,
                latest[m.key].timestamp,
            ):
                latest[m.key] = m
        data = RunData(
            metric_list=tuple(latest.values()), params=dict(row.params), tags=dict(row.tags)
        )
        return Run(info=row.info, data=data)

    def update_run(self, run_id, *, status=None, end_time=None, run_name=None):
        row = self._row(run_id)
        changes: dict[str, object] = {}
        if status is not None:
            changes["status"] = status
        if end_time is not None:
            changes["end_time"] = end_time
        if run_name:
            changes["run_name"] = run_name
            row.tags["mlflow.runName"] = run_name
        row.info = dataclasses.replace(row.info, **changes)
        return row.info

    def delete_run(self, run_id):
        row = self._row(run_id)
        row.info = dataclasses.replace(row.info, lifecycle_stage=LifecycleStage.DELETED)

    def restore_run(self, run_id):
        row = self._row(run_id)
        row.info = dataclasses.replace(row.info, lifecycle_stage=LifecycleStage.ACTIVE)

    def search_runs(self, *, experiment_ids, filter_string="", view_type=ViewType.ACTIVE_ONLY,
                    max_results=1000, order_by=(), page_token=None):  # fmt: skip
        start = int(page_token or 0)
        found = [
            self.get_run(r.info.run_id)
            for r in self.runs.values()
            if r.info.experiment_id in experiment_ids
            and _visible(r.info.lifecycle_stage, view_type)
        ]
        page = found[start : start + max_results]
        more = start + max_results < len(found)
        return PagedList(page, str(start + max_results) if more else None)

    def log_batch(self, run_id, *, metrics=(), params=(), tags=(), request_id=None):
        row = self._row(run_id)
        if row.info.lifecycle_stage != LifecycleStage.ACTIVE:
            raise RunNotActive(f"The run {run_id} must be in the 'active' state")
        for p in params:
            if row.params.get(p.key, p.value) != p.value:
                raise ParamAlreadyLogged(f"param {p.key!r} already logged", key=p.key)
        self.batches.append((run_id, len(metrics), len(params), len(tags)))
        row.params.update({p.key: p.value for p in params})
        row.tags.update({t.key: t.value for t in tags})
        row.metrics.extend(metrics)

    def delete_tag(self, run_id, key):
        row = self._row(run_id)
        if key not in row.tags:
            raise TagNotFound(f"No tag with name: {key!r}")
        del row.tags[key]

    def get_metric_history(self, run_id, key, *, max_results=None, page_token=None,
                           max_points=None):  # fmt: skip
        points = sorted((m for m in self._row(run_id).metrics if m.key == key),
                        key=lambda m: (m.step, m.timestamp))  # fmt: skip
        return MetricHistory(
            run_id=run_id,
            key=key,
            steps=[m.step for m in points],
            timestamps=[m.timestamp for m in points],
            values=[m.value for m in points],
        ), None


def _visible(stage: LifecycleStage, view_type: ViewType) -> bool:
    if view_type == ViewType.ALL:
        return True
    return (stage == LifecycleStage.ACTIVE) == (view_type == ViewType.ACTIVE_ONLY)


_STORES: dict[str, MemoryStore] = {}


def _open_memory_store(uri: str, options: object) -> MemoryStore:
    return _STORES.setdefault(uri, MemoryStore())


register_tracking_store("memfake", _open_memory_store, clobber=True)


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch):
    """A fresh in-memory store as the tracking URI; fluent state reset before and after."""
    for name in list(os.environ):
        if name.startswith("MODELYARD_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MODELYARD_TRACKING_USERNAME", "ada")
    monkeypatch.setattr(fluent, "_active_experiment", None)
    uri = f"memfake://{uuid.uuid4().hex}"
    mlflow.set_tracking_uri(uri)
    yield _open_memory_store(uri, None)
    while mlflow.active_run() is not None:
        mlflow.end_run()
    fluent._last_run_id.set(None)
    mlflow.set_tracking_uri(None)


# -- runs and the stack ---------------------------------------------------------------------


def test_start_and_end_run(store: MemoryStore) -> None:
    run = mlflow.start_run(run_name="first")
    assert isinstance(run, Run) and mlflow.active_run() is run
    assert run.info.status == RunStatus.RUNNING and run.info.run_name == "first"
    mlflow.end_run()
    assert mlflow.active_run() is None
    last = mlflow.last_active_run()
    assert last is not None and last.info.run_id == run.info.run_id
    assert last.info.status == "FINISHED" and last.info.end_time is not None


def test_context_manager_finishes_or_fails(store: MemoryStore) -> None:
    with mlflow.start_run() as ok:
        pass
    assert store.get_run(ok.info.run_id).info.status == RunStatus.FINISHED
    with pytest.raises(ZeroDivisionError), mlflow.start_run() as bad:
        1 / 0  # noqa: B018
    assert store.get_run(bad.info.run_id).info.status == RunStatus.FAILED
    assert mlflow.active_run() is None


def test_second_top_level_run_is_a_failed_precondition(store: MemoryStore) -> None:
    with mlflow.start_run() as run:
        with pytest.raises(FailedPrecondition) as info:
            mlflow.start_run()
        assert isinstance(info.value, ModelyardError)
        assert run.info.run_id in str(info.value) and "nested=True" in str(info.value)
        assert mlflow.active_run() is run


def test_nested_runs_record_their_parent(store: MemoryStore) -> None:
    with mlflow.start_run() as parent:
        with mlflow.start_run(nested=True) as child:
            assert mlflow.active_run() is child
            assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
            with mlflow.start_run(nested=True) as grandchild:
                pass
        assert mlflow.active_run() is parent
    assert mlflow.get_parent_run(child.info.run_id).info.run_id == parent.info.run_id
    assert mlflow.get_parent_run(grandchild.info.run_id).info.run_id == child.info.run_id
    assert mlflow.get_parent_run(parent.info.run_id) is None


def test_nested_with_empty_stack_is_top_level(store: MemoryStore) -> None:
    with mlflow.start_run(nested=True) as run:
        assert "mlflow.parentRunId" not in run.data.tags


def test_end_run_inside_with_leaves_the_parent_active(store: MemoryStore) -> None:
    with mlflow.start_run() as parent:
        with mlflow.start_run(nested=True):
            mlflow.end_run()
        assert mlflow.active_run() is parent


def test_parent_run_id(store: MemoryStore) -> None:
    parent = store.create_run(experiment_id="0")
    with mlflow.start_run(parent_run_id=parent.info.run_id) as child:
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        with pytest.raises(InvalidArgument, match="does not match the specified parent_run_id"):
            mlflow.start_run(nested=True, parent_run_id=parent.info.run_id)
    store.delete_run(parent.info.run_id)
    with pytest.raises(FailedPrecondition):
        mlflow.start_run(parent_run_id=parent.info.run_id)


def test_description_and_run_name_conflicts(store: MemoryStore) -> None:
    with mlflow.start_run(description="notes") as run:
        assert run.data.tags["mlflow.note.content"] == "notes"
    with pytest.raises(InvalidArgument):
        mlflow.start_run(description="a", tags={"mlflow.note.content": "b"})
    with pytest.raises(InvalidArgument):
        mlflow.start_run(run_name="a", tags={"mlflow.runName": "b"})
    assert mlflow.active_run() is None


def test_end_run_checks_the_status(store: MemoryStore) -> None:
    mlflow.end_run()  # no active run: no-op
    with mlflow.start_run() as run:
        with pytest.raises(InvalidArgument, match="BOGUS"):
            mlflow.end_run("BOGUS")
        assert mlflow.active_run() is run
        mlflow.end_run("KILLED")
    assert store.get_run(run.info.run_id).info.status == RunStatus.KILLED


def test_resume_a_run(store: MemoryStore) -> None:
    with mlflow.start_run() as first:
        mlflow.log_param("a", 1)
    with mlflow.start_run(run_id=first.info.run_id, run_name="renamed", tags={"x": 1}) as again:
        assert again.info.run_id == first.info.run_id
        assert again.info.status == RunStatus.RUNNING and again.info.run_name == "renamed"
        assert again.data.params == {"a": "1"} and again.data.tags["x"] == "1"
    store.delete_run(first.info.run_id)
    with pytest.raises(RunNotActive):
        mlflow.start_run(run_id=first.info.run_id)


def test_resume_checks_the_active_experiment(store: MemoryStore) -> None:
    with mlflow.start_run() as run:
        pass
    mlflow.set_experiment("elsewhere")
    with pytest.raises(InvalidArgument, match="belongs to experiment 0"):
        mlflow.start_run(run_id=run.info.run_id)


def test_run_id_from_the_environment_is_consumed_once(
    store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    existing = store.create_run(experiment_id="0")
    monkeypatch.setenv("MODELYARD_RUN_ID", existing.info.run_id)
    with mlflow.start_run() as resumed:
        assert resumed.info.run_id == existing.info.run_id
    assert "MODELYARD_RUN_ID" not in os.environ
    with mlflow.start_run() as fresh:
        assert fresh.info.run_id != existing.info.run_id


def test_system_tags(store: MemoryStore) -> None:
    with mlflow.start_run(tags={"mlflow.source.type": "JOB", "team": "x"}) as run:
        tags = run.data.tags
    assert tags["mlflow.user"] == "ada" and run.info.user_id == "ada"
    assert tags["mlflow.source.name"] == context.source_name()
    assert tags["mlflow.source.type"] == "JOB"  # user tags win over system tags
    assert tags["team"] == "x"


# -- logging --------------------------------------------------------------------------------


def test_logging_without_a_run_starts_one(store: MemoryStore) -> None:
    assert mlflow.log_param("lr", 0.1) == 0.1
    run = mlflow.active_run()
    assert run is not None
    mlflow.log_metric("loss", 1)
    mlflow.set_tag("t", "v")
    mlflow.end_run()
    data = store.get_run(run.info.run_id).data
    assert data.params == {"lr": "0.1"} and data.metrics == {"loss": 1.0}
    assert data.tags["t"] == "v"


def test_metric_values_are_converted_like_mlflow(store: MemoryStore) -> None:
    with mlflow.start_run() as run:
        mlflow.log_metric("np", np.float32(1.5))
        mlflow.log_metric("np64", np.int64(3), step=np.int64(2))
        mlflow.log_metric("bool", True)
        mlflow.log_metric("text", "2.5", step=4, timestamp=1234)
        with pytest.raises(InvalidArgument) as info:
            mlflow.log_metric("bad", "abc")
        assert "'bad'" in str(info.value) and "'abc'" in str(info.value)
        with pytest.raises(InvalidArgument):
            mlflow.log_metric("none", None)
        with pytest.raises(InvalidArgument, match="step"):
            mlflow.log_metric("frac", 1.0, step=1.5)
    history = {k: mlflow.MlflowClient().get_metric_history(run.info.run_id, k) for k in
               ("np", "np64", "bool", "text")}  # fmt: skip
    assert history["np"][0].value == 1.5 and type(history["np"][0].value) is float
    assert (history["np64"][0].value, history["np64"][0].step) == (3.0, 2)
    assert history["bool"][0].value == 1.0 and history["bool"][0].step == 0
    assert history["text"][0] == Metric(key="text", value=2.5, timestamp=1234, step=4)


def test_log_params_and_metrics_send_one_batch(store: MemoryStore) -> None:
    with mlflow.start_run() as run:
        mlflow.log_params({"a": 1, "b": [1, 2], "c": None})
        mlflow.log_metrics({"x": 1.0, "y": 2}, step=7)
    rid = run.info.run_id
    assert [b for b in store.batches if b[0] == rid] == [(rid, 0, 3, 0), (rid, 2, 0, 0)]
    data = store.get_run(rid).data
    assert data.params == {"a": "1", "b": "[1, 2]", "c": "None"}
    points = [m for m in store.runs[rid].metrics]
    assert {m.step for m in points} == {7} and len({m.timestamp for m in points}) == 1


def test_log_to_an_explicit_run_id(store: MemoryStore) -> None:
    other = store.create_run(experiment_id="0")
    mlflow.log_metric("m", 1.0, run_id=other.info.run_id)
    mlflow.log_params({"p": 1}, run_id=other.info.run_id)
    assert mlflow.active_run() is None  # no run was started
    assert store.get_run(other.info.run_id).data.params == {"p": "1"}


def test_changed_param_is_refused(store: MemoryStore) -> None:
    with mlflow.start_run():
        mlflow.log_param("p", 1)
        mlflow.log_param("p", "1")  # same value again is fine
        with pytest.raises(ParamAlreadyLogged):
            mlflow.log_param("p", 2)


def test_set_tags_and_delete_tag(store: MemoryStore) -> None:
    with mlflow.start_run() as run:
        mlflow.set_tags({"a": 1, "b": "2"})
        mlflow.delete_tag("a")
        with pytest.raises(TagNotFound):
            mlflow.delete_tag("a")
    tags = store.get_run(run.info.run_id).data.tags
    assert "a" not in tags and tags["b"] == "2"


def test_get_artifact_uri(store: MemoryStore) -> None:
    with mlflow.start_run() as run:
        base = run.info.artifact_uri
        assert mlflow.get_artifact_uri() == base
        assert mlflow.get_artifact_uri("model/MLmodel") == base + "/model/MLmodel"
    with pytest.warns(UserWarning):
        mlflow.get_artifact_uri()
    assert mlflow.active_run() is not None


# -- experiments ----------------------------------------------------------------------------


def test_set_experiment_by_name_creates_it_and_runs_go_there(store: MemoryStore) -> None:
    exp = mlflow.set_experiment("sweeps")
    assert store.get_experiment_by_name("sweeps").experiment_id == exp.experiment_id
    assert mlflow.set_experiment("sweeps").experiment_id == exp.experiment_id
    with mlflow.start_run() as run:
        assert run.info.experiment_id == exp.experiment_id
    assert mlflow.set_experiment(experiment_id=exp.experiment_id).name == "sweeps"


def test_set_experiment_errors(store: MemoryStore) -> None:
    with pytest.raises(InvalidArgument, match="exactly one"):
        mlflow.set_experiment()
    with pytest.raises(InvalidArgument, match="exactly one"):
        mlflow.set_experiment("a", "0")
    with pytest.raises(ExperimentNotFound):
        mlflow.set_experiment(experiment_id="99")
    eid = mlflow.create_experiment("gone")
    mlflow.delete_experiment(eid)
    with pytest.raises(FailedPrecondition, match="deleted"):
        mlflow.set_experiment("gone")
    with pytest.raises(ExperimentNotActive):
        mlflow.set_experiment(experiment_id=eid)


def test_experiment_from_the_environment(
    store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELYARD_EXPERIMENT_NAME", "from-env")
    with mlflow.start_run() as run:
        pass
    assert store.get_experiment(run.info.experiment_id).name == "from-env"
    monkeypatch.delenv("MODELYARD_EXPERIMENT_NAME")
    eid = mlflow.create_experiment("by-id")
    monkeypatch.setenv("MODELYARD_EXPERIMENT_ID", eid)
    with mlflow.start_run() as run:
        assert run.info.experiment_id == eid
    mlflow.set_experiment("explicit")  # set_experiment wins over the environment
    with mlflow.start_run() as run:
        assert run.info.experiment_id == mlflow.get_experiment_by_name("explicit").experiment_id


def test_experiment_tags_and_search(store: MemoryStore) -> None:
    mlflow.set_experiment("tagged")
    mlflow.set_experiment_tag("k", 1)
    mlflow.set_experiment_tags({"a": "b"})
    assert mlflow.get_experiment_by_name("tagged").tags == {"k": "1", "a": "b"}
    names = {e.name for e in mlflow.search_experiments()}
    assert names == {"Default", "tagged"}


def test_active_experiment_does_not_leak_to_another_tracking_uri(store: MemoryStore) -> None:
    mlflow.set_experiment("only-here")
    mlflow.set_tracking_uri(f"memfake://{uuid.uuid4().hex}")
    with mlflow.start_run() as run:
        assert run.info.experiment_id == "0"


# -- search_runs ----------------------------------------------------------------------------


def test_search_runs_list_and_pages(store: MemoryStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fluent, "SEARCH_RUNS_PAGE", 2)
    for i in range(5):
        with mlflow.start_run():
            mlflow.log_metric("i", i)
    runs = mlflow.search_runs(output_format="list")
    assert len(runs) == 5 and all(isinstance(r, Run) for r in runs)
    assert len(mlflow.search_runs(output_format="list", max_results=3)) == 3


def test_search_runs_dataframe_columns(store: MemoryStore) -> None:
    pd = pytest.importorskip("pandas")
    with mlflow.start_run() as first:
        mlflow.log_metric("m", 1.5)
        mlflow.log_param("p", "x")
    with mlflow.start_run():
        mlflow.set_tag("only", "here")
    frame = mlflow.search_runs()
    assert isinstance(frame, pd.DataFrame) and len(frame) == 2
    assert list(frame.columns[:6]) == [
        "run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time",
    ]  # fmt: skip
    assert {"metrics.m", "params.p", "tags.only", "tags.mlflow.user"} <= set(frame.columns)
    row = frame[frame.run_id == first.info.run_id].iloc[0]
    assert row["metrics.m"] == 1.5 and row["params.p"] == "x" and row["tags.only"] is None
    assert str(frame["start_time"].dt.tz) == "UTC"
    other = frame[frame.run_id != first.info.run_id].iloc[0]
    assert np.isnan(other["metrics.m"])


def test_search_runs_experiment_selection(store: MemoryStore) -> None:
    a = mlflow.create_experiment("a")
    b = mlflow.create_experiment("b")
    for eid in (a, b, a):
        with mlflow.start_run(experiment_id=eid):
            pass
    assert len(mlflow.search_runs([a], output_format="list")) == 2
    assert len(mlflow.search_runs(a, output_format="list")) == 2
    assert len(mlflow.search_runs(experiment_names=["a", "b"], output_format="list")) == 3
    assert len(mlflow.search_runs(search_all_experiments=True, output_format="list")) == 3
    assert mlflow.search_runs(output_format="list") == []  # the Default experiment
    with pytest.warns(UserWarning, match="nope"):
        assert mlflow.search_runs(experiment_names=["nope"], output_format="list") == []
    with pytest.raises(InvalidArgument):
        mlflow.search_runs([a], experiment_names=["a"])
    with pytest.raises(InvalidArgument, match="output_format"):
        mlflow.search_runs([a], output_format="json")


# -- client-side batch splitting ------------------------------------------------------------


def test_client_log_batch_splits_over_the_limits(store: MemoryStore) -> None:
    client = Client()
    run = client.create_run("0")
    rid = run.info.run_id
    ms = [Metric(key="m", value=float(i), timestamp=1, step=i) for i in range(2500)]
    ps = [Param(key=f"p{i}", value="v") for i in range(101)]
    ts = [RunTag(key=f"t{i}", value="v") for i in range(150)]
    client.log_batch(rid, metrics=ms, params=ps, tags=ts)
    sent = [b for b in store.batches if b[0] == rid]
    assert [b[1:] for b in sent] == [(800, 100, 100), (949, 1, 50), (751, 0, 0)]
    assert sum(b[1] for b in sent) == 2500 and sum(b[2] for b in sent) == 101
    assert sum(b[3] for b in sent) == 150
    assert len(client.get_metric_history(rid, "m")) == 2500
    with pytest.raises(InvalidArgument, match="duplicate param key"):
        client.log_batch(rid, params=[Param(key="d", value="1"), Param(key="d", value="2")])


def test_client_create_run_uses_the_user_tag(store: MemoryStore) -> None:
    client = mlflow.MlflowClient()
    assert client.create_run("0").info.user_id == "unknown"
    run = client.create_run("0", tags={"mlflow.user": "bob"}, run_name="n")
    assert run.info.user_id == "bob" and run.info.run_name == "n"
    assert client.set_terminated(run.info.run_id).status == RunStatus.FINISHED
    with pytest.raises(InvalidArgument):
        client.set_terminated(run.info.run_id, "DONE")


# -- threads: each has its own stack --------------------------------------------------------


def test_each_thread_has_its_own_active_run(store: MemoryStore) -> None:
    seen: dict[str, object] = {}

    def work() -> None:
        seen["inherited"] = mlflow.active_run()
        mlflow.log_metric("thread", 1.0)  # starts this thread's own run
        seen["own"] = mlflow.active_run()
        mlflow.end_run()

    with mlflow.start_run() as main_run:
        worker = threading.Thread(target=work)
        worker.start()
        worker.join()
        assert mlflow.active_run() is main_run
    assert seen["inherited"] is None
    own = seen["own"]
    assert isinstance(own, Run) and own.info.run_id != main_run.info.run_id
    assert store.get_run(main_run.info.run_id).data.metrics == {}


# -- tracking URI resolution ----------------------------------------------------------------


def test_tracking_uri_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(tracking_uri, "_explicit_uri", None)
    monkeypatch.delenv("MODELYARD_TRACKING_URI", raising=False)
    assert mlflow.get_tracking_uri() == "sqlite:///modelyard.db"
    monkeypatch.setenv("MODELYARD_TRACKING_URI", "grpc://127.0.0.1:50051")
    assert mlflow.get_tracking_uri() == "grpc://127.0.0.1:50051"
    mlflow.set_tracking_uri("postgresql+psycopg://u@h/db")
    assert mlflow.get_tracking_uri() == "postgresql+psycopg://u@h/db"
    mlflow.set_tracking_uri(None)
    assert mlflow.get_tracking_uri() == "grpc://127.0.0.1:50051"
    mlflow.set_tracking_uri(tmp_path / "t.db")
    assert mlflow.get_tracking_uri() == f"sqlite:///{tmp_path}/t.db"
    with pytest.raises(InvalidArgument):
        mlflow.set_tracking_uri("not a uri")
    mlflow.set_tracking_uri(None)


def test_relative_sqlite_paths_follow_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert tracking_uri.store_uri("sqlite:///x.db") == f"sqlite:///{tmp_path}/x.db"
    assert tracking_uri.store_uri("sqlite:///x.db?mode=ro") == f"sqlite:///{tmp_path}/x.db?mode=ro"
    assert tracking_uri.store_uri("sqlite:////abs/x.db") == "sqlite:////abs/x.db"
    assert tracking_uri.store_uri("sqlite://") == "sqlite://"
    assert tracking_uri.store_uri("grpc://h:1") == "grpc://h:1"


# -- system tags from git -------------------------------------------------------------------


def test_git_tags(tmp_path) -> None:
    assert context.git_tags(str(tmp_path)) == {}
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {**os.environ, "GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@b",
           "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@b"}  # fmt: skip

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], env=env, check=True,
                              capture_output=True, text=True).stdout.strip()  # fmt: skip

    git("init", "-q", "-b", "main")
    (repo / "train.py").write_text("print(1)\n")
    git("add", "train.py")
    git("commit", "-q", "-m", "c")
    git("remote", "add", "origin", "https://example.com/r.git")
    tags = context.git_tags(str(repo))
    assert tags == {
        "mlflow.source.git.commit": git("rev-parse", "HEAD"),
        "mlflow.source.git.branch": "main",
        "mlflow.source.git.repoURL": "https://example.com/r.git",
    }
