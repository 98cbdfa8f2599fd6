"""Search statements run on real SQLite, PostgreSQL and MariaDB databases built from the schema."""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Iterator, Sequence

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from modelyard.entities import ViewType
from modelyard.errors import InvalidFilter
from modelyard.registry.schema import (
    FLOAT_MAX,
    Base,
    ExperimentRow,
    ExperimentTagRow,
    LatestMetricRow,
    ParamRow,
    RunRow,
    TagRow,
    ValueKind,
)
from modelyard.registry.search import (
    PageTokens,
    experiment_search_statement,
    query_fingerprint,
    run_search_statement,
)

pytestmark = pytest.mark.integration

PG_URL = os.environ.get("MODELYARD_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")
MY_URL = os.environ.get("MODELYARD_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306")

RUNS = RunRow.__table__
EXPERIMENTS = ExperimentRow.__table__


def _unavailable(what: str, exc: Exception) -> None:
    if os.environ.get("CI"):
        raise RuntimeError(f"{what} is required in CI but unreachable: {exc}") from exc
    pytest.skip(f"{what} unreachable: {exc}")


def _server_db(server_url: str, dbname: str, create_sql: str, drop_sql: str) -> Iterator[str]:
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(create_sql))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        _unavailable(server_url.split("://")[0], exc)
    try:
        yield dbname
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(drop_sql))
        admin.dispose()


def _sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    eng = sa.create_engine(f"sqlite:///{tmp_path_factory.mktemp('search') / 'search.db'}")

    @event.listens_for(eng, "connect")
    def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.execute("PRAGMA case_sensitive_like=ON")

    yield from _populated(eng)


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The SQLite database alone, for what only SQLite can show (its query plans)."""
    yield from _sqlite_engine(tmp_path_factory)


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "mysql"])
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A fresh database of each kind with the schema and the sample data."""
    name = f"modelyard_search_{uuid.uuid4().hex[:10]}"
    if request.param == "sqlite":
        yield from _sqlite_engine(tmp_path_factory)
        return
    if request.param == "postgresql":
        gen = _server_db(
            PG_URL + "/postgres",
            name,
            f'CREATE DATABASE "{name}"',
            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        )
        next(gen)
        eng = sa.create_engine(f"{PG_URL}/{name}")
    else:
        gen = _server_db(
            MY_URL + "/?charset=utf8mb4",
            name,
            f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin",
            f"DROP DATABASE IF EXISTS `{name}`",
        )
        next(gen)
        eng = sa.create_engine(f"{MY_URL}/{name}?charset=utf8mb4")
    try:
        yield from _populated(eng)
    finally:
        next(gen, None)


def _populated(eng: Engine) -> Iterator[Engine]:
    Base.metadata.create_all(eng)
    if eng.dialect.name in ("mysql", "mariadb"):
        with eng.begin() as conn:
            for table in Base.metadata.sorted_tables:
                conn.execute(
                    sa.text(
                        f"ALTER TABLE `{table.name}` CONVERT TO CHARACTER SET utf8mb4 "
                        "COLLATE utf8mb4_nopad_bin"
                    )
                )
    with eng.begin() as conn:
        _insert_sample(conn)
    try:
        yield eng
    finally:
        eng.dispose()


# ----------------------------------------------------------------------------------------------
# sample data


def _metric(value: float) -> tuple[float, int]:
    if math.isnan(value):
        return 0.0, ValueKind.NAN
    if math.isinf(value):
        return math.copysign(
            FLOAT_MAX, value
        ), ValueKind.POS_INF if value > 0 else ValueKind.NEG_INF
    return value, ValueKind.FINITE


def add_run(
    conn: Connection,
    run_id: str,
    *,
    experiment_id: int = 1,
    name: str | None = None,
    start: int = 1000,
    end: int | None = None,
    status: str = "FINISHED",
    stage: str = "active",
    user: str = "alice",
    metrics: dict[str, float] | None = None,
    params: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
) -> None:
    """Insert one run with its latest metrics, params and tags."""
    name = name or f"run-{run_id}"
    conn.execute(
        sa.insert(RUNS).values(
            run_uuid=run_id,
            experiment_id=experiment_id,
            name=name,
            user_id=user,
            status=status,
            start_time=start,
            end_time=end,
            artifact_uri=f"file:///a/{run_id}",
            lifecycle_stage=stage,
            deleted_time=None,
            deleted_with_experiment=False,
        )
    )
    for k, v in (metrics or {}).items():
        value, kind = _metric(v)
        conn.execute(
            sa.insert(LatestMetricRow.__table__).values(
                run_uuid=run_id, key=k, step=0, timestamp=0, value=value, value_kind=int(kind)
            )
        )
    for k, v in (params or {}).items():
        conn.execute(sa.insert(ParamRow.__table__).values(run_uuid=run_id, key=k, value=v))
    for k, v in {"mlflow.runName": name, **(tags or {})}.items():
        conn.execute(sa.insert(TagRow.__table__).values(run_uuid=run_id, key=k, value=v))


def _insert_sample(conn: Connection) -> None:
    for i, (name, t) in enumerate([("exp-a", 300), ("Exp-B", 100), ("other", 200)], start=1):
        conn.execute(
            sa.insert(EXPERIMENTS).values(
                experiment_id=i,
                name=name,
                artifact_location=f"file:///e/{i}",
                lifecycle_stage="active",
                creation_time=t,
                last_update_time=t + 5,
            )
        )
    conn.execute(
        sa.insert(EXPERIMENTS).values(
            experiment_id=4,
            name="gone",
            artifact_location="file:///e/4",
            lifecycle_stage="deleted",
            creation_time=400,
            last_update_time=400,
        )
    )
    et = ExperimentTagRow.__table__
    conn.execute(sa.insert(et).values(experiment_id=1, key="team", value="vision"))
    conn.execute(sa.insert(et).values(experiment_id=2, key="team", value="NLP"))

    add_run(
        conn,
        "r1",
        name="alpha",
        start=1000,
        end=2000,
        metrics={"acc": 0.5, "loss": 1.0, "a b": 3.0},
        params={"lr": "0.1", "opt": "adam", "pat": "50%_off"},
        tags={"grp": "Alpha", "mlflow.parentRunId": "p0"},
    )
    add_run(
        conn,
        "r2",
        name="Beta",
        start=2000,
        status="RUNNING",
        metrics={"acc": math.nan, "loss": 2.0},
        params={"lr": "0.01", "opt": "Adam", "pat": "50 percent"},
        tags={"grp": "alpha"},
    )
    add_run(
        conn,
        "r3",
        name="gamma",
        start=3000,
        end=3500,
        metrics={"acc": math.inf, "loss": 0.5},
        params={"lr": "0.1", "opt": "adam "},
        tags={"grp": "beta", "mlflow.parentRunId": "p0"},
    )
    add_run(
        conn,
        "r4",
        name="delta",
        start=3000,
        end=3100,
        metrics={"acc": -math.inf},
        params={"lr": "1"},
        user="bob",
    )
    add_run(
        conn,
        "r5",
        name="epsilon",
        start=500,
        end=600,
        metrics={"loss": 0.7},
        params={"opt": "sgd"},
        tags={"grp": "a%b"},
    )
    add_run(
        conn,
        "r6",
        name="zeta",
        start=4000,
        stage="deleted",
        metrics={"acc": 0.9},
        params={"lr": "0.1"},
    )
    add_run(
        conn,
        "r7",
        experiment_id=2,
        name="eta",
        start=100,
        metrics={"acc": 0.99},
        params={"lr": "0.1"},
    )


# ----------------------------------------------------------------------------------------------
# helpers


def ids(
    engine: Engine,
    filter_string: str = "",
    order_by: Sequence[str] = (),
    view_type: ViewType = ViewType.ACTIVE_ONLY,
    experiment_ids: Sequence[int] = (1,),
    limit: int | None = None,
    offset: int = 0,
) -> list[str]:
    """Run ids a run search returns, in order."""
    stmt = run_search_statement(
        dialect_name=engine.dialect.name,
        experiment_ids=experiment_ids,
        filter_string=filter_string,
        view_type=view_type,
        order_by=order_by,
    )
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
    with engine.connect() as conn:
        return [row.run_uuid for row in conn.execute(stmt)]


def unordered(engine: Engine, filter_string: str, **kw: object) -> set[str]:
    """The set of run ids a filter matches."""
    return set(ids(engine, filter_string, **kw))  # type: ignore[arg-type]


def exp_names(
    engine: Engine,
    filter_string: str = "",
    order_by: Sequence[str] = (),
    view_type: ViewType = ViewType.ACTIVE_ONLY,
) -> list[str]:
    """Experiment names an experiment search returns, in order."""
    stmt = experiment_search_statement(
        dialect_name=engine.dialect.name,
        view_type=view_type,
        filter_string=filter_string,
        order_by=order_by,
    )
    with engine.connect() as conn:
        return [row.name for row in conn.execute(stmt)]


# ----------------------------------------------------------------------------------------------
# runs: filters


def test_statement_selects_every_run_column_in_table_order(engine: Engine) -> None:
    stmt = run_search_statement(
        dialect_name=engine.dialect.name,
        experiment_ids=[1],
        filter_string="",
        view_type=ViewType.ALL,
        order_by=[],
    )
    with engine.connect() as conn:
        result = conn.execute(stmt)
        assert list(result.keys()) == [c.name for c in RUNS.columns]


def test_default_order_is_start_time_desc_then_run_id(engine: Engine) -> None:
    assert ids(engine) == ["r3", "r4", "r2", "r1", "r5"]


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ("metrics.acc > 0.4", {"r1", "r3"}),
        ("metrics.acc < 0.6", {"r1", "r4"}),
        ("metrics.acc <= 0.5", {"r1", "r4"}),
        ("metrics.acc >= 0.5", {"r1", "r3"}),
        ("metrics.acc = 0.5", {"r1"}),
        ("metrics.acc != 0.5", {"r2", "r3", "r4"}),  # NaN matches only !=; r5 has no acc
        ("metrics.acc = 0", set()),  # NaN is stored as 0 but is not 0
        ("metrics.acc >= 1e400", {"r3"}),
        ("metrics.acc <= -1e400", {"r4"}),
        ("metrics.acc > 1e308", {"r3"}),
        ("metric.loss < 1 and metrics.acc > 0", {"r3"}),
        ("metrics.`a b` = 3", {"r1"}),
        ('metrics."a b" = 3.0', {"r1"}),
        ("metrics.nope > 0", set()),
    ],
)
def test_metric_filters(engine: Engine, flt: str, expected: set[str]) -> None:
    assert unordered(engine, flt) == expected


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ("params.lr = '0.1'", {"r1", "r3"}),
        ("params.lr != '0.1'", {"r2", "r4"}),  # r5 has no lr
        ("params.opt = 'adam'", {"r1"}),  # case- and trailing-space-sensitive
        ("params.opt = 'adam '", {"r3"}),
        ("params.opt LIKE 'adam%'", {"r1", "r3"}),
        ("params.opt LIKE 'A%'", {"r2"}),
        ("params.opt ILIKE 'adam'", {"r1", "r2"}),
        ("params.opt ILIKE 'A_AM%'", {"r1", "r2", "r3"}),
        ("params.pat LIKE '50\\%%'", {"r1"}),  # backslash escapes a wildcard
        ("params.pat LIKE '50%'", {"r1", "r2"}),
        ("params.pat LIKE '50_\\_off'", {"r1"}),
        ("params.lr IS NULL", {"r5"}),
        ("params.lr IS NOT NULL", {"r1", "r2", "r3", "r4"}),
        ("params.lr IN ('0.01', '1')", {"r2", "r4"}),
        ("params.lr NOT IN ('0.01', '1')", {"r1", "r3"}),
        ("parameters.lr = \"0.1\" and param.opt = 'adam'", {"r1"}),
    ],
)
def test_param_filters(engine: Engine, flt: str, expected: set[str]) -> None:
    assert unordered(engine, flt) == expected


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ("tags.grp = 'alpha'", {"r2"}),
        ("tags.grp LIKE 'alpha'", {"r2"}),
        ("tags.grp ILIKE 'ALPHA'", {"r1", "r2"}),
        ("tag.grp LIKE 'a%'", {"r2", "r5"}),
        ("tags.grp LIKE 'a\\%b'", {"r5"}),
        ("tags.grp IS NULL", {"r4"}),
        ("tags.`mlflow.parentRunId` = 'p0'", {"r1", "r3"}),
        ("tags.\"mlflow.parentRunId\" = 'p0'", {"r1", "r3"}),
        ("tags.mlflow.parentRunId = 'p0'", {"r1", "r3"}),
        ("tags.`mlflow.parentRunId` IS NULL", {"r2", "r4", "r5"}),
        ("tags.`mlflow.runName` = 'Beta'", {"r2"}),
    ],
)
def test_tag_filters(engine: Engine, flt: str, expected: set[str]) -> None:
    assert unordered(engine, flt) == expected


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ("attributes.run_id = 'r1'", {"r1"}),
        ("attributes.run_id IN ('r1', 'r4', 'zz')", {"r1", "r4"}),
        ("run_id NOT IN ('r1', 'r4')", {"r2", "r3", "r5"}),
        ("attributes.run_name = 'Beta'", {"r2"}),
        ("run_name LIKE '%a'", {"r1", "r2", "r3", "r4"}),
        ("run_name LIKE 'b%'", set()),
        ("run_name ILIKE 'b%'", {"r2"}),
        ("`Run name` = 'alpha'", {"r1"}),
        ("attributes.status = 'RUNNING'", {"r2"}),
        ("attributes.status = 'running'", set()),
        ("attr.user_id != 'alice'", {"r4"}),
        ("run.artifact_uri LIKE '%/r5'", {"r5"}),
        ("attributes.start_time >= 3000", {"r3", "r4"}),
        ("created < 1000", {"r5"}),
        ("attributes.end_time > 3000", {"r3", "r4"}),
        ("end_time = 2000 and start_time = 1000", {"r1"}),
        ("attributes.lifecycle_stage = 'active'", {"r1", "r2", "r3", "r4", "r5"}),
    ],
)
def test_attribute_filters(engine: Engine, flt: str, expected: set[str]) -> None:
    assert unordered(engine, flt) == expected


def test_keywords_are_case_insensitive(engine: Engine) -> None:
    flt = "params.lr in ('0.1') AnD tags.grp iLiKe 'BETA' and params.x is null"
    assert unordered(engine, flt) == {"r3"}


def test_view_type_and_experiment_ids(engine: Engine) -> None:
    assert unordered(engine, "", view_type=ViewType.DELETED_ONLY) == {"r6"}
    assert len(unordered(engine, "", view_type=ViewType.ALL)) == 6
    assert unordered(engine, "metrics.acc > 0.95", experiment_ids=[1, 2]) == {"r3", "r7"}
    assert unordered(engine, "metrics.acc > 0.95", experiment_ids=[2]) == {"r7"}
    assert unordered(engine, "", experiment_ids=[]) == set()


def test_injection_attempts_are_plain_literals_or_errors(engine: Engine) -> None:
    assert unordered(engine, "params.lr = '''; DROP TABLE runs; --'") == set()
    assert unordered(engine, "params.lr = '0.1'' OR ''1''=''1'") == set()
    assert unordered(engine, "tags.`grp'; DROP TABLE runs; --` = 'x'") == set()
    for bad in (
        "params.a = 'x' OR 1=1 --",
        "'; DROP TABLE runs; --",
        "params.lr = '0.1'; DROP TABLE runs; --",
    ):
        with pytest.raises(InvalidFilter):
            ids(engine, bad)
    assert len(ids(engine, view_type=ViewType.ALL)) == 6


def test_unicode_values(engine: Engine) -> None:
    with engine.begin() as conn:
        add_run(
            conn, "u1", experiment_id=3, name="ünï", params={"city": "Zürich"}, tags={"emoji": "🚀"}
        )
    assert unordered(engine, "params.city = 'Zürich'", experiment_ids=[3]) == {"u1"}
    assert unordered(engine, "params.city LIKE 'Z_rich'", experiment_ids=[3]) == {"u1"}
    assert unordered(engine, "tags.emoji = '🚀'", experiment_ids=[3]) == {"u1"}
    assert unordered(engine, "run_name = 'ünï'", experiment_ids=[3]) == {"u1"}


# ----------------------------------------------------------------------------------------------
# runs: order_by


def test_metric_order_puts_nan_then_missing_last_both_ways(engine: Engine) -> None:
    assert ids(engine, order_by=["metrics.acc"]) == ["r4", "r1", "r3", "r2", "r5"]
    assert ids(engine, order_by=["metrics.acc ASC"]) == ["r4", "r1", "r3", "r2", "r5"]
    assert ids(engine, order_by=["metrics.acc DESC"]) == ["r3", "r1", "r4", "r2", "r5"]


def test_param_and_tag_order_missing_last_both_ways(engine: Engine) -> None:
    # lr: r1 0.1, r2 0.01, r3 0.1, r4 1, r5 missing; ties broken by start_time DESC
    assert ids(engine, order_by=["params.lr"]) == ["r2", "r3", "r1", "r4", "r5"]
    assert ids(engine, order_by=["params.lr DESC"]) == ["r4", "r3", "r1", "r2", "r5"]
    # grp: r1 Alpha, r2 alpha, r3 beta, r5 a%b, r4 missing: code-point order
    assert ids(engine, order_by=["tags.grp"]) == ["r1", "r5", "r2", "r3", "r4"]
    assert ids(engine, order_by=["tags.grp desc"]) == ["r3", "r2", "r5", "r1", "r4"]


def test_attribute_order(engine: Engine) -> None:
    assert ids(engine, order_by=["attributes.run_name"]) == ["r2", "r1", "r4", "r5", "r3"]
    assert ids(engine, order_by=["start_time ASC"]) == ["r5", "r1", "r2", "r3", "r4"]
    assert ids(engine, order_by=["created DESC"]) == ["r3", "r4", "r2", "r1", "r5"]
    # end_time: r2 is still running (NULL) and sorts last both ways
    assert ids(engine, order_by=["end_time"]) == ["r5", "r1", "r4", "r3", "r2"]
    assert ids(engine, order_by=["end_time DESC"]) == ["r3", "r4", "r1", "r5", "r2"]
    assert ids(engine, order_by=["attributes.status", "run_id DESC"]) == [
        "r5",
        "r4",
        "r3",
        "r1",
        "r2",
    ]


def test_several_order_keys_and_filter_do_not_multiply_rows(engine: Engine) -> None:
    got = ids(
        engine,
        "metrics.loss > 0 and params.lr IS NOT NULL and tags.grp LIKE '%'",
        order_by=["metrics.loss DESC", "params.opt", "tags.grp"],
    )
    assert got == ["r2", "r1", "r3"]
    got = ids(engine, order_by=["metrics.acc", "metrics.loss", "params.lr", "tags.grp"])
    assert sorted(got) == ["r1", "r2", "r3", "r4", "r5"]


def test_sort_on_a_filtered_key_reuses_the_filter(engine: Engine) -> None:
    assert ids(engine, "metrics.acc != 0.5", order_by=["metrics.acc DESC"]) == ["r3", "r4", "r2"]
    assert ids(engine, "metrics.acc != 0.5", order_by=["metrics.acc"]) == ["r4", "r3", "r2"]
    assert ids(engine, "metrics.acc >= -1e400", order_by=["metrics.acc"]) == ["r4", "r1", "r3"]
    got = ids(engine, "metrics.acc > 0 and metrics.acc != 7", order_by=["metrics.acc DESC"])
    assert got == ["r3", "r1"]
    assert ids(engine, "params.lr IS NOT NULL", order_by=["params.lr DESC"]) == [
        "r4",
        "r3",
        "r1",
        "r2",
    ]
    assert ids(engine, "tags.grp LIKE '%'", order_by=["tags.grp"]) == ["r1", "r5", "r2", "r3"]
    got = ids(engine, "metrics.loss < 5", order_by=["metrics.loss DESC", "metrics.acc"])
    assert got == ["r2", "r1", "r5", "r3"]


def test_paging_with_limit_offset_and_tokens(engine: Engine) -> None:
    tokens = PageTokens(b"secret")
    fp = query_fingerprint("", ["metrics.acc DESC"], [1], ViewType.ACTIVE_ONLY)
    seen: list[str] = []
    token: str | None = None
    while True:
        offset = tokens.decode(token, fp)
        page = ids(engine, order_by=["metrics.acc DESC"], limit=2, offset=offset)
        seen += page
        if len(page) < 2:
            break
        token = tokens.encode(offset + len(page), fp)
    assert seen == ["r3", "r1", "r4", "r2", "r5"]


# ----------------------------------------------------------------------------------------------
# experiments


def test_experiment_default_order_and_view_type(engine: Engine) -> None:
    assert exp_names(engine) == ["exp-a", "other", "Exp-B"]
    assert exp_names(engine, view_type=ViewType.DELETED_ONLY) == ["gone"]
    assert exp_names(engine, view_type=ViewType.ALL) == ["gone", "exp-a", "other", "Exp-B"]


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ("name = 'exp-a'", {"exp-a"}),
        ("name != 'exp-a'", {"Exp-B", "other"}),
        ("name LIKE 'exp%'", {"exp-a"}),
        ("attributes.name ILIKE 'EXP-%'", {"exp-a", "Exp-B"}),
        ("experiment_id = '2'", {"Exp-B"}),
        ("experiment_id IN ('1', '3', '4')", {"exp-a", "other"}),
        ("experiment_id NOT IN ('1')", {"Exp-B", "other"}),
        ("creation_time > 150", {"exp-a", "other"}),
        ("last_update_time <= 105", {"Exp-B"}),
        ("tags.team = 'vision'", {"exp-a"}),
        ("tags.team ILIKE 'nlp'", {"Exp-B"}),
        ("tags.team IS NULL", {"other"}),
        ("tags.team IS NOT NULL and name LIKE 'E%'", {"Exp-B"}),
    ],
)
def test_experiment_filters(engine: Engine, flt: str, expected: set[str]) -> None:
    assert set(exp_names(engine, flt)) == expected


def test_experiment_order_by(engine: Engine) -> None:
    assert exp_names(engine, order_by=["name"]) == ["Exp-B", "exp-a", "other"]
    assert exp_names(engine, order_by=["name DESC"]) == ["other", "exp-a", "Exp-B"]
    assert exp_names(engine, order_by=["experiment_id DESC"]) == ["other", "Exp-B", "exp-a"]
    assert exp_names(engine, order_by=["last_update_time"]) == ["Exp-B", "other", "exp-a"]


@pytest.mark.parametrize(
    "flt",
    [
        "metrics.acc > 1",
        "name IN ('a')",
        "experiment_id = 'x'",
        "creation_time > '5'",
        "tags.team > 'a'",
        "attributes.artifact_location = 'x'",
        "name = 'a' OR name = 'b'",
    ],
)
def test_experiment_bad_filters(engine: Engine, flt: str) -> None:
    with pytest.raises(InvalidFilter):
        exp_names(engine, flt)


def test_sqlite_like_is_case_sensitive_even_without_the_pragma(tmp_path) -> None:  # type: ignore[no-untyped-def]
    eng = sa.create_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    Base.metadata.create_all(eng)
    with eng.begin() as conn:
        conn.execute(
            sa.insert(EXPERIMENTS).values(
                experiment_id=1,
                name="e",
                artifact_location="x",
                lifecycle_stage="active",
                creation_time=0,
                last_update_time=0,
            )
        )
        add_run(conn, "a", params={"p": "Adam"})
        add_run(conn, "b", params={"p": "adam"})
        add_run(conn, "c", params={"größe": "*?[x]"})
    try:
        assert unordered(eng, "params.p LIKE 'adam'") == {"b"}
        assert unordered(eng, "params.p LIKE 'A%'") == {"a"}
        assert unordered(eng, "params.p ILIKE 'ADAM'") == {"a", "b"}
        assert unordered(eng, "params.größe LIKE '*?[%]'") == {"c"}
        assert unordered(eng, "params.größe LIKE '_?[x_'") == {"c"}
        assert unordered(eng, "params.größe = '*?[x]'") == {"c"}
    finally:
        eng.dispose()


@pytest.mark.parametrize(
    ("flt", "order_by"),
    [
        ("metrics.acc > 0.5 and params.lr = '0.1'", ["metrics.loss DESC"]),
        ("tags.grp LIKE 'a%' and params.opt IS NULL", ["params.lr", "tags.grp DESC"]),
        ("metrics.acc != 1 and attributes.status = 'FINISHED'", []),
    ],
)
def test_sqlite_plan_never_scans_metrics_params_or_tags(
    sqlite_engine: Engine, flt: str, order_by: list[str]
) -> None:
    engine = sqlite_engine
    stmt = run_search_statement(
        dialect_name="sqlite",
        experiment_ids=[1],
        filter_string=flt,
        view_type=ViewType.ACTIVE_ONLY,
        order_by=order_by,
    ).limit(100)
    with engine.connect() as conn:
        sql = stmt.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
        plan = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
    assert plan
    assert not [line for line in plan if line.startswith("SCAN") and "runs" not in line], plan
