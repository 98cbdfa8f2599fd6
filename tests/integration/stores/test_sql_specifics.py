"""What only the SQL store can show: SQLite pragmas and parallel writers, MariaDB collation,
exact NaN/inf storage, restore semantics and idempotent retries, on every database."""

from __future__ import annotations

import math
import multiprocessing
import threading
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import event, text

from modelyard.entities import LifecycleStage, Metric, Param, RunTag, ViewType
from modelyard.errors import ParamAlreadyLogged, Unavailable
from modelyard.registry.schema import FLOAT_MAX, ValueKind
from modelyard.registry.tracking import SqlTrackingStore, open_tracking_store
from modelyard.stores import StoreOptions

pytestmark = pytest.mark.integration

BACKENDS = ["sqlite", "postgres", "mysql"]


def _open(uri: str) -> SqlTrackingStore:
    return open_tracking_store(uri, StoreOptions(default_artifact_root="file:///artifacts"))


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Iterator[SqlTrackingStore]:
    """A SQL store on a fresh database of each backend."""
    uri = str(request.getfixturevalue(f"{request.param}_uri"))
    s = _open(uri)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def sqlite_store(sqlite_uri: str) -> Iterator[SqlTrackingStore]:
    """A SQL store on a fresh SQLite file."""
    s = _open(sqlite_uri)
    try:
        yield s
    finally:
        s.close()


def _new_run(store: SqlTrackingStore) -> str:
    exp = store.create_experiment(f"e-{uuid.uuid4().hex[:10]}")
    return store.create_run(experiment_id=exp).info.run_id


# -- SQLite -------------------------------------------------------------------------------


def test_sqlite_connections_use_wal_normal_sync_and_foreign_keys(
    sqlite_store: SqlTrackingStore,
) -> None:
    with sqlite_store.db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL, never OFF
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        # case_sensitive_like cannot be read back; its effect can.
        assert conn.exec_driver_sql("SELECT 'abc' LIKE 'ABC'").scalar() == 0
        assert conn.exec_driver_sql("SELECT 'abc' LIKE 'a%'").scalar() == 1


def test_sqlite_write_transactions_begin_immediate(sqlite_store: SqlTrackingStore) -> None:
    statements: list[str] = []

    def spy(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(sqlite_store.db.engine, "before_cursor_execute", spy)
    try:
        run_id = _new_run(sqlite_store)
        statements.clear()
        sqlite_store.log_metric(run_id, Metric(key="m", value=1.0, timestamp=1, step=0))
        sqlite_store.get_run(run_id)
    finally:
        event.remove(sqlite_store.db.engine, "before_cursor_execute", spy)
    begins = [s for s in statements if s.startswith("BEGIN")]
    assert begins == ["BEGIN IMMEDIATE", "BEGIN"]


def _sqlite_writer(uri: str, run_id: str, worker: int, rounds: int) -> int:
    store = _open(uri)
    try:
        for i in range(rounds):
            store.log_metric(
                run_id, Metric(key=f"w{worker}", value=float(i), timestamp=i + 1, step=i)
            )
            store.log_batch(
                run_id,
                metrics=[
                    Metric(key=f"b{worker}", value=float(j), timestamp=i + 1, step=i * 10 + j)
                    for j in range(10)
                ],
                params=[Param(key=f"p{worker}_{i}", value=str(i))],
                tags=[RunTag(key="shared", value=f"{worker}-{i}")],
            )
            mine = store.create_run(experiment_id="0").info.run_id
            store.set_tag(mine, RunTag(key="t", value="v"))
    finally:
        store.close()
    return rounds


def test_parallel_writer_processes_never_see_database_is_locked(sqlite_uri: str) -> None:
    store = _open(sqlite_uri)
    try:
        run_id = _new_run(store)
    finally:
        store.close()
    workers, rounds = 4, 40
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers) as pool:
        results = pool.starmap(
            _sqlite_writer, [(sqlite_uri, run_id, w, rounds) for w in range(workers)]
        )
    assert results == [rounds] * workers
    store = _open(sqlite_uri)
    try:
        run = store.get_run(run_id)
        assert len(run.data.params) == workers * rounds
        for w in range(workers):
            single, _ = store.get_metric_history(run_id, f"w{w}")
            batched, _ = store.get_metric_history(run_id, f"b{w}")
            assert len(single) == rounds
            assert len(batched) == rounds * 10
        runs = store.search_runs(experiment_ids=["0"], max_results=1000)
        assert len(runs) == workers * rounds
    finally:
        store.close()


def test_parallel_writer_threads_share_one_store(sqlite_store: SqlTrackingStore) -> None:
    run_id = _new_run(sqlite_store)
    failures: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(50):
                sqlite_store.log_metric(
                    run_id, Metric(key=f"t{worker}", value=float(i), timestamp=i, step=i)
                )
                sqlite_store.get_run(run_id)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    for w in range(8):
        history, _ = sqlite_store.get_metric_history(run_id, f"t{w}")
        assert list(history.steps) == list(range(50))


# -- MySQL / MariaDB collation --------------------------------------------------------------


def test_mysql_tables_use_a_binary_no_pad_collation(mysql_uri: str) -> None:
    store = _open(mysql_uri)
    try:
        with store.db.read() as conn:
            version = str(conn.exec_driver_sql("SELECT VERSION()").scalar())
            rows = conn.execute(
                text(
                    "SELECT TABLE_NAME, TABLE_COLLATION FROM information_schema.TABLES "
                    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME <> 'alembic_version'"
                )
            ).all()
    finally:
        store.close()
    expected = "utf8mb4_nopad_bin" if "mariadb" in version.lower() else "utf8mb4_0900_bin"
    assert len(rows) >= 9
    assert {collation for _, collation in rows} == {expected}


def test_keys_and_names_differing_in_case_or_trailing_space_are_distinct(
    store: SqlTrackingStore,
) -> None:
    base = f"Name-{uuid.uuid4().hex[:8]}"
    variants = [base.lower(), base.upper(), base.lower() + " "]
    ids = [store.create_experiment(v) for v in variants]
    assert len(set(ids)) == 3
    for v, i in zip(variants, ids, strict=True):
        found = store.get_experiment_by_name(v)
        assert found is not None
        assert found.experiment_id == i
        assert found.name == v
    run_id = store.create_run(experiment_id=ids[0]).info.run_id
    store.log_batch(
        run_id,
        params=[Param(key="a", value="1"), Param(key="A", value="2"), Param(key="a ", value="3")],
        tags=[RunTag(key="k", value="x"), RunTag(key="K", value="y"), RunTag(key="k ", value="z")],
        metrics=[
            Metric(key="m", value=1.0, timestamp=1),
            Metric(key="M", value=2.0, timestamp=1),
            Metric(key="m ", value=3.0, timestamp=1),
        ],
    )
    data = store.get_run(run_id).data
    assert data.params == {"a": "1", "A": "2", "a ": "3"}
    assert {k: data.tags[k] for k in ("k", "K", "k ")} == {"k": "x", "K": "y", "k ": "z"}
    assert data.metrics == {"m": 1.0, "M": 2.0, "m ": 3.0}
    found = store.search_runs(experiment_ids=[ids[0]], filter_string="params.a = '1'")
    assert [r.info.run_id for r in found] == [run_id]
    assert len(store.search_runs(experiment_ids=[ids[0]], filter_string="params.A = '1'")) == 0


# -- exact values -----------------------------------------------------------------------------

SPECIAL = [
    math.nan,
    math.inf,
    -math.inf,
    FLOAT_MAX,
    -FLOAT_MAX,
    5e-324,
    -0.0,
    0.1 + 0.2,
    1e300,
]


def test_nan_and_infinities_round_trip_exactly(store: SqlTrackingStore) -> None:
    run_id = _new_run(store)
    store.log_batch(
        run_id,
        metrics=[
            Metric(key="v", value=value, timestamp=1000 + i, step=i)
            for i, value in enumerate(SPECIAL)
        ],
    )
    for i, value in enumerate(SPECIAL):
        store.log_metric(run_id, Metric(key=f"single{i}", value=value, timestamp=1, step=0))
    history, _ = store.get_metric_history(run_id, "v")
    assert len(history.values) == len(SPECIAL)
    for got, want in zip(history.values, SPECIAL, strict=True):
        if math.isnan(want):
            assert math.isnan(got)
        else:
            assert got == want
            assert math.copysign(1.0, got) == math.copysign(1.0, want) or want == 0.0
    metrics = store.get_run(run_id).data.metrics
    for i, value in enumerate(SPECIAL):
        got = metrics[f"single{i}"]
        assert (math.isnan(got) and math.isnan(value)) or got == value
    # The stored row keeps a searchable number and says what it really is.
    with store.db.read() as conn:
        kinds = dict(
            conn.execute(
                text(
                    "SELECT step, value_kind FROM metrics WHERE run_uuid = :r AND "
                    + store.db.quote("key")
                    + " = 'v'"
                ),
                {"r": run_id},
            ).all()
        )
    assert kinds[0] == ValueKind.NAN
    assert kinds[1] == ValueKind.POS_INF
    assert kinds[2] == ValueKind.NEG_INF
    assert kinds[3] == ValueKind.FINITE


def test_latest_metric_is_max_by_step_then_timestamp_then_value(store: SqlTrackingStore) -> None:
    run_id = _new_run(store)
    for step in (0, 1, 2):
        store.log_metric(run_id, Metric(key="s", value=float(step), timestamp=10, step=step))
    store.log_metric(run_id, Metric(key="s", value=5.0, timestamp=99, step=0))
    store.log_batch(
        run_id,
        metrics=[
            Metric(key="t", value=1.0, timestamp=5, step=3),
            Metric(key="t", value=2.0, timestamp=4, step=3),
            Metric(key="u", value=1.0, timestamp=5, step=3),
            Metric(key="u", value=7.0, timestamp=5, step=3),
            Metric(key="u", value=3.0, timestamp=5, step=3),
        ],
    )
    store.log_metric(run_id, Metric(key="t", value=-1.0, timestamp=5, step=3))
    latest = {m.key: m for m in store.get_run(run_id).data.metric_list}
    assert (latest["s"].value, latest["s"].step) == (2.0, 2)
    assert (latest["t"].value, latest["t"].timestamp) == (1.0, 5)
    assert latest["u"].value == 7.0


# -- soft delete and restore ------------------------------------------------------------------


def test_restore_brings_back_only_the_runs_the_deletion_removed(store: SqlTrackingStore) -> None:
    exp = store.create_experiment(f"restore-{uuid.uuid4().hex[:8]}")
    kept = store.create_run(experiment_id=exp).info.run_id
    deleted_before = store.create_run(experiment_id=exp).info.run_id
    store.delete_run(deleted_before)
    store.delete_experiment(exp)
    assert store.get_experiment(exp).lifecycle_stage == LifecycleStage.DELETED
    for run_id in (kept, deleted_before):
        assert store.get_run(run_id).info.lifecycle_stage == LifecycleStage.DELETED
    store.restore_experiment(exp)
    assert store.get_experiment(exp).lifecycle_stage == LifecycleStage.ACTIVE
    assert store.get_run(kept).info.lifecycle_stage == LifecycleStage.ACTIVE
    assert store.get_run(deleted_before).info.lifecycle_stage == LifecycleStage.DELETED
    # A second delete/restore cycle still works on the restored run only.
    store.delete_experiment(exp)
    store.restore_experiment(exp)
    assert store.get_run(kept).info.lifecycle_stage == LifecycleStage.ACTIVE
    assert store.get_run(deleted_before).info.lifecycle_stage == LifecycleStage.DELETED
    active = store.search_runs(experiment_ids=[exp], view_type=ViewType.ACTIVE_ONLY)
    assert [r.info.run_id for r in active] == [kept]
    with store.db.read() as conn:
        flags = conn.execute(
            text("SELECT deleted_with_experiment, deleted_time FROM runs WHERE run_uuid = :r"),
            {"r": kept},
        ).one()
    assert not flags[0]
    assert flags[1] is None


# -- idempotency and races -------------------------------------------------------------------


def test_retried_batch_with_request_id_writes_nothing_twice(store: SqlTrackingStore) -> None:
    run_id = _new_run(store)
    batch = [Metric(key="r", value=float(i), timestamp=i, step=i) for i in range(5)]
    for _ in range(3):
        store.log_batch(run_id, metrics=batch, request_id="batch-1")
    history, _ = store.get_metric_history(run_id, "r")
    assert len(history) == 5
    store.log_batch(run_id, metrics=batch, request_id="batch-2")
    assert len(store.get_metric_history(run_id, "r")[0]) == 10


def test_refused_batch_writes_nothing(store: SqlTrackingStore) -> None:
    run_id = _new_run(store)
    store.log_param(run_id, Param(key="p", value="1"))
    with pytest.raises(ParamAlreadyLogged) as info:
        store.log_batch(
            run_id,
            metrics=[Metric(key="x", value=1.0, timestamp=1)],
            params=[Param(key="q", value="new"), Param(key="p", value="2")],
            tags=[RunTag(key="t", value="v")],
            request_id="refused",
        )
    assert info.value.details["key"] == "p"
    assert info.value.details["old_value"] == "1"
    assert info.value.details["new_value"] == "2"
    run = store.get_run(run_id)
    assert run.data.params == {"p": "1"}
    assert "x" not in run.data.metrics
    assert "t" not in run.data.tags
    # The refused request id was not recorded: a corrected retry goes through.
    store.log_batch(run_id, params=[Param(key="q", value="new")], request_id="refused")
    assert store.get_run(run_id).data.params == {"p": "1", "q": "new"}


def test_concurrent_first_logs_of_one_param(store: SqlTrackingStore) -> None:
    run_id = _new_run(store)
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def log(value: str) -> None:
        barrier.wait()
        try:
            store.log_param(run_id, Param(key="lr", value=value))
            outcomes.append("ok")
        except ParamAlreadyLogged:
            outcomes.append("refused")

    threads = [threading.Thread(target=log, args=(str(i % 2),)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    value = store.get_run(run_id).data.params["lr"]
    assert outcomes.count("ok") == 3
    assert outcomes.count("refused") == 3
    assert value in ("0", "1")


def test_concurrent_retries_of_one_create_return_one_run(store: SqlTrackingStore) -> None:
    exp = store.create_experiment(f"retry-{uuid.uuid4().hex[:8]}")
    results: list[str] = []
    barrier = threading.Barrier(4)

    def create() -> None:
        barrier.wait()
        results.append(store.create_run(experiment_id=exp, request_id="same").info.run_id)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1
    assert len(store.search_runs(experiment_ids=[exp])) == 1


def test_unreachable_database_is_unavailable() -> None:
    with pytest.raises(Unavailable, match="unavailable"):
        open_tracking_store(
            "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2", StoreOptions()
        )
