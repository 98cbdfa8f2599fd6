"""Models: the MLmodel descriptor, signatures and schema enforcement (`modelyard.models`).

This package is part of the core: it imports neither the client nor grpc, SQLAlchemy or
fsspec, and numpy/pandas only inside the functions that need them.
"""

from __future__ import annotations

from typing import Any

from modelyard.models.enforcement import enforce_params, enforce_schema
from modelyard.models.mlmodel import Model, ModelInfo
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
)
from modelyard.models.signature import ModelSignature, infer_signature

__all__ = [
    "AnyType",
    "Array",
    "ColSpec",
    "DataType",
    "Map",
    "Model",
    "ModelInfo",
    "ModelSignature",
    "Object",
    "ParamSchema",
    "ParamSpec",
    "Property",
    "Schema",
    "TensorSpec",
    "enforce_params",
    "enforce_schema",
    "infer_signature",
    "set_model",
]

_code_model: list[Any] = []


def set_model(model: Any) -> None:
    """Declare the model of a "models from code" file (called by that file when it runs)."""
    if not hasattr(model, "predict"):
        from modelyard.errors import InvalidArgument

        raise InvalidArgument(
            f"set_model needs an object with a predict method, got {type(model).__name__}",
            type=type(model).__name__,
        )
    _code_model.clear()
    _code_model.append(model)


def _take_code_model() -> Any:
    """The model the last executed code file declared with set_model (and forget it)."""
    model = _code_model[0] if _code_model else None
    _code_model.clear()
    return model
