"""Signature inference and the JSON round trip, in MLflow's format."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from modelyard.entities.model_registry import SignatureMetadata
from modelyard.errors import Code, InvalidArgument
from modelyard.models import (
    ColSpec,
    DataType,
    ModelSignature,
    ParamSchema,
    ParamSpec,
    Schema,
    TensorSpec,
    infer_signature,
)
from modelyard.models.schema import AnyType, Array, Map, Object, Property


def test_dataframe_and_ndarray_match_mlflow_json() -> None:
    """DataFrame columns: int64→long, float64→double, str→string, bool→boolean; ndarray→tensor."""
    frame = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5], "c": ["x", "y"], "d": [True, False]})
    with pytest.warns(UserWarning, match=r"integer columns \['a'\]"):
        sig = infer_signature(frame, np.array([0, 1]))
    assert sig.to_dict() == {
        "inputs": '[{"type": "long", "name": "a", "required": true}, '
        '{"type": "double", "name": "b", "required": true}, '
        '{"type": "string", "name": "c", "required": true}, '
        '{"type": "boolean", "name": "d", "required": true}]',
        "outputs": '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]',
        "params": None,
    }


def test_ndarray_input_keeps_inner_dims() -> None:
    """An ndarray gives a TensorSpec with batch dimension -1 (MLflow's verified example)."""
    sig = infer_signature(np.zeros((5, 2)), np.zeros(5, dtype=np.int64))
    assert json.loads(sig.to_dict()["inputs"]) == [
        {"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 2]}}
    ]
    assert sig.inputs == Schema([TensorSpec(np.float64, (-1, 2))])


def test_dict_of_scalars_and_lists() -> None:
    """A dict is one row: scalars give their type, lists give Array columns."""
    sig = infer_signature({"n": 3, "x": 1.5, "s": "a", "tags": ["p", "q"]})
    assert sig.inputs == Schema(
        [
            ColSpec(DataType.long, "n"),
            ColSpec(DataType.double, "x"),
            ColSpec(DataType.string, "s"),
            ColSpec(Array(DataType.string), "tags"),
        ]
    )
    assert json.loads(sig.to_dict()["inputs"])[3] == {
        "type": "array",
        "items": {"type": "string"},
        "name": "tags",
        "required": True,
    }


def test_dict_of_arrays_gives_named_tensors() -> None:
    """A dict whose values are all ndarrays gives named TensorSpecs."""
    sig = infer_signature({"img": np.zeros((2, 3, 3), dtype=np.float32)})
    assert sig.inputs == Schema([TensorSpec(np.float32, (-1, 3, 3), "img")])
    assert json.loads(sig.inputs.to_json()) == [
        {"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3, 3]}, "name": "img"}
    ]


def test_list_of_dicts_marks_absent_keys_optional() -> None:
    """A list of dicts is rows; a key missing in some rows is optional."""
    sig = infer_signature([{"a": 1.0, "b": "x"}, {"a": 2.0}])
    assert sig.inputs == Schema(
        [ColSpec(DataType.double, "a"), ColSpec(DataType.string, "b", required=False)]
    )


def test_list_of_scalars_scalar_and_string() -> None:
    """Lists of scalars and scalars give one unnamed column; a string output is a string column."""
    assert infer_signature(["a", "b"]).inputs == Schema([ColSpec(DataType.string)])
    assert infer_signature([1, 2.5]).inputs == Schema([ColSpec(DataType.double)])
    sig = infer_signature(3, "yes")
    assert sig.inputs == Schema([ColSpec(DataType.long)])
    assert sig.outputs == Schema([ColSpec(DataType.string)])


def test_series_and_missing_values() -> None:
    """A Series is one column; a column with missing values is optional."""
    sig = infer_signature(pd.DataFrame({"a": [1.0, None]}), pd.Series([0.1, 0.2]))
    assert sig.inputs == Schema([ColSpec(DataType.double, "a", required=False)])
    assert sig.outputs == Schema([ColSpec(DataType.double)])


def test_uninferable_gives_any_with_warning() -> None:
    """Data of an unknown type gives Schema([ColSpec(Any)]) and a warning."""
    with pytest.warns(UserWarning, match="could not infer the input schema"):
        sig = infer_signature(object())
    assert sig.inputs == Schema([ColSpec(AnyType())])
    assert json.loads(sig.to_dict()["inputs"]) == [{"type": "any", "required": True}]


def test_params_inference_and_json() -> None:
    """Params give ParamSpecs in MLflow's JSON: name, default, shape, type."""
    sig = infer_signature(["q"], params={"temp": 0.5, "k": [1, 2], "flag": True, "s": "x"})
    assert json.loads(sig.to_dict()["params"]) == [
        {"name": "temp", "default": 0.5, "shape": None, "type": "double"},
        {"name": "k", "default": [1, 2], "shape": [-1], "type": "long"},
        {"name": "flag", "default": True, "shape": None, "type": "boolean"},
        {"name": "s", "default": "x", "shape": None, "type": "string"},
    ]


def test_round_trip_every_spec_kind() -> None:
    """to_dict → from_dict gives an equal signature for columns, complex types, tensors, params."""
    inputs = Schema(
        [
            ColSpec(DataType.double, "x"),
            ColSpec(DataType.datetime, "when", required=False),
            ColSpec(Array(DataType.long), "ids"),
            ColSpec(Object([Property("k", DataType.string), Property("v", "double", False)]), "o"),
            ColSpec(Map(DataType.binary), "m"),
            ColSpec(AnyType(), "any"),
        ]
    )
    outputs = Schema([TensorSpec(np.dtype("float32"), (-1, 28, 28), "img")])
    params = ParamSchema([ParamSpec("n", DataType.long, 3), ParamSpec("w", "double", [0.5], (-1,))])
    sig = ModelSignature(inputs, outputs, params)
    data = sig.to_dict()
    assert all(isinstance(v, str) for v in data.values())
    assert ModelSignature.from_dict(data) == sig
    assert json.loads(data["inputs"])[3] == {
        "type": "object",
        "properties": {
            "k": {"type": "string", "required": True},
            "v": {"type": "double", "required": False},
        },
        "name": "o",
        "required": True,
    }
    assert ModelSignature.from_metadata(sig.to_metadata()) == sig
    assert sig.to_metadata() == SignatureMetadata(**data)


def test_mlflow_written_signature_parses() -> None:
    """A signature as MLflow 3 writes it in MLmodel parses."""
    sig = ModelSignature.from_dict(
        {
            "inputs": '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 2]}}]',
            "outputs": '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]',
            "params": None,
        }
    )
    assert sig.inputs == Schema([TensorSpec("float64", [-1, 2])])
    assert sig.params is None


@pytest.mark.parametrize(
    ("build", "needle"),
    [
        (lambda: Schema([ColSpec("double", "a"), TensorSpec("float64", [-1])]), "not both"),
        (lambda: Schema([ColSpec("double", "a"), ColSpec("double")]), "every input"),
        (lambda: Schema([ColSpec("double", "a"), ColSpec("long", "a")]), "['a']"),
        (lambda: ColSpec("decimal128", "a"), "'decimal128'"),
        (lambda: TensorSpec("float64", [-2]), "[-2]"),
        (lambda: ParamSpec("n", DataType.long, "three"), "'three'"),
        (lambda: ModelSignature(), "inputs or outputs"),
        (lambda: Schema.from_json("{not json"), "{not json"),
        (lambda: ModelSignature.from_dict({"inputs": "[]", "extra": "x"}), "extra"),
    ],
)
def test_bad_schemas_raise_invalid_argument(build: object, needle: str) -> None:
    """Malformed specs raise InvalidArgument naming the offending value."""
    with pytest.raises(InvalidArgument) as info:
        build()  # type: ignore[operator]
    assert info.value.code == Code.INVALID_ARGUMENT
    assert needle in str(info.value)


def test_import_models_stays_light() -> None:
    """`import modelyard.models` imports neither numpy, pandas, grpc, SQLAlchemy nor fsspec."""
    code = (
        "import sys, modelyard.models; "
        "print(sorted(m for m in ('numpy','pandas','grpc','sqlalchemy','fsspec') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_warning_for_float_frames() -> None:
    """Only integer columns trigger the missing-values warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        infer_signature(pd.DataFrame({"a": [1.0]}))
