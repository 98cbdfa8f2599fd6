"""Migrations: head == schema.py on every database; fresh databases bootstrap, old ones fail."""

from __future__ import annotations

import multiprocessing
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Float, create_engine, inspect, text

from modelyard.errors import SchemaOutdated
from modelyard.registry import bootstrap
from modelyard.registry.bootstrap import (
    PAGE_TOKEN_SECRET_KEY,
    alembic_config,
    head_revision,
    upgrade_database,
)
from modelyard.registry.engine import normalize_url
from modelyard.registry.schema import Base
from modelyard.registry.tracking import open_tracking_store
from modelyard.stores import StoreOptions

pytestmark = pytest.mark.integration

BACKENDS = ["sqlite", "postgres", "mysql"]


@pytest.fixture(params=BACKENDS)
def db_uri(request: pytest.FixtureRequest) -> str:
    """A fresh, empty database on each backend."""
    return str(request.getfixturevalue(f"{request.param}_uri"))


@pytest.fixture
def engine_for(db_uri: str) -> Iterator[object]:
    """A plain SQLAlchemy engine on the test database (disposed afterwards)."""
    engine = create_engine(normalize_url(db_uri))
    try:
        yield engine
    finally:
        engine.dispose()


def _store(uri: str, root: str | None = "file:///artifacts"):  # type: ignore[no-untyped-def]
    return open_tracking_store(uri, StoreOptions(default_artifact_root=root))


def _compare_type(_ctx, _inspected, _column, inspected_type, metadata_type):  # type: ignore[no-untyped-def]
    """Float(53) is created as DOUBLE on MySQL/MariaDB: the same type, not a difference."""
    if isinstance(metadata_type, Float) and metadata_type.precision == 53:
        return type(inspected_type).__name__.upper() not in ("DOUBLE", "DOUBLE_PRECISION", "FLOAT")
    return None


def test_head_revision_matches_schema_module(db_uri: str, engine_for) -> None:  # type: ignore[no-untyped-def]
    assert upgrade_database(db_uri) == head_revision()
    with engine_for.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": _compare_type})
        diffs = compare_metadata(context, Base.metadata)
    assert diffs == []


def test_fresh_database_is_created_at_head_with_default_experiment(
    db_uri: str,
    engine_for,  # type: ignore[no-untyped-def]
) -> None:
    store = _store(db_uri, "s3://bucket/root/")
    try:
        default = store.get_experiment("0")
        assert default.name == "Default"
        assert default.artifact_location == "s3://bucket/root/0"
        assert default.lifecycle_stage == "active"
        new_id = store.create_experiment("after-default")
        assert int(new_id) >= 1
        assert store.get_experiment(new_id).artifact_location == f"s3://bucket/root/{new_id}"
    finally:
        store.close()
    with engine_for.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head_revision()
        secret = conn.execute(
            text("SELECT value FROM settings WHERE " + _key_column(conn) + " = :k"),
            {"k": PAGE_TOKEN_SECRET_KEY},
        ).scalar_one()
        assert re.fullmatch(r"[0-9a-f]{64}", secret)


def _key_column(conn) -> str:  # type: ignore[no-untyped-def]
    return str(conn.dialect.identifier_preparer.quote("key"))


def test_reopening_keeps_data_and_secret(db_uri: str) -> None:
    store = _store(db_uri)
    try:
        exp = store.create_experiment("kept")
        token_a = store.search_experiments(max_results=1).token
    finally:
        store.close()
    store = _store(db_uri)
    try:
        assert store.get_experiment(exp).name == "kept"
        assert store.search_experiments(max_results=1).token == token_a
        assert len(store.search_experiments(max_results=1, page_token=token_a)) == 1
    finally:
        store.close()


def test_default_artifact_root_is_mlartifacts_in_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_tracking_store(f"sqlite:///{tmp_path / 'm.db'}", StoreOptions())
    try:
        expected = (tmp_path / "mlartifacts").resolve().as_uri()
        assert store.get_experiment("0").artifact_location == f"{expected}/0"
        run = store.create_run(experiment_id="0")
        assert run.info.artifact_uri == f"{expected}/0/{run.info.run_id}/artifacts"
    finally:
        store.close()


def test_tables_without_alembic_version_are_refused(db_uri: str, engine_for) -> None:  # type: ignore[no-untyped-def]
    Base.metadata.create_all(engine_for)
    with pytest.raises(SchemaOutdated, match="modelyard db upgrade"):
        _store(db_uri)


def test_older_revision_is_refused_naming_the_upgrade_command(
    db_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    upgrade_database(db_uri)
    # Pretend this modelyard knows a newer revision "9999" on top of the current head.
    current = head_revision()
    monkeypatch.setattr(bootstrap, "head_revision", lambda: "9999")
    monkeypatch.setattr(bootstrap, "_known_revisions", lambda: frozenset({current, "9999"}))
    with pytest.raises(SchemaOutdated) as info:
        _store(db_uri)
    message = str(info.value)
    assert "modelyard db upgrade" in message
    assert current in message
    assert info.value.code.name == "FAILED_PRECONDITION"


def test_unknown_newer_revision_is_refused(db_uri: str, engine_for) -> None:  # type: ignore[no-untyped-def]
    upgrade_database(db_uri)
    with engine_for.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffffffff'"))
    with pytest.raises(SchemaOutdated, match="newer"):
        _store(db_uri)
    with pytest.raises(SchemaOutdated, match="newer"):
        upgrade_database(db_uri)


def test_another_applications_database_is_refused_untouched(db_uri: str, engine_for) -> None:  # type: ignore[no-untyped-def]
    """An Alembic-versioned database without modelyard's tables (an MLflow tracking database,
    say) is named as another application's, and neither the store nor `db upgrade` writes."""
    with engine_for.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('cbc13b556ace')"))
        conn.execute(text("CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY)"))
    for attempt in (lambda: _store(db_uri), lambda: upgrade_database(db_uri)):
        with pytest.raises(SchemaOutdated, match="belongs to another application") as info:
            attempt()
        assert "cbc13b556ace" in str(info.value) and "newer" not in str(info.value)
    with engine_for.connect() as conn:
        assert set(inspect(conn).get_table_names()) == {"alembic_version", "experiments"}
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == (
            "cbc13b556ace"
        )


def test_upgrade_database_is_idempotent(db_uri: str) -> None:
    assert upgrade_database(db_uri, "file:///x") == head_revision()
    store = _store(db_uri)
    try:
        exp = store.create_experiment("survives-upgrade")
        assert store.get_experiment("0").artifact_location == "file:///x/0"
    finally:
        store.close()
    assert upgrade_database(db_uri) == head_revision()
    store = _store(db_uri)
    try:
        assert store.get_experiment(exp).name == "survives-upgrade"
        assert [e.name for e in store.search_experiments()].count("Default") == 1
    finally:
        store.close()


def test_downgrade_to_base_and_back(db_uri: str, engine_for) -> None:  # type: ignore[no-untyped-def]
    upgrade_database(db_uri)
    with engine_for.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    with engine_for.connect() as conn:
        left = set(inspect(conn).get_table_names()) & set(Base.metadata.tables)
    assert left == set()
    with engine_for.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    with engine_for.connect() as conn:
        assert set(Base.metadata.tables) <= set(inspect(conn).get_table_names())


def _open_and_create(uri: str, name: str) -> str:
    store = open_tracking_store(uri, StoreOptions(default_artifact_root="file:///r"))
    try:
        return store.create_experiment(name)
    finally:
        store.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres", "mysql"])
def test_concurrent_first_initialisation_is_safe(
    backend: str, request: pytest.FixtureRequest
) -> None:
    uri = str(request.getfixturevalue(f"{backend}_uri"))
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        ids = pool.starmap(_open_and_create, [(uri, f"proc-{i}") for i in range(4)])
    assert len(set(ids)) == 4
    store = _store(uri)
    try:
        names = [e.name for e in store.search_experiments()]
        assert names.count("Default") == 1
        assert {f"proc-{i}" for i in range(4)} <= set(names)
    finally:
        store.close()
    engine = create_engine(normalize_url(uri))
    try:
        with engine.connect() as conn:
            count = conn.execute(text("SELECT COUNT(*) FROM settings")).scalar_one()
        assert count == 1
    finally:
        engine.dispose()
