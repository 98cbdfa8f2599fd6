"""The wire contract's shape, and the rule that `modelyard.v1` only ever grows.

`shape()` reduces a FileDescriptorSet to what stubs and JSON clients depend on: per message
its fields (number, type, cardinality, JSON name) and reserved numbers and names, per enum its
values, per service its methods. `proto/modelyard/v1/contract.lock.json` records the shape of
the committed protos; `proto/generate.py` refuses to regenerate when `breaking_changes(old,
new)` finds any, and `--check` fails when the lock is not the shape of the protos.

Breaking (for binary stubs or for the JSON mapping): a message, enum, service or method that
disappears; a field or enum value that changes number, name, type or cardinality, or goes
without its number and name being reserved; a new field or value on a reserved number or name;
a method whose request, response or streaming changes.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2

Shape = dict[str, Any]

_LABEL = {descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED: "repeated"}


def _type_of(field: descriptor_pb2.FieldDescriptorProto) -> str:
    """A field's type as one string: `int64`, `.modelyard.v1.Run`, `optional string`…"""
    name = descriptor_pb2.FieldDescriptorProto.Type.Name(field.type).removeprefix("TYPE_").lower()
    kind = field.type_name if field.type_name else name
    label = _LABEL.get(field.label, "")
    if field.proto3_optional:
        label = "optional"
    return f"{label} {kind}".strip()


def _reserved(ranges: Any, names: Any) -> dict[str, list[Any]]:
    numbers = sorted({n for r in ranges for n in range(r.start, r.end)})
    return {"numbers": numbers, "names": sorted(names)}


def _messages(prefix: str, messages: Any, out: Shape, enums: Shape) -> None:
    for message in messages:
        full = f"{prefix}.{message.name}"
        if message.options.map_entry:
            continue
        out[full] = {
            "fields": {
                f.name: {"number": f.number, "type": _type_of(f), "json": f.json_name}
                for f in message.field
            },
            # reserved ranges are end-exclusive in descriptors, as range() is
            "reserved": _reserved(message.reserved_range, message.reserved_name),
        }
        _enums(full, message.enum_type, enums)
        _messages(full, message.nested_type, out, enums)


def _enums(prefix: str, declared: Any, out: Shape) -> None:
    for enum in declared:
        out[f"{prefix}.{enum.name}"] = {
            "values": {v.name: v.number for v in enum.value},
            # enum reserved ranges are end-inclusive
            "reserved": {
                "numbers": sorted(
                    {n for r in enum.reserved_range for n in range(r.start, r.end + 1)}
                ),
                "names": sorted(enum.reserved_name),
            },
        }


def shape(files: descriptor_pb2.FileDescriptorSet) -> Shape:
    """The contract's shape: messages, enums and services by full name (leading dot)."""
    messages: Shape = {}
    enums: Shape = {}
    services: Shape = {}
    for file in files.file:
        prefix = f".{file.package}" if file.package else ""
        _messages(prefix, file.message_type, messages, enums)
        _enums(prefix, file.enum_type, enums)
        for service in file.service:
            services[f"{prefix}.{service.name}"] = {
                m.name: {
                    "request": m.input_type,
                    "response": m.output_type,
                    "client_streaming": m.client_streaming,
                    "server_streaming": m.server_streaming,
                }
                for m in service.method
            }
    return {"messages": messages, "enums": enums, "services": services}


def _number(member: Any) -> int:
    """A field's number (fields are dicts) or an enum value's (values are ints)."""
    return member["number"] if isinstance(member, dict) else member


def _members_breaks(
    where: str, old: dict[str, Any], new: dict[str, Any], reserved: dict[str, list[Any]]
) -> list[str]:
    """Breaks among a message's fields or an enum's values."""
    found: list[str] = []
    new_by_number = {_number(m): name for name, m in new.items()}
    for name, member in old.items():
        if name in new:
            if new[name] != member:
                found.append(f"{where}.{name} changed: {member} -> {new[name]}")
            continue
        number = _number(member)
        if (taken := new_by_number.get(number)) is not None:
            found.append(f"{where}.{name} renamed to {taken} (number {number})")
        elif number not in reserved["numbers"] or name not in reserved["names"]:
            found.append(f"{where}.{name} removed without reserving number {number} and {name!r}")
    return found


def _reserved_reuse(where: str, old_reserved: Shape, new: dict[str, Any]) -> list[str]:
    """New members that take a number or name the old contract had reserved."""
    found = []
    for name, member in new.items():
        number = _number(member)
        if number in old_reserved["numbers"] or name in old_reserved["names"]:
            found.append(f"{where}.{name} reuses reserved number {number} or name {name!r}")
    return found


def breaking_changes(old: Shape, new: Shape) -> list[str]:
    """Every change from old to new that would break a stub or JSON client built for old."""
    found: list[str] = []
    for kind, member_key in (("messages", "fields"), ("enums", "values")):
        for name, before in old[kind].items():
            after = new[kind].get(name)
            if after is None:
                found.append(f"{kind[:-1]} {name} removed")
                continue
            found += _members_breaks(name, before[member_key], after[member_key], after["reserved"])
            added = {k: v for k, v in after[member_key].items() if k not in before[member_key]}
            found += _reserved_reuse(name, before["reserved"], added)
    for name, methods in old["services"].items():
        after = new["services"].get(name)
        if after is None:
            found.append(f"service {name} removed")
            continue
        for method, signature in methods.items():
            if method not in after:
                found.append(f"method {name}.{method} removed")
            elif after[method] != signature:
                found.append(f"method {name}.{method} changed: {signature} -> {after[method]}")
    return found
