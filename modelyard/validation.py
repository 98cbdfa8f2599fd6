"""Every input rule, once, and the store wrapper that applies them on every transport.

Each rule raises `InvalidArgument` naming the offending value. Stores behind
`ValidatingTrackingStore` trust their inputs.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence

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
from modelyard.errors import InvalidArgument
from modelyard.stores import (
    METRIC_HISTORY_BULK_MAX_RUNS,
    METRIC_HISTORY_PAGE_MAX,
    SEARCH_MAX_RESULTS_DEFAULT,
    SEARCH_MAX_RESULTS_LIMIT,
    DeletedExperiment,
    DeletedRun,
    LogBatch,
    TrackingStore,
)

MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_EXPERIMENT_TAG_VALUE_LENGTH = 20_000
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_RUN_NAME_LENGTH = 250
MAX_USER_ID_LENGTH = 256
MAX_ARTIFACT_LOCATION_LENGTH = 2048
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_METRICS_PER_BATCH = 1000
MAX_ENTRIES_PER_BATCH = 1000
MAX_REQUEST_ID_LENGTH = 64
MAX_FILTER_LENGTH = 10_000
MAX_ORDER_BY_CLAUSES = 20
MAX_EXPERIMENT_IDS_PER_SEARCH = 1000
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
_FLOAT_MAX = 1.7976931348623157e308

_KEY_RE = re.compile(r"^[/\w.\- :]*$")
_RUN_ID_RE = re.compile(r"^[0-9a-f]{32}$")
_EXPERIMENT_ID_RE = re.compile(r"^[0-9]{1,18}$")
_REQUEST_ID_RE = re.compile(r"^[\x21-\x7e]+$")


def _clip(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_text(what: str, value: object, max_length: int, *, allow_empty: bool = True) -> str:
    if not isinstance(value, str):
        raise InvalidArgument(
            f"{what} must be a string, got {type(value).__name__} {_clip(value)}", value=value
        )
    if not allow_empty and not value.strip():
        raise InvalidArgument(f"{what} must not be empty, got {value!r}", value=value)
    if len(value) > max_length:
        raise InvalidArgument(
            f"{what} exceeds the maximum length of {max_length} characters "
            f"(got {len(value)}): {_clip(value)}",
            value=value[:200],
            length=len(value),
        )
    if "\x00" in value:
        raise InvalidArgument(
            f"{what} must not contain NUL characters: {_clip(value)}", value=value
        )
    return value


#: Keys already found valid (a server sees the same few keys on every call); bounded.
_VALID_KEYS: set[str] = set()
_VALID_KEYS_MAX = 10_000


def validate_key(key: object, what: str = "key") -> str:
    """Check a param, metric or tag key: 1-250 chars of letters, digits, `_ - . space : /`."""
    if type(key) is str and key in _VALID_KEYS:
        return key
    if not isinstance(key, str):
        raise InvalidArgument(f"{what} must be a string, got {_clip(key)}", key=key)
    if not key:
        raise InvalidArgument(f"{what} must not be empty", key=key)
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidArgument(
            f"{what} {_clip(key)} exceeds the maximum length of {MAX_KEY_LENGTH} characters "
            f"(got {len(key)})",
            key=key[:200],
            length=len(key),
        )
    if not _KEY_RE.match(key):
        raise InvalidArgument(
            f"invalid {what} {key!r}: names may only contain letters, digits, underscores (_), "
            "dashes (-), periods (.), spaces ( ), colons (:) and slashes (/)",
            key=key,
        )
    segments = key.split("/")
    if key.startswith("/") or posixpath.normpath(key) != key or {".", ".."} & set(segments):
        raise InvalidArgument(
            f"invalid {what} {key!r}: it must be a relative path without '..', '.' or empty "
            "segments and must not start with '/'",
            key=key,
        )
    if type(key) is str:
        if len(_VALID_KEYS) >= _VALID_KEYS_MAX:
            _VALID_KEYS.clear()
        _VALID_KEYS.add(key)
    return key


def validate_run_id(run_id: object) -> str:
    """Check a run id: 32 lowercase hex characters."""
    if not isinstance(run_id, str) or not _RUN_ID_RE.match(run_id):
        raise InvalidArgument(
            f"invalid run id {_clip(run_id)}: expected 32 lowercase hex characters", run_id=run_id
        )
    return run_id


def validate_experiment_id(experiment_id: object) -> str:
    """Check an experiment id: a decimal integer as a string."""
    if isinstance(experiment_id, int) and not isinstance(experiment_id, bool):
        experiment_id = str(experiment_id)
    if not isinstance(experiment_id, str) or not _EXPERIMENT_ID_RE.match(experiment_id):
        raise InvalidArgument(
            f"invalid experiment id {_clip(experiment_id)}: expected a decimal integer",
            experiment_id=experiment_id,
        )
    return experiment_id


def validate_experiment_name(name: object) -> str:
    """Check an experiment name: 1-500 characters, not only white space."""
    return _check_text("experiment name", name, MAX_EXPERIMENT_NAME_LENGTH, allow_empty=False)


def validate_request_id(request_id: object) -> str | None:
    """Check an idempotency key: at most 64 printable ASCII characters, or None/empty."""
    if request_id is None or request_id == "":
        return None
    if (
        not isinstance(request_id, str)
        or len(request_id) > MAX_REQUEST_ID_LENGTH
        or not _REQUEST_ID_RE.match(request_id)
    ):
        raise InvalidArgument(
            f"invalid request id {_clip(request_id)}: expected 1-{MAX_REQUEST_ID_LENGTH} "
            "printable ASCII characters",
            request_id=request_id,
        )
    return request_id


def validate_timestamp(value: object, what: str = "timestamp") -> int:
    """Check a time in ms: an integer from 0 to 2**63-1."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{what} must be an integer (ms), got {_clip(value)}", value=value)
    if value < 0 or value > INT64_MAX:
        raise InvalidArgument(f"{what} must be >= 0 and fit in 64 bits, got {value}", value=value)
    return value


def validate_metric(metric: Metric) -> Metric:
    """Check one metric point: valid key, a real number (NaN and inf allowed), int64 step."""
    validate_key(metric.key, "metric key")
    value = metric.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgument(
            f"metric {metric.key!r} value must be a number, got {_clip(value)}",
            key=metric.key,
            value=value,
        )
    if isinstance(value, int) and abs(value) > _FLOAT_MAX:
        raise InvalidArgument(
            f"metric {metric.key!r} value {value} is out of range", key=metric.key
        )
    validate_timestamp(metric.timestamp, f"metric {metric.key!r} timestamp")
    step = metric.step
    if isinstance(step, bool) or not isinstance(step, int) or not INT64_MIN <= step <= INT64_MAX:
        raise InvalidArgument(
            f"metric {metric.key!r} step must be a 64-bit integer, got {_clip(step)}",
            key=metric.key,
            step=step,
        )
    return metric


def validate_param(param: Param) -> Param:
    """Check one param: valid key, string value of at most 6000 characters."""
    validate_key(param.key, "param key")
    _check_text(f"param {param.key!r} value", param.value, MAX_PARAM_VALUE_LENGTH)
    return param


def validate_tag(tag: RunTag) -> RunTag:
    """Check one run tag: valid key, string value of at most 8000 characters."""
    validate_key(tag.key, "tag key")
    _check_text(f"tag {tag.key!r} value", tag.value, MAX_TAG_VALUE_LENGTH)
    return tag


def validate_batch(
    metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]
) -> None:
    """Check batch limits and each entry; duplicate param keys must agree."""
    if len(metrics) > MAX_METRICS_PER_BATCH:
        raise InvalidArgument(
            f"a batch may hold at most {MAX_METRICS_PER_BATCH} metrics, got {len(metrics)}",
            metrics=len(metrics),
        )
    if len(params) > MAX_PARAMS_TAGS_PER_BATCH:
        raise InvalidArgument(
            f"a batch may hold at most {MAX_PARAMS_TAGS_PER_BATCH} params, got {len(params)}",
            params=len(params),
        )
    if len(tags) > MAX_PARAMS_TAGS_PER_BATCH:
        raise InvalidArgument(
            f"a batch may hold at most {MAX_PARAMS_TAGS_PER_BATCH} tags, got {len(tags)}",
            tags=len(tags),
        )
    total = len(metrics) + len(params) + len(tags)
    if total > MAX_ENTRIES_PER_BATCH:
        raise InvalidArgument(
            f"a batch may hold at most {MAX_ENTRIES_PER_BATCH} entries in all, got {total}",
            entries=total,
        )
    # A batch repeats a few keys many times: a key already known valid skips validate_key,
    # and each point's number fields take a fast path for the types the wire delivers.
    for m in metrics:
        key = m.key
        if type(key) is not str or key not in _VALID_KEYS:
            validate_key(key, "metric key")
        value, ts, step = m.value, m.timestamp, m.step
        if not (
            type(value) is float
            and type(ts) is int
            and 0 <= ts <= INT64_MAX
            and type(step) is int
            and INT64_MIN <= step <= INT64_MAX
        ):
            validate_metric(m)
    seen: dict[str, str] = {}
    for p in params:
        validate_param(p)
        if p.key in seen and seen[p.key] != p.value:
            raise InvalidArgument(
                f"param {p.key!r} appears twice in one batch with different values "
                f"{seen[p.key]!r} and {p.value!r}",
                key=p.key,
            )
        seen[p.key] = p.value
    for t in tags:
        validate_tag(t)


def validate_max_results(max_results: object, limit: int = SEARCH_MAX_RESULTS_LIMIT) -> int:
    """Check a page size: an integer from 1 to the limit."""
    if isinstance(max_results, bool) or not isinstance(max_results, int):
        raise InvalidArgument(f"max_results must be an integer, got {_clip(max_results)}")
    if not 1 <= max_results <= limit:
        raise InvalidArgument(
            f"max_results must be between 1 and {limit}, got {max_results}",
            max_results=max_results,
        )
    return max_results


def validate_search(filter_string: object, order_by: Sequence[str]) -> None:
    """Check the sizes of a filter and an order_by list (their grammar is checked by the store)."""
    if filter_string is not None:
        _check_text("filter", filter_string, MAX_FILTER_LENGTH)
    if isinstance(order_by, str):
        raise InvalidArgument(f"order_by must be a list of strings, got the string {order_by!r}")
    if len(order_by) > MAX_ORDER_BY_CLAUSES:
        raise InvalidArgument(
            f"at most {MAX_ORDER_BY_CLAUSES} order_by clauses, got {len(order_by)}"
        )
    for clause in order_by:
        _check_text("order_by clause", clause, 1000)


def validate_view_type(view_type: object) -> ViewType:
    """Check a view type (1, 2 or 3)."""
    try:
        return ViewType(view_type)
    except ValueError:
        raise InvalidArgument(
            f"invalid view type {view_type!r}: expected ACTIVE_ONLY, DELETED_ONLY or ALL",
            view_type=view_type,
        ) from None


def validate_status(status: object) -> RunStatus:
    """Check a run status name."""
    try:
        return RunStatus(status)
    except ValueError:
        names = ", ".join(s.value for s in RunStatus)
        raise InvalidArgument(
            f"invalid run status {status!r}: expected one of {names}", status=status
        ) from None


def validate_artifact_location(location: object) -> str | None:
    """Check an experiment's artifact location string (where it may point is the server's call)."""
    if location is None or location == "":
        return None
    text = _check_text("artifact location", location, MAX_ARTIFACT_LOCATION_LENGTH)
    if text.startswith("runs:") or text.startswith("models:"):
        raise InvalidArgument(
            f"artifact location {text!r} may not be a runs:/ or models:/ URI", location=text
        )
    return text


def validate_tags_mapping(tags: Mapping[str, str] | None, max_value: int) -> dict[str, str]:
    """Check a tag mapping given at creation time."""
    out: dict[str, str] = {}
    for key, value in (tags or {}).items():
        validate_key(key, "tag key")
        out[key] = _check_text(f"tag {key!r} value", value, max_value)
    return out


class ValidatingTrackingStore(TrackingStore):
    """Applies every rule of this module, then delegates to the wrapped store."""

    def __init__(self, inner: TrackingStore) -> None:
        self.inner = inner

    def create_experiment(
        self,
        name: str,
        *,
        artifact_location: str | None = None,
        tags: Mapping[str, str] | None = None,
        request_id: str | None = None,
    ) -> str:
        """Create an experiment after validating its name, location and tags."""
        return self.inner.create_experiment(
            validate_experiment_name(name),
            artifact_location=validate_artifact_location(artifact_location),
            tags=validate_tags_mapping(tags, MAX_EXPERIMENT_TAG_VALUE_LENGTH),
            request_id=validate_request_id(request_id),
        )

    def get_experiment(self, experiment_id: str) -> Experiment:
        """Get an experiment by a valid id."""
        return self.inner.get_experiment(validate_experiment_id(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """Get an experiment by a valid name."""
        return self.inner.get_experiment_by_name(validate_experiment_name(name))

    def search_experiments(
        self,
        *,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        filter_string: str = "",
        order_by: Sequence[str] = (),
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """Search experiments after checking sizes and limits."""
        validate_search(filter_string, order_by or ())
        return self.inner.search_experiments(
            view_type=validate_view_type(view_type),
            filter_string=filter_string or "",
            order_by=list(order_by or ()),
            max_results=validate_max_results(max_results),
            page_token=page_token or None,
        )

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Rename an experiment to a valid name."""
        self.inner.rename_experiment(
            validate_experiment_id(experiment_id), validate_experiment_name(new_name)
        )

    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete an experiment."""
        self.inner.delete_experiment(validate_experiment_id(experiment_id))

    def restore_experiment(self, experiment_id: str) -> None:
        """Restore an experiment."""
        self.inner.restore_experiment(validate_experiment_id(experiment_id))

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        """Upsert a valid experiment tag."""
        validate_key(key, "tag key")
        _check_text(f"tag {key!r} value", value, MAX_EXPERIMENT_TAG_VALUE_LENGTH)
        self.inner.set_experiment_tag(validate_experiment_id(experiment_id), key, value)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Delete an experiment tag."""
        self.inner.delete_experiment_tag(
            validate_experiment_id(experiment_id), validate_key(key, "tag key")
        )

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
        """Create a run after validating every field."""
        if start_time is not None and start_time != 0:
            validate_timestamp(start_time, "start_time")
        if run_name:
            _check_text("run name", run_name, MAX_RUN_NAME_LENGTH)
        _check_text("user id", user_id or "", MAX_USER_ID_LENGTH)
        checked_tags = validate_tags_mapping(tags, MAX_TAG_VALUE_LENGTH)
        if len(checked_tags) > MAX_PARAMS_TAGS_PER_BATCH * 10:
            raise InvalidArgument(f"too many tags at run creation: {len(checked_tags)}")
        return self.inner.create_run(
            experiment_id=validate_experiment_id(experiment_id),
            user_id=user_id or "",
            start_time=start_time or None,
            run_name=run_name or None,
            tags=checked_tags,
            request_id=validate_request_id(request_id),
        )

    def get_run(self, run_id: str) -> Run:
        """Get a run by a valid id."""
        return self.inner.get_run(validate_run_id(run_id))

    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        """Update a run with a valid status, end time and name."""
        if end_time is not None:
            validate_timestamp(end_time, "end_time")
        if run_name is not None:
            _check_text("run name", run_name, MAX_RUN_NAME_LENGTH, allow_empty=False)
        return self.inner.update_run(
            validate_run_id(run_id),
            status=None if status is None else validate_status(status),
            end_time=end_time,
            run_name=run_name,
        )

    def delete_run(self, run_id: str) -> None:
        """Soft-delete a run."""
        self.inner.delete_run(validate_run_id(run_id))

    def restore_run(self, run_id: str) -> None:
        """Restore a run."""
        self.inner.restore_run(validate_run_id(run_id))

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
        """Search runs after checking ids, sizes and limits."""
        if isinstance(experiment_ids, str):
            experiment_ids = [experiment_ids]
        if len(experiment_ids) > MAX_EXPERIMENT_IDS_PER_SEARCH:
            raise InvalidArgument(
                f"at most {MAX_EXPERIMENT_IDS_PER_SEARCH} experiment ids per search, "
                f"got {len(experiment_ids)}"
            )
        ids = [validate_experiment_id(e) for e in experiment_ids]
        validate_search(filter_string, order_by or ())
        return self.inner.search_runs(
            experiment_ids=ids,
            filter_string=filter_string or "",
            view_type=validate_view_type(view_type),
            max_results=validate_max_results(max_results),
            order_by=list(order_by or ()),
            page_token=page_token or None,
        )

    def log_batch(
        self,
        run_id: str,
        *,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        request_id: str | None = None,
    ) -> None:
        """Log a batch after checking limits and every entry."""
        validate_run_id(run_id)
        validate_batch(metrics, params, tags)
        self.inner.log_batch(
            run_id,
            metrics=metrics,
            params=params,
            tags=tags,
            request_id=validate_request_id(request_id),
        )

    def log_metric(self, run_id: str, metric: Metric) -> None:
        """Log one valid metric point."""
        self.inner.log_metric(validate_run_id(run_id), validate_metric(metric))

    def log_param(self, run_id: str, param: Param) -> None:
        """Log one valid param."""
        self.inner.log_param(validate_run_id(run_id), validate_param(param))

    def set_tag(self, run_id: str, tag: RunTag) -> None:
        """Upsert one valid run tag."""
        self.inner.set_tag(validate_run_id(run_id), validate_tag(tag))

    def delete_tag(self, run_id: str, key: str) -> None:
        """Delete a run tag."""
        self.inner.delete_tag(validate_run_id(run_id), validate_key(key, "tag key"))

    def log_batches(self, batches: Iterable[LogBatch]) -> int:
        """Validate each batch as it streams past, then apply it."""

        def checked() -> Iterable[LogBatch]:
            for batch in batches:
                validate_run_id(batch.run_id)
                validate_batch(batch.metrics, batch.params, batch.tags)
                validate_request_id(batch.request_id)
                yield batch

        return self.inner.log_batches(checked())

    def get_metric_history(
        self,
        run_id: str,
        key: str,
        *,
        max_results: int | None = None,
        page_token: str | None = None,
        max_points: int | None = None,
    ) -> tuple[MetricHistory, str | None]:
        """Get a metric history page after checking sizes."""
        validate_run_id(run_id)
        validate_key(key, "metric key")
        if max_results is not None:
            validate_max_results(max_results, METRIC_HISTORY_PAGE_MAX)
        if max_points is not None and max_points != 0:
            _validate_max_points(max_points)
        return self.inner.get_metric_history(
            run_id,
            key,
            max_results=max_results,
            page_token=page_token or None,
            max_points=max_points or None,
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
        """Get several runs' histories of one metric after checking sizes."""
        if not run_ids or len(run_ids) > METRIC_HISTORY_BULK_MAX_RUNS:
            raise InvalidArgument(
                f"give 1 to {METRIC_HISTORY_BULK_MAX_RUNS} run ids, got {len(run_ids)}"
            )
        for run_id in run_ids:
            validate_run_id(run_id)
        validate_key(key, "metric key")
        if max_points is not None and max_points != 0:
            _validate_max_points(max_points)
        if start_step is not None and end_step is not None and start_step > end_step:
            raise InvalidArgument(
                f"start_step {start_step} is after end_step {end_step}",
                start_step=start_step,
                end_step=end_step,
            )
        return self.inner.get_metric_history_bulk(
            list(run_ids),
            key,
            max_points=max_points or None,
            start_step=start_step,
            end_step=end_step,
        )

    def list_deleted_runs(
        self,
        *,
        deleted_before: int | None = None,
        run_ids: Sequence[str] | None = None,
        experiment_ids: Sequence[str] | None = None,
    ) -> list[DeletedRun]:
        """List soft-deleted runs after checking the time and every id."""
        return self.inner.list_deleted_runs(
            deleted_before=_optional_timestamp(deleted_before, "deleted_before"),
            run_ids=None if run_ids is None else [validate_run_id(r) for r in _ids(run_ids)],
            experiment_ids=(
                None
                if experiment_ids is None
                else [validate_experiment_id(e) for e in _ids(experiment_ids)]
            ),
        )

    def list_deleted_experiments(
        self,
        *,
        deleted_before: int | None = None,
        experiment_ids: Sequence[str] | None = None,
    ) -> list[DeletedExperiment]:
        """List soft-deleted experiments after checking the time and every id."""
        return self.inner.list_deleted_experiments(
            deleted_before=_optional_timestamp(deleted_before, "deleted_before"),
            experiment_ids=(
                None
                if experiment_ids is None
                else [validate_experiment_id(e) for e in _ids(experiment_ids)]
            ),
        )

    def purge_run(self, run_id: str) -> bool:
        """Permanently delete a soft-deleted run's rows."""
        return self.inner.purge_run(validate_run_id(run_id))

    def purge_experiment(self, experiment_id: str) -> bool:
        """Permanently delete a soft-deleted experiment without runs."""
        return self.inner.purge_experiment(validate_experiment_id(experiment_id))

    def protected_artifact_uris(self) -> frozenset[str]:
        """Artifact URIs that back registered model versions."""
        return self.inner.protected_artifact_uris()

    def artifact_location_in_use(self, location: str, *, experiment_id: str) -> bool:
        """Whether anything but this experiment uses a URI overlapping `location`."""
        _check_text("artifact location", location, MAX_ARTIFACT_LOCATION_LENGTH, allow_empty=False)
        return self.inner.artifact_location_in_use(
            location, experiment_id=validate_experiment_id(experiment_id)
        )

    def close(self) -> None:
        """Close the wrapped store."""
        self.inner.close()


def _ids(ids: Sequence[str]) -> list[str]:
    """A list of ids, refusing a bare string (which would iterate as characters)."""
    if isinstance(ids, str):
        raise InvalidArgument(f"expected a list of ids, got the string {ids!r}", ids=ids)
    return list(ids)


def _optional_timestamp(value: int | None, what: str) -> int | None:
    """None, or a valid time in ms."""
    return None if value is None else validate_timestamp(value, what)


def _validate_max_points(max_points: object) -> None:
    if (
        isinstance(max_points, bool)
        or not isinstance(max_points, int)
        or not (4 <= max_points <= METRIC_HISTORY_PAGE_MAX)
    ):
        raise InvalidArgument(
            f"max_points must be an integer from 4 to {METRIC_HISTORY_PAGE_MAX}, "
            f"got {max_points!r}",
            max_points=max_points,
        )
