"""Registering logged models and loading them by every models:/ form, with the integrity check.

Embedded (SQLite + local artifacts) and through a live server proxying artifacts to a folder.
The integrity test changes a registered version's files directly on disk (the artifact
service would refuse to) and expects load_model to refuse the model, naming the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression

import modelyard
import modelyard as mlflow
from modelyard.errors import (
    AliasNotFound,
    Code,
    InvalidArgument,
    ModelIntegrityError,
    ModelVersionNotFound,
    NotFound,
)
from modelyard.models import ModelSignature

from .conftest import ModelSetup

pytestmark = pytest.mark.integration

X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "b": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]})
Y = np.array([0, 0, 0, 1, 1, 1])
V1 = [0, 0, 0, 1, 1, 1]
V2 = [1, 1, 1, 1, 1, 1]


def _log_two_versions() -> tuple[modelyard.models.ModelInfo, modelyard.models.ModelInfo]:
    with mlflow.start_run():
        first = modelyard.sklearn.log_model(
            LogisticRegression().fit(X, Y),
            "model",
            input_example=X.head(2),
            registered_model_name="churn",
        )
    with mlflow.start_run():
        second = modelyard.sklearn.log_model(
            DummyClassifier(strategy="constant", constant=1).fit(X, Y),
            name="model",
            registered_model_name="churn",
        )
    return first, second


def _predict(uri: str) -> list[int]:
    return modelyard.pyfunc.load_model(uri).predict(X).tolist()


def test_register_and_load_every_form(setup: ModelSetup) -> None:
    """models:/name/<version>, /<stage> (any case), /latest and @alias load the right version."""
    first, second = _log_two_versions()
    assert (first.registered_model_version, second.registered_model_version) == (1, 2)
    client = setup.client
    mv = client.get_model_version("churn", 1)
    assert mv.run_id == first.run_id and mv.source == first.model_uri
    assert mv.signature is not None
    assert ModelSignature.from_metadata(mv.signature) == first.signature

    assert _predict("models:/churn/1") == V1
    assert modelyard.sklearn.load_model("models:/churn/2").predict(X).tolist() == V2
    assert _predict("models:/churn/latest") == V2
    assert _predict("models:/churn/LATEST") == V2

    client.transition_model_version_stage("churn", 1, "Staging")
    assert _predict("models:/churn/Staging") == V1
    assert _predict("models:/churn/staging") == V1
    client.set_registered_model_alias("churn", "champion", 1)
    assert _predict("models:/churn@champion") == V1
    client.set_registered_model_alias("churn", "champion", 2)
    assert _predict("models:/churn@champion") == V2

    third = mlflow.register_model(first.model_uri, "churn")
    assert int(third.version) == 3
    assert _predict("models:/churn/latest") == V1


def test_models_uri_that_resolves_to_nothing(setup: ModelSetup) -> None:
    """Unknown version, alias, empty stage or model → NOT_FOUND naming what is missing."""
    _log_two_versions()
    with pytest.raises(ModelVersionNotFound) as err:
        modelyard.pyfunc.load_model("models:/churn/9")
    assert err.value.code == Code.NOT_FOUND and "9" in str(err.value)
    with pytest.raises(AliasNotFound, match="nope"):
        modelyard.pyfunc.load_model("models:/churn@nope")
    with pytest.raises(ModelVersionNotFound, match="Production"):
        modelyard.sklearn.load_model("models:/churn/Production")
    with pytest.raises(NotFound, match="ghost"):
        modelyard.sklearn.load_model("models:/ghost/1")
    with pytest.raises(InvalidArgument, match=r"'models:/churn/1/2'"):
        modelyard.sklearn.load_model("models:/churn/1/2")


def _version_dir(setup: ModelSetup, version: int) -> Path:
    location = setup.client.get_model_version("churn", version).storage_location
    path = setup.physical(location)
    assert (path / "MLmodel").is_file(), path
    return path


def test_integrity_check(setup: ModelSetup, tmp_path: Path) -> None:
    """A registered version whose files changed on disk is refused, naming the file."""
    _log_two_versions()
    folder = _version_dir(setup, 1)
    payload = folder / "model.skops"
    original = payload.read_bytes()

    def refused(name: str, *needles: str) -> None:
        for load in (modelyard.sklearn.load_model, modelyard.pyfunc.load_model):
            with pytest.raises(ModelIntegrityError) as err:
                load("models:/churn/1")
            assert err.value.code == Code.FAILED_PRECONDITION
            assert repr(name) in str(err.value)
            for needle in needles:
                assert needle in str(err.value)

    # same size, one byte different: caught by the hash
    flipped = bytearray(original)
    flipped[-1] ^= 0xFF
    payload.write_bytes(bytes(flipped))
    refused("model.skops", "sha256")
    payload.write_bytes(original)

    requirements = folder / "requirements.txt"
    kept = requirements.read_text()
    requirements.write_text(kept + "evil-package==1.0\n")
    refused("requirements.txt", "size")
    requirements.write_text(kept)

    extra = folder / "sitecustomize.py"
    extra.write_text("print('hi')\n")
    refused("sitecustomize.py", "not part of the registered version")
    extra.unlink()

    example = folder / "input_example.json"
    saved = example.read_bytes()
    example.unlink()
    refused("input_example.json", "missing")
    example.write_bytes(saved)

    dst = tmp_path / "download"
    assert modelyard.pyfunc.load_model("models:/churn/1", dst_path=dst).predict(X).tolist() == V1
    assert any(dst.rglob("MLmodel"))
    assert _predict("models:/churn/2") == V2  # other versions are unaffected throughout


def test_fluent_registry_searches_and_delete_run(setup: ModelSetup) -> None:
    """modelyard.search_registered_models / search_model_versions page through every result;
    modelyard.delete_run marks a run deleted; end_run checks its status even with no run."""
    _log_two_versions()
    with mlflow.start_run() as other:
        info = modelyard.sklearn.log_model(DummyClassifier().fit(X, Y), "model")
    modelyard.register_model(info.model_uri, "other")
    models = modelyard.search_registered_models(order_by=["name DESC"])
    assert [m.name for m in models] == ["other", "churn"]
    named = modelyard.search_registered_models(filter_string="name = 'churn'")
    assert [m.name for m in named] == ["churn"]
    assert len(modelyard.search_registered_models(max_results=1)) == 1
    versions = modelyard.search_model_versions(filter_string="name = 'churn'")
    assert sorted(int(v.version) for v in versions) == [1, 2]
    assert len(modelyard.search_model_versions()) == 3
    assert len(modelyard.search_model_versions(max_results=1)) == 1
    modelyard.delete_run(other.info.run_id)
    assert modelyard.get_run(other.info.run_id).info.lifecycle_stage == "deleted"
    with pytest.raises(InvalidArgument, match="filter_string="):
        modelyard.search_model_versions("name = 'churn'")  # MLflow's order: max_results first
    with pytest.raises(InvalidArgument, match="bogus"):
        modelyard.end_run(status="bogus")
