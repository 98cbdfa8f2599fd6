"""Artifacts as users read them: one file or directory of a run's artifact tree."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FileInfo:
    """One entry of `list_artifacts` (MLflow's shape: `FileInfo(path, is_dir, file_size)`)."""

    path: str
    """POSIX path relative to the run's artifact root (for example "states/data.json")."""
    is_dir: bool
    file_size: int | None = None
    """Bytes; None for directories."""
