"""GrpcRegistryStore: the RegistryStore contract over the ModelRegistryService stub.

Users see domain types and the same `ModelyardError` classes as with the in-process store.
It shares the channel and retry helpers of `modelyard.client.channel` with GrpcTrackingStore;
pass `channel=` to reuse the channel of a tracking store of the same URI (then closing this
store leaves the channel open). Creates carry a request id (generated when not given), so a
retry after UNAVAILABLE never creates twice. A watch reconnects after UNAVAILABLE from the
last cursor it received (for up to `watch_reconnect_s` without a message), so a replica
going away neither loses nor repeats an event.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import grpc

from modelyard.client.channel import GrpcConnection, RetryPolicy
from modelyard.client.grpc_stores import new_request_id
from modelyard.config import ClientConfig
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
from modelyard.registry_stores import (
    HISTORY_PAGE_DEFAULT,
    SEARCH_MODEL_VERSIONS_DEFAULT,
    SEARCH_REGISTERED_MODELS_DEFAULT,
    RegistryStore,
)
from modelyard.stores import StoreOptions
from modelyard.v1 import registry_pb2 as pb
from modelyard.v1 import registry_pb2_grpc as pb_grpc
from modelyard.wire import registry as wire
from modelyard.wire.status import error_from_rpc

#: Seconds a watch keeps reconnecting to an UNAVAILABLE server before it gives up.
WATCH_RECONNECT_S = 60.0


class GrpcRegistryStore(GrpcConnection, RegistryStore):
    """A RegistryStore that talks to a modelyard server (grpc:// or grpcs://)."""

    def __init__(
        self,
        uri: str,
        options: StoreOptions | None = None,
        *,
        config: ClientConfig | None = None,
        channel: grpc.Channel | None = None,
        watch_reconnect_s: float = WATCH_RECONNECT_S,
    ) -> None:
        """Open a channel for `uri`, or use `channel` (owned by the caller).

        A watch whose server becomes UNAVAILABLE keeps reconnecting (with backoff) for
        `watch_reconnect_s` seconds before it raises Unavailable.
        """
        GrpcConnection.__init__(self, uri, config=config, channel=channel)
        self.options = options or StoreOptions()
        self._stub = pb_grpc.ModelRegistryServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._watch_reconnect_s = watch_reconnect_s

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
        response = self._call(
            self._stub.CreateRegisteredModel,
            pb.CreateRegisteredModelRequest(
                name=name,
                tags=dict(tags or {}),
                description=description or "",
                user_id=user_id or "",
                request_id=request_id or new_request_id(),
            ),
        )
        return wire.registered_model_from_pb(response.registered_model)

    def get_registered_model(self, name: str) -> RegisteredModel:
        """Return a model with tags, aliases and latest versions."""
        response = self._call(
            self._stub.GetRegisteredModel, pb.GetRegisteredModelRequest(name=name)
        )
        return wire.registered_model_from_pb(response.registered_model)

    def rename_registered_model(
        self, name: str, new_name: str, *, user_id: str | None = None
    ) -> RegisteredModel:
        """Rename a model; versions, aliases and history follow."""
        response = self._call(
            self._stub.RenameRegisteredModel,
            pb.RenameRegisteredModelRequest(name=name, new_name=new_name, user_id=user_id or ""),
        )
        return wire.registered_model_from_pb(response.registered_model)

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        """Set a model's description."""
        response = self._call(
            self._stub.UpdateRegisteredModel,
            pb.UpdateRegisteredModelRequest(name=name, description=description or ""),
        )
        return wire.registered_model_from_pb(response.registered_model)

    def delete_registered_model(self, name: str, *, user_id: str | None = None) -> None:
        """Delete a model with its versions, tags and aliases (events stay)."""
        self._call(
            self._stub.DeleteRegisteredModel,
            pb.DeleteRegisteredModelRequest(name=name, user_id=user_id or ""),
        )

    def search_registered_models(
        self,
        *,
        filter_string: str = "",
        order_by: Sequence[str] = (),
        max_results: int = SEARCH_REGISTERED_MODELS_DEFAULT,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """One page of models matching the filter."""
        response = self._call(
            self._stub.SearchRegisteredModels,
            pb.SearchRegisteredModelsRequest(
                filter=filter_string or "",
                order_by=list(order_by or ()),
                page_size=max_results,
                page_token=page_token or "",
            ),
        )
        return PagedList(
            [wire.registered_model_from_pb(m) for m in response.registered_models],
            response.next_page_token or None,
        )

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        """Upsert a model tag."""
        self._call(
            self._stub.SetRegisteredModelTag,
            pb.SetRegisteredModelTagRequest(name=name, key=key, value=value),
        )

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Delete a model tag (a missing tag is a no-op)."""
        self._call(
            self._stub.DeleteRegisteredModelTag,
            pb.DeleteRegisteredModelTagRequest(name=name, key=key),
        )

    def get_latest_versions(
        self, name: str, stages: Sequence[ModelStage] = ()
    ) -> list[ModelVersion]:
        """The highest non-deleted version in each given stage (every stage if none)."""
        response = self._call(
            self._stub.GetLatestVersions,
            pb.GetLatestVersionsRequest(
                name=name, stages=[wire.stage_to_pb(s) for s in stages or ()]
            ),
        )
        return [wire.model_version_from_pb(v) for v in response.model_versions]

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
        """Create a version from `source`; READY or raise."""
        response = self._call(
            self._stub.CreateModelVersion,
            pb.CreateModelVersionRequest(
                name=name,
                source=source,
                run_id=run_id or "",
                tags=dict(tags or {}),
                description=description or "",
                run_link=run_link or "",
                user_id=user_id or "",
                request_id=request_id or new_request_id(),
            ),
        )
        return wire.model_version_from_pb(response.model_version)

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """Return a version."""
        response = self._call(
            self._stub.GetModelVersion, pb.GetModelVersionRequest(name=name, version=version)
        )
        return wire.model_version_from_pb(response.model_version)

    def update_model_version(
        self, name: str, version: int, description: str | None
    ) -> ModelVersion:
        """Set a version's description."""
        response = self._call(
            self._stub.UpdateModelVersion,
            pb.UpdateModelVersionRequest(name=name, version=version, description=description or ""),
        )
        return wire.model_version_from_pb(response.model_version)

    def delete_model_version(self, name: str, version: int, *, user_id: str | None = None) -> None:
        """Soft-delete a version."""
        self._call(
            self._stub.DeleteModelVersion,
            pb.DeleteModelVersionRequest(name=name, version=version, user_id=user_id or ""),
        )

    def search_model_versions(
        self,
        *,
        filter_string: str = "",
        order_by: Sequence[str] = (),
        max_results: int = SEARCH_MODEL_VERSIONS_DEFAULT,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """One page of non-deleted versions matching the filter."""
        response = self._call(
            self._stub.SearchModelVersions,
            pb.SearchModelVersionsRequest(
                filter=filter_string or "",
                order_by=list(order_by or ()),
                page_size=max_results,
                page_token=page_token or "",
            ),
        )
        return PagedList(
            [wire.model_version_from_pb(v) for v in response.model_versions],
            response.next_page_token or None,
        )

    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        """Upsert a version tag."""
        self._call(
            self._stub.SetModelVersionTag,
            pb.SetModelVersionTagRequest(name=name, version=version, key=key, value=value),
        )

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        """Delete a version tag (a missing tag is a no-op)."""
        self._call(
            self._stub.DeleteModelVersionTag,
            pb.DeleteModelVersionTagRequest(name=name, version=version, key=key),
        )

    def get_model_version_download_uri(self, name: str, version: int) -> str:
        """The artifact URI that holds the version's files."""
        response = self._call(
            self._stub.GetModelVersionDownloadUri,
            pb.GetModelVersionDownloadUriRequest(name=name, version=version),
        )
        uri: str = response.artifact_uri
        return uri

    def transition_model_version_stage(
        self,
        name: str,
        version: int,
        stage: ModelStage,
        *,
        archive_existing_versions: bool = False,
        user_id: str | None = None,
    ) -> ModelVersion:
        """Move a version to a stage (others in it to Archived if asked)."""
        response = self._call(
            self._stub.TransitionModelVersionStage,
            pb.TransitionModelVersionStageRequest(
                name=name,
                version=version,
                stage=wire.stage_to_pb(stage),
                archive_existing_versions=archive_existing_versions,
                user_id=user_id or "",
            ),
        )
        return wire.model_version_from_pb(response.model_version)

    # -- aliases -----------------------------------------------------------------------
    def set_registered_model_alias(
        self, name: str, alias: str, version: int, *, user_id: str | None = None
    ) -> None:
        """Point an alias at a version (moving it)."""
        self._call(
            self._stub.SetRegisteredModelAlias,
            pb.SetRegisteredModelAliasRequest(
                name=name, alias=alias, version=version, user_id=user_id or ""
            ),
        )

    def delete_registered_model_alias(
        self, name: str, alias: str, *, user_id: str | None = None
    ) -> None:
        """Remove an alias (a missing alias is a no-op)."""
        self._call(
            self._stub.DeleteRegisteredModelAlias,
            pb.DeleteRegisteredModelAliasRequest(name=name, alias=alias, user_id=user_id or ""),
        )

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias names."""
        response = self._call(
            self._stub.GetModelVersionByAlias,
            pb.GetModelVersionByAliasRequest(name=name, alias=alias),
        )
        return wire.model_version_from_pb(response.model_version)

    # -- integrity, lineage, history, events ---------------------------------------------
    def list_model_version_files(self, name: str, version: int) -> list[ModelFile]:
        """The files recorded at registration, sorted by path."""
        response = self._call(
            self._stub.ListModelVersionFiles,
            pb.ListModelVersionFilesRequest(name=name, version=version),
        )
        return [wire.model_file_from_pb(f) for f in response.files]

    def get_model_version_lineage(self, name: str, version: int) -> ModelVersionLineage:
        """The version's run, experiment and parent runs."""
        response = self._call(
            self._stub.GetModelVersionLineage,
            pb.GetModelVersionLineageRequest(name=name, version=version),
        )
        return wire.lineage_from_pb(response)

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
        response = self._call(
            self._stub.ListRegistryHistory,
            pb.ListRegistryHistoryRequest(
                name=name,
                kinds=[wire.event_kind_to_pb(k) for k in kinds or ()],
                version=version or 0,
                page_size=max_results,
                page_token=page_token or "",
            ),
        )
        return PagedList(
            [wire.registry_event_from_pb(e) for e in response.events],
            response.next_page_token or None,
        )

    def watch_registry_events(
        self,
        *,
        after_event_id: int | None = None,
        model_names: Sequence[str] = (),
        kinds: Sequence[RegistryEventKind] = (),
        heartbeat_s: float = 10.0,
    ) -> Iterator[tuple[list[RegistryEvent], int]]:
        """Yield (events, cursor) as events commit; ([], cursor) as heartbeat; end on close().

        The server decides the heartbeat interval (`heartbeat_s` is not sent). Without
        `after_event_id`, this waits for the server's first message (sent at once), so the
        watch starts after the events committed before the call returned.
        """
        watch = EventWatch(
            self._stub.WatchRegistryEvents,
            after_event_id=after_event_id,
            model_names=list(model_names),
            kinds=[wire.event_kind_to_pb(k) for k in kinds],
            retry=self._retry,
            reconnect_s=self._watch_reconnect_s,
        )
        if after_event_id is None:
            # "After the last event committed now": wait for the server's first message,
            # which fixes the starting cursor before this call returns.
            watch.prime()
        return watch


class EventWatch(Iterator[tuple[list[RegistryEvent], int]]):
    """A WatchRegistryEvents stream as an iterator; `close()` (any thread) cancels it.

    After UNAVAILABLE (a replica going away) it reopens the stream after the last cursor it
    received, with the retry policy's backoff, until `reconnect_s` pass without a message.
    """

    def __init__(
        self,
        method: Callable[..., Any],
        *,
        after_event_id: int | None,
        model_names: list[str],
        kinds: list[int],
        retry: RetryPolicy,
        reconnect_s: float = 60.0,
    ) -> None:
        """Prepare the watch; the stream opens on the first next() (or prime())."""
        self._method = method
        self._cursor = after_event_id
        self._model_names = model_names
        self._kinds = kinds
        self._retry = retry
        self._reconnect_s = reconnect_s
        self._lock = threading.Lock()
        self._call: Any = None
        self._closed = False
        self._failures = 0
        self._failing_since: float | None = None
        self._pending: tuple[list[RegistryEvent], int] | None = None

    def prime(self) -> None:
        """Open the stream and wait for its first message (returned by the next next())."""
        if self._pending is None:
            self._pending = self._receive()

    @property
    def cursor(self) -> int | None:
        """The cursor of the last message received (None before the first one)."""
        return self._cursor

    def _open(self) -> Any:
        request = pb.WatchRegistryEventsRequest(model_names=self._model_names, kinds=self._kinds)
        if self._cursor is not None:
            request.after_event_id = self._cursor
        with self._lock:
            if self._closed:
                raise StopIteration
            self._call = self._method(request)
            return self._call

    def __iter__(self) -> EventWatch:
        """Return self."""
        return self

    def __next__(self) -> tuple[list[RegistryEvent], int]:
        """The next (events, cursor); StopIteration once closed or when the server ends it."""
        if self._pending is not None:
            item, self._pending = self._pending, None
            return item
        return self._receive()

    def _receive(self) -> tuple[list[RegistryEvent], int]:
        while True:
            call = self._call if self._call is not None else self._open()
            try:
                message = next(call)
            except StopIteration:
                self.close()
                raise
            except grpc.RpcError as err:
                if self._closed:
                    raise StopIteration from None
                code = err.code() if callable(getattr(err, "code", None)) else None
                now = time.monotonic()
                if self._failing_since is None:
                    self._failing_since = now
                if (
                    code == grpc.StatusCode.UNAVAILABLE
                    and now - self._failing_since < self._reconnect_s
                ):
                    time.sleep(self._retry.delay(min(self._failures, 16)))
                    self._failures += 1
                    with self._lock:
                        self._call = None
                    continue
                self.close()
                raise error_from_rpc(err) from None
            self._failures = 0
            self._failing_since = None
            self._cursor = message.cursor
            return [wire.registry_event_from_pb(e) for e in message.events], message.cursor

    def close(self) -> None:
        """Cancel the stream; iteration ends. Idempotent and thread-safe."""
        with self._lock:
            self._closed = True
            call, self._call = self._call, None
        if call is not None:
            call.cancel()
