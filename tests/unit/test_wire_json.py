"""run_to_json (the JSON gateway's fast path for runs) equals the generic encoding of run_to_pb."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from modelyard.entities import LifecycleStage, Metric, Run, RunData, RunInfo, RunStatus
from modelyard.gateway.codec import message_to_dict
from modelyard.wire import tracking as wire

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
TEXT = st.text(max_size=12)
DOUBLES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, math.nan, math.inf, -math.inf, 1e-310, 5e-324]),
)

runs = st.builds(
    lambda info, metrics, params, tags: Run(
        info=info, data=RunData(metric_list=tuple(metrics), params=params, tags=tags)
    ),
    st.builds(
        RunInfo,
        run_id=TEXT,
        experiment_id=TEXT,
        run_name=TEXT,
        user_id=TEXT,
        status=st.sampled_from(list(RunStatus)),
        start_time=INT64,
        end_time=st.one_of(st.none(), st.just(0), INT64),
        artifact_uri=TEXT,
        lifecycle_stage=st.sampled_from(list(LifecycleStage)),
    ),
    st.lists(st.builds(Metric, key=TEXT, value=DOUBLES, timestamp=INT64, step=INT64), max_size=4),
    st.dictionaries(TEXT, TEXT, max_size=3),
    st.dictionaries(TEXT, TEXT, max_size=3),
)


@settings(max_examples=400, deadline=None)
@given(runs)
def test_run_to_json_is_the_json_mapping_of_run_to_pb(run: Run) -> None:
    expected = message_to_dict(wire.run_to_pb(run))
    got = wire.run_to_json(run)
    assert _comparable(got) == _comparable(expected)


def test_defaults_and_special_values() -> None:
    info = RunInfo(
        run_id="r",
        experiment_id="1",
        run_name="",
        user_id="",
        status=RunStatus.RUNNING,
        start_time=0,
        end_time=0,
        artifact_uri="",
        lifecycle_stage=LifecycleStage.ACTIVE,
    )
    data = RunData(
        metric_list=(
            Metric("zero", 0.0, 0, 0),
            Metric("negative-zero", -0.0, 5, 0),
            Metric("nan", math.nan, 1, 2),
            Metric("inf", -math.inf, 1, 2),
        )
    )
    got = wire.run_to_json(Run(info=info, data=data))
    assert got["info"] == {
        "runId": "r",
        "experimentId": "1",
        "status": "RUN_STATUS_RUNNING",
        "endTime": "0",  # optional field: present when set, even to 0
        "lifecycleStage": "LIFECYCLE_STAGE_ACTIVE",
    }
    assert got["data"]["metrics"] == [
        {"key": "zero"},
        {"key": "negative-zero", "value": -0.0, "timestamp": "5"},
        {"key": "nan", "value": "NaN", "timestamp": "1", "step": "2"},
        {"key": "inf", "value": "-Infinity", "timestamp": "1", "step": "2"},
    ]
    assert math.copysign(1.0, got["data"]["metrics"][1]["value"]) < 0
    assert "params" not in got["data"] and "tags" not in got["data"]


def _comparable(value: object) -> object:
    """Floats by their bits (so -0.0 differs from 0.0 and NaN equals NaN)."""
    if isinstance(value, float):
        return ("float", value.hex())
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return value
