from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class ErrorReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERROR_REASON_UNSPECIFIED: _ClassVar[ErrorReason]
    INTERNAL: _ClassVar[ErrorReason]
    INVALID_ARGUMENT: _ClassVar[ErrorReason]
    INVALID_FILTER: _ClassVar[ErrorReason]
    INVALID_PAGE_TOKEN: _ClassVar[ErrorReason]
    PARAM_ALREADY_LOGGED: _ClassVar[ErrorReason]
    NOT_FOUND: _ClassVar[ErrorReason]
    EXPERIMENT_NOT_FOUND: _ClassVar[ErrorReason]
    RUN_NOT_FOUND: _ClassVar[ErrorReason]
    TAG_NOT_FOUND: _ClassVar[ErrorReason]
    ALREADY_EXISTS: _ClassVar[ErrorReason]
    EXPERIMENT_ALREADY_EXISTS: _ClassVar[ErrorReason]
    FAILED_PRECONDITION: _ClassVar[ErrorReason]
    RUN_NOT_ACTIVE: _ClassVar[ErrorReason]
    EXPERIMENT_NOT_ACTIVE: _ClassVar[ErrorReason]
    PERMISSION_DENIED: _ClassVar[ErrorReason]
    UNAUTHENTICATED: _ClassVar[ErrorReason]
    RESOURCE_EXHAUSTED: _ClassVar[ErrorReason]
    UNIMPLEMENTED: _ClassVar[ErrorReason]
    UNAVAILABLE: _ClassVar[ErrorReason]
    ABORTED: _ClassVar[ErrorReason]
    SCHEMA_OUTDATED: _ClassVar[ErrorReason]
    REGISTERED_MODEL_NOT_FOUND: _ClassVar[ErrorReason]
    MODEL_VERSION_NOT_FOUND: _ClassVar[ErrorReason]
    ALIAS_NOT_FOUND: _ClassVar[ErrorReason]
    REGISTERED_MODEL_ALREADY_EXISTS: _ClassVar[ErrorReason]
    REGISTRATION_FAILED: _ClassVar[ErrorReason]
    ARTIFACT_PROTECTED: _ClassVar[ErrorReason]
    MODEL_INTEGRITY: _ClassVar[ErrorReason]

class ViewType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VIEW_TYPE_UNSPECIFIED: _ClassVar[ViewType]
    VIEW_TYPE_ACTIVE_ONLY: _ClassVar[ViewType]
    VIEW_TYPE_DELETED_ONLY: _ClassVar[ViewType]
    VIEW_TYPE_ALL: _ClassVar[ViewType]

class LifecycleStage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LIFECYCLE_STAGE_UNSPECIFIED: _ClassVar[LifecycleStage]
    LIFECYCLE_STAGE_ACTIVE: _ClassVar[LifecycleStage]
    LIFECYCLE_STAGE_DELETED: _ClassVar[LifecycleStage]
ERROR_REASON_UNSPECIFIED: ErrorReason
INTERNAL: ErrorReason
INVALID_ARGUMENT: ErrorReason
INVALID_FILTER: ErrorReason
INVALID_PAGE_TOKEN: ErrorReason
PARAM_ALREADY_LOGGED: ErrorReason
NOT_FOUND: ErrorReason
EXPERIMENT_NOT_FOUND: ErrorReason
RUN_NOT_FOUND: ErrorReason
TAG_NOT_FOUND: ErrorReason
ALREADY_EXISTS: ErrorReason
EXPERIMENT_ALREADY_EXISTS: ErrorReason
FAILED_PRECONDITION: ErrorReason
RUN_NOT_ACTIVE: ErrorReason
EXPERIMENT_NOT_ACTIVE: ErrorReason
PERMISSION_DENIED: ErrorReason
UNAUTHENTICATED: ErrorReason
RESOURCE_EXHAUSTED: ErrorReason
UNIMPLEMENTED: ErrorReason
UNAVAILABLE: ErrorReason
ABORTED: ErrorReason
SCHEMA_OUTDATED: ErrorReason
REGISTERED_MODEL_NOT_FOUND: ErrorReason
MODEL_VERSION_NOT_FOUND: ErrorReason
ALIAS_NOT_FOUND: ErrorReason
REGISTERED_MODEL_ALREADY_EXISTS: ErrorReason
REGISTRATION_FAILED: ErrorReason
ARTIFACT_PROTECTED: ErrorReason
MODEL_INTEGRITY: ErrorReason
VIEW_TYPE_UNSPECIFIED: ViewType
VIEW_TYPE_ACTIVE_ONLY: ViewType
VIEW_TYPE_DELETED_ONLY: ViewType
VIEW_TYPE_ALL: ViewType
LIFECYCLE_STAGE_UNSPECIFIED: LifecycleStage
LIFECYCLE_STAGE_ACTIVE: LifecycleStage
LIFECYCLE_STAGE_DELETED: LifecycleStage
