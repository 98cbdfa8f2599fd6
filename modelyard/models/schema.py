"""Column, tensor and parameter schemas, serialized in MLflow's JSON format.

A `Schema` is a list of `ColSpec` (typed, optionally named, columns) or of `TensorSpec`
(numpy dtype and shape, -1 for a variable dimension), never a mix. `ParamSchema` lists the
inference parameters a model accepts, each with a type, a default and an optional shape.
numpy is imported only when a dtype is actually needed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterable, Sequence
from enum import Enum
from typing import Any

from modelyard.errors import InvalidArgument

__all__ = [
    "AnyType",
    "Array",
    "ColSpec",
    "DataType",
    "Map",
    "Object",
    "ParamSchema",
    "ParamSpec",
    "Property",
    "Schema",
    "TensorSpec",
]


def is_pandas(obj: Any, name: str) -> bool:
    """True when obj is the pandas type called `name` (without importing pandas)."""
    return type(obj).__module__.startswith("pandas") and type(obj).__name__ == name


def is_ndarray(obj: Any) -> bool:
    """True when obj is a numpy ndarray (without importing numpy)."""
    return type(obj).__module__ == "numpy" and type(obj).__name__ == "ndarray"


class DataType(Enum):
    """The primitive column types (MLflow's names)."""

    boolean = "boolean"
    integer = "integer"
    long = "long"
    float = "float"
    double = "double"
    string = "string"
    binary = "binary"
    datetime = "datetime"

    def __repr__(self) -> str:
        return f"DataType.{self.name}"

    def __str__(self) -> str:
        return self.name

    def to_numpy(self) -> Any:
        """The numpy dtype of this type."""
        import numpy as np

        return np.dtype(_NUMPY_NAMES[self])

    def to_python(self) -> type:
        """The Python type of one value of this type."""
        return _PYTHON_TYPES[self]

    @classmethod
    def from_name(cls, name: object) -> DataType:
        """The type named `name`; InvalidArgument for an unknown one."""
        try:
            return cls(name)
        except ValueError:
            names = ", ".join(t.value for t in cls)
            raise InvalidArgument(
                f"unknown data type {name!r}: expected one of {names}", type=name
            ) from None


_NUMPY_NAMES = {
    DataType.boolean: "bool",
    DataType.integer: "int32",
    DataType.long: "int64",
    DataType.float: "float32",
    DataType.double: "float64",
    DataType.string: "object",
    DataType.binary: "object",
    DataType.datetime: "datetime64[ns]",
}
_PYTHON_TYPES: dict[DataType, type] = {
    DataType.boolean: bool,
    DataType.integer: int,
    DataType.long: int,
    DataType.float: float,
    DataType.double: float,
    DataType.string: str,
    DataType.binary: bytes,
    DataType.datetime: dt.datetime,
}


class AnyType:
    """A column that accepts any value."""

    def to_dict(self) -> dict[str, Any]:
        """MLflow's JSON form."""
        return {"type": "any"}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AnyType)

    def __hash__(self) -> int:
        return hash("any")

    def __repr__(self) -> str:
        return "Any"


class Array:
    """A column whose values are lists of `dtype`."""

    def __init__(self, dtype: ColumnType) -> None:
        self.dtype = _column_type(dtype)

    def to_dict(self) -> dict[str, Any]:
        """MLflow's JSON form."""
        return {"type": "array", "items": _type_to_dict(self.dtype)}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Array) and other.dtype == self.dtype

    def __hash__(self) -> int:
        return hash(("array", self.dtype))

    def __repr__(self) -> str:
        return f"Array({self.dtype!r})"


class Property:
    """One named field of an `Object`."""

    def __init__(self, name: str, dtype: ColumnType, required: bool = True) -> None:
        if not isinstance(name, str) or not name:
            raise InvalidArgument(f"an object property needs a name, got {name!r}", name=name)
        self.name = name
        self.dtype = _column_type(dtype)
        self.required = bool(required)

    def to_dict(self) -> dict[str, Any]:
        """MLflow's JSON form ({name: {type..., required}})."""
        return {self.name: {**_type_to_dict(self.dtype), "required": self.required}}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Property) and (other.name, other.dtype, other.required) == (
            self.name,
            self.dtype,
            self.required,
        )

    def __hash__(self) -> int:
        return hash((self.name, self.dtype, self.required))

    def __repr__(self) -> str:
        return f"{self.name}: {self.dtype!r}" + ("" if self.required else " (optional)")


class Object:
    """A column whose values are dicts with the given properties."""

    def __init__(self, properties: Iterable[Property]) -> None:
        self.properties = sorted(properties, key=lambda p: p.name)
        names = [p.name for p in self.properties]
        if len(set(names)) != len(names):
            raise InvalidArgument(f"duplicate object property names in {names}", names=names)

    def to_dict(self) -> dict[str, Any]:
        """MLflow's JSON form."""
        props: dict[str, Any] = {}
        for p in self.properties:
            props.update(p.to_dict())
        return {"type": "object", "properties": props}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Object) and other.properties == self.properties

    def __hash__(self) -> int:
        return hash(tuple(self.properties))

    def __repr__(self) -> str:
        return "{" + ", ".join(repr(p) for p in self.properties) + "}"


class Map:
    """A column whose values are dicts from strings to `value_type`."""

    def __init__(self, value_type: ColumnType) -> None:
        self.value_type = _column_type(value_type)

    def to_dict(self) -> dict[str, Any]:
        """MLflow's JSON form."""
        return {"type": "map", "values": _type_to_dict(self.value_type)}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Map) and other.value_type == self.value_type

    def __hash__(self) -> int:
        return hash(("map", self.value_type))

    def __repr__(self) -> str:
        return f"Map(str -> {self.value_type!r})"


ColumnType = DataType | Array | Object | Map | AnyType | str


def _column_type(value: object) -> DataType | Array | Object | Map | AnyType:
    if isinstance(value, DataType | Array | Object | Map | AnyType):
        return value
    if isinstance(value, str):
        return DataType.from_name(value)
    raise InvalidArgument(f"not a column type: {value!r}", type=repr(value))


def _type_to_dict(value: DataType | Array | Object | Map | AnyType) -> dict[str, Any]:
    if isinstance(value, DataType):
        return {"type": value.name}
    return value.to_dict()


def _type_from_dict(data: object) -> DataType | Array | Object | Map | AnyType:
    if not isinstance(data, dict) or "type" not in data:
        raise InvalidArgument(f"a column type needs a 'type' key, got {data!r}", spec=data)
    kind = data["type"]
    if kind == "any":
        return AnyType()
    if kind == "array":
        return Array(_type_from_dict(data.get("items")))
    if kind == "map":
        return Map(_type_from_dict(data.get("values")))
    if kind == "object":
        props = data.get("properties")
        if not isinstance(props, dict):
            raise InvalidArgument(f"an object type needs 'properties', got {data!r}", spec=data)
        return Object(
            Property(name, _type_from_dict(p), bool(p.get("required", True)))
            for name, p in props.items()
        )
    return DataType.from_name(kind)


class ColSpec:
    """A column: its type, an optional name, and whether it must be present."""

    def __init__(self, type: ColumnType, name: str | None = None, required: bool = True) -> None:
        self.type = _column_type(type)
        if name is not None and not isinstance(name, str):
            raise InvalidArgument(f"a column name must be a string, got {name!r}", name=name)
        self.name = name
        self.required = bool(required)

    def to_dict(self) -> dict[str, Any]:
        """MLflow's JSON form: {"type": ..., "name": ..., "required": ...}."""
        out = _type_to_dict(self.type)
        if self.name is not None:
            out["name"] = self.name
        out["required"] = self.required
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColSpec:
        """Parse MLflow's JSON form."""
        return cls(_type_from_dict(data), data.get("name"), bool(data.get("required", True)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ColSpec) and (other.type, other.name, other.required) == (
            self.type,
            self.name,
            self.required,
        )

    def __hash__(self) -> int:
        return hash((self.type, self.name, self.required))

    def __repr__(self) -> str:
        opt = "" if self.required else " (optional)"
        return f"{self.name!r}: {self.type!r}{opt}" if self.name else f"{self.type!r}{opt}"


def _dtype_name(dtype: Any) -> str:
    """A numpy dtype's canonical name ("float64", "str" for unicode, "bytes" for byte strings)."""
    import numpy as np

    d = np.dtype(dtype)
    if d.kind == "U":
        return "str"
    if d.kind == "S":
        return "bytes"
    return d.name


class TensorSpec:
    """A tensor input or output: numpy dtype and shape (-1 for a variable dimension)."""

    def __init__(self, type: Any, shape: Sequence[int], name: str | None = None) -> None:
        try:
            self._dtype_name = _dtype_name(type)
        except TypeError as exc:
            raise InvalidArgument(f"not a numpy dtype: {type!r}", dtype=repr(type)) from exc
        if isinstance(shape, int | str) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= -1 for d in shape
        ):
            raise InvalidArgument(
                f"a tensor shape is a sequence of ints (-1 for any size), got {shape!r}",
                shape=repr(shape),
            )
        self.shape = tuple(shape)
        self.name = name

    @property
    def type(self) -> Any:
        """The numpy dtype."""
        import numpy as np

        return np.dtype(self._dtype_name)

    @property
    def dtype_name(self) -> str:
        """The dtype's name as written in the JSON form."""
        return self._dtype_name

    def to_dict(self) -> dict[str, Any]:
        """MLflow's JSON form: {"type": "tensor", "tensor-spec": {...}, "name": ...}."""
        out: dict[str, Any] = {
            "type": "tensor",
            "tensor-spec": {"dtype": self._dtype_name, "shape": list(self.shape)},
        }
        if self.name is not None:
            out["name"] = self.name
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TensorSpec:
        """Parse MLflow's JSON form."""
        spec = data.get("tensor-spec")
        if not isinstance(spec, dict) or "dtype" not in spec or "shape" not in spec:
            raise InvalidArgument(
                f"a tensor spec needs 'tensor-spec' with dtype and shape, got {data!r}", spec=data
            )
        return cls(spec["dtype"], spec["shape"], data.get("name"))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TensorSpec) and (
            other._dtype_name,
            other.shape,
            other.name,
        ) == (self._dtype_name, self.shape, self.name)

    def __hash__(self) -> int:
        return hash((self._dtype_name, self.shape, self.name))

    def __repr__(self) -> str:
        base = f"Tensor({self._dtype_name!r}, {self.shape!r})"
        return f"{self.name!r}: {base}" if self.name else base


class Schema:
    """An ordered list of ColSpecs or of TensorSpecs (all named or none)."""

    def __init__(self, inputs: Iterable[ColSpec | TensorSpec]) -> None:
        self.inputs: list[ColSpec | TensorSpec] = list(inputs)
        kinds = {type(i) for i in self.inputs}
        if not all(k in (ColSpec, TensorSpec) for k in kinds):
            raise InvalidArgument(
                f"a schema holds ColSpec or TensorSpec items, got {self.inputs!r}",
                inputs=repr(self.inputs),
            )
        if len(kinds) > 1:
            raise InvalidArgument(
                "a schema holds either ColSpecs or TensorSpecs, not both", inputs=self.inputs
            )
        named = [i.name is not None for i in self.inputs]
        if any(named) and not all(named):
            raise InvalidArgument(
                "either every input of a schema has a name or none has", inputs=self.inputs
            )
        names = [i.name for i in self.inputs if i.name is not None]
        if len(set(names)) != len(names):
            dups = sorted({n for n in names if names.count(n) > 1})
            raise InvalidArgument(f"duplicate input names in a schema: {dups}", names=dups)

    def is_tensor_spec(self) -> bool:
        """True when the schema lists TensorSpecs."""
        return bool(self.inputs) and isinstance(self.inputs[0], TensorSpec)

    def has_input_names(self) -> bool:
        """True when the inputs are named."""
        return bool(self.inputs) and self.inputs[0].name is not None

    def input_names(self) -> list[str | int]:
        """Names of the inputs (their positions when unnamed)."""
        return [i.name if i.name is not None else n for n, i in enumerate(self.inputs)]

    def required_input_names(self) -> list[str | int]:
        """Names (or positions) of the required inputs."""
        return [
            i.name if i.name is not None else n
            for n, i in enumerate(self.inputs)
            if not isinstance(i, ColSpec) or i.required
        ]

    def optional_input_names(self) -> list[str | int]:
        """Names (or positions) of the optional inputs."""
        return [
            i.name if i.name is not None else n
            for n, i in enumerate(self.inputs)
            if isinstance(i, ColSpec) and not i.required
        ]

    def input_types(self) -> list[Any]:
        """The type of each input (DataType/complex type, or numpy dtype for tensors)."""
        return [i.type for i in self.inputs]

    def to_dict(self) -> list[dict[str, Any]]:
        """MLflow's JSON form as Python objects (a list of specs)."""
        return [i.to_dict() for i in self.inputs]

    def to_json(self) -> str:
        """MLflow's JSON text."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> Schema:
        """Parse MLflow's JSON text; InvalidArgument if it is not a schema."""
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise InvalidArgument(
                f"a schema is JSON text, got {text!r}: {exc}", schema=text
            ) from exc
        if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
            raise InvalidArgument(f"a schema is a JSON list of specs, got {text!r}", schema=text)
        return cls(
            TensorSpec.from_dict(d) if d.get("type") == "tensor" else ColSpec.from_dict(d)
            for d in data
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schema) and other.inputs == self.inputs

    def __hash__(self) -> int:
        return hash(tuple(self.inputs))

    def __len__(self) -> int:
        return len(self.inputs)

    def __repr__(self) -> str:
        return "[" + ", ".join(repr(i) for i in self.inputs) + "]"


def _check_param_value(
    name: str, value: Any, dtype: DataType, shape: tuple[int, ...] | None
) -> Any:
    """Return `value` converted to `dtype` (and shape); raise InvalidArgument when it cannot."""
    if shape is None:
        return convert_param_value(name, value, dtype)
    if shape != (-1,):
        raise InvalidArgument(
            f"param {name!r}: only scalar params and 1-D lists (shape (-1,)) are supported, "
            f"got shape {shape}",
            name=name,
        )
    if hasattr(value, "tolist"):
        value = value.tolist()
    if not isinstance(value, list):
        raise InvalidArgument(
            f"param {name!r}: expected a list of {dtype}, got {type(value).__name__} {value!r}",
            name=name,
        )
    return [convert_param_value(name, v, dtype) for v in value]


def convert_param_value(name: str, value: Any, dtype: DataType) -> Any:
    """One scalar param value converted to `dtype`, or InvalidArgument naming both."""
    if hasattr(value, "item") and not isinstance(value, list | dict | str | bytes):
        with contextlib.suppress(TypeError, ValueError):
            value = value.item()  # numpy scalar
    ok = False
    out = value
    if dtype is DataType.boolean:
        ok = isinstance(value, bool)
    elif dtype in (DataType.integer, DataType.long):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif dtype in (DataType.float, DataType.double):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok:
            out = float(value)
    elif dtype is DataType.string:
        ok = isinstance(value, str)
    elif dtype is DataType.binary:
        ok = isinstance(value, bytes)
    elif dtype is DataType.datetime:
        if isinstance(value, dt.datetime | dt.date):
            ok = True
        elif isinstance(value, str):
            try:
                out = dt.datetime.fromisoformat(value)
                ok = True
            except ValueError:
                ok = False
    if not ok:
        raise InvalidArgument(
            f"param {name!r}: Can not safely convert {type(value)} to {dtype!r} (value {value!r})",
            name=name,
            value=value,
            type=dtype,
        )
    return out


class ParamSpec:
    """One inference parameter: name, type, default and shape (None or (-1,))."""

    def __init__(
        self,
        name: str,
        dtype: DataType | str,
        default: Any,
        shape: Sequence[int] | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise InvalidArgument(f"a param needs a non-empty name, got {name!r}", name=name)
        self.name = name
        self.dtype = _column_type(dtype)
        if not isinstance(self.dtype, DataType):
            raise InvalidArgument(
                f"param {name!r}: only primitive types are supported, got {dtype!r}", name=name
            )
        self.shape = None if shape is None else tuple(shape)
        self.default = (
            None if default is None else _check_param_value(name, default, self.dtype, self.shape)
        )

    @property
    def type(self) -> DataType:
        """The param's type (MLflow also calls it `type`)."""
        assert isinstance(self.dtype, DataType)
        return self.dtype

    def to_dict(self) -> dict[str, Any]:
        """MLflow's JSON form: {"name", "default", "shape", "type"}."""
        default = self.default
        if isinstance(default, dt.datetime | dt.date):
            default = default.isoformat()
        elif isinstance(default, list):
            default = [
                d.isoformat() if isinstance(d, dt.datetime | dt.date) else d for d in default
            ]
        elif isinstance(default, bytes):
            default = default.decode("latin-1")
        return {
            "name": self.name,
            "default": default,
            "shape": list(self.shape) if self.shape is not None else None,
            "type": self.type.name,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ParamSpec:
        """Parse MLflow's JSON form."""
        if not isinstance(data, dict) or "name" not in data or "type" not in data:
            raise InvalidArgument(f"a param spec needs name and type, got {data!r}", spec=data)
        return cls(data["name"], data["type"], data.get("default"), data.get("shape"))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParamSpec) and other.to_dict() == self.to_dict()

    def __hash__(self) -> int:
        return hash((self.name, self.type, self.shape))

    def __repr__(self) -> str:
        shape = f" (shape {self.shape})" if self.shape else ""
        return f"{self.name!r}: {self.type!r} (default: {self.default!r}){shape}"


class ParamSchema:
    """The inference parameters a model accepts."""

    def __init__(self, params: Iterable[ParamSpec]) -> None:
        self.params = list(params)
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            dups = sorted({n for n in names if names.count(n) > 1})
            raise InvalidArgument(f"duplicate param names: {dups}", names=dups)

    def to_dict(self) -> list[dict[str, Any]]:
        """MLflow's JSON form as Python objects."""
        return [p.to_dict() for p in self.params]

    def to_json(self) -> str:
        """MLflow's JSON text."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> ParamSchema:
        """Parse MLflow's JSON text."""
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise InvalidArgument(
                f"a param schema is JSON text, got {text!r}: {exc}", schema=text
            ) from exc
        if not isinstance(data, list):
            raise InvalidArgument(f"a param schema is a JSON list, got {text!r}", schema=text)
        return cls(ParamSpec.from_dict(d) for d in data)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParamSchema) and other.params == self.params

    def __hash__(self) -> int:
        return hash(tuple(self.params))

    def __len__(self) -> int:
        return len(self.params)

    def __repr__(self) -> str:
        return "[" + ", ".join(repr(p) for p in self.params) + "]"
