"""Opaque, HMAC-signed page tokens bound to the query they page through."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from enum import Enum

from modelyard.errors import InvalidPageToken

#: Longest token accepted; real ones are about 100 characters.
MAX_TOKEN_LENGTH = 1024
#: Largest offset a token may carry.
MAX_OFFSET = 2**53
_VERSION = 1


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """Decode unpadded base64url, refusing any non-canonical spelling (so no two tokens alias)."""
    data = base64.urlsafe_b64decode(text.encode("ascii") + b"=" * (-len(text) % 4))
    if _b64(data) != text:
        raise ValueError("non-canonical base64")
    return data


def _canonical(part: object) -> object:
    """A JSON-ready, order-stable form of one query parameter."""
    if part is None or isinstance(part, bool | str):
        return part
    if isinstance(part, Enum):
        return f"{type(part).__name__}.{part.name}"
    if isinstance(part, int | float):
        return part
    if isinstance(part, dict):
        return {str(k): _canonical(v) for k, v in sorted(part.items(), key=lambda kv: str(kv[0]))}
    if isinstance(part, list | tuple):
        return [_canonical(p) for p in part]
    if isinstance(part, set | frozenset):
        return sorted((_canonical(p) for p in part), key=repr)
    return repr(part)


def query_fingerprint(*parts: object) -> str:
    """Stable digest of a query's parameters (filter, order_by, ids, view type...)."""
    blob = json.dumps([_canonical(p) for p in parts], separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


class PageTokens:
    """Encodes and checks page tokens: base64url(JSON payload) "." base64url(HMAC-SHA256)."""

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("page token secret must not be empty")
        self._secret = bytes(secret)

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, b"modelyard-page-token\0" + payload, hashlib.sha256).digest()

    def encode(self, offset: int, fingerprint: str) -> str:
        """A token for the page starting at `offset` of the query with this fingerprint."""
        if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
            raise ValueError(f"invalid page offset {offset!r}")
        payload = json.dumps(
            {"v": _VERSION, "o": offset, "q": fingerprint}, separators=(",", ":")
        ).encode("utf-8")
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def decode(self, token: str | None, fingerprint: str) -> int:
        """The offset a token carries (0 for None or ""), after checking signature and query.

        Raises:
            InvalidPageToken: malformed, tampered with, or issued for another query.
        """
        if not token:
            return 0
        if not isinstance(token, str):
            raise InvalidPageToken("Invalid page token: not a string", token=repr(token)[:64])
        shown = token[:64] + ("..." if len(token) > 64 else "")
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidPageToken(
                f"Invalid page token {shown!r}: longer than {MAX_TOKEN_LENGTH} characters",
                token=shown,
            )
        body, dot, sig = token.partition(".")
        try:
            if not dot or not body or not sig:
                raise ValueError("missing signature")
            payload = _unb64(body)
            mac = _unb64(sig)
        except ValueError as exc:  # includes binascii.Error and UnicodeEncodeError
            raise InvalidPageToken(
                f"Invalid page token {shown!r}: not a token this server issued", token=shown
            ) from exc
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise InvalidPageToken(
                f"Invalid page token {shown!r}: signature check failed (tampered with, or "
                "issued by another server)",
                token=shown,
            )
        try:
            data = json.loads(payload)
            offset, query = data["o"], data["q"]
            if data.get("v") != _VERSION:
                raise ValueError("version")
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidPageToken(
                f"Invalid page token {shown!r}: unreadable", token=shown
            ) from exc
        if query != fingerprint:
            raise InvalidPageToken(
                f"Invalid page token {shown!r}: it belongs to a different query (the filter, "
                "order_by, experiments or view type changed)",
                token=shown,
            )
        if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
            raise InvalidPageToken(f"Invalid page token {shown!r}: bad offset", token=shown)
        return offset
