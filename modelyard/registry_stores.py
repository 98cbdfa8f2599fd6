"""The model registry's store interface, and the source inspector registration relies on.

`RegistryStore` is implemented in-process over SQL (`modelyard.registry.model_registry`) and
over gRPC (`modelyard.client.grpc_registry`); one contract suite tests both. Implementations
trust their inputs: `modelyard.store_registry.registry_store_for_uri` wraps them in
`modelyard.registry_validation.ValidatingRegistryStore`.

Registration needs to read artifact stores, which the SQL registry may not import. So the
SQL store is given a `ModelSourceInspector` (implemented over fsspec in
`modelyard.artifacts.model_sources`): `check` decides, before anything is written, whether a
source may back a version and where its files are; `inspect` lists and hashes them.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol

from modelyard.entities import PagedList
from modelyard.entities.model_registry import (
    ModelFile,
    ModelStage,
    ModelVersion,
    ModelVersionLineage,
    RegisteredModel,
    RegistryEvent,
    RegistryEventKind,
    SourceInspection,
)

SEARCH_REGISTERED_MODELS_DEFAULT = 100
SEARCH_REGISTERED_MODELS_LIMIT = 1000
SEARCH_MODEL_VERSIONS_DEFAULT = 10_000
SEARCH_MODEL_VERSIONS_LIMIT = 200_000
HISTORY_PAGE_DEFAULT = 1000
HISTORY_PAGE_LIMIT = 10_000


class ModelSourceInspector(Protocol):
    """Decides where a version's files may come from, and reads them (over the artifact stores)."""

    def check(self, source: str, *, run_artifact_uri: str | None) -> str:
        """Return the canonical storage location of `source`, or raise; reads nothing.

        `source` is already resolved (no runs:/ or models:/). With a run, it must lie at or
        under `run_artifact_uri`; without one, under a model-source root the operator allows.

        Raises:
            InvalidArgument: a malformed source (traversal, query, fragment, ...).
            PermissionDenied: a source outside the run's artifact root or the allowed roots.
        """
        ...

    def inspect(self, storage_location: str) -> SourceInspection:
        """List and hash every file under `storage_location`; read its MLmodel if there is one.

        Raises:
            NotFound: nothing exists there.
            ModelyardError: the store cannot be read (credentials, network).
        """
        ...

    def is_local(self, storage_location: str) -> bool:
        """True when the location is a local path (registration hashes it without a network)."""
        ...


class RegistryStore(abc.ABC):
    """Registered models, versions, stages, aliases, history and events.

    Every method takes and returns domain types and raises `ModelyardError` subclasses.
    Versions are addressed by (name, version number); deleted versions are NOT_FOUND.
    `user_id` arguments are what the client reports (there is no authentication yet).
    """

    # -- registered models -------------------------------------------------------------
    @abc.abstractmethod
    def create_registered_model(
        self,
        name: str,
        *,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
        user_id: str | None = None,
        request_id: str | None = None,
    ) -> RegisteredModel:
        """Create a model.

        Raises:
            RegisteredModelAlreadyExists: the name is taken.
        """

    @abc.abstractmethod
    def get_registered_model(self, name: str) -> RegisteredModel:
        """Return a model with tags, aliases and latest versions.

        Raises:
            RegisteredModelNotFound: unknown name.
        """

    @abc.abstractmethod
    def rename_registered_model(
        self, name: str, new_name: str, *, user_id: str | None = None
    ) -> RegisteredModel:
        """Rename a model; versions, aliases and history follow."""

    @abc.abstractmethod
    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        """Set a model's description."""

    @abc.abstractmethod
    def delete_registered_model(self, name: str, *, user_id: str | None = None) -> None:
        """Delete a model with its versions, tags and aliases (events stay)."""

    @abc.abstractmethod
    def search_registered_models(
        self,
        *,
        filter_string: str = "",
        order_by: Sequence[str] = (),
        max_results: int = SEARCH_REGISTERED_MODELS_DEFAULT,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """One page of models matching the filter."""

    @abc.abstractmethod
    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        """Upsert a model tag."""

    @abc.abstractmethod
    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Delete a model tag; a missing tag is a no-op (the model must exist)."""

    @abc.abstractmethod
    def get_latest_versions(
        self, name: str, stages: Sequence[ModelStage] = ()
    ) -> list[ModelVersion]:
        """The highest non-deleted version in each given stage (every stage if none)."""

    # -- model versions ----------------------------------------------------------------
    @abc.abstractmethod
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
        """Create a version from `source` (runs:/, models:/ or an artifact URI); READY or raise.

        Raises:
            RegisteredModelNotFound: the model does not exist.
            RunNotFound: run_id (or the run of a runs:/ source) is unknown.
            InvalidArgument: malformed source, or run_id disagrees with a runs:/ source.
            PermissionDenied: the source lies outside the run's root and the allowed roots.
            RegistrationFailed: the source does not exist or cannot be read (the version
                stays, FAILED_REGISTRATION).
        """

    @abc.abstractmethod
    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """Return a version.

        Raises:
            ModelVersionNotFound: unknown or deleted version (or unknown model).
        """

    @abc.abstractmethod
    def update_model_version(
        self, name: str, version: int, description: str | None
    ) -> ModelVersion:
        """Set a version's description."""

    @abc.abstractmethod
    def delete_model_version(self, name: str, version: int, *, user_id: str | None = None) -> None:
        """Soft-delete a version: its number stays reserved; its aliases are removed."""

    @abc.abstractmethod
    def search_model_versions(
        self,
        *,
        filter_string: str = "",
        order_by: Sequence[str] = (),
        max_results: int = SEARCH_MODEL_VERSIONS_DEFAULT,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """One page of non-deleted versions matching the filter."""

    @abc.abstractmethod
    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        """Upsert a version tag."""

    @abc.abstractmethod
    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        """Delete a version tag; a missing tag is a no-op (the version must exist)."""

    @abc.abstractmethod
    def get_model_version_download_uri(self, name: str, version: int) -> str:
        """The artifact URI that holds the version's files."""

    @abc.abstractmethod
    def transition_model_version_stage(
        self,
        name: str,
        version: int,
        stage: ModelStage,
        *,
        archive_existing_versions: bool = False,
        user_id: str | None = None,
    ) -> ModelVersion:
        """Move a version to a stage (others in it to Archived if asked); one transaction.

        Raises:
            InvalidArgument: archive_existing_versions with a stage other than Staging or
                Production.
        """

    # -- aliases -----------------------------------------------------------------------
    @abc.abstractmethod
    def set_registered_model_alias(
        self, name: str, alias: str, version: int, *, user_id: str | None = None
    ) -> None:
        """Point an alias at a version (moving it)."""

    @abc.abstractmethod
    def delete_registered_model_alias(
        self, name: str, alias: str, *, user_id: str | None = None
    ) -> None:
        """Remove an alias; a missing alias is a no-op (the model must exist)."""

    @abc.abstractmethod
    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias names.

        Raises:
            AliasNotFound: the alias is not set.
        """

    # -- integrity, lineage, history, events ---------------------------------------------
    @abc.abstractmethod
    def list_model_version_files(self, name: str, version: int) -> list[ModelFile]:
        """The files recorded at registration, sorted by path."""

    @abc.abstractmethod
    def get_model_version_lineage(self, name: str, version: int) -> ModelVersionLineage:
        """The version's run, experiment and parent runs."""

    @abc.abstractmethod
    def list_registry_history(
        self,
        name: str,
        *,
        kinds: Sequence[RegistryEventKind] = (),
        version: int | None = None,
        max_results: int = HISTORY_PAGE_DEFAULT,
        page_token: str | None = None,
    ) -> PagedList[RegistryEvent]:
        """A model's events, oldest first (default kinds: stage transitions and alias moves)."""

    @abc.abstractmethod
    def watch_registry_events(
        self,
        *,
        after_event_id: int | None = None,
        model_names: Sequence[str] = (),
        kinds: Sequence[RegistryEventKind] = (),
        heartbeat_s: float = 10.0,
    ) -> Iterator[tuple[list[RegistryEvent], int]]:
        """Yield (events, cursor) as events commit, in event_id order; ([], cursor) as heartbeat.

        `after_event_id=None` starts after the last event committed now. The iterator ends
        when closed (`.close()`), so callers stop a watch by closing it.
        """

    def versions_backing(self, storage_location: str) -> list[tuple[str, int]]:
        """(name, version) of live versions whose files are at, under or above a location.

        The artifact service refuses to overwrite or delete such paths.
        """
        raise NotImplementedError(f"{type(self).__name__} does not offer versions_backing")

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release connections and pools."""
