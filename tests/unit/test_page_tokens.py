"""Page tokens: opaque, URL-safe, signed, and bound to the query that issued them."""

from __future__ import annotations

import base64
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelyard.entities import ViewType
from modelyard.errors import InvalidArgument, InvalidPageToken
from modelyard.registry.search import PageTokens, query_fingerprint

TOKENS = PageTokens(b"0123456789abcdef0123456789abcdef")
FP = query_fingerprint("metrics.acc > 1", ["metrics.acc DESC"], [1, 2], ViewType.ACTIVE_ONLY, 100)


def test_round_trip_and_empty_tokens() -> None:
    token = TOKENS.encode(300, FP)
    assert TOKENS.decode(token, FP) == 300
    assert TOKENS.decode(None, FP) == 0
    assert TOKENS.decode("", FP) == 0
    assert TOKENS.decode(TOKENS.encode(0, FP), FP) == 0


def test_tokens_are_url_safe_and_short() -> None:
    token = TOKENS.encode(2**40, FP)
    assert re.fullmatch(r"[A-Za-z0-9_\-.]+", token)
    assert len(token) < 200


def test_token_from_another_query_is_refused() -> None:
    token = TOKENS.encode(100, FP)
    other = query_fingerprint("metrics.acc > 2", ["metrics.acc DESC"], [1, 2], ViewType.ACTIVE_ONLY)
    with pytest.raises(InvalidPageToken, match="different query"):
        TOKENS.decode(token, other)


def test_token_signed_with_another_secret_is_refused() -> None:
    token = PageTokens(b"another secret").encode(100, FP)
    with pytest.raises(InvalidPageToken, match="signature"):
        TOKENS.decode(token, FP)


def test_every_single_character_change_is_detected() -> None:
    token = TOKENS.encode(100, FP)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
    for i, c in enumerate(token):
        replacement = alphabet[(alphabet.index(c) + 1) % len(alphabet)]
        tampered = token[:i] + replacement + token[i + 1 :]
        with pytest.raises(InvalidPageToken):
            TOKENS.decode(tampered, FP)


def test_forged_payload_with_a_reused_signature_is_refused() -> None:
    token = TOKENS.encode(100, FP)
    body, sig = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=="))
    payload["o"] = 0
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidPageToken, match="signature"):
        TOKENS.decode(f"{forged}.{sig}", FP)


@pytest.mark.parametrize(
    "garbage",
    [
        "x",
        ".",
        "a.",
        ".b",
        "a.b.c",
        "not a token!",
        "eyJvZmZzZXQiOiAxMDB9",  # MLflow's base64 JSON {"offset": 100}
        "%%%.%%%",
        "a" * 5000,
        "é.é",
    ],
)
def test_malformed_tokens(garbage: str) -> None:
    with pytest.raises(InvalidPageToken) as info:
        TOKENS.decode(garbage, FP)
    assert isinstance(info.value, InvalidArgument)
    assert len(info.value.message) < 300


def test_non_string_token() -> None:
    with pytest.raises(InvalidPageToken):
        TOKENS.decode(b"abc.def", FP)  # type: ignore[arg-type]


@pytest.mark.parametrize("offset", [-1, 1.5, True, 2**60])
def test_encode_refuses_bad_offsets(offset: object) -> None:
    with pytest.raises(ValueError):
        TOKENS.encode(offset, FP)  # type: ignore[arg-type]


def test_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        PageTokens(b"")


def test_fingerprint_is_stable_and_sensitive() -> None:
    base = ("f", ["a DESC", "b"], [1, 2], ViewType.ALL, 10)
    assert query_fingerprint(*base) == query_fingerprint(
        "f", ("a DESC", "b"), (1, 2), ViewType.ALL, 10
    )
    assert re.fullmatch(r"[0-9a-f]{32}", query_fingerprint(*base))
    variants = [
        ("g", ["a DESC", "b"], [1, 2], ViewType.ALL, 10),
        ("f", ["b", "a DESC"], [1, 2], ViewType.ALL, 10),
        ("f", ["a DESC", "b"], [1, 3], ViewType.ALL, 10),
        ("f", ["a DESC", "b"], [1, 2], ViewType.ACTIVE_ONLY, 10),
        ("f", ["a DESC", "b"], [1, 2], ViewType.ALL, 11),
        ("f", ["a DESC", "b"], [1, 2], ViewType.ALL),
        ("f", ["a DESC", "b"], ["1", "2"], ViewType.ALL, 10),
        ("f", ["a DESC, b"], [1, 2], ViewType.ALL, 10),
    ]
    digests = {query_fingerprint(*v) for v in variants}
    assert len(digests) == len(variants)
    assert query_fingerprint(*base) not in digests
    assert query_fingerprint({"b": 1, "a": 2}) == query_fingerprint({"a": 2, "b": 1})


@given(st.integers(0, 2**53), st.text(max_size=50), st.binary(min_size=1, max_size=64))
def test_round_trip_property(offset: int, query: str, secret: bytes) -> None:
    tokens = PageTokens(secret)
    fingerprint = query_fingerprint(query)
    assert tokens.decode(tokens.encode(offset, fingerprint), fingerprint) == offset
