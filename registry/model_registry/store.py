"""SqlRegistryStore: the RegistryStore over SQLAlchemy Core, and the factory that opens it.

A thin facade: each aggregate's logic lives in its own module (models, versions, aliases,
events, lineage). It trusts its inputs; `ValidatingRegistryStore` checked them. Registration
reads artifact stores only through the `ModelSourceInspector` it is given (or, when none is,
the default one from `modelyard.artifacts.model_sources`, built on first use).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence

from modelyard.entities import PagedList
from modelyard.entities.model_registry import (
    ModelFile,
    ModelStage,
    ModelVersion,
    ModelVersionLineage,
    RegisteredModel,
    RegistryEvent,
    RegistryEventKind,
)
from modelyard.registry.bootstrap import open_metadata_database
from modelyard.registry.engine import Database, release_database
from modelyard.registry.model_registry import aliases, events, lineage, models, versions
from modelyard.registry.search import PageTokens
from modelyard.registry_stores import (
    HISTORY_PAGE_DEFAULT,
    SEARCH_MODEL_VERSIONS_DEFAULT,
    SEARCH_REGISTERED_MODELS_DEFAULT,
    ModelSourceInspector,
    RegistryStore,
)
from modelyard.stores import StoreOptions

DEFAULT_INSPECTOR = "modelyard.artifacts.model_sources:default_inspector"


class SqlRegistryStore(RegistryStore):
    """The model registry in a SQL database (SQLite, PostgreSQL, MySQL/MariaDB)."""

    def __init__(
        self,
        db: Database,
        *,
        page_token_secret: bytes,
        inspector: ModelSourceInspector | Callable[[], ModelSourceInspector],
    ) -> None:
        self.db = db
        self._tokens = PageTokens(page_token_secret)
        self._inspector: ModelSourceInspector | None = None
        self._inspector_factory: Callable[[], ModelSourceInspector] | None = None
        if hasattr(inspector, "check") and hasattr(inspector, "inspect"):
            self._inspector = inspector  # type: ignore[assignment]
        else:
            self._inspector_factory = inspector  # type: ignore[assignment]
        self._inspector_lock = threading.Lock()

    def inspector(self) -> ModelSourceInspector:
        """The source inspector (built on first use when a factory was given)."""
        if self._inspector is None:
            with self._inspector_lock:
                if self._inspector is None:
                    assert self._inspector_factory is not None
                    self._inspector = self._inspector_factory()
        return self._inspector

    # -- registered models -------------------------------------------------------------
    def create_registered_model(
        self,
        name: str,
        *,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
        user_id: str | None = None,
        request_id: str | None = None,
    ) -> RegisteredModel:
        """Create a model."""
        return models.create_registered_model(
            self.db,
            name,
            tags=tags,
            description=description,
            user_id=user_id,
            request_id=request_id,
        )

    def get_registered_model(self, name: str) -> RegisteredModel:
        """Return a model with tags, aliases and latest versions."""
        return models.get_registered_model(self.db, name)

    def rename_registered_model(
        self, name: str, new_name: str, *, user_id: str | None = None
    ) -> RegisteredModel:
        """Rename a model."""
        return models.rename_registered_model(self.db, name, new_name, user_id=user_id)

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        """Set a model's description."""
        return models.update_registered_model(self.db, name, description)

    def delete_registered_model(self, name: str, *, user_id: str | None = None) -> None:
        """Delete a model with its versions, tags and aliases (events stay)."""
        models.delete_registered_model(self.db, name, user_id=user_id)

    def search_registered_models(
        self,
        *,
        filter_string: str = "",
        order_by: Sequence[str] = (),
        max_results: int = SEARCH_REGISTERED_MODELS_DEFAULT,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """One page of models matching the filter."""
        return models.search_registered_models(
            self.db,
            self._tokens,
            filter_string=filter_string,
            order_by=order_by,
            max_results=max_results,
            page_token=page_token,
        )

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        """Upsert a model tag."""
        models.set_registered_model_tag(self.db, name, key, value)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Delete a model tag (no-op when missing)."""
        models.delete_registered_model_tag(self.db, name, key)

    def get_latest_versions(
        self, name: str, stages: Sequence[ModelStage] = ()
    ) -> list[ModelVersion]:
        """The highest non-deleted version in each given stage."""
        return models.get_latest_versions(self.db, name, stages)

    # -- model versions ----------------------------------------------------------------
    def create_model_version(
        self,
        name: str,
        source: str,
        *,
        run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
        run_link: str | None = None,
        user_id: str | None = None,
        request_id: str | None = None,
    ) -> ModelVersion:
        """Create a version from a source; READY or raise."""
        return versions.create_model_version(
            self.db,
            self.inspector,
            name,
            source,
            run_id=run_id,
            tags=tags,
            description=description,
            run_link=run_link,
            user_id=user_id,
            request_id=request_id,
        )

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """Return a live version."""
        return versions.get_model_version(self.db, name, version)

    def update_model_version(
        self, name: str, version: int, description: str | None
    ) -> ModelVersion:
        """Set a version's description."""
        return versions.update_model_version(self.db, name, version, description)

    def delete_model_version(self, name: str, version: int, *, user_id: str | None = None) -> None:
        """Soft-delete a version."""
        versions.delete_model_version(self.db, name, version, user_id=user_id)

    def search_model_versions(
        self,
        *,
        filter_string: str = "",
        order_by: Sequence[str] = (),
        max_results: int = SEARCH_MODEL_VERSIONS_DEFAULT,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """One page of live versions matching the filter."""
        return versions.search_model_versions(
            self.db,
            self._tokens,
            filter_string=filter_string,
            order_by=order_by,
            max_results=max_results,
            page_token=page_token,
        )

    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        """Upsert a version tag."""
        versions.set_model_version_tag(self.db, name, version, key, value)

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        """Delete a version tag (no-op when missing)."""
        versions.delete_model_version_tag(self.db, name, version, key)

    def get_model_version_download_uri(self, name: str, version: int) -> str:
        """The artifact URI that holds the version's files."""
        return versions.get_model_version_download_uri(self.db, name, version)

    def transition_model_version_stage(
        self,
        name: str,
        version: int,
        stage: ModelStage,
        *,
        archive_existing_versions: bool = False,
        user_id: str | None = None,
    ) -> ModelVersion:
        """Move a version to a stage; one transaction."""
        return versions.transition_model_version_stage(
            self.db,
            name,
            version,
            stage,
            archive_existing_versions=archive_existing_versions,
            user_id=user_id,
        )

    # -- aliases -----------------------------------------------------------------------
    def set_registered_model_alias(
        self, name: str, alias: str, version: int, *, user_id: str | None = None
    ) -> None:
        """Point an alias at a version (moving it)."""
        aliases.set_registered_model_alias(self.db, name, alias, version, user_id=user_id)

    def delete_registered_model_alias(
        self, name: str, alias: str, *, user_id: str | None = None
    ) -> None:
        """Remove an alias (no-op when missing)."""
        aliases.delete_registered_model_alias(self.db, name, alias, user_id=user_id)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias names."""
        return aliases.get_model_version_by_alias(self.db, name, alias)

    # -- integrity, lineage, history, events ---------------------------------------------
    def list_model_version_files(self, name: str, version: int) -> list[ModelFile]:
        """The files recorded at registration, sorted by path."""
        return versions.list_model_version_files(self.db, name, version)

    def get_model_version_lineage(self, name: str, version: int) -> ModelVersionLineage:
        """The version's run, experiment and parent runs."""
        return lineage.get_model_version_lineage(self.db, name, version)

    def list_registry_history(
        self,
        name: str,
        *,
        kinds: Sequence[RegistryEventKind] = (),
        version: int | None = None,
        max_results: int = HISTORY_PAGE_DEFAULT,
        page_token: str | None = None,
    ) -> PagedList[RegistryEvent]:
        """A model's events, oldest first."""
        return events.list_registry_history(
            self.db,
            self._tokens,
            name,
            kinds=kinds,
            version=version,
            max_results=max_results,
            page_token=page_token,
        )

    def watch_registry_events(
        self,
        *,
        after_event_id: int | None = None,
        model_names: Sequence[str] = (),
        kinds: Sequence[RegistryEventKind] = (),
        heartbeat_s: float = 10.0,
    ) -> Iterator[tuple[list[RegistryEvent], int]]:
        """Poll committed events; the returned iterator stops when closed."""
        return events.EventWatch(
            self.db,
            after_event_id=after_event_id,
            model_names=model_names,
            kinds=kinds,
            heartbeat_s=heartbeat_s,
        )

    def versions_backing(self, storage_location: str) -> list[tuple[str, int]]:
        """(name, version) of live versions at, under or above a location."""
        return lineage.versions_backing(self.db, storage_location)

    def close(self) -> None:
        """Release connections and pools."""
        release_database(self.db)


def _default_inspector(options: StoreOptions) -> Callable[[], ModelSourceInspector]:
    """A factory that imports and builds the default inspector on first use."""

    def build() -> ModelSourceInspector:
        module_name, _, attr = DEFAULT_INSPECTOR.partition(":")
        factory = getattr(importlib.import_module(module_name), attr)
        inspector: ModelSourceInspector = factory(options)
        return inspector

    return build


def open_registry_store(uri: str, options: StoreOptions) -> SqlRegistryStore:
    """Open the SQL registry store for a database URI, creating a missing schema at head.

    Raises:
        SchemaOutdated: the database is at another revision; run `modelyard db upgrade <url>`.
        Unavailable: the database cannot be reached.
    """
    db, secret = open_metadata_database(uri, dict(options.extra), options.default_artifact_root)
    inspector = options.source_inspector
    return SqlRegistryStore(
        db,
        page_token_secret=secret,
        inspector=inspector if inspector is not None else _default_inspector(options),
    )
