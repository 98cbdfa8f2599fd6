"""The search filter / order_by parser and the SQL compilers, without a database."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import mysql, postgresql, sqlite

from modelyard.entities import ViewType
from modelyard.errors import InvalidArgument, InvalidFilter
from modelyard.registry.schema import ExperimentRow, RunRow
from modelyard.registry.search import experiment_search_statement, run_search_statement
from modelyard.registry.search.clauses import glob_pattern, like_pattern
from modelyard.registry.search.parser import (
    Comparison,
    Entity,
    Identifier,
    Literal,
    SortKey,
    parse_filter,
    parse_order_by,
)

DIALECTS = {
    "sqlite": sqlite.dialect(),
    "postgresql": postgresql.dialect(),
    "mysql": mysql.dialect(),
}


def one(text: str) -> Comparison:
    """The single comparison of a filter."""
    (cmp,) = parse_filter(text)
    return cmp


def runs_stmt(flt: str = "", order_by: list[str] | None = None, dialect: str = "sqlite"):  # type: ignore[no-untyped-def]
    """A compiled run search."""
    return run_search_statement(
        dialect_name=dialect,
        experiment_ids=[1],
        filter_string=flt,
        view_type=ViewType.ACTIVE_ONLY,
        order_by=order_by or [],
    )


def exps_stmt(flt: str = "", order_by: list[str] | None = None):  # type: ignore[no-untyped-def]
    """A compiled experiment search."""
    return experiment_search_statement(
        dialect_name="sqlite",
        view_type=ViewType.ACTIVE_ONLY,
        filter_string=flt,
        order_by=order_by or [],
    )


# -------------------------------------------------------------------------------------------------
# AST


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t"])
def test_empty_filter_is_no_comparison(text: str | None) -> None:
    assert parse_filter(text) == ()


def test_simple_comparison_ast() -> None:
    assert one("metrics.acc > 0.5") == Comparison(
        Identifier(Entity.METRIC, "acc", 0, "metrics.acc"), ">", Literal(False, "0.5", 14), 12
    )


@pytest.mark.parametrize(
    ("alias", "entity"),
    [
        ("metric", Entity.METRIC),
        ("metrics", Entity.METRIC),
        ("param", Entity.PARAM),
        ("params", Entity.PARAM),
        ("parameter", Entity.PARAM),
        ("parameters", Entity.PARAM),
        ("tag", Entity.TAG),
        ("tags", Entity.TAG),
        ("attribute", Entity.ATTRIBUTE),
        ("attributes", Entity.ATTRIBUTE),
        ("attr", Entity.ATTRIBUTE),
        ("run", Entity.ATTRIBUTE),
        ("METRICS", Entity.METRIC),
    ],
)
def test_entity_aliases(alias: str, entity: Entity) -> None:
    assert one(f"{alias}.k = '1'").ident.entity is entity


@pytest.mark.parametrize(
    ("text", "entity", "key"),
    [
        ("status = 'x'", Entity.ATTRIBUTE, "status"),
        ("tags.`mlflow.parentRunId` = 'x'", Entity.TAG, "mlflow.parentRunId"),
        ('metrics."a b" > 1', Entity.METRIC, "a b"),
        ("tags.mlflow.runName = 'x'", Entity.TAG, "mlflow.runName"),
        ("params.`it``s` = 'x'", Entity.PARAM, "it`s"),
        ('params."say ""hi""" = \'x\'', Entity.PARAM, 'say "hi"'),
        ("params.a-b/c:d = 'x'", Entity.PARAM, "a-b/c:d"),
        ("params.1st = 'x'", Entity.PARAM, "1st"),
        ("`Run name` = 'x'", Entity.ATTRIBUTE, "Run name"),
        ("params.`a = 'b'` = 'x'", Entity.PARAM, "a = 'b'"),
    ],
)
def test_identifiers(text: str, entity: Entity, key: str) -> None:
    ident = one(text).ident
    assert (ident.entity, ident.key) == (entity, key)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("params.a = 'x'", Literal(True, "x", 11)),
        ('params.a = "x"', Literal(True, "x", 11)),
        ("params.a = 'it''s'", Literal(True, "it's", 11)),
        ('params.a = "say ""hi"""', Literal(True, 'say "hi"', 11)),
        ("params.a = ''", Literal(True, "", 11)),
        ("params.a = ' spaced  '", Literal(True, " spaced  ", 11)),
        ("metrics.a = -1.5e-3", Literal(False, "-1.5e-3", 12)),
        ("metrics.a = +.5", Literal(False, "+.5", 12)),
        ("metrics.a=3", Literal(False, "3", 10)),
    ],
)
def test_literals(text: str, value: Literal) -> None:
    assert one(text).value == value


@pytest.mark.parametrize(
    ("text", "op"),
    [
        ("metrics.a = 1", "="),
        ("metrics.a == 1", "="),
        ("metrics.a != 1", "!="),
        ("metrics.a <> 1", "!="),
        ("metrics.a < 1", "<"),
        ("metrics.a <= 1", "<="),
        ("metrics.a > 1", ">"),
        ("metrics.a >= 1", ">="),
        ("params.a like 'x'", "LIKE"),
        ("params.a ILike 'x'", "ILIKE"),
        ("params.a in ('x')", "IN"),
        ("params.a Not In ('x')", "NOT_IN"),
        ("params.a is null", "IS_NULL"),
        ("params.a IS not NULL", "IS_NOT_NULL"),
    ],
)
def test_operators_and_case_insensitive_keywords(text: str, op: str) -> None:
    assert one(text).op == op


def test_in_list_and_and_chain() -> None:
    cmps = parse_filter("run_id IN ('a', \"b\",'c') and params.x IS NULL AND metrics.m <= 2")
    assert [c.op for c in cmps] == ["IN", "IS_NULL", "<="]
    assert [lit.text for lit in cmps[0].value] == ["a", "b", "c"]  # type: ignore[union-attr]
    assert cmps[1].value is None


def test_order_by_parsing() -> None:
    assert parse_order_by(["metrics.rmse DESC", "params.lr", "tags.`a b` asc"]) == (
        SortKey(Identifier(Entity.METRIC, "rmse", 0, "metrics.rmse"), False),
        SortKey(Identifier(Entity.PARAM, "lr", 0, "params.lr"), True),
        SortKey(Identifier(Entity.TAG, "a b", 0, "tags.`a b`"), True),
    )
    assert parse_order_by(None) == ()
    assert parse_order_by("start_time") == parse_order_by(["start_time"])


# -------------------------------------------------------------------------------------------------
# parse errors: what was expected, and where


@pytest.mark.parametrize(
    ("text", "pos", "words"),
    [
        ("params.a = 'x", 11, "unterminated string"),
        ('params.a = "x', 11, "unterminated string"),
        ("tags.`a = 'x'", 5, "unterminated identifier"),
        ("foo.a = 'x'", 0, "unknown entity 'foo'"),
        ("params.a = 'x' OR params.b = 'y'", 15, "'OR' is not supported"),
        ("params.a = 'x' or 1=1 --", 15, "'OR' is not supported"),
        ("params.a = 'x' AND", 18, "expected an identifier"),
        ("params.a = 'x' params.b = 'y'", 15, "expected AND or end of input"),
        ("params.a 'x'", 9, "expected a comparison operator"),
        ("params.a", 8, "expected a comparison operator"),
        ("params.a =", 10, "expected a value"),
        ("params.a = x", 11, "quoted string value"),
        ("params.a IN 'x'", 12, "'(' to start the IN list"),
        ("params.a IN ()", 13, "must not be empty"),
        ("params.a IN ('x' 'y')", 17, "',' or ')'"),
        ("params.a IN ('x',)", 17, "expected a value"),
        ("params.a IS 'x'", 12, "NULL after IS"),
        ("params.a IS NOT 'x'", 16, "NULL after IS NOT"),
        ("params.a NOT LIKE 'x'", 13, "IN after NOT"),
        ("(params.a = 'x')", 0, "parentheses are only allowed around IN lists"),
        ("params. = 'x'", 8, "a key after 'params.'"),
        ("params.`` = 'x'", 7, "empty key"),
        ("params.a = 'x'; DROP TABLE runs; --", 14, "unexpected character ';'"),
        ("'; DROP TABLE runs; --", 0, "unterminated string"),
        ("metrics.a > 1abc", 12, "malformed number"),
        ("AND = 'x'", 0, "expected an identifier"),
        ("metrics.a > 1 $", 14, "unexpected character '$'"),
    ],
)
def test_parse_errors_say_what_and_where(text: str, pos: int, words: str) -> None:
    with pytest.raises(InvalidFilter) as info:
        parse_filter(text)
    assert words in info.value.message
    assert f"at position {pos}" in info.value.message
    assert info.value.details["position"] == str(pos)
    assert isinstance(info.value, InvalidArgument)


@pytest.mark.parametrize(
    ("clause", "words"),
    [
        ("", "expected an identifier to order by"),
        ("metrics.a DESCENDING", "expected ASC, DESC"),
        ("metrics.a DESC ASC", "expected ASC, DESC"),
        ("metrics.a, metrics.b", "expected ASC, DESC"),
        ("bogus.a", "unknown entity"),
    ],
)
def test_order_by_parse_errors(clause: str, words: str) -> None:
    with pytest.raises(InvalidFilter, match="order_by") as info:
        parse_order_by([clause])
    assert words in info.value.message


def test_huge_filter_is_refused_cheaply() -> None:
    with pytest.raises(InvalidFilter, match="longer than"):
        parse_filter("params.a = '" + "x" * 200_000 + "'")


# -------------------------------------------------------------------------------------------------
# type checks done by the compilers


@pytest.mark.parametrize(
    ("flt", "words"),
    [
        (
            "metrics.acc > 'high'",
            "metrics.acc is numeric; expected a number, got the string 'high'",
        ),
        ("params.lr = 0.1", "params.lr compares with strings; expected a quoted string"),
        ("tags.t = 5", "tags.t compares with strings"),
        ("attributes.start_time > 'yesterday'", "start_time is numeric"),
        ("start_time > 1.5", "start_time expects an integer, got 1.5"),
        ("run_name = 3", "run_name compares with strings"),
        ("metrics.a IS NULL", "operator IS NULL is not supported for metric metrics.a"),
        ("metrics.a LIKE '1'", "operator LIKE is not supported for metric"),
        ("metrics.a IN (1, 2)", "operator IN is not supported for metric"),
        ("status IN ('RUNNING')", "operator IN is not supported for attribute status"),
        ("start_time LIKE '1%'", "operator LIKE is not supported for numeric attribute"),
        ("attributes.foo = 'x'", "invalid attribute key 'foo'"),
        ("foo = 'x'", "invalid attribute key 'foo'"),
        ("params.a IN ('x', 2)", "params.a compares with strings"),
        ("params.a > 'x'", "operator > is not supported for param"),
    ],
)
def test_run_filter_type_errors_name_key_and_value(flt: str, words: str) -> None:
    with pytest.raises(InvalidFilter) as info:
        runs_stmt(flt)
    assert words in info.value.message
    assert "at position" in info.value.message


@pytest.mark.parametrize(
    ("order_by", "words"),
    [
        (["metrics.a", "metric.a DESC"], "duplicate"),
        (["start_time", "attributes.created DESC"], "duplicate"),
        (["attributes.foo"], "invalid attribute key 'foo'"),
    ],
)
def test_run_order_by_errors(order_by: list[str], words: str) -> None:
    with pytest.raises(InvalidFilter) as info:
        runs_stmt(order_by=order_by)
    assert words in info.value.message


@pytest.mark.parametrize(
    "flt",
    [
        "metrics.a > 1",
        "params.a = 'x'",
        "name IN ('a')",
        "experiment_id = 'one'",
        "experiment_id > '1'",
        "creation_time > '5'",
        "creation_time LIKE '5'",
        "tags.t > 'a'",
        "tags.t IN ('a')",
        "artifact_location = 'x'",
        "name = 1",
    ],
)
def test_experiment_filter_errors(flt: str) -> None:
    with pytest.raises(InvalidFilter):
        exps_stmt(flt)


@pytest.mark.parametrize("order_by", [["name", "name DESC"], ["metrics.a"], ["lifecycle_stage"]])
def test_experiment_order_by_errors(order_by: list[str]) -> None:
    with pytest.raises(InvalidFilter):
        exps_stmt(order_by=order_by)


# -------------------------------------------------------------------------------------------------
# compiled SQL


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql", "mysql", "mariadb"])
def test_values_are_bound_never_interpolated(dialect: str) -> None:
    evil = "x'; DROP TABLE runs; --"
    stmt = runs_stmt(
        "params.`p'; DROP TABLE params; --` = 'x''; DROP TABLE runs; --' and metrics.m > 1",
        ["tags.`t'; --` DESC"],
        dialect=dialect,
    )
    compiled = stmt.compile(dialect=DIALECTS["mysql" if dialect == "mariadb" else dialect])
    assert "DROP" not in str(compiled)
    assert evil in compiled.params.values()
    assert "p'; DROP TABLE params; --" in compiled.params.values()


def test_selects_all_run_columns_in_table_order() -> None:
    assert [c.name for c in runs_stmt().selected_columns] == [c.name for c in RunRow.__table__.c]
    assert [c.name for c in exps_stmt().selected_columns] == [
        c.name for c in ExperimentRow.__table__.c
    ]


def test_tie_breakers() -> None:
    sql = str(runs_stmt().compile(dialect=DIALECTS["sqlite"]))
    assert sql.endswith("ORDER BY runs.start_time DESC, runs.run_uuid ASC")
    sql = str(runs_stmt(order_by=["created"]).compile(dialect=DIALECTS["sqlite"]))
    assert sql.endswith("ORDER BY runs.start_time ASC, runs.run_uuid ASC")
    sql = str(exps_stmt().compile(dialect=DIALECTS["sqlite"]))
    assert sql.endswith("ORDER BY experiments.creation_time DESC, experiments.experiment_id ASC")


def test_sort_on_a_filtered_metric_reuses_its_join_and_needs_no_rank() -> None:
    sql = str(
        runs_stmt("metrics.acc > 0.5 and params.m = 'cnn'", ["metrics.acc DESC"]).compile(
            dialect=DIALECTS["sqlite"]
        )
    )
    assert "LEFT OUTER JOIN" not in sql
    assert "ORDER BY filter_0.value DESC, runs.start_time DESC, runs.run_uuid ASC" in sql
    # `!=` lets NaN through, so the NaN-last term stays; a different metric needs its own join
    sql = str(runs_stmt("metrics.acc != 0.5", ["metrics.acc"]).compile(dialect=DIALECTS["sqlite"]))
    assert "ORDER BY CASE WHEN (filter_0.value_kind = ?)" in sql
    sql = str(runs_stmt("metrics.acc > 0.5", ["metrics.f1"]).compile(dialect=DIALECTS["sqlite"]))
    assert "LEFT OUTER JOIN latest_metrics AS order_0" in sql


def test_unknown_dialect_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="oracle"):
        runs_stmt(dialect="oracle")


# -------------------------------------------------------------------------------------------------
# LIKE patterns


@pytest.mark.parametrize(
    ("pattern", "like", "glob"),
    [
        ("a%", "a%", "a*"),
        ("a_c", "a_c", "a?c"),
        ("50\\%", "50\\%", "50%"),
        ("a\\_b", "a\\_b", "a_b"),
        ("x*y?[z]", "x*y?[z]", "x[*]y[?][[]z]"),
        ("back\\\\slash", "back\\\\slash", "back\\slash"),
        ("trailing\\", "trailing\\\\", "trailing\\"),
        ("\\q", "q", "q"),
    ],
)
def test_like_pattern_translation(pattern: str, like: str, glob: str) -> None:
    assert like_pattern(pattern) == like
    assert glob_pattern(pattern) == glob


# -------------------------------------------------------------------------------------------------
# properties

_key = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=20)
_value = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20)


_PIECES = [
    "metrics.m",
    "params.p",
    "tags.t",
    "attributes.status",
    "start_time",
    "run_id",
    "foo.x",
    "`k`",
    '"k"',
    "'v'",
    "''",
    "1",
    "-2.5e3",
    "=",
    "!=",
    "<",
    ">=",
    "LIKE",
    "ILIKE",
    "IN",
    "NOT",
    "IS",
    "NULL",
    "AND",
    "OR",
    "(",
    ")",
    ",",
    "'",
    "`",
    ";",
    "--",
    "DESC",
    "%",
]


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.text(max_size=60), st.lists(st.sampled_from(_PIECES), max_size=12).map(" ".join))
)
def test_any_text_either_compiles_or_raises_invalid_filter(text: str) -> None:
    for compile_search in (
        lambda: runs_stmt(text),
        lambda: exps_stmt(text),
        lambda: runs_stmt(order_by=[text]),
        lambda: exps_stmt(order_by=[text]),
    ):
        with contextlib.suppress(InvalidFilter):
            compile_search()


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["params", "tags"]),
    _key,
    st.sampled_from(["=", "!=", "LIKE", "ILIKE"]),
    _value,
)
def test_quoted_keys_and_values_round_trip(entity: str, key: str, op: str, value: str) -> None:
    quoted_key = "`" + key.replace("`", "``") + "`"
    quoted_value = "'" + value.replace("'", "''") + "'"
    cmp = one(f"{entity}.{quoted_key} {op} {quoted_value}")
    assert (cmp.ident.key, cmp.op, cmp.value) == (
        key,
        op,
        Literal(True, value, len(entity) + 1 + len(quoted_key) + len(op) + 2),
    )
