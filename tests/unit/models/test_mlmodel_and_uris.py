"""The MLmodel descriptor (round trip, parse errors), input examples and model URI parsing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from modelyard.errors import Code, InvalidArgument
from modelyard.models import ColSpec, DataType, Model, ModelSignature, Schema
from modelyard.models.input_example import load_input_example, save_input_example
from modelyard.models.uris import ModelsUri, RunsUri, parse_models_uri, parse_runs_uri


def test_model_round_trip(tmp_path: Path) -> None:
    """save → load keeps flavors, signature, ids, times and unknown keys."""
    sig = ModelSignature(Schema([ColSpec(DataType.double, "x")]))
    model = Model(artifact_path="model", run_id="abc", signature=sig, metadata={"k": "v"})
    model.add_flavor("sklearn", pickled_model="model.skops", serialization_format="skops")
    model.extra["future_key"] = 1
    model.save(tmp_path)
    loaded = Model.load(tmp_path)
    assert loaded.to_dict() == model.to_dict()
    assert len(loaded.model_uuid) == 32
    assert loaded.get_input_schema() == sig.inputs
    raw = yaml.safe_load((tmp_path / "MLmodel").read_text())
    assert isinstance(raw["signature"]["inputs"], str)
    assert raw["flavors"]["sklearn"]["serialization_format"] == "skops"


def test_model_omits_none_run_and_path(tmp_path: Path) -> None:
    """run_id and artifact_path are left out when None."""
    data = Model(flavors={"python_function": {}}).to_dict()
    assert "run_id" not in data and "artifact_path" not in data
    assert set(data) >= {"flavors", "model_uuid", "modelyard_version", "utc_time_created"}


def test_mlflow_written_file_loads(tmp_path: Path) -> None:
    """An MLmodel as MLflow 3 writes it loads (mlflow_version read as the version)."""
    (tmp_path / "MLmodel").write_text(
        "flavors:\n  sklearn: {pickled_model: model.skops, serialization_format: skops}\n"
        "mlflow_version: 3.17.2\nmodel_uuid: m-0ee8\nrun_id: c54b\n"
        'signature:\n  inputs: \'[{"type": "tensor", "tensor-spec": '
        '{"dtype": "float64", "shape": [-1, 2]}}]\'\n  outputs: null\n  params: null\n'
        "utc_time_created: '2026-11-22 12:29:54.317721'\n"
    )
    model = Model.load(tmp_path)
    assert model.modelyard_version == "3.17.2"
    assert model.signature is not None and model.signature.inputs is not None


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("flavors: [unclosed", "not valid YAML"),
        ("- a\n- b\n", "not a mapping"),
        ("run_id: x\n", "no flavors"),
        ("flavors: 3\n", "'flavors' must map"),
        ("flavors: {sklearn: {}}\nsignature: {inputs: '{bad'}\n", "malformed signature"),
        ("!!python/object/apply:os.system ['echo hi']\n", "not valid YAML"),
    ],
)
def test_malformed_mlmodel(tmp_path: Path, text: str, needle: str) -> None:
    """Malformed YAML, a non-mapping, no flavors → InvalidArgument naming the file and problem."""
    (tmp_path / "MLmodel").write_text(text)
    with pytest.raises(InvalidArgument) as info:
        Model.load(tmp_path)
    assert info.value.code == Code.INVALID_ARGUMENT
    assert needle in str(info.value)
    assert str(tmp_path / "MLmodel") in str(info.value)


def test_missing_mlmodel(tmp_path: Path) -> None:
    """A directory without MLmodel is not a model directory."""
    with pytest.raises(InvalidArgument, match="no MLmodel file"):
        Model.load(tmp_path)


def test_input_example_round_trip(tmp_path: Path) -> None:
    """DataFrame → split orient, ndarray → nested list, dict → JSON; all load back."""
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    info = save_input_example(tmp_path, frame)
    assert info["type"] == "dataframe" and info["pandas_orient"] == "split"
    assert (tmp_path / "input_example.json").read_text() == (
        '{"columns": ["a", "b"], "data": [[1.0, "x"], [2.0, "y"]]}'
    )
    pd.testing.assert_frame_equal(load_input_example(tmp_path, info), frame)
    (tmp_path / "n").mkdir()
    info = save_input_example(tmp_path / "n", np.arange(4).reshape(2, 2))
    assert (tmp_path / "n" / "input_example.json").read_text() == "[[0, 1], [2, 3]]"
    assert load_input_example(tmp_path / "n", info).tolist() == [[0, 1], [2, 3]]
    (tmp_path / "d").mkdir()
    info = save_input_example(tmp_path / "d", {"q": "hi", "n": 2})
    assert load_input_example(tmp_path / "d", info) == {"q": "hi", "n": 2}


def test_input_example_path_cannot_leave_model(tmp_path: Path) -> None:
    """An info whose artifact_path leaves the model directory is refused."""
    with pytest.raises(InvalidArgument, match=r"\.\./secret"):
        load_input_example(tmp_path, {"artifact_path": "../secret", "type": "json_object"})


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("models:/churn/3", ModelsUri("churn", version=3)),
        ("models:/churn/Staging", ModelsUri("churn", stage="Staging")),
        ("models:/churn/production", ModelsUri("churn", stage="Production")),
        ("models:/churn/LATEST", ModelsUri("churn", latest=True)),
        ("models:/churn@champion", ModelsUri("churn", alias="champion")),
        ("models:/my model/1", ModelsUri("my model", version=1)),
    ],
)
def test_models_uri_forms(uri: str, expected: ModelsUri) -> None:
    """Every models:/ form parses; stages canonicalized, latest case-insensitive."""
    assert parse_models_uri(uri) == expected


@pytest.mark.parametrize(
    "uri",
    [
        "models:/a/1/2",
        "models:/a//1",
        "models:/",
        "models:/a/",
        "models:/a",
        "models:/a@",
        "models:/@x",
        "models:/a@x/1",
        "models:/a/Prod",
        "models:/a/0",
        "models://host/a/1",
        "models:/a/1?x=1",
        "models:a/1",
    ],
)
def test_malformed_models_uris(uri: str) -> None:
    """Malformed models:/ URIs → InvalidArgument naming the URI."""
    with pytest.raises(InvalidArgument) as info:
        parse_models_uri(uri)
    assert info.value.code == Code.INVALID_ARGUMENT
    assert repr(uri) in str(info.value)


def test_runs_uri() -> None:
    """runs:/<id>/<path> parses; no id, traversal or a query are refused."""
    assert parse_runs_uri("runs:/abc/model") == RunsUri("abc", "model")
    assert parse_runs_uri("runs:/abc/a/b/") == RunsUri("abc", "a/b")
    assert parse_runs_uri("runs:/abc") == RunsUri("abc", "")
    for bad in ("runs:/", "runs:/abc/../x", "runs:/abc/m?x=1", "runs://host/abc/m", "s3://b/k"):
        with pytest.raises(InvalidArgument) as info:
            parse_runs_uri(bad)
        assert repr(bad) in str(info.value)
