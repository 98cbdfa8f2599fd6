"""The SQL RegistryStore (imported as modelyard.registry.model_registry)."""

from __future__ import annotations

from modelyard.registry.model_registry.store import SqlRegistryStore, open_registry_store

__all__ = ["SqlRegistryStore", "open_registry_store"]
