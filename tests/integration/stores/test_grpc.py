"""The TrackingStore contract through a live gRPC server (loopback) backed by PostgreSQL.

The client side is `tracking_store_for_uri("grpc://…")`, exactly what users get, so this also
checks that every error reaches the caller as the same exception class as in-process.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from modelyard.store_registry import tracking_store_for_uri
from modelyard.stores import TrackingStore
from tests.contracts.tracking import TrackingStoreContract

if TYPE_CHECKING:
    from tests.conftest import LiveServers

pytestmark = pytest.mark.integration


@pytest.fixture(scope="class")
def store(postgres_uri_class: str, live_server_class: LiveServers) -> Iterator[TrackingStore]:
    """One server and one PostgreSQL database shared by the class."""
    uri = live_server_class(
        postgres_uri_class, allowed_artifact_roots=(TrackingStoreContract.ARTIFACT_ROOT,)
    )
    store = tracking_store_for_uri(uri)
    try:
        yield store
    finally:
        store.close()


class TestGrpc(TrackingStoreContract):
    """The whole contract, unchanged, over the wire."""
