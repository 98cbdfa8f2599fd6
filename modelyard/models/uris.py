"""Model URIs: `runs:/<run_id>/<path>` and the `models:/` forms of the registry."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from modelyard.entities.model_registry import ModelStage
from modelyard.errors import InvalidArgument

__all__ = [
    "ModelsUri",
    "RunsUri",
    "is_models_uri",
    "is_runs_uri",
    "parse_models_uri",
    "parse_runs_uri",
]


@dataclass(frozen=True, slots=True)
class RunsUri:
    """`runs:/<run_id>/<path>`: a path below a run's artifact root ("" for the root)."""

    run_id: str
    path: str


@dataclass(frozen=True, slots=True)
class ModelsUri:
    """`models:/...`: exactly one of version, stage, alias or latest is set."""

    name: str
    version: int | None = None
    stage: str | None = None
    alias: str | None = None
    latest: bool = False


def _scheme(uri: str) -> str:
    return uri.split(":", 1)[0].lower() if ":" in uri else ""


def is_runs_uri(uri: str) -> bool:
    """True for a runs: URI."""
    return isinstance(uri, str) and _scheme(uri) == "runs"


def is_models_uri(uri: str) -> bool:
    """True for a models: URI."""
    return isinstance(uri, str) and _scheme(uri) == "models"


def _bad_models(uri: str, why: str) -> InvalidArgument:
    return InvalidArgument(
        f"Not a proper models:/ URI: {uri!r} ({why}). Use models:/<name>/<version>, "
        "models:/<name>/<stage>, models:/<name>/latest or models:/<name>@<alias>",
        uri=uri,
    )


def parse_runs_uri(uri: str) -> RunsUri:
    """Parse `runs:/<run_id>[/<path>]`.

    Raises:
        InvalidArgument: another scheme, a host, query or fragment, no run id, or an unclean path.
    """
    if not is_runs_uri(uri):
        raise InvalidArgument(f"not a runs:/ URI: {uri!r}", uri=uri)
    parts = urlsplit(uri)
    if parts.netloc or parts.query or parts.fragment:
        raise InvalidArgument(f"a runs URI is runs:/<run_id>/<path>, got {uri!r}", uri=uri)
    run_id, _, path = parts.path.lstrip("/").partition("/")
    if not run_id:
        raise InvalidArgument(f"no run id in {uri!r}", uri=uri)
    path = path.rstrip("/")
    segments = path.split("/") if path else []
    if any(s in ("", ".", "..") for s in segments) or "\\" in path:
        raise InvalidArgument(f"the path of {uri!r} is not a clean relative path", uri=uri)
    return RunsUri(run_id, path)


def parse_models_uri(uri: str) -> ModelsUri:
    """Parse `models:/<name>/<version|stage|latest>` or `models:/<name>@<alias>`.

    Stage and `latest` are case-insensitive; the stage comes back canonical ("Staging").

    Raises:
        InvalidArgument: naming the URI: another scheme, a host/query/fragment, more than two
            parts, an empty part, both a suffix and an alias, or an unknown suffix.
    """
    if not is_models_uri(uri):
        raise InvalidArgument(f"not a models:/ URI: {uri!r}", uri=uri)
    parts = urlsplit(uri)
    if parts.netloc:
        raise _bad_models(uri, f"unexpected host {parts.netloc!r}")
    if parts.query or parts.fragment:
        raise _bad_models(uri, "a query or fragment is not allowed")
    path = parts.path
    if not path.startswith("/"):
        raise _bad_models(uri, "it must start with models:/")
    segments = path[1:].split("/")
    if len(segments) > 2:
        raise _bad_models(uri, "more than two path parts")
    if any(not s for s in segments):
        raise _bad_models(uri, "an empty part")
    if len(segments) == 2:
        name, suffix = segments
        if "@" in name or "@" in suffix:
            raise _bad_models(uri, "both a version/stage suffix and an alias")
        if suffix.isascii() and suffix.isdigit():
            version = int(suffix)
            if version < 1:
                raise _bad_models(uri, "versions start at 1")
            return ModelsUri(name, version=version)
        if suffix.lower() == "latest":
            return ModelsUri(name, latest=True)
        stage = next((s for s in ModelStage if s.value.lower() == suffix.lower()), None)
        if stage is None:
            stages = ", ".join(ModelStage)
            raise _bad_models(
                uri, f"{suffix!r} is not a version number, a stage ({stages}) or 'latest'"
            )
        return ModelsUri(name, stage=stage.value)
    name, at, alias = segments[0].rpartition("@")
    if not at:
        raise _bad_models(uri, "no version, stage, 'latest' or @alias after the name")
    if not name or not alias:
        raise _bad_models(uri, "an empty name or alias")
    return ModelsUri(name, alias=alias)
