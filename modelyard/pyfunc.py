"""`modelyard.pyfunc`: custom Python models and the generic loader (MLflow's `mlflow.pyfunc`)."""

from __future__ import annotations

from modelyard.client.flavors.pyfunc import (
    FLAVOR_NAME,
    PyFuncModel,
    PythonModel,
    PythonModelContext,
    load_model,
    log_model,
    save_model,
)

__all__ = [
    "FLAVOR_NAME",
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "load_model",
    "log_model",
    "save_model",
]
