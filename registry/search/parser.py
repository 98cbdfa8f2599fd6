"""Pure parser: filter and order_by text -> AST of frozen dataclasses (no SQL here).

Grammar (keywords case-insensitive)::

    filter      := <empty> | comparison (AND comparison)*
    comparison  := identifier ( OP literal | LIKE literal | ILIKE literal
                              | [NOT] IN '(' literal (',' literal)* ')' | IS [NOT] NULL )
    identifier  := entity '.' key | key          (a bare key is an attribute)
    key         := word | `quoted` | "quoted"
    literal     := 'string' | "string" | number
    order_by    := identifier [ASC | DESC]

Which entities, keys, operators and literal types are allowed is checked by the compilers
(runs.py, experiments.py), which know what they search; positions travel in the AST so their
errors can point at the offending text too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from modelyard.errors import InvalidFilter
from modelyard.registry.search.lexer import Kind, Token, error, tokenize


class Entity(StrEnum):
    """What an identifier refers to."""

    METRIC = "metrics"
    PARAM = "params"
    TAG = "tags"
    ATTRIBUTE = "attributes"


#: Entity spellings users type (MLflow's aliases), lower-cased.
ENTITY_ALIASES: dict[str, Entity] = {
    "metric": Entity.METRIC,
    "metrics": Entity.METRIC,
    "param": Entity.PARAM,
    "params": Entity.PARAM,
    "parameter": Entity.PARAM,
    "parameters": Entity.PARAM,
    "tag": Entity.TAG,
    "tags": Entity.TAG,
    "attribute": Entity.ATTRIBUTE,
    "attributes": Entity.ATTRIBUTE,
    "attr": Entity.ATTRIBUTE,
    "run": Entity.ATTRIBUTE,
}

KEYWORDS = frozenset({"AND", "OR", "NOT", "LIKE", "ILIKE", "IN", "IS", "NULL", "ASC", "DESC"})


@dataclass(frozen=True, slots=True)
class Identifier:
    """`entity.key` as written at position `pos`."""

    entity: Entity
    key: str
    pos: int
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Literal:
    """A quoted string or a number, as written (numbers are converted by the compilers)."""

    is_string: bool
    text: str
    pos: int

    def __str__(self) -> str:
        if self.is_string:
            return "'" + self.text.replace("'", "''") + "'"
        return self.text


@dataclass(frozen=True, slots=True)
class Comparison:
    """`ident op value`.

    `op` is one of = != < <= > >= LIKE ILIKE IN NOT_IN IS_NULL IS_NOT_NULL; `value` is a
    Literal, a tuple of Literals for IN lists, or None for IS [NOT] NULL.
    """

    ident: Identifier
    op: str
    value: Literal | tuple[Literal, ...] | None
    pos: int


@dataclass(frozen=True, slots=True)
class SortKey:
    """One order_by clause."""

    ident: Identifier
    ascending: bool


COMPARISON_OPS = ("=", "!=", "<", "<=", ">", ">=")


class _Parser:
    def __init__(self, text: str, what: str) -> None:
        self.text = text
        self.what = what
        self._tokens = tokenize(text, what)
        self.tok = next(self._tokens)

    # -- helpers ---------------------------------------------------------------------------
    def advance(self) -> Token:
        tok = self.tok
        if tok.kind is not Kind.EOF:
            self.tok = next(self._tokens)
        return tok

    def is_keyword(self, word: str) -> bool:
        return self.tok.kind is Kind.WORD and self.tok.text.upper() == word

    def fail(self, expected: str, tok: Token | None = None) -> InvalidFilter:
        tok = tok or self.tok
        return self.error(f"expected {expected}, found {tok.describe()}", tok.pos)

    def error(self, message: str, pos: int) -> InvalidFilter:
        return error(message, self.text, pos, self.what)

    # -- grammar ---------------------------------------------------------------------------
    def identifier(self) -> Identifier:
        tok = self.tok
        if tok.kind in (Kind.QUOTED_KEY, Kind.DQUOTED):
            self.advance()
            return Identifier(Entity.ATTRIBUTE, tok.text, tok.pos, self.text[tok.pos : tok.end])
        if tok.kind is Kind.LPAREN:
            raise self.error(
                "parentheses are only allowed around IN lists; expected an identifier", tok.pos
            )
        if tok.kind is not Kind.WORD or tok.text.upper() in KEYWORDS:
            raise self.fail("an identifier such as metrics.<key>, params.<key> or tags.<key>")
        self.advance()
        head, dot, rest = tok.text.partition(".")
        if not dot:
            return Identifier(Entity.ATTRIBUTE, tok.text, tok.pos, tok.text)
        entity = ENTITY_ALIASES.get(head.lower())
        if entity is None:
            raise self.error(
                f"unknown entity {head!r}; expected one of metrics, params, tags, attributes",
                tok.pos,
            )
        if rest:
            return Identifier(entity, rest, tok.pos, tok.text)
        quoted = self.tok
        if quoted.kind not in (Kind.QUOTED_KEY, Kind.DQUOTED) or quoted.pos != tok.end:
            raise self.fail(f"a key after {tok.text!r}", quoted)
        self.advance()
        if not quoted.text:
            raise self.error("empty key", quoted.pos)
        return Identifier(entity, quoted.text, tok.pos, self.text[tok.pos : quoted.end])

    def literal(self) -> Literal:
        tok = self.tok
        if tok.kind in (Kind.STRING, Kind.DQUOTED):
            self.advance()
            return Literal(True, tok.text, tok.pos)
        if tok.kind is Kind.NUMBER:
            self.advance()
            return Literal(False, tok.text, tok.pos)
        if tok.kind is Kind.WORD and tok.text.upper() not in KEYWORDS:
            raise self.fail("a quoted string value (e.g. 'my-value') or a number")
        raise self.fail("a value (a quoted string or a number)")

    def in_list(self) -> tuple[Literal, ...]:
        if self.tok.kind is not Kind.LPAREN:
            raise self.fail("'(' to start the IN list")
        self.advance()
        if self.tok.kind is Kind.RPAREN:
            raise self.error("an IN list must not be empty", self.tok.pos)
        items = [self.literal()]
        while self.tok.kind is Kind.COMMA:
            self.advance()
            items.append(self.literal())
        if self.tok.kind is not Kind.RPAREN:
            raise self.fail("',' or ')' in the IN list")
        self.advance()
        return tuple(items)

    def comparison(self) -> Comparison:
        ident = self.identifier()
        tok = self.tok
        if tok.kind is Kind.OP:
            self.advance()
            return Comparison(ident, tok.text, self.literal(), tok.pos)
        if tok.kind is Kind.WORD:
            word = tok.text.upper()
            if word in ("LIKE", "ILIKE"):
                self.advance()
                return Comparison(ident, word, self.literal(), tok.pos)
            if word == "IN":
                self.advance()
                return Comparison(ident, "IN", self.in_list(), tok.pos)
            if word == "NOT":
                self.advance()
                if not self.is_keyword("IN"):
                    raise self.fail("IN after NOT (NOT IN is the only negated operator)")
                self.advance()
                return Comparison(ident, "NOT_IN", self.in_list(), tok.pos)
            if word == "IS":
                self.advance()
                op = "IS_NULL"
                if self.is_keyword("NOT"):
                    self.advance()
                    op = "IS_NOT_NULL"
                if not self.is_keyword("NULL"):
                    raise self.fail("NULL after IS" if op == "IS_NULL" else "NULL after IS NOT")
                self.advance()
                return Comparison(ident, op, None, tok.pos)
        raise self.fail(
            f"a comparison operator (= != < <= > >= LIKE ILIKE IN NOT IN IS NULL) after {ident}"
        )

    def filter(self) -> tuple[Comparison, ...]:
        if self.tok.kind is Kind.EOF:
            return ()
        out = [self.comparison()]
        while True:
            if self.tok.kind is Kind.EOF:
                return tuple(out)
            if self.is_keyword("AND"):
                self.advance()
                out.append(self.comparison())
                continue
            if self.is_keyword("OR"):
                raise self.error(
                    "'OR' is not supported; only AND can join comparisons", self.tok.pos
                )
            raise self.fail("AND or end of input")

    def sort_key(self) -> SortKey:
        if self.tok.kind is Kind.EOF:
            raise self.fail("an identifier to order by")
        ident = self.identifier()
        ascending = True
        if self.is_keyword("ASC") or self.is_keyword("DESC"):
            ascending = self.advance().text.upper() == "ASC"
        if self.tok.kind is not Kind.EOF:
            raise self.fail("ASC, DESC or end of the order_by clause")
        return SortKey(ident, ascending)


def parse_filter(text: str | None) -> tuple[Comparison, ...]:
    """Parse a filter string into its AND-joined comparisons (empty for None or blank)."""
    if not text:
        return ()
    return _Parser(text, "filter").filter()


def parse_order_by(clauses: Sequence[str] | None) -> tuple[SortKey, ...]:
    """Parse order_by clauses such as ["metrics.rmse DESC", "params.lr"]."""
    if isinstance(clauses, str):
        clauses = [clauses]
    return tuple(_Parser(clause, "order_by").sort_key() for clause in clauses or ())
