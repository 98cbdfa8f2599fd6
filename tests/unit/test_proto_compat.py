"""proto/compat.py: what counts as a breaking change to the modelyard.v1 contract."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from typing import Any

import pytest
from google.protobuf import descriptor_pb2

from tests.conftest import REPO_ROOT

_spec = importlib.util.spec_from_file_location("proto_compat", REPO_ROOT / "proto" / "compat.py")
assert _spec and _spec.loader
compat = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compat)

F = descriptor_pb2.FieldDescriptorProto


def contract(
    fields: list[tuple[str, int, int]],
    *,
    reserved: tuple[list[int], list[str]] = ([], []),
    values: dict[str, int] | None = None,
    methods: dict[str, tuple[str, str, bool]] | None = None,
) -> dict[str, Any]:
    """The shape of a one-file contract: message Run, enum Status, service Tracking."""
    files = descriptor_pb2.FileDescriptorSet()
    file = files.file.add(name="t.proto", package="modelyard.v1", syntax="proto3")
    message = file.message_type.add(name="Run")
    for name, number, kind in fields:
        message.field.add(
            name=name, number=number, type=kind, label=F.LABEL_OPTIONAL, json_name=name
        )
    for number in reserved[0]:
        message.reserved_range.add(start=number, end=number + 1)
    message.reserved_name.extend(reserved[1])
    enum = file.enum_type.add(name="Status")
    for name, number in (values or {"STATUS_UNSPECIFIED": 0, "RUNNING": 1}).items():
        enum.value.add(name=name, number=number)
    service = file.service.add(name="Tracking")
    for name, (request, response, streaming) in (
        methods or {"GetRun": (".modelyard.v1.Run", ".modelyard.v1.Run", False)}
    ).items():
        service.method.add(
            name=name, input_type=request, output_type=response, server_streaming=streaming
        )
    return compat.shape(files)


BASE = [("run_id", 1, F.TYPE_STRING), ("start_time", 2, F.TYPE_INT64)]


def test_adding_fields_values_and_methods_is_compatible() -> None:
    old = contract(BASE)
    new = contract(
        [*BASE, ("end_time", 3, F.TYPE_INT64)],
        values={"STATUS_UNSPECIFIED": 0, "RUNNING": 1, "FINISHED": 2},
        methods={
            "GetRun": (".modelyard.v1.Run", ".modelyard.v1.Run", False),
            "WatchRun": (".modelyard.v1.Run", ".modelyard.v1.Run", True),
        },
    )
    assert compat.breaking_changes(old, new) == []


def test_removing_a_field_needs_its_number_and_name_reserved() -> None:
    old = contract(BASE)
    assert compat.breaking_changes(old, contract(BASE[:1])) == [
        ".modelyard.v1.Run.start_time removed without reserving number 2 and 'start_time'"
    ]
    half = contract(BASE[:1], reserved=([2], []))
    assert len(compat.breaking_changes(old, half)) == 1
    reserved = contract(BASE[:1], reserved=([2], ["start_time"]))
    assert compat.breaking_changes(old, reserved) == []


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ([("run_id", 1, F.TYPE_STRING), ("start_time", 2, F.TYPE_INT32)], "changed"),
        ([("run_id", 1, F.TYPE_STRING), ("start_time", 3, F.TYPE_INT64)], "changed"),
        ([("run_id", 1, F.TYPE_STRING), ("started_at", 2, F.TYPE_INT64)], "renamed"),
    ],
)
def test_retyping_renumbering_or_renaming_a_field_breaks(
    fields: list[tuple[str, int, int]], expected: str
) -> None:
    (problem,) = compat.breaking_changes(contract(BASE), contract(fields))
    assert expected in problem and ".modelyard.v1.Run." in problem


def test_a_new_field_may_not_take_a_reserved_number_or_name() -> None:
    old = contract(BASE, reserved=([5], ["user"]))
    for field in (("owner", 5, F.TYPE_STRING), ("user", 6, F.TYPE_STRING)):
        new = contract([*BASE, field], reserved=([5], ["user"]))
        (problem,) = compat.breaking_changes(old, new)
        assert "reuses reserved" in problem


def test_enum_values_and_methods_are_held_to_the_same_rules() -> None:
    old = contract(BASE)
    renumbered = contract(BASE, values={"STATUS_UNSPECIFIED": 0, "RUNNING": 2})
    assert compat.breaking_changes(old, renumbered) == [
        ".modelyard.v1.Status.RUNNING changed: 1 -> 2"
    ]
    streaming = contract(BASE, methods={"GetRun": (".modelyard.v1.Run", ".modelyard.v1.Run", True)})
    (problem,) = compat.breaking_changes(old, streaming)
    assert problem.startswith("method .modelyard.v1.Tracking.GetRun changed")
    gone = contract(BASE, methods={"Other": (".modelyard.v1.Run", ".modelyard.v1.Run", False)})
    assert compat.breaking_changes(old, gone) == ["method .modelyard.v1.Tracking.GetRun removed"]


def test_the_committed_lock_is_the_shape_of_the_committed_protos() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "proto" / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lock = json.loads((REPO_ROOT / "proto" / "modelyard" / "v1" / "contract.lock.json").read_text())
    run = lock["messages"][".modelyard.v1.Run"]["fields"]
    assert run["info"] == {"json": "info", "number": 1, "type": ".modelyard.v1.RunInfo"}
