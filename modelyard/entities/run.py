"""Runs and what is logged to them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from itertools import repeat
from typing import NamedTuple


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


class Metric(NamedTuple):
    """One metric point: key, value, timestamp (milliseconds since the epoch) and step.

    A named tuple rather than a frozen dataclass: a 100,000-point history builds its points
    about five times faster, and points stay immutable. NaN equals NaN here, so a point read
    back compares equal to the point logged.
    """

    key: str
    value: float
    timestamp: int
    step: int = 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Metric):
            return NotImplemented
        if self.key != other.key or self.timestamp != other.timestamp or self.step != other.step:
            return False
        mine, theirs = self.value, other.value
        return mine == theirs or (mine != mine and theirs != theirs)

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash((self.key, self.timestamp, self.step))


@dataclass(frozen=True, slots=True)
class Param:
    """One param: logged once per run, immutable."""

    key: str
    value: str


@dataclass(frozen=True, slots=True)
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
            yield Metric(self.key, value, ts, step)

    def to_metrics(self) -> list[Metric]:
        """The points as Metric objects."""
        return list(map(Metric, repeat(self.key), self.values, self.timestamps, self.steps))
