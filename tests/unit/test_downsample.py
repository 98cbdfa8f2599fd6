"""Downsampling of metric histories: at most N points, shape (first, last, min, max) kept."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelyard.entities import MetricHistory
from modelyard.metric_points import downsample, downsample_indices


def test_small_series_is_returned_whole() -> None:
    assert downsample_indices([3.0, 1.0, 2.0], 4) == [0, 1, 2]
    assert downsample_indices([], 10) == []


def test_max_points_below_four_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 4"):
        downsample_indices([1.0] * 10, 3)


def test_one_bucket_keeps_first_last_min_max() -> None:
    values = [5.0, 1.0, 9.0, 4.0, 7.0, 3.0]
    assert downsample_indices(values, 4) == [0, 1, 2, 5]


def test_spikes_survive() -> None:
    values = [0.0] * 10_000
    values[1234] = 100.0
    values[8765] = -100.0
    idx = downsample_indices(values, 40)
    kept = [values[i] for i in idx]
    assert 100.0 in kept
    assert -100.0 in kept
    assert idx[0] == 0
    assert idx[-1] == len(values) - 1


def test_nan_is_ignored_for_min_and_max_but_kept_at_the_edges() -> None:
    values = [math.nan, 2.0, math.nan, -1.0, 3.0, math.nan, 0.5, math.nan]
    idx = downsample_indices(values, 4)
    assert idx == [0, 3, 4, 7]


def test_all_nan_bucket_keeps_only_first_and_last() -> None:
    values = [math.nan] * 8
    assert downsample_indices(values, 4) == [0, 7]


def test_infinities_are_extremes() -> None:
    values = [1.0, math.inf, 2.0, -math.inf, 3.0, 4.0]
    idx = downsample_indices(values, 4)
    assert [values[i] for i in idx] == [1.0, math.inf, -math.inf, 4.0]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=0, max_size=400),
    st.integers(min_value=4, max_value=64),
)
def test_properties(values: list[float], max_points: int) -> None:
    idx = downsample_indices(values, max_points)
    assert len(idx) <= max(max_points, 0)
    assert idx == sorted(set(idx))
    if values:
        assert idx[0] == 0
        assert idx[-1] == len(values) - 1
        finite = [v for v in values if not math.isnan(v)]
        kept = [values[i] for i in idx if not math.isnan(values[i])]
        if finite:
            assert min(finite) in kept
            assert max(finite) in kept
    if len(values) <= max_points:
        assert idx == list(range(len(values)))


def test_downsample_history_keeps_points_aligned() -> None:
    rng = random.Random(7)
    n = 1000
    values = [rng.gauss(0, 1) for _ in range(n)]
    history = MetricHistory(
        run_id="r" * 32,
        key="loss",
        steps=list(range(n)),
        timestamps=[1000 + 10 * i for i in range(n)],
        values=values,
    )
    small = downsample(history, 100)
    assert len(small) <= 100
    for step, ts, value in zip(small.steps, small.timestamps, small.values, strict=True):
        assert ts == 1000 + 10 * step
        assert value == values[step]
    assert small.run_id == history.run_id
    assert small.key == "loss"
    assert downsample(history, n) is history
