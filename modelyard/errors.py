"""The one exception hierarchy of modelyard; each class is bound to one gRPC status code.

The core never imports grpc: `Code` carries the canonical status numbers, and
`modelyard.wire.status` is the only place that maps these classes to and from the wire.
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar


class Code(IntEnum):
    """Canonical gRPC status codes (same numbers as grpc.StatusCode)."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


class ModelyardError(Exception):
    """Base of every error modelyard raises on purpose.

    `reason` is stable and travels on the wire; `details` names the offending values.
    """

    code: ClassVar[Code] = Code.INTERNAL
    reason: ClassVar[str] = "INTERNAL"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, str] = {k: str(v) for k, v in details.items()}

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), self.message, self.details))


def _rebuild(cls: type[ModelyardError], message: str, details: dict[str, str]) -> ModelyardError:
    return cls(message, **details)


class InvalidArgument(ModelyardError):
    """Malformed input: a bad key, value, id, limit or filter."""

    code = Code.INVALID_ARGUMENT
    reason = "INVALID_ARGUMENT"


class InvalidFilter(InvalidArgument):
    """A search filter or order_by that does not parse or does not type-check."""

    reason = "INVALID_FILTER"


class InvalidPageToken(InvalidArgument):
    """A page token that was tampered with or belongs to another query."""

    reason = "INVALID_PAGE_TOKEN"


class ParamAlreadyLogged(InvalidArgument):
    """A param was logged again with a different value (params are immutable)."""

    reason = "PARAM_ALREADY_LOGGED"


class NotFound(ModelyardError):
    """An id or name that does not exist."""

    code = Code.NOT_FOUND
    reason = "NOT_FOUND"


class ExperimentNotFound(NotFound):
    """No experiment with that id or name."""

    reason = "EXPERIMENT_NOT_FOUND"


class RunNotFound(NotFound):
    """No run with that id."""

    reason = "RUN_NOT_FOUND"


class TagNotFound(NotFound):
    """No tag with that key."""

    reason = "TAG_NOT_FOUND"


class RegisteredModelNotFound(NotFound):
    """No registered model with this name."""

    reason = "REGISTERED_MODEL_NOT_FOUND"


class ModelVersionNotFound(NotFound):
    """No such version of the model, or it was deleted."""

    reason = "MODEL_VERSION_NOT_FOUND"


class AliasNotFound(NotFound):
    """The model has no such alias (MLflow says INVALID_PARAMETER_VALUE; a missing thing is 404)."""

    reason = "ALIAS_NOT_FOUND"


class AlreadyExists(ModelyardError):
    """A name that is already taken."""

    code = Code.ALREADY_EXISTS
    reason = "ALREADY_EXISTS"


class ExperimentAlreadyExists(AlreadyExists):
    """An experiment with that name exists (possibly soft-deleted)."""

    reason = "EXPERIMENT_ALREADY_EXISTS"


class RegisteredModelAlreadyExists(AlreadyExists):
    """A registered model with this name exists."""

    reason = "REGISTERED_MODEL_ALREADY_EXISTS"


class FailedPrecondition(ModelyardError):
    """The target is in a state that does not allow the operation."""

    code = Code.FAILED_PRECONDITION
    reason = "FAILED_PRECONDITION"


class RunNotActive(FailedPrecondition):
    """Writing to a run that is soft-deleted."""

    reason = "RUN_NOT_ACTIVE"


class ExperimentNotActive(FailedPrecondition):
    """Writing to, or under, an experiment that is soft-deleted."""

    reason = "EXPERIMENT_NOT_ACTIVE"


class SchemaOutdated(FailedPrecondition):
    """The database schema is older (or newer) than this version of modelyard expects."""

    reason = "SCHEMA_OUTDATED"


class RegistrationFailed(FailedPrecondition):
    """The source does not exist or cannot be read; the version stays FAILED_REGISTRATION."""

    reason = "REGISTRATION_FAILED"


class ArtifactProtected(FailedPrecondition):
    """The artifact backs a registered model version and cannot be overwritten or deleted."""

    reason = "ARTIFACT_PROTECTED"


class ModelIntegrityError(FailedPrecondition):
    """A model's files differ from the hashes recorded when its version was registered."""

    reason = "MODEL_INTEGRITY"


class Aborted(ModelyardError):
    """A concurrency conflict; the operation may be retried."""

    code = Code.ABORTED
    reason = "ABORTED"


class PermissionDenied(ModelyardError):
    """The operation is not allowed (for example a location outside the allowed roots)."""

    code = Code.PERMISSION_DENIED
    reason = "PERMISSION_DENIED"


class Unauthenticated(ModelyardError):
    """Missing or invalid credentials."""

    code = Code.UNAUTHENTICATED
    reason = "UNAUTHENTICATED"


class ResourceExhausted(ModelyardError):
    """A limit was reached; retry later or with less."""

    code = Code.RESOURCE_EXHAUSTED
    reason = "RESOURCE_EXHAUSTED"


class Unimplemented(ModelyardError):
    """The server's mode does not offer this service."""

    code = Code.UNIMPLEMENTED
    reason = "UNIMPLEMENTED"


class Unavailable(ModelyardError):
    """A backend (database, bucket, server) cannot be reached; retryable."""

    code = Code.UNAVAILABLE
    reason = "UNAVAILABLE"


def _all_subclasses(cls: type[ModelyardError]) -> list[type[ModelyardError]]:
    out: list[type[ModelyardError]] = [cls]
    for sub in cls.__subclasses__():
        out.extend(_all_subclasses(sub))
    return out


#: Closed table reason -> class, used by the client to rebuild errors from the wire.
ERRORS_BY_REASON: dict[str, type[ModelyardError]] = {
    c.reason: c for c in _all_subclasses(ModelyardError)
}

#: The most general class for each code, the fallback when a reason is unknown.
ERRORS_BY_CODE: dict[Code, type[ModelyardError]] = {
    Code.INVALID_ARGUMENT: InvalidArgument,
    Code.NOT_FOUND: NotFound,
    Code.ALREADY_EXISTS: AlreadyExists,
    Code.FAILED_PRECONDITION: FailedPrecondition,
    Code.ABORTED: Aborted,
    Code.PERMISSION_DENIED: PermissionDenied,
    Code.UNAUTHENTICATED: Unauthenticated,
    Code.RESOURCE_EXHAUSTED: ResourceExhausted,
    Code.UNIMPLEMENTED: Unimplemented,
    Code.UNAVAILABLE: Unavailable,
    Code.INTERNAL: ModelyardError,
}

# MLflow's name for the base class, so `except mlflow.MlflowException` keeps working.
MlflowException = ModelyardError
