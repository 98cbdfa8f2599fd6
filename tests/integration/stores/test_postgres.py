"""The TrackingStore contract on PostgreSQL (psycopg 3), in-process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from modelyard.store_registry import tracking_store_for_uri
from modelyard.stores import TrackingStore
from tests.contracts.tracking import TrackingStoreContract

pytestmark = pytest.mark.integration


@pytest.fixture(scope="class")
def store(postgres_uri_class: str) -> Iterator[TrackingStore]:
    """One PostgreSQL database shared by the class; every test works in its own experiments."""
    store = tracking_store_for_uri(postgres_uri_class)
    try:
        yield store
    finally:
        store.close()


class TestPostgres(TrackingStoreContract):
    """The whole contract, unchanged."""
