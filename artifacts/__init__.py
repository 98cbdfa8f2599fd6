"""modelyard.artifacts: artifact stores, path safety, the ArtifactService, and the user API.

The user API mirrors `mlflow.artifacts`:

    modelyard.artifacts.download_artifacts(artifact_uri=None, *, run_id=None,
                                           artifact_path=None, dst_path=None, tracking_uri=None)
    modelyard.artifacts.list_artifacts(artifact_uri=None, *, run_id=None, artifact_path=None,
                                       tracking_uri=None)
    modelyard.artifacts.load_text(artifact_uri)
    modelyard.artifacts.load_dict(artifact_uri)

They are implemented in `modelyard.client.artifact_api` and loaded on first access (PEP 562),
so the server's modules (store, servicer) never import the client. That re-export is the one
import edge from `modelyard.artifacts` to `modelyard.client` (declared in pyproject.toml's
import contracts).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from modelyard.client.artifact_api import (
        download_artifacts,
        list_artifacts,
        load_dict,
        load_text,
    )

_USER_API = "modelyard.client.artifact_api"
_USER_NAMES = frozenset({"download_artifacts", "list_artifacts", "load_dict", "load_text"})

__all__ = ["download_artifacts", "list_artifacts", "load_dict", "load_text"]


def __getattr__(name: str) -> Any:
    """Load a user API function from modelyard.client.artifact_api on first access."""
    if name in _USER_NAMES:
        value = getattr(importlib.import_module(_USER_API), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public names, including the lazily loaded ones."""
    return sorted({*globals(), *__all__})
