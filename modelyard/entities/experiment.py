"""Experiments: named groups of runs."""

from __future__ import annotations

from dataclasses import dataclass, field

from modelyard.entities.run import LifecycleStage


@dataclass(frozen=True, slots=True, kw_only=True)
class Experiment:
    """An experiment as users read it (MLflow's attribute names)."""

    experiment_id: str
    """Decimal id; "0" is the Default experiment."""
    name: str
    artifact_location: str
    """Root URI of the artifacts of this experiment's runs."""
    lifecycle_stage: LifecycleStage = LifecycleStage.ACTIVE
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int = 0
    """Milliseconds since the epoch."""
    last_update_time: int = 0
    """Milliseconds since the epoch."""


@dataclass(frozen=True, slots=True)
class ExperimentTag:
    """One experiment tag."""

    key: str
    value: str
