"""The lazy scheme registries that pick a tracking or registry store from a URI (fsspec's pattern).

Implementations are named by dotted path and imported on first use, so the embedded SQLite
mode never loads grpc stubs and a gRPC client never loads SQLAlchemy. Third parties register
through the entry-point group `modelyard.tracking_stores`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from types import MappingProxyType
from typing import Any

from modelyard.errors import InvalidArgument
from modelyard.registry_stores import RegistryStore
from modelyard.registry_validation import ValidatingRegistryStore
from modelyard.stores import StoreOptions, TrackingStore
from modelyard.validation import ValidatingTrackingStore

_INSTALL_HINTS = {
    "postgresql": "install modelyard[postgres] to use PostgreSQL",
    "mysql": "install modelyard[mysql] to use MySQL or MariaDB",
}

_tracking_impls: dict[str, str | Callable[..., TrackingStore]] = {
    "sqlite": "modelyard.registry.tracking:open_tracking_store",
    "postgresql": "modelyard.registry.tracking:open_tracking_store",
    "mysql": "modelyard.registry.tracking:open_tracking_store",
    "mariadb": "modelyard.registry.tracking:open_tracking_store",
    "grpc": "modelyard.client.grpc_stores:GrpcTrackingStore",
    "grpcs": "modelyard.client.grpc_stores:GrpcTrackingStore",
}
#: Read-only view of the tracking store registry: scheme -> "module:Class" or a factory.
tracking_registry = MappingProxyType(_tracking_impls)
_entry_points_loaded = False


def register_tracking_store(
    scheme: str, impl: str | Callable[..., TrackingStore], *, clobber: bool = False
) -> None:
    """Register a tracking store for a URI scheme ("module:Class" or a factory)."""
    if scheme in _tracking_impls and not clobber and _tracking_impls[scheme] != impl:
        raise ValueError(f"a tracking store is already registered for {scheme!r}")
    _tracking_impls[scheme] = impl


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group="modelyard.tracking_stores"):
        _tracking_impls.setdefault(ep.name, ep.value)


def uri_scheme(uri: str) -> str:
    """The scheme of a tracking URI, without a SQLAlchemy driver suffix ("postgresql+psycopg")."""
    scheme, sep, _ = uri.partition(":")
    if not sep or not scheme:
        raise InvalidArgument(f"not a tracking URI (no scheme): {uri!r}", uri=uri)
    return scheme.split("+", 1)[0].lower()


def _resolve(impl: str | Callable[..., Any], scheme: str) -> Callable[..., Any]:
    if callable(impl):
        return impl
    module_name, _, attr = impl.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        hint = _INSTALL_HINTS.get(scheme, f"cannot load the store for {scheme!r}")
        raise ImportError(f"{hint} ({exc})") from exc
    factory: Callable[..., Any] = getattr(module, attr)
    return factory


def tracking_store_for_uri(uri: str, options: StoreOptions | None = None) -> TrackingStore:
    """Build the validated tracking store for a URI (sqlite:, postgresql…:, mysql…:, grpc:)."""
    scheme = uri_scheme(uri)
    if scheme not in _tracking_impls:
        _load_entry_points()
    impl = _tracking_impls.get(scheme)
    if impl is None:
        known = ", ".join(sorted(_tracking_impls))
        raise InvalidArgument(
            f"unsupported tracking URI scheme {scheme!r} in {uri!r}; known: {known}", uri=uri
        )
    store = _resolve(impl, scheme)(uri, options or StoreOptions())
    return ValidatingTrackingStore(store)


_registry_impls: dict[str, str | Callable[..., RegistryStore]] = {
    "sqlite": "modelyard.registry.model_registry:open_registry_store",
    "postgresql": "modelyard.registry.model_registry:open_registry_store",
    "mysql": "modelyard.registry.model_registry:open_registry_store",
    "mariadb": "modelyard.registry.model_registry:open_registry_store",
    "grpc": "modelyard.client.grpc_registry:GrpcRegistryStore",
    "grpcs": "modelyard.client.grpc_registry:GrpcRegistryStore",
}
#: Read-only view of the registry store registry: scheme -> "module:Class" or a factory.
registry_registry = MappingProxyType(_registry_impls)


def register_registry_store(
    scheme: str, impl: str | Callable[..., RegistryStore], *, clobber: bool = False
) -> None:
    """Register a registry store for a URI scheme ("module:Class" or a factory)."""
    if scheme in _registry_impls and not clobber and _registry_impls[scheme] != impl:
        raise ValueError(f"a registry store is already registered for {scheme!r}")
    _registry_impls[scheme] = impl


def registry_store_for_uri(uri: str, options: StoreOptions | None = None) -> RegistryStore:
    """Build the validated registry store for a URI (sqlite:, postgresql…:, mysql…:, grpc:)."""
    scheme = uri_scheme(uri)
    impl = _registry_impls.get(scheme)
    if impl is None:
        known = ", ".join(sorted(_registry_impls))
        raise InvalidArgument(
            f"unsupported registry URI scheme {scheme!r} in {uri!r}; known: {known}", uri=uri
        )
    store = _resolve(impl, scheme)(uri, options or StoreOptions())
    return ValidatingRegistryStore(store)
