"""gRPC servicers over the stores: decode -> store -> encode, nothing else.

Errors are not handled here: the store raises `ModelyardError`s and the server's error
interceptor maps them to statuses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import grpc

from modelyard.entities import PagedList, Run
from modelyard.errors import ExperimentNotFound, ModelyardError
from modelyard.stores import SEARCH_MAX_RESULTS_DEFAULT, LogBatch, TrackingStore
from modelyard.v1 import tracking_pb2 as pb
from modelyard.v1 import tracking_pb2_grpc as pb_grpc
from modelyard.wire import tracking as wire

Ctx = grpc.ServicerContext


class TrackingServicer(pb_grpc.TrackingServiceServicer):
    """modelyard.v1.TrackingService over a (validating) TrackingStore."""

    def __init__(
        self,
        store: TrackingStore,
        *,
        check_artifact_location: Callable[[str], str] | None = None,
    ) -> None:
        """Serve `store`; `check_artifact_location` vets explicit experiment locations.

        The check returns the location to store or raises (PermissionDenied for a location
        outside the server's allowed roots, InvalidArgument for a malformed one).
        """
        self.store = store
        self.check_artifact_location = check_artifact_location

    # -- experiments -------------------------------------------------------------------
    def CreateExperiment(
        self, request: pb.CreateExperimentRequest, context: Ctx
    ) -> pb.CreateExperimentResponse:
        """Create an experiment and return it."""
        location = request.artifact_location or None
        if location is not None and self.check_artifact_location is not None:
            location = self.check_artifact_location(location)
        experiment_id = self.store.create_experiment(
            request.name,
            artifact_location=location,
            tags=dict(request.tags),
            request_id=request.request_id or None,
        )
        experiment = self.store.get_experiment(experiment_id)
        return pb.CreateExperimentResponse(experiment=wire.experiment_to_pb(experiment))

    def GetExperiment(
        self, request: pb.GetExperimentRequest, context: Ctx
    ) -> pb.GetExperimentResponse:
        """Return an experiment by id."""
        experiment = self.store.get_experiment(request.experiment_id)
        return pb.GetExperimentResponse(experiment=wire.experiment_to_pb(experiment))

    def GetExperimentByName(
        self, request: pb.GetExperimentByNameRequest, context: Ctx
    ) -> pb.GetExperimentByNameResponse:
        """Return an experiment by name; NOT_FOUND when there is none."""
        experiment = self.store.get_experiment_by_name(request.name)
        if experiment is None:
            raise ExperimentNotFound(f"no experiment named {request.name!r}", name=request.name)
        return pb.GetExperimentByNameResponse(experiment=wire.experiment_to_pb(experiment))

    def SearchExperiments(
        self, request: pb.SearchExperimentsRequest, context: Ctx
    ) -> pb.SearchExperimentsResponse:
        """Return one page of experiments."""
        page = self.store.search_experiments(
            view_type=wire.view_type_from_pb(request.view_type),
            filter_string=request.filter,
            order_by=list(request.order_by),
            max_results=request.page_size or SEARCH_MAX_RESULTS_DEFAULT,
            page_token=request.page_token or None,
        )
        return pb.SearchExperimentsResponse(
            experiments=[wire.experiment_to_pb(e) for e in page],
            next_page_token=page.token or "",
        )

    def RenameExperiment(
        self, request: pb.RenameExperimentRequest, context: Ctx
    ) -> pb.RenameExperimentResponse:
        """Rename an experiment."""
        self.store.rename_experiment(request.experiment_id, request.new_name)
        return pb.RenameExperimentResponse()

    def DeleteExperiment(
        self, request: pb.DeleteExperimentRequest, context: Ctx
    ) -> pb.DeleteExperimentResponse:
        """Soft-delete an experiment."""
        self.store.delete_experiment(request.experiment_id)
        return pb.DeleteExperimentResponse()

    def RestoreExperiment(
        self, request: pb.RestoreExperimentRequest, context: Ctx
    ) -> pb.RestoreExperimentResponse:
        """Restore an experiment."""
        self.store.restore_experiment(request.experiment_id)
        return pb.RestoreExperimentResponse()

    def SetExperimentTag(
        self, request: pb.SetExperimentTagRequest, context: Ctx
    ) -> pb.SetExperimentTagResponse:
        """Upsert an experiment tag."""
        self.store.set_experiment_tag(request.experiment_id, request.key, request.value)
        return pb.SetExperimentTagResponse()

    def DeleteExperimentTag(
        self, request: pb.DeleteExperimentTagRequest, context: Ctx
    ) -> pb.DeleteExperimentTagResponse:
        """Delete an experiment tag."""
        self.store.delete_experiment_tag(request.experiment_id, request.key)
        return pb.DeleteExperimentTagResponse()

    # -- runs --------------------------------------------------------------------------
    def CreateRun(self, request: pb.CreateRunRequest, context: Ctx) -> pb.CreateRunResponse:
        """Create a run and return it."""
        run = self.store.create_run(
            experiment_id=request.experiment_id,
            user_id=request.user_id,
            start_time=request.start_time or None,
            run_name=request.run_name or None,
            tags=dict(request.tags),
            request_id=request.request_id or None,
        )
        return pb.CreateRunResponse(run=wire.run_to_pb(run))

    def GetRun(self, request: pb.GetRunRequest, context: Ctx) -> pb.GetRunResponse:
        """Return a run."""
        return pb.GetRunResponse(run=wire.run_to_pb(self.store.get_run(request.run_id)))

    def UpdateRun(self, request: pb.UpdateRunRequest, context: Ctx) -> pb.UpdateRunResponse:
        """Change the fields present in the request."""
        info = self.store.update_run(
            request.run_id,
            status=wire.run_status_from_pb(request.status) if request.HasField("status") else None,
            end_time=request.end_time if request.HasField("end_time") else None,
            run_name=request.run_name if request.HasField("run_name") else None,
        )
        return pb.UpdateRunResponse(run_info=wire.run_info_to_pb(info))

    def DeleteRun(self, request: pb.DeleteRunRequest, context: Ctx) -> pb.DeleteRunResponse:
        """Soft-delete a run."""
        self.store.delete_run(request.run_id)
        return pb.DeleteRunResponse()

    def RestoreRun(self, request: pb.RestoreRunRequest, context: Ctx) -> pb.RestoreRunResponse:
        """Restore a run."""
        self.store.restore_run(request.run_id)
        return pb.RestoreRunResponse()

    #: Methods the JSON gateway answers through a method of this class that returns the
    #: response already in protobuf's JSON mapping (a dict), skipping messages it would only
    #: encode again: the runs page the web UI loads is the gateway's hot path.
    json_handlers: ClassVar[dict[str, str]] = {"SearchRuns": "search_runs_json"}

    def _search_runs_page(self, request: pb.SearchRunsRequest) -> PagedList[Run]:
        return self.store.search_runs(
            experiment_ids=list(request.experiment_ids),
            filter_string=request.filter,
            view_type=wire.view_type_from_pb(request.view_type),
            max_results=request.page_size or SEARCH_MAX_RESULTS_DEFAULT,
            order_by=list(request.order_by),
            page_token=request.page_token or None,
        )

    def SearchRuns(self, request: pb.SearchRunsRequest, context: Ctx) -> pb.SearchRunsResponse:
        """Return one page of runs."""
        page = self._search_runs_page(request)
        return pb.SearchRunsResponse(
            runs=[wire.run_to_pb(r) for r in page], next_page_token=page.token or ""
        )

    def search_runs_json(self, request: pb.SearchRunsRequest, context: Ctx) -> dict[str, Any]:
        """SearchRuns as the JSON mapping of its response, built from the runs directly."""
        page = self._search_runs_page(request)
        out: dict[str, Any] = {}
        if page:
            out["runs"] = [wire.run_to_json(r) for r in page]
        if page.token:
            out["nextPageToken"] = page.token
        return out

    # -- logging -----------------------------------------------------------------------
    def LogBatch(self, request: pb.LogBatchRequest, context: Ctx) -> pb.LogBatchResponse:
        """Write a batch in one transaction."""
        batch = wire.log_batch_from_pb(request)
        self.store.log_batch(
            batch.run_id,
            metrics=batch.metrics,
            params=batch.params,
            tags=batch.tags,
            request_id=batch.request_id,
        )
        return pb.LogBatchResponse()

    def LogMetric(self, request: pb.LogMetricRequest, context: Ctx) -> pb.LogMetricResponse:
        """Log one metric point."""
        self.store.log_metric(request.run_id, wire.metric_from_pb(request.metric))
        return pb.LogMetricResponse()

    def LogParam(self, request: pb.LogParamRequest, context: Ctx) -> pb.LogParamResponse:
        """Log one param."""
        self.store.log_param(request.run_id, wire.param_from_pb(request.param))
        return pb.LogParamResponse()

    def SetTag(self, request: pb.SetTagRequest, context: Ctx) -> pb.SetTagResponse:
        """Upsert one run tag."""
        self.store.set_tag(request.run_id, wire.tag_from_pb(request.tag))
        return pb.SetTagResponse()

    def DeleteTag(self, request: pb.DeleteTagRequest, context: Ctx) -> pb.DeleteTagResponse:
        """Delete a run tag."""
        self.store.delete_tag(request.run_id, request.key)
        return pb.DeleteTagResponse()

    def StreamLogBatches(
        self, request_iterator: Iterator[pb.LogBatchRequest], context: Ctx
    ) -> pb.StreamLogBatchesResponse:
        """Apply each streamed batch in order; a refused batch is named by batch_index."""
        pulled = 0

        def batches() -> Iterator[LogBatch]:
            nonlocal pulled
            for request in request_iterator:
                pulled += 1
                yield wire.log_batch_from_pb(request)

        try:
            applied = self.store.log_batches(batches())
        except ModelyardError as exc:
            exc.details.setdefault("batch_index", str(max(pulled - 1, 0)))
            raise
        return pb.StreamLogBatchesResponse(batches_applied=applied)

    # -- metric history ----------------------------------------------------------------
    def GetMetricHistory(
        self, request: pb.GetMetricHistoryRequest, context: Ctx
    ) -> pb.GetMetricHistoryResponse:
        """Return one page (or a downsampled whole) of a metric history."""
        history, token = self.store.get_metric_history(
            request.run_id,
            request.metric_key,
            max_results=request.page_size or None,
            page_token=request.page_token or None,
            max_points=request.max_points or None,
        )
        return pb.GetMetricHistoryResponse(
            history=wire.metric_history_to_pb(history), next_page_token=token or ""
        )

    def GetMetricHistoryBulk(
        self, request: pb.GetMetricHistoryBulkRequest, context: Ctx
    ) -> pb.GetMetricHistoryBulkResponse:
        """Return one metric's history for several runs, in request order."""
        histories = self.store.get_metric_history_bulk(
            list(request.run_ids),
            request.metric_key,
            max_points=request.max_points or None,
            start_step=request.start_step if request.HasField("start_step") else None,
            end_step=request.end_step if request.HasField("end_step") else None,
        )
        return pb.GetMetricHistoryBulkResponse(
            histories=[wire.metric_history_to_pb(h) for h in histories]
        )
