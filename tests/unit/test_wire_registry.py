"""Round trips of the registry messages through the wire converters, and enum coverage."""

from __future__ import annotations

import pytest

from modelyard.entities import (
    Experiment,
    LifecycleStage,
    Metric,
    Run,
    RunData,
    RunInfo,
    RunStatus,
)
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
from modelyard.wire import registry as wire


def _version(**changes: object) -> ModelVersion:
    fields: dict[str, object] = {
        "name": "churn",
        "version": 3,
        "creation_timestamp": 1_700_000_000_000,
        "last_updated_timestamp": 1_700_000_000_500,
        "user_id": "ana",
        "current_stage": ModelStage.PRODUCTION,
        "description": "the best",
        "source": "runs:/abc/model",
        "run_id": "a" * 32,
        "run_link": "http://ci/1",
        "status": ModelVersionStatus.READY,
        "status_message": "ok",
        "tags": {"k": "v"},
        "aliases": ["champion", "prod"],
        "storage_location": "modelyard-artifacts:/1/abc/artifacts/model",
        "signature": SignatureMetadata(inputs='[{"type": "double"}]', outputs=None, params="[]"),
        "input_example_path": "input_example.json",
        "file_count": 4,
        "content_digest": "f" * 64,
    }
    fields.update(changes)
    return ModelVersion(**fields)  # type: ignore[arg-type]


def _run(run_id: str) -> Run:
    info = RunInfo(
        run_id=run_id,
        experiment_id="1",
        run_name="r",
        user_id="ana",
        status=RunStatus.FINISHED,
        start_time=1,
        end_time=2,
        artifact_uri="modelyard-artifacts:/1/r/artifacts",
        lifecycle_stage=LifecycleStage.ACTIVE,
    )
    data = RunData(
        metric_list=(Metric(key="acc", value=0.9, timestamp=1, step=0),),
        params={"alpha": "0.1"},
        tags={"mlflow.source.git.commit": "abc"},
    )
    return Run(info=info, data=data)


def test_model_version_round_trip() -> None:
    for version in (
        _version(),
        _version(
            user_id=None,
            description=None,
            run_id=None,
            run_link=None,
            status_message=None,
            signature=None,
            input_example_path=None,
            content_digest=None,
            current_stage=ModelStage.NONE,
            status=ModelVersionStatus.FAILED_REGISTRATION,
            aliases=[],
            tags={},
        ),
    ):
        assert wire.model_version_from_pb(wire.model_version_to_pb(version)) == version


def test_signature_presence_survives_the_wire() -> None:
    absent = wire.model_version_to_pb(_version(signature=None))
    assert not absent.HasField("signature")
    empty = wire.model_version_to_pb(_version(signature=SignatureMetadata()))
    assert empty.HasField("signature")
    assert wire.model_version_from_pb(empty).signature == SignatureMetadata()


def test_registered_model_round_trip() -> None:
    model = RegisteredModel(
        name="churn",
        creation_timestamp=1,
        last_updated_timestamp=2,
        user_id="ana",
        description="d",
        tags={"team": "risk"},
        aliases={"champion": 3},
        latest_versions=[_version(), _version(version=4, current_stage=ModelStage.STAGING)],
    )
    assert wire.registered_model_from_pb(wire.registered_model_to_pb(model)) == model


def test_event_round_trip_every_kind() -> None:
    for number, kind in enumerate(RegistryEventKind, start=1):
        event = RegistryEvent(
            event_id=number,
            kind=kind,
            time=10,
            user_id="ana",
            model_name="churn",
            version=2,
            from_stage=ModelStage.STAGING,
            to_stage=ModelStage.PRODUCTION,
            alias="champion",
            previous_version=1,
            new_model_name="churn2",
        )
        message = wire.registry_event_to_pb(event)
        assert message.kind == event_kind_number(kind)
        assert pb.RegistryEventKind.Name(message.kind) == f"REGISTRY_EVENT_KIND_{kind.name}"
        assert wire.registry_event_from_pb(message) == event
    bare = RegistryEvent(
        event_id=1, kind=RegistryEventKind.MODEL_CREATED, time=1, user_id=None, model_name="m"
    )
    assert wire.registry_event_from_pb(wire.registry_event_to_pb(bare)) == bare


def test_lineage_round_trip() -> None:
    lineage = ModelVersionLineage(
        model_version=_version(),
        run=_run("a" * 32),
        experiment=Experiment(
            experiment_id="1",
            name="e",
            artifact_location="modelyard-artifacts:/1",
            lifecycle_stage=LifecycleStage.ACTIVE,
            tags={},
            creation_time=1,
            last_update_time=2,
        ),
        parent_runs=[_run("b" * 32), _run("c" * 32)],
        copied_from=_version(version=1),
    )
    assert wire.lineage_from_pb(wire.lineage_to_pb(lineage)) == lineage
    alone = ModelVersionLineage(model_version=_version(run_id=None))
    assert wire.lineage_from_pb(wire.lineage_to_pb(alone)) == alone


def test_files_round_trip() -> None:
    file = ModelFile(path="sub/model.skops", size=12, sha256="0" * 64)
    assert wire.model_file_from_pb(wire.model_file_to_pb(file)) == file


def test_enums_map_by_name_both_ways() -> None:
    for stage in ModelStage:
        number = wire.stage_to_pb(stage)
        assert pb.ModelStage.Name(number) == f"MODEL_STAGE_{stage.name}"
        assert wire.stage_from_pb(number) is stage
    assert wire.stage_to_pb("production") == pb.MODEL_STAGE_PRODUCTION
    for status in ModelVersionStatus:
        assert wire.status_from_pb(wire.status_to_pb(status)) is status


@pytest.mark.parametrize(
    ("convert", "value", "shown"),
    [
        (wire.stage_from_pb, pb.MODEL_STAGE_UNSPECIFIED, "MODEL_STAGE_UNSPECIFIED"),
        (wire.stage_from_pb, 99, "99"),
        (wire.stage_to_pb, "Prod", "Prod"),
        (wire.status_from_pb, 0, "MODEL_VERSION_STATUS_UNSPECIFIED"),
        (wire.status_to_pb, "DONE", "DONE"),
        (wire.event_kind_from_pb, 0, "REGISTRY_EVENT_KIND_UNSPECIFIED"),
        (wire.event_kind_from_pb, 42, "42"),
        (wire.event_kind_to_pb, "NOPE", "NOPE"),
    ],
)
def test_unknown_enum_values_are_invalid_and_named(convert, value, shown) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidArgument) as info:
        convert(value)
    assert shown in info.value.message
