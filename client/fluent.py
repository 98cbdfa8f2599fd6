"""The fluent API (`modelyard.start_run`, `modelyard.log_metric`, …): MLflow's names and meaning.

State: the active experiment is process-wide (as in MLflow); the stack of active runs and the
last ended run live in context variables, so each thread and each asyncio task has its own
(a task starts from a copy of its creator's stack). A thread with no active run that logs
starts a run, as MLflow does. At interpreter exit every run still active in any thread is
ended (FINISHED; FAILED when the script died of an uncaught exception) after asynchronous
logging is flushed.
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import os
import sys
import threading
import warnings
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

from modelyard.client.batching import RunOperations, flush_async_logging
from modelyard.client.client import Client, make_metrics, now_ms, runs_to_frame
from modelyard.client.context import NOTE_CONTENT, PARENT_RUN_ID, resolve_tags
from modelyard.client.tracking_uri import get_tracking_uri, store_uri
from modelyard.config import client_config, consume_run_id
from modelyard.entities import (
    Experiment,
    LifecycleStage,
    Param,
    Run,
    RunStatus,
    RunTag,
    ViewType,
)
from modelyard.entities.paging import collect_pages
from modelyard.errors import (
    ExperimentAlreadyExists,
    ExperimentNotActive,
    FailedPrecondition,
    InvalidArgument,
    RunNotActive,
)

SEARCH_RUNS_PAGE = 10_000
SEARCH_EXPERIMENTS_PAGE = 1000


class ActiveRun(Run):
    """The run returned by `start_run`: a snapshot `Run` that also works as a context manager.

    Leaving the `with` block ends the run FINISHED, or FAILED when an exception escapes.
    """

    def __init__(self, run: Run, client: Client) -> None:
        super().__init__(info=run.info, data=run.data)
        object.__setattr__(self, "_client", client)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        status = RunStatus.FINISHED if exc_type is None else RunStatus.FAILED
        _end_specific(self, status)
        return False


# -- state ----------------------------------------------------------------------------------

_run_stack: contextvars.ContextVar[tuple[ActiveRun, ...]] = contextvars.ContextVar(
    "modelyard_run_stack", default=()
)
_last_run_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "modelyard_last_run_id", default=None
)
_state_lock = threading.Lock()
_active_experiment: tuple[str, str] | None = None  # (store URI, experiment id)
_live: dict[int, ActiveRun] = {}  # every run active in any thread or task, for atexit
_clients: dict[str, Client] = {}


def _client() -> Client:
    uri = get_tracking_uri()
    key = store_uri(uri)
    client = _clients.get(key)
    if client is None:
        with _state_lock:
            client = _clients.setdefault(key, Client(key))
    return client


def _status(status: object) -> RunStatus:
    try:
        return RunStatus(status)
    except ValueError:
        names = ", ".join(s.value for s in RunStatus)
        raise InvalidArgument(
            f"invalid run status {status!r}: expected one of {names}", status=status
        ) from None


# -- experiments ----------------------------------------------------------------------------


def _resolve_experiment_id(client: Client) -> str:
    active = _active_experiment
    if active is not None and active[0] == store_uri(client.tracking_uri):
        return active[1]
    config = client_config()
    if config.experiment_name:
        return _experiment_by_name(client, config.experiment_name, create=True).experiment_id
    if config.experiment_id:
        return client.get_experiment(config.experiment_id).experiment_id
    return "0"


def _experiment_by_name(client: Client, name: str, *, create: bool) -> Experiment:
    experiment = client.get_experiment_by_name(name)
    if experiment is None and create:
        with contextlib.suppress(ExperimentAlreadyExists):  # created concurrently: use theirs
            client.create_experiment(name)
        experiment = client.get_experiment_by_name(name)
    if experiment is None:
        raise InvalidArgument(f"no experiment named {name!r}", name=name)
    return experiment


def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None
) -> Experiment:
    """Make an experiment active (by name, created if missing; or by id) and return it.

    Raises:
        InvalidArgument: neither or both of name and id given.
        ExperimentNotFound: unknown id.
        ExperimentNotActive: the experiment is deleted.
    """
    global _active_experiment
    if (experiment_name is None) == (experiment_id is None):
        raise InvalidArgument("Must specify exactly one of: `experiment_id` or `experiment_name`.")
    client = _client()
    if experiment_name is not None:
        experiment = _experiment_by_name(client, experiment_name, create=True)
    else:
        experiment = client.get_experiment(str(experiment_id))
    if experiment.lifecycle_stage != LifecycleStage.ACTIVE:
        raise ExperimentNotActive(
            f"Cannot set a deleted experiment {experiment.name!r} (id {experiment.experiment_id})"
            " as the active experiment. You can restore the experiment, or permanently delete "
            "it (`modelyard gc`) to reuse its name.",
            experiment_id=experiment.experiment_id,
        )
    with _state_lock:
        _active_experiment = (store_uri(client.tracking_uri), experiment.experiment_id)
    return experiment


def create_experiment(
    name: str, artifact_location: str | None = None, tags: Mapping[str, Any] | None = None
) -> str:
    """Create an experiment and return its id."""
    return _client().create_experiment(name, artifact_location=artifact_location, tags=tags)


def get_experiment(experiment_id: str) -> Experiment:
    """Return an experiment by id."""
    return _client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    """Return the experiment with this name, or None."""
    return _client().get_experiment_by_name(name)


def delete_experiment(experiment_id: str) -> None:
    """Soft-delete an experiment and its runs."""
    _client().delete_experiment(experiment_id)


def set_experiment_tag(key: str, value: Any) -> None:
    """Set a tag on the active experiment."""
    client = _client()
    client.set_experiment_tag(_resolve_experiment_id(client), key, value)


def set_experiment_tags(tags: Mapping[str, Any]) -> None:
    """Set several tags on the active experiment."""
    client = _client()
    experiment_id = _resolve_experiment_id(client)
    for key, value in tags.items():
        client.set_experiment_tag(experiment_id, key, value)


def search_experiments(
    view_type: ViewType = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
) -> list[Experiment]:
    """Return the matching experiments (all of them when max_results is None)."""
    return collect_pages(
        _client().search_experiments,
        max_results,
        SEARCH_EXPERIMENTS_PAGE,
        view_type=view_type,
        filter_string=filter_string,
        order_by=order_by,
    )


# -- runs -----------------------------------------------------------------------------------


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
) -> ActiveRun:
    """Start a new run, or resume `run_id` (or MODELYARD_RUN_ID), and make it active.

    Raises:
        FailedPrecondition: a run is already active and nested is False, or the run to
            resume or the parent is deleted.
        InvalidArgument: conflicting arguments (see MLflow's start_run rules).
    """
    del log_system_metrics  # accepted for MLflow compatibility; system metrics are not logged
    stack = _run_stack.get()
    if stack and not nested:
        raise FailedPrecondition(
            f"Run with UUID {stack[-1].info.run_id} is already active. To start a new run, first "
            "end the current run with end_run(). To start a nested run, call start_run with "
            "nested=True",
            run_id=stack[-1].info.run_id,
        )
    if run_id is None:
        run_id = consume_run_id()
    client = stack[-1]._client if stack else _client()  # type: ignore[attr-defined]
    if experiment_id is not None:
        experiment_id = str(experiment_id)
    user_tags = {k: str(v) for k, v in (tags or {}).items()}
    if description is not None:
        if NOTE_CONTENT in user_tags:
            raise InvalidArgument(
                f"description is already given by the {NOTE_CONTENT!r} tag; give one of them",
                description=description,
            )
        user_tags[NOTE_CONTENT] = description

    parent_id = _parent_id(client, stack, nested, parent_run_id)
    if parent_id is not None:
        user_tags[PARENT_RUN_ID] = parent_id

    if run_id:
        run = _resume(client, run_id, experiment_id, run_name, user_tags)
    else:
        exp_id = experiment_id or _resolve_experiment_id(client)
        run = client.create_run(exp_id, tags=resolve_tags(user_tags), run_name=run_name)

    active = ActiveRun(run, client)
    _run_stack.set((*stack, active))
    with _state_lock:
        _live[id(active)] = active
    return active


def _parent_id(
    client: Client, stack: tuple[ActiveRun, ...], nested: bool, parent_run_id: str | None
) -> str | None:
    if parent_run_id is not None:
        if stack and stack[-1].info.run_id != parent_run_id:
            raise InvalidArgument(
                f"Current run with UUID {stack[-1].info.run_id} does not match the specified "
                f"parent_run_id {parent_run_id}.",
                parent_run_id=parent_run_id,
            )
        parent = client.get_run(parent_run_id)
        if parent.info.lifecycle_stage != LifecycleStage.ACTIVE:
            raise RunNotActive(
                f"the parent run {parent_run_id} is deleted; restore it or choose another parent",
                run_id=parent_run_id,
            )
        return parent_run_id
    if nested and stack:
        return stack[-1].info.run_id
    return None


def _resume(
    client: Client,
    run_id: str,
    experiment_id: str | None,
    run_name: str | None,
    tags: dict[str, str],
) -> Run:
    run = client.get_run(run_id)
    if run.info.lifecycle_stage != LifecycleStage.ACTIVE:
        raise RunNotActive(
            f"Cannot start run with ID {run_id} because it is in the deleted state.",
            run_id=run_id,
        )
    wanted = experiment_id
    active = _active_experiment
    if wanted is None and active is not None and active[0] == store_uri(client.tracking_uri):
        wanted = active[1]
    if wanted is not None and wanted != run.info.experiment_id:
        raise InvalidArgument(
            f"the run {run_id} belongs to experiment {run.info.experiment_id}, not to the "
            f"active or requested experiment {wanted}",
            run_id=run_id,
            experiment_id=wanted,
        )
    client.update_run(run_id, status=RunStatus.RUNNING, name=run_name)
    if tags:
        client.log_batch(run_id, tags=[RunTag(key=k, value=v) for k, v in tags.items()])
    return client.get_run(run_id)


def _finish(run: ActiveRun, status: RunStatus) -> None:
    with _state_lock:
        _live.pop(id(run), None)
    _last_run_id.set(run.info.run_id)
    client: Client = run._client  # type: ignore[attr-defined]
    flush_error: Exception | None = None
    try:
        client.flush()
    except Exception as exc:  # still end the run; raise the logging error afterwards
        flush_error = exc
    client.set_terminated(run.info.run_id, status)
    if flush_error is not None:
        raise flush_error


def _end_specific(run: ActiveRun, status: RunStatus) -> None:
    stack = _run_stack.get()
    if not any(r is run for r in stack):
        return  # already ended (end_run inside the with block)
    _run_stack.set(tuple(r for r in stack if r is not run))
    _finish(run, status)


def end_run(status: str = "FINISHED") -> None:
    """End the active run (no-op if none) with this status, after flushing async logging."""
    checked = _status(status)  # a bad status is an error even with no run to end
    stack = _run_stack.get()
    if not stack:
        return
    run = stack[-1]
    _run_stack.set(stack[:-1])
    _finish(run, checked)


def active_run() -> ActiveRun | None:
    """The active run of this thread or task (a snapshot taken at start_run), or None."""
    stack = _run_stack.get()
    return stack[-1] if stack else None


def last_active_run() -> Run | None:
    """The active run, else a fresh copy of the run last ended in this thread or task."""
    current = active_run()
    if current is not None:
        return current
    run_id = _last_run_id.get()
    return None if run_id is None else _client().get_run(run_id)


def get_run(run_id: str) -> Run:
    """Return a run by id."""
    return _client().get_run(run_id)


def delete_run(run_id: str) -> None:
    """Mark a run deleted (restorable until `modelyard gc` removes it)."""
    _client().delete_run(run_id)


def get_parent_run(run_id: str) -> Run | None:
    """Return the parent of a nested run, or None."""
    return _client().get_parent_run(run_id)


def _get_or_start_run() -> ActiveRun:
    stack = _run_stack.get()
    return stack[-1] if stack else start_run()


def _target(run_id: str | None) -> tuple[Client, str]:
    if run_id is not None:
        return _client(), run_id
    run = _get_or_start_run()
    return run._client, run.info.run_id  # type: ignore[attr-defined]


# -- logging --------------------------------------------------------------------------------


def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    """Log a param (str()-ified) to the active run, starting one if needed; return the value."""
    client, run_id = _target(None)
    result = client.log_param(run_id, key, value, synchronous=synchronous)
    return value if not isinstance(result, RunOperations) else result


def log_params(
    params: Mapping[str, Any], synchronous: bool | None = None, run_id: str | None = None
) -> RunOperations | None:
    """Log several params in one batch."""
    client, target = _target(run_id)
    batch = [Param(key=k, value=str(v)) for k, v in params.items()]
    return client.log_batch(target, params=batch, synchronous=synchronous)


def log_metric(
    key: str,
    value: Any,
    step: int | None = None,
    synchronous: bool | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
) -> RunOperations | None:
    """Log one metric point to the active run (or run_id), starting a run if needed."""
    client, target = _target(run_id)
    return client.log_metric(
        target, key, value, timestamp=timestamp, step=step, synchronous=synchronous
    )


def log_metrics(
    metrics: Mapping[str, Any],
    step: int | None = None,
    synchronous: bool | None = None,
    run_id: str | None = None,
    timestamp: int | None = None,
) -> RunOperations | None:
    """Log several metrics in one batch; they share the step and the timestamp."""
    client, target = _target(run_id)
    ts = now_ms() if timestamp is None else timestamp
    batch = make_metrics(metrics, timestamp=ts, step=step)
    if batch and client._is_async(synchronous):
        return client._submit(target, batch)  # a fresh list of metrics: nothing to copy
    return client.log_batch(target, metrics=batch, synchronous=synchronous)


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> RunOperations | None:
    """Set a tag (str()-ified) on the active run, starting one if needed."""
    client, run_id = _target(None)
    return client.set_tag(run_id, key, value, synchronous=synchronous)


def set_tags(tags: Mapping[str, Any], synchronous: bool | None = None) -> RunOperations | None:
    """Set several tags on the active run in one batch."""
    client, run_id = _target(None)
    batch = [RunTag(key=k, value=str(v)) for k, v in tags.items()]
    return client.log_batch(run_id, tags=batch, synchronous=synchronous)


def delete_tag(key: str) -> None:
    """Delete a tag of the active run (TagNotFound if absent)."""
    client, run_id = _target(None)
    client.delete_tag(run_id, key)


def log_artifact(
    local_path: str | os.PathLike[str], artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Upload a local file (or a directory, as `<artifact_path>/<its name>/…`) to the active run."""
    client, target = _target(run_id)
    client.log_artifact(target, local_path, artifact_path)


def log_artifacts(
    local_dir: str | os.PathLike[str], artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Upload the contents of a local directory below artifact_path of the active run."""
    client, target = _target(run_id)
    client.log_artifacts(target, local_dir, artifact_path)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    """Save text as the artifact file artifact_file of the active run."""
    client, target = _target(run_id)
    client.log_text(target, text, artifact_file)


def log_dict(dictionary: Mapping[str, Any], artifact_file: str, run_id: str | None = None) -> None:
    """Save a dictionary as YAML (.yml/.yaml) or JSON (anything else) in the active run."""
    client, target = _target(run_id)
    client.log_dict(target, dictionary, artifact_file)


def log_stream(stream: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Save the bytes of a binary file-like object as artifact_file of the active run."""
    client, target = _target(run_id)
    client.log_stream(target, stream, artifact_file)


def log_table(data: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Save a dict of columns or a DataFrame as a JSON table of the active run; logging to the
    same artifact_file again appends rows."""
    client, target = _target(run_id)
    client.log_table(target, data, artifact_file)


def load_table(
    artifact_file: str,
    run_ids: Sequence[str] | None = None,
    extra_columns: Sequence[str] | None = None,
) -> Any:
    """One DataFrame of the table artifact_file of every run of the active experiment that
    logged it (or of run_ids), with run attributes named in extra_columns as columns."""
    from modelyard.client import tables

    client = _client()
    return tables.load_table(
        client, [_resolve_experiment_id(client)], artifact_file, run_ids, extra_columns
    )


def log_figure(
    figure: Any, artifact_file: str, *, save_kwargs: Mapping[str, Any] | None = None
) -> None:
    """Save a matplotlib or plotly figure as artifact_file of the active run."""
    client, target = _target(None)
    client.log_figure(target, figure, artifact_file, save_kwargs=save_kwargs)


def log_image(
    image: Any,
    artifact_file: str | None = None,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = False,
) -> None:
    """Save a numpy array or PIL image in the active run (as artifact_file, or by key)."""
    client, target = _target(None)
    client.log_image(
        target,
        image,
        artifact_file=artifact_file,
        key=key,
        step=step,
        timestamp=timestamp,
        synchronous=synchronous,
    )


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """The artifact URI of the active run (started if needed), or of a path inside it."""
    stack = _run_stack.get()
    if not stack:
        warnings.warn(
            "get_artifact_uri() started a run because none was active", UserWarning, stacklevel=2
        )
    base = _get_or_start_run().info.artifact_uri
    if not artifact_path:
        return base
    return base.rstrip("/") + "/" + artifact_path.lstrip("/")


# -- search ---------------------------------------------------------------------------------


def _search_experiment_ids(
    client: Client,
    experiment_ids: str | Sequence[str] | None,
    experiment_names: Sequence[str] | None,
    search_all_experiments: bool,
) -> list[str]:
    if experiment_ids and experiment_names:
        raise InvalidArgument("give experiment_ids or experiment_names, not both")
    if experiment_names:
        ids = []
        for name in experiment_names:
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                warnings.warn(f"no experiment named {name!r}; skipped", UserWarning, stacklevel=3)
            else:
                ids.append(experiment.experiment_id)
        return ids
    if experiment_ids:
        if isinstance(experiment_ids, (str, int)):
            return [str(experiment_ids)]
        return [str(e) for e in experiment_ids]
    if search_all_experiments:
        return [e.experiment_id for e in search_experiments(view_type=ViewType.ACTIVE_ONLY)]
    return [_resolve_experiment_id(client)]


def search_runs(
    experiment_ids: str | Sequence[str] | None = None,
    filter_string: str = "",
    run_view_type: ViewType = ViewType.ACTIVE_ONLY,
    max_results: int = 100_000,
    order_by: Sequence[str] | None = None,
    output_format: str = "pandas",
    search_all_experiments: bool = False,
    experiment_names: Sequence[str] | None = None,
) -> Any:
    """Search runs; a pandas DataFrame (MLflow's columns) if pandas is installed, else a list.

    With neither experiment_ids nor experiment_names, searches the active experiment, or every
    active experiment when search_all_experiments is True.
    """
    if output_format not in ("pandas", "list"):
        raise InvalidArgument(
            f"output_format must be 'pandas' or 'list', got {output_format!r}",
            output_format=output_format,
        )
    client = _client()
    ids = _search_experiment_ids(client, experiment_ids, experiment_names, search_all_experiments)
    runs: list[Run] = []
    if ids:
        runs = collect_pages(
            client.search_runs,
            max_results,
            SEARCH_RUNS_PAGE,
            experiment_ids=ids,
            filter_string=filter_string,
            run_view_type=run_view_type,
            order_by=order_by,
        )
    if output_format == "list":
        return runs
    try:
        import pandas
    except ImportError:
        return runs
    return runs_to_frame(runs, pandas)


# -- interpreter exit -----------------------------------------------------------------------


def _exit_status() -> RunStatus:
    last = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
    if last is None:
        return RunStatus.FINISHED
    return RunStatus.KILLED if isinstance(last, KeyboardInterrupt) else RunStatus.FAILED


def _end_runs_at_exit() -> None:
    status = _exit_status()
    with _state_lock:
        runs = list(_live.values())
    for run in reversed(runs):  # children before parents
        try:
            _finish(run, status)
        except Exception as exc:
            sys.stderr.write(f"modelyard: could not end run {run.info.run_id} at exit: {exc}\n")
    try:
        flush_async_logging()
    except Exception as exc:
        sys.stderr.write(f"modelyard: asynchronous logging failed at exit: {exc}\n")


atexit.register(_end_runs_at_exit)
