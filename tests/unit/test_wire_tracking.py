"""Round trips of every tracking message through the wire converters, and enum coverage."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

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
from modelyard.wire import tracking as wire

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
KEYS = st.text(
    alphabet=st.characters(whitelist_categories=("L", "Nd"), whitelist_characters="_-. :/"),
    min_size=1,
    max_size=30,
)
FLOATS = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [math.nan, math.inf, -math.inf, -0.0, 0.0, 5e-324, 1.7976931348623157e308]
)
HEX32 = st.text(alphabet="0123456789abcdef", min_size=32, max_size=32)


def bits(value: float) -> bytes:
    """Exact IEEE representation, so NaN and -0.0 compare by identity of their bits."""
    return struct.pack("<d", value)


def reparse(message, cls):
    """Serialise and parse again, as the wire does."""
    return cls.FromString(message.SerializeToString())


metrics = st.builds(Metric, key=KEYS, value=FLOATS, timestamp=INT64, step=INT64)
params = st.builds(Param, key=KEYS, value=TEXT)
tags = st.builds(RunTag, key=KEYS, value=TEXT)
experiments = st.builds(
    Experiment,
    experiment_id=st.integers(0, 10**12).map(str),
    name=TEXT,
    artifact_location=TEXT,
    lifecycle_stage=st.sampled_from(LifecycleStage),
    tags=st.dictionaries(KEYS, TEXT, max_size=5),
    creation_time=INT64,
    last_update_time=INT64,
)
run_infos = st.builds(
    RunInfo,
    run_id=HEX32,
    experiment_id=st.integers(0, 10**12).map(str),
    run_name=TEXT,
    user_id=TEXT,
    status=st.sampled_from(RunStatus),
    start_time=INT64,
    end_time=st.none() | INT64,
    artifact_uri=TEXT,
    lifecycle_stage=st.sampled_from(LifecycleStage),
)
run_datas = st.builds(
    RunData,
    metric_list=st.lists(metrics, max_size=5).map(tuple),
    params=st.dictionaries(KEYS, TEXT, max_size=5),
    tags=st.dictionaries(KEYS, TEXT, max_size=5),
)
runs = st.builds(Run, info=run_infos, data=run_datas)


@st.composite
def histories(draw: st.DrawFn) -> MetricHistory:
    n = draw(st.integers(0, 30))
    return MetricHistory(
        run_id=draw(HEX32),
        key=draw(KEYS),
        steps=draw(st.lists(INT64, min_size=n, max_size=n)),
        timestamps=draw(st.lists(INT64, min_size=n, max_size=n)),
        values=draw(st.lists(FLOATS, min_size=n, max_size=n)),
    )


batches = st.builds(
    LogBatch,
    run_id=HEX32,
    metrics=st.lists(metrics, max_size=5),
    params=st.lists(params, max_size=5),
    tags=st.lists(tags, max_size=5),
    request_id=st.none() | st.text(alphabet="abcdef0123456789-", min_size=1, max_size=64),
)


@given(metrics)
def test_metric_round_trip(metric: Metric) -> None:
    back = wire.metric_from_pb(reparse(wire.metric_to_pb(metric), pb.Metric))
    assert back == metric
    assert bits(back.value) == bits(metric.value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_metric_special_values_exact(value: float) -> None:
    back = wire.metric_from_pb(
        reparse(wire.metric_to_pb(Metric(key="m", value=value, timestamp=1)), pb.Metric)
    )
    assert bits(back.value) == bits(value)


@given(params)
def test_param_round_trip(param: Param) -> None:
    assert wire.param_from_pb(reparse(wire.param_to_pb(param), pb.Param)) == param


@given(tags)
def test_tag_round_trip(tag: RunTag) -> None:
    assert wire.tag_from_pb(reparse(wire.tag_to_pb(tag), pb.RunTag)) == tag


@given(experiments)
def test_experiment_round_trip(experiment: Experiment) -> None:
    back = wire.experiment_from_pb(reparse(wire.experiment_to_pb(experiment), pb.Experiment))
    assert back == experiment


@given(run_infos)
def test_run_info_round_trip(info: RunInfo) -> None:
    back = wire.run_info_from_pb(reparse(wire.run_info_to_pb(info), pb.RunInfo))
    assert back == info
    assert isinstance(back.status, RunStatus)
    assert isinstance(back.lifecycle_stage, LifecycleStage)


def test_run_info_end_time_zero_is_present() -> None:
    info = RunInfo(
        run_id="a" * 32,
        experiment_id="0",
        run_name="r",
        user_id="u",
        status=RunStatus.FINISHED,
        start_time=0,
        end_time=0,
        artifact_uri="",
        lifecycle_stage=LifecycleStage.ACTIVE,
    )
    message = reparse(wire.run_info_to_pb(info), pb.RunInfo)
    assert message.HasField("end_time")
    assert wire.run_info_from_pb(message).end_time == 0


@given(run_datas)
def test_run_data_round_trip(data: RunData) -> None:
    assert wire.run_data_from_pb(reparse(wire.run_data_to_pb(data), pb.RunData)) == data


@given(runs)
def test_run_round_trip(run: Run) -> None:
    assert wire.run_from_pb(reparse(wire.run_to_pb(run), pb.Run)) == run


@given(histories())
def test_metric_history_round_trip(history: MetricHistory) -> None:
    back = wire.metric_history_from_pb(
        reparse(wire.metric_history_to_pb(history), pb.MetricHistory)
    )
    assert (back.run_id, back.key) == (history.run_id, history.key)
    assert list(back.steps) == list(history.steps)
    assert list(back.timestamps) == list(history.timestamps)
    assert [bits(v) for v in back.values] == [bits(v) for v in history.values]
    assert back.to_metrics() == history.to_metrics()


def test_metric_history_ragged_arrays_refused() -> None:
    message = pb.MetricHistory(run_id="a" * 32, key="m", steps=[1, 2], timestamps=[1], values=[])
    with pytest.raises(InvalidArgument, match="differ in length"):
        wire.metric_history_from_pb(message)


@given(batches)
def test_log_batch_round_trip(batch: LogBatch) -> None:
    back = wire.log_batch_from_pb(reparse(wire.log_batch_to_pb(batch), pb.LogBatchRequest))
    assert back.run_id == batch.run_id
    assert list(back.metrics) == list(batch.metrics)
    assert list(back.params) == list(batch.params)
    assert list(back.tags) == list(batch.tags)
    assert back.request_id == batch.request_id


# -- enums ---------------------------------------------------------------------------------


def test_every_run_status_is_mapped() -> None:
    for name, number in pb.RunStatus.items():
        if number == pb.RUN_STATUS_UNSPECIFIED:
            with pytest.raises(InvalidArgument, match="RUN_STATUS_UNSPECIFIED"):
                wire.run_status_from_pb(number)
            continue
        status = wire.run_status_from_pb(number)
        assert name == f"RUN_STATUS_{status.value}"
        assert wire.run_status_to_pb(status) == number
    assert set(wire.RUN_STATUS_TO_PB) == set(RunStatus)


def test_every_lifecycle_stage_is_mapped() -> None:
    for name, number in cpb.LifecycleStage.items():
        if number == cpb.LIFECYCLE_STAGE_UNSPECIFIED:
            with pytest.raises(InvalidArgument):
                wire.lifecycle_stage_from_pb(number)
            continue
        stage = wire.lifecycle_stage_from_pb(number)
        assert name == f"LIFECYCLE_STAGE_{stage.value.upper()}"
        assert wire.lifecycle_stage_to_pb(stage) == number
    assert set(wire.LIFECYCLE_STAGE_TO_PB) == set(LifecycleStage)


def test_every_view_type_is_mapped() -> None:
    for name, number in cpb.ViewType.items():
        view_type = wire.view_type_from_pb(number)
        if number == cpb.VIEW_TYPE_UNSPECIFIED:
            assert view_type is ViewType.ACTIVE_ONLY
            continue
        assert name == f"VIEW_TYPE_{view_type.name}"
        assert wire.view_type_to_pb(view_type) == number
    assert set(wire.VIEW_TYPE_TO_PB) == set(ViewType)


def test_mlflow_strings_map_like_the_enums() -> None:
    assert wire.run_status_to_pb("FINISHED") == pb.RUN_STATUS_FINISHED
    assert wire.lifecycle_stage_to_pb("deleted") == cpb.LIFECYCLE_STAGE_DELETED
    assert wire.view_type_to_pb(3) == cpb.VIEW_TYPE_ALL


@pytest.mark.parametrize(
    "convert",
    [wire.run_status_from_pb, wire.lifecycle_stage_from_pb, wire.view_type_from_pb],
)
def test_unknown_enum_number_is_invalid_argument(convert) -> None:
    with pytest.raises(InvalidArgument, match="99"):
        convert(99)


@pytest.mark.parametrize(
    ("convert", "value"),
    [
        (wire.run_status_to_pb, "DONE"),
        (wire.lifecycle_stage_to_pb, "gone"),
        (wire.view_type_to_pb, 7),
    ],
)
def test_unknown_domain_value_is_invalid_argument(convert, value) -> None:
    with pytest.raises(InvalidArgument, match=str(value)):
        convert(value)
