"""Prometheus metrics of one server: calls per method (gRPC and HTTP), their latencies, the
database pool, artifact bytes in and out. Each server has its own registry, so two servers in
one process (tests) never share counters."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

#: Latency buckets (seconds): 1 ms to 30 s.
LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)

PoolStats = Callable[[], dict[str, int]]
"""Returns {"size": ..., "checked_out": ..., "checked_in": ..., "overflow": ...} of the metadata
database pool (what the pool class offers)."""


class _PoolCollector(Collector):
    def __init__(self, stats: PoolStats) -> None:
        self._stats = stats

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            stats = self._stats()
        except Exception:  # a closed or broken pool must not break /metrics
            return
        for name, value in sorted(stats.items()):
            yield GaugeMetricFamily(
                f"modelyard_db_pool_{name}", f"Metadata database pool: {name}", value=value
            )


class ServerMetrics:
    """The metrics of one server process."""

    def __init__(self, pool_stats: PoolStats | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "modelyard_requests",
            "Calls handled, by transport, method and status.",
            ("transport", "method", "code"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "modelyard_request_duration_seconds",
            "Time to handle a call, by transport and method.",
            ("transport", "method"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.artifact_bytes = Counter(
            "modelyard_artifact_bytes",
            "Artifact bytes received (in) and sent (out), by transport.",
            ("direction", "transport"),
            registry=self.registry,
        )
        if pool_stats is not None:
            self.registry.register(_PoolCollector(pool_stats))

    def observe(self, transport: str, method: str, code: str, seconds: float) -> None:
        """Count one call and its latency."""
        self.requests.labels(transport, method, code).inc()
        self.latency.labels(transport, method).observe(seconds)

    def add_bytes(self, direction: str, transport: str, count: int) -> None:
        """Count artifact bytes ("in" or "out")."""
        if count:
            self.artifact_bytes.labels(direction, transport).inc(count)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def sqlalchemy_pool_stats(engine: Any) -> PoolStats:
    """Pool statistics of a SQLAlchemy engine (QueuePool; other pools report what they have)."""

    def stats() -> dict[str, int]:
        pool = engine.pool
        out: dict[str, int] = {}
        for name, attr in (
            ("size", "size"),
            ("checked_out", "checkedout"),
            ("checked_in", "checkedin"),
            ("overflow", "overflow"),
        ):
            method = getattr(pool, attr, None)
            if callable(method):
                out[name] = int(method())
        if "overflow" in out:  # QueuePool counts up from -size until the pool is full
            out["overflow"] = max(0, out["overflow"])
        return out

    return stats
