"""GrpcTrackingStore: the TrackingStore contract over the TrackingService stub.

Users see domain types and the same `ModelyardError` classes as with the in-process store,
never `grpc.RpcError` or `*_pb2`. Writes that create or log in bulk carry a request id
(generated when the caller gives none), so retries of UNAVAILABLE never write twice.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence

import grpc

from modelyard.client.channel import GrpcConnection, call_with_retries
from modelyard.config import ClientConfig
from modelyard.entities import (
    Experiment,
    Metric,
    MetricHistory,
    PagedList,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from modelyard.errors import NotFound
from modelyard.stores import SEARCH_MAX_RESULTS_DEFAULT, LogBatch, StoreOptions, TrackingStore
from modelyard.v1 import tracking_pb2 as pb
from modelyard.v1 import tracking_pb2_grpc as pb_grpc
from modelyard.wire import tracking as wire
from modelyard.wire.status import error_from_rpc


def new_request_id() -> str:
    """A fresh client-generated idempotency key."""
    return uuid.uuid4().hex


class GrpcTrackingStore(GrpcConnection, TrackingStore):
    """A TrackingStore that talks to a modelyard server (grpc:// or grpcs://)."""

    def __init__(
        self,
        uri: str,
        options: StoreOptions | None = None,
        *,
        config: ClientConfig | None = None,
        channel: grpc.Channel | None = None,
    ) -> None:
        GrpcConnection.__init__(self, uri, config=config, channel=channel)
        self.options = options or StoreOptions()
        self._stub = pb_grpc.TrackingServiceStub(self._channel)  # type: ignore[no-untyped-call]

    # -- experiments -------------------------------------------------------------------
    def create_experiment(
        self,
        name: str,
        *,
        artifact_location: str | None = None,
        tags: Mapping[str, str] | None = None,
        request_id: str | None = None,
    ) -> str:
        """Create an experiment and return its id."""
        response = self._call(
            self._stub.CreateExperiment,
            pb.CreateExperimentRequest(
                name=name,
                artifact_location=artifact_location or "",
                tags=dict(tags or {}),
                request_id=request_id or new_request_id(),
            ),
        )
        experiment_id: str = response.experiment.experiment_id
        return experiment_id

    def get_experiment(self, experiment_id: str) -> Experiment:
        """Return an experiment, deleted or not."""
        response = self._call(
            self._stub.GetExperiment, pb.GetExperimentRequest(experiment_id=experiment_id)
        )
        return wire.experiment_from_pb(response.experiment)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """Return the experiment with this exact name, or None."""
        try:
            response = self._call(
                self._stub.GetExperimentByName, pb.GetExperimentByNameRequest(name=name)
            )
        except NotFound:
            return None
        return wire.experiment_from_pb(response.experiment)

    def search_experiments(
        self,
        *,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        filter_string: str = "",
        order_by: Sequence[str] = (),
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """Search experiments; one page."""
        response = self._call(
            self._stub.SearchExperiments,
            pb.SearchExperimentsRequest(
                view_type=wire.view_type_to_pb(view_type),
                filter=filter_string or "",
                order_by=list(order_by or ()),
                page_size=max_results,
                page_token=page_token or "",
            ),
        )
        return PagedList(
            [wire.experiment_from_pb(e) for e in response.experiments],
            response.next_page_token or None,
        )

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Rename an active experiment."""
        self._call(
            self._stub.RenameExperiment,
            pb.RenameExperimentRequest(experiment_id=experiment_id, new_name=new_name),
        )

    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete an experiment and its active runs."""
        self._call(
            self._stub.DeleteExperiment, pb.DeleteExperimentRequest(experiment_id=experiment_id)
        )

    def restore_experiment(self, experiment_id: str) -> None:
        """Restore a deleted experiment and the runs its deletion removed."""
        self._call(
            self._stub.RestoreExperiment, pb.RestoreExperimentRequest(experiment_id=experiment_id)
        )

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        """Upsert an experiment tag."""
        self._call(
            self._stub.SetExperimentTag,
            pb.SetExperimentTagRequest(experiment_id=experiment_id, key=key, value=value),
        )

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Delete an experiment tag."""
        self._call(
            self._stub.DeleteExperimentTag,
            pb.DeleteExperimentTagRequest(experiment_id=experiment_id, key=key),
        )

    # -- runs --------------------------------------------------------------------------
    def create_run(
        self,
        *,
        experiment_id: str,
        user_id: str = "",
        start_time: int | None = None,
        run_name: str | None = None,
        tags: Mapping[str, str] | None = None,
        request_id: str | None = None,
    ) -> Run:
        """Create a RUNNING run in an active experiment."""
        response = self._call(
            self._stub.CreateRun,
            pb.CreateRunRequest(
                experiment_id=experiment_id,
                user_id=user_id or "",
                start_time=start_time or 0,
                run_name=run_name or "",
                tags=dict(tags or {}),
                request_id=request_id or new_request_id(),
            ),
        )
        return wire.run_from_pb(response.run)

    def get_run(self, run_id: str) -> Run:
        """Return a run with params, tags and latest metrics."""
        response = self._call(self._stub.GetRun, pb.GetRunRequest(run_id=run_id))
        return wire.run_from_pb(response.run)

    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        """Change the status, end time or name of a run; return the new info."""
        request = pb.UpdateRunRequest(run_id=run_id)
        if status is not None:
            request.status = wire.run_status_to_pb(status)
        if end_time is not None:
            request.end_time = end_time
        if run_name is not None:
            request.run_name = run_name
        response = self._call(self._stub.UpdateRun, request)
        return wire.run_info_from_pb(response.run_info)

    def delete_run(self, run_id: str) -> None:
        """Soft-delete a run."""
        self._call(self._stub.DeleteRun, pb.DeleteRunRequest(run_id=run_id))

    def restore_run(self, run_id: str) -> None:
        """Restore a soft-deleted run."""
        self._call(self._stub.RestoreRun, pb.RestoreRunRequest(run_id=run_id))

    def search_runs(
        self,
        *,
        experiment_ids: Sequence[str],
        filter_string: str = "",
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] = (),
        page_token: str | None = None,
    ) -> PagedList[Run]:
        """Search runs; one page."""
        if isinstance(experiment_ids, str):
            experiment_ids = [experiment_ids]
        response = self._call(
            self._stub.SearchRuns,
            pb.SearchRunsRequest(
                experiment_ids=list(experiment_ids),
                filter=filter_string or "",
                view_type=wire.view_type_to_pb(view_type),
                page_size=max_results,
                order_by=list(order_by or ()),
                page_token=page_token or "",
            ),
        )
        return PagedList(
            [wire.run_from_pb(r) for r in response.runs], response.next_page_token or None
        )

    # -- logging -----------------------------------------------------------------------
    def log_batch(
        self,
        run_id: str,
        *,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        request_id: str | None = None,
    ) -> None:
        """Write metrics, params and tags in one transaction, all or nothing."""
        batch = LogBatch(
            run_id=run_id,
            metrics=metrics,
            params=params,
            tags=tags,
            request_id=request_id or new_request_id(),
        )
        self._call(self._stub.LogBatch, wire.log_batch_to_pb(batch))

    def log_metric(self, run_id: str, metric: Metric) -> None:
        """Log one metric point (LogMetric RPC)."""
        self._call(
            self._stub.LogMetric,
            pb.LogMetricRequest(run_id=run_id, metric=wire.metric_to_pb(metric)),
        )

    def log_param(self, run_id: str, param: Param) -> None:
        """Log one param (LogParam RPC)."""
        self._call(
            self._stub.LogParam, pb.LogParamRequest(run_id=run_id, param=wire.param_to_pb(param))
        )

    def set_tag(self, run_id: str, tag: RunTag) -> None:
        """Upsert one run tag (SetTag RPC)."""
        self._call(self._stub.SetTag, pb.SetTagRequest(run_id=run_id, tag=wire.tag_to_pb(tag)))

    def delete_tag(self, run_id: str, key: str) -> None:
        """Delete a run tag."""
        self._call(self._stub.DeleteTag, pb.DeleteTagRequest(run_id=run_id, key=key))

    def log_batches(self, batches: Iterable[LogBatch]) -> int:
        """Send many batches on one StreamLogBatches call; return how many were applied.

        Each batch gets a request id if it has none, so that a retry after UNAVAILABLE
        resends the stream from the start without writing anything twice. A refused batch
        raises its error with `details["batch_index"]`; batches before it stay written.
        """
        sent: list[pb.LogBatchRequest] = []
        source = iter(batches)
        lock = threading.Lock()
        attempt = [0]
        failure: list[BaseException] = []

        def requests(generation: int) -> Iterator[pb.LogBatchRequest]:
            # A retry replays what was already sent, then continues with the source; a
            # superseded attempt's iterator stops, so no batch is pulled twice or dropped.
            index = 0
            while True:
                with lock:
                    if generation != attempt[0] or failure:
                        return
                    if index < len(sent):
                        message = sent[index]
                    else:
                        try:
                            batch = next(source)
                        except StopIteration:
                            return
                        except BaseException as exc:  # raised by the caller's iterable
                            failure.append(exc)
                            return
                        message = wire.log_batch_to_pb(
                            batch
                            if batch.request_id
                            else LogBatch(
                                run_id=batch.run_id,
                                metrics=batch.metrics,
                                params=batch.params,
                                tags=batch.tags,
                                request_id=new_request_id(),
                            )
                        )
                        sent.append(message)
                    index += 1
                yield message

        def one_attempt() -> pb.StreamLogBatchesResponse:
            with lock:
                attempt[0] += 1
                generation = attempt[0]
            response: pb.StreamLogBatchesResponse = self._stub.StreamLogBatches(
                requests(generation), timeout=self._timeout
            )
            return response

        try:
            response = call_with_retries(one_attempt, self._retry)
        except grpc.RpcError as err:
            if failure:
                raise failure[0] from None
            raise error_from_rpc(err) from None
        if failure:
            raise failure[0]
        return int(response.batches_applied)

    def get_metric_history(
        self,
        run_id: str,
        key: str,
        *,
        max_results: int | None = None,
        page_token: str | None = None,
        max_points: int | None = None,
    ) -> tuple[MetricHistory, str | None]:
        """Return one page of a metric's history and the next page token."""
        response = self._call(
            self._stub.GetMetricHistory,
            pb.GetMetricHistoryRequest(
                run_id=run_id,
                metric_key=key,
                page_size=max_results or 0,
                page_token=page_token or "",
                max_points=max_points or 0,
            ),
        )
        return wire.metric_history_from_pb(response.history), response.next_page_token or None

    def get_metric_history_bulk(
        self,
        run_ids: Sequence[str],
        key: str,
        *,
        max_points: int | None = None,
        start_step: int | None = None,
        end_step: int | None = None,
    ) -> list[MetricHistory]:
        """Histories of one metric for several runs, in the order of run_ids (a step range
        inclusive when given)."""
        request = pb.GetMetricHistoryBulkRequest(
            run_ids=list(run_ids), metric_key=key, max_points=max_points or 0
        )
        if start_step is not None:
            request.start_step = start_step
        if end_step is not None:
            request.end_step = end_step
        response = self._call(self._stub.GetMetricHistoryBulk, request)
        return [wire.metric_history_from_pb(h) for h in response.histories]
