"""The SQL TrackingStore (imported as modelyard.registry.tracking)."""

from __future__ import annotations

from modelyard.registry.tracking.store import SqlTrackingStore, open_tracking_store

__all__ = ["SqlTrackingStore", "open_tracking_store"]
