"""Run search: filter/order_by AST -> one SQLAlchemy Core SELECT over the runs table.

Comparisons on metrics, params and tags become inner joins on latest_metrics, params or tags
by their (run_uuid, key) primary key (IS NULL becomes NOT EXISTS); each order_by key on a
metric, param or tag is a LEFT OUTER JOIN on the same key, or reuses the filter's join when
the filter already guarantees the key is present. A primary-key join matches at most one row,
so nothing multiplies runs, and the database may drive the search from the most selective
index: with `metrics.acc > 0.5` and `order_by=["metrics.acc DESC"]`, SQLite and PostgreSQL walk
latest_metrics(key, value) backwards and stop at the end of the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, Table, and_, case, exists, or_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import FromClause

from modelyard.entities import LifecycleStage, ViewType
from modelyard.registry.schema import LatestMetricRow, ParamRow, RunRow, TagRow, ValueKind
from modelyard.registry.search.clauses import (
    Context,
    check_dialect,
    directed,
    duplicate_check,
    missing_last,
    numeric_predicate,
    sortable_string,
    string_predicate,
)
from modelyard.registry.search.lexer import error
from modelyard.registry.search.parser import (
    COMPARISON_OPS,
    Comparison,
    Entity,
    Identifier,
    SortKey,
    parse_filter,
    parse_order_by,
)

RUNS: Table = RunRow.__table__  # type: ignore[assignment]
LATEST: Table = LatestMetricRow.__table__  # type: ignore[assignment]
PARAMS: Table = ParamRow.__table__  # type: ignore[assignment]
TAGS: Table = TagRow.__table__  # type: ignore[assignment]

#: Searchable string attributes -> runs column.
STRING_ATTRIBUTES = {
    "run_id": "run_uuid",
    "run_name": "name",
    "status": "status",
    "user_id": "user_id",
    "artifact_uri": "artifact_uri",
    "lifecycle_stage": "lifecycle_stage",
}
#: Searchable numeric attributes (milliseconds) -> runs column.
NUMERIC_ATTRIBUTES = {"start_time": "start_time", "end_time": "end_time"}
#: Spellings MLflow accepts for attributes (matched case-insensitively).
ATTRIBUTE_ALIASES = {"created": "start_time", "run name": "run_name", "run_uuid": "run_id"}
#: Attributes that accept IN / NOT IN lists (as in MLflow: only run_id).
LIST_ATTRIBUTES = frozenset({"run_id"})

STRING_OPS = ("=", "!=", "LIKE", "ILIKE")
KEY_VALUE_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT_IN", "IS_NULL", "IS_NOT_NULL")


def canonical_attribute(ident: Identifier, ctx: Context | None, what: str = "filter") -> str:
    """The canonical attribute name for an identifier, or InvalidFilter naming valid keys."""
    key = ATTRIBUTE_ALIASES.get(ident.key.lower(), ident.key)
    if key in STRING_ATTRIBUTES or key in NUMERIC_ATTRIBUTES:
        return key
    valid = ", ".join([*STRING_ATTRIBUTES, *NUMERIC_ATTRIBUTES])
    message = f"invalid attribute key {ident.key!r}; valid keys are {valid}"
    if ctx is not None:
        raise ctx.fail(message, ident.pos)
    raise error(message, ident.text, 0, what)


def view_type_clause(column: ColumnElement, view_type: ViewType) -> ColumnElement:
    """lifecycle_stage restricted by the view type."""
    if view_type == ViewType.ACTIVE_ONLY:
        return column == LifecycleStage.ACTIVE.value
    if view_type == ViewType.DELETED_ONLY:
        return column == LifecycleStage.DELETED.value
    return column.in_([LifecycleStage.ACTIVE.value, LifecycleStage.DELETED.value])


@dataclass(frozen=True, slots=True)
class Filter:
    """A compiled comparison: an inner join (table, ON clause) or a WHERE clause."""

    join: tuple[FromClause, ColumnElement] | None = None
    where: ColumnElement | None = None
    #: For a join: whether every joined row is a number (not NaN), so a sort on the same
    #: metric can reuse the join and needs no "missing/NaN last" rank (then SQLite and
    #: PostgreSQL can walk latest_metrics(key, value) in order and stop at the page's end).
    numbers_only: bool = False


@dataclass(frozen=True, slots=True)
class Present:
    """A filter join that guarantees the key is present, reusable by a sort on that key."""

    alias: FromClause
    numbers_only: bool


def metric_value_predicate(table: Table, op: str, value: float) -> ColumnElement:
    """A latest-metric row's value against a number: NaN matches only `!=`."""
    nan = table.c.value_kind == int(ValueKind.NAN)
    if op == "!=":
        return or_(nan, table.c.value != value)
    return and_(~nan, numeric_predicate(table.c.value, op, value))


def comparison_clause(ctx: Context, cmp: Comparison, n: int) -> Filter:
    """One filter comparison: a JOIN on a (run_uuid, key) primary key, or a WHERE clause.

    Joins on a primary key match at most one row, so they never multiply runs, and they let
    the database drive the search from the most selective index (e.g. latest_metrics(key,
    value)) instead of probing every run.
    """
    ident = cmp.ident
    if ident.entity in (Entity.METRIC, Entity.PARAM, Entity.TAG):
        if ident.entity is Entity.METRIC:
            ctx.check_op(cmp, COMPARISON_OPS, "metric")
            table = LATEST
        else:
            ctx.check_op(cmp, KEY_VALUE_OPS, ident.entity.value[:-1])
            table = PARAMS if ident.entity is Entity.PARAM else TAGS
        sub = table.alias(f"filter_{n}")
        same_run = and_(sub.c.run_uuid == RUNS.c.run_uuid, sub.c.key == ident.key)
        if cmp.op == "IS_NULL":
            return Filter(where=~exists().where(same_run))
        if cmp.op == "IS_NOT_NULL":
            return Filter(join=(sub, same_run), numbers_only=True)
        if ident.entity is Entity.METRIC:
            value = ctx.number(cmp, ctx.single(cmp))
            predicate = metric_value_predicate(sub, cmp.op, value)
        else:
            predicate = string_predicate(ctx, sub.c.value, cmp, what=ident.entity.value[:-1])
        return Filter(join=(sub, and_(same_run, predicate)), numbers_only=cmp.op != "!=")
    key = canonical_attribute(ident, ctx)
    if key in NUMERIC_ATTRIBUTES:
        ctx.check_op(cmp, COMPARISON_OPS, "numeric attribute")
        value = ctx.integer(cmp, ctx.single(cmp))
        return Filter(where=numeric_predicate(RUNS.c[NUMERIC_ATTRIBUTES[key]], cmp.op, value))
    ops = (*STRING_OPS, "IN", "NOT_IN") if key in LIST_ATTRIBUTES else STRING_OPS
    ctx.check_op(cmp, ops, "attribute")
    column = RUNS.c[STRING_ATTRIBUTES[key]]
    return Filter(where=string_predicate(ctx, column, cmp, what="attribute"))


def order_clauses(
    sort_keys: Sequence[SortKey],
    dialect: str,
    present: dict[tuple[Entity, str], Present] | None = None,
) -> tuple[list[tuple[FromClause, ColumnElement]], list[ColumnElement]]:
    """(outer joins, ORDER BY terms) for the requested keys plus the tie-breakers.

    `present` maps (entity, key) to filter joins that already guarantee the key is there.
    """
    present = present or {}
    joins: list[tuple[FromClause, ColumnElement]] = []
    terms: list[ColumnElement] = []
    seen: set[tuple[str, str]] = set()
    for sk in sort_keys:
        ident = sk.ident
        if ident.entity is Entity.ATTRIBUTE:
            key = canonical_attribute(ident, None, "order_by")
            duplicate_check(seen, ("attributes", key), ident)
            if key in NUMERIC_ATTRIBUTES:
                column = RUNS.c[NUMERIC_ATTRIBUTES[key]]
                if column.nullable:
                    terms.append(missing_last(column.is_(None)))
                terms.append(directed(column, sk.ascending))
            else:
                column = RUNS.c[STRING_ATTRIBUTES[key]]
                terms.append(directed(sortable_string(column, dialect), sk.ascending))
            continue
        duplicate_check(seen, (ident.entity.value, ident.key), ident)
        reuse = present.get((ident.entity, ident.key))
        if reuse is not None:
            value = reuse.alias.c.value
            if ident.entity is Entity.METRIC:
                if not reuse.numbers_only:
                    terms.append(missing_last(reuse.alias.c.value_kind == int(ValueKind.NAN)))
                terms.append(directed(value, sk.ascending))
            else:
                terms.append(directed(sortable_string(value, dialect), sk.ascending))
            continue
        table = {Entity.METRIC: LATEST, Entity.PARAM: PARAMS, Entity.TAG: TAGS}[ident.entity]
        joined = table.alias(f"order_{len(joins)}")
        joins.append(
            (joined, and_(joined.c.run_uuid == RUNS.c.run_uuid, joined.c.key == ident.key))
        )
        if ident.entity is Entity.METRIC:
            # numbers first, then NaN, then runs without the metric, in both directions
            rank = case(
                (joined.c.run_uuid.is_(None), 2),
                (joined.c.value_kind == int(ValueKind.NAN), 1),
                else_=0,
            )
            terms += [rank, directed(joined.c.value, sk.ascending)]
        else:
            terms += [
                missing_last(joined.c.run_uuid.is_(None)),
                directed(sortable_string(joined.c.value, dialect), sk.ascending),
            ]
    if ("attributes", "start_time") not in seen:
        terms.append(RUNS.c.start_time.desc())
    terms.append(RUNS.c.run_uuid.asc())
    return joins, terms


def run_search_statement(
    *,
    dialect_name: str,
    experiment_ids: Sequence[int],
    filter_string: str,
    view_type: ViewType,
    order_by: Sequence[str],
) -> Select:
    """SELECT of all runs columns, filtered and ordered (tie-breakers included), unpaged.

    Raises:
        InvalidFilter: the filter or an order_by clause does not parse or type-check; the
            message says what was expected and at which (0-based) character position.
    """
    dialect = check_dialect(dialect_name)
    ctx = Context(filter_string or "", dialect)
    where = [
        RUNS.c.experiment_id.in_([int(e) for e in experiment_ids]),
        view_type_clause(RUNS.c.lifecycle_stage, view_type),
    ]
    source: FromClause = RUNS
    present: dict[tuple[Entity, str], Present] = {}
    for n, cmp in enumerate(parse_filter(filter_string)):
        compiled = comparison_clause(ctx, cmp, n)
        if compiled.join is not None:
            source = source.join(*compiled.join)
            slot = (cmp.ident.entity, cmp.ident.key)
            if slot not in present or (compiled.numbers_only and not present[slot].numbers_only):
                present[slot] = Present(compiled.join[0], compiled.numbers_only)
        if compiled.where is not None:
            where.append(compiled.where)
    joins, terms = order_clauses(parse_order_by(order_by), dialect, present)
    for table, on in joins:
        source = source.outerjoin(table, on)
    return select(*RUNS.c).select_from(source).where(*where).order_by(*terms)
