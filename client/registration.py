"""The registry's fluent functions: `modelyard.register_model` (creating the name if new),
`search_registered_models` and `search_model_versions` (every page, up to max_results)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from modelyard.client.client import Client
from modelyard.client.registry_client import ensure_registered_model
from modelyard.entities.model_registry import ModelVersion, RegisteredModel
from modelyard.entities.paging import collect_pages
from modelyard.errors import InvalidArgument

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


#: Items per request when the fluent searches page through results.
_PAGE = 1000


def _all_pages(search: Callable[..., Any], max_results: int | None, **query: Any) -> list[Any]:
    """Every item of a paged registry search, up to max_results (None: all)."""
    wrong_type = isinstance(max_results, bool) or not isinstance(max_results, int)
    if max_results is not None and wrong_type:
        raise InvalidArgument(
            f"max_results must be an int or None, got {max_results!r} (MLflow's order: "
            "max_results first; pass a filter as filter_string=...)",
            max_results=repr(max_results),
        )
    return collect_pages(search, max_results, _PAGE, **query)


def search_registered_models(
    max_results: int | None = 100,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
) -> list[RegisteredModel]:
    """Registered models matching the filter (e.g. "name LIKE 'churn%'"), up to max_results."""
    client = Client()
    return _all_pages(
        client.search_registered_models,
        max_results,
        filter_string=filter_string,
        order_by=order_by,
    )


def search_model_versions(
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
) -> list[ModelVersion]:
    """Model versions matching the filter (e.g. "name = 'churn'"), all of them by default."""
    client = Client()
    return _all_pages(
        client.search_model_versions,
        max_results,
        filter_string=filter_string,
        order_by=order_by,
    )
