"""Tokenizer for the search filter and order_by language; every token knows its position."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

from modelyard.errors import InvalidFilter

#: Longest filter or order_by clause accepted, so a hostile input costs little to reject.
MAX_FILTER_LENGTH = 100_000


class Kind(Enum):
    """Token kinds."""

    WORD = "word"  # bare identifier or keyword: a letter or _, then letters, digits, _ . - : /
    QUOTED_KEY = "backquoted key"  # `...`
    DQUOTED = "double-quoted text"  # "..." (a key after `entity.`, else a string value)
    STRING = "string"  # '...'
    NUMBER = "number"
    OP = "operator"  # = != <> < <= > >=
    LPAREN = "'('"
    RPAREN = "')'"
    COMMA = "','"
    EOF = "end of input"


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, decoded text, start position (0-based) and end position."""

    kind: Kind
    text: str
    pos: int
    end: int

    def describe(self) -> str:
        """How an error message shows this token."""
        if self.kind is Kind.EOF:
            return "end of input"
        return repr(self.text) if self.kind is not Kind.STRING else f"string {self.text!r}"


_WORD = re.compile(r"[^\W\d][\w.\-:/]*")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_OPS = ("!=", "<>", "<=", ">=", "==", "=", "<", ">")
_SPACE = frozenset(" \t\r\n\f\v")


def error(message: str, text: str, pos: int, what: str = "filter") -> InvalidFilter:
    """Build an InvalidFilter that says what was wrong and where (0-based position in `text`)."""
    snippet = text[pos : pos + 30]
    where = f"at position {pos}" + (f" (near {snippet!r})" if snippet else " (end of input)")
    return InvalidFilter(
        f"Invalid {what} {text[:200]!r}: {message} {where}", position=pos, **{what: text[:500]}
    )


def _quoted(text: str, pos: int, quote: str, what: str) -> tuple[str, int]:
    """Read a quoted run starting at `pos` (the opening quote); a doubled quote is one quote."""
    out: list[str] = []
    i = pos + 1
    n = len(text)
    while True:
        j = text.find(quote, i)
        if j < 0:
            kind = "identifier" if quote == "`" else "string"
            raise error(f"unterminated {kind}: missing closing {quote}", text, pos, what)
        out.append(text[i:j])
        if j + 1 < n and text[j + 1] == quote:
            out.append(quote)
            i = j + 2
            continue
        return "".join(out), j + 1


def tokenize(text: str, what: str = "filter") -> Iterator[Token]:
    """Yield the tokens of a filter or order_by clause, ending with an EOF token.

    Lazy, so a parse error earlier in the text is reported before a lexical error later on.
    """
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidFilter(
            f"Invalid {what}: longer than {MAX_FILTER_LENGTH} characters", length=len(text)
        )
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in _SPACE:
            i += 1
            continue
        if c == "'":
            value, end = _quoted(text, i, "'", what)
            yield Token(Kind.STRING, value, i, end)
        elif c == '"':
            value, end = _quoted(text, i, '"', what)
            yield Token(Kind.DQUOTED, value, i, end)
        elif c == "`":
            value, end = _quoted(text, i, "`", what)
            yield Token(Kind.QUOTED_KEY, value, i, end)
        elif c == "(":
            yield Token(Kind.LPAREN, c, i, i + 1)
            end = i + 1
        elif c == ")":
            yield Token(Kind.RPAREN, c, i, i + 1)
            end = i + 1
        elif c == ",":
            yield Token(Kind.COMMA, c, i, i + 1)
            end = i + 1
        elif m := _NUMBER.match(text, i):
            end = m.end()
            if end < n and (text[end].isalpha() or text[end] == "_"):
                raise error("malformed number", text, i, what)
            yield Token(Kind.NUMBER, m.group(), i, end)
        elif m := _WORD.match(text, i):
            end = m.end()
            yield Token(Kind.WORD, m.group(), i, end)
        else:
            op = next((o for o in _OPS if text.startswith(o, i)), None)
            if op is None:
                raise error(f"unexpected character {c!r}", text, i, what)
            end = i + len(op)
            yield Token(Kind.OP, {"<>": "!=", "==": "="}.get(op, op), i, end)
        i = end
    yield Token(Kind.EOF, "", n, n)
