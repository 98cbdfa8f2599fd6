"""Parsing of what users type for versions and stages (pure logic)."""

from __future__ import annotations

import pytest

from modelyard.entities.model_registry import (
    MAX_MODEL_VERSION,
    ModelStage,
    RegistryEventKind,
    event_kind_from_number,
    event_kind_number,
    parse_model_version,
)
from modelyard.errors import Code, InvalidArgument


@pytest.mark.parametrize(
    ("given", "expected"), [(1, 1), ("3", 3), (" 12 ", 12), (MAX_MODEL_VERSION, MAX_MODEL_VERSION)]
)
def test_versions_accept_ints_and_digit_strings(given: object, expected: int) -> None:
    assert parse_model_version(given) == expected


@pytest.mark.parametrize(
    "given",
    ["abc", "v3", "latest", "", "1.5", 1.0, 0, -1, "-1", True, None, "٣", MAX_MODEL_VERSION + 1],
)
def test_versions_reject_everything_else_naming_it(given: object) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_model_version(given)
    assert info.value.code == Code.INVALID_ARGUMENT
    assert repr(given) in str(info.value)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("production", ModelStage.PRODUCTION),
        ("Staging", ModelStage.STAGING),
        ("NONE", ModelStage.NONE),
        (" archived ", ModelStage.ARCHIVED),
        (ModelStage.STAGING, ModelStage.STAGING),
    ],
)
def test_stages_are_case_insensitive(given: object, expected: ModelStage) -> None:
    assert ModelStage.parse(given) == expected
    assert ModelStage.parse(given) == expected.value  # compares equal to MLflow's strings


@pytest.mark.parametrize("given", ["Prod", "", None, "Deleted_Internal"])
def test_unknown_stage_names_the_value_and_the_choices(given: object) -> None:
    with pytest.raises(InvalidArgument) as info:
        ModelStage.parse(given)
    message = str(info.value)
    assert repr(given) in message or "empty" in message
    if given:
        assert "None, Staging, Production, Archived" in message


def test_event_kind_numbers_round_trip_and_match_the_wire_enum() -> None:
    from modelyard.v1 import registry_pb2

    for kind in RegistryEventKind:
        number = event_kind_number(kind)
        assert event_kind_from_number(number) is kind
        assert registry_pb2.RegistryEventKind.Value(f"REGISTRY_EVENT_KIND_{kind.name}") == number
