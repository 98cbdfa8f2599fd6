"""Pure converters between the tracking entities and the `modelyard.v1` messages.

Every function is free and side-effect free: `x_to_pb(entity) -> message` and
`x_from_pb(message) -> entity`. Enum maps are explicit dicts in both directions; a value the
other side does not know becomes `InvalidArgument` naming it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from modelyard.entities import (
    Experiment,
    LifecycleStage,
    Metric,
    MetricHistory,
    Param,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from modelyard.errors import InvalidArgument
from modelyard.stores import LogBatch
from modelyard.v1 import common_pb2 as cpb
from modelyard.v1 import tracking_pb2 as pb

# -- enums -------------------------------------------------------------------------------

V = TypeVar("V")

#: RunStatus -> proto RunStatus.
RUN_STATUS_TO_PB: Mapping[RunStatus, pb.RunStatus] = MappingProxyType(
    {
        RunStatus.RUNNING: pb.RUN_STATUS_RUNNING,
        RunStatus.SCHEDULED: pb.RUN_STATUS_SCHEDULED,
        RunStatus.FINISHED: pb.RUN_STATUS_FINISHED,
        RunStatus.FAILED: pb.RUN_STATUS_FAILED,
        RunStatus.KILLED: pb.RUN_STATUS_KILLED,
    }
)
#: proto RunStatus -> RunStatus (UNSPECIFIED is refused).
RUN_STATUS_FROM_PB: Mapping[int, RunStatus] = MappingProxyType(
    {int(v): k for k, v in RUN_STATUS_TO_PB.items()}
)

#: LifecycleStage -> proto LifecycleStage.
LIFECYCLE_STAGE_TO_PB: Mapping[LifecycleStage, cpb.LifecycleStage] = MappingProxyType(
    {
        LifecycleStage.ACTIVE: cpb.LIFECYCLE_STAGE_ACTIVE,
        LifecycleStage.DELETED: cpb.LIFECYCLE_STAGE_DELETED,
    }
)
#: proto LifecycleStage -> LifecycleStage (UNSPECIFIED is refused).
LIFECYCLE_STAGE_FROM_PB: Mapping[int, LifecycleStage] = MappingProxyType(
    {int(v): k for k, v in LIFECYCLE_STAGE_TO_PB.items()}
)

#: ViewType -> proto ViewType.
VIEW_TYPE_TO_PB: Mapping[ViewType, cpb.ViewType] = MappingProxyType(
    {
        ViewType.ACTIVE_ONLY: cpb.VIEW_TYPE_ACTIVE_ONLY,
        ViewType.DELETED_ONLY: cpb.VIEW_TYPE_DELETED_ONLY,
        ViewType.ALL: cpb.VIEW_TYPE_ALL,
    }
)
#: proto ViewType -> ViewType; UNSPECIFIED means ACTIVE_ONLY (documented in the proto).
VIEW_TYPE_FROM_PB: Mapping[int, ViewType] = MappingProxyType(
    {
        int(cpb.VIEW_TYPE_UNSPECIFIED): ViewType.ACTIVE_ONLY,
        **{int(v): k for k, v in VIEW_TYPE_TO_PB.items()},
    }
)


def enum_from_pb(
    table: Mapping[int, V], value: int, what: str, names: Any, *, key: str | None = None
) -> V:
    """`table[value]`, else InvalidArgument naming the proto enum value (detail `key`, by
    default `what` with underscores)."""
    try:
        return table[value]
    except KeyError:
        try:
            name = str(names.Name(value))
        except ValueError:
            name = str(value)
        detail = {key or what.replace(" ", "_"): name}
        raise InvalidArgument(f"unsupported {what} {name}", **detail) from None


def _enum_to_pb(table: Mapping[Any, V], value: object, what: str) -> V:
    try:
        return table[value]
    except (KeyError, TypeError):
        detail = {what.replace(" ", "_"): value}
        raise InvalidArgument(f"unsupported {what} {value!r}", **detail) from None


def run_status_to_pb(status: RunStatus | str) -> pb.RunStatus:
    """A RunStatus (or its MLflow string) as the proto enum."""
    return _enum_to_pb(RUN_STATUS_TO_PB, status, "run status")


def run_status_from_pb(value: int) -> RunStatus:
    """The RunStatus of a proto enum number; UNSPECIFIED or unknown is InvalidArgument."""
    return enum_from_pb(RUN_STATUS_FROM_PB, value, "run status", pb.RunStatus)


def lifecycle_stage_to_pb(stage: LifecycleStage | str) -> cpb.LifecycleStage:
    """A LifecycleStage (or "active"/"deleted") as the proto enum."""
    return _enum_to_pb(LIFECYCLE_STAGE_TO_PB, stage, "lifecycle stage")


def lifecycle_stage_from_pb(value: int) -> LifecycleStage:
    """The LifecycleStage of a proto enum number; UNSPECIFIED or unknown is InvalidArgument."""
    return enum_from_pb(LIFECYCLE_STAGE_FROM_PB, value, "lifecycle stage", cpb.LifecycleStage)


def view_type_to_pb(view_type: ViewType | int) -> cpb.ViewType:
    """A ViewType (or MLflow's number) as the proto enum."""
    return _enum_to_pb(VIEW_TYPE_TO_PB, view_type, "view type")


def view_type_from_pb(value: int) -> ViewType:
    """The ViewType of a proto enum number (UNSPECIFIED means ACTIVE_ONLY)."""
    return enum_from_pb(VIEW_TYPE_FROM_PB, value, "view type", cpb.ViewType)


# -- small helpers -----------------------------------------------------------------------


def optional_str(value: str) -> str | None:
    """Proto3's empty string as None."""
    return value or None


# -- experiments -------------------------------------------------------------------------


def experiment_to_pb(experiment: Experiment) -> pb.Experiment:
    """An Experiment as a message."""
    return pb.Experiment(
        experiment_id=experiment.experiment_id,
        name=experiment.name,
        artifact_location=experiment.artifact_location,
        lifecycle_stage=lifecycle_stage_to_pb(experiment.lifecycle_stage),
        creation_time=experiment.creation_time,
        last_update_time=experiment.last_update_time,
        tags=experiment.tags,
    )


def experiment_from_pb(message: pb.Experiment) -> Experiment:
    """An Experiment from a message."""
    return Experiment(
        experiment_id=message.experiment_id,
        name=message.name,
        artifact_location=message.artifact_location,
        lifecycle_stage=lifecycle_stage_from_pb(message.lifecycle_stage),
        tags=dict(message.tags),
        creation_time=message.creation_time,
        last_update_time=message.last_update_time,
    )


# -- metrics, params, tags ---------------------------------------------------------------


def metric_to_pb(metric: Metric) -> pb.Metric:
    """A Metric as a message (NaN and infinities travel as IEEE doubles)."""
    return pb.Metric(
        key=metric.key, value=metric.value, timestamp=metric.timestamp, step=metric.step
    )


def metric_from_pb(message: pb.Metric) -> Metric:
    """A Metric from a message."""
    return Metric(
        key=message.key, value=message.value, timestamp=message.timestamp, step=message.step
    )


def param_to_pb(param: Param) -> pb.Param:
    """A Param as a message."""
    return pb.Param(key=param.key, value=param.value)


def param_from_pb(message: pb.Param) -> Param:
    """A Param from a message."""
    return Param(key=message.key, value=message.value)


def tag_to_pb(tag: RunTag) -> pb.RunTag:
    """A RunTag as a message."""
    return pb.RunTag(key=tag.key, value=tag.value)


def tag_from_pb(message: pb.RunTag) -> RunTag:
    """A RunTag from a message."""
    return RunTag(key=message.key, value=message.value)


# -- runs --------------------------------------------------------------------------------


def run_info_to_pb(info: RunInfo) -> pb.RunInfo:
    """A RunInfo as a message; end_time None stays absent."""
    message = pb.RunInfo(
        run_id=info.run_id,
        experiment_id=info.experiment_id,
        run_name=info.run_name,
        user_id=info.user_id,
        status=run_status_to_pb(info.status),
        start_time=info.start_time,
        artifact_uri=info.artifact_uri,
        lifecycle_stage=lifecycle_stage_to_pb(info.lifecycle_stage),
    )
    if info.end_time is not None:
        message.end_time = info.end_time
    return message


def run_info_from_pb(message: pb.RunInfo) -> RunInfo:
    """A RunInfo from a message; an absent end_time is None."""
    return RunInfo(
        run_id=message.run_id,
        experiment_id=message.experiment_id,
        run_name=message.run_name,
        user_id=message.user_id,
        status=run_status_from_pb(message.status),
        start_time=message.start_time,
        end_time=message.end_time if message.HasField("end_time") else None,
        artifact_uri=message.artifact_uri,
        lifecycle_stage=lifecycle_stage_from_pb(message.lifecycle_stage),
    )


def run_data_to_pb(data: RunData) -> pb.RunData:
    """RunData as a message."""
    message = pb.RunData(params=data.params, tags=data.tags)
    add_metric = message.metrics.add
    for m in data.metric_list:
        add_metric(key=m.key, value=m.value, timestamp=m.timestamp, step=m.step)
    return message


def run_data_from_pb(message: pb.RunData) -> RunData:
    """RunData from a message."""
    return RunData(
        metric_list=tuple(metric_from_pb(m) for m in message.metrics),
        params=dict(message.params),
        tags=dict(message.tags),
    )


def run_to_pb(run: Run) -> pb.Run:
    """A Run as a message."""
    return pb.Run(info=run_info_to_pb(run.info), data=run_data_to_pb(run.data))


# The canonical JSON mapping of run_to_pb(run), built from the entities directly: the JSON
# gateway's hot path (a search page of runs) skips building messages only to read them back.
# tests/unit/test_wire_json.py holds it equal to message_to_dict(run_to_pb(run)).
_RUN_STATUS_JSON = {k: pb.RunStatus.Name(v) for k, v in RUN_STATUS_TO_PB.items()}
_LIFECYCLE_STAGE_JSON = {k: cpb.LifecycleStage.Name(v) for k, v in LIFECYCLE_STAGE_TO_PB.items()}


def _json_double(value: float) -> float | str:
    """A double in the JSON mapping: itself, or "NaN"/"Infinity"/"-Infinity"."""
    if value - value == 0.0:
        return value
    if value != value:
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def run_info_to_json(info: RunInfo) -> dict[str, Any]:
    """run_info_to_pb(info) in protobuf's JSON mapping (defaults left out)."""
    out: dict[str, Any] = {}
    if info.run_id:
        out["runId"] = info.run_id
    if info.experiment_id:
        out["experimentId"] = info.experiment_id
    if info.run_name:
        out["runName"] = info.run_name
    if info.user_id:
        out["userId"] = info.user_id
    status = _RUN_STATUS_JSON.get(info.status)
    if status is None:
        status = pb.RunStatus.Name(run_status_to_pb(info.status))
    out["status"] = status
    if info.start_time:
        out["startTime"] = str(info.start_time)
    if info.end_time is not None:  # optional: present even when 0
        out["endTime"] = str(info.end_time)
    if info.artifact_uri:
        out["artifactUri"] = info.artifact_uri
    stage = _LIFECYCLE_STAGE_JSON.get(info.lifecycle_stage)
    if stage is None:
        stage = cpb.LifecycleStage.Name(lifecycle_stage_to_pb(info.lifecycle_stage))
    out["lifecycleStage"] = stage
    return out


def run_data_to_json(data: RunData) -> dict[str, Any]:
    """run_data_to_pb(data) in protobuf's JSON mapping (defaults left out)."""
    out: dict[str, Any] = {}
    if data.metric_list:
        metrics = []
        for m in data.metric_list:
            point: dict[str, Any] = {}
            if m.key:
                point["key"] = m.key
            value = m.value
            if value or math.copysign(1.0, value) < 0:  # -0.0 is sent, 0.0 is the default
                point["value"] = _json_double(value)
            if m.timestamp:
                point["timestamp"] = str(m.timestamp)
            if m.step:
                point["step"] = str(m.step)
            metrics.append(point)
        out["metrics"] = metrics
    if data.params:
        out["params"] = dict(data.params)
    if data.tags:
        out["tags"] = dict(data.tags)
    return out


def run_to_json(run: Run) -> dict[str, Any]:
    """run_to_pb(run) in protobuf's JSON mapping."""
    return {"info": run_info_to_json(run.info), "data": run_data_to_json(run.data)}


def run_from_pb(message: pb.Run) -> Run:
    """A Run from a message."""
    return Run(info=run_info_from_pb(message.info), data=run_data_from_pb(message.data))


# -- metric history ----------------------------------------------------------------------


def metric_history_to_pb(history: MetricHistory) -> pb.MetricHistory:
    """A MetricHistory as packed parallel arrays."""
    return pb.MetricHistory(
        run_id=history.run_id,
        key=history.key,
        steps=history.steps,
        timestamps=history.timestamps,
        values=history.values,
    )


def metric_history_from_pb(message: pb.MetricHistory) -> MetricHistory:
    """A MetricHistory from packed parallel arrays."""
    steps, timestamps, values = list(message.steps), list(message.timestamps), list(message.values)
    if not len(steps) == len(timestamps) == len(values):
        raise InvalidArgument(
            f"metric history arrays differ in length: {len(steps)} steps, "
            f"{len(timestamps)} timestamps, {len(values)} values"
        )
    return MetricHistory(
        run_id=message.run_id, key=message.key, steps=steps, timestamps=timestamps, values=values
    )


# -- batches -----------------------------------------------------------------------------


def log_batch_to_pb(batch: LogBatch) -> pb.LogBatchRequest:
    """A LogBatch as a LogBatchRequest."""
    message = pb.LogBatchRequest(run_id=batch.run_id, request_id=batch.request_id or "")
    add_metric = message.metrics.add  # add() in place is ~40% faster than building a list
    for m in batch.metrics:
        add_metric(key=m.key, value=m.value, timestamp=m.timestamp, step=m.step)
    add_param = message.params.add
    for p in batch.params:
        add_param(key=p.key, value=p.value)
    add_tag = message.tags.add
    for t in batch.tags:
        add_tag(key=t.key, value=t.value)
    return message


def log_batch_from_pb(message: pb.LogBatchRequest) -> LogBatch:
    """A LogBatch from a LogBatchRequest."""
    return LogBatch(
        run_id=message.run_id,
        metrics=[metric_from_pb(m) for m in message.metrics],
        params=[param_from_pb(p) for p in message.params],
        tags=[tag_from_pb(t) for t in message.tags],
        request_id=message.request_id or None,
    )
