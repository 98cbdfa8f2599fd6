"""`modelyard.sklearn`: scikit-learn models, saved with skops by default (`mlflow.sklearn`)."""

from __future__ import annotations

from modelyard.client.autolog.sklearn import autolog
from modelyard.client.flavors.sklearn import (
    FLAVOR_NAME,
    SERIALIZATION_FORMATS,
    SKLEARN_STATE_TYPES,
    load_model,
    log_model,
    save_model,
)

__all__ = [
    "FLAVOR_NAME",
    "SERIALIZATION_FORMATS",
    "SKLEARN_STATE_TYPES",
    "autolog",
    "load_model",
    "log_model",
    "save_model",
]
