"""SqlTrackingStore: the TrackingStore over SQLAlchemy Core, and the factory that opens it.

The store is a thin facade: each aggregate's logic lives in its own module (experiments,
runs, batches, history). It trusts its inputs; `ValidatingTrackingStore` checked them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import Connection

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
from modelyard.errors import TagNotFound
from modelyard.registry.bootstrap import open_metadata_database, resolve_artifact_root
from modelyard.registry.engine import Database, release_database
from modelyard.registry.search import PageTokens
from modelyard.registry.tracking import experiments, history, purge, runs
from modelyard.registry.tracking.batches import (
    TAGS,
    Statements,
    check_run_active,
    write_batch,
    write_metrics,
    write_params,
    write_tags,
)
from modelyard.registry.tracking.idempotency import (
    KIND_BATCH,
    run_idempotent,
    write_retrying_conflicts,
)
from modelyard.stores import (
    SEARCH_MAX_RESULTS_DEFAULT,
    DeletedExperiment,
    DeletedRun,
    LogBatch,
    StoreOptions,
    TrackingStore,
)

_BATCH_DONE = "ok"


class SqlTrackingStore(TrackingStore):
    """Experiments, runs and their data in a SQL database (SQLite, PostgreSQL, MySQL/MariaDB)."""

    def __init__(self, db: Database, *, artifact_root: str, page_token_secret: bytes) -> None:
        self.db = db
        self.artifact_root = artifact_root
        self._tokens = PageTokens(page_token_secret)
        self._stmts = Statements.for_database(db)

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
        return experiments.create_experiment(
            self.db,
            name=name,
            artifact_location=artifact_location,
            tags=tags,
            request_id=request_id,
            artifact_root=self.artifact_root,
        )

    def get_experiment(self, experiment_id: str) -> Experiment:
        """Return an experiment, deleted or not."""
        return experiments.get_experiment(self.db, experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """Return the experiment with this exact name, or None."""
        return experiments.get_experiment_by_name(self.db, name)

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
        return experiments.search_experiments(
            self.db,
            self._tokens,
            view_type=view_type,
            filter_string=filter_string,
            order_by=order_by,
            max_results=max_results,
            page_token=page_token,
        )

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Rename an active experiment."""
        experiments.rename_experiment(self.db, experiment_id, new_name)

    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete an experiment and its active runs."""
        experiments.delete_experiment(self.db, experiment_id)

    def restore_experiment(self, experiment_id: str) -> None:
        """Restore a deleted experiment and the runs its deletion removed."""
        experiments.restore_experiment(self.db, experiment_id)

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        """Upsert an experiment tag."""
        experiments.set_experiment_tag(self.db, experiment_id, key, value)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Delete an experiment tag."""
        experiments.delete_experiment_tag(self.db, experiment_id, key)

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
        return runs.create_run(
            self.db,
            experiment_id=experiment_id,
            user_id=user_id,
            start_time=start_time,
            run_name=run_name,
            tags=tags,
            request_id=request_id,
            stmts=self._stmts,
        )

    def get_run(self, run_id: str) -> Run:
        """Return a run with params, tags and latest metrics."""
        return runs.get_run(self.db, run_id)

    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        """Change the status, end time or name of a run; return the new info."""
        return runs.update_run(
            self.db, self._stmts, run_id, status=status, end_time=end_time, run_name=run_name
        )

    def delete_run(self, run_id: str) -> None:
        """Soft-delete a run."""
        runs.delete_run(self.db, run_id)

    def restore_run(self, run_id: str) -> None:
        """Restore a soft-deleted run."""
        runs.restore_run(self.db, run_id)

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
        return runs.search_runs(
            self.db,
            self._tokens,
            experiment_ids=experiment_ids,
            filter_string=filter_string,
            view_type=view_type,
            max_results=max_results,
            order_by=order_by,
            page_token=page_token,
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
        stmts = self._stmts

        def fn(conn: Connection) -> str:
            write_batch(conn, stmts, run_id, metrics=metrics, params=params, tags=tags)
            return _BATCH_DONE

        run_idempotent(self.db, KIND_BATCH, request_id, fn)

    def log_metric(self, run_id: str, metric: Metric) -> None:
        """Log one metric point."""
        stmts = self._stmts

        def fn(conn: Connection) -> None:
            check_run_active(conn, stmts, run_id)
            write_metrics(conn, stmts, run_id, (metric,))

        self.db.run_write(fn)

    def log_param(self, run_id: str, param: Param) -> None:
        """Log one param (same value again is fine, another value is refused)."""
        stmts = self._stmts

        def fn(conn: Connection) -> None:
            check_run_active(conn, stmts, run_id)
            write_params(conn, stmts, run_id, (param,))

        write_retrying_conflicts(self.db, fn)

    def set_tag(self, run_id: str, tag: RunTag) -> None:
        """Upsert one run tag (mlflow.runName also renames the run)."""
        stmts = self._stmts

        def fn(conn: Connection) -> None:
            check_run_active(conn, stmts, run_id)
            write_tags(conn, stmts, run_id, (tag,))

        self.db.run_write(fn)

    def delete_tag(self, run_id: str, key: str) -> None:
        """Delete a run tag."""
        stmts = self._stmts

        def fn(conn: Connection) -> None:
            check_run_active(conn, stmts, run_id)
            result = conn.execute(TAGS.delete().where(TAGS.c.run_uuid == run_id, TAGS.c.key == key))
            if result.rowcount == 0:
                raise TagNotFound(
                    f"No tag with name: {key!r} in run with id {run_id}", run_id=run_id, key=key
                )

        self.db.run_write(fn)

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

    def get_metric_history(
        self,
        run_id: str,
        key: str,
        *,
        max_results: int | None = None,
        page_token: str | None = None,
        max_points: int | None = None,
    ) -> tuple[MetricHistory, str | None]:
        """Return one page of a metric's history (ordered by step, timestamp) and the next token."""
        return history.get_metric_history(
            self.db,
            self._tokens,
            run_id,
            key,
            max_results=max_results,
            page_token=page_token,
            max_points=max_points,
        )

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
        return history.get_metric_history_bulk(
            self.db, run_ids, key, max_points=max_points, start_step=start_step, end_step=end_step
        )

    # -- garbage collection ------------------------------------------------------------
    def list_deleted_runs(
        self,
        *,
        deleted_before: int | None = None,
        run_ids: Sequence[str] | None = None,
        experiment_ids: Sequence[str] | None = None,
    ) -> list[DeletedRun]:
        """Soft-deleted runs matching every filter, oldest deletion first."""
        return purge.list_deleted_runs(
            self.db, deleted_before=deleted_before, run_ids=run_ids, experiment_ids=experiment_ids
        )

    def list_deleted_experiments(
        self,
        *,
        deleted_before: int | None = None,
        experiment_ids: Sequence[str] | None = None,
    ) -> list[DeletedExperiment]:
        """Soft-deleted experiments matching every filter, oldest deletion first."""
        return purge.list_deleted_experiments(
            self.db, deleted_before=deleted_before, experiment_ids=experiment_ids
        )

    def purge_run(self, run_id: str) -> bool:
        """Permanently delete a soft-deleted run's rows; False if gone or restored."""
        return purge.purge_run(self.db, run_id)

    def purge_experiment(self, experiment_id: str) -> bool:
        """Permanently delete a soft-deleted experiment without runs; False if gone or restored."""
        return purge.purge_experiment(self.db, experiment_id)

    def protected_artifact_uris(self) -> frozenset[str]:
        """Artifact URIs that back live registered model versions (gc never deletes them)."""
        return purge.protected_artifact_uris(self.db)

    def artifact_location_in_use(self, location: str, *, experiment_id: str) -> bool:
        """True when another experiment or its runs use a URI overlapping `location`."""
        return purge.artifact_location_in_use(self.db, location, experiment_id=experiment_id)

    def close(self) -> None:
        """Release connections and pools."""
        release_database(self.db)


def open_tracking_store(uri: str, options: StoreOptions) -> SqlTrackingStore:
    """Open the SQL tracking store for a database URI, creating a missing schema at head.

    Raises:
        SchemaOutdated: the database is at another revision; run `modelyard db upgrade <url>`.
        Unavailable: the database cannot be reached.
    """
    db, secret = open_metadata_database(uri, dict(options.extra), options.default_artifact_root)
    return SqlTrackingStore(
        db,
        artifact_root=resolve_artifact_root(options.default_artifact_root),
        page_token_secret=secret,
    )
