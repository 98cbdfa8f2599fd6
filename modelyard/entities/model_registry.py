"""The model registry's domain types: registered models, versions, files, events, lineage.

Attribute names are the ones MLflow users read (`creation_timestamp`,
`last_updated_timestamp`, `current_stage`, ...); versions are ints (MLflow's REST API sends
strings; every client method here accepts either).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

from modelyard.entities.experiment import Experiment
from modelyard.entities.run import Run
from modelyard.errors import InvalidArgument

#: Largest version number (a signed 64-bit column).
MAX_MODEL_VERSION = 2**63 - 1


def parse_model_version(value: object) -> int:
    """A version number from an int or a digit string ("3"); positive.

    Raises:
        InvalidArgument: anything else (bools, floats, "v3", "latest", 0, negatives), naming it.
    """
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
    else:
        number = None
    if number is None or not 1 <= number <= MAX_MODEL_VERSION:
        raise InvalidArgument(
            f"invalid model version {value!r}: a version is a positive integer", version=value
        )
    return number


class ModelStage(StrEnum):
    """The fixed registry stages; compares equal to MLflow's strings ("None", "Staging", ...)."""

    NONE = "None"
    STAGING = "Staging"
    PRODUCTION = "Production"
    ARCHIVED = "Archived"

    @classmethod
    def active(cls) -> tuple[ModelStage, ...]:
        """The stages `archive_existing_versions` may be used with."""
        return (cls.STAGING, cls.PRODUCTION)

    @classmethod
    def parse(cls, value: object) -> ModelStage:
        """The stage named by a case-insensitive string ("production" -> Production).

        Raises:
            InvalidArgument: empty or unknown, naming the value and the valid stages.
        """
        if isinstance(value, ModelStage):
            return value
        text = str(value).strip() if value is not None else ""
        if not text:
            raise InvalidArgument("the stage must not be empty", stage=value)
        for stage in cls:
            if stage.value.lower() == text.lower():
                return stage
        names = ", ".join(s.value for s in cls)
        raise InvalidArgument(
            f"invalid model version stage {value!r}: must be one of {names}", stage=value
        )


class ModelVersionStatus(StrEnum):
    """Registration status of a version (MLflow's strings)."""

    PENDING_REGISTRATION = "PENDING_REGISTRATION"
    READY = "READY"
    FAILED_REGISTRATION = "FAILED_REGISTRATION"


class RegistryEventKind(StrEnum):
    """What a registry event records."""

    MODEL_CREATED = "MODEL_CREATED"
    MODEL_RENAMED = "MODEL_RENAMED"
    MODEL_DELETED = "MODEL_DELETED"
    VERSION_CREATED = "VERSION_CREATED"
    VERSION_DELETED = "VERSION_DELETED"
    STAGE_TRANSITIONED = "STAGE_TRANSITIONED"
    ALIAS_SET = "ALIAS_SET"
    ALIAS_DELETED = "ALIAS_DELETED"

    @classmethod
    def history_default(cls) -> tuple[RegistryEventKind, ...]:
        """The kinds a model's history lists unless asked otherwise (promotions)."""
        return (cls.STAGE_TRANSITIONED, cls.ALIAS_SET, cls.ALIAS_DELETED)


class _EventKindNumber(IntEnum):
    """Stable small integers for RegistryEventKind (database column and wire enum)."""

    MODEL_CREATED = 1
    MODEL_RENAMED = 2
    MODEL_DELETED = 3
    VERSION_CREATED = 4
    VERSION_DELETED = 5
    STAGE_TRANSITIONED = 6
    ALIAS_SET = 7
    ALIAS_DELETED = 8


def event_kind_number(kind: RegistryEventKind) -> int:
    """The stable number of an event kind (the same as the wire enum's)."""
    return int(_EventKindNumber[kind.name])


def event_kind_from_number(number: int) -> RegistryEventKind:
    """The event kind with this stable number; ValueError for an unknown one."""
    return RegistryEventKind[_EventKindNumber(number).name]


@dataclass(frozen=True, slots=True)
class SignatureMetadata:
    """A model's signature as its MLmodel stores it: JSON text per part, None when absent.

    `modelyard.models.ModelSignature.from_metadata` turns it into schemas.
    """

    inputs: str | None = None
    outputs: str | None = None
    params: str | None = None


@dataclass(frozen=True, slots=True)
class ModelFile:
    """One file of a registered version: path relative to the storage location, size, SHA-256."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelVersion:
    """One version of a registered model."""

    name: str
    version: int
    creation_timestamp: int
    last_updated_timestamp: int
    user_id: str | None = None
    current_stage: str = ModelStage.NONE
    description: str | None = None
    source: str = ""
    run_id: str | None = None
    run_link: str | None = None
    status: str = ModelVersionStatus.READY
    status_message: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    storage_location: str = ""
    """The artifact URI that holds the files (the source, resolved)."""
    signature: SignatureMetadata | None = None
    input_example_path: str | None = None
    """Relative to storage_location."""
    file_count: int = 0
    content_digest: str | None = None
    """SHA-256 (hex) over the file manifest recorded at registration."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisteredModel:
    """A registered model, with its tags, aliases (alias -> version) and latest versions."""

    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    user_id: str | None = None
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    latest_versions: list[ModelVersion] = field(default_factory=list)
    """The highest non-deleted version in each stage that has one."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistryEvent:
    """One committed change to the registry (also a history entry)."""

    event_id: int
    kind: RegistryEventKind
    time: int
    user_id: str | None
    model_name: str
    """The model's name when the event happened (the old name for MODEL_RENAMED)."""
    version: int | None = None
    from_stage: str | None = None
    to_stage: str | None = None
    alias: str | None = None
    previous_version: int | None = None
    new_model_name: str | None = None
    user_verified: bool = False
    """False until modelyard authenticates users: user_id is what the client reported."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelVersionLineage:
    """Where a version came from: its run, the run's experiment and parents (nearest first)."""

    model_version: ModelVersion
    run: Run | None = None
    experiment: Experiment | None = None
    parent_runs: list[Run] = field(default_factory=list)
    copied_from: ModelVersion | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceInspection:
    """What registration found at a version's storage location."""

    files: list[ModelFile]
    signature: SignatureMetadata | None = None
    input_example_path: str | None = None
