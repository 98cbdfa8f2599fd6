"""Schema enforcement at predict time: each rule of MLflow's behaviour is a test."""

from __future__ import annotations

import decimal
import warnings

import numpy as np
import pandas as pd
import pytest

from modelyard.errors import Code, InvalidArgument
from modelyard.models import (
    ColSpec,
    DataType,
    ParamSchema,
    ParamSpec,
    Schema,
    TensorSpec,
    enforce_params,
    enforce_schema,
)
from modelyard.models.schema import AnyType, Array

SCHEMA = Schema(
    [ColSpec(DataType.double, "a"), ColSpec(DataType.long, "b"), ColSpec(DataType.string, "c")]
)


def _raises(data: object, schema: Schema, *needles: str) -> InvalidArgument:
    before = data.copy() if isinstance(data, pd.DataFrame) else None
    with pytest.raises(InvalidArgument) as info:
        enforce_schema(data, schema)
    assert info.value.code == Code.INVALID_ARGUMENT
    for needle in needles:
        assert needle in str(info.value), str(info.value)
    if before is not None:
        pd.testing.assert_frame_equal(data, before)  # the caller's frame is untouched
    return info.value


def test_missing_required_column_is_named() -> None:
    """A missing required column: "Model is missing inputs ['c']"."""
    frame = pd.DataFrame({"a": [1.0], "b": [2]})
    _raises(frame, SCHEMA, "Model is missing inputs ['c']")


def test_optional_column_may_be_absent() -> None:
    """An optional column may be left out."""
    schema = Schema([ColSpec(DataType.double, "a"), ColSpec(DataType.string, "o", False)])
    out = enforce_schema(pd.DataFrame({"a": [1.0]}), schema)
    assert list(out.columns) == ["a"]


def test_extra_columns_dropped_with_warning_and_order_normalized() -> None:
    """Extra columns are dropped with a warning naming them; columns follow the schema."""
    frame = pd.DataFrame({"c": ["x"], "z": [0], "b": [2], "a": [1.0]})
    with pytest.warns(UserWarning, match=r"\['z'\]"):
        out = enforce_schema(frame, SCHEMA)
    assert list(out.columns) == ["a", "b", "c"]
    assert list(frame.columns) == ["c", "z", "b", "a"]


def test_dict_is_one_row() -> None:
    """A dict input is a single row."""
    out = enforce_schema({"a": 1.5, "b": 2, "c": "x"}, SCHEMA)
    assert out.shape == (1, 3)
    assert out["b"].dtype == np.int64


def test_list_of_dicts_is_rows() -> None:
    """A list of dicts is rows."""
    out = enforce_schema([{"a": 1.5, "b": 2, "c": "x"}, {"a": 2.5, "b": 3, "c": "y"}], SCHEMA)
    assert out.shape == (2, 3)


@pytest.mark.parametrize(
    ("dtype", "target", "result"),
    [
        ("int32", DataType.long, "int64"),
        ("int8", DataType.long, "int64"),
        ("float32", DataType.double, "float64"),
        ("int32", DataType.double, "float64"),
        ("int16", DataType.double, "float64"),
        ("int8", DataType.integer, "int32"),
        ("int16", DataType.float, "float32"),
    ],
)
def test_safe_upcasts(dtype: str, target: DataType, result: str) -> None:
    """Safe upcasts are made: int32→long, float32→double, int≤32 bits→double."""
    out = enforce_schema(
        pd.DataFrame({"x": np.array([1, 2], dtype=dtype)}), Schema([ColSpec(target, "x")])
    )
    assert out["x"].dtype == np.dtype(result)


def test_int64_to_double_only_for_zero_one() -> None:
    """int64→double fails unless every value is 0 or 1."""
    schema = Schema([ColSpec(DataType.double, "x")])
    assert enforce_schema(pd.DataFrame({"x": [0, 1, 1]}), schema)["x"].dtype == np.float64
    _raises(
        pd.DataFrame({"x": [0, 5]}),
        schema,
        "column x",
        "Can not safely convert int64 to float64",
    )


@pytest.mark.parametrize(
    ("values", "target", "needle"),
    [
        ([1.5, 2.0], DataType.long, "Can not safely convert float64 to int64"),
        (["true", "false"], DataType.boolean, "Can not safely convert"),
        ([1, 2], DataType.string, "Can not safely convert int64 to"),
        (np.array([1, 2], dtype=np.int64), DataType.integer, "int64 to int32"),
        ([1.0, 2.0], DataType.float, "float64 to float32"),
        ([True, False], DataType.long, "bool to int64"),
        ([1, 2], DataType.datetime, "int64"),
    ],
)
def test_lossy_conversions_rejected(values: object, target: DataType, needle: str) -> None:
    """Lossy conversions are refused naming the column and both types."""
    _raises(pd.DataFrame({"col1": values}), Schema([ColSpec(target, "col1")]), "col1", needle)


def test_nan_in_int_column_gets_missing_values_hint() -> None:
    """A float column holding NaN for a long schema says that it has missing values."""
    err = _raises(
        pd.DataFrame({"n": [1.0, np.nan]}), Schema([ColSpec(DataType.long, "n")]), "column n"
    )
    assert "missing values" in str(err)


def test_optional_column_accepts_missing() -> None:
    """An optional double column keeps its NaN values."""
    schema = Schema([ColSpec(DataType.double, "x", required=False)])
    out = enforce_schema(pd.DataFrame({"x": [1.0, np.nan]}), schema)
    assert out["x"].isna().tolist() == [False, True]


def test_strings_datetimes_and_decimals() -> None:
    """object→string, datetime strings→datetime, Decimal→double are allowed."""
    schema = Schema(
        [
            ColSpec(DataType.string, "s"),
            ColSpec(DataType.datetime, "t"),
            ColSpec(DataType.double, "d"),
        ]
    )
    out = enforce_schema(
        pd.DataFrame({"s": ["a"], "t": ["2024-01-02"], "d": [decimal.Decimal("1.5")]}), schema
    )
    assert out["t"].dtype.kind == "M"
    assert out["d"].dtype == np.float64


def test_array_and_any_columns() -> None:
    """Array columns take lists; Any takes anything; a scalar for an Array column is refused."""
    schema = Schema([ColSpec(Array(DataType.long), "ids"), ColSpec(AnyType(), "free")])
    enforce_schema({"ids": [1, 2], "free": object()}, schema)
    _raises(pd.DataFrame({"ids": [3], "free": [1]}), schema, "column ids")


def test_positional_columns_and_ndarray() -> None:
    """An unnamed schema matches columns by position; an ndarray gets the schema's names."""
    unnamed = Schema([ColSpec(DataType.double), ColSpec(DataType.double)])
    out = enforce_schema(np.array([[1.0, 2.0]]), unnamed)
    assert out.shape == (1, 2)
    _raises(np.array([[1.0, 2.0, 3.0]]), unnamed, "expects 2 input columns, got 3")
    named = Schema([ColSpec(DataType.double, "a"), ColSpec(DataType.double, "b")])
    assert list(enforce_schema(np.array([[1.0, 2.0]]), named).columns) == ["a", "b"]


def test_tensor_dtype_and_shape() -> None:
    """Tensor specs: safe dtype upcasts are made, other dtypes and shapes are refused."""
    schema = Schema([TensorSpec(np.float64, (-1, 2))])
    out = enforce_schema(np.ones((3, 2), dtype=np.float32), schema)
    assert out.dtype == np.float64
    _raises(np.ones((3, 3)), schema, "Shape of input", "(3, 3)", "(-1, 2)")
    _raises(np.array([["a", "b"]]), schema, "dtype of input", "float64")
    int_schema = Schema([TensorSpec(np.int32, (-1,))])
    _raises(np.ones(2, dtype=np.float64), int_schema, "float64", "int32")


def test_named_tensors() -> None:
    """Named tensors come as a dict; a missing one is named."""
    schema = Schema([TensorSpec(np.float32, (-1, 2), "x"), TensorSpec(np.int64, (-1,), "y")])
    out = enforce_schema(
        {"x": np.ones((1, 2), dtype=np.float32), "y": np.array([1])},
        schema,
    )
    assert set(out) == {"x", "y"}
    _raises({"x": np.ones((1, 2), dtype=np.float32)}, schema, "Model is missing inputs ['y']")


PARAMS = ParamSchema(
    [
        ParamSpec("temp", DataType.double, 0.5),
        ParamSpec("k", DataType.long, 3),
        ParamSpec("ids", DataType.long, [1], (-1,)),
    ]
)


def test_params_defaults_and_conversion() -> None:
    """Missing params take defaults; ints are accepted for doubles."""
    assert enforce_params({"temp": 1}, PARAMS) == {"temp": 1.0, "k": 3, "ids": [1]}
    assert enforce_params(None, PARAMS) == {"temp": 0.5, "k": 3, "ids": [1]}


def test_params_unknown_ignored_with_warning() -> None:
    """Unknown params are ignored with a warning naming them."""
    with pytest.warns(UserWarning, match=r"\['nope'\]"):
        out = enforce_params({"nope": 1}, PARAMS)
    assert "nope" not in out


def test_params_wrong_type_rejected() -> None:
    """A param of the wrong type is refused naming the param and types."""
    with pytest.raises(InvalidArgument) as info:
        enforce_params({"k": "three", "ids": [1, "x"]}, PARAMS)
    message = str(info.value)
    assert "Invalid parameters found" in message
    assert "'k'" in message and "DataType.long" in message and "<class 'str'>" in message
    assert "'ids'" in message


def test_params_without_schema_warn() -> None:
    """Params given to a model without a params schema are ignored with a warning."""
    with pytest.warns(UserWarning, match="no params schema"):
        assert enforce_params({"a": 1}, None) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert enforce_params(None, None) is None
