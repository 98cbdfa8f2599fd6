"""SQL registry specifics on every database: event-id gaps in the watch, two processes creating
versions of one model, deleted versions no longer protected from gc."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert

from modelyard.entities.model_registry import RegistryEventKind, event_kind_number
from modelyard.registry.model_registry.common import EVENTS
from modelyard.registry.model_registry.events import EventWatch, last_event_id
from modelyard.registry_stores import RegistryStore
from modelyard.store_registry import registry_store_for_uri, tracking_store_for_uri
from modelyard.stores import StoreOptions
from tests.contracts.registry import LocalFilesInspector, local_path, write_model_dir

pytestmark = pytest.mark.integration

BACKENDS = ["sqlite", "postgres", "mysql"]


@pytest.fixture(params=BACKENDS)
def db_uri(request: pytest.FixtureRequest) -> str:
    """A fresh, empty database on each backend."""
    return str(request.getfixturevalue(f"{request.param}_uri"))


@pytest.fixture
def store(db_uri: str) -> Iterator[RegistryStore]:
    """A validated SQL registry store with the local-files inspector."""
    store = registry_store_for_uri(db_uri, StoreOptions(source_inspector=LocalFilesInspector()))
    try:
        yield store
    finally:
        store.close()


def _insert_event(store: RegistryStore, event_id: int, name: str) -> None:
    db = store.inner.db  # type: ignore[attr-defined]
    with db.write() as conn:
        conn.execute(
            insert(EVENTS).values(
                id=event_id,
                kind=event_kind_number(RegistryEventKind.ALIAS_SET),
                time=int(time.time() * 1000),
                user_id=None,
                model_id=0,
                model_name=name,
                version=1,
                alias=f"a{event_id}",
            )
        )


def _next_events(watch: EventWatch, want: int, timeout_s: float = 20.0) -> list[int]:
    ids: list[int] = []
    deadline = time.monotonic() + timeout_s
    for batch, _ in watch:
        ids.extend(e.event_id for e in batch)
        if len(ids) >= want or time.monotonic() > deadline:
            break
    return ids


def test_watch_waits_for_a_hole_then_delivers_in_order(store: RegistryStore) -> None:
    db = store.inner.db  # type: ignore[attr-defined]
    base = last_event_id(db)
    with EventWatch(
        db, after_event_id=base, model_names=(), kinds=(), heartbeat_s=0.05, gap_timeout_s=3600
    ) as watch:
        _insert_event(store, base + 2, "m")  # base + 1 is "still committing"
        batch, cursor = next(watch)
        assert batch == [] and cursor == base
        batch, cursor = next(watch)
        assert batch == [] and cursor == base
        _insert_event(store, base + 1, "m")
        assert _next_events(watch, 2) == [base + 1, base + 2]
        assert watch.cursor == base + 2


def test_watch_skips_a_hole_that_never_fills(store: RegistryStore) -> None:
    db = store.inner.db  # type: ignore[attr-defined]
    base = last_event_id(db)
    with EventWatch(
        db, after_event_id=base, model_names=(), kinds=(), heartbeat_s=0.05, gap_timeout_s=0.3
    ) as watch:
        _insert_event(store, base + 1, "m")
        _insert_event(store, base + 4, "m")  # base + 2 and + 3 were rolled back
        assert _next_events(watch, 2) == [base + 1, base + 4]
        _insert_event(store, base + 5, "m")
        assert _next_events(watch, 1) == [base + 5]


def _create_versions(
    uri: str, name: str, root: str, count: int, queue: multiprocessing.Queue
) -> None:  # type: ignore[type-arg]
    """In a child process: register `count` versions of `name`; report numbers or the error."""
    try:
        tracking = tracking_store_for_uri(uri)
        store = registry_store_for_uri(uri, StoreOptions(source_inspector=LocalFilesInspector()))
        exp = tracking.create_experiment(f"proc-{time.time_ns()}", artifact_location=root)
        sources = []
        for _ in range(count):
            run = tracking.create_run(experiment_id=exp)
            write_model_dir(local_path(run.info.artifact_uri) / "model")
            sources.append(f"runs:/{run.info.run_id}/model")
        queue.put(("ready", None))
        numbers = [store.create_model_version(name, s).version for s in sources]
        queue.put(("ok", numbers))
    except BaseException as exc:  # reported to the parent
        queue.put(("error", repr(exc)))


def test_two_processes_get_unique_gapless_numbers(
    store: RegistryStore, db_uri: str, tmp_path: Path
) -> None:
    name = "shared-model"
    store.create_registered_model(name)
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [
        ctx.Process(
            target=_create_versions,
            args=(db_uri, name, (tmp_path / f"p{i}").as_uri(), 8, queue),
        )
        for i in range(2)
    ]
    for p in procs:
        p.start()
    results = []
    while sum(kind != "ready" for kind, _ in results) < len(procs):
        results.append(queue.get(timeout=180))
    for p in procs:
        p.join(timeout=60)
    errors = [r for r in results if r[0] == "error"]
    assert errors == []
    numbers = sorted(n for kind, value in results if kind == "ok" for n in value)
    assert numbers == list(range(1, 17))
    live = store.search_model_versions(filter_string=f"name = '{name}'")
    assert sorted(v.version for v in live) == list(range(1, 17))


def test_gc_protection_is_exact(store: RegistryStore, db_uri: str, tmp_path: Path) -> None:
    tracking = tracking_store_for_uri(db_uri)
    try:
        exp = tracking.create_experiment("gc-exact", artifact_location=tmp_path.as_uri())
        run = tracking.create_run(experiment_id=exp)
        write_model_dir(local_path(run.info.artifact_uri) / "model")
        source = f"runs:/{run.info.run_id}/model"
        store.create_registered_model("m")
        kept = store.create_model_version("m", source)
        gone = store.create_model_version("m", f"models:/m/{kept.version}")
        protected = tracking.protected_artifact_uris()
        assert protected == frozenset({kept.storage_location, source})
        store.delete_model_version("m", kept.version)
        # The copy still uses the same files.
        assert tracking.protected_artifact_uris() == frozenset({gone.storage_location})
        store.delete_registered_model("m")
        assert tracking.protected_artifact_uris() == frozenset()
    finally:
        tracking.close()
