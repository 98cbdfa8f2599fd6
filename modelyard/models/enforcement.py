"""Schema enforcement at predict time: check and convert input data and params.

Column schemas: a missing required column is an error naming it; extra columns are dropped
with a warning naming them; columns are put in the schema's order; safe conversions are made
(int32→long, float32→double, ints of at most 32 bits→double, object→string, datetimes), lossy
ones are refused naming the column and both types. A dict is one row. Tensor schemas: the
dtype must match or be a safe upcast, the shape must match (-1 is any size).
"""

from __future__ import annotations

import datetime as dt
import decimal
import warnings
from collections.abc import Mapping
from typing import Any

from modelyard.errors import InvalidArgument
from modelyard.models.schema import (
    AnyType,
    Array,
    ColSpec,
    DataType,
    Map,
    Object,
    ParamSchema,
    Schema,
    TensorSpec,
    convert_param_value,
    is_ndarray,
    is_pandas,
)

__all__ = ["enforce_params", "enforce_schema"]

_PREFIX = "Failed to enforce schema of data against the model's input schema."


def _fail(message: str, **details: object) -> InvalidArgument:
    return InvalidArgument(f"{_PREFIX} Error: {message}", **details)


# -- numpy dtype conversion ---------------------------------------------------------------------


def _safe_numeric(actual: Any, expected: Any, values: Any) -> bool:
    """True when converting an array of dtype `actual` to `expected` loses nothing."""
    if actual == expected:
        return True
    ak, ek = actual.kind, expected.kind
    if ak == ek and ak in "iuf":
        return actual.itemsize <= expected.itemsize
    if ak == "u" and ek == "i":
        return actual.itemsize < expected.itemsize
    if ak in "iu" and ek == "f":
        if actual.itemsize <= 4 and expected.itemsize == 8:
            return True
        if actual.itemsize <= 2 and expected.itemsize == 4:
            return True
        if expected.itemsize == 8 and values is not None:
            import numpy as np

            return bool(np.isin(values, (0, 1)).all())  # 0/1 flags are exact as doubles
    return False


def _convert_column(name: object, series: Any, spec_type: Any, required: bool) -> Any:
    """The pandas Series converted to the column type, or InvalidArgument naming the column."""
    import numpy as np
    import pandas as pd

    if isinstance(spec_type, AnyType):
        return series
    if isinstance(spec_type, Array | Object | Map):
        want = (list, tuple, np.ndarray) if isinstance(spec_type, Array) else (dict,)
        bad = [v for v in series if v is not None and not isinstance(v, want)]
        if bad:
            raise _fail(
                f"Incompatible input types for column {name}. Expected {spec_type!r}, "
                f"got {type(bad[0]).__name__} {bad[0]!r}",
                column=name,
            )
        return series
    assert isinstance(spec_type, DataType)
    dtype = series.dtype
    missing = series.isna()
    if missing.any() and required:
        hint = ""
        if spec_type in (DataType.integer, DataType.long):
            hint = (
                " Hint: the column has missing values (NaN/None); integer columns cannot "
                "hold missing values. If it can be missing, log the column as float64 "
                "(double) in the signature."
            )
        raise _fail(
            f"Incompatible input types for column {name}. The required column has "
            f"{int(missing.sum())} missing values.{hint}",
            column=name,
        )
    present = series[~missing]

    def incompatible(actual: object) -> InvalidArgument:
        target = np.dtype(spec_type.to_numpy()) if spec_type.to_numpy().kind != "O" else spec_type
        hint = ""
        if missing.any() and spec_type in (DataType.integer, DataType.long):
            hint = " Hint: the column has missing values, which integer columns cannot hold."
        return _fail(
            f"Incompatible input types for column {name}. Can not safely convert "
            f"{actual} to {target}.{hint}",
            column=name,
            actual=actual,
            expected=spec_type,
        )

    if spec_type in (DataType.string, DataType.binary):
        want_type = str if spec_type is DataType.string else (bytes, bytearray)
        if dtype.kind in ("U", "O") or str(dtype) in ("string", "str"):
            bad = [v for v in present if not isinstance(v, want_type)]
            if not bad:
                return series
            raise incompatible(type(bad[0]).__name__)
        if spec_type is DataType.binary and dtype.kind == "S":
            return series
        raise incompatible(dtype)
    if spec_type is DataType.datetime:
        if dtype.kind == "M":
            return series
        if dtype.kind == "O" and all(isinstance(v, dt.datetime | dt.date) for v in present):
            return pd.to_datetime(series)
        if dtype.kind == "O" and all(isinstance(v, str) for v in present):
            try:
                return pd.to_datetime(series)
            except (ValueError, TypeError):
                raise incompatible(dtype) from None
        raise incompatible(dtype)
    if spec_type is DataType.boolean:
        if dtype.kind == "b" or str(dtype) == "boolean":
            return series
        if dtype.kind == "O" and all(isinstance(v, bool | np.bool_) for v in present):
            return series.astype(bool) if not missing.any() else series
        raise incompatible(dtype)
    # numeric targets
    target = spec_type.to_numpy()
    if dtype.kind == "O":
        if present.empty:
            return series
        if spec_type in (DataType.double, DataType.float) and all(
            isinstance(v, decimal.Decimal) for v in present
        ):
            return series.astype(target)
        kinds = {type(v) for v in present}
        if kinds <= {int} and spec_type in (DataType.long,):
            return series.astype(target)
        if (
            kinds <= {float, int}
            and spec_type is DataType.double
            and (float in kinds or all(v in (0, 1) for v in present))
        ):
            return series.astype(target)
        raise incompatible(sorted(k.__name__ for k in kinds)[0])
    if hasattr(dtype, "numpy_dtype"):  # pandas nullable extension dtypes (Int64, Float32, ...)
        np_dtype = dtype.numpy_dtype
    elif dtype.kind in "iufb":
        np_dtype = dtype
    else:
        raise incompatible(dtype)
    if np_dtype.kind == "b":
        raise incompatible(np_dtype)
    values = present.to_numpy(dtype=np_dtype) if hasattr(dtype, "numpy_dtype") else present
    if not _safe_numeric(np_dtype, target, np.asarray(values)):
        raise incompatible(np_dtype)
    if missing.any():
        return series.astype("float64") if target.kind == "f" else series
    return series.astype(target)


# -- inputs -------------------------------------------------------------------------------------


def _to_frame(data: Any, schema: Schema) -> Any:
    """Input data as a DataFrame (a dict is one row)."""
    import pandas as pd

    names = [s.name for s in schema.inputs]
    if is_pandas(data, "DataFrame"):
        return data
    if is_pandas(data, "Series"):
        if schema.has_input_names() and len(names) == 1:
            return pd.DataFrame({names[0]: data})
        return data.to_frame()
    if isinstance(data, Mapping):
        row = dict(data)
        array_cols = {k for k, v in row.items() if isinstance(v, list | tuple) or is_ndarray(v)}
        spec_by_name = {s.name: s for s in schema.inputs}
        columnar = array_cols and all(
            k in spec_by_name and not isinstance(spec_by_name[k].type, Array | AnyType)
            for k in array_cols
        )
        if columnar:
            try:
                return pd.DataFrame(row)
            except ValueError as exc:
                raise _fail(f"the dict's lists cannot form columns: {exc}") from exc
        return pd.DataFrame([row])
    if isinstance(data, list):
        if data and all(isinstance(r, Mapping) for r in data):
            return pd.DataFrame(data)
        if schema.has_input_names() and len(names) == 1:
            return pd.DataFrame({names[0]: data})
        return pd.DataFrame(data)
    if is_ndarray(data):
        if data.ndim == 1:
            data = data.reshape(-1, 1) if len(names) == 1 else data.reshape(1, -1)
        if data.ndim != 2:
            raise _fail(f"a {data.ndim}-d array cannot be matched to column specs")
        frame = pd.DataFrame(data)
        if schema.has_input_names():
            if frame.shape[1] != len(names):
                raise _fail(
                    f"the array has {frame.shape[1]} columns, the schema names {len(names)}: "
                    f"{names}"
                )
            frame.columns = names
        return frame
    if isinstance(data, str | bytes | int | float | bool) and len(names) == 1:
        return pd.DataFrame({names[0] if names[0] is not None else 0: [data]})
    raise _fail(f"unsupported input type {type(data).__name__} for a column schema")


def _enforce_columns(data: Any, schema: Schema) -> Any:
    frame = _to_frame(data, schema)
    specs = [s for s in schema.inputs if isinstance(s, ColSpec)]
    if schema.has_input_names():
        columns = [str(c) if not isinstance(c, str) else c for c in frame.columns]
        if columns != list(frame.columns):
            frame = frame.set_axis(columns, axis=1)
        wanted = [s.name for s in specs]
        missing = [s.name for s in specs if s.required and s.name not in frame.columns]
        if missing:
            raise _fail(f"Model is missing inputs {missing}.", missing=missing)
        extra = [c for c in frame.columns if c not in wanted]
        if extra:
            warnings.warn(
                f"Found extra inputs in the model input that are not defined in the model "
                f"signature: {extra}. These inputs will be ignored.",
                UserWarning,
                stacklevel=3,
            )
        present = [s for s in specs if s.name in frame.columns]
        out = frame[[s.name for s in present]].copy()
        for spec in present:
            out[spec.name] = _convert_column(spec.name, out[spec.name], spec.type, spec.required)
        return out
    # positional columns
    if frame.shape[1] != len(specs):
        raise _fail(
            f"Model expects {len(specs)} input columns, got {frame.shape[1]}.",
            expected=len(specs),
            got=frame.shape[1],
        )
    out = frame.copy()
    for pos, spec in enumerate(specs):
        col = out.columns[pos]
        out[col] = _convert_column(col, out[col], spec.type, spec.required)
    return out


def _enforce_tensor(name: object, value: Any, spec: TensorSpec) -> Any:
    import numpy as np

    if is_pandas(value, "DataFrame") or is_pandas(value, "Series"):
        value = value.to_numpy()
    if not is_ndarray(value):
        try:
            value = np.asarray(value)
        except (ValueError, TypeError) as exc:
            raise _fail(f"input {name} is not array-like: {exc}", input=name) from exc
    expected = spec.type
    actual = value.dtype
    if actual != expected:
        same_text = expected.kind == "U" and actual.kind == "U"
        same_bytes = expected.kind == "S" and actual.kind == "S"
        if not (same_text or same_bytes):
            if (
                actual.kind in "iuf"
                and expected.kind in "iuf"
                and _safe_numeric(actual, expected, None)
            ):
                value = value.astype(expected)
            else:
                raise _fail(
                    f"dtype of input {name} ({actual}) does not match the expected dtype "
                    f"{spec.dtype_name} and cannot be converted without loss",
                    input=name,
                    actual=actual,
                    expected=spec.dtype_name,
                )
    shape = tuple(value.shape)
    ok = len(shape) == len(spec.shape) and all(
        want in (-1, got) for want, got in zip(spec.shape, shape, strict=True)
    )
    if not ok:
        raise _fail(
            f"Shape of input {name} {shape} does not match the expected shape {spec.shape}",
            input=name,
            actual=shape,
            expected=spec.shape,
        )
    return value


def _enforce_tensors(data: Any, schema: Schema) -> Any:
    specs = [s for s in schema.inputs if isinstance(s, TensorSpec)]
    if not schema.has_input_names():
        if len(specs) != 1:
            raise _fail("unnamed multi-tensor schemas are not supported")
        return _enforce_tensor("0", data, specs[0])
    if is_pandas(data, "DataFrame"):
        data = {c: data[c].to_numpy() for c in data.columns}
    if not isinstance(data, Mapping):
        if len(specs) == 1:
            return {specs[0].name: _enforce_tensor(specs[0].name, data, specs[0])}
        raise _fail(
            f"the model takes named tensors {[s.name for s in specs]}: pass a dict of arrays"
        )
    missing = [s.name for s in specs if s.name not in data]
    if missing:
        raise _fail(f"Model is missing inputs {missing}.", missing=missing)
    extra = [k for k in data if k not in {s.name for s in specs}]
    if extra:
        warnings.warn(
            f"Found extra inputs in the model input that are not defined in the model "
            f"signature: {extra}. These inputs will be ignored.",
            UserWarning,
            stacklevel=3,
        )
    return {s.name: _enforce_tensor(s.name, data[s.name], s) for s in specs}


def enforce_schema(data: Any, schema: Schema) -> Any:
    """Check `data` against `schema` and return it converted, ready for the model.

    Raises:
        InvalidArgument: a missing column or input, a wrong type, a lossy conversion or a
            tensor of the wrong shape; the message names the column and the types.
    """
    if not schema.inputs:
        return data
    if schema.is_tensor_spec():
        return _enforce_tensors(data, schema)
    if len(schema.inputs) == 1 and isinstance(schema.inputs[0], ColSpec):
        only = schema.inputs[0]
        if isinstance(only.type, AnyType) and only.name is None:
            return data
    return _enforce_columns(data, schema)


def enforce_params(
    params: Mapping[str, Any] | None, param_schema: ParamSchema | None
) -> dict[str, Any] | None:
    """Check params against the schema: defaults fill gaps, unknown ones are dropped with a warning.

    Raises:
        InvalidArgument: a param whose value does not fit its type or shape (all named).
    """
    if param_schema is None:
        if params:
            warnings.warn(
                f"the model has no params schema: ignoring the params {sorted(params)}",
                UserWarning,
                stacklevel=3,
            )
        return None
    if params is not None and not isinstance(params, Mapping):
        raise InvalidArgument(
            f"params must be a dict, got {type(params).__name__}", params=repr(params)
        )
    given = dict(params or {})
    known = {p.name: p for p in param_schema.params}
    unknown = [k for k in given if k not in known]
    if unknown:
        warnings.warn(
            f"Unrecognized params {unknown} are ignored: the model's params schema has "
            f"{sorted(known)}",
            UserWarning,
            stacklevel=3,
        )
    out: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, spec in known.items():
        if name not in given:
            out[name] = spec.default
            continue
        value = given[name]
        try:
            if spec.shape is None:
                out[name] = convert_param_value(name, value, spec.type)
            else:
                if hasattr(value, "tolist"):
                    value = value.tolist()
                if not isinstance(value, list):
                    raise InvalidArgument(
                        f"param {name!r}: expected a list of {spec.type!r}, got {value!r}"
                    )
                out[name] = [convert_param_value(name, v, spec.type) for v in value]
        except InvalidArgument as exc:
            errors[name] = exc.message
    if errors:
        raise InvalidArgument(f"Invalid parameters found: {errors}", params=sorted(errors))
    return out
