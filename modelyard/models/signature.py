"""`ModelSignature` (inputs, outputs, params) and `infer_signature` from example data."""

from __future__ import annotations

import datetime as dt
import decimal
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from modelyard.errors import InvalidArgument
from modelyard.models.schema import (
    AnyType,
    Array,
    ColSpec,
    DataType,
    Map,
    Object,
    ParamSchema,
    ParamSpec,
    Property,
    Schema,
    TensorSpec,
    is_ndarray,
    is_pandas,
)

if TYPE_CHECKING:
    from modelyard.entities.model_registry import SignatureMetadata

__all__ = ["ModelSignature", "infer_schema", "infer_signature"]


class ModelSignature:
    """What a model takes and returns: input schema, output schema, param schema."""

    def __init__(
        self,
        inputs: Schema | None = None,
        outputs: Schema | None = None,
        params: ParamSchema | None = None,
    ) -> None:
        for what, value, kind in (
            ("inputs", inputs, Schema),
            ("outputs", outputs, Schema),
            ("params", params, ParamSchema),
        ):
            if value is not None and not isinstance(value, kind):
                raise InvalidArgument(
                    f"ModelSignature {what} must be a {kind.__name__} or None, "
                    f"got {type(value).__name__}",
                    what=what,
                )
        if inputs is None and outputs is None:
            raise InvalidArgument("a ModelSignature needs inputs or outputs (or both)")
        self.inputs = inputs
        self.outputs = outputs
        self.params = params

    def to_dict(self) -> dict[str, str | None]:
        """MLflow's form: each part as JSON text (None when absent)."""
        return {
            "inputs": self.inputs.to_json() if self.inputs is not None else None,
            "outputs": self.outputs.to_json() if self.outputs is not None else None,
            "params": self.params.to_json() if self.params is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelSignature:
        """Parse MLflow's form (each part JSON text or None)."""
        if not isinstance(data, Mapping):
            raise InvalidArgument(f"a signature is a mapping, got {data!r}", signature=data)
        unknown = sorted(set(data) - {"inputs", "outputs", "params"})
        if unknown:
            raise InvalidArgument(f"unknown signature keys {unknown}", keys=unknown)
        inputs, outputs, params = data.get("inputs"), data.get("outputs"), data.get("params")
        return cls(
            Schema.from_json(inputs) if inputs else None,
            Schema.from_json(outputs) if outputs else None,
            ParamSchema.from_json(params) if params else None,
        )

    def to_metadata(self) -> SignatureMetadata:
        """The registry's SignatureMetadata (JSON text per part)."""
        from modelyard.entities.model_registry import SignatureMetadata

        d = self.to_dict()
        return SignatureMetadata(inputs=d["inputs"], outputs=d["outputs"], params=d["params"])

    @classmethod
    def from_metadata(cls, metadata: SignatureMetadata) -> ModelSignature:
        """Build a signature from the registry's SignatureMetadata."""
        return cls.from_dict(
            {"inputs": metadata.inputs, "outputs": metadata.outputs, "params": metadata.params}
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ModelSignature) and other.to_dict() == self.to_dict()

    def __hash__(self) -> int:
        return hash(tuple(self.to_dict().values()))

    def __repr__(self) -> str:
        return (
            f"inputs:\n  {self.inputs!r}\noutputs:\n  {self.outputs!r}\nparams:\n  {self.params!r}"
        )


# -- inference ---------------------------------------------------------------------------------


def _scalar_type(value: Any) -> DataType | Array | Object | Map | AnyType:
    """The column type of one Python (or numpy) value."""
    if hasattr(value, "dtype") and hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return _numpy_column_type(value.dtype, [value])
    if isinstance(value, bool):
        return DataType.boolean
    if isinstance(value, int):
        return DataType.long
    if isinstance(value, float | decimal.Decimal):
        return DataType.double
    if isinstance(value, str):
        return DataType.string
    if isinstance(value, bytes | bytearray):
        return DataType.binary
    if isinstance(value, dt.datetime | dt.date):
        return DataType.datetime
    if hasattr(value, "tolist") and hasattr(value, "dtype"):  # ndarray inside a cell
        return Array(_list_type(value.tolist()))
    if isinstance(value, list | tuple):
        return Array(_list_type(list(value)))
    if isinstance(value, dict):
        if value and all(isinstance(k, str) for k in value):
            return Object(Property(k, _scalar_type(v)) for k, v in value.items())
        raise ValueError(f"cannot infer a type for the dict {value!r}")
    raise ValueError(f"cannot infer a type for {type(value).__name__} {value!r}")


def _list_type(values: list[Any]) -> DataType | Array | Object | Map | AnyType:
    """The common type of list elements (ints and floats together make double)."""
    present = [v for v in values if v is not None]
    if not present:
        raise ValueError("cannot infer a type from an empty list")
    types = {_scalar_type(v) for v in present}
    if len(types) == 1:
        return types.pop()
    if types <= {DataType.long, DataType.double}:
        return DataType.double
    raise ValueError(f"the values have different types: {sorted(map(repr, types))}")


def _numpy_column_type(dtype: Any, values: Any) -> DataType | Array | Object | Map | AnyType:
    """The column type of a numpy/pandas dtype (object columns: look at the values)."""
    kind = getattr(dtype, "kind", None)
    name = str(dtype)
    if name in ("string", "str") or kind == "U":
        return DataType.string
    if name == "boolean" or kind == "b":
        return DataType.boolean
    if kind in ("i", "u") or name.startswith(("Int", "UInt")):
        size = getattr(dtype, "itemsize", 8)
        return DataType.integer if size <= 4 and not (kind == "u" and size == 4) else DataType.long
    if kind == "f" or name.startswith("Float"):
        return DataType.float if getattr(dtype, "itemsize", 8) <= 4 else DataType.double
    if kind == "M" or name.startswith("datetime64"):
        return DataType.datetime
    if kind == "S":
        return DataType.binary
    if kind == "O":
        return _list_type(list(values))
    raise ValueError(f"cannot infer a column type for dtype {dtype}")


def _tensor(array: Any, name: str | None = None) -> TensorSpec:
    if array.ndim == 0:
        raise ValueError("a 0-d array has no batch dimension")
    return TensorSpec(array.dtype, (-1, *array.shape[1:]), name)


def _frame_schema(frame: Any) -> Schema:
    specs = []
    for col in frame.columns:
        series = frame[col]
        missing = bool(series.isna().any())
        values = series.dropna()
        ctype = _numpy_column_type(series.dtype, values)
        specs.append(ColSpec(ctype, str(col), required=not missing))
    _warn_integer_columns(specs)
    return Schema(specs)


def _warn_integer_columns(specs: list[ColSpec]) -> None:
    ints = [s.name for s in specs if s.type in (DataType.integer, DataType.long)]
    if ints:
        warnings.warn(
            f"integer columns {ints} cannot hold missing values: if they can be missing at "
            "inference, log them as float64 (double) so that predict does not reject NaN",
            UserWarning,
            stacklevel=4,
        )


def infer_schema(data: Any) -> Schema:
    """The Schema of example data (DataFrame, Series, ndarray, dict, list or scalar).

    Raises:
        ValueError: the data's type or contents cannot be described by a schema.
    """
    if is_pandas(data, "DataFrame"):
        return _frame_schema(data)
    if is_pandas(data, "Series"):
        values = data.dropna()
        name = data.name if isinstance(data.name, str) else None
        return Schema(
            [ColSpec(_numpy_column_type(data.dtype, values), name, not bool(data.isna().any()))]
        )
    if is_ndarray(data):
        return Schema([_tensor(data)])
    if isinstance(data, dict):
        if not data:
            raise ValueError("cannot infer a schema from an empty dict")
        if not all(isinstance(k, str) for k in data):
            raise ValueError("dict keys must be strings to name columns")
        if all(is_ndarray(v) for v in data.values()):
            return Schema([_tensor(v, k) for k, v in data.items()])
        return Schema([ColSpec(_scalar_type(v), k) for k, v in data.items()])
    if isinstance(data, list):
        if not data:
            raise ValueError("cannot infer a schema from an empty list")
        if all(isinstance(r, dict) for r in data):
            names: list[str] = []
            for row in data:
                names.extend(k for k in row if k not in names)
            if not all(isinstance(n, str) for n in names):
                raise ValueError("dict keys must be strings to name columns")
            specs = []
            for n in names:
                present = [row[n] for row in data if row.get(n) is not None]
                required = all(row.get(n) is not None for row in data)
                specs.append(ColSpec(_list_type(present), n, required))
            return Schema(specs)
        return Schema([ColSpec(_list_type(data))])
    if data is None:
        raise ValueError("cannot infer a schema from None")
    return Schema([ColSpec(_scalar_type(data))])


def _infer_params(params: Mapping[str, Any]) -> ParamSchema:
    specs = []
    for name, value in params.items():
        if hasattr(value, "tolist") and not isinstance(value, str | bytes):
            value = value.tolist()
        if isinstance(value, list):
            ptype = _list_type(value)
            if not isinstance(ptype, DataType):
                raise InvalidArgument(
                    f"param {name!r}: lists of {ptype!r} are not supported", name=name
                )
            specs.append(ParamSpec(name, ptype, value, (-1,)))
        else:
            try:
                ptype = _scalar_type(value)
            except ValueError as exc:
                raise InvalidArgument(f"param {name!r}: {exc}", name=name) from exc
            if not isinstance(ptype, DataType):
                raise InvalidArgument(
                    f"param {name!r}: a param is a scalar or a list of scalars, got {value!r}",
                    name=name,
                )
            specs.append(ParamSpec(name, ptype, value))
    return ParamSchema(specs)


def _infer_or_any(data: Any, what: str) -> Schema:
    try:
        return infer_schema(data)
    except (ValueError, TypeError, InvalidArgument) as exc:
        warnings.warn(
            f"could not infer the {what} schema ({exc}); using a schema that accepts any value",
            UserWarning,
            stacklevel=3,
        )
        return Schema([ColSpec(AnyType())])


def infer_signature(
    model_input: Any = None,
    model_output: Any = None,
    params: Mapping[str, Any] | None = None,
) -> ModelSignature:
    """Infer a ModelSignature from example input, output and params.

    DataFrames and dicts give (named) ColSpecs, ndarrays TensorSpecs with a variable batch
    dimension, lists of dicts rows, lists of scalars and scalars a single unnamed ColSpec.
    Data whose schema cannot be inferred gives a schema of `Any` with a warning.

    Raises:
        InvalidArgument: params holds a value that is not a scalar or a list of scalars.
    """
    inputs = _infer_or_any(model_input, "input") if model_input is not None else None
    outputs = _infer_or_any(model_output, "output") if model_output is not None else None
    param_schema = _infer_params(params) if params else None
    if inputs is None and outputs is None:
        if param_schema is None:
            raise InvalidArgument("infer_signature needs model_input, model_output or params")
        inputs = Schema([ColSpec(AnyType())])
    return ModelSignature(inputs, outputs, param_schema)
