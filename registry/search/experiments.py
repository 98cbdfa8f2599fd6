"""Experiment search: filter/order_by AST -> one SQLAlchemy Core SELECT over experiments."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, Table, and_, exists, select
from sqlalchemy.sql.elements import ColumnElement

from modelyard.entities import ViewType
from modelyard.registry.schema import ExperimentRow, ExperimentTagRow
from modelyard.registry.search.clauses import (
    INTEGER,
    Context,
    check_dialect,
    directed,
    duplicate_check,
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
    Literal,
    parse_filter,
    parse_order_by,
)
from modelyard.registry.search.runs import view_type_clause

EXPERIMENTS: Table = ExperimentRow.__table__  # type: ignore[assignment]
EXPERIMENT_TAGS: Table = ExperimentTagRow.__table__  # type: ignore[assignment]

ATTRIBUTES = ("name", "experiment_id", "creation_time", "last_update_time")
NUMERIC_ATTRIBUTES = frozenset({"creation_time", "last_update_time"})
TAG_OPS = ("=", "!=", "LIKE", "ILIKE", "IS_NULL", "IS_NOT_NULL")


def _attribute(ident: Identifier, ctx: Context | None) -> str:
    if ident.entity is not Entity.ATTRIBUTE:
        message = (
            f"experiments cannot be searched or ordered by {ident.entity.value}; "
            "expected attributes.<name> or tags.<key>"
        )
    elif ident.key in ATTRIBUTES:
        return ident.key
    else:
        message = f"invalid attribute key {ident.key!r}; valid keys are {', '.join(ATTRIBUTES)}"
    if ctx is not None:
        raise ctx.fail(message, ident.pos)
    raise error(message, ident.text, 0, "order_by")


def _experiment_id(ctx: Context, cmp: Comparison, lit: Literal) -> int:
    """An experiment id from a quoted (as in MLflow) or bare integer literal."""
    if lit.is_string and not INTEGER.fullmatch(lit.text.strip()):
        raise ctx.fail(f"{cmp.ident} expects experiment ids (integers), got {lit}", lit.pos)
    return ctx.int64(cmp, lit, lit.text.strip())


def comparison_clause(ctx: Context, cmp: Comparison) -> ColumnElement:
    """One filter comparison as a WHERE clause on the experiments table."""
    if cmp.ident.entity is Entity.TAG:
        ctx.check_op(cmp, TAG_OPS, "experiment tag")
        sub = EXPERIMENT_TAGS.alias()
        same = and_(sub.c.experiment_id == EXPERIMENTS.c.experiment_id, sub.c.key == cmp.ident.key)
        if cmp.op == "IS_NULL":
            return ~exists().where(same)
        if cmp.op == "IS_NOT_NULL":
            return exists().where(same)
        return exists().where(same, string_predicate(ctx, sub.c.value, cmp, what="tag"))
    key = _attribute(cmp.ident, ctx)
    column = EXPERIMENTS.c[key]
    if key == "name":
        ctx.check_op(cmp, ("=", "!=", "LIKE", "ILIKE"), "attribute")
        return string_predicate(ctx, column, cmp, what="attribute")
    if key == "experiment_id":
        ctx.check_op(cmp, ("=", "!=", "IN", "NOT_IN"), "attribute")
        if cmp.op in ("IN", "NOT_IN"):
            ids = [_experiment_id(ctx, cmp, lit) for lit in ctx.many(cmp)]
            return column.in_(ids) if cmp.op == "IN" else column.not_in(ids)
        return numeric_predicate(column, cmp.op, _experiment_id(ctx, cmp, ctx.single(cmp)))
    ctx.check_op(cmp, COMPARISON_OPS, "numeric attribute")
    return numeric_predicate(column, cmp.op, ctx.integer(cmp, ctx.single(cmp)))


def experiment_search_statement(
    *, dialect_name: str, view_type: ViewType, filter_string: str, order_by: Sequence[str]
) -> Select:
    """SELECT of all experiments columns, filtered and ordered, unpaged.

    The default order is creation_time DESC, experiment_id ASC; experiment_id ASC is always the
    last tie-breaker.

    Raises:
        InvalidFilter: the filter or an order_by clause does not parse or type-check.
    """
    dialect = check_dialect(dialect_name)
    ctx = Context(filter_string or "", dialect)
    where = [view_type_clause(EXPERIMENTS.c.lifecycle_stage, view_type)]
    where += [comparison_clause(ctx, cmp) for cmp in parse_filter(filter_string)]
    terms: list[ColumnElement] = []
    seen: set[tuple[str, str]] = set()
    sort_keys = parse_order_by(order_by)
    for sk in sort_keys:
        key = _attribute(sk.ident, None)
        duplicate_check(seen, ("attributes", key), sk.ident)
        column = EXPERIMENTS.c[key]
        if key == "name":
            column = sortable_string(column, dialect)
        terms.append(directed(column, sk.ascending))
    if not sort_keys:
        terms.append(EXPERIMENTS.c.creation_time.desc())
    if ("attributes", "experiment_id") not in seen:
        terms.append(EXPERIMENTS.c.experiment_id.asc())
    return select(*EXPERIMENTS.c).where(*where).order_by(*terms)
