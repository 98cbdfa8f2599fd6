"""Domain <-> protobuf converters and the error <-> gRPC status mapping.

`modelyard.wire.tracking` converts the tracking entities; `modelyard.wire.status` is the only
place that turns a `ModelyardError` into a `google.rpc.Status` and back.
"""
