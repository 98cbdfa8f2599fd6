"""More scikit-learn autolog: long params, random search, fit_predict/fit_transform, options
(silent, log_input_examples, log_models, exclusive) and fits running in two threads."""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import DBSCAN, KMeans
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import modelyard
import modelyard as mlflow
from modelyard.client import Client, fluent
from modelyard.client.autolog import AUTOLOGGED_TAG
from modelyard.client.autolog import sklearn as sklearn_autolog
from modelyard.client.context import PARENT_RUN_ID
from modelyard.client.flavors import sklearn as sklearn_flavor
from modelyard.models import Model
from modelyard.validation import MAX_KEY_LENGTH, MAX_PARAM_VALUE_LENGTH
from tests.integration.autolog.test_sklearn_autolog import (
    CLASSIFIER_METRICS,
    _classification,
    _regression,
    _use,
)

pytestmark = pytest.mark.integration

TRUNCATED_TAG = "modelyard.autolog.truncated_params"


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_uri: str) -> Iterator[Client]:
    """The embedded SQLite store in a fresh tmp dir; autolog is off again afterwards."""
    yield from _use(sqlite_uri, tmp_path, monkeypatch)


def _runs(client: Client) -> list[Any]:
    return client.search_runs(["0"])


@contextlib.contextmanager
def _autolog_warnings() -> Iterator[list[str]]:
    """Collect the messages of the warnings autolog emits inside the block."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        messages: list[str] = []
        yield messages
    messages.extend(str(w.message) for w in caught if "modelyard autolog" in str(w.message))


def _parent_and_children(client: Client) -> tuple[Any, list[Any]]:
    runs = _runs(client)
    (parent,) = [r for r in runs if PARENT_RUN_ID not in r.data.tags]
    children = [r for r in runs if r.data.tags.get(PARENT_RUN_ID) == parent.info.run_id]
    assert len(runs) == 1 + len(children)
    return parent, children


def _model_dir(client: Client, run_id: str, tmp_path: Path) -> Path:
    return Path(client.download_artifacts(run_id, "model", tmp_path / f"download-{run_id}"))


def _identity(x: Any, note: str = "") -> Any:
    return x


class NoteTransformer(FunctionTransformer):
    """A FunctionTransformer of this module: scikit-learn's own preprocessing steps get no run
    when fitted alone (as in MLflow), a class of the user's own that builds on one does."""


# -- 1. long param values -------------------------------------------------------------------


def test_long_param_value_is_cut_with_a_tag_and_a_warning(client: Client) -> None:
    """A value over the limit is cut to it; a tag and a warning name it; other params are whole."""
    modelyard.sklearn.autolog(log_models=False)
    note = "é" * (MAX_PARAM_VALUE_LENGTH + 500)
    step = NoteTransformer(_identity, kw_args={"note": note})
    x, _ = _classification()
    with _autolog_warnings() as messages:
        step.fit(x)
    assert messages == [
        f"modelyard autolog (sklearn): params cut to {MAX_PARAM_VALUE_LENGTH} characters: kw_args"
    ]
    (run,) = _runs(client)
    assert run.info.status == "FINISHED"
    full = {key: str(value) for key, value in step.get_params(deep=True).items()}
    assert set(run.data.params) == set(full)
    assert run.data.params["kw_args"] == full["kw_args"][:MAX_PARAM_VALUE_LENGTH]
    assert len(run.data.params["kw_args"]) == MAX_PARAM_VALUE_LENGTH
    assert {k: v for k, v in run.data.params.items() if k != "kw_args"} == {
        k: v for k, v in full.items() if k != "kw_args"
    }
    assert run.data.tags[TRUNCATED_TAG] == "kw_args"


def test_long_values_of_a_search_are_tagged_on_the_parent_and_each_child(client: Client) -> None:
    """A grid value over the limit is cut in the parent's best_* param and in each child's
    param, and the truncation tag names it on every run that holds it."""
    modelyard.sklearn.autolog(log_models=False)
    long_note = "n" * (MAX_PARAM_VALUE_LENGTH + 10)
    search = GridSearchCV(
        Pipeline([("id", FunctionTransformer(_identity)), ("lr", LinearRegression())]),
        {"id__kw_args": [{"note": long_note}, {"note": "short"}]},
        cv=2,
    )
    x, y = _classification()
    with _autolog_warnings() as messages:
        search.fit(x, y)
    assert any("params cut" in m for m in messages), messages
    parent, children = _parent_and_children(client)
    assert len(children) == 2
    # both candidates score the same, and a tie goes to the first: the long one
    assert search.best_params_["id__kw_args"]["note"] == long_note
    assert "best_id__kw_args" in parent.data.tags[TRUNCATED_TAG].split(",")
    assert len(parent.data.params["best_id__kw_args"]) == MAX_PARAM_VALUE_LENGTH
    cut = [c for c in children if len(c.data.params["id__kw_args"]) == MAX_PARAM_VALUE_LENGTH]
    (long_child,) = cut
    assert long_child.data.tags[TRUNCATED_TAG] == "id__kw_args"
    (short_child,) = [c for c in children if c is not long_child]
    assert TRUNCATED_TAG not in short_child.data.tags


def test_short_params_leave_no_truncation_tag(client: Client) -> None:
    """Without a long value there is no truncation tag and no warning."""
    modelyard.sklearn.autolog(log_models=False)
    x, y = _classification()
    with _autolog_warnings() as messages:
        LogisticRegression().fit(x, y)
    assert messages == []
    (run,) = _runs(client)
    assert TRUNCATED_TAG not in run.data.tags


def test_more_than_one_batch_of_params_all_arrive(client: Client) -> None:
    """A pipeline with well over 100 params (one request's limit) logs every one of them."""
    modelyard.sklearn.autolog(log_models=False)
    steps: list[tuple[str, Any]] = [(f"scale{i}", StandardScaler()) for i in range(30)]
    pipe = Pipeline([*steps, ("clf", LogisticRegression())])
    x, y = _classification()
    pipe.fit(x, y)
    expected = {key: str(value) for key, value in pipe.get_params(deep=True).items()}
    assert len(expected) > 100
    (run,) = _runs(client)
    assert run.data.params == expected


def test_long_param_names_are_kept(client: Client) -> None:
    """A param whose name is over the 250-character key limit (a long pipeline step name) is
    still logged, under a shorter key, with a warning and the truncation tag; none is lost."""
    modelyard.sklearn.autolog(log_models=False)
    pipe = Pipeline([("s" * (MAX_KEY_LENGTH + 10), LogisticRegression(C=0.25))])
    x, y = _classification()
    with _autolog_warnings() as messages:
        pipe.fit(x, y)
    expected = {key: str(value) for key, value in pipe.get_params(deep=True).items()}
    (run,) = _runs(client)
    logged = run.data.params
    assert len(logged) == len(expected)
    assert all(len(key) <= MAX_KEY_LENGTH for key in logged)
    short = {k: v for k, v in expected.items() if len(k) <= MAX_KEY_LENGTH}
    assert {k: logged[k] for k in short} == short
    assert sorted(logged.values()) == sorted(expected.values())
    assert any(str(MAX_KEY_LENGTH) in message for message in messages)
    assert set(run.data.tags[TRUNCATED_TAG].split(",")) <= set(logged)


# -- 2. RandomizedSearchCV ------------------------------------------------------------------


def _random_search() -> RandomizedSearchCV:
    return RandomizedSearchCV(
        LogisticRegression(max_iter=500),
        {"C": [0.001, 0.01, 0.1, 1.0, 10.0], "fit_intercept": [True, False]},
        n_iter=6,
        cv=3,
        random_state=0,
    )


def test_random_search_parent_children_and_best_model(client: Client, tmp_path: Path) -> None:
    """Parent: the search's params, best params/score, best model; children: the top ranks."""
    modelyard.sklearn.autolog(max_tuning_runs=3)
    x, y = _classification()
    search = _random_search()
    with _autolog_warnings() as messages:
        returned = search.fit(x, y)
    assert returned is search and messages == []
    parent, children = _parent_and_children(client)
    results = search.cv_results_

    assert parent.info.status == "FINISHED"
    assert parent.data.tags[AUTOLOGGED_TAG] == "sklearn"
    assert parent.data.tags["estimator_name"] == "RandomizedSearchCV"
    assert parent.data.params["n_iter"] == "6" and parent.data.params["cv"] == "3"
    assert parent.data.params["estimator__max_iter"] == "500"
    assert parent.data.params["best_C"] == str(search.best_params_["C"])
    assert parent.data.params["best_fit_intercept"] == str(search.best_params_["fit_intercept"])
    assert parent.data.metrics["best_cv_score"] == pytest.approx(search.best_score_)
    assert parent.data.metrics["training_score"] == pytest.approx(search.score(x, y))
    assert set(parent.data.metrics) >= CLASSIFIER_METRICS

    assert len(children) == 3
    all_ranks = sorted(int(r) for r in results["rank_test_score"])
    assert sorted(int(c.data.metrics["rank_test_score"]) for c in children) == all_ranks[:3]
    candidates = [{k: str(v) for k, v in p.items()} for p in results["params"]]
    names = set()
    for child in children:
        assert child.info.status == "FINISHED"
        assert child.data.tags[AUTOLOGGED_TAG] == "sklearn"
        assert child.info.experiment_id == parent.info.experiment_id
        assert child.data.params in candidates
        index = candidates.index(child.data.params)
        assert int(child.data.metrics["rank_test_score"]) == results["rank_test_score"][index]
        assert child.data.metrics["mean_test_score"] == pytest.approx(
            results["mean_test_score"][index]
        )
        assert "std_test_score" in child.data.metrics and "mean_fit_time" in child.data.metrics
        assert client.list_artifacts(child.info.run_id) == []
        names.add(child.info.run_name)
    prefix = parent.info.run_name or parent.info.run_id
    assert names == {f"{prefix}-candidate-{i}" for i in range(3)}

    loaded = modelyard.sklearn.load_model(f"runs:/{parent.info.run_id}/model")
    assert type(loaded) is LogisticRegression
    assert loaded.get_params() == search.best_estimator_.get_params()
    np.testing.assert_array_equal(loaded.predict(x), search.best_estimator_.predict(x))
    assert [f.path for f in client.list_artifacts(parent.info.run_id)] == ["model"]
    model = Model.load(_model_dir(client, parent.info.run_id, tmp_path))
    assert model.get_input_schema().input_names() == ["f0", "f1", "f2", "f3"]


@pytest.mark.parametrize(("max_tuning_runs", "expected"), [(None, 6), (0, 0), (100, 6), (1, 1)])
def test_random_search_max_tuning_runs(
    client: Client, max_tuning_runs: int | None, expected: int
) -> None:
    """max_tuning_runs caps the child runs (None: every candidate; 0: none)."""
    modelyard.sklearn.autolog(log_models=False, max_tuning_runs=max_tuning_runs)
    x, y = _classification()
    search = _random_search().fit(x, y)
    parent, children = _parent_and_children(client)
    assert len(children) == expected
    assert parent.data.params["best_C"] == str(search.best_params_["C"])
    if expected == 1:
        assert children[0].data.metrics["rank_test_score"] == 1.0


def test_negative_max_tuning_runs_is_refused() -> None:
    """A negative max_tuning_runs is an error at autolog(), before anything is patched."""
    with pytest.raises(ValueError, match="max_tuning_runs"):
        modelyard.sklearn.autolog(max_tuning_runs=-1)
    assert not hasattr(LogisticRegression.__dict__["fit"], "__modelyard_autolog__")


def test_search_on_joblib_threads_logs_one_parent(client: Client) -> None:
    """Candidates fitted on joblib's worker threads make no runs of their own."""
    modelyard.sklearn.autolog(log_models=False, max_tuning_runs=2)
    x, y = _classification()
    search = GridSearchCV(LogisticRegression(), {"C": [0.01, 0.1, 1.0, 10.0]}, cv=3, n_jobs=2)
    with joblib.parallel_backend("threading", n_jobs=2):
        search.fit(x, y)
    parent, children = _parent_and_children(client)
    assert parent.data.tags["estimator_name"] == "GridSearchCV"
    assert len(children) == 2


# -- 3. fit_predict and fit_transform -------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [lambda: KMeans(n_clusters=3, n_init=2, random_state=0), lambda: DBSCAN(eps=2.5)],
    ids=["KMeans", "DBSCAN"],
)
def test_fit_predict_logs_one_run(client: Client, make: Callable[[], Any]) -> None:
    """fit_predict trains: one run (its inner fit is not a second one) with the fitted model."""
    modelyard.sklearn.autolog()
    x, _ = _classification()
    estimator = make()
    with _autolog_warnings() as messages:
        labels = estimator.fit_predict(x)
    assert messages == []
    np.testing.assert_array_equal(labels, estimator.labels_)
    (run,) = _runs(client)
    assert run.info.status == "FINISHED"
    assert run.data.tags[AUTOLOGGED_TAG] == "sklearn"
    assert run.data.tags["estimator_name"] == type(estimator).__name__
    assert run.data.params == {k: str(v) for k, v in estimator.get_params(deep=True).items()}
    loaded = modelyard.sklearn.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_array_equal(loaded.labels_, labels)
    if hasattr(estimator, "score"):
        assert set(run.data.metrics) == {"training_score"}
        assert run.data.metrics["training_score"] == pytest.approx(estimator.score(x))
        np.testing.assert_array_equal(loaded.predict(x), labels)
    else:
        assert run.data.metrics == {}


@pytest.mark.parametrize(
    "make",
    [
        lambda: PCA(n_components=2, random_state=0),
        lambda: Pipeline([("scale", StandardScaler()), ("pca", PCA(n_components=2))]),
    ],
    ids=["PCA", "Pipeline"],
)
def test_fit_transform_logs_one_run(
    client: Client, tmp_path: Path, make: Callable[[], Any]
) -> None:
    """fit_transform trains: one run, the transformed data returned, a loadable transformer."""
    modelyard.sklearn.autolog()
    x, _ = _classification()
    estimator = make()
    with _autolog_warnings() as messages:
        transformed = estimator.fit_transform(x)
    assert messages == []
    assert transformed.shape == (100, 2)
    np.testing.assert_allclose(transformed, estimator.transform(x))
    (run,) = _runs(client)
    assert run.info.status == "FINISHED"
    assert run.data.tags["estimator_name"] == type(estimator).__name__
    key = "n_components" if isinstance(estimator, PCA) else "pca__n_components"
    assert run.data.params[key] == "2"
    loaded = modelyard.sklearn.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_allclose(loaded.transform(x), transformed)
    model = Model.load(_model_dir(client, run.info.run_id, tmp_path))
    assert model.get_input_schema().input_names() == ["f0", "f1", "f2", "f3"]


# -- 4. silent ------------------------------------------------------------------------------


def _raise(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected failure")


# where the failure is injected: (object, attribute)
FAILURES = {
    "log_batch": (Client, "log_batch"),
    "start_run": (fluent, "start_run"),
    "log_model": (sklearn_flavor, "log_model"),
}


@pytest.mark.parametrize("silent", [True, False], ids=["silent", "not-silent"])
@pytest.mark.parametrize("where", sorted(FAILURES))
def test_silent_hides_the_warning_of_a_logging_failure(
    client: Client,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    where: str,
    silent: bool,
) -> None:
    """A failure while logging: training returns the fitted model; silent=True emits nothing."""
    modelyard.sklearn.autolog(silent=silent)
    x, y = _classification()
    estimator = LogisticRegression()
    with monkeypatch.context() as m:
        m.setattr(*FAILURES[where], _raise)
        with _autolog_warnings() as messages:
            returned = estimator.fit(x, y)
    assert returned is estimator
    assert returned.predict(x).shape == (100,)
    assert mlflow.active_run() is None
    if silent:
        assert messages == []
        assert [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")] == []
    else:
        assert len(messages) == 1 and "injected failure" in messages[0]


def test_silent_hides_the_truncation_warning_but_keeps_the_tag(client: Client) -> None:
    """silent=True: no warning for a cut param; the tag still names it."""
    modelyard.sklearn.autolog(log_models=False, silent=True)
    step = NoteTransformer(_identity, kw_args={"note": "x" * (MAX_PARAM_VALUE_LENGTH + 1)})
    x, _ = _classification()
    with _autolog_warnings() as messages:
        step.fit(x)
    assert messages == []
    (run,) = _runs(client)
    assert run.data.tags[TRUNCATED_TAG] == "kw_args"


@pytest.mark.parametrize("silent", [True, False], ids=["silent", "not-silent"])
def test_silent_hides_the_warning_of_a_failed_setup(
    client: Client, monkeypatch: pytest.MonkeyPatch, silent: bool
) -> None:
    """modelyard.autolog(silent=True): an integration that cannot be set up says nothing."""
    monkeypatch.setattr(sklearn_autolog, "_classes", _raise)
    with _autolog_warnings() as messages:
        modelyard.autolog(silent=silent)
    if silent:
        assert messages == []
    else:
        assert messages == [
            "modelyard autolog: could not set up the sklearn integration: injected failure"
        ]
    x, y = _regression()
    LinearRegression().fit(x, y)
    assert _runs(client) == []


# -- 5. input examples ----------------------------------------------------------------------


@pytest.mark.parametrize("as_frame", [True, False], ids=["DataFrame", "ndarray"])
def test_log_input_examples_stores_the_first_rows(
    client: Client, tmp_path: Path, as_frame: bool
) -> None:
    """log_input_examples=True: the model holds the first 5 training rows as its example."""
    modelyard.sklearn.autolog(log_input_examples=True)
    x, y = _classification()
    data = x if as_frame else x.to_numpy()
    LogisticRegression().fit(data, y)
    (run,) = _runs(client)
    names = {Path(f.path).name for f in client.list_artifacts(run.info.run_id, "model")}
    assert "input_example.json" in names
    path = _model_dir(client, run.info.run_id, tmp_path)
    model = Model.load(path)
    assert model.saved_input_example_info is not None
    example = model.load_input_example(path)
    if as_frame:
        pd.testing.assert_frame_equal(example, x.iloc[:5])
    else:
        np.testing.assert_array_equal(example, data[:5])


def test_no_input_example_by_default(client: Client, tmp_path: Path) -> None:
    """log_input_examples=False (the default): no example file, no example in MLmodel."""
    modelyard.sklearn.autolog()
    x, y = _classification()
    LogisticRegression().fit(x, y)
    (run,) = _runs(client)
    names = {Path(f.path).name for f in client.list_artifacts(run.info.run_id, "model")}
    assert "MLmodel" in names and "input_example.json" not in names
    path = _model_dir(client, run.info.run_id, tmp_path)
    model = Model.load(path)
    assert model.saved_input_example_info is None
    assert model.load_input_example(path) is None
    assert model.signature is not None


# -- 6. log_models=False --------------------------------------------------------------------


def test_log_models_false_logs_params_and_metrics_only(client: Client) -> None:
    """log_models=False: the run autolog starts has params, metrics, tags and no artifacts."""
    modelyard.sklearn.autolog(log_models=False)
    x, y = _classification()
    model = LogisticRegression(C=0.3).fit(x, y)
    (run,) = _runs(client)
    assert run.info.status == "FINISHED"
    assert run.data.params["C"] == "0.3"
    assert set(run.data.metrics) >= CLASSIFIER_METRICS
    assert run.data.metrics["training_score"] == pytest.approx(model.score(x, y))
    assert run.data.tags["estimator_name"] == "LogisticRegression"
    assert client.list_artifacts(run.info.run_id) == []


def test_log_models_false_on_a_search(client: Client) -> None:
    """log_models=False on a search: no best model, but best params, score and children."""
    modelyard.sklearn.autolog(log_models=False, max_tuning_runs=2)
    x, y = _classification()
    search = _random_search().fit(x, y)
    parent, children = _parent_and_children(client)
    assert len(children) == 2
    assert parent.data.params["best_C"] == str(search.best_params_["C"])
    assert parent.data.metrics["best_cv_score"] == pytest.approx(search.best_score_)
    for run in (parent, *children):
        assert client.list_artifacts(run.info.run_id) == []


# -- 7. exclusive ---------------------------------------------------------------------------


def test_exclusive_inside_a_users_run_logs_nowhere(client: Client) -> None:
    """exclusive=True (as in MLflow): a fit in the user's run logs nothing, in no run."""
    modelyard.sklearn.autolog(exclusive=True)
    x, y = _classification()
    with mlflow.start_run() as user_run:
        _random_search().fit(x, y)
        LogisticRegression().fit(x, y)
        assert mlflow.active_run().info.run_id == user_run.info.run_id
    (run,) = _runs(client)
    assert run.info.run_id == user_run.info.run_id
    assert run.data.params == {} and run.data.metrics == {}
    assert AUTOLOGGED_TAG not in run.data.tags
    assert client.list_artifacts(run.info.run_id) == []


def test_exclusive_without_a_users_run_starts_its_own(client: Client) -> None:
    """exclusive=True with no active run: the fit logs into a run of its own, as usual."""
    modelyard.sklearn.autolog(exclusive=True)
    x, y = _classification()
    with mlflow.start_run() as user_run:
        pass
    model = LogisticRegression().fit(x, y)
    assert mlflow.active_run() is None
    (own,) = [r for r in _runs(client) if r.info.run_id != user_run.info.run_id]
    assert own.info.status == "FINISHED"
    assert own.data.tags[AUTOLOGGED_TAG] == "sklearn"
    assert own.data.metrics["training_score"] == pytest.approx(model.score(x, y))
    assert [f.path for f in client.list_artifacts(own.info.run_id)] == ["model"]
    assert client.get_run(user_run.info.run_id).data.params == {}


# -- 8. two threads -------------------------------------------------------------------------


def _wait_in_training(x: Any, started: threading.Event, release: threading.Event) -> Any:
    started.set()
    assert release.wait(30), "the test never released the first fit"
    return x


def _fit_in_two_threads() -> tuple[FunctionTransformer, LinearRegression]:
    """Thread 1 fits a transformer that waits inside its training; while it waits, thread 2
    (started before thread 1's fit began) fits a regressor. Returns both fitted estimators."""
    started, release, go = threading.Event(), threading.Event(), threading.Event()
    x, y = _regression()
    slow = NoteTransformer(_wait_in_training, kw_args={"started": started, "release": release})
    fast = LinearRegression()
    errors: list[BaseException] = []

    def run(fn: Callable[[], Any], wait_for: threading.Event | None = None) -> None:
        try:
            if wait_for is not None:
                assert wait_for.wait(30), "never told to fit"
            fn()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    second = threading.Thread(target=run, args=(lambda: fast.fit(x, y), go))
    first = threading.Thread(target=run, args=(lambda: slow.fit_transform(x),))
    second.start()
    first.start()
    try:
        assert started.wait(30), "the first fit never started training"
        go.set()
        second.join(30)
        assert not second.is_alive()
    finally:
        go.set()
        release.set()
        first.join(30)
        second.join(30)
    assert errors == []
    assert fast.coef_.shape == (3,)  # the second fit trained
    return slow, fast


def test_concurrent_fit_in_a_second_thread_logs_nothing(client: Client) -> None:
    """Current behaviour: while one thread's fit is in progress, another thread's fit logs
    nothing, though each thread has its own active run.

    The count of autologged calls in progress is process-wide (so that inner fits that joblib
    runs on worker threads are not logged as runs of their own), so an independent thread's
    fit that runs while another is in progress is taken for a nested one.
    """
    modelyard.sklearn.autolog(log_models=False)
    _fit_in_two_threads()
    (run,) = _runs(client)
    assert run.data.tags["estimator_name"] == "NoteTransformer"
    assert run.info.status == "FINISHED"

    x, y = _regression()
    LinearRegression().fit(x, y)  # once nothing is in progress, a fit logs again
    assert len(_runs(client)) == 2


# -- through the server ---------------------------------------------------------------------


def test_random_search_against_a_live_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_uri: str, live_server: Any
) -> None:
    """Through the gRPC server: a search's parent, its children and its best model."""
    uri = live_server(sqlite_uri, artifacts_destination=str(tmp_path / "destination"))
    for client in _use(uri, tmp_path, monkeypatch):
        modelyard.sklearn.autolog(max_tuning_runs=2, log_input_examples=True)
        x, y = _classification()
        search = _random_search().fit(x, y)
        parent, children = _parent_and_children(client)
        assert len(children) == 2
        assert parent.data.params["best_C"] == str(search.best_params_["C"])
        assert sorted(c.data.metrics["rank_test_score"] for c in children)[0] == 1.0
        loaded = modelyard.sklearn.load_model(f"runs:/{parent.info.run_id}/model")
        np.testing.assert_array_equal(loaded.predict(x), search.best_estimator_.predict(x))
        path = _model_dir(client, parent.info.run_id, tmp_path)
        pd.testing.assert_frame_equal(Model.load(path).load_input_example(path), x.iloc[:5])


# -- MLflow's other autolog options -----------------------------------------------------------


def test_mlflows_autolog_options_are_accepted_and_do_what_they_say(client: Client) -> None:
    """extra_tags go on every run autolog starts (children too), registered_model_name
    registers the model, serialization_format and pos_label are honoured, and the options
    modelyard has nothing to do for (log_datasets, log_post_training_metrics, ...) are
    accepted, so a ported call works unchanged."""
    modelyard.sklearn.autolog(
        log_datasets=False,
        log_post_training_metrics=False,
        disable_for_unsupported_versions=True,
        serialization_format="skops",
        registered_model_name="autologged-model",
        pos_label=1,
        extra_tags={"team": "vision", "ticket": 42},
        max_tuning_runs=2,
    )
    x, y = _classification()
    y = (y > 0).astype(int)  # binary, so pos_label applies
    GridSearchCV(LogisticRegression(max_iter=200), {"C": [0.1, 1.0]}, cv=2).fit(x, y)
    parent, children = _parent_and_children(client)
    for run in (parent, *children):
        assert run.data.tags["team"] == "vision" and run.data.tags["ticket"] == "42"
    from sklearn.metrics import precision_score

    best = modelyard.sklearn.load_model(f"runs:/{parent.info.run_id}/model")
    expected = precision_score(y, best.predict(x), pos_label=1, average="binary")
    assert parent.data.metrics["training_precision_score"] == pytest.approx(expected)
    # one version: the search's best model (the LabelEncoder that precision_score fits above is
    # a preprocessing step fitted alone, so it makes no run and registers nothing)
    (version,) = client.search_model_versions("name = 'autologged-model'")
    assert version.run_id == parent.info.run_id
    with pytest.raises(ValueError, match="serialization_format"):
        modelyard.sklearn.autolog(serialization_format="joblib")


def test_generic_autolog_takes_mlflows_signature(client: Client) -> None:
    """modelyard.autolog(...) accepts MLflow's options; exclude_flavors leaves sklearn off."""
    modelyard.autolog(log_datasets=False, log_traces=False, extra_tags={"source": "ci"})
    x, y = _classification()
    LogisticRegression(max_iter=200).fit(x, y)
    (run,) = _runs(client)
    assert run.data.tags["source"] == "ci"
    modelyard.autolog(exclude_flavors=["sklearn"])
    LogisticRegression(max_iter=200).fit(x, y)
    assert len(_runs(client)) == 1
    assert not sklearn_autolog_is_on()


def sklearn_autolog_is_on() -> bool:
    from sklearn.linear_model import LogisticRegression as Model

    from modelyard.client.autolog import is_patched

    return is_patched(Model, "fit")
