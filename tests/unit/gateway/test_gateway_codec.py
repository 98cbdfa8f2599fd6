"""The gateway's generated JSON encoders give exactly `json_format.MessageToDict`, for every
message type of modelyard.v1 and for a test type using every feature of the JSON mapping;
`parse_request` refuses bad bodies with INVALID_ARGUMENT naming what is wrong.

Messages are filled by a seeded, deterministic filler (the same values on every run) that
covers each scalar type's edges: int64 beyond 2**53 and negative, enums including numbers the
enum does not name, bytes with every value, NaN and the infinities, float32 rounding, maps
(string, integer and bool keys; scalar, enum and message values), repeated messages, optional
fields set to their default (presence), oneofs and empty messages.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, struct_pb2, timestamp_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from modelyard.errors import InvalidArgument
from modelyard.gateway.codec import message_to_dict, message_to_json, parse_request
from modelyard.v1 import artifacts_pb2, common_pb2, registry_pb2, tracking_pb2

V1_MODULES = (tracking_pb2, registry_pb2, artifacts_pb2, common_pb2)
SEEDS = range(12)

INT64_EDGES = (0, 1, -1, 2**53 + 1, -(2**63), 2**63 - 1)
UINT64_EDGES = (0, 1, 2**53 + 1, 2**64 - 1)
INT32_EDGES = (0, 1, -1, 2**31 - 1, -(2**31))
UINT32_EDGES = (0, 1, 2**32 - 1)
DOUBLE_EDGES = (
    0.0,
    -0.0,
    1.5,
    -2.25,
    1e-320,
    1.7976931348623157e308,
    math.nan,
    math.inf,
    -math.inf,
)
FLOAT_EDGES = (0.0, 0.1, -0.9, 3.4e38, 1e-45, math.nan, math.inf, -math.inf)
STRINGS = (
    "",
    "a",
    "ünïcødé ✓",
    'quote " and \\ backslash',
    "\x00\x1f control",
    "\U0001d518 astral",
)


def v1_message_types() -> list[type[Message]]:
    """Every message class of modelyard.v1 (map entries excluded)."""
    found: dict[str, type[Message]] = {}

    def visit(descriptor: Descriptor) -> None:
        if descriptor.GetOptions().map_entry:
            return
        found[descriptor.full_name] = GetMessageClass(descriptor)
        for nested in descriptor.nested_types:
            visit(nested)

    for module in V1_MODULES:
        for descriptor in module.DESCRIPTOR.message_types_by_name.values():
            visit(descriptor)
    return [found[name] for name in sorted(found)]


def typed(type_name: str) -> dict[str, str]:
    """type_name=... for message and enum fields; nothing for scalars (it must stay unset)."""
    return {"type_name": type_name} if type_name else {}


def everything_type() -> type[Message]:
    """A test message using every feature of the JSON mapping (its own descriptor pool)."""
    pool = descriptor_pool.DescriptorPool()
    for wkt in (timestamp_pb2, struct_pb2):
        proto = descriptor_pb2.FileDescriptorProto()
        wkt.DESCRIPTOR.CopyToProto(proto)
        pool.Add(proto)
    f = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(
        name="modelyard_test_codec.proto",
        package="modelyard_test.codec",
        syntax="proto3",
        dependency=["google/protobuf/timestamp.proto", "google/protobuf/struct.proto"],
    )
    color = file.enum_type.add(name="Color")
    for number, name in enumerate(("COLOR_UNSPECIFIED", "COLOR_RED", "COLOR_BLUE")):
        color.value.add(name=name, number=number)
    inner = file.message_type.add(name="Inner")
    inner.field.add(name="label", number=1, type=f.TYPE_STRING, label=f.LABEL_OPTIONAL)
    inner.field.add(name="weight", number=2, type=f.TYPE_DOUBLE, label=f.LABEL_OPTIONAL)
    inner.field.add(
        name="child",
        number=3,
        type=f.TYPE_MESSAGE,
        type_name=".modelyard_test.codec.Inner",
        label=f.LABEL_OPTIONAL,
    )
    other = file.message_type.add(name="Other")
    other.field.add(name="code", number=1, type=f.TYPE_SINT64, label=f.LABEL_OPTIONAL)
    file.message_type.add(name="Empty")

    msg = file.message_type.add(name="Everything")
    scalars = [
        ("d", f.TYPE_DOUBLE),
        ("fl", f.TYPE_FLOAT),
        ("i32", f.TYPE_INT32),
        ("i64", f.TYPE_INT64),
        ("u32", f.TYPE_UINT32),
        ("u64", f.TYPE_UINT64),
        ("s32", f.TYPE_SINT32),
        ("s64", f.TYPE_SINT64),
        ("fx32", f.TYPE_FIXED32),
        ("fx64", f.TYPE_FIXED64),
        ("sfx32", f.TYPE_SFIXED32),
        ("sfx64", f.TYPE_SFIXED64),
        ("flag", f.TYPE_BOOL),
        ("text", f.TYPE_STRING),
        ("blob", f.TYPE_BYTES),
    ]
    for number, (name, kind) in enumerate(scalars, start=1):
        msg.field.add(name=name, number=number, type=kind, label=f.LABEL_OPTIONAL)
    # Field 2 is a float above; field numbers of map values (2) must not clash with it.
    msg.field.add(
        name="color",
        number=20,
        type=f.TYPE_ENUM,
        type_name=".modelyard_test.codec.Color",
        label=f.LABEL_OPTIONAL,
    )
    msg.field.add(
        name="inner",
        number=21,
        type=f.TYPE_MESSAGE,
        type_name=".modelyard_test.codec.Inner",
        label=f.LABEL_OPTIONAL,
    )
    msg.field.add(
        name="empty",
        number=22,
        type=f.TYPE_MESSAGE,
        type_name=".modelyard_test.codec.Empty",
        label=f.LABEL_OPTIONAL,
    )
    for name, kind, type_name, num in (
        ("many_i64", f.TYPE_INT64, "", 30),
        ("many_d", f.TYPE_DOUBLE, "", 31),
        ("many_fl", f.TYPE_FLOAT, "", 32),
        ("many_text", f.TYPE_STRING, "", 33),
        ("many_blob", f.TYPE_BYTES, "", 34),
        ("many_flag", f.TYPE_BOOL, "", 35),
        ("many_color", f.TYPE_ENUM, ".modelyard_test.codec.Color", 36),
        ("many_inner", f.TYPE_MESSAGE, ".modelyard_test.codec.Inner", 37),
        ("many_other", f.TYPE_MESSAGE, ".modelyard_test.codec.Other", 38),
    ):
        msg.field.add(name=name, number=num, type=kind, label=f.LABEL_REPEATED, **typed(type_name))
    real_oneof = 0  # real oneofs come before the synthetic ones
    msg.oneof_decl.add(name="choice")
    msg.field.add(
        name="pick_text",
        number=50,
        type=f.TYPE_STRING,
        label=f.LABEL_OPTIONAL,
        oneof_index=real_oneof,
    )
    msg.field.add(
        name="pick_other",
        number=51,
        type=f.TYPE_MESSAGE,
        type_name=".modelyard_test.codec.Other",
        label=f.LABEL_OPTIONAL,
        oneof_index=real_oneof,
    )
    msg.field.add(
        name="pick_blob",
        number=52,
        type=f.TYPE_BYTES,
        label=f.LABEL_OPTIONAL,
        oneof_index=real_oneof,
    )
    # proto3 optional (presence) through synthetic oneofs.
    for index, (name, kind, type_name) in enumerate(
        (
            ("opt_i64", f.TYPE_INT64, ""),
            ("opt_d", f.TYPE_DOUBLE, ""),
            ("opt_text", f.TYPE_STRING, ""),
            ("opt_color", f.TYPE_ENUM, ".modelyard_test.codec.Color"),
            ("opt_flag", f.TYPE_BOOL, ""),
        )
    ):
        msg.oneof_decl.add(name=f"_{name}")
        msg.field.add(
            name=name,
            number=40 + index,
            type=kind,
            label=f.LABEL_OPTIONAL,
            oneof_index=1 + index,
            proto3_optional=True,
            **typed(type_name),
        )
    # Maps: key types x value types.
    maps = [
        ("by_name", f.TYPE_STRING, f.TYPE_STRING, ""),
        ("counts", f.TYPE_STRING, f.TYPE_INT64, ""),
        ("by_id", f.TYPE_INT64, f.TYPE_MESSAGE, ".modelyard_test.codec.Other"),
        ("by_small", f.TYPE_INT32, f.TYPE_ENUM, ".modelyard_test.codec.Color"),
        ("by_flag", f.TYPE_BOOL, f.TYPE_DOUBLE, ""),
        ("by_u64", f.TYPE_UINT64, f.TYPE_BYTES, ""),
        ("named_inner", f.TYPE_STRING, f.TYPE_MESSAGE, ".modelyard_test.codec.Inner"),
        ("floats", f.TYPE_STRING, f.TYPE_FLOAT, ""),
    ]
    for index, (name, key_type, value_type, value_type_name) in enumerate(maps):
        entry_name = "".join(part.title() for part in name.split("_")) + "Entry"
        entry = msg.nested_type.add(name=entry_name)
        entry.options.map_entry = True
        entry.field.add(name="key", number=1, type=key_type, label=f.LABEL_OPTIONAL)
        entry.field.add(
            name="value",
            number=2,
            type=value_type,
            label=f.LABEL_OPTIONAL,
            **typed(value_type_name),
        )
        msg.field.add(
            name=name,
            number=60 + index,
            type=f.TYPE_MESSAGE,
            type_name=f".modelyard_test.codec.Everything.{entry_name}",
            label=f.LABEL_REPEATED,
        )
    msg.field.add(
        name="when",
        number=80,
        type=f.TYPE_MESSAGE,
        type_name=".google.protobuf.Timestamp",
        label=f.LABEL_OPTIONAL,
    )
    msg.field.add(
        name="doc",
        number=81,
        type=f.TYPE_MESSAGE,
        type_name=".google.protobuf.Struct",
        label=f.LABEL_OPTIONAL,
    )
    msg.field.add(
        name="times",
        number=82,
        type=f.TYPE_MESSAGE,
        type_name=".google.protobuf.Timestamp",
        label=f.LABEL_REPEATED,
    )
    msg.field.add(
        name="myself",
        number=83,
        type=f.TYPE_MESSAGE,
        type_name=".modelyard_test.codec.Everything",
        label=f.LABEL_OPTIONAL,
    )
    pool.Add(file)
    return GetMessageClass(pool.FindMessageTypeByName("modelyard_test.codec.Everything"))


class Filler:
    """Seeded values for every field kind."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def scalar(self, field: FieldDescriptor) -> object:
        """One value for a non-message field."""
        rng, kind = self.rng, field.type
        if kind in (
            FieldDescriptor.TYPE_INT64,
            FieldDescriptor.TYPE_SINT64,
            FieldDescriptor.TYPE_SFIXED64,
        ):
            return rng.choice((*INT64_EDGES, rng.randint(-(2**63), 2**63 - 1)))
        if kind in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
            return rng.choice((*UINT64_EDGES, rng.randint(0, 2**64 - 1)))
        if kind in (
            FieldDescriptor.TYPE_INT32,
            FieldDescriptor.TYPE_SINT32,
            FieldDescriptor.TYPE_SFIXED32,
        ):
            return rng.choice((*INT32_EDGES, rng.randint(-(2**31), 2**31 - 1)))
        if kind in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32):
            return rng.choice(UINT32_EDGES)
        if kind == FieldDescriptor.TYPE_DOUBLE:
            return rng.choice((*DOUBLE_EDGES, rng.uniform(-1000000.0, 1000000.0)))
        if kind == FieldDescriptor.TYPE_FLOAT:
            return rng.choice((*FLOAT_EDGES, rng.uniform(-1000.0, 1000.0)))
        if kind == FieldDescriptor.TYPE_BOOL:
            return rng.random() < 0.5
        if kind == FieldDescriptor.TYPE_STRING:
            return rng.choice(STRINGS)
        if kind == FieldDescriptor.TYPE_BYTES:
            return rng.choice((b"", bytes(range(256)), bytes(rng.randrange(256) for _ in range(7))))
        if kind == FieldDescriptor.TYPE_ENUM:
            numbers = [v.number for v in field.enum_type.values]
            return rng.choice([*numbers, max(numbers) + 17])  # an open enum keeps any number
        raise AssertionError(f"unhandled field type {kind}")

    def fill(self, message: Message, depth: int = 0) -> Message:
        """Set (most) fields of `message`; recursion stops at depth 3."""
        rng = self.rng
        for field in message.DESCRIPTOR.fields:
            if rng.random() < 0.2:
                continue  # left at its default
            if field.containing_oneof is not None and not field.has_presence:
                continue
            if (
                field.containing_oneof is not None
                and message.WhichOneof(field.containing_oneof.name)
                and not field.containing_oneof.name.startswith("_")
            ):
                continue  # one member of a real oneof
            value = getattr(message, field.name)
            is_message = field.type == FieldDescriptor.TYPE_MESSAGE
            if is_message and field.message_type.GetOptions().map_entry:
                key_field = field.message_type.fields_by_name["key"]
                value_field = field.message_type.fields_by_name["value"]
                for _ in range(rng.randint(0, 3)):
                    key = self.scalar(key_field)
                    if value_field.type == FieldDescriptor.TYPE_MESSAGE:
                        if depth < 3:
                            self.fill(value[key], depth + 1)
                    else:
                        value[key] = self.scalar(value_field)
            elif field.is_repeated:
                for _ in range(rng.randint(0, 3)):
                    if is_message:
                        if depth < 3:
                            self.fill_known(value.add(), depth + 1)
                    else:
                        value.append(self.scalar(field))
            elif is_message:
                if depth < 3:
                    self.fill_known(getattr(message, field.name), depth + 1)
                    if rng.random() < 0.2:  # present but empty
                        getattr(message, field.name).Clear()
                        getattr(message, field.name).SetInParent()
            elif field.has_presence and rng.random() < 0.3:
                setattr(message, field.name, field.default_value)  # present, default value
            else:
                setattr(message, field.name, self.scalar(field))
        return message

    def fill_known(self, message: Message, depth: int) -> None:
        """Fill a message; well-known types get valid values of their own."""
        name = message.DESCRIPTOR.full_name
        if name == "google.protobuf.Timestamp":
            message.FromMilliseconds(self.rng.randint(0, 4_000_000_000_000))
        elif name == "google.protobuf.Struct":
            message.update({"a": 1.5, "b": [True, None, "x"], "c": {"d": "ü"}})
        else:
            self.fill(message, depth)


def examples(message_class: type[Message]) -> Iterator[Message]:
    """The empty message, then one filled message per seed."""
    yield message_class()
    for seed in SEEDS:
        yield Filler(seed * 7919 + len(message_class.DESCRIPTOR.full_name)).fill(message_class())


def assert_same(message: Message) -> None:
    expected = json_format.MessageToDict(message)
    got = message_to_dict(message)
    assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True), (
        message.DESCRIPTOR.full_name,
        message,
    )
    assert json.loads(message_to_json(message)) == json.loads(json.dumps(expected))


V1_TYPES = v1_message_types()


def test_every_v1_message_type_is_covered() -> None:
    names = {t.DESCRIPTOR.full_name for t in V1_TYPES}
    assert "modelyard.v1.SearchRunsResponse" in names
    assert "modelyard.v1.ModelVersion" in names
    assert "modelyard.v1.DownloadArtifactResponse" in names
    assert len(names) > 100


@pytest.mark.parametrize("message_class", V1_TYPES, ids=lambda t: t.DESCRIPTOR.name)
def test_v1_messages_encode_like_message_to_dict(message_class: type[Message]) -> None:
    for message in examples(message_class):
        assert_same(message)


def test_every_json_mapping_feature_encodes_like_message_to_dict() -> None:
    everything = everything_type()
    for seed in range(60):
        assert_same(Filler(seed).fill(everything()))
    assert_same(everything())


def test_edge_values_of_the_v1_types() -> None:
    run = tracking_pb2.Run()
    run.info.end_time = 0  # optional: present with its default value
    run.info.status = 99  # a number RunStatus does not name
    run.data.metrics.add(key="nan", value=math.nan, step=2**63 - 1, timestamp=-(2**63))
    run.data.metrics.add(key="inf", value=math.inf)
    run.data.metrics.add(key="-inf", value=-math.inf)
    run.data.metrics.add()  # an empty repeated message
    run.data.params["ü"] = ""
    got = message_to_dict(run)
    assert got == json_format.MessageToDict(run)
    assert got["info"] == {"status": 99, "endTime": "0"}
    assert got["data"]["metrics"][0] == {
        "key": "nan",
        "value": "NaN",
        "timestamp": str(-(2**63)),
        "step": str(2**63 - 1),
    }
    assert got["data"]["metrics"][3] == {}
    model = registry_pb2.RegisteredModel(name="m", aliases={"champion": 2**62})
    assert message_to_dict(model)["aliases"] == {"champion": str(2**62)}
    chunk = artifacts_pb2.DownloadArtifactResponse(chunk=b"")
    assert message_to_dict(chunk) == json_format.MessageToDict(chunk) == {"chunk": ""}
    assert message_to_dict(tracking_pb2.LogBatchResponse()) == {}


def test_message_to_json_is_compact_utf8() -> None:
    experiment = tracking_pb2.Experiment(name="ünï ✓", tags={"k": 'v"'})
    body = message_to_json(experiment)
    assert body == '{"name":"ünï ✓","tags":{"k":"v\\""}}'.encode()


# -- parse_request ------------------------------------------------------------------------------


def test_parse_request_reads_the_json_mapping() -> None:
    request = parse_request(
        b'{"experimentIds": ["1", "2"], "filter": "metrics.a > 1", "viewType": "VIEW_TYPE_ALL",'
        b' "pageSize": 5, "orderBy": ["attributes.start_time DESC"], "pageToken": "t"}',
        tracking_pb2.SearchRunsRequest,
    )
    assert list(request.experiment_ids) == ["1", "2"]
    assert request.view_type == common_pb2.VIEW_TYPE_ALL
    assert request.page_size == 5
    metric = parse_request(
        b'{"runId": "r", "metric": {"key": "k", "value": "NaN", "timestamp": "9007199254740993"}}',
        tracking_pb2.LogMetricRequest,
    )
    assert math.isnan(metric.metric.value) and metric.metric.timestamp == 2**53 + 1
    assert parse_request(b"", tracking_pb2.GetRunRequest) == tracking_pb2.GetRunRequest()
    assert parse_request(b" \r\n\t", tracking_pb2.GetRunRequest) == tracking_pb2.GetRunRequest()
    assert parse_request(b"{}", tracking_pb2.GetRunRequest) == tracking_pb2.GetRunRequest()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"{", "not valid JSON"),
        (b"{'runId': 1}", "not valid JSON"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (b"[1]", "must be a JSON object, got list"),
        (b'"run"', "must be a JSON object, got str"),
        (b"null", "must be a JSON object, got NoneType"),
        (b"12", "must be a JSON object, got int"),
        (b"[" * 100_000, "nested too deeply"),
        (b'{"a":' * 100_000, "nested too deeply"),
        (b'{"runId": "r", "bogusField": 1}', "bogusField"),
        (b'{"runId": 5}', "runId"),
        (b'{"runId": "r", "metric": {"key": "k", "vaule": 1}}', "vaule"),
        (b'{"runId": "r", "metric": {"value": "abc"}}', "value"),
        (b'{"runId": "r", "metric": {"step": 1.5}}', "step"),
        (b'{"runId": "r", "metric": {"step": "99999999999999999999"}}', "step"),
    ],
)
def test_parse_request_errors_name_the_problem(body: bytes, expected: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_request(body, tracking_pb2.LogMetricRequest)
    assert expected in caught.value.message
    assert caught.value.code.name == "INVALID_ARGUMENT"


def test_parse_request_mismatch_names_the_message_type() -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_request(b'{"nope": 1}', registry_pb2.TransitionModelVersionStageRequest)
    assert caught.value.details == {
        "message_type": "modelyard.v1.TransitionModelVersionStageRequest"
    }
    with pytest.raises(InvalidArgument, match="MODEL_STAGE_BOGUS"):
        parse_request(
            b'{"stage": "MODEL_STAGE_BOGUS"}', registry_pb2.TransitionModelVersionStageRequest
        )
