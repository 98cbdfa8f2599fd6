"""The RegistryStore contract through a live gRPC server (loopback) backed by PostgreSQL.

The client side is `registry_store_for_uri("grpc://…")`, exactly what users get, so this also
checks that every error reaches the caller as the same exception class as in-process. The
server uses its real source inspector: experiments keep their artifacts on the server's
destination (`modelyard-artifacts:/…`), and model directories are written straight into that
destination folder, where registration reads them back through the ArtifactStore.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from modelyard.entities import Run
from modelyard.registry_stores import RegistryStore
from modelyard.store_registry import registry_store_for_uri, tracking_store_for_uri
from modelyard.stores import TrackingStore
from tests.contracts.registry import RegistryStoreContract, write_model_dir

if TYPE_CHECKING:
    from tests.conftest import LiveServers

pytestmark = pytest.mark.integration

PROXIED = "modelyard-artifacts:/"


@dataclass(frozen=True)
class _Server:
    uri: str
    destination: Path


@pytest.fixture(scope="class")
def server(
    postgres_uri_class: str,
    live_server_class: LiveServers,
    tmp_path_factory: pytest.TempPathFactory,
) -> _Server:
    """One server (local destination) and one PostgreSQL database shared by the class."""
    destination = tmp_path_factory.mktemp("destination")
    uri = live_server_class(postgres_uri_class, artifacts_destination=str(destination))
    return _Server(uri, destination)


@pytest.fixture(scope="class")
def store(server: _Server) -> Iterator[RegistryStore]:
    """The registry store over the wire."""
    store = registry_store_for_uri(server.uri)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(scope="class")
def tracking(server: _Server) -> Iterator[TrackingStore]:
    """The tracking store of the same server."""
    store = tracking_store_for_uri(server.uri)
    try:
        yield store
    finally:
        store.close()


class TestRegistryGrpc(RegistryStoreContract):
    """The whole registry contract, unchanged, over the wire."""

    @pytest.fixture(scope="class")
    @classmethod
    def experiment_location(cls, tmp_path_factory: pytest.TempPathFactory) -> str:
        """Experiments live on the server's destination (the proxied scheme)."""
        return f"{PROXIED}contract"

    @pytest.fixture
    def make_source(self, server: _Server) -> Callable[..., str]:
        """Write a model directory at the run's place in the server's destination folder."""

        def make(run: Run, path: str = "model", *, signature: bool = True) -> str:
            uri = run.info.artifact_uri
            assert uri.startswith(PROXIED), uri
            folder = server.destination / uri[len(PROXIED) :].strip("/") / path
            write_model_dir(folder, signature=signature)
            return f"runs:/{run.info.run_id}/{path}"

        return make

    def test_versions_backing_and_gc_protection(self, store: RegistryStore) -> None:  # type: ignore[override]
        """Server-side only: the ArtifactService asks its own store (there is no RPC);
        tests/integration/registry/test_integrity.py checks the protection over the wire."""
        with pytest.raises(NotImplementedError):
            store.versions_backing(f"{PROXIED}contract")
