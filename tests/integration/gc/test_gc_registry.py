"""gc and the model registry: files of live model versions are kept, those of deleted ones go."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from modelyard.registry_stores import RegistryStore
from modelyard.store_registry import registry_store_for_uri
from modelyard.stores import StoreOptions, TrackingStore
from tests.contracts.registry import LocalFilesInspector
from tests.integration.gc.test_gc import (  # noqa: F401 - fixtures used by name
    artifact_files,
    artifact_root,
    assert_gone,
    db_uri,
    gc,
    new_run,
    put_artifacts,
    row_counts,
    store,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def registry(db_uri: str, store: TrackingStore) -> Iterator[RegistryStore]:  # noqa: F811
    """The registry on the same database (created after the tracking store)."""
    reg = registry_store_for_uri(db_uri, StoreOptions(source_inspector=LocalFilesInspector()))
    try:
        yield reg
    finally:
        reg.close()


def test_live_model_versions_protect_their_runs(
    store: TrackingStore,  # noqa: F811
    registry: RegistryStore,
    db_uri: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    exp = store.create_experiment("gc-registry")
    by_run, by_source, unregistered, free = (new_run(store, exp) for _ in range(4))
    for run_id in (by_run, by_source, unregistered, free):
        put_artifacts(store, run_id, tmp_path)
    registry.create_registered_model("m")
    registry.create_model_version("m", f"runs:/{by_run}/model.txt")
    uri = store.get_run(by_source).info.artifact_uri + "/sub"
    registry.create_model_version("m", uri, run_id=by_source)
    gone = registry.create_model_version("m", f"runs:/{unregistered}/sub")
    registry.delete_model_version("m", gone.version)
    store.delete_experiment(exp)

    result = gc(db_uri)

    assert result.exit_code == 0, result.output
    for run_id in (by_run, by_source):
        assert f"run {run_id} (experiment {exp}): kept, its artifacts back a model version" in (
            result.output
        )
        assert row_counts(db_uri, run_id)["runs"] == 1
        assert artifact_files(store.get_run(run_id).info.artifact_uri) == [
            "model.txt",
            "sub/data.txt",
        ]
    assert f"experiment {exp} ('gc-registry'): kept, its artifacts back a model version" in (
        result.output
    )
    assert "removed 2 runs, 0 experiments, 2 artifact folders" in result.output
    assert_gone(store, db_uri, free)
    assert_gone(store, db_uri, unregistered)
