"""Runs and what is logged to them."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum


class RunStatus(StrEnum):
    """Status of a run; compares equal to MLflow's strings ("RUNNING", "FINISHED", …)."""

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @classmethod
    def is_terminated(cls, status: str) -> bool:
        """True for FINISHED, FAILED and KILLED."""
        return status in (cls.FINISHED, cls.FAILED, cls.KILLED)


class LifecycleStage(StrEnum):
    """Soft-delete state of an experiment or run ("active" or "deleted", as in MLflow)."""

    ACTIVE = "active"
    DELETED = "deleted"


class ViewType(IntEnum):
    """Which lifecycle stages a search returns (MLflow's numbers)."""

    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class Metric:
    """One metric point."""

    key: str
    value: float
    timestamp: int
    """Milliseconds since the epoch."""
    step: int = 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Metric):
            return NotImplemented
        same_value = self.value == other.value or (
            math.isnan(self.value) and math.isnan(other.value)
        )
        return (
            self.key == other.key
            and same_value
            and self.timestamp == other.timestamp
            and self.step == other.step
        )

    def __hash__(self) -> int:
        return hash((self.key, self.timestamp, self.step))


@dataclass(frozen=True, slots=True, kw_only=True)
class Param:
    """One param: logged once per run, immutable."""

    key: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RunTag:
    """One run tag: mutable."""

    key: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RunInfo:
    """Run metadata (MLflow's attribute names)."""

    run_id: str
    """32 lowercase hex characters."""
    experiment_id: str
    run_name: str
    user_id: str
    status: RunStatus
    start_time: int
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: LifecycleStage

    @property
    def run_uuid(self) -> str:
        """MLflow's deprecated alias of run_id."""
        return self.run_id


@dataclass(frozen=True, slots=True, kw_only=True)
class RunData:
    """Run contents: latest metric values, params and tags, each readable as a dict."""

    metric_list: tuple[Metric, ...] = ()
    """The latest point of each metric key."""
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def metrics(self) -> dict[str, float]:
        """Latest value of each metric key."""
        return {m.key: m.value for m in self.metric_list}


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """A run: `info` and `data`."""

    info: RunInfo
    data: RunData


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricHistory:
    """The points of one metric of one run, packed as parallel sequences."""

    run_id: str
    key: str
    steps: Sequence[int] = ()
    timestamps: Sequence[int] = ()
    values: Sequence[float] = ()

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[Metric]:
        for step, ts, value in zip(self.steps, self.timestamps, self.values, strict=True):
            yield Metric(key=self.key, value=value, timestamp=ts, step=step)

    def to_metrics(self) -> list[Metric]:
        """The points as Metric objects."""
        return list(self)
