"""modelyard: experiment tracking with MLflow's Python API (`import modelyard as mlflow`).

The public names are loaded lazily (PEP 562), so `import modelyard` stays light: it imports
neither SQLAlchemy nor grpc, and the core never imports the client at module load.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Installed, registry/, artifacts/ and client/ sit inside this package. In a source checkout
# they sit beside it (see DESIGN.md), so code run from the checkout root finds them there too.
_checkout = Path(__file__).resolve().parent.parent
if (_checkout / "registry" / "__init__.py").is_file() and not (
    Path(__file__).resolve().parent / "registry"
).exists():
    __path__.append(str(_checkout))  # type: ignore[name-defined]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from modelyard.client.autolog import autolog
    from modelyard.client.batching import flush_async_logging
    from modelyard.client.client import Client, MlflowClient
    from modelyard.client.fluent import (
        ActiveRun,
        active_run,
        create_experiment,
        delete_experiment,
        delete_run,
        delete_tag,
        end_run,
        get_artifact_uri,
        get_experiment,
        get_experiment_by_name,
        get_parent_run,
        get_run,
        last_active_run,
        load_table,
        log_artifact,
        log_artifacts,
        log_dict,
        log_figure,
        log_image,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        log_stream,
        log_table,
        log_text,
        search_experiments,
        search_runs,
        set_experiment,
        set_experiment_tag,
        set_experiment_tags,
        set_tag,
        set_tags,
        start_run,
    )
    from modelyard.client.registration import (
        register_model,
        search_model_versions,
        search_registered_models,
    )
    from modelyard.client.tracking_uri import (
        get_registry_uri,
        get_tracking_uri,
        set_registry_uri,
        set_tracking_uri,
    )
    from modelyard.errors import MlflowException, ModelyardError

from modelyard._version import __version__ as __version__  # noqa: E402 (after the path set-up)

_FLUENT = "modelyard.client.fluent"
_FLUENT_NAMES = (
    "ActiveRun",
    "active_run",
    "create_experiment",
    "delete_experiment",
    "delete_run",
    "delete_tag",
    "end_run",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_parent_run",
    "get_run",
    "last_active_run",
    "load_table",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_stream",
    "log_table",
    "log_text",
    "search_experiments",
    "search_runs",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_tag",
    "set_tags",
    "start_run",
)
_LAZY: dict[str, tuple[str, str]] = {name: (_FLUENT, name) for name in _FLUENT_NAMES}
_LAZY.update(
    {
        "autolog": ("modelyard.client.autolog", "autolog"),
        "flush_async_logging": ("modelyard.client.batching", "flush_async_logging"),
        "get_tracking_uri": ("modelyard.client.tracking_uri", "get_tracking_uri"),
        "get_registry_uri": ("modelyard.client.tracking_uri", "get_registry_uri"),
        "set_registry_uri": ("modelyard.client.tracking_uri", "set_registry_uri"),
        "set_tracking_uri": ("modelyard.client.tracking_uri", "set_tracking_uri"),
        "Client": ("modelyard.client.client", "Client"),
        "MlflowClient": ("modelyard.client.client", "MlflowClient"),
        "MlflowException": ("modelyard.errors", "MlflowException"),
        "register_model": ("modelyard.client.registration", "register_model"),
        "search_model_versions": ("modelyard.client.registration", "search_model_versions"),
        "search_registered_models": ("modelyard.client.registration", "search_registered_models"),
        "ModelyardError": ("modelyard.errors", "ModelyardError"),
    }
)
_SUBMODULES = frozenset(
    {
        "artifacts",
        "client",
        "config",
        "entities",
        "errors",
        "models",
        "pyfunc",
        "sklearn",
        "stores",
        "validation",
    }
)

__all__ = [
    "ActiveRun",
    "Client",
    "MlflowClient",
    "MlflowException",
    "ModelyardError",
    "active_run",
    "autolog",
    "create_experiment",
    "delete_experiment",
    "delete_run",
    "delete_tag",
    "end_run",
    "flush_async_logging",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_parent_run",
    "get_registry_uri",
    "get_run",
    "get_tracking_uri",
    "last_active_run",
    "load_table",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_stream",
    "log_table",
    "log_text",
    "register_model",
    "search_experiments",
    "search_model_versions",
    "search_registered_models",
    "search_runs",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_registry_uri",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]


def __getattr__(name: str) -> Any:
    """Load a public name (or a submodule such as `entities`) on first access."""
    target = _LAZY.get(name)
    if target is not None:
        value = getattr(importlib.import_module(target[0]), target[1])
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_SUBMODULES})
