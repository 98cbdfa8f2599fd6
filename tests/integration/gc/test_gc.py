"""`modelyard gc` against real databases (SQLite, PostgreSQL, MariaDB) and real artifact stores
(local folders, moto S3, a live artifacts-only server), driven through click's CliRunner."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from modelyard.artifacts.store import ArtifactStore
from modelyard.cli.gc import gc_command, parse_duration_ms
from modelyard.entities import Metric, Param, RunTag
from modelyard.errors import ExperimentNotFound, InvalidArgument, RunNotFound
from modelyard.registry.engine import open_database
from modelyard.store_registry import tracking_store_for_uri
from modelyard.stores import StoreOptions, TrackingStore

pytestmark = pytest.mark.integration

DAY_MS = 86_400_000
RUN_TABLES = ("params", "metrics", "latest_metrics", "tags")


# -- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
def db_uri(request: pytest.FixtureRequest) -> str:
    """A fresh database of each kind."""
    return str(request.getfixturevalue(f"{request.param}_uri"))


@pytest.fixture
def artifact_root(tmp_path: Path) -> Path:
    """The local artifact root new experiments get."""
    return tmp_path / "mlartifacts"


@pytest.fixture
def store(db_uri: str, artifact_root: Path) -> Iterator[TrackingStore]:
    """The validated tracking store on the database, with a local artifact root."""
    s = tracking_store_for_uri(db_uri, StoreOptions(default_artifact_root=artifact_root.as_uri()))
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def sqlite_store(sqlite_uri: str, artifact_root: Path) -> Iterator[TrackingStore]:
    """A tracking store on SQLite (for the artifact-store variants)."""
    s = tracking_store_for_uri(
        sqlite_uri, StoreOptions(default_artifact_root=artifact_root.as_uri())
    )
    try:
        yield s
    finally:
        s.close()


def gc(db: str, *args: str, env: dict[str, str] | None = None) -> Result:
    """Run `modelyard gc --backend-store-uri db ARGS` in-process."""
    return CliRunner().invoke(
        gc_command, ["--backend-store-uri", db, *args], env=env, catch_exceptions=False
    )


def new_run(store: TrackingStore, experiment_id: str) -> str:
    """A run with a param, a metric history and a tag."""
    run_id = store.create_run(experiment_id=experiment_id).info.run_id
    store.log_batch(
        run_id,
        metrics=[
            Metric(key="loss", value=1 / (i + 1), timestamp=1000 + i, step=i) for i in range(3)
        ],
        params=[Param("lr", "0.1")],
        tags=[RunTag("team", "a")],
    )
    return run_id


def store_for(uri: str, destination: Path | None = None) -> tuple[ArtifactStore, str]:
    """The store holding an artifact URI and the URI's path inside it (proxied URIs: the
    destination given, whatever server serves it)."""
    proxied = "modelyard-artifacts:"
    if uri.startswith(proxied):
        assert destination is not None
        rest = uri[len(proxied) :]
        if rest.startswith("//"):
            rest = rest[2:].partition("/")[2]  # drop host:port
        return ArtifactStore(destination.as_uri()), rest.strip("/")
    return ArtifactStore(uri), ""


def put_artifacts(store: TrackingStore, run_id: str, tmp: Path, dest: Path | None = None) -> None:
    """Two files (one in a subfolder) in the run's artifact folder."""
    uri = store.get_run(run_id).info.artifact_uri
    artifacts, prefix = store_for(uri, dest)
    src = tmp / f"src-{uuid.uuid4().hex}.txt"
    src.write_text(run_id)
    for name in ("model.txt", "sub/data.txt"):
        artifacts.upload_file(f"{prefix}/{name}" if prefix else name, src)


def artifact_files(store_uri: str, dest: Path | None = None) -> list[str]:
    """Every file below an artifact URI."""
    artifacts, prefix = store_for(store_uri, dest)
    return [e.path for e in artifacts.list(prefix, recursive=True)]


def row_counts(db_uri: str, run_id: str) -> dict[str, int]:
    """Rows of a run in the runs table and each child table."""
    db = open_database(db_uri)
    try:
        with db.read() as conn:
            out = {
                t: conn.execute(
                    text(f"SELECT COUNT(*) FROM {t} WHERE run_uuid = :r"), {"r": run_id}
                ).scalar_one()
                for t in ("runs", *RUN_TABLES)
            }
    finally:
        db.dispose()
    return out


def execute(db_uri: str, sql: str, **params: object) -> None:
    """Run one statement on the database (test setup only)."""
    db = open_database(db_uri)
    try:
        with db.write() as conn:
            conn.execute(text(sql), params)
    finally:
        db.dispose()


def set_deleted_time(db_uri: str, run_id: str, when_ms: int) -> None:
    """Pretend a run was deleted at `when_ms`."""
    execute(db_uri, "UPDATE runs SET deleted_time = :t WHERE run_uuid = :r", t=when_ms, r=run_id)


def now_ms() -> int:
    """Milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


def assert_gone(store: TrackingStore, db_uri: str, run_id: str) -> None:
    """The run and all its rows are gone."""
    with pytest.raises(RunNotFound):
        store.get_run(run_id)
    assert set(row_counts(db_uri, run_id).values()) == {0}


def assert_intact(store: TrackingStore, db_uri: str, run_id: str) -> None:
    """The run keeps its params, metrics, latest metrics, tags and artifacts."""
    run = store.get_run(run_id)
    assert run.data.params == {"lr": "0.1"}
    assert run.data.tags["team"] == "a"
    assert run.data.metrics == {"loss": pytest.approx(1 / 3)}
    counts = row_counts(db_uri, run_id)
    assert counts["metrics"] == 3 and counts["runs"] == 1
    assert artifact_files(run.info.artifact_uri) == ["model.txt", "sub/data.txt"]


# -- every database: the core behaviour -----------------------------------------------------


def test_purges_deleted_runs_keeps_active_and_rerun_is_noop(
    store: TrackingStore, db_uri: str, tmp_path: Path, artifact_root: Path
) -> None:
    exp = store.create_experiment("gc-core")
    doomed, kept, doomed2 = (new_run(store, exp) for _ in range(3))
    for run_id in (doomed, kept, doomed2):
        put_artifacts(store, run_id, tmp_path)
    store.delete_run(doomed)
    store.delete_run(doomed2)

    result = gc(db_uri)

    assert result.exit_code == 0, result.output
    assert "removed 2 runs, 0 experiments, 2 artifact folders" in result.output
    for run_id in (doomed, doomed2):
        assert_gone(store, db_uri, run_id)
        assert not (artifact_root / exp / run_id).exists()
    assert_intact(store, db_uri, kept)
    assert store.get_experiment(exp).lifecycle_stage.value == "active"

    again = gc(db_uri)
    assert again.exit_code == 0, again.output
    assert "removed 0 runs, 0 experiments, 0 artifact folders" in again.output
    assert_intact(store, db_uri, kept)


def test_older_than_is_respected(store: TrackingStore, db_uri: str, tmp_path: Path) -> None:
    exp = store.create_experiment("gc-age")
    old, recent = new_run(store, exp), new_run(store, exp)
    for run_id in (old, recent):
        put_artifacts(store, run_id, tmp_path)
        store.delete_run(run_id)
    set_deleted_time(db_uri, old, now_ms() - 10 * DAY_MS)

    refused = gc(db_uri, "--older-than", "7d", "--run-ids", recent)
    assert refused.exit_code != 0
    assert recent in refused.output and "too recently" in refused.output

    result = gc(db_uri, "--older-than", "7d")

    assert result.exit_code == 0, result.output
    assert "removed 1 run," in result.output
    assert_gone(store, db_uri, old)
    assert store.get_run(recent).info.lifecycle_stage.value == "deleted"
    assert artifact_files(store.get_run(recent).info.artifact_uri) == ["model.txt", "sub/data.txt"]


def test_older_than_for_experiments(store: TrackingStore, db_uri: str) -> None:
    old, recent = store.create_experiment("gc-old-exp"), store.create_experiment("gc-new-exp")
    for exp in (old, recent):
        new_run(store, exp)
        store.delete_experiment(exp)
    execute(
        db_uri,
        "UPDATE experiments SET last_update_time = :t WHERE experiment_id = :e",
        t=now_ms() - 2 * DAY_MS,
        e=int(old),
    )
    # Its runs were deleted with it (just now, as far as their rows say): they go with it.

    result = gc(db_uri, "--older-than", "1d")

    assert result.exit_code == 0, result.output
    assert "removed 1 run, 1 experiment," in result.output
    with pytest.raises(ExperimentNotFound):
        store.get_experiment(old)
    assert store.get_experiment(recent).lifecycle_stage.value == "deleted"
    assert len(store.list_deleted_runs(experiment_ids=[recent])) == 1


def test_named_active_run_is_refused_and_nothing_removed(
    store: TrackingStore, db_uri: str, tmp_path: Path
) -> None:
    exp = store.create_experiment("gc-refuse")
    deleted, active = new_run(store, exp), new_run(store, exp)
    for run_id in (deleted, active):
        put_artifacts(store, run_id, tmp_path)
    store.delete_run(deleted)

    result = gc(db_uri, "--run-ids", f"{deleted},{active}")

    assert result.exit_code == 5  # FAILED_PRECONDITION, as in every command
    assert f"run(s) not deleted: {active}" in result.output
    assert "nothing was removed" in result.output
    assert row_counts(db_uri, deleted)["runs"] == 1
    assert artifact_files(store.get_run(deleted).info.artifact_uri) == [
        "model.txt",
        "sub/data.txt",
    ]
    assert_intact(store, db_uri, active)


def test_unknown_ids_are_reported_not_fatal(
    store: TrackingStore, db_uri: str, tmp_path: Path
) -> None:
    exp = store.create_experiment("gc-unknown")
    deleted = new_run(store, exp)
    put_artifacts(store, deleted, tmp_path)
    store.delete_run(deleted)
    ghost = uuid.uuid4().hex

    result = gc(db_uri, "--run-ids", f"{ghost},{deleted},not-a-run-id", "--experiment-ids", "999")

    assert result.exit_code == 0, result.output
    assert f"unknown run id(s), ignored (already purged?): {ghost}, not-a-run-id" in result.output
    assert "unknown experiment id(s), ignored (already purged?): 999" in result.output
    assert "removed 1 run," in result.output
    assert_gone(store, db_uri, deleted)
    # Naming the purged run again is a no-op.
    again = gc(db_uri, "--run-ids", deleted)
    assert again.exit_code == 0, again.output
    assert "removed 0 runs" in again.output


def test_missing_artifacts_do_not_crash(store: TrackingStore, db_uri: str) -> None:
    exp = store.create_experiment("gc-missing")
    run_id = new_run(store, exp)  # never logged an artifact: its folder does not exist
    store.delete_run(run_id)

    result = gc(db_uri)

    assert result.exit_code == 0, result.output
    assert "removed 1 run, 0 experiments, 0 artifact folders" in result.output
    assert_gone(store, db_uri, run_id)


def test_deleted_experiment_is_purged_with_its_runs(
    store: TrackingStore, db_uri: str, tmp_path: Path, artifact_root: Path
) -> None:
    doomed = store.create_experiment("gc-exp-doomed")
    store.set_experiment_tag(doomed, "owner", "me")
    survivor = store.create_experiment("gc-exp-survivor")
    earlier, later = new_run(store, doomed), new_run(store, doomed)
    kept = new_run(store, survivor)
    for run_id in (earlier, later, kept):
        put_artifacts(store, run_id, tmp_path)
    store.delete_run(earlier)  # deleted on its own first, then with the experiment
    store.delete_experiment(doomed)

    dry = gc(db_uri, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "gc (dry run): would remove 2 runs, 1 experiment, 3 artifact folders" in dry.output
    assert store.get_experiment(doomed).lifecycle_stage.value == "deleted"
    assert len(artifact_files((artifact_root / doomed).as_uri())) == 4

    result = gc(db_uri, "--experiment-ids", doomed)

    assert result.exit_code == 0, result.output
    assert "removed 2 runs, 1 experiment, 3 artifact folders" in result.output
    with pytest.raises(ExperimentNotFound):
        store.get_experiment(doomed)
    assert store.get_experiment_by_name("gc-exp-doomed") is None
    for run_id in (earlier, later):
        assert_gone(store, db_uri, run_id)
    assert not (artifact_root / doomed).exists()
    assert_intact(store, db_uri, kept)
    # The name is free again.
    assert store.create_experiment("gc-exp-doomed")


def test_named_active_experiment_is_refused(store: TrackingStore, db_uri: str) -> None:
    exp = store.create_experiment("gc-exp-active")
    result = gc(db_uri, "--experiment-ids", exp)
    assert result.exit_code == 5
    assert f"experiment(s) not deleted: {exp}" in result.output
    assert store.get_experiment(exp).lifecycle_stage.value == "active"


def test_dry_run_removes_nothing(store: TrackingStore, db_uri: str, tmp_path: Path) -> None:
    exp = store.create_experiment("gc-dry")
    run_id = new_run(store, exp)
    put_artifacts(store, run_id, tmp_path)
    store.delete_run(run_id)
    before = row_counts(db_uri, run_id)

    result = gc(db_uri, "--dry-run")

    assert result.exit_code == 0, result.output
    assert f"run {run_id} (experiment {exp}): would remove" in result.output
    assert "gc (dry run): would remove 1 run, 0 experiments, 1 artifact folder" in result.output
    assert row_counts(db_uri, run_id) == before
    assert before["runs"] == 1 and before["metrics"] == 3 and before["params"] == 1
    assert artifact_files(store.get_run(run_id).info.artifact_uri) == [
        "model.txt",
        "sub/data.txt",
    ]


def test_store_failure_keeps_rows_and_a_rerun_finishes(
    sqlite_store: TrackingStore, sqlite_uri: str, tmp_path: Path, artifact_root: Path
) -> None:
    exp = sqlite_store.create_experiment("gc-failure")
    broken, fine = new_run(sqlite_store, exp), new_run(sqlite_store, exp)
    for run_id in (broken, fine):
        put_artifacts(sqlite_store, run_id, tmp_path)
    good_uri = sqlite_store.get_run(broken).info.artifact_uri
    sqlite_store.delete_experiment(exp)
    execute(
        sqlite_uri,
        "UPDATE runs SET artifact_uri = :u WHERE run_uuid = :r",
        u=f"hdfs://namenode/x/{broken}/artifacts",
        r=broken,
    )

    result = gc(sqlite_uri)

    assert result.exit_code == 1
    assert f"run {broken}" in result.output and "unsupported scheme 'hdfs'" in result.output
    assert "rows kept" in result.output
    assert f"experiment {exp} ('gc-failure'): kept, 1 of its runs remain" in result.output
    assert "removed 1 run, 0 experiments, 1 artifact folder" in result.output
    assert "1 failure: re-run gc to retry" in result.output
    assert row_counts(sqlite_uri, broken)["runs"] == 1
    assert artifact_files(good_uri) == ["model.txt", "sub/data.txt"]  # experiment folder kept
    assert_gone(sqlite_store, sqlite_uri, fine)

    # The store is reachable again: the next gc finishes the job.
    execute(
        sqlite_uri, "UPDATE runs SET artifact_uri = :u WHERE run_uuid = :r", u=good_uri, r=broken
    )
    again = gc(sqlite_uri)
    assert again.exit_code == 0, again.output
    assert "removed 1 run, 1 experiment, 2 artifact folders" in again.output
    assert_gone(sqlite_store, sqlite_uri, broken)
    assert not (artifact_root / exp).exists()


def test_shared_and_user_chosen_locations_are_kept(
    sqlite_store: TrackingStore, sqlite_uri: str, tmp_path: Path
) -> None:
    shared = tmp_path / "team-artifacts"
    mine = tmp_path / "my-project"
    first = sqlite_store.create_experiment("gc-shared-1", artifact_location=shared.as_uri())
    second = sqlite_store.create_experiment("gc-shared-2", artifact_location=shared.as_uri())
    custom = sqlite_store.create_experiment("gc-custom", artifact_location=mine.as_uri())
    runs = {e: new_run(sqlite_store, e) for e in (first, second, custom)}
    for run_id in runs.values():
        put_artifacts(sqlite_store, run_id, tmp_path)
    (mine / "notes.txt").write_text("mine, not a run's")
    sqlite_store.delete_experiment(first)
    sqlite_store.delete_experiment(custom)

    result = gc(sqlite_uri)

    assert result.exit_code == 0, result.output
    assert "kept, other experiments use it" in result.output
    assert "kept, it holds other files" in result.output
    assert "removed 2 runs, 2 experiments, 2 artifact folders" in result.output
    assert sorted(os.listdir(shared)) == [runs[second]]
    assert_intact(sqlite_store, sqlite_uri, runs[second])
    assert sorted(os.listdir(mine)) == ["notes.txt"]


def test_proxied_artifacts_need_the_destination_and_partials_are_swept(
    sqlite_uri: str, tmp_path: Path
) -> None:
    dest = tmp_path / "destination"
    store = tracking_store_for_uri(
        sqlite_uri, StoreOptions(default_artifact_root="modelyard-artifacts:/")
    )
    try:
        exp = store.create_experiment("gc-proxied")
        doomed, kept = (new_run(store, exp) for _ in range(2))
        assert store.get_run(doomed).info.artifact_uri.startswith(f"modelyard-artifacts:/{exp}/")
        for run_id in (doomed, kept):
            put_artifacts(store, run_id, tmp_path, dest)
        store.delete_run(doomed)
        partial = dest / ".modelyard-partial"
        partial.mkdir(exist_ok=True)
        (partial / "old.part").write_bytes(b"x")
        (partial / "new.part").write_bytes(b"y")
        two_hours_ago = time.time() - 7200
        os.utime(partial / "old.part", (two_hours_ago, two_hours_ago))

        refused = gc(sqlite_uri)
        assert refused.exit_code == 5
        assert "--artifacts-destination" in refused.output
        assert "nothing was removed" in refused.output
        assert row_counts(sqlite_uri, doomed)["runs"] == 1

        result = gc(sqlite_uri, "--artifacts-destination", dest.as_uri())

        assert result.exit_code == 0, result.output
        assert (
            "removed 1 run, 0 experiments, 1 artifact folder; swept 1 partial upload"
            in result.output
        )
        assert not (dest / exp / doomed).exists()
        assert sorted(os.listdir(partial)) == ["new.part"]
        kept_uri = store.get_run(kept).info.artifact_uri
        assert artifact_files(kept_uri, dest) == [
            f"{exp}/{kept}/artifacts/model.txt",
            f"{exp}/{kept}/artifacts/sub/data.txt",
        ]
    finally:
        store.close()


def test_s3_artifacts(
    sqlite_store: TrackingStore,
    sqlite_uri: str,
    tmp_path: Path,
    s3_bucket: str,
    s3_storage_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in s3_storage_env.items():
        monkeypatch.setenv(key, value)
    runs_exp = sqlite_store.create_experiment("gc-s3", artifact_location=f"s3://{s3_bucket}/r/1")
    exp_doomed = sqlite_store.create_experiment(
        "gc-s3-exp", artifact_location=f"s3://{s3_bucket}/r/2"
    )
    doomed, kept = new_run(sqlite_store, runs_exp), new_run(sqlite_store, runs_exp)
    in_doomed_exp = new_run(sqlite_store, exp_doomed)
    for run_id in (doomed, kept, in_doomed_exp):
        put_artifacts(sqlite_store, run_id, tmp_path)
    sqlite_store.delete_run(doomed)
    sqlite_store.delete_experiment(exp_doomed)

    result = gc(sqlite_uri, env=s3_storage_env)

    assert result.exit_code == 0, result.output
    # S3 has no empty folders: the experiment's prefix is gone with its last run.
    assert "removed 2 runs, 1 experiment, 2 artifact folders" in result.output
    bucket = ArtifactStore(f"s3://{s3_bucket}")
    assert [e.path for e in bucket.list("", recursive=True)] == [
        f"r/1/{kept}/artifacts/model.txt",
        f"r/1/{kept}/artifacts/sub/data.txt",
    ]
    assert_gone(sqlite_store, sqlite_uri, doomed)
    assert_gone(sqlite_store, sqlite_uri, in_doomed_exp)
    assert_intact(sqlite_store, sqlite_uri, kept)


def test_azure_artifacts(
    sqlite_store: TrackingStore,
    sqlite_uri: str,
    tmp_path: Path,
    azure_container: str,
    azure_storage_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in azure_storage_env.items():
        monkeypatch.setenv(key, value)
    root = f"wasbs://{azure_container}@devstoreaccount1.blob.core.windows.net"
    exp = sqlite_store.create_experiment("gc-azure", artifact_location=f"{root}/exp")
    doomed, kept = new_run(sqlite_store, exp), new_run(sqlite_store, exp)
    for run_id in (doomed, kept):
        put_artifacts(sqlite_store, run_id, tmp_path)
    sqlite_store.delete_run(doomed)

    result = gc(sqlite_uri, env=azure_storage_env)

    assert result.exit_code == 0, result.output
    assert "removed 1 run, 0 experiments, 1 artifact folder" in result.output
    assert [e.path for e in ArtifactStore(root).list("", recursive=True)] == [
        f"exp/{kept}/artifacts/model.txt",
        f"exp/{kept}/artifacts/sub/data.txt",
    ]
    assert_gone(sqlite_store, sqlite_uri, doomed)
    assert_intact(sqlite_store, sqlite_uri, kept)


def test_bucket_root_location_is_never_deleted(
    sqlite_store: TrackingStore,
    sqlite_uri: str,
    tmp_path: Path,
    s3_bucket: str,
    s3_storage_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in s3_storage_env.items():
        monkeypatch.setenv(key, value)
    exp = sqlite_store.create_experiment("gc-s3-root", artifact_location=f"s3://{s3_bucket}")
    run_id = new_run(sqlite_store, exp)
    put_artifacts(sqlite_store, run_id, tmp_path)
    other = ArtifactStore(f"s3://{s3_bucket}")
    src = tmp_path / "other.txt"
    src.write_text("not modelyard's")
    other.upload_file("other.txt", src)
    sqlite_store.delete_experiment(exp)

    result = gc(sqlite_uri, env=s3_storage_env)

    assert result.exit_code == 0, result.output
    assert f"artifact folder s3://{s3_bucket} kept, it is the root of its store" in result.output
    assert "removed 1 run, 1 experiment, 1 artifact folder" in result.output
    assert [e.path for e in other.list("", recursive=True)] == ["other.txt"]
    assert_gone(sqlite_store, sqlite_uri, run_id)


def test_remote_artifact_server(sqlite_uri: str, tmp_path: Path) -> None:
    """`modelyard-artifacts://host:port/…` is deleted through that server's ArtifactService."""
    from modelyard.server import artifacts_only
    from modelyard.server.settings import ServerSettings

    dest = tmp_path / "remote-destination"
    dest.mkdir()
    bundle = artifacts_only.build(
        ServerSettings(
            artifacts_only=True,
            artifacts_destination=dest.as_uri(),
            host="127.0.0.1",
            port=0,
            workers=4,
        )
    )
    bundle.server.start()
    store = tracking_store_for_uri(
        sqlite_uri,
        StoreOptions(default_artifact_root=f"modelyard-artifacts://127.0.0.1:{bundle.port}/"),
    )
    try:
        exp = store.create_experiment("gc-remote")
        doomed, kept = new_run(store, exp), new_run(store, exp)
        for run_id in (doomed, kept):
            put_artifacts(store, run_id, tmp_path, dest)  # written straight into its destination
        store.delete_run(doomed)

        result = gc(sqlite_uri)

        assert result.exit_code == 0, result.output
        assert "removed 1 run, 0 experiments, 1 artifact folder" in result.output
        assert not (dest / exp / doomed).exists()
        assert (dest / exp / kept / "artifacts" / "model.txt").exists()
        assert_gone(store, sqlite_uri, doomed)
    finally:
        store.close()
        bundle.server.stop(grace=1.0).wait(10)
        bundle.close()


def test_default_experiment_keeps_its_row(
    sqlite_store: TrackingStore, sqlite_uri: str, tmp_path: Path, artifact_root: Path
) -> None:
    run_id = new_run(sqlite_store, "0")
    put_artifacts(sqlite_store, run_id, tmp_path)
    sqlite_store.delete_experiment("0")

    result = gc(sqlite_uri)

    assert result.exit_code == 0, result.output
    assert "experiment 0 ('Default'): kept, the Default experiment is never purged" in (
        result.output
    )
    assert "removed 1 run, 0 experiments, 1 artifact folder" in result.output
    assert_gone(sqlite_store, sqlite_uri, run_id)
    assert sqlite_store.get_experiment("0").lifecycle_stage.value == "deleted"


def test_refuses_server_uris_and_missing_sqlite_files(tmp_path: Path) -> None:
    result = gc("grpc://127.0.0.1:50051")
    assert result.exit_code == 2  # INVALID_ARGUMENT
    assert "gc needs the database itself" in result.output
    missing = tmp_path / "nope.db"
    result = gc(f"sqlite:///{missing}")
    assert result.exit_code == 2
    assert "no SQLite database" in result.output
    assert not missing.exists()


def test_duration_parsing() -> None:
    assert parse_duration_ms("7d") == 7 * DAY_MS
    assert parse_duration_ms("12h") == 12 * 3_600_000
    assert parse_duration_ms("30m") == 1_800_000
    assert parse_duration_ms("0s") == 0
    assert parse_duration_ms("1d12h") == DAY_MS + 12 * 3_600_000
    for bad in ("", "7", "7x", "d", "-1d", "1h1d"):
        with pytest.raises(InvalidArgument):
            parse_duration_ms(bad)
