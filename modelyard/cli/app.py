"""Shared CLI plumbing: domain errors as clean messages, tables and JSON output."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import click

from modelyard.errors import Code, ModelyardError

#: Exit status per error code, so scripts can tell "not found" from "refused" without parsing
#: messages. 2 is also click's status for a usage error; anything unlisted exits 1.
EXIT_CODES: Mapping[Code, int] = {
    Code.INVALID_ARGUMENT: 2,
    Code.NOT_FOUND: 3,
    Code.ALREADY_EXISTS: 4,
    Code.FAILED_PRECONDITION: 5,
    Code.PERMISSION_DENIED: 6,
    Code.UNAVAILABLE: 7,
}


class DomainError(click.ClickException):
    """A ModelyardError as a one-line CLI message with the exit status of its code."""

    def __init__(self, exc: ModelyardError) -> None:
        super().__init__(f"{type(exc).__name__}: {exc.message}")
        self.exit_code = EXIT_CODES.get(exc.code, 1)


class ModelyardGroup(click.Group):
    """A click group whose commands report ModelyardError as one line, exit by EXIT_CODES."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command, turning domain errors into click errors."""
        try:
            return super().invoke(ctx)
        except ModelyardError as exc:
            raise DomainError(exc) from exc


def jsonable(value: Any) -> Any:
    """Plain JSON data (non-finite floats become the strings "NaN", "Infinity", "-Infinity")."""
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def echo_json(value: Any) -> None:
    """Print strict JSON, indented."""
    click.echo(json.dumps(jsonable(value), indent=2, sort_keys=False, allow_nan=False))


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print an aligned plain-text table."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            click.echo("  ".join("-" * w for w in widths))
