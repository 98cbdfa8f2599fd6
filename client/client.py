"""`Client`: the explicit-id tracking API (MLflow's `MlflowClient` method names and signatures).

A `Client` talks to the store its tracking URI names: SQL in-process for sqlite:, postgresql…:
and mysql…: URIs, gRPC for grpc://host:port. Stores are shared per URI within a process, so
many clients (and the fluent API) use one connection pool and one asynchronous logger.
"""

from __future__ import annotations

import math
import numbers
import os
import posixpath
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.client.batching import AsyncLogger, RunOperations, new_request_id, split_batch
from modelyard.client.context import PARENT_RUN_ID, RUN_NAME, USER
from modelyard.client.registry_client import RegistryClientMixin
from modelyard.client.tracking_uri import get_tracking_uri, registry_uri_for, store_uri
from modelyard.config import client_config
from modelyard.entities import (
    Experiment,
    FileInfo,
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
from modelyard.errors import InvalidArgument
from modelyard.store_registry import tracking_store_for_uri
from modelyard.stores import METRIC_HISTORY_BULK_MAX_RUNS, SEARCH_MAX_RESULTS_DEFAULT, TrackingStore
from modelyard.validation import validate_batch, validate_run_id

if TYPE_CHECKING:  # pragma: no cover - imported on first artifact call (grpc, fsspec, yaml)
    from modelyard.client.artifact_repos import ArtifactRepository

__all__ = ["Client", "MlflowClient", "make_metric", "make_metrics", "now_ms", "runs_to_frame"]


def now_ms() -> int:
    """The current time in milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


def _metric_value(key: str, value: object) -> float:
    if type(value) is float:
        return value
    try:
        return float(value)  # type: ignore[arg-type]  # numpy/torch scalars, bools, "1.5"
    except (TypeError, ValueError, OverflowError):
        raise InvalidArgument(
            f"invalid value {value!r} for metric {key!r}: please specify the value as a valid "
            "double (a number, or a string that parses as one)",
            key=key,
            value=value,
        ) from None


def _integer(what: str, key: str, value: object) -> int:
    if type(value) is int:
        return value
    if isinstance(value, bool):
        raise InvalidArgument(f"metric {key!r} {what} must be an integer, got {value!r}", key=key)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    raise InvalidArgument(f"metric {key!r} {what} must be an integer, got {value!r}", key=key)


def make_metric(
    key: str, value: object, *, timestamp: object = None, step: object = None
) -> Metric:
    """Build a Metric the way MLflow's client does: float() the value, default step 0 and now."""
    return Metric(
        key=key,
        value=_metric_value(key, value),
        timestamp=now_ms() if timestamp is None else _integer("timestamp", key, timestamp),
        step=0 if step is None else _integer("step", key, step),
    )


def make_metrics(
    values: Mapping[str, object], *, timestamp: int, step: object = None
) -> list[Metric]:
    """The Metrics of one log_metrics call: `make_metric` for each, sharing step and timestamp."""
    if type(timestamp) is int and (step is None or type(step) is int):
        shared_step = 0 if step is None else step
        return [
            Metric(
                key=key,
                value=value if type(value) is float else _metric_value(key, value),
                timestamp=timestamp,
                step=shared_step,
            )
            for key, value in values.items()
        ]
    return [make_metric(k, v, timestamp=timestamp, step=step) for k, v in values.items()]


def _experiment_id(experiment_id: object) -> str:
    if isinstance(experiment_id, int) and not isinstance(experiment_id, bool):
        return str(experiment_id)
    return experiment_id  # type: ignore[return-value]  # validated by the store wrapper


# -- stores shared per URI ------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class _Backend:
    """One store and its (lazily started) asynchronous logger."""

    store: TrackingStore
    _logger: AsyncLogger | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def logger(self) -> AsyncLogger:
        """The asynchronous logger of this store, started on first use."""
        if self._logger is None:
            with self._lock:
                if self._logger is None:
                    self._logger = AsyncLogger(self.store)
        return self._logger

    def barrier(self) -> None:
        """Write queued asynchronous calls before a synchronous call that may depend on them."""
        logger = self._logger
        if logger is not None and logger.pending():
            logger.flush()


_backends: dict[str, _Backend] = {}
_backends_lock = threading.Lock()


def _backend_for(uri: str) -> _Backend:
    key = store_uri(uri)
    backend = _backends.get(key)
    if backend is None:
        with _backends_lock:
            backend = _backends.get(key)
            if backend is None:
                backend = _Backend(tracking_store_for_uri(key))
                _backends[key] = backend
    return backend


class Client(RegistryClientMixin):
    """Explicit-id access to experiments, runs, params, metrics and tags.

    `Client(tracking_uri=None)` uses `get_tracking_uri()` at construction time.
    """

    def __init__(self, tracking_uri: str | None = None, registry_uri: str | None = None) -> None:
        self._tracking_uri = tracking_uri or get_tracking_uri()
        self._registry_uri = registry_uri or registry_uri_for(self._tracking_uri)
        self._backend_cache: _Backend | None = None
        self._repositories: dict[str, ArtifactRepository] = {}
        self._repositories_lock = threading.Lock()

    @property
    def tracking_uri(self) -> str:
        """The tracking URI this client talks to."""
        return self._tracking_uri

    @property
    def _backend(self) -> _Backend:
        if self._backend_cache is None:
            self._backend_cache = _backend_for(self._tracking_uri)
        return self._backend_cache

    @property
    def _store(self) -> TrackingStore:
        return self._backend.store

    def __repr__(self) -> str:
        return f"Client(tracking_uri={self._tracking_uri!r})"

    # -- experiments -------------------------------------------------------------------
    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> str:
        """Create an experiment and return its id (ExperimentAlreadyExists if the name is taken)."""
        return self._store.create_experiment(
            name,
            artifact_location=artifact_location,
            tags={k: str(v) for k, v in (tags or {}).items()},
            request_id=new_request_id(),
        )

    def get_experiment(self, experiment_id: str) -> Experiment:
        """Return an experiment by id, deleted or not (ExperimentNotFound if unknown)."""
        return self._store.get_experiment(_experiment_id(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """Return the experiment with this name, or None."""
        return self._store.get_experiment_by_name(name)

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """Return one page of experiments; `.token` fetches the next."""
        return self._store.search_experiments(
            view_type=view_type,
            filter_string=filter_string or "",
            order_by=list(order_by or ()),
            max_results=max_results,
            page_token=page_token,
        )

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Rename an active experiment."""
        self._store.rename_experiment(_experiment_id(experiment_id), new_name)

    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete an experiment and its runs (the name stays reserved)."""
        self._store.delete_experiment(_experiment_id(experiment_id))

    def restore_experiment(self, experiment_id: str) -> None:
        """Restore a deleted experiment and the runs its deletion removed."""
        self._store.restore_experiment(_experiment_id(experiment_id))

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        """Upsert an experiment tag (the value is str()-ified)."""
        self._store.set_experiment_tag(_experiment_id(experiment_id), key, str(value))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Delete an experiment tag (TagNotFound if absent)."""
        self._store.delete_experiment_tag(_experiment_id(experiment_id), key)

    # -- runs --------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: Mapping[str, Any] | None = None,
        run_name: str | None = None,
    ) -> Run:
        """Create a RUNNING run; the user is the `mlflow.user` tag, else "unknown"."""
        tag_map = {k: str(v) for k, v in (tags or {}).items()}
        tagged_name = tag_map.get(RUN_NAME)
        if run_name and tagged_name is not None and tagged_name != run_name:
            raise InvalidArgument(
                f"both the run_name argument ({run_name!r}) and the {RUN_NAME!r} tag "
                f"({tagged_name!r}) are given, with different values",
                run_name=run_name,
                tag=tagged_name,
            )
        run_name = run_name or tagged_name or None
        if run_name:
            tag_map[RUN_NAME] = run_name
        return self._store.create_run(
            experiment_id=_experiment_id(experiment_id),
            user_id=tag_map.get(USER, "unknown"),
            start_time=now_ms() if start_time is None else start_time,
            run_name=run_name,
            tags=tag_map,
            request_id=new_request_id(),
        )

    def get_run(self, run_id: str) -> Run:
        """Return a run with its params, tags and latest metrics (RunNotFound if unknown)."""
        self._backend.barrier()
        return self._store.get_run(run_id)

    def get_parent_run(self, run_id: str) -> Run | None:
        """Return the parent of a nested run (from its `mlflow.parentRunId` tag), or None."""
        parent_id = self.get_run(run_id).data.tags.get(PARENT_RUN_ID)
        return None if parent_id is None else self._store.get_run(parent_id)

    def update_run(
        self, run_id: str, status: str | None = None, name: str | None = None
    ) -> RunInfo:
        """Change a run's status and/or name."""
        self._backend.barrier()
        return self._store.update_run(
            run_id, status=None if status is None else _status(status), run_name=name
        )

    def set_terminated(
        self, run_id: str, status: str | None = None, end_time: int | None = None
    ) -> RunInfo:
        """End a run: status (default FINISHED) and end time (default now)."""
        self._backend.barrier()
        return self._store.update_run(
            run_id,
            status=_status(status or RunStatus.FINISHED),
            end_time=now_ms() if end_time is None else end_time,
        )

    def delete_run(self, run_id: str) -> None:
        """Soft-delete a run."""
        self._backend.barrier()
        self._store.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        """Restore a soft-deleted run."""
        self._store.restore_run(run_id)

    def search_runs(
        self,
        experiment_ids: str | Sequence[str],
        filter_string: str = "",
        run_view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        """Return one page of runs matching the filter; `.token` fetches the next."""
        if isinstance(experiment_ids, (str, int)):
            experiment_ids = [experiment_ids]  # type: ignore[list-item]
        self._backend.barrier()
        return self._store.search_runs(
            experiment_ids=[_experiment_id(e) for e in experiment_ids],
            filter_string=filter_string or "",
            view_type=run_view_type,
            max_results=max_results,
            order_by=list(order_by or ()),
            page_token=page_token,
        )

    # -- logging -----------------------------------------------------------------------
    def _is_async(self, synchronous: bool | None) -> bool:
        if synchronous is None:
            return client_config().async_logging
        return not synchronous

    def _submit(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> RunOperations:
        # Fail fast in the caller for what can be checked here (the writer trusts these).
        validate_run_id(run_id)
        for chunk in split_batch(metrics, params, tags):
            validate_batch(*chunk)
        return self._backend.logger().submit(run_id, metrics=metrics, params=params, tags=tags)

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: Any,
        timestamp: int | None = None,
        step: int | None = None,
        synchronous: bool | None = None,
    ) -> RunOperations | None:
        """Log one metric point; the value is float()-ed (numpy scalars, bools, "1.5")."""
        metric = make_metric(key, value, timestamp=timestamp, step=step)
        if self._is_async(synchronous):
            return self._submit(run_id, metrics=[metric])
        self._backend.barrier()
        self._store.log_metric(run_id, metric)
        return None

    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        """Log one param (str()-ified; immutable once logged); return the value."""
        param = Param(key=key, value=str(value))
        if self._is_async(synchronous):
            return self._submit(run_id, params=[param])
        self._backend.barrier()
        self._store.log_param(run_id, param)
        return value

    def set_tag(
        self, run_id: str, key: str, value: Any, synchronous: bool | None = None
    ) -> RunOperations | None:
        """Upsert one run tag (str()-ified)."""
        tag = RunTag(key=key, value=str(value))
        if self._is_async(synchronous):
            return self._submit(run_id, tags=[tag])
        self._backend.barrier()
        self._store.set_tag(run_id, tag)
        return None

    def delete_tag(self, run_id: str, key: str) -> None:
        """Delete a run tag (TagNotFound if absent)."""
        self._backend.barrier()
        self._store.delete_tag(run_id, key)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        synchronous: bool | None = None,
    ) -> RunOperations | None:
        """Log many entries; split into requests of at most 100 params/tags and 1000 entries."""
        metrics, params, tags = list(metrics), list(params), list(tags)
        if not (metrics or params or tags):
            return None
        _check_duplicate_params(params)
        if self._is_async(synchronous):
            return self._submit(run_id, metrics, params, tags)
        self._backend.barrier()
        for chunk_metrics, chunk_params, chunk_tags in split_batch(metrics, params, tags):
            self._store.log_batch(
                run_id,
                metrics=chunk_metrics,
                params=chunk_params,
                tags=chunk_tags,
                request_id=new_request_id(),
            )
        return None

    def flush(self) -> None:
        """Wait until this client's asynchronous logging calls are written; raise their errors."""
        self._backend.barrier()

    # -- metric history ----------------------------------------------------------------
    def get_metric_history(
        self, run_id: str, key: str, max_points: int | None = None
    ) -> list[Metric]:
        """Every point of a metric, ordered by step then timestamp (paged internally).

        With max_points, the history is downsampled to at most that many points.
        """
        self._backend.barrier()
        points: list[Metric] = []
        token: str | None = None
        while True:
            page, token = self._store.get_metric_history(
                run_id, key, page_token=token, max_points=max_points
            )
            points.extend(page.to_metrics())
            if not token or max_points:
                return points

    def get_metric_history_bulk(
        self,
        run_ids: Sequence[str],
        key: str,
        max_points: int | None = None,
        *,
        start_step: int | None = None,
        end_step: int | None = None,
    ) -> list[MetricHistory]:
        """Histories of one metric for several runs, in the order of run_ids; start_step /
        end_step keep only the points in that step range (inclusive), before downsampling."""
        self._backend.barrier()
        out: list[MetricHistory] = []
        ids = list(run_ids)
        for start in range(0, len(ids), METRIC_HISTORY_BULK_MAX_RUNS):
            chunk = ids[start : start + METRIC_HISTORY_BULK_MAX_RUNS]
            out.extend(
                self._store.get_metric_history_bulk(
                    chunk, key, max_points=max_points, start_step=start_step, end_step=end_step
                )
            )
        return out

    # -- artifacts -----------------------------------------------------------------------
    # The artifact modules load grpc, fsspec and PyYAML; they are imported on the first
    # artifact call so that a Client that only logs metrics stays light.

    def _artifact_repository(self, run_id: str) -> ArtifactRepository:
        """The repository of a run's artifact URI (cached: a run's URI never changes)."""
        repo = self._repositories.get(run_id)
        if repo is None:
            from modelyard.client.artifact_repos import repository_for

            uri = self.get_run(run_id).info.artifact_uri
            repo = repository_for(uri, tracking_uri=self._tracking_uri)
            with self._repositories_lock:
                if len(self._repositories) >= _MAX_CACHED_REPOSITORIES:
                    self._repositories.pop(next(iter(self._repositories)))
                self._repositories[run_id] = repo
        return repo

    def log_artifact(
        self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Upload a local file (or directory, as `<artifact_path>/<its name>/…`) to a run.

        Raises:
            InvalidArgument: artifact_path is not a clean relative path.
            FileNotFoundError: local_path does not exist.
        """
        from modelyard.artifacts.paths import join_path
        from modelyard.client.artifact_repos import directory_argument

        directory = directory_argument(artifact_path)
        local = Path(local_path)
        if local.is_dir():
            name = os.path.basename(os.path.abspath(local))
            self.log_artifacts(run_id, local, join_path(directory, name))
            return
        if not local.exists():
            raise FileNotFoundError(
                f"no local file {os.fspath(local_path)!r} to log as an artifact"
            )
        self._artifact_repository(run_id).log_artifact(local, artifact_path)

    def log_artifacts(
        self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Upload the contents of a local directory below artifact_path (files in parallel).

        Raises:
            InvalidArgument: artifact_path, or a file name below local_dir, is not clean.
            NotADirectoryError: local_dir is not a directory.
        """
        from modelyard.client.artifact_repos import directory_argument

        directory_argument(artifact_path)  # refused before the run is even looked up
        self._artifact_repository(run_id).log_artifacts(local_dir, artifact_path)

    def _log_generated(
        self, run_id: str, artifact_file: str, write: Callable[[Path], None]
    ) -> None:
        """Write a file with `write` in a temporary directory and upload it as artifact_file."""
        from modelyard.artifacts.paths import clean_path
        from modelyard.client.artifact_api import staged_file

        clean_path(artifact_file)
        repo = self._artifact_repository(run_id)
        with staged_file(artifact_file) as local:
            write(local)
            repo.log_artifact(local, posixpath.dirname(artifact_file) or None)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Save text (UTF-8) as the artifact file artifact_file ("dir/notes.txt")."""
        from modelyard.client.artifact_api import write_text

        self._log_generated(run_id, artifact_file, lambda local: write_text(local, text))

    def log_dict(self, run_id: str, dictionary: Mapping[str, Any], artifact_file: str) -> None:
        """Save a dictionary as YAML (.yml/.yaml) or JSON (anything else, indent 2)."""
        from modelyard.client.artifact_api import write_dict

        self._log_generated(
            run_id, artifact_file, lambda local: write_dict(local, dictionary, artifact_file)
        )

    def log_table(self, run_id: str, data: Any, artifact_file: str) -> None:
        """Save a dict of columns or a DataFrame as the JSON table artifact_file (appending
        to the run's table of that name if it has one); see `modelyard.client.tables`."""
        from modelyard.client import tables

        tables.log_table(self, run_id, data, artifact_file)

    def log_stream(self, run_id: str, stream: Any, artifact_file: str) -> None:
        """Save the bytes of a binary file-like object (read to its end) as artifact_file."""
        from modelyard.client.artifact_api import write_stream

        self._log_generated(run_id, artifact_file, lambda local: write_stream(local, stream))

    def log_figure(
        self,
        run_id: str,
        figure: Any,
        artifact_file: str,
        *,
        save_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        """Save a matplotlib or plotly figure as artifact_file (TypeError for anything else)."""
        from modelyard.client.artifact_api import write_figure

        self._log_generated(
            run_id, artifact_file, lambda local: write_figure(local, figure, save_kwargs)
        )

    def log_image(
        self,
        run_id: str,
        image: Any,
        artifact_file: str | None = None,
        key: str | None = None,
        step: int | None = None,
        timestamp: int | None = None,
        synchronous: bool | None = None,
    ) -> None:
        """Save a numpy array or PIL image: as artifact_file, or by key (MLflow's layout).

        With key, the image goes to `images/<key>+step+<s>+timestamp+<t>+<uuid>.png` with a
        small `…+compressed.webp` preview beside it, and the run gets the tag
        `mlflow.loggedImages=True`. Give exactly one of artifact_file and key.

        Raises:
            TypeError: both or neither of artifact_file and key, or an unsupported image.
        """
        del synchronous  # uploads are synchronous
        from modelyard.client import artifact_api

        if (artifact_file is None) == (key is None):
            raise TypeError("log_image needs exactly one of artifact_file and key")
        if artifact_file is not None:
            if step is not None or timestamp is not None:
                raise TypeError("step and timestamp go with key, not with artifact_file")
            self._log_generated(
                run_id, artifact_file, lambda local: artifact_api.write_image(local, image)
            )
            return
        assert key is not None
        image_file, preview_file = artifact_api.image_key_files(
            key,
            0 if step is None else artifact_api.image_integer("step", step),
            now_ms() if timestamp is None else artifact_api.image_integer("timestamp", timestamp),
        )
        self._log_generated(
            run_id, image_file, lambda local: artifact_api.write_image(local, image)
        )
        self._log_generated(
            run_id, preview_file, lambda local: artifact_api.write_image_preview(local, image)
        )
        self.set_tag(run_id, artifact_api.LOGGED_IMAGES_TAG, "True", synchronous=True)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """One level of a run's artifacts (paths relative to the run's root); [] for a file.

        Raises:
            InvalidArgument: path is not a clean relative path.
        """
        from modelyard.client.artifact_repos import directory_argument

        prefix = directory_argument(path)
        entries = self._artifact_repository(run_id).list(prefix)
        if len(entries) == 1 and entries[0].path == prefix and not entries[0].is_dir:
            return []  # MLflow lists nothing for a file
        return entries

    def download_artifacts(
        self, run_id: str, path: str, dst_path: str | os.PathLike[str] | None = None
    ) -> str:
        """Download a run's artifact file or directory ("" for all); return the local path.

        The result is `<dst_path>/<path>`; dst_path is created if missing, and defaults to a
        new temporary directory. Directories are downloaded in parallel.

        Raises:
            InvalidArgument: path is not a clean relative path.
            NotFound: the run has no artifact at path.
        """
        from modelyard.client.artifact_api import download_destination
        from modelyard.client.artifact_repos import directory_argument

        prefix = directory_argument(path)
        return self._artifact_repository(run_id).download(prefix, download_destination(dst_path))


def _status(status: object) -> RunStatus:
    try:
        return RunStatus(status)
    except ValueError:
        names = ", ".join(s.value for s in RunStatus)
        raise InvalidArgument(
            f"invalid run status {status!r}: expected one of {names}", status=status
        ) from None


#: Runs whose artifact repository a Client keeps (a run's artifact URI never changes).
_MAX_CACHED_REPOSITORIES = 256


def _check_duplicate_params(params: Sequence[Param]) -> None:
    seen: dict[str, str] = {}
    for p in params:
        if p.key in seen and seen[p.key] != p.value:
            raise InvalidArgument(
                f"duplicate param key {p.key!r} in one batch with different values "
                f"{seen[p.key]!r} and {p.value!r}",
                key=p.key,
            )
        seen[p.key] = p.value


def runs_to_frame(runs: Sequence[Run], pd: Any) -> Any:
    """A DataFrame in MLflow's layout: info columns, then metrics.*, params.*, tags.*."""
    metric_keys = sorted({k for r in runs for k in r.data.metrics})
    param_keys = sorted({k for r in runs for k in r.data.params})
    tag_keys = sorted({k for r in runs for k in r.data.tags})
    nan = float("nan")
    columns: dict[str, Any] = {
        "run_id": [r.info.run_id for r in runs],
        "experiment_id": [r.info.experiment_id for r in runs],
        "status": [str(r.info.status) for r in runs],
        "artifact_uri": [r.info.artifact_uri for r in runs],
        "start_time": pd.to_datetime(
            pd.Series([r.info.start_time for r in runs], dtype="float64"), unit="ms", utc=True
        ),
        "end_time": pd.to_datetime(
            pd.Series(
                [nan if r.info.end_time is None else r.info.end_time for r in runs],
                dtype="float64",
            ),
            unit="ms",
            utc=True,
        ),
    }
    for key in metric_keys:
        columns[f"metrics.{key}"] = pd.Series(
            [r.data.metrics.get(key, nan) for r in runs], dtype="float64"
        )
    for key in param_keys:
        columns[f"params.{key}"] = pd.Series([r.data.params.get(key) for r in runs], dtype=object)
    for key in tag_keys:
        columns[f"tags.{key}"] = pd.Series([r.data.tags.get(key) for r in runs], dtype=object)
    return pd.DataFrame(columns)


MlflowClient = Client
"""MLflow's name for `Client`, so `from modelyard.client import MlflowClient` ports unchanged."""
