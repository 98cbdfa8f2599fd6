"""Input rules: each bad value is refused with InvalidArgument naming it."""

from __future__ import annotations

import math

import pytest

from modelyard.entities import Metric, Param, RunTag, ViewType
from modelyard.errors import Code, InvalidArgument
from modelyard.validation import (
    MAX_METRICS_PER_BATCH,
    validate_artifact_location,
    validate_batch,
    validate_experiment_id,
    validate_experiment_name,
    validate_key,
    validate_max_results,
    validate_metric,
    validate_param,
    validate_request_id,
    validate_run_id,
    validate_status,
    validate_tag,
    validate_view_type,
)


@pytest.mark.parametrize(
    "key", ["a", "loss", "val/loss", "a b", "x:y", "a-b_c.d", "ünïcode", "k" * 250]
)
def test_good_keys(key: str) -> None:
    """Letters, digits and _ - . space : / are allowed, up to 250 characters."""
    assert validate_key(key) == key


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ("", "empty"),
        ("k" * 251, "250"),
        ("a;b", "'a;b'"),
        ("a\\b", "a\\\\b"),
        ("../x", "'../x'"),
        ("a/../b", "'a/../b'"),
        ("/abs", "'/abs'"),
        ("a//b", "'a//b'"),
        ("a/./b", "'a/./b'"),
        (".", "'.'"),
        ("a\x00b", "a"),
        ("tab\t", "tab"),
    ],
)
def test_bad_keys(key: str, fragment: str) -> None:
    """A bad key is INVALID_ARGUMENT and the message quotes it."""
    with pytest.raises(InvalidArgument) as info:
        validate_key(key, "param key")
    assert info.value.code is Code.INVALID_ARGUMENT
    assert fragment in str(info.value)


def test_non_string_key() -> None:
    """Keys must be strings."""
    with pytest.raises(InvalidArgument, match="must be a string"):
        validate_key(3)


@pytest.mark.parametrize("value", [1.5, 0, -3, math.nan, math.inf, -math.inf, 10**300])
def test_metric_values_accepted(value: float) -> None:
    """Any real number, NaN and infinities included."""
    validate_metric(Metric(key="m", value=value, timestamp=0, step=0))


@pytest.mark.parametrize("value", ["1.5", None, True, [1], 10**400])
def test_metric_values_refused(value: object) -> None:
    """Non-numbers, bools and ints beyond a double are refused, naming the key."""
    with pytest.raises(InvalidArgument, match="'m'"):
        validate_metric(Metric(key="m", value=value, timestamp=0, step=0))  # type: ignore[arg-type]


@pytest.mark.parametrize(("timestamp", "step"), [(-1, 0), (2**63, 0), (0, 2**63), (0, 1.5)])
def test_metric_timestamps_and_steps(timestamp: int, step: int) -> None:
    """Timestamps are non-negative int64; steps are int64."""
    with pytest.raises(InvalidArgument):
        validate_metric(Metric(key="m", value=1.0, timestamp=timestamp, step=step))


def test_param_and_tag_value_limits() -> None:
    """Params hold up to 6000 characters, run tags 8000."""
    validate_param(Param(key="p", value="x" * 6000))
    with pytest.raises(InvalidArgument, match="6000"):
        validate_param(Param(key="p", value="x" * 6001))
    validate_tag(RunTag(key="t", value="x" * 8000))
    with pytest.raises(InvalidArgument, match="8000"):
        validate_tag(RunTag(key="t", value="x" * 8001))


def test_batch_limits() -> None:
    """At most 1000 metrics, 100 params, 100 tags and 1000 entries in all."""
    metric = Metric(key="m", value=1.0, timestamp=1, step=0)
    validate_batch([metric] * MAX_METRICS_PER_BATCH, [], [])
    with pytest.raises(InvalidArgument, match="1001"):
        validate_batch([metric] * (MAX_METRICS_PER_BATCH + 1), [], [])
    params = [Param(key=f"p{i}", value="v") for i in range(101)]
    with pytest.raises(InvalidArgument, match="101"):
        validate_batch([], params, [])
    with pytest.raises(InvalidArgument, match="in all"):
        validate_batch([metric] * 950, params[:100], [])


def test_batch_duplicate_param_keys() -> None:
    """The same key twice must carry the same value."""
    validate_batch([], [Param(key="p", value="1"), Param(key="p", value="1")], [])
    with pytest.raises(InvalidArgument, match="'p'"):
        validate_batch([], [Param(key="p", value="1"), Param(key="p", value="2")], [])


@pytest.mark.parametrize("run_id", ["", "abc", "A" * 32, "g" * 32, "0" * 33, None, 12])
def test_bad_run_ids(run_id: object) -> None:
    """Run ids are 32 lowercase hex characters."""
    with pytest.raises(InvalidArgument, match="run id"):
        validate_run_id(run_id)


def test_experiment_ids() -> None:
    """Experiment ids are decimal strings; ints are accepted and normalised."""
    assert validate_experiment_id("0") == "0"
    assert validate_experiment_id(7) == "7"
    for bad in ["", "-1", "1.5", "x", "1; DROP TABLE runs", True]:
        with pytest.raises(InvalidArgument):
            validate_experiment_id(bad)


def test_experiment_names() -> None:
    """Names are 1-500 characters and not only white space."""
    assert validate_experiment_name("e" * 500) == "e" * 500
    for bad in ["", "   ", "e" * 501, None]:
        with pytest.raises(InvalidArgument):
            validate_experiment_name(bad)


def test_max_results_bounds() -> None:
    """Page sizes run from 1 to 50,000."""
    assert validate_max_results(1) == 1
    assert validate_max_results(50_000) == 50_000
    for bad in [0, -1, 50_001, 10_000_000, True, "10"]:
        with pytest.raises(InvalidArgument):
            validate_max_results(bad)


def test_request_ids() -> None:
    """Idempotency keys are short printable ASCII, or absent."""
    assert validate_request_id(None) is None
    assert validate_request_id("") is None
    assert validate_request_id("r-1") == "r-1"
    for bad in ["x" * 65, "has space", "é"]:
        with pytest.raises(InvalidArgument):
            validate_request_id(bad)


def test_enums() -> None:
    """Statuses and view types outside their sets are refused."""
    assert validate_status("FINISHED") == "FINISHED"
    assert validate_view_type(3) is ViewType.ALL
    with pytest.raises(InvalidArgument, match="'DONE'"):
        validate_status("DONE")
    with pytest.raises(InvalidArgument):
        validate_view_type(7)


def test_artifact_location_text() -> None:
    """runs:/ and models:/ URIs are not artifact locations."""
    assert validate_artifact_location(None) is None
    assert validate_artifact_location("s3://bucket/x") == "s3://bucket/x"
    with pytest.raises(InvalidArgument):
        validate_artifact_location("runs:/abc/model")
