"""Which tracking URI the fluent API and a default `Client` use.

Resolution order: `set_tracking_uri(...)` > `MODELYARD_TRACKING_URI` > the embedded default
`sqlite:///modelyard.db`. Relative SQLite paths are relative to the working directory at the
time a store is opened (`store_uri` makes them absolute), so `os.chdir` moves the database as
users expect.
"""

from __future__ import annotations

import os
import threading

from modelyard.config import DEFAULT_TRACKING_URI, client_config
from modelyard.errors import InvalidArgument

_lock = threading.Lock()
_explicit_uri: str | None = None


def set_tracking_uri(uri: str | os.PathLike[str] | None) -> None:
    """Set the tracking URI for this process (None or "" goes back to env/default).

    A plain filesystem path ending in `.db`, `.sqlite` or `.sqlite3` is taken as a SQLite file.
    """
    global _explicit_uri
    if uri is None or uri == "":
        value: str | None = None
    else:
        value = os.fspath(uri)
        if not isinstance(value, str):
            raise InvalidArgument(f"tracking URI must be a string, got {value!r}", uri=value)
        if ":" not in value.split("/", 1)[0] and value.endswith((".db", ".sqlite", ".sqlite3")):
            value = "sqlite:///" + os.path.abspath(value)
        elif ":" not in value:
            raise InvalidArgument(
                f"not a tracking URI: {value!r}; use sqlite:///path.db, "
                "postgresql+psycopg://…, mysql+pymysql://… or grpc://host:port",
                uri=value,
            )
    with _lock:
        _explicit_uri = value


def get_tracking_uri() -> str:
    """Return the tracking URI in effect: explicit, else MODELYARD_TRACKING_URI, else default."""
    explicit = _explicit_uri
    if explicit is not None:
        return explicit
    return client_config().tracking_uri or DEFAULT_TRACKING_URI


def is_tracking_uri_set() -> bool:
    """True when set_tracking_uri or MODELYARD_TRACKING_URI chose the URI (not the default)."""
    return _explicit_uri is not None or client_config().tracking_uri is not None


def store_uri(uri: str) -> str:
    """The URI to open a store with: relative SQLite file paths made absolute against the cwd."""
    scheme, sep, rest = uri.partition(":")
    if not sep or not scheme.lower().startswith("sqlite"):
        return uri
    if not rest.startswith("///"):
        return uri  # sqlite:// (in-memory) or an unusual form: leave it to SQLAlchemy
    path, qmark, query = rest[3:].partition("?")
    if path in ("", ":memory:") or path.startswith("file:") or os.path.isabs(path):
        return uri
    return f"{scheme}:///{os.path.abspath(path)}{qmark}{query}"
