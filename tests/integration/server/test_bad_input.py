"""Every bad input of issue 2, sent by a raw gRPC caller (generated stubs, no client library).

Each test checks the exact grpc.StatusCode, that the status message names the offending
value, that the ErrorInfo reason (domain "modelyard") is the expected one where the issue
names a specific error, and that the server's visible state is unchanged afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from modelyard.v1 import common_pb2 as common
from modelyard.v1 import tracking_pb2 as pb
from modelyard.v1 import tracking_pb2_grpc as pb_grpc
from tests.contracts.tracking import (
    BAD_KEYS,
    INJECTION_DROP,
    MALFORMED_EXPERIMENT_FILTERS,
    MALFORMED_RUN_FILTERS,
    UNKNOWN_EXPERIMENT_ID,
    UNKNOWN_RUN_ID,
    tamper,
    uid,
)

if TYPE_CHECKING:
    from tests.conftest import LiveServers

pytestmark = pytest.mark.integration

INVALID = grpc.StatusCode.INVALID_ARGUMENT
ALL_VIEW = common.VIEW_TYPE_ALL
TIMEOUT_S = 30


@pytest.fixture(scope="module")
def stub(
    sqlite_uri_module: str, live_server_module: LiveServers
) -> Iterator[pb_grpc.TrackingServiceStub]:
    """A raw TrackingService stub on a live server backed by SQLite."""
    uri = live_server_module(sqlite_uri_module)
    channel = grpc.insecure_channel(
        uri.removeprefix("grpc://"),
        options=[("grpc.max_send_message_length", 64 << 20)],
    )
    try:
        yield pb_grpc.TrackingServiceStub(channel)
    finally:
        channel.close()


@dataclass(frozen=True)
class World:
    """One experiment with one run that has a param, a metric and a tag."""

    experiment_id: str
    run_id: str


@pytest.fixture
def world(stub: pb_grpc.TrackingServiceStub) -> World:
    """A fresh experiment and run for one test."""
    exp = stub.CreateExperiment(pb.CreateExperimentRequest(name=f"bad-{uid()}"), timeout=TIMEOUT_S)
    exp_id = exp.experiment.experiment_id
    run = stub.CreateRun(pb.CreateRunRequest(experiment_id=exp_id), timeout=TIMEOUT_S).run
    stub.LogBatch(
        pb.LogBatchRequest(
            run_id=run.info.run_id,
            params=[pb.Param(key="lr", value="old-value-1")],
            metrics=[pb.Metric(key="loss", value=0.5, timestamp=1, step=0)],
            tags=[pb.RunTag(key="stage", value="train")],
        ),
        timeout=TIMEOUT_S,
    )
    return World(exp_id, run.info.run_id)


def _pages(fetch: Callable[[str], Any], items: str) -> list[Any]:
    out: list[Any] = []
    token = ""
    for _ in range(1000):
        response = fetch(token)
        out.extend(getattr(response, items))
        token = response.next_page_token
        if not token:
            return out
    raise AssertionError("paging did not end")


def state(stub: pb_grpc.TrackingServiceStub, *experiment_ids: str) -> dict[str, Any]:
    """All experiments, and every run (with metric histories) of the given experiments."""
    experiments = _pages(
        lambda t: stub.SearchExperiments(
            pb.SearchExperimentsRequest(view_type=ALL_VIEW, page_size=50_000, page_token=t),
            timeout=TIMEOUT_S,
        ),
        "experiments",
    )
    runs: list[Any] = []
    if experiment_ids:
        runs = _pages(
            lambda t: stub.SearchRuns(
                pb.SearchRunsRequest(
                    experiment_ids=list(experiment_ids),
                    view_type=ALL_VIEW,
                    page_size=50_000,
                    page_token=t,
                ),
                timeout=TIMEOUT_S,
            ),
            "runs",
        )
    histories = {}
    for run in runs:
        for metric in run.data.metrics:
            response = stub.GetMetricHistory(
                pb.GetMetricHistoryRequest(run_id=run.info.run_id, metric_key=metric.key),
                timeout=TIMEOUT_S,
            )
            histories[(run.info.run_id, metric.key)] = response.history.SerializeToString(
                deterministic=True
            )
    return {
        "experiments": sorted(e.SerializeToString(deterministic=True) for e in experiments),
        "runs": sorted(r.SerializeToString(deterministic=True) for r in runs),
        "histories": histories,
    }


def error_info(err: grpc.RpcError) -> error_details_pb2.ErrorInfo | None:
    """The modelyard ErrorInfo carried by a failed call, if any."""
    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    if status is None:
        return None
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info
    return None


@contextmanager
def refused(
    stub: pb_grpc.TrackingServiceStub,
    code: grpc.StatusCode,
    *,
    names: tuple[str, ...] = (),
    reason: str | None = None,
    experiments: tuple[str, ...] = (),
) -> Iterator[None]:
    """The block must fail with `code`, a message naming `names`, and change nothing."""
    before = state(stub, *experiments)
    with pytest.raises(grpc.RpcError) as caught:
        yield
    err = caught.value
    assert err.code() == code, f"expected {code}, got {err.code()}: {err.details()}"
    details = err.details() or ""
    for text in names:
        assert text in details, f"status message {details!r} does not name {text!r}"
    info = error_info(err)
    assert info is not None, f"no ErrorInfo in the status of {details!r}"
    assert info.domain == "modelyard"
    if reason is not None:
        assert info.reason == reason, f"reason {info.reason!r}, expected {reason!r}"
    assert state(stub, *experiments) == before, "the server's visible state changed"


def _shown(key: str) -> tuple[str, ...]:
    """What of a bad key a message can be expected to quote (a prefix of printable keys)."""
    return (key[:20],) if key and key.isprintable() else ()


# -- keys ------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", list(BAD_KEYS.values()), ids=list(BAD_KEYS))
@pytest.mark.parametrize(
    "rpc", ["LogParam", "LogMetric", "SetTag", "LogBatch", "SetExperimentTag", "CreateRun"]
)
def test_bad_key(stub: pb_grpc.TrackingServiceStub, world: World, rpc: str, bad: str) -> None:
    calls: dict[str, Callable[[], object]] = {
        "LogParam": lambda: stub.LogParam(
            pb.LogParamRequest(run_id=world.run_id, param=pb.Param(key=bad, value="v"))
        ),
        "LogMetric": lambda: stub.LogMetric(
            pb.LogMetricRequest(
                run_id=world.run_id, metric=pb.Metric(key=bad, value=1.0, timestamp=1)
            )
        ),
        "SetTag": lambda: stub.SetTag(
            pb.SetTagRequest(run_id=world.run_id, tag=pb.RunTag(key=bad, value="v"))
        ),
        "LogBatch": lambda: stub.LogBatch(
            pb.LogBatchRequest(
                run_id=world.run_id,
                metrics=[pb.Metric(key="fine", value=1.0, timestamp=2)],
                params=[pb.Param(key=bad, value="v")],
            )
        ),
        "SetExperimentTag": lambda: stub.SetExperimentTag(
            pb.SetExperimentTagRequest(experiment_id=world.experiment_id, key=bad, value="v")
        ),
        "CreateRun": lambda: stub.CreateRun(
            pb.CreateRunRequest(experiment_id=world.experiment_id, tags={bad: "v"})
        ),
    }
    with refused(stub, INVALID, names=_shown(bad), experiments=(world.experiment_id,)):
        calls[rpc]()


# -- params, metrics, timestamps, batches ----------------------------------------------------


def test_changed_param_value(stub: pb_grpc.TrackingServiceStub, world: World) -> None:
    with refused(
        stub,
        INVALID,
        names=("lr", "old-value-1", "new-value-2"),
        reason="PARAM_ALREADY_LOGGED",
        experiments=(world.experiment_id,),
    ):
        stub.LogParam(
            pb.LogParamRequest(run_id=world.run_id, param=pb.Param(key="lr", value="new-value-2"))
        )


def test_changed_param_value_in_batch(stub: pb_grpc.TrackingServiceStub, world: World) -> None:
    with refused(
        stub,
        INVALID,
        names=("lr", "old-value-1", "new-value-2"),
        reason="PARAM_ALREADY_LOGGED",
        experiments=(world.experiment_id,),
    ):
        stub.LogBatch(
            pb.LogBatchRequest(
                run_id=world.run_id,
                metrics=[pb.Metric(key="loss", value=0.1, timestamp=9, step=1)],
                params=[pb.Param(key="new", value="x"), pb.Param(key="lr", value="new-value-2")],
                tags=[pb.RunTag(key="stage", value="eval")],
            )
        )


def test_non_numeric_metric_value_cannot_be_sent() -> None:
    """On the wire a metric value is a double: a raw caller cannot send text at all."""
    with pytest.raises(TypeError):
        pb.Metric(key="m", value="abc", timestamp=1)  # type: ignore[arg-type]


@pytest.mark.parametrize("rpc", ["LogMetric", "LogBatch", "CreateRun", "UpdateRun"])
def test_negative_timestamp(stub: pb_grpc.TrackingServiceStub, world: World, rpc: str) -> None:
    calls: dict[str, Callable[[], object]] = {
        "LogMetric": lambda: stub.LogMetric(
            pb.LogMetricRequest(
                run_id=world.run_id, metric=pb.Metric(key="m", value=1.0, timestamp=-7)
            )
        ),
        "LogBatch": lambda: stub.LogBatch(
            pb.LogBatchRequest(
                run_id=world.run_id,
                metrics=[
                    pb.Metric(key="ok", value=1.0, timestamp=1),
                    pb.Metric(key="m", value=1.0, timestamp=-7),
                ],
            )
        ),
        "CreateRun": lambda: stub.CreateRun(
            pb.CreateRunRequest(experiment_id=world.experiment_id, start_time=-7)
        ),
        "UpdateRun": lambda: stub.UpdateRun(pb.UpdateRunRequest(run_id=world.run_id, end_time=-7)),
    }
    with refused(stub, INVALID, names=("-7",), experiments=(world.experiment_id,)):
        calls[rpc]()


def _batch(shape: str, run_id: str) -> pb.LogBatchRequest:
    metrics = [pb.Metric(key=f"m{i}", value=1.0, timestamp=1) for i in range(1001)]
    params = [pb.Param(key=f"p{i}", value="v") for i in range(101)]
    tags = [pb.RunTag(key=f"t{i}", value="v") for i in range(101)]
    shapes: dict[str, dict[str, Any]] = {
        "metrics_1001": {"metrics": metrics},
        "params_101": {"params": params},
        "tags_101": {"tags": tags},
        "entries_1001": {"metrics": metrics[:1000], "params": params[:1]},
        "param_value_6001": {"params": [pb.Param(key="p", value="v" * 6001)]},
        "tag_value_8001": {"tags": [pb.RunTag(key="t", value="v" * 8001)]},
        "duplicate_param": {
            "params": [pb.Param(key="dup", value="one"), pb.Param(key="dup", value="two")]
        },
    }
    return pb.LogBatchRequest(run_id=run_id, **shapes[shape])


BATCH_OFFENDERS = {
    "metrics_1001": "1001",
    "params_101": "101",
    "tags_101": "101",
    "entries_1001": "1001",
    "param_value_6001": "6000",
    "tag_value_8001": "8000",
    "duplicate_param": "dup",
}


@pytest.mark.parametrize("shape", list(BATCH_OFFENDERS))
def test_batch_over_limits(stub: pb_grpc.TrackingServiceStub, world: World, shape: str) -> None:
    with refused(
        stub, INVALID, names=(BATCH_OFFENDERS[shape],), experiments=(world.experiment_id,)
    ):
        stub.LogBatch(_batch(shape, world.run_id))


def test_stream_stops_at_refused_batch(stub: pb_grpc.TrackingServiceStub, world: World) -> None:
    requests = [
        pb.LogBatchRequest(
            run_id=world.run_id, metrics=[pb.Metric(key="s", value=1.0, timestamp=1, step=0)]
        ),
        _batch("metrics_1001", world.run_id),
        pb.LogBatchRequest(
            run_id=world.run_id, metrics=[pb.Metric(key="s", value=3.0, timestamp=3, step=2)]
        ),
    ]
    with pytest.raises(grpc.RpcError) as caught:
        stub.StreamLogBatches(iter(requests), timeout=TIMEOUT_S)
    assert caught.value.code() == INVALID
    assert "1001" in (caught.value.details() or "")
    info = error_info(caught.value)
    assert info is not None and info.metadata.get("batch_index") == "1"
    got = stub.GetMetricHistory(pb.GetMetricHistoryRequest(run_id=world.run_id, metric_key="s"))
    assert list(got.history.steps) == [0]


# -- runs and experiments that are deleted, unknown or malformed -----------------------------

WRITES = ["LogBatch", "LogMetric", "LogParam", "SetTag", "DeleteTag"]


def _write(stub: pb_grpc.TrackingServiceStub, rpc: str, run_id: str) -> None:
    calls: dict[str, Callable[[], object]] = {
        "LogBatch": lambda: stub.LogBatch(
            pb.LogBatchRequest(run_id=run_id, metrics=[pb.Metric(key="m", value=1, timestamp=1)])
        ),
        "LogMetric": lambda: stub.LogMetric(
            pb.LogMetricRequest(run_id=run_id, metric=pb.Metric(key="m", value=1, timestamp=1))
        ),
        "LogParam": lambda: stub.LogParam(
            pb.LogParamRequest(run_id=run_id, param=pb.Param(key="p", value="v"))
        ),
        "SetTag": lambda: stub.SetTag(
            pb.SetTagRequest(run_id=run_id, tag=pb.RunTag(key="stage", value="x"))
        ),
        "DeleteTag": lambda: stub.DeleteTag(pb.DeleteTagRequest(run_id=run_id, key="stage")),
    }
    calls[rpc]()


@pytest.mark.parametrize("rpc", WRITES)
def test_write_to_deleted_run(stub: pb_grpc.TrackingServiceStub, world: World, rpc: str) -> None:
    stub.DeleteRun(pb.DeleteRunRequest(run_id=world.run_id))
    with refused(
        stub,
        grpc.StatusCode.FAILED_PRECONDITION,
        names=(world.run_id,),
        reason="RUN_NOT_ACTIVE",
        experiments=(world.experiment_id,),
    ):
        _write(stub, rpc, world.run_id)


@pytest.mark.parametrize("rpc", [*WRITES, "GetRun", "DeleteRun", "RestoreRun", "UpdateRun"])
def test_unknown_run(stub: pb_grpc.TrackingServiceStub, world: World, rpc: str) -> None:
    reads: dict[str, Callable[[], object]] = {
        "GetRun": lambda: stub.GetRun(pb.GetRunRequest(run_id=UNKNOWN_RUN_ID)),
        "DeleteRun": lambda: stub.DeleteRun(pb.DeleteRunRequest(run_id=UNKNOWN_RUN_ID)),
        "RestoreRun": lambda: stub.RestoreRun(pb.RestoreRunRequest(run_id=UNKNOWN_RUN_ID)),
        "UpdateRun": lambda: stub.UpdateRun(
            pb.UpdateRunRequest(run_id=UNKNOWN_RUN_ID, status=pb.RUN_STATUS_FINISHED)
        ),
    }
    with refused(
        stub,
        grpc.StatusCode.NOT_FOUND,
        names=(UNKNOWN_RUN_ID,),
        reason="RUN_NOT_FOUND",
        experiments=(world.experiment_id,),
    ):
        if rpc in reads:
            reads[rpc]()
        else:
            _write(stub, rpc, UNKNOWN_RUN_ID)


@pytest.mark.parametrize("run_id", ["xyz", INJECTION_DROP, UNKNOWN_RUN_ID.upper(), ""])
def test_malformed_run_id(stub: pb_grpc.TrackingServiceStub, world: World, run_id: str) -> None:
    with refused(
        stub, INVALID, names=(run_id,) if run_id else (), experiments=(world.experiment_id,)
    ):
        stub.GetRun(pb.GetRunRequest(run_id=run_id))


@pytest.mark.parametrize("rpc", ["GetExperiment", "CreateRun", "DeleteExperiment"])
def test_unknown_experiment(stub: pb_grpc.TrackingServiceStub, rpc: str) -> None:
    calls: dict[str, Callable[[], object]] = {
        "GetExperiment": lambda: stub.GetExperiment(
            pb.GetExperimentRequest(experiment_id=UNKNOWN_EXPERIMENT_ID)
        ),
        "CreateRun": lambda: stub.CreateRun(
            pb.CreateRunRequest(experiment_id=UNKNOWN_EXPERIMENT_ID)
        ),
        "DeleteExperiment": lambda: stub.DeleteExperiment(
            pb.DeleteExperimentRequest(experiment_id=UNKNOWN_EXPERIMENT_ID)
        ),
    }
    with refused(
        stub,
        grpc.StatusCode.NOT_FOUND,
        names=(UNKNOWN_EXPERIMENT_ID,),
        reason="EXPERIMENT_NOT_FOUND",
    ):
        calls[rpc]()


# -- experiment names ------------------------------------------------------------------------


@pytest.mark.parametrize("rpc", ["CreateExperiment", "RenameExperiment"])
@pytest.mark.parametrize("name", ["", "   ", "x" * 501], ids=["empty", "blank", "too_long"])
def test_bad_experiment_name(
    stub: pb_grpc.TrackingServiceStub, world: World, rpc: str, name: str
) -> None:
    shown = (name[:20],) if name.strip() else ("name",)
    with refused(stub, INVALID, names=shown, experiments=(world.experiment_id,)):
        if rpc == "CreateExperiment":
            stub.CreateExperiment(pb.CreateExperimentRequest(name=name))
        else:
            stub.RenameExperiment(
                pb.RenameExperimentRequest(experiment_id=world.experiment_id, new_name=name)
            )


@pytest.mark.parametrize("deleted", [False, True], ids=["active", "soft_deleted"])
def test_duplicate_experiment_name(stub: pb_grpc.TrackingServiceStub, deleted: bool) -> None:
    name = f"dup-{uid()}"
    exp = stub.CreateExperiment(pb.CreateExperimentRequest(name=name)).experiment
    if deleted:
        stub.DeleteExperiment(pb.DeleteExperimentRequest(experiment_id=exp.experiment_id))
    with refused(
        stub,
        grpc.StatusCode.ALREADY_EXISTS,
        names=(name,),
        reason="EXPERIMENT_ALREADY_EXISTS",
        experiments=(exp.experiment_id,),
    ):
        stub.CreateExperiment(pb.CreateExperimentRequest(name=name))


# -- search: filters, injection, tokens, page sizes ------------------------------------------

#: What each malformed run filter's message must quote.
RUN_FILTER_OFFENDERS = {
    "unbalanced_single_quote": "'x",
    "unbalanced_double_quote": '"x',
    "unknown_entity": "foo",
    "or": "OR",
    "metric_compared_to_string": "abc",
    "param_compared_to_number": "params.a",
    "start_time_compared_to_string": "abc",
    "unknown_attribute": "nope",
    "dangling_and": "AND",
    "missing_value": "params.a",
    "injection_or": "OR",
    "injection_drop": "DROP",
}
EXPERIMENT_FILTER_OFFENDERS = {
    "unbalanced_quote": "'x",
    "unknown_entity": "foo",
    "or": "OR",
    "name_compared_to_number": "name",
    "creation_time_compared_to_string": "abc",
    "injection_or": "OR",
    "injection_drop": "DROP",
}


@pytest.mark.parametrize("case", list(MALFORMED_RUN_FILTERS))
def test_malformed_run_filter(stub: pb_grpc.TrackingServiceStub, world: World, case: str) -> None:
    with refused(
        stub,
        INVALID,
        names=(RUN_FILTER_OFFENDERS[case],),
        reason="INVALID_FILTER",
        experiments=(world.experiment_id,),
    ):
        stub.SearchRuns(
            pb.SearchRunsRequest(
                experiment_ids=[world.experiment_id], filter=MALFORMED_RUN_FILTERS[case]
            )
        )
    found = stub.SearchRuns(pb.SearchRunsRequest(experiment_ids=[world.experiment_id]))
    assert [r.info.run_id for r in found.runs] == [world.run_id]  # the tables are still there


@pytest.mark.parametrize("case", list(MALFORMED_EXPERIMENT_FILTERS))
def test_malformed_experiment_filter(stub: pb_grpc.TrackingServiceStub, case: str) -> None:
    with refused(
        stub, INVALID, names=(EXPERIMENT_FILTER_OFFENDERS[case],), reason="INVALID_FILTER"
    ):
        stub.SearchExperiments(
            pb.SearchExperimentsRequest(filter=MALFORMED_EXPERIMENT_FILTERS[case])
        )


@pytest.mark.parametrize(
    "filter_string",
    [
        f'params.lr = "{INJECTION_DROP}"',
        'params.lr = "x\' OR 1=1 --"',
        f'tags.stage LIKE "%{INJECTION_DROP}%"',
        f'attributes.run_name = "{INJECTION_DROP}"',
    ],
    ids=["drop_param", "or_param", "drop_tag_like", "drop_run_name"],
)
def test_injection_as_value_matches_nothing(
    stub: pb_grpc.TrackingServiceStub, world: World, filter_string: str
) -> None:
    before = state(stub, world.experiment_id)
    found = stub.SearchRuns(
        pb.SearchRunsRequest(experiment_ids=[world.experiment_id], filter=filter_string)
    )
    assert list(found.runs) == []
    assert state(stub, world.experiment_id) == before
    again = stub.SearchRuns(pb.SearchRunsRequest(experiment_ids=[world.experiment_id]))
    assert [r.info.run_id for r in again.runs] == [world.run_id]
    stub.CreateRun(pb.CreateRunRequest(experiment_id=world.experiment_id))  # runs table intact


def _first_token(stub: pb_grpc.TrackingServiceStub, world: World) -> str:
    for _ in range(2):
        stub.CreateRun(pb.CreateRunRequest(experiment_id=world.experiment_id))
    page = stub.SearchRuns(pb.SearchRunsRequest(experiment_ids=[world.experiment_id], page_size=1))
    assert page.next_page_token
    return page.next_page_token


@pytest.mark.parametrize("kind", ["tampered", "garbage", "other_filter", "from_experiments"])
def test_bad_page_token(stub: pb_grpc.TrackingServiceStub, world: World, kind: str) -> None:
    token = _first_token(stub, world)
    request = pb.SearchRunsRequest(experiment_ids=[world.experiment_id], page_size=1)
    if kind == "tampered":
        request.page_token = tamper(token)
    elif kind == "garbage":
        request.page_token = "not-a-page-token"
    elif kind == "other_filter":
        request.page_token = token
        request.filter = "metrics.loss > 0"
    else:
        stub.CreateExperiment(pb.CreateExperimentRequest(name=f"tok-{uid()}"))
        experiments = stub.SearchExperiments(pb.SearchExperimentsRequest(page_size=1))
        assert experiments.next_page_token
        request.page_token = experiments.next_page_token
    with refused(
        stub,
        INVALID,
        names=(request.page_token[:16],),
        reason="INVALID_PAGE_TOKEN",
        experiments=(world.experiment_id,),
    ):
        stub.SearchRuns(request)


@pytest.mark.parametrize("page_size", [10_000_000, 50_001, -1])
@pytest.mark.parametrize("rpc", ["SearchRuns", "SearchExperiments"])
def test_bad_page_size(
    stub: pb_grpc.TrackingServiceStub, world: World, rpc: str, page_size: int
) -> None:
    with refused(stub, INVALID, names=(str(page_size),), experiments=(world.experiment_id,)):
        if rpc == "SearchRuns":
            stub.SearchRuns(
                pb.SearchRunsRequest(experiment_ids=[world.experiment_id], page_size=page_size)
            )
        else:
            stub.SearchExperiments(pb.SearchExperimentsRequest(page_size=page_size))


def test_page_size_zero_means_default(stub: pb_grpc.TrackingServiceStub, world: World) -> None:
    """proto3 cannot tell 0 from unset, so the wire API documents 0 as "the default" (1,000)."""
    found = stub.SearchRuns(pb.SearchRunsRequest(experiment_ids=[world.experiment_id], page_size=0))
    assert [r.info.run_id for r in found.runs] == [world.run_id]


def test_metric_history_page_size_over_limit(
    stub: pb_grpc.TrackingServiceStub, world: World
) -> None:
    with refused(stub, INVALID, names=("10000000",), experiments=(world.experiment_id,)):
        stub.GetMetricHistory(
            pb.GetMetricHistoryRequest(run_id=world.run_id, metric_key="loss", page_size=10_000_000)
        )
