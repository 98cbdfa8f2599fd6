"""The gRPC ModelRegistryService over a RegistryStore: decode -> store -> encode.

Errors are not handled here (the server's error interceptor maps them), except for the
event watch, which this servicer bounds: at most `max_watches` watches stream at once (past
that a watch is RESOURCE_EXHAUSTED naming the limit), each ends when its call ends (client
gone, deadline, cancellation) or when the server shuts down (`close()`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import grpc

from modelyard.entities.model_registry import RegistryEventKind
from modelyard.errors import ResourceExhausted, Unavailable
from modelyard.registry_stores import (
    HISTORY_PAGE_DEFAULT,
    SEARCH_MODEL_VERSIONS_DEFAULT,
    SEARCH_REGISTERED_MODELS_DEFAULT,
    RegistryStore,
)
from modelyard.v1 import registry_pb2 as pb
from modelyard.v1 import registry_pb2_grpc as pb_grpc
from modelyard.wire import registry as wire

Ctx = grpc.ServicerContext

#: Open watches a server runs beside its ordinary workers, unless told otherwise.
DEFAULT_MAX_WATCHES = 16
#: Seconds between heartbeats (empty messages) sent to a watching client.
DEFAULT_HEARTBEAT_S = 10.0
#: Seconds between two checks, inside a watch, of whether its call or the server has ended.
WATCH_WAKE_S = 0.5

logger = logging.getLogger("modelyard.server.registry")


class ModelRegistryServicer(pb_grpc.ModelRegistryServiceServicer):
    """modelyard.v1.ModelRegistryService over a (validating) RegistryStore."""

    def __init__(
        self,
        store: RegistryStore,
        *,
        max_watches: int = DEFAULT_MAX_WATCHES,
        heartbeat_s: float = DEFAULT_HEARTBEAT_S,
    ) -> None:
        """Serve `store`; at most `max_watches` event watches stream at the same time."""
        if max_watches < 0:
            raise ValueError(f"max_watches must be >= 0, got {max_watches}")
        self.store = store
        self.max_watches = max_watches
        self.heartbeat_s = heartbeat_s
        self._slots = threading.BoundedSemaphore(max_watches) if max_watches else None
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._open = 0

    @property
    def open_watches(self) -> int:
        """How many watches are streaming now."""
        with self._lock:
            return self._open

    def close(self) -> None:
        """End every open watch at its next wake-up and refuse new ones (server shutdown)."""
        self._closing.set()

    # -- registered models -------------------------------------------------------------
    def CreateRegisteredModel(
        self, request: pb.CreateRegisteredModelRequest, context: Ctx
    ) -> pb.CreateRegisteredModelResponse:
        """Create a model."""
        model = self.store.create_registered_model(
            request.name,
            tags=dict(request.tags),
            description=request.description or None,
            user_id=request.user_id or None,
            request_id=request.request_id or None,
        )
        return pb.CreateRegisteredModelResponse(registered_model=wire.registered_model_to_pb(model))

    def GetRegisteredModel(
        self, request: pb.GetRegisteredModelRequest, context: Ctx
    ) -> pb.GetRegisteredModelResponse:
        """Return a model."""
        model = self.store.get_registered_model(request.name)
        return pb.GetRegisteredModelResponse(registered_model=wire.registered_model_to_pb(model))

    def RenameRegisteredModel(
        self, request: pb.RenameRegisteredModelRequest, context: Ctx
    ) -> pb.RenameRegisteredModelResponse:
        """Rename a model."""
        model = self.store.rename_registered_model(
            request.name, request.new_name, user_id=request.user_id or None
        )
        return pb.RenameRegisteredModelResponse(registered_model=wire.registered_model_to_pb(model))

    def UpdateRegisteredModel(
        self, request: pb.UpdateRegisteredModelRequest, context: Ctx
    ) -> pb.UpdateRegisteredModelResponse:
        """Set a model's description."""
        model = self.store.update_registered_model(request.name, request.description or None)
        return pb.UpdateRegisteredModelResponse(registered_model=wire.registered_model_to_pb(model))

    def DeleteRegisteredModel(
        self, request: pb.DeleteRegisteredModelRequest, context: Ctx
    ) -> pb.DeleteRegisteredModelResponse:
        """Delete a model."""
        self.store.delete_registered_model(request.name, user_id=request.user_id or None)
        return pb.DeleteRegisteredModelResponse()

    def SearchRegisteredModels(
        self, request: pb.SearchRegisteredModelsRequest, context: Ctx
    ) -> pb.SearchRegisteredModelsResponse:
        """One page of models."""
        page = self.store.search_registered_models(
            filter_string=request.filter,
            order_by=list(request.order_by),
            max_results=request.page_size or SEARCH_REGISTERED_MODELS_DEFAULT,
            page_token=request.page_token or None,
        )
        return pb.SearchRegisteredModelsResponse(
            registered_models=[wire.registered_model_to_pb(m) for m in page],
            next_page_token=page.token or "",
        )

    def SetRegisteredModelTag(
        self, request: pb.SetRegisteredModelTagRequest, context: Ctx
    ) -> pb.SetRegisteredModelTagResponse:
        """Upsert a model tag."""
        self.store.set_registered_model_tag(request.name, request.key, request.value)
        return pb.SetRegisteredModelTagResponse()

    def DeleteRegisteredModelTag(
        self, request: pb.DeleteRegisteredModelTagRequest, context: Ctx
    ) -> pb.DeleteRegisteredModelTagResponse:
        """Delete a model tag."""
        self.store.delete_registered_model_tag(request.name, request.key)
        return pb.DeleteRegisteredModelTagResponse()

    def GetLatestVersions(
        self, request: pb.GetLatestVersionsRequest, context: Ctx
    ) -> pb.GetLatestVersionsResponse:
        """The highest version per stage."""
        versions = self.store.get_latest_versions(
            request.name, [wire.stage_from_pb(s) for s in request.stages]
        )
        return pb.GetLatestVersionsResponse(
            model_versions=[wire.model_version_to_pb(v) for v in versions]
        )

    # -- model versions ----------------------------------------------------------------
    def CreateModelVersion(
        self, request: pb.CreateModelVersionRequest, context: Ctx
    ) -> pb.CreateModelVersionResponse:
        """Create a version (READY, or FAILED_PRECONDITION with the version kept as failed)."""
        version = self.store.create_model_version(
            request.name,
            request.source,
            run_id=request.run_id or None,
            tags=dict(request.tags),
            description=request.description or None,
            run_link=request.run_link or None,
            user_id=request.user_id or None,
            request_id=request.request_id or None,
        )
        return pb.CreateModelVersionResponse(model_version=wire.model_version_to_pb(version))

    def GetModelVersion(
        self, request: pb.GetModelVersionRequest, context: Ctx
    ) -> pb.GetModelVersionResponse:
        """Return a version."""
        version = self.store.get_model_version(request.name, request.version)
        return pb.GetModelVersionResponse(model_version=wire.model_version_to_pb(version))

    def UpdateModelVersion(
        self, request: pb.UpdateModelVersionRequest, context: Ctx
    ) -> pb.UpdateModelVersionResponse:
        """Set a version's description."""
        version = self.store.update_model_version(
            request.name, request.version, request.description or None
        )
        return pb.UpdateModelVersionResponse(model_version=wire.model_version_to_pb(version))

    def DeleteModelVersion(
        self, request: pb.DeleteModelVersionRequest, context: Ctx
    ) -> pb.DeleteModelVersionResponse:
        """Soft-delete a version."""
        self.store.delete_model_version(
            request.name, request.version, user_id=request.user_id or None
        )
        return pb.DeleteModelVersionResponse()

    def SearchModelVersions(
        self, request: pb.SearchModelVersionsRequest, context: Ctx
    ) -> pb.SearchModelVersionsResponse:
        """One page of versions."""
        page = self.store.search_model_versions(
            filter_string=request.filter,
            order_by=list(request.order_by),
            max_results=request.page_size or SEARCH_MODEL_VERSIONS_DEFAULT,
            page_token=request.page_token or None,
        )
        return pb.SearchModelVersionsResponse(
            model_versions=[wire.model_version_to_pb(v) for v in page],
            next_page_token=page.token or "",
        )

    def SetModelVersionTag(
        self, request: pb.SetModelVersionTagRequest, context: Ctx
    ) -> pb.SetModelVersionTagResponse:
        """Upsert a version tag."""
        self.store.set_model_version_tag(request.name, request.version, request.key, request.value)
        return pb.SetModelVersionTagResponse()

    def DeleteModelVersionTag(
        self, request: pb.DeleteModelVersionTagRequest, context: Ctx
    ) -> pb.DeleteModelVersionTagResponse:
        """Delete a version tag."""
        self.store.delete_model_version_tag(request.name, request.version, request.key)
        return pb.DeleteModelVersionTagResponse()

    def GetModelVersionDownloadUri(
        self, request: pb.GetModelVersionDownloadUriRequest, context: Ctx
    ) -> pb.GetModelVersionDownloadUriResponse:
        """The artifact URI holding a version's files."""
        uri = self.store.get_model_version_download_uri(request.name, request.version)
        return pb.GetModelVersionDownloadUriResponse(artifact_uri=uri)

    def TransitionModelVersionStage(
        self, request: pb.TransitionModelVersionStageRequest, context: Ctx
    ) -> pb.TransitionModelVersionStageResponse:
        """Move a version to a stage."""
        version = self.store.transition_model_version_stage(
            request.name,
            request.version,
            wire.stage_from_pb(request.stage),
            archive_existing_versions=request.archive_existing_versions,
            user_id=request.user_id or None,
        )
        return pb.TransitionModelVersionStageResponse(
            model_version=wire.model_version_to_pb(version)
        )

    # -- aliases -----------------------------------------------------------------------
    def SetRegisteredModelAlias(
        self, request: pb.SetRegisteredModelAliasRequest, context: Ctx
    ) -> pb.SetRegisteredModelAliasResponse:
        """Point an alias at a version."""
        self.store.set_registered_model_alias(
            request.name, request.alias, request.version, user_id=request.user_id or None
        )
        return pb.SetRegisteredModelAliasResponse()

    def DeleteRegisteredModelAlias(
        self, request: pb.DeleteRegisteredModelAliasRequest, context: Ctx
    ) -> pb.DeleteRegisteredModelAliasResponse:
        """Remove an alias."""
        self.store.delete_registered_model_alias(
            request.name, request.alias, user_id=request.user_id or None
        )
        return pb.DeleteRegisteredModelAliasResponse()

    def GetModelVersionByAlias(
        self, request: pb.GetModelVersionByAliasRequest, context: Ctx
    ) -> pb.GetModelVersionByAliasResponse:
        """The version an alias names."""
        version = self.store.get_model_version_by_alias(request.name, request.alias)
        return pb.GetModelVersionByAliasResponse(model_version=wire.model_version_to_pb(version))

    # -- integrity, lineage, history ---------------------------------------------------
    def ListModelVersionFiles(
        self, request: pb.ListModelVersionFilesRequest, context: Ctx
    ) -> pb.ListModelVersionFilesResponse:
        """The files recorded at registration, with the version's content digest."""
        files = self.store.list_model_version_files(request.name, request.version)
        version = self.store.get_model_version(request.name, request.version)
        return pb.ListModelVersionFilesResponse(
            files=[wire.model_file_to_pb(f) for f in files],
            content_digest=version.content_digest or "",
        )

    def GetModelVersionLineage(
        self, request: pb.GetModelVersionLineageRequest, context: Ctx
    ) -> pb.GetModelVersionLineageResponse:
        """Where a version came from."""
        return wire.lineage_to_pb(
            self.store.get_model_version_lineage(request.name, request.version)
        )

    def ListRegistryHistory(
        self, request: pb.ListRegistryHistoryRequest, context: Ctx
    ) -> pb.ListRegistryHistoryResponse:
        """One page of a model's history, oldest first."""
        page = self.store.list_registry_history(
            request.name,
            kinds=[wire.event_kind_from_pb(k) for k in request.kinds],
            version=request.version or None,
            max_results=request.page_size or HISTORY_PAGE_DEFAULT,
            page_token=request.page_token or None,
        )
        return pb.ListRegistryHistoryResponse(
            events=[wire.registry_event_to_pb(e) for e in page],
            next_page_token=page.token or "",
        )

    # -- events ------------------------------------------------------------------------
    def _acquire_watch(self) -> None:
        if self._closing.is_set():
            raise ResourceExhausted(
                "the server is shutting down and accepts no new registry watches",
                max_watches=self.max_watches,
            )
        if self._slots is None or not self._slots.acquire(blocking=False):
            raise ResourceExhausted(
                f"too many open registry watches: this server runs at most {self.max_watches} "
                "at a time (--max-watches); retry later or resume from your cursor",
                max_watches=self.max_watches,
            )
        with self._lock:
            self._open += 1

    def _release_watch(self) -> None:
        with self._lock:
            self._open -= 1
        if self._slots is not None:
            self._slots.release()

    def WatchRegistryEvents(
        self, request: pb.WatchRegistryEventsRequest, context: Ctx
    ) -> Iterator[pb.WatchRegistryEventsResponse]:
        """Stream events as they commit; heartbeats keep idle streams alive.

        The first message (events or a heartbeat) is sent as soon as the store yields, so a
        client that gave no after_event_id learns at once where its watch starts.
        """
        kinds = [wire.event_kind_from_pb(k) for k in request.kinds]
        after = request.after_event_id if request.HasField("after_event_id") else None
        self._acquire_watch()
        try:
            yield from self._stream(request, context, kinds, after)
        finally:
            self._release_watch()

    def _stream(
        self,
        request: pb.WatchRegistryEventsRequest,
        context: Ctx,
        kinds: list[RegistryEventKind],
        after: int | None,
    ) -> Iterator[pb.WatchRegistryEventsResponse]:
        """One watch's messages, while its slot is held."""
        ended = threading.Event()
        context.add_callback(ended.set)
        events = self.store.watch_registry_events(
            after_event_id=after,
            model_names=list(request.model_names),
            kinds=kinds,
            # The store yields at least this often, so the call's end and a shutdown are
            # noticed promptly; clients get a heartbeat every heartbeat_s only.
            heartbeat_s=min(WATCH_WAKE_S, self.heartbeat_s),
        )
        # The first message goes out at once: it tells a client that gave no after_event_id
        # where its watch starts.
        last_sent: float | None = None
        try:
            for batch, cursor in events:
                if self._closing.is_set():
                    raise Unavailable(
                        "the server is shutting down: resume the watch from the last cursor "
                        "received (on this or another replica)"
                    )
                if ended.is_set() or not context.is_active():
                    break
                now = time.monotonic()
                if not batch and last_sent is not None and now - last_sent < self.heartbeat_s:
                    continue
                last_sent = now
                yield pb.WatchRegistryEventsResponse(
                    events=[wire.registry_event_to_pb(e) for e in batch], cursor=cursor
                )
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()
