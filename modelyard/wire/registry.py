"""Pure converters between the model-registry entities and the `modelyard.v1` messages.

Enums map by name (`ModelStage.PRODUCTION` <-> `MODEL_STAGE_PRODUCTION`); proto3's empty
strings and zeros are None on the domain side. A value the other side does not know is
`InvalidArgument` naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from modelyard.entities.model_registry import (
    ModelFile,
    ModelStage,
    ModelVersion,
    ModelVersionLineage,
    ModelVersionStatus,
    RegisteredModel,
    RegistryEvent,
    RegistryEventKind,
    SignatureMetadata,
    event_kind_number,
)
from modelyard.errors import InvalidArgument
from modelyard.v1 import registry_pb2 as pb
from modelyard.wire.tracking import (
    enum_from_pb,
    experiment_from_pb,
    experiment_to_pb,
    optional_str,
    run_from_pb,
    run_to_pb,
)

# -- enums -------------------------------------------------------------------------------

#: ModelStage -> proto ModelStage (by name).
STAGE_TO_PB: Mapping[ModelStage, int] = MappingProxyType(
    {stage: pb.ModelStage.Value(f"MODEL_STAGE_{stage.name}") for stage in ModelStage}
)
#: proto ModelStage -> ModelStage (UNSPECIFIED is refused).
STAGE_FROM_PB: Mapping[int, ModelStage] = MappingProxyType(
    {number: stage for stage, number in STAGE_TO_PB.items()}
)
#: ModelVersionStatus -> proto ModelVersionStatus (by name).
STATUS_TO_PB: Mapping[ModelVersionStatus, int] = MappingProxyType(
    {
        status: pb.ModelVersionStatus.Value(f"MODEL_VERSION_STATUS_{status.name}")
        for status in ModelVersionStatus
    }
)
#: proto ModelVersionStatus -> ModelVersionStatus (UNSPECIFIED is refused).
STATUS_FROM_PB: Mapping[int, ModelVersionStatus] = MappingProxyType(
    {number: status for status, number in STATUS_TO_PB.items()}
)
#: proto RegistryEventKind -> RegistryEventKind (the database's stable numbers).
_EVENT_KIND_FROM_PB: Mapping[int, RegistryEventKind] = MappingProxyType(
    {event_kind_number(kind): kind for kind in RegistryEventKind}
)
_STAGES_BY_LOWER = {stage.value.lower(): stage for stage in ModelStage}


def stage_to_pb(stage: ModelStage | str) -> int:
    """A stage (or its MLflow string, any case) as the proto enum number."""
    found = _STAGES_BY_LOWER.get(str(stage).lower()) if isinstance(stage, str) else None
    if found is None:
        raise InvalidArgument(
            f"unknown model version stage {stage!r} (one of None, Staging, Production, Archived)",
            stage=stage,
        )
    return STAGE_TO_PB[found]


def stage_from_pb(value: int) -> ModelStage:
    """The ModelStage of a proto enum number; UNSPECIFIED or unknown is InvalidArgument."""
    return enum_from_pb(STAGE_FROM_PB, value, "model stage", pb.ModelStage, key="stage")


def optional_stage_to_pb(stage: str | None) -> int:
    """A stage or None (UNSPECIFIED)."""
    return pb.MODEL_STAGE_UNSPECIFIED if stage is None else stage_to_pb(stage)


def optional_stage_from_pb(value: int) -> ModelStage | None:
    """UNSPECIFIED as None, else the stage."""
    return None if value == pb.MODEL_STAGE_UNSPECIFIED else stage_from_pb(value)


def status_to_pb(status: ModelVersionStatus | str) -> int:
    """A version status (or its string) as the proto enum number."""
    try:
        return STATUS_TO_PB[ModelVersionStatus(status)]
    except ValueError:
        raise InvalidArgument(f"unknown model version status {status!r}", status=status) from None


def status_from_pb(value: int) -> ModelVersionStatus:
    """The status of a proto enum number; UNSPECIFIED or unknown is InvalidArgument."""
    return enum_from_pb(
        STATUS_FROM_PB, value, "model version status", pb.ModelVersionStatus, key="status"
    )


def event_kind_to_pb(kind: RegistryEventKind | str) -> int:
    """An event kind as the proto enum number (the same stable number as the database's)."""
    try:
        return event_kind_number(RegistryEventKind(kind))
    except ValueError:
        raise InvalidArgument(f"unknown registry event kind {kind!r}", kind=kind) from None


def event_kind_from_pb(value: int) -> RegistryEventKind:
    """The event kind of a proto enum number; UNSPECIFIED or unknown is InvalidArgument."""
    return enum_from_pb(
        _EVENT_KIND_FROM_PB, value, "registry event kind", pb.RegistryEventKind, key="kind"
    )


# -- signature, files --------------------------------------------------------------------


def signature_to_pb(signature: SignatureMetadata) -> pb.ModelSignature:
    """Signature metadata as a message (absent parts are empty strings)."""
    return pb.ModelSignature(
        inputs=signature.inputs or "",
        outputs=signature.outputs or "",
        params=signature.params or "",
    )


def signature_from_pb(message: pb.ModelSignature) -> SignatureMetadata:
    """Signature metadata from a message (empty parts are None)."""
    return SignatureMetadata(
        inputs=optional_str(message.inputs),
        outputs=optional_str(message.outputs),
        params=optional_str(message.params),
    )


def model_file_to_pb(file: ModelFile) -> pb.ModelFile:
    """A recorded file as a message."""
    return pb.ModelFile(path=file.path, size=file.size, sha256=file.sha256)


def model_file_from_pb(message: pb.ModelFile) -> ModelFile:
    """A recorded file from a message."""
    return ModelFile(path=message.path, size=message.size, sha256=message.sha256)


# -- versions and models -----------------------------------------------------------------


def model_version_to_pb(version: ModelVersion) -> pb.ModelVersion:
    """A ModelVersion as a message."""
    message = pb.ModelVersion(
        name=version.name,
        version=version.version,
        creation_time=version.creation_timestamp,
        last_update_time=version.last_updated_timestamp,
        user_id=version.user_id or "",
        current_stage=stage_to_pb(version.current_stage),
        description=version.description or "",
        source=version.source,
        run_id=version.run_id or "",
        run_link=version.run_link or "",
        status=status_to_pb(version.status),
        status_message=version.status_message or "",
        tags=version.tags,
        aliases=version.aliases,
        storage_location=version.storage_location,
        input_example_path=version.input_example_path or "",
        file_count=version.file_count,
        content_digest=version.content_digest or "",
    )
    if version.signature is not None:
        message.signature.CopyFrom(signature_to_pb(version.signature))
    return message


def model_version_from_pb(message: pb.ModelVersion) -> ModelVersion:
    """A ModelVersion from a message."""
    return ModelVersion(
        name=message.name,
        version=message.version,
        creation_timestamp=message.creation_time,
        last_updated_timestamp=message.last_update_time,
        user_id=optional_str(message.user_id),
        current_stage=stage_from_pb(message.current_stage),
        description=optional_str(message.description),
        source=message.source,
        run_id=optional_str(message.run_id),
        run_link=optional_str(message.run_link),
        status=status_from_pb(message.status),
        status_message=optional_str(message.status_message),
        tags=dict(message.tags),
        aliases=list(message.aliases),
        storage_location=message.storage_location,
        signature=signature_from_pb(message.signature) if message.HasField("signature") else None,
        input_example_path=optional_str(message.input_example_path),
        file_count=message.file_count,
        content_digest=optional_str(message.content_digest),
    )


def registered_model_to_pb(model: RegisteredModel) -> pb.RegisteredModel:
    """A RegisteredModel as a message."""
    return pb.RegisteredModel(
        name=model.name,
        creation_time=model.creation_timestamp,
        last_update_time=model.last_updated_timestamp,
        user_id=model.user_id or "",
        description=model.description or "",
        tags=model.tags,
        aliases=model.aliases,
        latest_versions=[model_version_to_pb(v) for v in model.latest_versions],
    )


def registered_model_from_pb(message: pb.RegisteredModel) -> RegisteredModel:
    """A RegisteredModel from a message."""
    return RegisteredModel(
        name=message.name,
        creation_timestamp=message.creation_time,
        last_updated_timestamp=message.last_update_time,
        user_id=optional_str(message.user_id),
        description=optional_str(message.description),
        tags=dict(message.tags),
        aliases=dict(message.aliases),
        latest_versions=[model_version_from_pb(v) for v in message.latest_versions],
    )


# -- events, lineage ---------------------------------------------------------------------


def registry_event_to_pb(event: RegistryEvent) -> pb.RegistryEvent:
    """A RegistryEvent as a message (absent fields are zero/empty/UNSPECIFIED)."""
    return pb.RegistryEvent(
        event_id=event.event_id,
        kind=event_kind_to_pb(event.kind),
        time=event.time,
        user_id=event.user_id or "",
        user_verified=event.user_verified,
        model_name=event.model_name,
        version=event.version or 0,
        from_stage=optional_stage_to_pb(event.from_stage),
        to_stage=optional_stage_to_pb(event.to_stage),
        alias=event.alias or "",
        previous_version=event.previous_version or 0,
        new_model_name=event.new_model_name or "",
    )


def registry_event_from_pb(message: pb.RegistryEvent) -> RegistryEvent:
    """A RegistryEvent from a message."""
    return RegistryEvent(
        event_id=message.event_id,
        kind=event_kind_from_pb(message.kind),
        time=message.time,
        user_id=optional_str(message.user_id),
        model_name=message.model_name,
        version=message.version or None,
        from_stage=optional_stage_from_pb(message.from_stage),
        to_stage=optional_stage_from_pb(message.to_stage),
        alias=optional_str(message.alias),
        previous_version=message.previous_version or None,
        new_model_name=optional_str(message.new_model_name),
        user_verified=message.user_verified,
    )


def lineage_to_pb(lineage: ModelVersionLineage) -> pb.GetModelVersionLineageResponse:
    """A version's lineage as the GetModelVersionLineage response."""
    message = pb.GetModelVersionLineageResponse(
        model_version=model_version_to_pb(lineage.model_version),
        parent_runs=[run_to_pb(r) for r in lineage.parent_runs],
    )
    if lineage.run is not None:
        message.run.CopyFrom(run_to_pb(lineage.run))
    if lineage.experiment is not None:
        message.experiment.CopyFrom(experiment_to_pb(lineage.experiment))
    if lineage.copied_from is not None:
        message.copied_from.CopyFrom(model_version_to_pb(lineage.copied_from))
    return message


def lineage_from_pb(message: pb.GetModelVersionLineageResponse) -> ModelVersionLineage:
    """A version's lineage from the GetModelVersionLineage response."""
    return ModelVersionLineage(
        model_version=model_version_from_pb(message.model_version),
        run=run_from_pb(message.run) if message.HasField("run") else None,
        experiment=(
            experiment_from_pb(message.experiment) if message.HasField("experiment") else None
        ),
        parent_runs=[run_from_pb(r) for r in message.parent_runs],
        copied_from=(
            model_version_from_pb(message.copied_from) if message.HasField("copied_from") else None
        ),
    )
