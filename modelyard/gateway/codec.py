"""Protobuf messages <-> JSON, in protobuf's canonical JSON mapping.

Requests are parsed with `json_format` (strict: an unknown field is an error naming it).
Responses are encoded by functions generated once per message type from its descriptor: each
reads the fields by attribute and skips default values, which gives exactly what
`json_format.MessageToDict` gives (int64 as strings, enums by name, bytes as base64, lowerCamel
names, non-finite floats as "NaN"/"Infinity") at a fifth of its cost. A search response of a
hundred runs is the gateway's hot path; `bench/ui.py` (scenario 19) measures it.

Well-known types (Timestamp, Struct, Any, wrappers ...) have special JSON forms; messages that
contain one fall back to `json_format` for that field.
"""

from __future__ import annotations

import base64
import json
import math
import threading
from collections.abc import Callable
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.internal import type_checkers
from google.protobuf.message import Message

from modelyard.errors import InvalidArgument

Encoder = Callable[[Message], dict[str, Any]]

_INT64_TYPES = frozenset(
    {
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED64,
    }
)
_FLOAT_TYPES = frozenset({FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT})

_encoders: dict[str, Encoder] = {}
_lock = threading.Lock()


def _float(value: float) -> float | str:
    """A float, or the JSON mapping's string for NaN and the infinities."""
    if math.isfinite(value):
        return value
    if value != value:
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _float32(value: float) -> float | str:
    """A float field's value as protobuf writes it: the shortest decimal of the float32."""
    if math.isfinite(value):
        return float(type_checkers.ToShortestFloat(value))
    return _float(value)


def _bool_key(value: bool) -> str:
    """A bool map key in the JSON mapping: "true" or "false"."""
    return "true" if value else "false"


def _bytes(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _is_map(field: FieldDescriptor) -> bool:
    return field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.GetOptions().map_entry


def _is_well_known(descriptor: Descriptor) -> bool:
    return descriptor.full_name.startswith("google.protobuf.")


def _well_known(message: Message) -> Any:
    return json_format.MessageToDict(message)


class _Builder:
    """Generates the source of one message type's encoder."""

    def __init__(self, descriptor: Descriptor) -> None:
        self.descriptor = descriptor
        self.env: dict[str, Any] = {
            "_float": _float,
            "_float32": _float32,
            "_bytes": _bytes,
            "_bool_key": _bool_key,
            "_copysign": math.copysign,
            "str": str,
            "dict": dict,
        }
        self.lines = ["def encode(m):", "    out = {}"]
        self.nested: dict[str, Descriptor] = {}
        self.names = 0

    def unique(self, prefix: str) -> str:
        """A fresh global name (not the field number: a map's value field is number 2 too)."""
        self.names += 1
        return f"{prefix}_{self.names}"

    def scalar(self, field: FieldDescriptor, expr: str) -> str:
        """Expression converting one scalar value of `field`."""
        kind = field.type
        if kind in _INT64_TYPES:
            return f"str({expr})"
        if kind == FieldDescriptor.TYPE_FLOAT:
            return f"_float32({expr})"
        if kind == FieldDescriptor.TYPE_DOUBLE:
            return f"_float({expr})"
        if kind == FieldDescriptor.TYPE_BYTES:
            return f"_bytes({expr})"
        if kind == FieldDescriptor.TYPE_ENUM:
            names = self.unique("_enum")
            self.env[names] = {v.number: v.name for v in field.enum_type.values}
            return f"{names}.get({expr}, {expr})"
        return expr

    def message(self, field: FieldDescriptor, descriptor: Descriptor, expr: str) -> str:
        """Expression encoding one message value of `field`."""
        if _is_well_known(descriptor):
            self.env["_well_known"] = _well_known
            return f"_well_known({expr})"
        name = self.unique("_msg")
        self.nested[name] = descriptor
        return f"{name}({expr})"

    def value(self, field: FieldDescriptor, expr: str) -> str:
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            return self.message(field, field.message_type, expr)
        return self.scalar(field, expr)

    def add(self, field: FieldDescriptor) -> None:
        attr, key = field.name, field.json_name
        emit = self.lines.append
        if _is_map(field):
            entry = field.message_type
            key_field, value_field = entry.fields_by_name["key"], entry.fields_by_name["value"]
            converted = self.value(value_field, "x")
            key_expr = {
                FieldDescriptor.TYPE_STRING: "k",
                FieldDescriptor.TYPE_BOOL: "_bool_key(k)",
            }.get(key_field.type, "str(k)")
            emit(f"    v = m.{attr}")
            if converted == "x" and key_expr == "k":
                # a comprehension over the keys: dict(v) goes through the Mapping ABC, 1.6x slower
                emit(f"    if v: out[{key!r}] = {{k: v[k] for k in v}}")
            else:
                emit(f"    if v: out[{key!r}] = {{{key_expr}: {converted} for k, x in v.items()}}")
        elif field.is_repeated:
            converted = self.value(field, "x")
            emit(f"    v = m.{attr}")
            if converted == "x":
                emit(f"    if v: out[{key!r}] = list(v)")
            else:
                emit(f"    if v: out[{key!r}] = [{converted} for x in v]")
        elif field.type == FieldDescriptor.TYPE_MESSAGE or field.has_presence:
            emit(f"    if m.HasField({attr!r}): out[{key!r}] = {self.value(field, 'm.' + attr)}")
        elif field.type == FieldDescriptor.TYPE_DOUBLE:
            # Finite values (v - v == 0) go as they are, without a call: the hot case of
            # metric values. -0.0 is not the default: protobuf sends it.
            emit(f"    v = m.{attr}")
            emit(f"    if v: out[{key!r}] = v if v - v == 0.0 else _float(v)")
            emit(f"    elif _copysign(1.0, v) < 0: out[{key!r}] = v")
        elif field.type in _FLOAT_TYPES:  # -0.0 is not the default: protobuf sends it
            emit(f"    v = m.{attr}")
            emit(f"    if v or _copysign(1.0, v) < 0: out[{key!r}] = {self.scalar(field, 'v')}")
        else:
            emit(f"    v = m.{attr}")
            emit(f"    if v: out[{key!r}] = {self.scalar(field, 'v')}")

    def build(self) -> tuple[Encoder, dict[str, Descriptor]]:
        for field in self.descriptor.fields:
            self.add(field)
        self.lines.append("    return out")
        source = "\n".join(self.lines)
        code = compile(source, f"<modelyard json encoder {self.descriptor.full_name}>", "exec")
        exec(code, self.env)
        return self.env["encode"], self.nested


def encoder_for(descriptor: Descriptor) -> Encoder:
    """The (cached) generated encoder of one message type and every type it contains."""
    found = _encoders.get(descriptor.full_name)
    if found is not None:
        return found
    with _lock:
        return _build(descriptor)


def _build(descriptor: Descriptor) -> Encoder:
    found = _encoders.get(descriptor.full_name)
    if found is not None:
        return found
    encode, nested = _Builder(descriptor).build()
    _encoders[descriptor.full_name] = encode  # before the nested ones: recursive types
    env = encode.__globals__
    for name, child in nested.items():
        env[name] = _build(child)
    return encode


def message_to_dict(message: Message) -> dict[str, Any]:
    """A message as a dict in the canonical JSON mapping (default values left out)."""
    return encoder_for(message.DESCRIPTOR)(message)


def message_to_json(message: Message) -> bytes:
    """A message as compact UTF-8 JSON (orjson: a tenth of json.dumps's time on a page of runs;
    non-finite floats are strings by then, so nothing reaches it that JSON cannot hold)."""
    return orjson.dumps(message_to_dict(message))


def dict_to_json(mapping: dict[str, Any]) -> bytes:
    """A dict already in the JSON mapping (non-finite floats as strings) as compact JSON."""
    return orjson.dumps(mapping)


def parse_request(body: bytes, message_class: type[Message]) -> Message:
    """Parse a JSON request body into `message_class`; INVALID_ARGUMENT naming what is wrong.

    An empty body is the empty message. Unknown fields are refused, so a misspelt field name
    never silently means its default.
    """
    message = message_class()
    if not body.strip():
        return message
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidArgument(f"the request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidArgument("the request body is nested too deeply") from None
    if not isinstance(data, dict):
        raise InvalidArgument(f"the request body must be a JSON object, got {type(data).__name__}")
    try:
        json_format.ParseDict(data, message)
    except json_format.ParseError as exc:
        raise InvalidArgument(
            f"the request does not match {message_class.DESCRIPTOR.full_name}: {exc}",
            message_type=message_class.DESCRIPTOR.full_name,
        ) from None
    return message
