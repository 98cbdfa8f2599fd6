"""The RegistryStore contract on SQLite, in-process (the default source inspector)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from modelyard.registry_stores import RegistryStore
from modelyard.store_registry import registry_store_for_uri, tracking_store_for_uri
from modelyard.stores import StoreOptions, TrackingStore
from tests.contracts.registry import RegistryStoreContract

pytestmark = pytest.mark.integration


@pytest.fixture(scope="class")
def store(sqlite_uri_class: str) -> Iterator[RegistryStore]:
    """One SQLite database shared by the class; every test works on its own models."""
    store = registry_store_for_uri(sqlite_uri_class, StoreOptions())
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(scope="class")
def tracking(sqlite_uri_class: str) -> Iterator[TrackingStore]:
    """The tracking store on the same database (runs and experiments)."""
    store = tracking_store_for_uri(sqlite_uri_class)
    try:
        yield store
    finally:
        store.close()


class TestRegistrySqlite(RegistryStoreContract):
    """The whole registry contract, unchanged."""
