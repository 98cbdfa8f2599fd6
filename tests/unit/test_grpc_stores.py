"""GrpcTrackingStore without a server: error classes, request ids and stream replay."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from grpc_status import rpc_status

from modelyard import errors
from modelyard.client.grpc_stores import GrpcTrackingStore
from modelyard.config import client_config
from modelyard.entities import Metric
from modelyard.errors import Code
from modelyard.stores import LogBatch
from modelyard.v1 import tracking_pb2 as pb
from modelyard.wire import status as wire_status

RUN = "a" * 32


class Failure(grpc.RpcError, grpc.Call):
    """A failed call carrying a status, as the sync stub raises it."""

    def __init__(self, status: grpc.Status) -> None:
        self._status = status

    def code(self):
        return self._status.code

    def details(self):
        return self._status.details

    def trailing_metadata(self):
        return self._status.trailing_metadata

    def initial_metadata(self):
        return ()

    def is_active(self):
        return False

    def time_remaining(self):
        return None

    def cancel(self):
        return False

    def add_callback(self, callback):
        return False


def failure(exc: errors.ModelyardError) -> Failure:
    return Failure(wire_status.status_for_error(exc))


def unavailable() -> Failure:
    return Failure(
        rpc_status.to_status(wire_status.status_proto(Code.UNAVAILABLE, "down", "UNAVAILABLE"))
    )


class FakeStub:
    """Records requests; each method pops a scripted outcome."""

    def __init__(self) -> None:
        self.stream_calls: list[list[pb.LogBatchRequest]] = []
        self.script: list[object] = []
        self.requests: list[object] = []

    def _next(self, request):
        self.requests.append(request)
        outcome = self.script.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def __getattr__(self, name: str):
        return lambda request, timeout=None: self._next(request)

    def StreamLogBatches(self, requests: Iterator[pb.LogBatchRequest], timeout=None):
        seen: list[pb.LogBatchRequest] = []
        self.stream_calls.append(seen)
        outcome = self.script.pop(0)
        limit = outcome if isinstance(outcome, int) else None
        for request in requests:
            seen.append(request)
            if limit is not None and len(seen) == limit:
                raise unavailable()
        if isinstance(outcome, Exception):
            raise outcome
        return pb.StreamLogBatchesResponse(batches_applied=len(seen))


@pytest.fixture
def store() -> Iterator[tuple[GrpcTrackingStore, FakeStub]]:
    config = client_config({"MODELYARD_GRPC_MAX_RETRIES": "3"})
    s = GrpcTrackingStore("grpc://127.0.0.1:1", config=config)
    fake = FakeStub()
    s._stub = fake  # type: ignore[assignment]
    yield s, fake
    s.close()


def batch(i: int, request_id: str | None = None) -> LogBatch:
    metric = Metric(key="m", value=float(i), timestamp=1, step=i)
    return LogBatch(run_id=RUN, metrics=[metric], request_id=request_id)


def test_stream_retry_replays_with_the_same_request_ids(store) -> None:
    s, fake = store
    fake.script = [2, None]  # first attempt: UNAVAILABLE after 2 batches; then success
    applied = s.log_batches(batch(i, "given" if i == 3 else None) for i in range(5))
    assert applied == 5
    first, second = fake.stream_calls
    assert [m.request_id for m in first] == [m.request_id for m in second[:2]]
    ids = [m.request_id for m in second]
    assert all(ids) and len(set(ids)) == 5 and ids[3] == "given"
    assert [m.metrics[0].step for m in second] == [0, 1, 2, 3, 4]


def test_stream_error_keeps_its_class_and_batch_index(store) -> None:
    s, fake = store
    refused = errors.ParamAlreadyLogged("param 'p' changed", key="p", batch_index="1")
    fake.script = [failure(refused)]
    with pytest.raises(errors.ParamAlreadyLogged) as info:
        s.log_batches([batch(0), batch(1)])
    assert info.value.details["batch_index"] == "1"


def test_error_raised_by_the_callers_iterable_surfaces(store) -> None:
    s, fake = store
    fake.script = [None]

    def source() -> Iterator[LogBatch]:
        yield batch(0)
        raise RuntimeError("caller's bug")

    with pytest.raises(RuntimeError, match="caller's bug"):
        s.log_batches(source())
    assert len(fake.stream_calls[0]) == 1


def test_unary_calls_raise_domain_classes(store) -> None:
    s, fake = store
    fake.script = [failure(errors.RunNotFound(f"no run {RUN!r}", run_id=RUN))]
    with pytest.raises(errors.RunNotFound, match=RUN):
        s.get_run(RUN)


def test_unavailable_is_retried_then_raised_as_unavailable(store) -> None:
    s, fake = store
    fake.script = [unavailable()] * 4
    with pytest.raises(errors.Unavailable):
        s.delete_run(RUN)
    assert len(fake.requests) == 4  # one call and three retries


def test_missing_experiment_name_is_none(store) -> None:
    s, fake = store
    fake.script = [failure(errors.ExperimentNotFound("no experiment named 'x'", name="x"))]
    assert s.get_experiment_by_name("x") is None


def test_creates_and_batches_carry_request_ids(store) -> None:
    s, fake = store
    experiment = pb.Experiment(experiment_id="5", name="e", lifecycle_stage=1)
    fake.script = [pb.CreateExperimentResponse(experiment=experiment), pb.LogBatchResponse()]
    assert s.create_experiment("e") == "5"
    s.log_batch(RUN, metrics=[Metric(key="m", value=1.0, timestamp=1)])
    create, log = fake.requests
    assert create.request_id and log.request_id and create.request_id != log.request_id
