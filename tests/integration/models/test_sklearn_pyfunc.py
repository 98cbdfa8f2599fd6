"""sklearn and pyfunc models: log_model → load_model round trips, safety of loading, bad input.

Runs on the embedded store (SQLite + local artifacts) and, for the round trip, through a live
server proxying artifacts to a local folder.
"""

from __future__ import annotations

import json
import pickle
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

import modelyard
import modelyard as mlflow
from modelyard.errors import Code, InvalidArgument, NotFound, PermissionDenied
from modelyard.models import ColSpec, DataType, ModelSignature, ParamSchema, ParamSpec, Schema

from .conftest import ModelSetup

pytestmark = pytest.mark.integration

X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "b": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]})
Y = np.array([0, 0, 0, 1, 1, 1])


def _fit() -> LogisticRegression:
    return LogisticRegression().fit(X, Y)


class ThresholdClassifier(ClassifierMixin, BaseEstimator):
    """A custom estimator: skops does not trust its type by default."""

    def __init__(self, threshold: float = 2.5) -> None:
        self.threshold = threshold

    def fit(self, x: Any, y: Any) -> ThresholdClassifier:
        """Nothing to learn."""
        self.classes_ = np.array([0, 1])
        return self

    def predict(self, x: Any) -> Any:
        """1 where column a exceeds the threshold."""
        return (np.asarray(x)[:, 0] > self.threshold).astype(np.int64)


CUSTOM_TYPE = f"{ThresholdClassifier.__module__}.ThresholdClassifier"


def _run_artifacts(setup: ModelSetup, run_id: str) -> list[str]:
    return [f.path for f in setup.client.list_artifacts(run_id)]


def test_sklearn_round_trip(setup: ModelSetup) -> None:
    """log_model (skops) → load_model from runs:/ predicts identically; MLmodel is complete."""
    model = _fit()
    with mlflow.start_run() as run:
        info = modelyard.sklearn.log_model(model, "model", input_example=X.head(3))
    run_id = run.info.run_id
    assert info.model_uri == f"runs:/{run_id}/model"
    assert info.run_id == run_id and info.artifact_path == "model"
    assert info.registered_model_version is None
    assert info.signature == ModelSignature(
        Schema([ColSpec(DataType.double, "a"), ColSpec(DataType.double, "b")]),
        info.signature.outputs if info.signature else None,
    )
    assert info.signature is not None and info.signature.outputs is not None

    loaded = modelyard.sklearn.load_model(info.model_uri)
    assert type(loaded) is LogisticRegression
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    pyfunc = modelyard.pyfunc.load_model(f"runs:/{run_id}/model")
    np.testing.assert_array_equal(pyfunc.predict(X), model.predict(X))
    assert pyfunc.metadata.get_input_schema() == info.signature.inputs

    local = Path(mlflow.artifacts.download_artifacts(f"runs:/{run_id}/model"))
    assert sorted(p.name for p in local.iterdir()) == [
        "MLmodel",
        "input_example.json",
        "model.skops",
        "requirements.txt",
        "serving_input_example.json",
    ]
    mlmodel = yaml.safe_load((local / "MLmodel").read_text())
    assert mlmodel["run_id"] == run_id and mlmodel["artifact_path"] == "model"
    assert mlmodel["model_uuid"] == info.model_uuid and len(info.model_uuid) == 32
    assert mlmodel["modelyard_version"] == modelyard.__version__
    assert mlmodel["flavors"]["sklearn"]["serialization_format"] == "skops"
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "modelyard.sklearn"
    assert mlmodel["saved_input_example_info"]["type"] == "dataframe"
    requirements = (local / "requirements.txt").read_text().splitlines()
    import sklearn
    import skops

    assert f"scikit-learn=={sklearn.__version__}" in requirements
    assert f"skops=={skops.__version__}" in requirements
    history = json.loads(setup.client.get_run(run_id).data.tags["mlflow.log-model.history"])
    assert [(h["artifact_path"], h["model_uuid"]) for h in history] == [("model", info.model_uuid)]


def test_log_model_path_arguments(embedded: ModelSetup) -> None:
    """The path is the 2nd positional argument, artifact_path= or name=; different both → error."""
    model = _fit()
    with mlflow.start_run() as run:
        a = modelyard.sklearn.log_model(model, "m1")
        b = modelyard.sklearn.log_model(model, artifact_path="m2")
        c = modelyard.sklearn.log_model(model, name="m3")
        d = modelyard.sklearn.log_model(model, artifact_path="m4", name="m4")
        before = _run_artifacts(embedded, run.info.run_id)
        with pytest.raises(InvalidArgument) as info:
            modelyard.sklearn.log_model(model, artifact_path="x", name="y")
        assert info.value.code == Code.INVALID_ARGUMENT
        assert "'x'" in str(info.value) and "'y'" in str(info.value)
        for bad in ("../escape", "/abs", "a//b"):
            with pytest.raises(InvalidArgument, match="invalid artifact path"):
                modelyard.sklearn.log_model(model, bad)
        with pytest.raises(InvalidArgument, match="'joblib'"):
            modelyard.sklearn.log_model(model, "m5", serialization_format="joblib")
        assert _run_artifacts(embedded, run.info.run_id) == before
    assert [i.artifact_path for i in (a, b, c, d)] == ["m1", "m2", "m3", "m4"]
    assert before == ["m1", "m2", "m3", "m4"]
    history = json.loads(
        embedded.client.get_run(run.info.run_id).data.tags["mlflow.log-model.history"]
    )
    assert [h["artifact_path"] for h in history] == ["m1", "m2", "m3", "m4"]


def test_log_model_starts_a_run(embedded: ModelSetup) -> None:
    """Without an active run, log_model starts one (and leaves it active, like MLflow)."""
    info = modelyard.sklearn.log_model(_fit(), "model")
    active = mlflow.active_run()
    assert active is not None and active.info.run_id == info.run_id


def test_predict_enforces_signature(embedded: ModelSetup) -> None:
    """Missing column, wrong type and lossy conversion are refused naming the column."""
    signature = ModelSignature(
        Schema([ColSpec(DataType.double, "a"), ColSpec(DataType.double, "b")])
    )
    with mlflow.start_run():
        info = modelyard.sklearn.log_model(_fit(), "model", signature=signature)
    model = modelyard.pyfunc.load_model(info.model_uri)
    with pytest.raises(InvalidArgument, match=r"missing inputs \['b'\]"):
        model.predict(X[["a"]])
    with pytest.raises(InvalidArgument, match="column b"):
        model.predict(X.assign(b=["x"] * len(X)))
    with pytest.raises(InvalidArgument, match=r"column a.*int64 to float64"):
        model.predict(X.assign(a=np.arange(len(X), dtype=np.int64) * 7))
    with pytest.warns(UserWarning, match=r"\['extra'\]"):
        out = model.predict(X.assign(extra=1)[["extra", "b", "a"]])
    np.testing.assert_array_equal(out, _fit().predict(X))
    one = model.predict({"a": 5.0, "b": 0.0})
    assert one.tolist() == [1]


class AddN(modelyard.pyfunc.PythonModel):
    """Adds the number stored in its artifact file (and an optional param) to column x."""

    def load_context(self, context: modelyard.pyfunc.PythonModelContext) -> None:
        """Read n from the artifact."""
        self.n = float(Path(context.artifacts["n_file"]).read_text())
        self.scale = context.model_config.get("scale", 1)

    def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
        """x + n (+ bump) times scale."""
        bump = (params or {}).get("bump", 0.0)
        return ((model_input["x"] + self.n + bump) * self.scale).tolist()


def test_pyfunc_python_model_with_artifacts(embedded: ModelSetup, tmp_path: Path) -> None:
    """A PythonModel gets its artifacts' local paths in the context; params are enforced."""
    n_file = tmp_path / "n.txt"
    n_file.write_text("10")
    signature = ModelSignature(
        Schema([ColSpec(DataType.double, "x")]),
        Schema([ColSpec(DataType.double)]),
        ParamSchema([ParamSpec("bump", DataType.double, 0.0)]),
    )
    with mlflow.start_run():
        info = modelyard.pyfunc.log_model(
            "pymodel",
            python_model=AddN(),
            artifacts={"n_file": str(n_file)},
            signature=signature,
            model_config={"scale": 2},
            input_example=pd.DataFrame({"x": [1.0]}),
        )
    n_file.write_text("99")  # the model has its own copy
    model = modelyard.pyfunc.load_model(info.model_uri, allow_pickle=True)
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    assert model.predict(frame) == [22.0, 24.0]
    assert model.predict(frame, params={"bump": 1}) == [24.0, 26.0]
    with pytest.raises(InvalidArgument, match="bump"):
        model.predict(frame, params={"bump": "lots"})
    with pytest.raises(InvalidArgument, match=r"missing inputs \['x'\]"):
        model.predict(pd.DataFrame({"y": [1.0]}))
    assert isinstance(model.unwrap_python_model(), AddN)
    sk = modelyard.pyfunc.load_model(modelyard.sklearn.log_model(_fit(), "sk").model_uri)
    with pytest.raises(InvalidArgument, match="unwrap_python_model"):
        sk.unwrap_python_model()


def test_python_model_needs_opt_in(embedded: ModelSetup, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pickled PythonModel is refused without allow_pickle / MODELYARD_ALLOW_PICKLE."""
    with mlflow.start_run():
        info = modelyard.pyfunc.log_model(
            "pymodel", python_model=AddN(), artifacts={"n_file": __file__}
        )
    with pytest.raises(PermissionDenied) as err:
        modelyard.pyfunc.load_model(info.model_uri)
    assert err.value.code == Code.PERMISSION_DENIED
    assert "allow_pickle=True" in str(err.value) and "MODELYARD_ALLOW_PICKLE" in str(err.value)


def test_pickle_format_needs_opt_in(embedded: ModelSetup, monkeypatch: pytest.MonkeyPatch) -> None:
    """serialization_format=pickle: refused without opt-in, loaded with allow_pickle or env."""
    model = _fit()
    with mlflow.start_run():
        info = modelyard.sklearn.log_model(model, "model", serialization_format="pickle")
        cloud = modelyard.sklearn.log_model(model, "cloud", serialization_format="cloudpickle")
    for uri in (info.model_uri, cloud.model_uri):
        with pytest.raises(PermissionDenied) as err:
            modelyard.sklearn.load_model(uri)
        assert "allow_pickle=True" in str(err.value)
        assert "MODELYARD_ALLOW_PICKLE=true" in str(err.value)
        with pytest.raises(PermissionDenied):
            modelyard.pyfunc.load_model(uri)
        loaded = modelyard.sklearn.load_model(uri, allow_pickle=True)
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    monkeypatch.setenv("MODELYARD_ALLOW_PICKLE", "true")
    assert modelyard.pyfunc.load_model(info.model_uri).predict(X).tolist() == Y.tolist()


def test_skops_untrusted_type(
    embedded: ModelSetup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A custom type is refused unless the loader trusts it (argument or env), never the file."""
    model = ThresholdClassifier().fit(X, Y)
    with mlflow.start_run():
        info = modelyard.sklearn.log_model(
            model,
            "model",
            skops_trusted_types=[CUSTOM_TYPE],  # recorded, never trusted from it
        )
    for load in (modelyard.sklearn.load_model, modelyard.pyfunc.load_model):
        with pytest.raises(PermissionDenied) as err:
            load(info.model_uri)
        assert CUSTOM_TYPE in str(err.value)
        assert "skops_trusted_types" in str(err.value)
        assert "MODELYARD_SKOPS_TRUSTED_TYPES" in str(err.value)
    loaded = modelyard.sklearn.load_model(info.model_uri, skops_trusted_types=[CUSTOM_TYPE])
    assert loaded.predict(X).tolist() == model.predict(X).tolist()
    monkeypatch.setenv("MODELYARD_SKOPS_TRUSTED_TYPES", f"x.Other, {CUSTOM_TYPE}")
    assert modelyard.pyfunc.load_model(info.model_uri).predict(X).tolist() == [0, 0, 0, 1, 1, 1]


def _model_dir(tmp_path: Path, mlmodel: str) -> Path:
    path = tmp_path / "handmade"
    path.mkdir(exist_ok=True)
    (path / "MLmodel").write_text(mlmodel)
    return path


@pytest.mark.parametrize(
    ("mlmodel", "needle"),
    [
        ("flavors: {sklearn: [unclosed\n", "not valid YAML"),
        ("just a string\n", "not a mapping"),
        ("run_id: abc\n", "no flavors"),
    ],
)
def test_malformed_mlmodel(embedded: ModelSetup, tmp_path: Path, mlmodel: str, needle: str) -> None:
    """A model directory whose MLmodel is malformed → InvalidArgument naming the file."""
    path = _model_dir(tmp_path, mlmodel)
    for load in (modelyard.sklearn.load_model, modelyard.pyfunc.load_model):
        with pytest.raises(InvalidArgument) as err:
            load(str(path))
        assert err.value.code == Code.INVALID_ARGUMENT
        assert needle in str(err.value) and str(path / "MLmodel") in str(err.value)


def test_unknown_flavor_and_loader(embedded: ModelSetup, tmp_path: Path) -> None:
    """An unknown flavor is named; a loader module outside modelyard's is never imported."""
    path = _model_dir(tmp_path, "flavors: {tensorflow: {saved_model_dir: tfmodel}}\n")
    with pytest.raises(InvalidArgument, match=r"no 'sklearn' flavor.*\['tensorflow'\]"):
        modelyard.sklearn.load_model(str(path))
    with pytest.raises(InvalidArgument, match="no 'python_function' flavor"):
        modelyard.pyfunc.load_model(str(path))
    path = _model_dir(
        tmp_path,
        "flavors:\n  python_function: {loader_module: evil_loader_h3, model_path: x}\n",
    )
    with pytest.raises(InvalidArgument) as err:
        modelyard.pyfunc.load_model(str(path))
    assert "'evil_loader_h3'" in str(err.value)
    assert "evil_loader_h3" not in sys.modules


def test_pickled_model_path_cannot_leave_model(embedded: ModelSetup, tmp_path: Path) -> None:
    """A pickled_model name that leaves the model directory is refused before reading."""
    outside = tmp_path / "outside.pkl"
    outside.write_bytes(pickle.dumps(1))
    path = _model_dir(
        tmp_path,
        "flavors:\n  sklearn: {pickled_model: ../outside.pkl, serialization_format: pickle}\n",
    )
    with pytest.raises(InvalidArgument, match=r"\.\./outside\.pkl"):
        modelyard.sklearn.load_model(str(path), allow_pickle=True)


def test_save_model_locally_and_existing_path(embedded: ModelSetup, tmp_path: Path) -> None:
    """save_model writes a directory that load_model reads; a non-empty path is refused."""
    target = tmp_path / "saved"
    modelyard.sklearn.save_model(_fit(), target, input_example=X.head(2))
    assert modelyard.sklearn.load_model(target).predict(X).tolist() == Y.tolist()
    assert modelyard.sklearn.load_model(f"file://{target}").predict(X).tolist() == Y.tolist()
    with pytest.raises(InvalidArgument, match="already exists"):
        modelyard.sklearn.save_model(_fit(), target)


def test_models_from_code(embedded: ModelSetup, tmp_path: Path) -> None:
    """python_model="file.py" that calls set_model: loaded only with the opt-in."""
    code = tmp_path / "my_model.py"
    code.write_text(
        "import modelyard.models\n"
        "class Doubler:\n"
        "    def predict(self, model_input, params=None):\n"
        "        return [2 * v for v in model_input['x']]\n"
        "modelyard.models.set_model(Doubler())\n"
    )
    with mlflow.start_run():
        info = modelyard.pyfunc.log_model("code_model", python_model=str(code))
    with pytest.raises(PermissionDenied, match="models from code"):
        modelyard.pyfunc.load_model(info.model_uri)
    model = modelyard.pyfunc.load_model(info.model_uri, allow_pickle=True)
    assert model.predict(pd.DataFrame({"x": [1, 2]})) == [2, 4]


def test_common_estimators_load_without_an_opt_in(embedded: ModelSetup) -> None:
    """Tree ensembles, k-NN and MLP hold scikit-learn state types skops does not list; they
    load with no skops_trusted_types, while a custom class still needs one (test above)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier

    x = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0], [4.0, 1.0], [5.0, 0.0]])
    y = np.array([0, 0, 0, 1, 1, 1])
    for model in (
        RandomForestClassifier(n_estimators=3, random_state=0),
        HistGradientBoostingClassifier(max_iter=3, min_samples_leaf=1),
        KNeighborsClassifier(n_neighbors=1, algorithm="kd_tree", metric="manhattan"),
        KNeighborsClassifier(n_neighbors=1, algorithm="ball_tree"),
        MLPClassifier(hidden_layer_sizes=(3,), max_iter=5, random_state=0),
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # MLP's 5 iterations
            model.fit(x, y)
        with mlflow.start_run():
            info = modelyard.sklearn.log_model(model, "model")
        expected = model.predict(x).tolist()
        assert modelyard.sklearn.load_model(info.model_uri).predict(x).tolist() == expected
        assert modelyard.pyfunc.load_model(info.model_uri).predict(x).tolist() == expected


def test_artifact_functions_take_models_uris(setup: ModelSetup, tmp_path: Path) -> None:
    """models:/ URIs resolve through the registry in download_artifacts and list_artifacts."""
    with mlflow.start_run():
        info = modelyard.sklearn.log_model(_fit(), "model", registered_model_name="iris-lr")
    setup.client.set_registered_model_alias("iris-lr", "champion", 1)
    for uri in ("models:/iris-lr/1", "models:/iris-lr@champion", "models:/iris-lr/latest"):
        listed = {f.path for f in modelyard.artifacts.list_artifacts(uri)}
        assert "MLmodel" in listed and "model.skops" in listed, (uri, listed)
        local = Path(modelyard.artifacts.download_artifacts(uri, dst_path=tmp_path / "dl"))
        assert (local / "MLmodel").is_file()
        assert modelyard.sklearn.load_model(str(local)).predict(X).tolist() == Y.tolist()
    assert info.registered_model_version == 1
    with pytest.raises(NotFound):
        modelyard.artifacts.download_artifacts("models:/iris-lr@nobody")
