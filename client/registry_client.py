"""The registry half of `Client`: MLflow's MlflowClient registry methods, plus lineage,
history, file manifests and a watch on registry events.

Versions may be given as ints or digit strings ("3"), as MLflow users pass them; stages as
case-insensitive strings ("production"). `user_id` is the user this process reports
(`MODELYARD_TRACKING_USERNAME` or the OS user): the server records it in the history.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from modelyard.client.context import current_user
from modelyard.client.tracking_uri import store_uri
from modelyard.entities import PagedList
from modelyard.entities.model_registry import (
    ModelFile,
    ModelStage,
    ModelVersion,
    ModelVersionLineage,
    RegisteredModel,
    RegistryEvent,
    RegistryEventKind,
    parse_model_version,
)
from modelyard.errors import InvalidArgument
from modelyard.registry_stores import (
    HISTORY_PAGE_DEFAULT,
    SEARCH_MODEL_VERSIONS_DEFAULT,
    SEARCH_REGISTERED_MODELS_DEFAULT,
    RegistryStore,
)
from modelyard.store_registry import registry_store_for_uri

logger = logging.getLogger("modelyard")

_registry_stores: dict[str, RegistryStore] = {}
_registry_stores_lock = threading.Lock()


def registry_store_for(uri: str) -> RegistryStore:
    """The process-wide registry store of a tracking/registry URI (one per URI)."""
    key = store_uri(uri)
    store = _registry_stores.get(key)
    if store is None:
        with _registry_stores_lock:
            store = _registry_stores.get(key)
            if store is None:
                store = registry_store_for_uri(key)
                _registry_stores[key] = store
    return store


def _stages(stages: Iterable[str] | str | None) -> list[ModelStage]:
    if stages is None:
        return []
    if isinstance(stages, str):
        stages = [stages]
    return [ModelStage.parse(s) for s in stages]


def _kinds(kinds: Iterable[str] | None) -> list[RegistryEventKind]:
    out = []
    for kind in kinds or ():
        try:
            out.append(RegistryEventKind(str(kind).upper()))
        except ValueError:
            names = ", ".join(k.value for k in RegistryEventKind)
            raise InvalidArgument(
                f"unknown registry event kind {kind!r}: expected one of {names}", kind=kind
            ) from None
    return out


class RegistryClientMixin:
    """Registered models, versions, stages, aliases, lineage, history and events."""

    _registry_uri: str

    @property
    def _registry(self) -> RegistryStore:
        return registry_store_for(self._registry_uri)

    # -- registered models -------------------------------------------------------------
    def create_registered_model(
        self,
        name: str,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> RegisteredModel:
        """Create a registered model; ALREADY_EXISTS if the name is taken."""
        return self._registry.create_registered_model(
            name,
            tags={k: str(v) for k, v in (tags or {}).items()},
            description=description,
            user_id=current_user(),
        )

    def get_registered_model(self, name: str) -> RegisteredModel:
        """A registered model with its tags, aliases and latest version per stage."""
        return self._registry.get_registered_model(name)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a model; its versions, aliases and history follow."""
        return self._registry.rename_registered_model(name, new_name, user_id=current_user())

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel:
        """Set a model's description."""
        return self._registry.update_registered_model(name, description)

    def delete_registered_model(self, name: str) -> None:
        """Delete a model with its versions, tags and aliases (its history stays)."""
        self._registry.delete_registered_model(name, user_id=current_user())

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_REGISTERED_MODELS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """One page of registered models matching the filter (e.g. "name LIKE 'churn%'")."""
        return self._registry.search_registered_models(
            filter_string=filter_string or "",
            order_by=list(order_by or ()),
            max_results=max_results,
            page_token=page_token,
        )

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        """Set (upsert) a model tag."""
        self._registry.set_registered_model_tag(name, key, str(value))

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Delete a model tag (a missing tag is fine)."""
        self._registry.delete_registered_model_tag(name, key)

    def get_latest_versions(
        self, name: str, stages: Iterable[str] | str | None = None
    ) -> list[ModelVersion]:
        """The highest version in each of the stages (every stage when None)."""
        return self._registry.get_latest_versions(name, _stages(stages))

    # -- model versions ----------------------------------------------------------------
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        await_creation_for: int = 300,
    ) -> ModelVersion:
        """Register `source` (runs:/, models:/ or an artifact URI) as a new version; READY.

        Registration is synchronous, so `await_creation_for` only exists for MLflow scripts.
        """
        del await_creation_for
        return self._registry.create_model_version(
            name,
            source,
            run_id=run_id or None,
            tags={k: str(v) for k, v in (tags or {}).items()},
            run_link=run_link,
            description=description,
            user_id=current_user(),
        )

    def copy_model_version(self, src_model_uri: str, dst_name: str) -> ModelVersion:
        """Register the files of `models:/<name>/<version>` (or @alias) as a version of dst_name.

        The destination model is created if missing; lineage records the copy.
        """
        if not str(src_model_uri).startswith("models:/"):
            raise InvalidArgument(
                f"copy_model_version needs a models:/ URI, got {src_model_uri!r}",
                uri=src_model_uri,
            )
        ensure_registered_model(self._registry, dst_name)
        return self._registry.create_model_version(dst_name, src_model_uri, user_id=current_user())

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        """One version, with its signature metadata."""
        return self._registry.get_model_version(name, parse_model_version(version))

    def update_model_version(
        self, name: str, version: int | str, description: str | None = None
    ) -> ModelVersion:
        """Set a version's description."""
        return self._registry.update_model_version(name, parse_model_version(version), description)

    def delete_model_version(self, name: str, version: int | str) -> None:
        """Delete a version; its number is never reused."""
        self._registry.delete_model_version(
            name, parse_model_version(version), user_id=current_user()
        )

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_MODEL_VERSIONS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """One page of versions matching the filter (e.g. "name='churn' and tags.t='x'")."""
        return self._registry.search_model_versions(
            filter_string=filter_string or "",
            order_by=list(order_by or ()),
            max_results=max_results,
            page_token=page_token,
        )

    def _version_for(self, name: str, version: int | str | None, stage: str | None) -> int:
        if version is not None and stage is not None:
            raise InvalidArgument("give a version or a stage, not both", version=version)
        if version is not None:
            return parse_model_version(version)
        if stage is None:
            raise InvalidArgument("a version (or a stage) is required", name=name)
        latest = self.get_latest_versions(name, [stage])
        if not latest:
            raise InvalidArgument(f"model {name!r} has no version in stage {stage!r}", name=name)
        return latest[0].version

    def set_model_version_tag(
        self,
        name: str,
        version: int | str | None = None,
        key: str | None = None,
        value: Any = None,
        stage: str | None = None,
    ) -> None:
        """Set (upsert) a version tag; the version may be named by its stage instead."""
        if key is None:
            raise InvalidArgument("a tag key is required", name=name)
        number = self._version_for(name, version, stage)
        self._registry.set_model_version_tag(name, number, key, str(value))

    def delete_model_version_tag(
        self,
        name: str,
        version: int | str | None = None,
        key: str | None = None,
        stage: str | None = None,
    ) -> None:
        """Delete a version tag (a missing tag is fine)."""
        if key is None:
            raise InvalidArgument("a tag key is required", name=name)
        number = self._version_for(name, version, stage)
        self._registry.delete_model_version_tag(name, number, key)

    def get_model_version_download_uri(self, name: str, version: int | str) -> str:
        """The artifact URI that holds a version's files."""
        return self._registry.get_model_version_download_uri(name, parse_model_version(version))

    def transition_model_version_stage(
        self,
        name: str,
        version: int | str,
        stage: str,
        archive_existing_versions: bool = False,
    ) -> ModelVersion:
        """Move a version to a stage; with archive_existing_versions, archive the others there."""
        return self._registry.transition_model_version_stage(
            name,
            parse_model_version(version),
            ModelStage.parse(stage),
            archive_existing_versions=bool(archive_existing_versions),
            user_id=current_user(),
        )

    # -- aliases -----------------------------------------------------------------------
    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        """Point an alias at a version, moving it from any other version."""
        self._registry.set_registered_model_alias(
            name, alias, parse_model_version(version), user_id=current_user()
        )

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias (a missing alias is fine)."""
        self._registry.delete_registered_model_alias(name, alias, user_id=current_user())

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias names; NOT_FOUND if it is not set."""
        return self._registry.get_model_version_by_alias(name, alias)

    # -- integrity, lineage, history, events -------------------------------------------
    def list_model_version_files(self, name: str, version: int | str) -> list[ModelFile]:
        """The files (path, size, sha256) recorded when the version was registered."""
        return self._registry.list_model_version_files(name, parse_model_version(version))

    def get_model_version_lineage(self, name: str, version: int | str) -> ModelVersionLineage:
        """The version's run (params, metrics, tags, git commit), experiment and parent runs."""
        return self._registry.get_model_version_lineage(name, parse_model_version(version))

    def list_registry_history(
        self,
        name: str,
        kinds: Iterable[str] | None = None,
        version: int | str | None = None,
        max_results: int = HISTORY_PAGE_DEFAULT,
        page_token: str | None = None,
    ) -> PagedList[RegistryEvent]:
        """A model's stage transitions and alias moves (or the given kinds), oldest first."""
        return self._registry.list_registry_history(
            name,
            kinds=_kinds(kinds),
            version=None if version is None else parse_model_version(version),
            max_results=max_results,
            page_token=page_token,
        )

    def watch_registry_events(
        self,
        after_event_id: int | None = None,
        model_names: Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
    ) -> Iterator[RegistryEvent]:
        """Yield registry events as they are committed; resume with the last event_id seen.

        Blocks between events; close the iterator (or break out of the loop) to stop.
        """
        watch = self._registry.watch_registry_events(
            after_event_id=after_event_id,
            model_names=list(model_names or ()),
            kinds=_kinds(kinds),
        )
        try:
            for events, _cursor in watch:
                yield from events
        finally:
            close = getattr(watch, "close", None)
            if close is not None:
                close()


def ensure_registered_model(
    store: RegistryStore, name: str, tags: Mapping[str, Any] | None = None
) -> bool:
    """Create the model unless it exists; True when this call created it."""
    from modelyard.errors import RegisteredModelAlreadyExists

    try:
        store.create_registered_model(
            name, tags={k: str(v) for k, v in (tags or {}).items()}, user_id=current_user()
        )
    except RegisteredModelAlreadyExists:
        logger.info("Registered model %r already exists. Creating a new version of it.", name)
        return False
    logger.info("Successfully registered model %r.", name)
    return True
