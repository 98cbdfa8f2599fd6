"""`modelyard.register_model`: register a logged model under a name, creating the name if new."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from modelyard.client.client import Client
from modelyard.client.registry_client import ensure_registered_model
from modelyard.entities.model_registry import ModelVersion

logger = logging.getLogger("modelyard")


def register_model(
    model_uri: str,
    name: str,
    await_registration_for: int = 300,
    *,
    tags: Mapping[str, Any] | None = None,
) -> ModelVersion:
    """Register `model_uri` (runs:/<run_id>/<path>, models:/…, or an artifact URI) as `name`.

    The registered model is created if it does not exist; the new version is READY when this
    returns (registration is synchronous, so `await_registration_for` is accepted and unused).
    """
    del await_registration_for
    version = register_with(Client(), model_uri, name, tags=tags)
    logger.info("Created version '%s' of model '%s'.", version.version, name)
    return version


def register_with(
    client: Client, model_uri: str, name: str, *, tags: Mapping[str, Any] | None = None
) -> ModelVersion:
    """Create `name` unless it exists, then register `model_uri` as its new version.

    The run id of a runs:/<run_id>/<path> URI is recorded with the version.
    """
    ensure_registered_model(client._registry, name)
    run_id = None
    if model_uri.startswith("runs:/"):
        run_id = model_uri[len("runs:/") :].split("/", 1)[0] or None
    return client.create_model_version(name, model_uri, run_id=run_id, tags=tags)
