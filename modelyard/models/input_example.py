"""Save and load a model's input example (`input_example.json`)."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import os
from pathlib import Path
from typing import Any

from modelyard.errors import InvalidArgument

__all__ = ["INPUT_EXAMPLE_FILE_NAME", "load_input_example", "save_input_example"]

INPUT_EXAMPLE_FILE_NAME = "input_example.json"
SERVING_INPUT_FILE_NAME = "serving_input_example.json"


def _default(value: Any) -> Any:
    """JSON for numpy scalars/arrays, datetimes, bytes and decimals."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _kind(example: Any) -> str:
    mod, name = type(example).__module__, type(example).__name__
    if mod.startswith("pandas") and name == "DataFrame":
        return "dataframe"
    if mod.startswith("pandas") and name == "Series":
        return "series"
    if mod == "numpy" and name == "ndarray":
        return "ndarray"
    if isinstance(example, dict):
        return "json_object"
    if isinstance(example, list | tuple):
        return "json_list"
    if isinstance(example, str | int | float | bool):
        return "json_scalar"
    raise InvalidArgument(
        f"unsupported input example type {type(example).__name__}: use a pandas DataFrame, "
        "a numpy array, a dict, a list or a scalar",
        type=type(example).__name__,
    )


def save_input_example(path: str | os.PathLike[str], example: Any) -> dict[str, Any]:
    """Write `<path>/input_example.json` (+ the serving payload); return the info for MLmodel.

    DataFrames are stored in pandas' split orient, ndarrays as nested lists, dicts and lists
    as JSON.

    Raises:
        InvalidArgument: an unsupported type, or values that JSON cannot hold.
    """
    kind = _kind(example)
    info: dict[str, Any] = {"artifact_path": INPUT_EXAMPLE_FILE_NAME, "type": kind}
    if kind == "series":
        example = example.to_frame()
        kind = info["type"] = "dataframe"
    if kind == "dataframe":
        payload: Any = {
            "columns": [str(c) for c in example.columns],
            "data": example.to_numpy().tolist(),
        }
        info["pandas_orient"] = "split"
        serving: Any = {"dataframe_split": payload}
    elif kind == "ndarray":
        payload = example.tolist()
        serving = {"inputs": payload}
    else:
        payload = list(example) if isinstance(example, tuple) else example
        serving = {"inputs": payload}
    try:
        text = json.dumps(payload, default=_default)
        serving_text = json.dumps(serving, default=_default)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"the input example cannot be saved as JSON: {exc}") from exc
    directory = Path(path)
    (directory / INPUT_EXAMPLE_FILE_NAME).write_text(text, encoding="utf-8")
    (directory / SERVING_INPUT_FILE_NAME).write_text(serving_text, encoding="utf-8")
    info["serving_input_path"] = SERVING_INPUT_FILE_NAME
    return info


def load_input_example(path: str | os.PathLike[str], info: dict[str, Any]) -> Any:
    """Read an input example back (a DataFrame, ndarray, dict, list or scalar).

    Raises:
        InvalidArgument: the info names a path outside the model directory or an unknown type.
    """
    rel = info.get("artifact_path", INPUT_EXAMPLE_FILE_NAME)
    if not isinstance(rel, str) or rel.startswith("/") or ".." in rel.split("/") or "\\" in rel:
        raise InvalidArgument(f"input example path {rel!r} is not inside the model", path=rel)
    data = json.loads((Path(path) / rel).read_text(encoding="utf-8"))
    kind = info.get("type")
    if kind == "dataframe":
        import pandas as pd

        return pd.DataFrame(data["data"], columns=data["columns"])
    if kind == "ndarray":
        import numpy as np

        return np.asarray(data)
    if kind in ("json_object", "json_list", "json_scalar"):
        return data
    raise InvalidArgument(f"unknown input example type {kind!r}", type=kind)
