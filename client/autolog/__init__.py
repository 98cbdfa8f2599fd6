"""Autologging: the generic machinery (integration registry, safe patching, re-entrancy guard).

An integration (see `sklearn.py`) patches methods on classes with `patch`, which records the
exact attribute each class held in its own `__dict__` (or that it held none), so `unpatch`
puts back the very same objects. A patched method runs the integration's handler only for the
outermost call in a thread: fits nested inside it (a pipeline's steps, a search's candidates)
run the original method untouched. Logging errors never reach the user's code: `safe` turns
them into one warning and training goes on.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = [
    "AUTOLOGGED_TAG",
    "autolog",
    "is_patched",
    "outermost",
    "patch",
    "register_integration",
    "safe",
    "unpatch",
]

#: The tag a run started by autolog carries, MLflow's name for it; its value names the integration.
AUTOLOGGED_TAG = "mlflow.autologging"

_MISSING = object()

# integration name -> (the library it needs, its autolog function)
_INTEGRATIONS: dict[str, tuple[str, Callable[..., None]]] = {}
# integration name -> [(class, attribute name, the class's own original __dict__ entry)]
_PATCHES: dict[str, list[tuple[type, str, Any]]] = {}
_patch_lock = threading.Lock()


class _Depth(threading.local):
    value = 0


_depth = _Depth()
# Autologged calls in progress in any thread: inner fits that a library runs on worker threads
# (joblib's threading backend) see it and are not logged as runs of their own.
_in_progress = 0
_in_progress_lock = threading.Lock()


def register_integration(name: str, library: str, autolog_fn: Callable[..., None]) -> None:
    """Register an integration: `autolog()` turns it on when `library` is importable."""
    _INTEGRATIONS[name] = (library, autolog_fn)


def _installed(library: str) -> bool:
    try:
        return importlib.util.find_spec(library) is not None
    except (ImportError, ValueError):
        return False


def _load_integrations() -> None:
    # Importing an integration module registers it; the module itself imports its library
    # only when its autolog function runs.
    importlib.import_module("modelyard.client.autolog.sklearn")


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    log_traces: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    extra_tags: Mapping[str, Any] | None = None,
    exclude_flavors: Sequence[str] | None = None,
) -> None:
    """Turn on (or, with disable=True, off) autologging for every installed integration.

    MLflow's signature, so ported calls work: `extra_tags` go on every run autolog starts,
    `exclude_flavors` names integrations to leave alone (turned off if they were on).
    `log_datasets`, `log_traces` and `disable_for_unsupported_versions` are accepted for
    compatibility; modelyard logs no datasets or traces, and patches the installed version.
    """
    del log_datasets, log_traces, disable_for_unsupported_versions
    _load_integrations()
    excluded = set(exclude_flavors or ())
    for name, (library, autolog_fn) in sorted(_INTEGRATIONS.items()):
        if not _installed(library):
            continue
        try:
            autolog_fn(
                log_models=log_models,
                log_input_examples=log_input_examples,
                log_model_signatures=log_model_signatures,
                disable=disable or name in excluded,
                exclusive=exclusive,
                silent=silent,
                extra_tags=extra_tags,
            )
        except Exception as exc:
            if not silent:
                warnings.warn(
                    f"modelyard autolog: could not set up the {name} integration: {exc}",
                    UserWarning,
                    stacklevel=2,
                )


def safe(integration: str, silent: bool, what: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Call fn(*args); on any exception warn once (unless silent) and return None."""
    try:
        return fn(*args)
    except Exception as exc:
        if not silent:
            warnings.warn(
                f"modelyard autolog ({integration}): {what} failed, training goes on: "
                f"{type(exc).__name__}: {exc}",
                UserWarning,
                stacklevel=2,
            )
        return None


class _PatchedDescriptor:
    """Wraps a descriptor (e.g. sklearn's `available_if`): availability is the original's."""

    def __init__(self, original: Any, wrap: Callable[..., Callable[..., Any]]) -> None:
        self.original = original
        self.wrap = wrap

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        bound = self.original.__get__(obj, owner)  # raises AttributeError when unavailable
        if obj is None:
            return bound
        return self.wrap(bound, obj)


def outermost(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Run `handler(call)` for the outermost patched call only; nested calls run `call()`."""

    def run(call: Callable[[], Any]) -> Any:
        global _in_progress
        if _depth.value > 0 or _in_progress > 0:
            return call()
        _depth.value += 1
        with _in_progress_lock:
            _in_progress += 1
        try:
            return handler(call)
        finally:
            _depth.value -= 1
            with _in_progress_lock:
                _in_progress -= 1

    return run


def patch(
    integration: str,
    cls: type,
    name: str,
    handler: Callable[[Any, Callable[[], Any], tuple[Any, ...], dict[str, Any]], Any],
) -> bool:
    """Patch `cls.name` (defined in cls's own __dict__) so calls go through `handler`.

    `handler(self, call, args, kwargs)` must call `call()` (the original) exactly once and
    return its result. Returns False when cls does not define `name` itself or is patched.
    """
    original = cls.__dict__.get(name, _MISSING)
    if original is _MISSING or is_patched(cls, name):
        return False

    def guarded(self: Any, call: Callable[[], Any], args: Any, kwargs: Any) -> Any:
        return outermost(lambda c: handler(self, c, args, kwargs))(call)

    if isinstance(original, (staticmethod, classmethod)):
        return False
    if inspect.isfunction(original):

        @functools.wraps(original)
        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            return guarded(self, lambda: original(self, *args, **kwargs), args, kwargs)

        method.__modelyard_autolog__ = integration  # type: ignore[attr-defined]
        replacement: Any = method
    elif hasattr(original, "__get__"):

        def wrap(bound: Callable[..., Any], self: Any) -> Callable[..., Any]:
            @functools.wraps(bound)
            def call_bound(*args: Any, **kwargs: Any) -> Any:
                return guarded(self, lambda: bound(*args, **kwargs), args, kwargs)

            return call_bound

        replacement = _PatchedDescriptor(original, wrap)
        replacement.__modelyard_autolog__ = integration  # type: ignore[attr-defined]
    else:
        return False
    with _patch_lock:
        _PATCHES.setdefault(integration, []).append((cls, name, original))
        setattr(cls, name, replacement)
    return True


def is_patched(cls: type, name: str) -> bool:
    """True when cls's own `name` is an autolog patch."""
    return hasattr(cls.__dict__.get(name), "__modelyard_autolog__")


def unpatch(integration: str) -> None:
    """Put back the exact original attributes every patch of `integration` replaced."""
    with _patch_lock:
        for cls, name, original in reversed(_PATCHES.pop(integration, [])):
            setattr(cls, name, original)
