"""The public face of `modelyard` is pinned, lazy, and light to import."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import modelyard

EXPECTED_ALL = [
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


def _modules_after(code: str) -> list[str]:
    """Run `code` in a fresh interpreter and return the names in sys.modules afterwards."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def _heavy(modules: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return [m for m in modules if m.split(".")[0] in prefixes or m.startswith(prefixes)]


def test_all_is_pinned() -> None:
    """Adding a public name is a decision: update this list with it."""
    assert modelyard.__all__ == EXPECTED_ALL


@pytest.mark.parametrize("name", EXPECTED_ALL)
def test_every_exported_name_resolves(name: str) -> None:
    assert getattr(modelyard, name) is not None
    assert name in dir(modelyard)


def test_import_modelyard_is_light() -> None:
    """`import modelyard` loads neither SQLAlchemy, grpc, pandas nor the client."""
    modules = _modules_after("import modelyard")
    assert _heavy(modules, ("sqlalchemy", "grpc", "google", "pandas", "numpy")) == []
    # only the one-line version module, which modelyard.models also reads
    assert [m for m in modules if m.startswith("modelyard.")] == ["modelyard._version"]


def test_fluent_api_loads_no_store_until_used() -> None:
    """Touching the fluent API loads the client, still without a database driver or grpc."""
    modules = _modules_after(
        "import modelyard as mlflow\nmlflow.start_run\nmlflow.get_tracking_uri()\n"
        "from modelyard.client import MlflowClient\nMlflowClient('sqlite:///x.db')"
    )
    assert "modelyard.client.fluent" in modules
    assert _heavy(modules, ("sqlalchemy", "grpc", "google", "pandas")) == []
    assert not any(
        m == "modelyard.registry" or m.startswith("modelyard.registry.") for m in modules
    )


def test_mlflow_names_port_unchanged() -> None:
    from modelyard.client import Client, MlflowClient
    from modelyard.entities import ViewType
    from modelyard.errors import ModelyardError

    assert modelyard.MlflowClient is Client
    assert MlflowClient is Client
    assert modelyard.Client is Client
    assert modelyard.MlflowException is ModelyardError
    assert modelyard.entities.ViewType is ViewType
    assert modelyard.entities.ViewType.ACTIVE_ONLY == 1
    assert issubclass(modelyard.ActiveRun, modelyard.entities.Run)


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = modelyard.no_such_name
