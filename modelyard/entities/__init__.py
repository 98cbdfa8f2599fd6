"""Domain types: frozen dataclasses that know nothing about protobuf or SQL."""

from modelyard.entities.artifact import FileInfo
from modelyard.entities.experiment import Experiment, ExperimentTag
from modelyard.entities.paging import PagedList
from modelyard.entities.run import (
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

__all__ = [
    "Experiment",
    "ExperimentTag",
    "FileInfo",
    "LifecycleStage",
    "Metric",
    "MetricHistory",
    "PagedList",
    "Param",
    "Run",
    "RunData",
    "RunInfo",
    "RunStatus",
    "RunTag",
    "ViewType",
]
