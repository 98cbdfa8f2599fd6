"""scikit-learn autolog: what a fit logs, where it logs it, and that it never breaks training."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import modelyard
import modelyard as mlflow
from modelyard.client import Client, fluent
from modelyard.client import client as client_module
from modelyard.client.autolog import AUTOLOGGED_TAG
from modelyard.client.context import PARENT_RUN_ID

pytestmark = pytest.mark.integration

CLASSIFIER_METRICS = {
    "training_accuracy_score",
    "training_precision_score",
    "training_recall_score",
    "training_f1_score",
    "training_log_loss",
    "training_roc_auc",
    "training_score",
}
REGRESSOR_METRICS = {
    "training_mean_squared_error",
    "training_root_mean_squared_error",
    "training_mean_absolute_error",
    "training_r2_score",
    "training_score",
}


def _classification() -> tuple[pd.DataFrame, np.ndarray]:
    x, y = make_classification(n_samples=100, n_features=4, random_state=0)
    return pd.DataFrame(x, columns=["f0", "f1", "f2", "f3"]), y


def _regression() -> tuple[pd.DataFrame, np.ndarray]:
    x, y = make_regression(n_samples=100, n_features=3, random_state=0)
    return pd.DataFrame(x, columns=["a", "b", "c"]), y


def _use(uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    for name in list(os.environ):
        if name.startswith("MODELYARD_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(fluent, "_active_experiment", None)
    mlflow.set_tracking_uri(uri)
    try:
        yield Client(uri)
    finally:
        modelyard.sklearn.autolog(disable=True)
        while mlflow.active_run() is not None:
            mlflow.end_run()
        mlflow.set_tracking_uri(None)
        for key in [k for k in client_module._backends if str(tmp_path) in k]:
            client_module._backends.pop(key).store.close()


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_uri: str) -> Iterator[Client]:
    """The embedded SQLite store in a fresh tmp dir; autolog is off again afterwards."""
    yield from _use(sqlite_uri, tmp_path, monkeypatch)


def _runs(client: Client) -> list[Any]:
    return client.search_runs(["0"])


def test_classifier_logs_params_metrics_tags_and_model(client: Client) -> None:
    """A classifier's fit starts and ends a tagged run with its params, metrics and model."""
    modelyard.sklearn.autolog()
    x, y = _classification()
    model = LogisticRegression(C=0.5, max_iter=200).fit(x, y)
    assert mlflow.active_run() is None
    (run,) = _runs(client)
    assert run.info.status == "FINISHED"
    assert run.data.tags[AUTOLOGGED_TAG] == "sklearn"
    assert run.data.tags["estimator_name"] == "LogisticRegression"
    assert run.data.tags["estimator_class"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert run.data.params["C"] == "0.5" and run.data.params["max_iter"] == "200"
    assert set(run.data.metrics) >= CLASSIFIER_METRICS
    assert run.data.metrics["training_score"] == pytest.approx(model.score(x, y))

    loaded = modelyard.sklearn.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    schema = modelyard.pyfunc.load_model(f"runs:/{run.info.run_id}/model").metadata
    assert schema.get_input_schema().input_names() == ["f0", "f1", "f2", "f3"]


def test_regressor_uses_the_active_run(client: Client) -> None:
    """With a run active, autolog logs into it and leaves it open, without its marker tag."""
    modelyard.sklearn.autolog(log_models=False)
    x, y = _regression()
    with mlflow.start_run() as active:
        model = LinearRegression().fit(x, y)
        assert mlflow.active_run() is not None
        assert mlflow.active_run().info.run_id == active.info.run_id
    (run,) = _runs(client)
    assert run.info.run_id == active.info.run_id
    assert AUTOLOGGED_TAG not in run.data.tags
    assert set(run.data.metrics) >= REGRESSOR_METRICS
    assert run.data.metrics["training_r2_score"] == pytest.approx(model.score(x, y))
    assert run.data.metrics["training_root_mean_squared_error"] == pytest.approx(
        np.sqrt(run.data.metrics["training_mean_squared_error"])
    )
    assert client.list_artifacts(run.info.run_id) == []


def test_exclusive_leaves_the_users_run_alone(client: Client) -> None:
    """exclusive=True: a fit inside the user's run logs nothing."""
    modelyard.sklearn.autolog(exclusive=True)
    x, y = _regression()
    with mlflow.start_run():
        LinearRegression().fit(x, y)
    (run,) = _runs(client)
    assert run.data.metrics == {} and run.data.params == {}


def test_pipeline_logs_one_run(client: Client) -> None:
    """The pipeline's own fit logs once: its steps' nested fits make no runs of their own."""
    modelyard.sklearn.autolog()
    x, y = _classification()
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())])
    pipe.fit(x, y)
    (run,) = _runs(client)
    assert run.data.tags["estimator_name"] == "Pipeline"
    assert run.data.params["clf__C"] == "1.0"
    assert set(run.data.metrics) >= CLASSIFIER_METRICS
    loaded = modelyard.sklearn.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_array_equal(loaded.predict(x), pipe.predict(x))

    PCA(n_components=2).fit_transform(x)  # fit_transform trains too: one more run
    assert len(_runs(client)) == 2
    # a preprocessing step fitted alone is a routine, not a model: no run (as in MLflow)
    StandardScaler().fit_transform(x)
    assert len(_runs(client)) == 2


def test_grid_search_parent_and_children(client: Client) -> None:
    """A search: parent with best params and score, top candidates as nested child runs."""
    modelyard.sklearn.autolog(max_tuning_runs=2)
    x, y = _classification()
    search = GridSearchCV(LogisticRegression(), {"C": [0.01, 0.1, 1.0]}, cv=3)
    search.fit(x, y)
    runs = _runs(client)
    (parent,) = [r for r in runs if PARENT_RUN_ID not in r.data.tags]
    children = [r for r in runs if r.data.tags.get(PARENT_RUN_ID) == parent.info.run_id]
    assert len(runs) == 3 and len(children) == 2
    assert parent.data.params["best_C"] == str(search.best_params_["C"])
    assert parent.data.metrics["best_cv_score"] == pytest.approx(search.best_score_)
    assert parent.data.tags["estimator_name"] == "GridSearchCV"
    ranks = sorted(int(r.data.metrics["rank_test_score"]) for r in children)
    assert ranks[0] == 1
    for child in children:
        assert {"mean_test_score", "std_test_score"} <= set(child.data.metrics)
        assert "C" in child.data.params
        assert child.info.status == "FINISHED"
    loaded = modelyard.sklearn.load_model(f"runs:/{parent.info.run_id}/model")
    assert type(loaded) is LogisticRegression
    np.testing.assert_array_equal(loaded.predict(x), search.best_estimator_.predict(x))


def test_disable_restores_the_exact_originals(client: Client) -> None:
    """disable=True puts back the very function objects, and fits log nothing."""
    originals = {
        (cls, name): cls.__dict__.get(name)
        for cls in (LogisticRegression, LinearRegression, Pipeline, GridSearchCV, StandardScaler)
        for name in ("fit", "fit_transform", "fit_predict")
    }
    modelyard.sklearn.autolog()
    assert LogisticRegression.__dict__["fit"] is not originals[(LogisticRegression, "fit")]
    modelyard.autolog(disable=True)
    for (cls, name), original in originals.items():
        assert cls.__dict__.get(name) is original, (cls, name)
    x, y = _regression()
    LinearRegression().fit(x, y)
    assert _runs(client) == []


def test_logging_failure_warns_and_training_goes_on(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception inside logging becomes a warning; the fit still returns a fitted model."""
    modelyard.autolog()

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("injected failure")

    monkeypatch.setattr(Client, "log_batch", broken)
    x, y = _classification()
    with pytest.warns(UserWarning, match="injected failure"):
        model = LogisticRegression().fit(x, y)
    assert model.predict(x).shape == (100,)
    assert mlflow.active_run() is None


def test_training_error_propagates_and_fails_the_run(client: Client) -> None:
    """An error of the user's training is raised as is; the run autolog started is FAILED."""
    modelyard.sklearn.autolog()
    with pytest.raises(ValueError):
        LogisticRegression().fit(pd.DataFrame({"a": [1.0, 2.0]}), [0, 0])
    (run,) = _runs(client)
    assert run.info.status == "FAILED"


def test_against_a_live_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_uri: str, live_server: Any
) -> None:
    """Through the gRPC server: a classifier's fit logs its run and a loadable model."""
    uri = live_server(sqlite_uri, artifacts_destination=str(tmp_path / "destination"))
    for client in _use(uri, tmp_path, monkeypatch):
        modelyard.sklearn.autolog()
        x, y = _classification()
        model = LogisticRegression().fit(x, y)
        (run,) = _runs(client)
        assert run.data.tags[AUTOLOGGED_TAG] == "sklearn"
        assert set(run.data.metrics) >= CLASSIFIER_METRICS
        loaded = modelyard.sklearn.load_model(f"runs:/{run.info.run_id}/model")
        np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
