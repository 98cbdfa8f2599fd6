"""Progress bars for artifact transfers: tqdm on stderr, only when a person can see them.

A bar is shown for a transfer (one file, or all files of one `log_artifacts` or tree download)
whose total size is at least `PROGRESS_THRESHOLD_BYTES`, when stderr is a terminal and no test
is running. `MODELYARD_PROGRESS=1` shows it regardless of the terminal and of tests (the size
threshold still applies); `MODELYARD_PROGRESS=0` never shows it. Updates are thread-safe, so
parallel transfers share one bar.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import IO, Any

from modelyard.config import client_config

#: Transfers smaller than this never get a bar.
PROGRESS_THRESHOLD_BYTES = 32 * 1024 * 1024


def progress_forced(environ: Mapping[str, str] | None = None) -> bool | None:
    """MODELYARD_PROGRESS as a tri-state: True (always), False (never) or None (automatic)."""
    try:
        return client_config(environ).progress
    except ValueError:
        return None  # a malformed value means "automatic"


def progress_wanted(
    total_bytes: int,
    *,
    threshold: int = PROGRESS_THRESHOLD_BYTES,
    environ: Mapping[str, str] | None = None,
    stream: IO[str] | None = None,
) -> bool:
    """Whether a transfer of this size gets a bar (see the module docstring for the rules)."""
    env = os.environ if environ is None else environ
    forced = progress_forced(env)
    if forced is False or total_bytes < threshold:
        return False
    if forced:
        return True
    if "PYTEST_CURRENT_TEST" in env:
        return False
    out = sys.stderr if stream is None else stream
    try:
        return bool(out is not None and out.isatty())
    except (AttributeError, ValueError):  # a replaced or closed stderr
        return False


class Progress:
    """A transfer's progress: `update(n)` after each chunk; `close()` (or `with`) at the end.

    The base class shows nothing; `transfer_progress` returns a tqdm-backed one when wanted.
    """

    def update(self, n: int) -> None:
        """Count n more bytes transferred."""

    def close(self) -> None:
        """Finish the bar (idempotent)."""

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _TqdmProgress(Progress):
    """A tqdm bar in bytes, safe to update from several threads."""

    def __init__(self, total: int, description: str, stream: IO[str] | None) -> None:
        from tqdm import tqdm

        self._lock = threading.Lock()
        self._bar: Any = tqdm(
            total=total,
            desc=description,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            file=sys.stderr if stream is None else stream,
            dynamic_ncols=True,
            leave=False,
        )

    def update(self, n: int) -> None:
        """Count n more bytes transferred."""
        with self._lock:
            if self._bar is not None:
                self._bar.update(n)

    def close(self) -> None:
        """Remove the bar from the terminal."""
        with self._lock:
            bar, self._bar = self._bar, None
        if bar is not None:
            bar.close()


def transfer_progress(
    total_bytes: int,
    description: str,
    *,
    threshold: int = PROGRESS_THRESHOLD_BYTES,
    environ: Mapping[str, str] | None = None,
    stream: IO[str] | None = None,
) -> Progress:
    """A bar for a transfer of total_bytes when `progress_wanted`, else a silent Progress."""
    if progress_wanted(total_bytes, threshold=threshold, environ=environ, stream=stream):
        return _TqdmProgress(total_bytes, description, stream)
    return Progress()
