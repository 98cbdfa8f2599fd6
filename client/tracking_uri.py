"""Which tracking URI (and registry URI) the fluent API and a default `Client` use.

Resolution order: `set_tracking_uri(...)` > `MODELYARD_TRACKING_URI` > the embedded default
`sqlite:///modelyard.db`. The registry's: `set_registry_uri(...)` > `MODELYARD_REGISTRY_URI` >
the tracking URI (modelyard keeps the registry in the tracking store; a separate one is
another modelyard store or server). Relative SQLite paths are relative to the working
directory at the time a store is opened (`store_uri` makes them absolute), so `os.chdir`
moves the database as users expect.
"""

from __future__ import annotations

import os
import threading

from modelyard.config import DEFAULT_TRACKING_URI, client_config
from modelyard.errors import InvalidArgument

_lock = threading.Lock()
_explicit_uri: str | None = None
_explicit_registry_uri: str | None = None


def _normalized(uri: str | os.PathLike[str] | None, what: str) -> str | None:
    """A URI as given to set_tracking_uri / set_registry_uri (None or "" means unset)."""
    if uri is None or uri == "":
        return None
    value = os.fspath(uri)
    if not isinstance(value, str):
        raise InvalidArgument(f"{what} must be a string, got {value!r}", uri=value)
    if ":" not in value.split("/", 1)[0] and value.endswith((".db", ".sqlite", ".sqlite3")):
        return "sqlite:///" + os.path.abspath(value)
    if ":" not in value:
        raise InvalidArgument(
            f"not a {what}: {value!r}; use sqlite:///path.db, "
            "postgresql+psycopg://…, mysql+pymysql://… or grpc://host:port",
            uri=value,
        )
    return value


def set_tracking_uri(uri: str | os.PathLike[str] | None) -> None:
    """Set the tracking URI for this process (None or "" goes back to env/default).

    A plain filesystem path ending in `.db`, `.sqlite` or `.sqlite3` is taken as a SQLite file.
    """
    global _explicit_uri
    value = _normalized(uri, "tracking URI")
    with _lock:
        _explicit_uri = value


def set_registry_uri(uri: str | os.PathLike[str] | None) -> None:
    """Set the model registry URI for this process (None or "" goes back to env/tracking URI)."""
    global _explicit_registry_uri
    value = _normalized(uri, "registry URI")
    with _lock:
        _explicit_registry_uri = value


def get_registry_uri() -> str:
    """The registry URI in effect: explicit, else MODELYARD_REGISTRY_URI, else the tracking URI."""
    explicit = _explicit_registry_uri
    if explicit is not None:
        return explicit
    return client_config().registry_uri or get_tracking_uri()


def registry_uri_for(tracking_uri: str) -> str:
    """The registry URI of a client made for tracking_uri: a registry URI set explicitly or in
    the environment, else that tracking URI."""
    return _explicit_registry_uri or client_config().registry_uri or tracking_uri


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
