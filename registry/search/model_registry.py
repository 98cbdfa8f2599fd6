"""Registry search: filter/order_by AST (the shared parser) -> SELECTs over registered models and
model versions.

Registered models: attribute `name` (= != LIKE ILIKE IN NOT IN), `creation_time` and
`last_update_time` (numeric); `tags.<key>` (= != LIKE ILIKE IS NULL IS NOT NULL). order_by: name,
creation_time, last_update_time (MLflow's spellings `creation_timestamp`,
`last_updated_timestamp` and `timestamp` are accepted too). Default order: name ASC.

Model versions (never deleted ones): `name`, `run_id` (= != LIKE ILIKE IN NOT IN), `source`
(= != LIKE ILIKE; MLflow's `source_path` too), `version` (numeric; `version_number` too),
`status`, `current_stage` (= != IN NOT IN; stages case-insensitive), `creation_time`,
`last_update_time` (numeric), `signature` (IS NULL / IS NOT NULL); `tags.<key>` (= != LIKE
ILIKE IS NULL IS NOT NULL). order_by: name, version, creation_time, last_update_time. Default:
last_update_time DESC, name ASC, version DESC.

A version tag comparison is an inner join on the tags primary key (version_id, key), so it
matches at most one row; `=` also compares the indexed `value_prefix`, so the database can
seek the (key, value_prefix, version_id) index and start from the few matching versions.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, Table, and_, exists, false, or_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import FromClause

from modelyard.entities.model_registry import ModelStage, ModelVersionStatus
from modelyard.registry.schema import (
    TAG_VALUE_PREFIX_LENGTH,
    ModelVersionRow,
    ModelVersionTagRow,
    RegisteredModelRow,
    RegisteredModelTagRow,
)
from modelyard.registry.search.clauses import (
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
    parse_filter,
    parse_order_by,
)

MODELS: Table = RegisteredModelRow.__table__  # type: ignore[assignment]
MODEL_TAGS: Table = RegisteredModelTagRow.__table__  # type: ignore[assignment]
VERSIONS: Table = ModelVersionRow.__table__  # type: ignore[assignment]
VERSION_TAGS: Table = ModelVersionTagRow.__table__  # type: ignore[assignment]

STRING_OPS = ("=", "!=", "LIKE", "ILIKE")
LIST_OPS = (*STRING_OPS, "IN", "NOT_IN")
ENUM_OPS = ("=", "!=", "IN", "NOT_IN")
TAG_OPS = (*STRING_OPS, "IS_NULL", "IS_NOT_NULL")

#: Registered-model attributes (canonical name -> column) and MLflow's spellings.
MODEL_ATTRIBUTES = {"name": "name", "creation_time": "creation_time"}
MODEL_ATTRIBUTES["last_update_time"] = "last_update_time"
MODEL_ALIASES = {
    "creation_timestamp": "creation_time",
    "last_updated_timestamp": "last_update_time",
    "timestamp": "last_update_time",
}
#: Model-version attributes and MLflow's spellings.
VERSION_ATTRIBUTES = (
    "name",
    "run_id",
    "source",
    "version",
    "status",
    "current_stage",
    "creation_time",
    "last_update_time",
    "signature",
)
VERSION_ALIASES = {
    "source_path": "source",
    "version_number": "version",
    "creation_timestamp": "creation_time",
    "last_updated_timestamp": "last_update_time",
    "timestamp": "last_update_time",
    "stage": "current_stage",
}
VERSION_ORDER_KEYS = ("name", "version", "creation_time", "last_update_time")


def _attribute(
    ident: Identifier,
    ctx: Context | None,
    valid: Sequence[str],
    aliases: dict[str, str],
    what: str,
) -> str:
    """The canonical attribute for an identifier, or InvalidFilter naming the valid keys."""
    if ident.entity is not Entity.ATTRIBUTE:
        message = (
            f"{what} cannot be searched or ordered by {ident.entity.value}; "
            "expected an attribute or tags.<key>"
        )
    else:
        key = aliases.get(ident.key.lower(), ident.key)
        if key in valid:
            return key
        message = f"invalid attribute key {ident.key!r}; valid keys are {', '.join(valid)}"
    if ctx is not None:
        raise ctx.fail(message, ident.pos)
    raise error(message, ident.text, 0, "order_by")


def _tag_clause(
    ctx: Context, cmp: Comparison, table: Table, owner: ColumnElement, owner_key: str, n: int
) -> tuple[tuple[FromClause, ColumnElement] | None, ColumnElement | None]:
    """(inner join, None) or (None, WHERE clause) for a tag comparison."""
    ctx.check_op(cmp, TAG_OPS, "tag")
    sub = table.alias(f"tag_{n}")
    same = and_(sub.c[owner_key] == owner, sub.c.key == cmp.ident.key)
    if cmp.op == "IS_NULL":
        return None, ~exists().where(same)
    if cmp.op == "IS_NOT_NULL":
        return (sub, same), None
    predicate = string_predicate(ctx, sub.c.value, cmp, what="tag")
    if cmp.op == "=" and "value_prefix" in sub.c:
        value = ctx.string(cmp, ctx.single(cmp))
        predicate = and_(sub.c.value_prefix == value[:TAG_VALUE_PREFIX_LENGTH], predicate)
    return (sub, and_(same, predicate)), None


def registered_model_search_statement(
    *, dialect_name: str, filter_string: str, order_by: Sequence[str]
) -> Select:
    """SELECT of registered_models rows, filtered and ordered (name ASC by default), unpaged.

    Raises:
        InvalidFilter: the filter or an order_by clause does not parse or type-check.
    """
    dialect = check_dialect(dialect_name)
    ctx = Context(filter_string or "", dialect)
    where: list[ColumnElement] = []
    source: FromClause = MODELS
    valid = tuple(MODEL_ATTRIBUTES)
    for n, cmp in enumerate(parse_filter(filter_string)):
        if cmp.ident.entity is Entity.TAG:
            join, clause = _tag_clause(ctx, cmp, MODEL_TAGS, MODELS.c.id, "model_id", n)
            if join is not None:
                source = source.join(*join)
            if clause is not None:
                where.append(clause)
            continue
        key = _attribute(cmp.ident, ctx, valid, MODEL_ALIASES, "registered models")
        column = MODELS.c[MODEL_ATTRIBUTES[key]]
        if key == "name":
            ctx.check_op(cmp, LIST_OPS, "attribute")
            where.append(string_predicate(ctx, column, cmp, what="attribute"))
        else:
            ctx.check_op(cmp, COMPARISON_OPS, "numeric attribute")
            where.append(numeric_predicate(column, cmp.op, ctx.integer(cmp, ctx.single(cmp))))
    terms: list[ColumnElement] = []
    seen: set[tuple[str, str]] = set()
    for sk in parse_order_by(order_by):
        key = _attribute(sk.ident, None, valid, MODEL_ALIASES, "registered models")
        duplicate_check(seen, ("attributes", key), sk.ident)
        column = MODELS.c[MODEL_ATTRIBUTES[key]]
        if key == "name":
            column = sortable_string(column, dialect)
        terms.append(directed(column, sk.ascending))
    if ("attributes", "name") not in seen:
        terms.append(sortable_string(MODELS.c.name, dialect).asc())
    return select(MODELS).select_from(source).where(*where).order_by(*terms)


def _stage_literal(ctx: Context, cmp: Comparison, text: str, pos: int) -> str:
    for stage in ModelStage:
        if text.lower() == stage.value.lower():
            return stage.value
    allowed = ", ".join(s.value for s in ModelStage)
    raise ctx.fail(f"invalid stage {text!r} in {cmp.ident}; expected one of {allowed}", pos)


def _status_literal(ctx: Context, cmp: Comparison, text: str, pos: int) -> str:
    for status in ModelVersionStatus:
        if text.upper() == status.value:
            return status.value
    allowed = ", ".join(s.value for s in ModelVersionStatus)
    raise ctx.fail(f"invalid status {text!r} in {cmp.ident}; expected one of {allowed}", pos)


def _enum_predicate(ctx: Context, cmp: Comparison, column: ColumnElement, canon) -> ColumnElement:  # type: ignore[no-untyped-def]
    ctx.check_op(cmp, ENUM_OPS, "attribute")
    if cmp.op in ("IN", "NOT_IN"):
        values = [canon(ctx, cmp, ctx.string(cmp, lit), lit.pos) for lit in ctx.many(cmp)]
        return column.in_(values) if cmp.op == "IN" else column.not_in(values)
    lit = ctx.single(cmp)
    value = canon(ctx, cmp, ctx.string(cmp, lit), lit.pos)
    return column == value if cmp.op == "=" else column != value


def _version_attribute_clause(ctx: Context, cmp: Comparison) -> ColumnElement:
    key = _attribute(cmp.ident, ctx, VERSION_ATTRIBUTES, VERSION_ALIASES, "model versions")
    if key == "name":
        ctx.check_op(cmp, LIST_OPS, "attribute")
        return string_predicate(ctx, MODELS.c.name, cmp, what="attribute")
    if key == "run_id":
        ctx.check_op(cmp, LIST_OPS, "attribute")
        return string_predicate(ctx, VERSIONS.c.run_id, cmp, what="attribute")
    if key == "source":
        ctx.check_op(cmp, STRING_OPS, "attribute")
        return string_predicate(ctx, VERSIONS.c.source, cmp, what="attribute")
    if key == "current_stage":
        return _enum_predicate(ctx, cmp, VERSIONS.c.stage, _stage_literal)
    if key == "status":
        return _enum_predicate(ctx, cmp, VERSIONS.c.status, _status_literal)
    if key == "signature":
        ctx.check_op(cmp, ("IS_NULL", "IS_NOT_NULL"), "attribute")
        parts = (VERSIONS.c.signature_inputs, VERSIONS.c.signature_outputs)
        parts += (VERSIONS.c.signature_params,)
        if cmp.op == "IS_NULL":
            return and_(*(p.is_(None) for p in parts))
        return or_(*(p.is_not(None) for p in parts))
    ctx.check_op(cmp, COMPARISON_OPS, "numeric attribute")
    value = ctx.integer(cmp, ctx.single(cmp))
    return numeric_predicate(VERSIONS.c[key], cmp.op, value)


def model_version_search_statement(
    *, dialect_name: str, filter_string: str, order_by: Sequence[str]
) -> Select:
    """SELECT of (id, model_id, model_name) of live versions, filtered and ordered, unpaged.

    Only keys are selected (and sorted): callers fetch the page's rows by id, so no database
    sorts wide TEXT columns (MariaDB would spill such a sort to a temporary table on disk).

    Raises:
        InvalidFilter: the filter or an order_by clause does not parse or type-check.
    """
    dialect = check_dialect(dialect_name)
    ctx = Context(filter_string or "", dialect)
    source: FromClause = VERSIONS.join(MODELS, MODELS.c.id == VERSIONS.c.model_id)
    where: list[ColumnElement] = [VERSIONS.c.deleted == false()]
    for n, cmp in enumerate(parse_filter(filter_string)):
        if cmp.ident.entity is Entity.TAG:
            join, clause = _tag_clause(ctx, cmp, VERSION_TAGS, VERSIONS.c.id, "version_id", n)
            if join is not None:
                source = source.join(*join)
            if clause is not None:
                where.append(clause)
            continue
        where.append(_version_attribute_clause(ctx, cmp))
    terms: list[ColumnElement] = []
    seen: set[tuple[str, str]] = set()
    sort_keys = parse_order_by(order_by)
    for sk in sort_keys:
        key = _attribute(sk.ident, None, VERSION_ORDER_KEYS, VERSION_ALIASES, "model versions")
        duplicate_check(seen, ("attributes", key), sk.ident)
        if key == "name":
            terms.append(directed(sortable_string(MODELS.c.name, dialect), sk.ascending))
        else:
            terms.append(directed(VERSIONS.c[key], sk.ascending))
    if not sort_keys:
        terms.append(VERSIONS.c.last_update_time.desc())
    if ("attributes", "name") not in seen:
        terms.append(sortable_string(MODELS.c.name, dialect).asc())
    if ("attributes", "version") not in seen:
        terms.append(VERSIONS.c.version.desc())
    return (
        select(VERSIONS.c.id, VERSIONS.c.model_id, MODELS.c.name.label("model_name"))
        .select_from(source)
        .where(*where)
        .order_by(*terms)
    )
