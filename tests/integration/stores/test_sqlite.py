"""The TrackingStore contract on SQLite, in-process (the embedded default)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from modelyard.store_registry import tracking_store_for_uri
from modelyard.stores import TrackingStore
from tests.contracts.tracking import TrackingStoreContract

pytestmark = pytest.mark.integration


@pytest.fixture(scope="class")
def store(sqlite_uri_class: str) -> Iterator[TrackingStore]:
    """One SQLite file shared by the class; every test works in its own experiments."""
    store = tracking_store_for_uri(sqlite_uri_class)
    try:
        yield store
    finally:
        store.close()


class TestSqlite(TrackingStoreContract):
    """The whole contract, unchanged."""
