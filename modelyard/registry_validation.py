"""Every input rule of the model registry, once, and the store wrapper that applies them.

Each rule raises `InvalidArgument` naming the offending value. Stores behind
`ValidatingRegistryStore` trust their inputs. `manifest_digest` is the one definition of a
version's content digest (the server records it; `load_model` recomputes it).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence

from modelyard.entities import PagedList
from modelyard.entities.model_registry import (
    ModelFile,
    ModelStage,
    ModelVersion,
    ModelVersionLineage,
    RegisteredModel,
    RegistryEvent,
    RegistryEventKind,
)
from modelyard.errors import InvalidArgument
from modelyard.registry_stores import (
    HISTORY_PAGE_DEFAULT,
    HISTORY_PAGE_LIMIT,
    SEARCH_MODEL_VERSIONS_DEFAULT,
    SEARCH_MODEL_VERSIONS_LIMIT,
    SEARCH_REGISTERED_MODELS_DEFAULT,
    SEARCH_REGISTERED_MODELS_LIMIT,
    RegistryStore,
)
from modelyard.validation import (
    MAX_USER_ID_LENGTH,
    _check_text,
    _clip,
    validate_key,
    validate_max_results,
    validate_request_id,
    validate_run_id,
    validate_search,
)

MAX_MODEL_NAME_LENGTH = 256
MAX_ALIAS_LENGTH = 255
MAX_MODEL_TAG_VALUE_LENGTH = 100_000
MAX_DESCRIPTION_LENGTH = 65_536
MAX_SOURCE_LENGTH = 4096
MAX_RUN_LINK_LENGTH = 4096
MAX_VERSION = 2**31 - 1
MAX_WATCH_MODEL_NAMES = 1000
MIN_HEARTBEAT_S = 0.05
MAX_HEARTBEAT_S = 3600.0
#: Alias names: ASCII letters, digits, "_" and "-".
ALIAS_RE = re.compile(r"^[A-Za-z0-9_\-]+$")
#: Aliases that cannot be set: "latest" (any case) and "v<digits>" (either case).
RESERVED_ALIAS_RE = re.compile(r"^(latest|v[0-9]+)$", re.IGNORECASE)
#: Characters a model name may not contain (besides control characters).
FORBIDDEN_NAME_CHARS = ("/", ":")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def manifest_digest(files: Iterable[ModelFile]) -> str:
    """SHA-256 (hex) over "<path>\\t<size>\\t<sha256>\\n" lines of the files, sorted by path."""
    digest = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.path):
        digest.update(f"{f.path}\t{f.size}\t{f.sha256}\n".encode())
    return digest.hexdigest()


def validate_model_name(name: object, what: str = "registered model name") -> str:
    """Check a model name: 1-256 characters, no "/", ":" or control characters, not blank."""
    text = _check_text(what, name, MAX_MODEL_NAME_LENGTH, allow_empty=False)
    for char in FORBIDDEN_NAME_CHARS:
        if char in text:
            raise InvalidArgument(
                f"invalid {what} {text!r}: it must not contain {char!r}", name=text
            )
    if _CONTROL_RE.search(text):
        raise InvalidArgument(
            f"invalid {what} {text!r}: it must not contain control characters", name=text
        )
    return text


def validate_version(version: object) -> int:
    """Check a version number: a positive integer (a decimal string is accepted too)."""
    value: object = version
    if isinstance(version, str) and version.strip().isdigit() and version.strip().isascii():
        value = int(version.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_VERSION:
        raise InvalidArgument(
            f"invalid model version {_clip(version)}: expected a positive integer",
            version=version,
        )
    return value


def validate_stage(stage: object) -> ModelStage:
    """Canonicalize a stage case-insensitively ("production" -> Production) or refuse it."""
    if isinstance(stage, str):
        if not stage:
            raise InvalidArgument("The stage must not be an empty string", stage=stage)
        for known in ModelStage:
            if stage.lower() == known.value.lower():
                return known
    allowed = ", ".join(s.value for s in ModelStage)
    raise InvalidArgument(
        f"Invalid Model Version stage: {_clip(stage)}. Value must be one of {allowed}.",
        stage=stage,
    )


def validate_stages(stages: Sequence[object]) -> list[ModelStage]:
    """Check a list of stages (a bare string is refused)."""
    if isinstance(stages, str):
        raise InvalidArgument(f"expected a list of stages, got the string {stages!r}")
    return [validate_stage(s) for s in stages]


def validate_archive(stage: ModelStage, archive_existing_versions: object) -> bool:
    """archive_existing_versions must be a bool, and True only with Staging or Production."""
    if not isinstance(archive_existing_versions, bool):
        raise InvalidArgument(
            f"archive_existing_versions must be a boolean, got {_clip(archive_existing_versions)}"
        )
    if archive_existing_versions and stage not in ModelStage.active():
        raise InvalidArgument(
            f"archive_existing_versions is only allowed with Staging or Production; "
            f"{stage.value!r} is not an active stage",
            stage=stage.value,
        )
    return archive_existing_versions


def validate_alias_format(alias: object) -> str:
    """Check an alias's form: 1-255 characters of letters, digits, "_" and "-"."""
    if not isinstance(alias, str):
        raise InvalidArgument(f"alias must be a string, got {_clip(alias)}", alias=alias)
    if not alias:
        raise InvalidArgument("alias must not be empty, got ''", alias=alias)
    if len(alias) > MAX_ALIAS_LENGTH:
        raise InvalidArgument(
            f"alias {_clip(alias)} exceeds the maximum length of {MAX_ALIAS_LENGTH} characters "
            f"(got {len(alias)})",
            alias=alias[:200],
        )
    if not ALIAS_RE.match(alias):
        raise InvalidArgument(
            f"invalid alias {alias!r}: aliases may only contain letters, digits, '_' and '-'",
            alias=alias,
        )
    return alias


def validate_alias(alias: object) -> str:
    """Check an alias to set: well-formed and not reserved ("latest", "v<digits>")."""
    text = validate_alias_format(alias)
    if RESERVED_ALIAS_RE.match(text):
        raise InvalidArgument(
            f"alias {text!r} is reserved: 'latest' and 'v<number>' cannot be set", alias=text
        )
    return text


def validate_model_tag(key: object, value: object) -> tuple[str, str]:
    """Check a model or version tag: the tracking key rules, a value of at most 100,000."""
    checked = validate_key(key, "tag key")
    text = _check_text(f"tag {checked!r} value", value, MAX_MODEL_TAG_VALUE_LENGTH)
    return checked, text


def validate_model_tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    """Check a tag mapping given at creation time."""
    if tags is not None and not isinstance(tags, Mapping):
        raise InvalidArgument(f"tags must be a mapping, got {_clip(tags)}")
    return dict(validate_model_tag(k, v) for k, v in (tags or {}).items())


def validate_description(description: object) -> str | None:
    """None, or a description of at most 65,536 characters."""
    if description is None:
        return None
    return _check_text("description", description, MAX_DESCRIPTION_LENGTH)


def validate_user_id(user_id: object) -> str | None:
    """None, or the user name the client reports (at most 256 characters)."""
    if user_id is None or user_id == "":
        return None
    return _check_text("user id", user_id, MAX_USER_ID_LENGTH)


def validate_source(source: object) -> str:
    """Check a version source's form (where it may point is the inspector's decision)."""
    text = _check_text("model version source", source, MAX_SOURCE_LENGTH, allow_empty=False)
    if _CONTROL_RE.search(text):
        raise InvalidArgument(
            f"invalid model version source {text!r}: it must not contain control characters",
            source=text,
        )
    if text != text.strip():
        raise InvalidArgument(
            f"invalid model version source {text!r}: leading or trailing white space",
            source=text,
        )
    return text


def validate_optional_run_id(run_id: object) -> str | None:
    """None (or empty), or a valid run id."""
    if run_id is None or run_id == "":
        return None
    return validate_run_id(run_id)


def validate_run_link(run_link: object) -> str | None:
    """None, or a free-text link of at most 4096 characters."""
    if run_link is None or run_link == "":
        return None
    return _check_text("run link", run_link, MAX_RUN_LINK_LENGTH)


def validate_event_kinds(kinds: Sequence[object]) -> list[RegistryEventKind]:
    """Check a list of event kinds (names or RegistryEventKind members)."""
    if isinstance(kinds, str):
        raise InvalidArgument(f"expected a list of event kinds, got the string {kinds!r}")
    out = []
    for kind in kinds:
        try:
            out.append(RegistryEventKind(kind))
        except ValueError:
            names = ", ".join(k.value for k in RegistryEventKind)
            raise InvalidArgument(
                f"invalid registry event kind {_clip(kind)}: expected one of {names}", kind=kind
            ) from None
    return out


def validate_event_id(event_id: object) -> int | None:
    """None, or an event id (an integer >= 0)."""
    if event_id is None:
        return None
    if isinstance(event_id, bool) or not isinstance(event_id, int) or event_id < 0:
        raise InvalidArgument(
            f"invalid event id {_clip(event_id)}: expected an integer >= 0", event_id=event_id
        )
    return event_id


def validate_heartbeat(heartbeat_s: object) -> float:
    """A heartbeat interval in seconds, from 0.05 to 3600."""
    if (
        isinstance(heartbeat_s, bool)
        or not isinstance(heartbeat_s, int | float)
        or not MIN_HEARTBEAT_S <= heartbeat_s <= MAX_HEARTBEAT_S
    ):
        raise InvalidArgument(
            f"heartbeat_s must be a number from {MIN_HEARTBEAT_S} to {MAX_HEARTBEAT_S}, "
            f"got {_clip(heartbeat_s)}",
            heartbeat_s=heartbeat_s,
        )
    return float(heartbeat_s)


def validate_storage_location(location: object) -> str:
    """A non-empty artifact URI (for versions_backing)."""
    return _check_text("storage location", location, MAX_SOURCE_LENGTH, allow_empty=False)


class ValidatingRegistryStore(RegistryStore):
    """Applies every rule of this module, then delegates to the wrapped store."""

    def __init__(self, inner: RegistryStore) -> None:
        self.inner = inner

    # -- registered models -------------------------------------------------------------
    def create_registered_model(
        self,
        name: str,
        *,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
        user_id: str | None = None,
        request_id: str | None = None,
    ) -> RegisteredModel:
        """Create a model after checking its name, tags and description."""
        return self.inner.create_registered_model(
            validate_model_name(name),
            tags=validate_model_tags(tags),
            description=validate_description(description),
            user_id=validate_user_id(user_id),
            request_id=validate_request_id(request_id),
        )

    def get_registered_model(self, name: str) -> RegisteredModel:
        """Get a model by a valid name."""
        return self.inner.get_registered_model(validate_model_name(name))

    def rename_registered_model(
        self, name: str, new_name: str, *, user_id: str | None = None
    ) -> RegisteredModel:
        """Rename a model to a valid new name."""
        return self.inner.rename_registered_model(
            validate_model_name(name),
            validate_model_name(new_name, "new registered model name"),
            user_id=validate_user_id(user_id),
        )

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        """Set a model's description."""
        return self.inner.update_registered_model(
            validate_model_name(name), validate_description(description)
        )

    def delete_registered_model(self, name: str, *, user_id: str | None = None) -> None:
        """Delete a model."""
        self.inner.delete_registered_model(
            validate_model_name(name), user_id=validate_user_id(user_id)
        )

    def search_registered_models(
        self,
        *,
        filter_string: str = "",
        order_by: Sequence[str] = (),
        max_results: int = SEARCH_REGISTERED_MODELS_DEFAULT,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """Search models with a checked filter size and page size."""
        validate_search(filter_string, order_by)
        return self.inner.search_registered_models(
            filter_string=filter_string or "",
            order_by=list(order_by),
            max_results=validate_max_results(max_results, SEARCH_REGISTERED_MODELS_LIMIT),
            page_token=page_token,
        )

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        """Upsert a model tag."""
        key, value = validate_model_tag(key, value)
        self.inner.set_registered_model_tag(validate_model_name(name), key, value)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Delete a model tag."""
        self.inner.delete_registered_model_tag(
            validate_model_name(name), validate_key(key, "tag key")
        )

    def get_latest_versions(
        self, name: str, stages: Sequence[ModelStage] = ()
    ) -> list[ModelVersion]:
        """The latest version per stage, with stages canonicalized."""
        return self.inner.get_latest_versions(validate_model_name(name), validate_stages(stages))

    # -- model versions ----------------------------------------------------------------
    def create_model_version(
        self,
        name: str,
        source: str,
        *,
        run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
        run_link: str | None = None,
        user_id: str | None = None,
        request_id: str | None = None,
    ) -> ModelVersion:
        """Create a version after checking every argument's form."""
        return self.inner.create_model_version(
            validate_model_name(name),
            validate_source(source),
            run_id=validate_optional_run_id(run_id),
            tags=validate_model_tags(tags),
            description=validate_description(description),
            run_link=validate_run_link(run_link),
            user_id=validate_user_id(user_id),
            request_id=validate_request_id(request_id),
        )

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """Get a version."""
        return self.inner.get_model_version(validate_model_name(name), validate_version(version))

    def update_model_version(
        self, name: str, version: int, description: str | None
    ) -> ModelVersion:
        """Set a version's description."""
        return self.inner.update_model_version(
            validate_model_name(name), validate_version(version), validate_description(description)
        )

    def delete_model_version(self, name: str, version: int, *, user_id: str | None = None) -> None:
        """Soft-delete a version."""
        self.inner.delete_model_version(
            validate_model_name(name), validate_version(version), user_id=validate_user_id(user_id)
        )

    def search_model_versions(
        self,
        *,
        filter_string: str = "",
        order_by: Sequence[str] = (),
        max_results: int = SEARCH_MODEL_VERSIONS_DEFAULT,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """Search versions with a checked filter size and page size."""
        validate_search(filter_string, order_by)
        return self.inner.search_model_versions(
            filter_string=filter_string or "",
            order_by=list(order_by),
            max_results=validate_max_results(max_results, SEARCH_MODEL_VERSIONS_LIMIT),
            page_token=page_token,
        )

    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        """Upsert a version tag."""
        key, value = validate_model_tag(key, value)
        self.inner.set_model_version_tag(
            validate_model_name(name), validate_version(version), key, value
        )

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        """Delete a version tag."""
        self.inner.delete_model_version_tag(
            validate_model_name(name), validate_version(version), validate_key(key, "tag key")
        )

    def get_model_version_download_uri(self, name: str, version: int) -> str:
        """The URI of a version's files."""
        return self.inner.get_model_version_download_uri(
            validate_model_name(name), validate_version(version)
        )

    def transition_model_version_stage(
        self,
        name: str,
        version: int,
        stage: ModelStage,
        *,
        archive_existing_versions: bool = False,
        user_id: str | None = None,
    ) -> ModelVersion:
        """Move a version to a canonicalized stage."""
        name = validate_model_name(name)
        number = validate_version(version)
        canonical = validate_stage(stage)
        archive = validate_archive(canonical, archive_existing_versions)
        return self.inner.transition_model_version_stage(
            name,
            number,
            canonical,
            archive_existing_versions=archive,
            user_id=validate_user_id(user_id),
        )

    # -- aliases -----------------------------------------------------------------------
    def set_registered_model_alias(
        self, name: str, alias: str, version: int, *, user_id: str | None = None
    ) -> None:
        """Point a valid, unreserved alias at a version."""
        name = validate_model_name(name)
        alias = validate_alias(alias)
        self.inner.set_registered_model_alias(
            name, alias, validate_version(version), user_id=validate_user_id(user_id)
        )

    def delete_registered_model_alias(
        self, name: str, alias: str, *, user_id: str | None = None
    ) -> None:
        """Remove an alias."""
        self.inner.delete_registered_model_alias(
            validate_model_name(name),
            validate_alias_format(alias),
            user_id=validate_user_id(user_id),
        )

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias names."""
        return self.inner.get_model_version_by_alias(
            validate_model_name(name), validate_alias_format(alias)
        )

    # -- integrity, lineage, history, events ---------------------------------------------
    def list_model_version_files(self, name: str, version: int) -> list[ModelFile]:
        """The files recorded at registration."""
        return self.inner.list_model_version_files(
            validate_model_name(name), validate_version(version)
        )

    def get_model_version_lineage(self, name: str, version: int) -> ModelVersionLineage:
        """Where a version came from."""
        return self.inner.get_model_version_lineage(
            validate_model_name(name), validate_version(version)
        )

    def list_registry_history(
        self,
        name: str,
        *,
        kinds: Sequence[RegistryEventKind] = (),
        version: int | None = None,
        max_results: int = HISTORY_PAGE_DEFAULT,
        page_token: str | None = None,
    ) -> PagedList[RegistryEvent]:
        """A model's events, with checked kinds, version and page size."""
        return self.inner.list_registry_history(
            validate_model_name(name),
            kinds=validate_event_kinds(kinds),
            version=None if version is None else validate_version(version),
            max_results=validate_max_results(max_results, HISTORY_PAGE_LIMIT),
            page_token=page_token,
        )

    def watch_registry_events(
        self,
        *,
        after_event_id: int | None = None,
        model_names: Sequence[str] = (),
        kinds: Sequence[RegistryEventKind] = (),
        heartbeat_s: float = 10.0,
    ) -> Iterator[tuple[list[RegistryEvent], int]]:
        """Watch events with checked arguments."""
        if isinstance(model_names, str):
            raise InvalidArgument(f"expected a list of model names, got the string {model_names!r}")
        if len(model_names) > MAX_WATCH_MODEL_NAMES:
            raise InvalidArgument(
                f"at most {MAX_WATCH_MODEL_NAMES} model names per watch, got {len(model_names)}"
            )
        return self.inner.watch_registry_events(
            after_event_id=validate_event_id(after_event_id),
            model_names=[validate_model_name(n) for n in model_names],
            kinds=validate_event_kinds(kinds),
            heartbeat_s=validate_heartbeat(heartbeat_s),
        )

    def versions_backing(self, storage_location: str) -> list[tuple[str, int]]:
        """Live versions whose files are at, under or above a location."""
        return self.inner.versions_backing(validate_storage_location(storage_location))

    def close(self) -> None:
        """Close the wrapped store."""
        self.inner.close()
