"""Store interfaces: the contract every backend and transport implements.

`TrackingStore` is implemented in-process over SQL (`modelyard.registry.tracking`) and over
gRPC (`modelyard.client.grpc_stores`); the same contract suite tests both. Implementations
trust their inputs: `modelyard.store_registry.tracking_store_for_uri` always wraps them in
`modelyard.validation.ValidatingTrackingStore`, so every transport validates identically.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

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
from modelyard.errors import Unimplemented
from modelyard.metric_points import step_range

SEARCH_MAX_RESULTS_DEFAULT = 1000
SEARCH_MAX_RESULTS_LIMIT = 50_000
METRIC_HISTORY_PAGE_MAX = 1_000_000
METRIC_HISTORY_BULK_MAX_RUNS = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class LogBatch:
    """One batch of writes to one run (the unit of StreamLogBatches)."""

    run_id: str
    metrics: Sequence[Metric] = ()
    params: Sequence[Param] = ()
    tags: Sequence[RunTag] = ()
    request_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreOptions:
    """What a store needs beyond its URI (server flags, in-process defaults)."""

    default_artifact_root: str | None = None
    """Root given to new experiments without an artifact_location; None = store default."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    source_inspector: Any = None
    """A `ModelSourceInspector` for registration; None = the default one (SQL stores)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeletedRun:
    """A soft-deleted run as garbage collection sees it."""

    run_id: str
    experiment_id: str
    artifact_uri: str
    deleted_time: int | None
    """Milliseconds since the epoch; None for a run deleted before the time was recorded."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeletedExperiment:
    """A soft-deleted experiment as garbage collection sees it."""

    experiment_id: str
    name: str
    artifact_location: str
    deleted_time: int
    """The experiment's last update (its deletion: a deleted experiment cannot change)."""


class TrackingStore(abc.ABC):
    """Experiments, runs, params, metrics and tags.

    Every method takes and returns domain types and raises `ModelyardError` subclasses.
    """

    # -- experiments -------------------------------------------------------------------
    @abc.abstractmethod
    def create_experiment(
        self,
        name: str,
        *,
        artifact_location: str | None = None,
        tags: Mapping[str, str] | None = None,
        request_id: str | None = None,
    ) -> str:
        """Create an experiment and return its id.

        Raises:
            ExperimentAlreadyExists: the name is taken, also by a deleted experiment.
        """

    @abc.abstractmethod
    def get_experiment(self, experiment_id: str) -> Experiment:
        """Return an experiment, deleted or not.

        Raises:
            ExperimentNotFound: unknown id.
        """

    @abc.abstractmethod
    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """Return the experiment with this exact name, or None."""

    @abc.abstractmethod
    def search_experiments(
        self,
        *,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        filter_string: str = "",
        order_by: Sequence[str] = (),
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """Search experiments; one page.

        Raises:
            InvalidFilter: the filter or order_by does not parse.
            InvalidPageToken: the token is not from this query.
        """

    @abc.abstractmethod
    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Rename an active experiment."""

    @abc.abstractmethod
    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete an experiment and its active runs."""

    @abc.abstractmethod
    def restore_experiment(self, experiment_id: str) -> None:
        """Restore a deleted experiment and the runs its deletion removed."""

    @abc.abstractmethod
    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        """Upsert an experiment tag."""

    @abc.abstractmethod
    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Delete an experiment tag.

        Raises:
            TagNotFound: no such tag.
        """

    # -- runs --------------------------------------------------------------------------
    @abc.abstractmethod
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
        """Create a RUNNING run in an active experiment.

        Raises:
            ExperimentNotFound: unknown experiment.
            ExperimentNotActive: the experiment is deleted.
        """

    @abc.abstractmethod
    def get_run(self, run_id: str) -> Run:
        """Return a run with params, tags and latest metrics.

        Raises:
            RunNotFound: unknown id.
        """

    @abc.abstractmethod
    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        """Change the status, end time or name of a run; return the new info."""

    @abc.abstractmethod
    def delete_run(self, run_id: str) -> None:
        """Soft-delete a run."""

    @abc.abstractmethod
    def restore_run(self, run_id: str) -> None:
        """Restore a soft-deleted run."""

    @abc.abstractmethod
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
        """Search runs; one page, filtered, ordered and paged in the database."""

    # -- logging -----------------------------------------------------------------------
    @abc.abstractmethod
    def log_batch(
        self,
        run_id: str,
        *,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        request_id: str | None = None,
    ) -> None:
        """Write metrics, params and tags in one transaction, all or nothing.

        Raises:
            RunNotFound: unknown run.
            RunNotActive: the run is deleted.
            ParamAlreadyLogged: a param exists with another value.
        """

    def log_metric(self, run_id: str, metric: Metric) -> None:
        """Log one metric point."""
        self.log_batch(run_id, metrics=[metric])

    def log_param(self, run_id: str, param: Param) -> None:
        """Log one param."""
        self.log_batch(run_id, params=[param])

    def set_tag(self, run_id: str, tag: RunTag) -> None:
        """Upsert one run tag."""
        self.log_batch(run_id, tags=[tag])

    @abc.abstractmethod
    def delete_tag(self, run_id: str, key: str) -> None:
        """Delete a run tag.

        Raises:
            TagNotFound: no such tag.
        """

    def log_batches(self, batches: Iterable[LogBatch]) -> int:
        """Apply many batches in order, each in its own transaction; return how many."""
        count = 0
        for batch in batches:
            self.log_batch(
                batch.run_id,
                metrics=batch.metrics,
                params=batch.params,
                tags=batch.tags,
                request_id=batch.request_id,
            )
            count += 1
        return count

    @abc.abstractmethod
    def get_metric_history(
        self,
        run_id: str,
        key: str,
        *,
        max_results: int | None = None,
        page_token: str | None = None,
        max_points: int | None = None,
    ) -> tuple[MetricHistory, str | None]:
        """Return one page of a metric's history (ordered by step, timestamp) and the next token.

        With max_points, the whole history is downsampled to at most that many points.
        """

    def get_metric_history_bulk(
        self,
        run_ids: Sequence[str],
        key: str,
        *,
        max_points: int | None = None,
        start_step: int | None = None,
        end_step: int | None = None,
    ) -> list[MetricHistory]:
        """Histories of one metric for several runs, in the order of run_ids; with start_step
        / end_step only the points in that step range (inclusive), before downsampling."""
        out = []
        for run_id in run_ids:
            if start_step is None and end_step is None and max_points:
                history, _ = self.get_metric_history(run_id, key, max_points=max_points)
            else:  # every page, then the range and the downsampling
                history = step_range(
                    self._whole_history(run_id, key), start_step, end_step, max_points
                )
            out.append(history)
        return out

    def _whole_history(self, run_id: str, key: str) -> MetricHistory:
        """A metric's whole history, page after page."""
        steps: list[int] = []
        timestamps: list[int] = []
        values: list[float] = []
        token: str | None = None
        while True:
            page, token = self.get_metric_history(run_id, key, page_token=token)
            steps += page.steps
            timestamps += page.timestamps
            values += page.values
            if not token:
                break
        return MetricHistory(
            run_id=run_id, key=key, steps=steps, timestamps=timestamps, values=values
        )

    # -- garbage collection (permanent deletion; only stores on the database itself) --------
    def list_deleted_runs(
        self,
        *,
        deleted_before: int | None = None,
        run_ids: Sequence[str] | None = None,
        experiment_ids: Sequence[str] | None = None,
    ) -> list[DeletedRun]:
        """Soft-deleted runs, oldest deletion first, matching every filter given.

        `deleted_before` (ms) keeps runs deleted at or before it (a run without a deletion
        time is then left out); None keeps every deleted run. `run_ids` and `experiment_ids`
        restrict the runs to those ids and to runs of those experiments; unknown and active
        ids are simply absent from the result.
        """
        raise self._no_gc("list_deleted_runs")

    def list_deleted_experiments(
        self,
        *,
        deleted_before: int | None = None,
        experiment_ids: Sequence[str] | None = None,
    ) -> list[DeletedExperiment]:
        """Soft-deleted experiments, oldest deletion first, matching every filter given.

        `deleted_before` (ms) keeps experiments whose last update (their deletion) is at or
        before it; unknown and active ids are absent from the result.
        """
        raise self._no_gc("list_deleted_experiments")

    def purge_run(self, run_id: str) -> bool:
        """Permanently delete a soft-deleted run's rows (params, metrics, tags, the run).

        One transaction. Returns False, changing nothing, when the run is gone or no longer
        deleted (restored meanwhile). Artifacts are the caller's business: delete them first,
        so a failure leaves the rows and a re-run finds the run again.
        """
        raise self._no_gc("purge_run")

    def purge_experiment(self, experiment_id: str) -> bool:
        """Permanently delete a soft-deleted experiment that has no runs left, with its tags.

        One transaction. Returns False, changing nothing, when the experiment is gone or no
        longer deleted.

        Raises:
            FailedPrecondition: runs of the experiment remain (purge them first).
        """
        raise self._no_gc("purge_experiment")

    def protected_artifact_uris(self) -> frozenset[str]:
        """Artifact URIs that back registered model versions and must never be deleted.

        Sources as stored, plus `runs:/<run_id>` for each version's run.
        """
        raise self._no_gc("protected_artifact_uris")

    def artifact_location_in_use(self, location: str, *, experiment_id: str) -> bool:
        """True when anything but this experiment still uses `location` or a URI overlapping it.

        That is another experiment's artifact location at, above or below it, or an artifact
        URI of a run of another experiment at or below it: deleting the folder would then
        delete someone else's artifacts.
        """
        raise self._no_gc("artifact_location_in_use")

    def _no_gc(self, method: str) -> Unimplemented:
        return Unimplemented(
            f"{type(self).__name__} does not offer {method}: garbage collection works on the "
            "database itself (run `modelyard gc --backend-store-uri <database URL>`)",
            method=method,
        )

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release connections and pools."""
