"""Metric histories reduced for charts: min/max-preserving downsampling and step ranges.

Pure functions of the core (no database, no network): the SQL store uses them on the rows it
reads, and stores without a range query of their own on whole histories.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from modelyard.entities import MetricHistory

__all__ = ["downsample", "downsample_indices", "step_range"]


def downsample_indices(values: Sequence[float], max_points: int) -> list[int]:
    """Indices (ascending) of at most max_points points that keep the shape of a series.

    The series is cut into max_points // 4 buckets of consecutive points; each bucket keeps
    its first and last point and its minimum and maximum (NaN ignored). The whole series'
    first and last points are always kept.
    """
    n = len(values)
    if max_points < 4:
        raise ValueError(f"max_points must be at least 4, got {max_points}")
    if n <= max_points:
        return list(range(n))
    buckets = max_points // 4
    keep: list[int] = []
    get = values.__getitem__

    def low(i: int) -> float:
        v = get(i)
        return math.inf if v != v else v

    def high(i: int) -> float:
        v = get(i)
        return -math.inf if v != v else v

    for b in range(buckets):
        lo = b * n // buckets
        hi = (b + 1) * n // buckets
        if lo >= hi:
            continue
        chosen = {lo, hi - 1}
        span = range(lo, hi)
        i_min = min(span, key=low)
        i_max = max(span, key=high)
        if get(i_min) == get(i_min):
            chosen.add(i_min)
        if get(i_max) == get(i_max):
            chosen.add(i_max)
        keep.extend(sorted(chosen))
    return keep


def downsample(history: MetricHistory, max_points: int) -> MetricHistory:
    """The history reduced by downsample_indices (unchanged when already small enough)."""
    if len(history) <= max_points:
        return history
    idx = downsample_indices(history.values, max_points)
    return MetricHistory(
        run_id=history.run_id,
        key=history.key,
        steps=[history.steps[i] for i in idx],
        timestamps=[history.timestamps[i] for i in idx],
        values=[history.values[i] for i in idx],
    )


def step_range(
    history: MetricHistory, start_step: int | None, end_step: int | None, max_points: int | None
) -> MetricHistory:
    """The points of a history (ordered by step) with start_step <= step <= end_step, then
    downsampled to max_points when given."""
    steps = history.steps
    lo = 0 if start_step is None else bisect_left(steps, start_step)
    hi = len(steps) if end_step is None else bisect_right(steps, end_step)
    cut = MetricHistory(
        run_id=history.run_id,
        key=history.key,
        steps=list(steps[lo:hi]),
        timestamps=list(history.timestamps[lo:hi]),
        values=list(history.values[lo:hi]),
    )
    return downsample(cut, max_points) if max_points else cut
