"""Metric values as stored: a number plus a ValueKind, so NaN and +/-inf round-trip exactly."""

from __future__ import annotations

import math

from modelyard.registry.schema import FLOAT_MAX, ValueKind

_FINITE = int(ValueKind.FINITE)
_NAN = int(ValueKind.NAN)
_POS_INF = int(ValueKind.POS_INF)
_NEG_INF = int(ValueKind.NEG_INF)


def encode_value(value: float) -> tuple[float, int]:
    """(stored number, kind): NaN → (0, NAN), +/-inf → (+/-FLOAT_MAX, POS_INF/NEG_INF)."""
    value = float(value)
    if math.isfinite(value):
        return value, _FINITE
    if value != value:
        return 0.0, _NAN
    return (FLOAT_MAX, _POS_INF) if value > 0 else (-FLOAT_MAX, _NEG_INF)


def decode_value(stored: float, kind: int) -> float:
    """The value a (stored number, kind) pair stands for."""
    if kind == _FINITE:
        return float(stored)
    if kind == _NAN:
        return math.nan
    if kind == _POS_INF:
        return math.inf
    if kind == _NEG_INF:
        return -math.inf
    raise ValueError(f"unknown metric value kind {kind!r}")


def order_key(step: int, timestamp: int, stored: float) -> tuple[int, int, float]:
    """The key "latest" maximises: (step, timestamp, stored value)."""
    return step, timestamp, stored
