"""SQL building blocks shared by the run and experiment compilers.

Every value reaches the database as a bound parameter. LIKE patterns use `%` and `_` as
wildcards and a backslash to take the next character literally, identically on every dialect.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from sqlalchemy import case, func, literal
from sqlalchemy.sql.elements import ColumnElement

from modelyard.errors import InvalidFilter
from modelyard.registry.schema import FLOAT_MAX
from modelyard.registry.search.lexer import error
from modelyard.registry.search.parser import Comparison, Identifier, Literal

DIALECTS = frozenset({"sqlite", "postgresql", "mysql", "mariadb"})

#: Integers must fit the BIGINT columns they are compared with.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

#: An integer literal (ASCII digits only).
INTEGER = re.compile(r"[+-]?[0-9]+")


def check_dialect(dialect_name: str) -> str:
    """Return the canonical dialect name ("mariadb" is compiled as "mysql")."""
    if dialect_name not in DIALECTS:
        raise ValueError(f"unsupported dialect {dialect_name!r}")
    return "mysql" if dialect_name == "mariadb" else dialect_name


class Context:
    """What a compiler needs to report errors: the filter text."""

    def __init__(self, text: str, dialect: str) -> None:
        self.text = text
        self.dialect = dialect

    def fail(self, message: str, pos: int) -> InvalidFilter:
        """An InvalidFilter pointing at `pos` in the filter."""
        return error(message, self.text, pos)

    def check_op(self, cmp: Comparison, allowed: Sequence[str], what: str) -> None:
        """Reject an operator that `what` does not support."""
        if cmp.op not in allowed:
            shown = ", ".join(o.replace("_", " ") for o in allowed)
            raise self.fail(
                f"operator {cmp.op.replace('_', ' ')} is not supported for {what} "
                f"{cmp.ident}; expected one of {shown}",
                cmp.pos,
            )

    def string(self, cmp: Comparison, lit: Literal) -> str:
        """The literal as a string; numbers are refused (strings must be quoted)."""
        if not lit.is_string:
            raise self.fail(
                f"{cmp.ident} compares with strings; expected a quoted string value "
                f"(e.g. '{lit.text}'), got {lit.text}",
                lit.pos,
            )
        return lit.text

    def number(self, cmp: Comparison, lit: Literal) -> float:
        """The literal as a float (overflowing literals become +/- the largest double)."""
        if lit.is_string:
            raise self.fail(
                f"{cmp.ident} is numeric; expected a number, got the string {lit}", lit.pos
            )
        value = float(lit.text)
        if math.isinf(value):
            value = math.copysign(FLOAT_MAX, value)
        return value

    def integer(self, cmp: Comparison, lit: Literal) -> int:
        """The literal as a 64-bit integer (e.g. milliseconds); fractions are refused."""
        if lit.is_string:
            raise self.fail(
                f"{cmp.ident} is numeric; expected an integer, got the string {lit}", lit.pos
            )
        return self.int64(cmp, lit, lit.text)

    def int64(self, cmp: Comparison, lit: Literal, text: str) -> int:
        """`text` (a literal's content) as an integer that fits a BIGINT column."""
        if INTEGER.fullmatch(text):
            value = int(text)
        else:
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            if not math.isfinite(number) or number != int(number):
                raise self.fail(f"{cmp.ident} expects an integer, got {lit}", lit.pos)
            value = int(number)
        if not INT64_MIN <= value <= INT64_MAX:
            raise self.fail(f"{cmp.ident} expects a 64-bit integer, got {lit}", lit.pos)
        return value

    def single(self, cmp: Comparison) -> Literal:
        """The comparison's one literal (callers have checked the operator)."""
        assert isinstance(cmp.value, Literal)
        return cmp.value

    def many(self, cmp: Comparison) -> tuple[Literal, ...]:
        """The comparison's IN list (callers have checked the operator)."""
        assert isinstance(cmp.value, tuple)
        return cmp.value


def _pattern_parts(pattern: str) -> list[tuple[bool, str]]:
    """Split a LIKE pattern into (is_wildcard, text) parts; backslash escapes one character."""
    parts: list[tuple[bool, str]] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            parts.append((False, pattern[i + 1]))
            i += 2
            continue
        parts.append((c in "%_", c))
        i += 1
    return parts


def like_pattern(pattern: str) -> str:
    """Normalize a user LIKE pattern to one with backslash as the only escape character."""
    out = []
    for wild, c in _pattern_parts(pattern):
        out.append(c if wild or c not in "%_\\" else "\\" + c)
    return "".join(out)


def glob_pattern(pattern: str) -> str:
    """Translate a user LIKE pattern into an equivalent SQLite GLOB (always case-sensitive)."""
    out = []
    for wild, c in _pattern_parts(pattern):
        if wild:
            out.append("*" if c == "%" else "?")
        elif c in "*?[":
            out.append(f"[{c}]")
        else:
            out.append(c)
    return "".join(out)


def like(column: ColumnElement, pattern: str, dialect: str, *, ignore_case: bool) -> ColumnElement:
    """Case-sensitive LIKE (ILIKE when `ignore_case`), the same on every dialect."""
    if ignore_case:
        return func.lower(column).like(func.lower(literal(like_pattern(pattern))), escape="\\")
    if dialect == "sqlite":
        # GLOB is case-sensitive whatever PRAGMA case_sensitive_like says.
        return column.op("GLOB")(literal(glob_pattern(pattern)))
    return column.like(literal(like_pattern(pattern)), escape="\\")


def string_predicate(
    ctx: Context, column: ColumnElement, cmp: Comparison, *, what: str
) -> ColumnElement:
    """`column` compared as the comparison says (= != LIKE ILIKE IN NOT IN)."""
    if cmp.op in ("IN", "NOT_IN"):
        values = [ctx.string(cmp, lit) for lit in ctx.many(cmp)]
        return column.in_(values) if cmp.op == "IN" else column.not_in(values)
    value = ctx.string(cmp, ctx.single(cmp))
    if cmp.op == "=":
        return column == value
    if cmp.op == "!=":
        return column != value
    if cmp.op in ("LIKE", "ILIKE"):
        return like(column, value, ctx.dialect, ignore_case=cmp.op == "ILIKE")
    raise AssertionError(f"unchecked operator {cmp.op} for {what}")


def numeric_predicate(column: ColumnElement, op: str, value: float | int) -> ColumnElement:
    """`column op value` for = != < <= > >=."""
    if op == "=":
        return column == value
    if op == "!=":
        return column != value
    if op == "<":
        return column < value
    if op == "<=":
        return column <= value
    if op == ">":
        return column > value
    if op == ">=":
        return column >= value
    raise AssertionError(f"unchecked operator {op}")


def sortable_string(column: ColumnElement, dialect: str) -> ColumnElement:
    """A string column ordered by code point on every dialect (PostgreSQL: COLLATE "C")."""
    return column.collate("C") if dialect == "postgresql" else column


def missing_last(is_missing: ColumnElement) -> ColumnElement:
    """An ORDER BY term that puts rows where `is_missing` holds after all others."""
    return case((is_missing, 1), else_=0)


def directed(expr: ColumnElement, ascending: bool) -> ColumnElement:
    """`expr ASC` or `expr DESC`."""
    return expr.asc() if ascending else expr.desc()


def duplicate_check(
    seen: set[tuple[str, str]], canonical: tuple[str, str], ident: Identifier
) -> None:
    """Refuse the same field twice in order_by."""
    if canonical in seen:
        raise InvalidFilter(
            f"Invalid order_by: `order_by` contains duplicate fields ({ident})", order_by=str(ident)
        )
    seen.add(canonical)
