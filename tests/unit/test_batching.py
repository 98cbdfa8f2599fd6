"""Batch splitting and the asynchronous logger, against a recording fake store."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence

import pytest

from modelyard.client.batching import (
    AsyncLogger,
    _Call,
    _coalesce,
    _Merged,
    flush_async_logging,
    split_batch,
)
from modelyard.entities import Metric, Param, RunTag
from modelyard.errors import InvalidArgument, ParamAlreadyLogged, Unavailable

RUN = "a" * 32
OTHER = "b" * 32


def metrics(n: int, key: str = "m", start: int = 0) -> list[Metric]:
    return [Metric(key=key, value=float(i), timestamp=1000 + i, step=i) for i in range(start, n)]


def params(n: int, prefix: str = "p") -> list[Param]:
    return [Param(key=f"{prefix}{i}", value=str(i)) for i in range(n)]


def tags(n: int, prefix: str = "t") -> list[RunTag]:
    return [RunTag(key=f"{prefix}{i}", value=str(i)) for i in range(n)]


class RecordingStore:
    """Implements log_batch only: records each request, can block, refuse or be unavailable."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.params: dict[tuple[str, str], str] = {}
        self.gate = threading.Event()
        self.gate.set()
        self.unavailable = 0
        self.request_ids: list[str | None] = []
        self.lock = threading.Lock()

    def log_batch(
        self,
        run_id: str,
        *,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        request_id: str | None = None,
    ) -> None:
        self.gate.wait()
        with self.lock:
            self.request_ids.append(request_id)
            if self.unavailable:
                self.unavailable -= 1
                raise Unavailable("database is down")
            assert len(metrics) <= 1000 and len(params) <= 100 and len(tags) <= 100
            assert len(metrics) + len(params) + len(tags) <= 1000
            for p in params:  # all or nothing: check every param before writing anything
                old = self.params.get((run_id, p.key))
                if old is not None and old != p.value:
                    raise ParamAlreadyLogged(
                        f"Changing param values is not allowed. Param with key={p.key!r} was "
                        f"already logged with value={old!r}",
                        key=p.key,
                    )
                if p.key == "refused":
                    raise InvalidArgument(f"param {p.key!r} refused", key=p.key)
            for p in params:
                self.params[(run_id, p.key)] = p.value
            self.requests.append(
                {
                    "run_id": run_id,
                    "metrics": list(metrics),
                    "params": list(params),
                    "tags": list(tags),
                }
            )

    def points(self, run_id: str = RUN) -> list[Metric]:
        return [m for r in self.requests if r["run_id"] == run_id for m in r["metrics"]]


@pytest.fixture
def store() -> RecordingStore:
    return RecordingStore()


@pytest.fixture
def logger(store: RecordingStore):
    log = AsyncLogger(store)  # type: ignore[arg-type]
    log.retry_delays = (0.0, 0.0, 0.0)
    yield log
    store.gate.set()
    with contextlib.suppress(Exception):
        log.close()


# -- split_batch ----------------------------------------------------------------------------


def _totals(chunks):
    return (
        [m for c in chunks for m in c[0]],
        [p for c in chunks for p in c[1]],
        [t for c in chunks for t in c[2]],
    )


def test_split_nothing_is_no_request() -> None:
    assert split_batch([], [], []) == []


def test_split_small_batch_is_one_request() -> None:
    chunks = split_batch(metrics(10), params(3), tags(2))
    assert len(chunks) == 1
    assert _totals(chunks) == (metrics(10), params(3), tags(2))


def test_split_101_params_goes_in_two_requests() -> None:
    chunks = split_batch([], params(101), [])
    assert [len(c[1]) for c in chunks] == [100, 1]


def test_split_metrics_fill_the_room_left_by_params_and_tags() -> None:
    ms, ps, ts = metrics(2500), params(150), tags(100)
    chunks = split_batch(ms, ps, ts)
    for m, p, t in chunks:
        assert len(m) <= 1000 and len(p) <= 100 and len(t) <= 100
        assert len(m) + len(p) + len(t) <= 1000
    assert [len(c[0]) for c in chunks][:2] == [800, 950]
    assert _totals(chunks) == (ms, ps, ts)  # every entry once, in order


def test_split_metrics_only_in_chunks_of_1000() -> None:
    chunks = split_batch(metrics(2500), [], [])
    assert [len(c[0]) for c in chunks] == [1000, 1000, 500]


# -- coalescing -----------------------------------------------------------------------------


def test_coalesce_merges_small_calls_within_limits() -> None:
    calls = [_Call(RUN, [m], [], []) for m in metrics(2500)]
    groups = list(_coalesce(calls))
    assert all(isinstance(g, _Merged) for g in groups)
    assert [len(g.metrics) for g in groups] == [1000, 1000, 500]


def test_coalesce_keeps_the_last_tag_value_and_splits_on_param_conflict() -> None:
    calls = [
        _Call(RUN, [], [Param(key="p", value="1")], [RunTag(key="t", value="a")]),
        _Call(RUN, [], [Param(key="p", value="1")], [RunTag(key="t", value="b")]),
        _Call(RUN, [], [Param(key="p", value="2")], []),
    ]
    groups = list(_coalesce(calls))
    assert len(groups) == 2
    assert groups[0].params == {"p": "1"} and groups[0].tags == {"t": "b"}
    assert groups[1].params == {"p": "2"}


def test_coalesce_sends_an_oversized_call_alone() -> None:
    big = _Call(RUN, metrics(1500), [], [])
    small = _Call(RUN, metrics(1), [], [])
    groups = list(_coalesce([small, big, small]))
    assert [type(g).__name__ for g in groups] == ["_Merged", "_Call", "_Merged"]


# -- AsyncLogger ----------------------------------------------------------------------------


def test_many_calls_are_coalesced_into_few_requests(store, logger) -> None:
    store.gate.clear()  # hold the writer so the calls pile up
    for m in metrics(3000):
        logger.submit(RUN, metrics=[m])
    store.gate.set()
    logger.flush()
    assert store.points() == metrics(3000)  # nothing lost, order kept
    assert len(store.requests) <= 5


def test_calls_to_several_runs_keep_their_order_per_run(store, logger) -> None:
    store.gate.clear()
    for i in range(500):
        logger.submit(RUN, metrics=metrics(i + 1, start=i))
        logger.submit(OTHER, metrics=metrics(i + 1, key="o", start=i))
    store.gate.set()
    logger.flush()
    assert store.points(RUN) == metrics(500)
    assert store.points(OTHER) == metrics(500, key="o")


def test_a_full_queue_blocks_the_caller_and_loses_nothing(store) -> None:
    log = AsyncLogger(store, max_queue=3)  # type: ignore[arg-type]
    store.gate.clear()
    done = threading.Event()

    def produce() -> None:
        for m in metrics(50):
            log.submit(RUN, metrics=[m])
        done.set()

    producer = threading.Thread(target=produce)
    producer.start()
    assert not done.wait(timeout=0.2)  # blocked on the full queue (the writer is held)
    store.gate.set()
    producer.join(timeout=30)
    log.close()
    assert store.points() == metrics(50)


def test_a_refused_coalesced_batch_is_resent_call_by_call(store, logger) -> None:
    store.gate.clear()
    logger.submit(RUN, metrics=metrics(1))
    logger.submit(RUN, params=[Param(key="refused", value="x")])
    logger.submit(RUN, metrics=metrics(2, start=1))
    logger.submit(RUN, params=[Param(key="fine", value="y")])
    store.gate.set()
    with pytest.raises(InvalidArgument) as info:
        logger.flush()
    message = str(info.value)
    assert "log_param('refused', 'x')" in message and RUN in message
    assert "param 'refused' refused" in message
    assert info.value.details["key"] == "refused"
    assert store.points() == metrics(2)  # the good calls around it were written
    assert store.params == {(RUN, "fine"): "y"}


def test_a_changed_param_fails_alone_with_the_stores_message(store, logger) -> None:
    logger.submit(RUN, params=[Param(key="lr", value="0.1")], metrics=metrics(1))
    logger.submit(RUN, params=[Param(key="lr", value="0.2")], metrics=metrics(2, start=1))
    logger.submit(RUN, metrics=metrics(3, start=2))
    with pytest.raises(ParamAlreadyLogged, match=r"log_batch\(metrics \['m'\], params \['lr'\]\)"):
        logger.flush()
    assert store.params == {(RUN, "lr"): "0.1"}
    assert store.points() == [metrics(1)[0], metrics(3)[2]]


def test_a_stored_error_is_raised_on_the_next_call_once(store, logger) -> None:
    logger.submit(RUN, params=[Param(key="refused", value="x")])
    logger.wait()
    with pytest.raises(InvalidArgument, match="refused"):
        logger.submit(RUN, metrics=metrics(1))
    logger.submit(RUN, metrics=metrics(1))  # raised once, then cleared
    logger.flush()
    assert store.points() == metrics(1)


def test_run_operations_wait_raises_only_its_own_error(store, logger) -> None:
    good = logger.submit(RUN, metrics=metrics(1))
    bad = logger.submit(RUN, params=[Param(key="refused", value="x")])
    good.wait()
    with pytest.raises(InvalidArgument, match="refused"):
        bad.wait()
    logger.flush()  # the error was delivered by wait(): nothing left to raise


def test_unavailable_is_retried_with_the_same_request_id(store, logger) -> None:
    store.unavailable = 2
    logger.submit(RUN, metrics=metrics(1))
    logger.flush()
    assert store.points() == metrics(1)
    assert len(store.request_ids) == 3 and len(set(store.request_ids)) == 1


def test_unavailable_beyond_the_retries_is_reported(store, logger) -> None:
    store.unavailable = 10
    logger.submit(RUN, metrics=metrics(1))
    with pytest.raises(Unavailable, match="log_metric"):
        logger.flush()


def test_an_oversized_call_is_split_within_limits(store, logger) -> None:
    logger.submit(RUN, metrics=metrics(2500), params=params(150), tags=tags(120))
    logger.flush()
    assert store.points() == metrics(2500)
    assert sorted(p.key for r in store.requests for p in r["params"]) == sorted(
        p.key for p in params(150)
    )


def test_flush_async_logging_flushes_every_logger(store) -> None:
    other_store = RecordingStore()
    first, second = AsyncLogger(store), AsyncLogger(other_store)  # type: ignore[arg-type]
    store.gate.clear()
    first.submit(RUN, metrics=metrics(1))
    second.submit(RUN, metrics=metrics(1))
    store.gate.set()
    flush_async_logging()
    assert store.points() == metrics(1) and other_store.points() == metrics(1)
    first.close()
    second.close()


def test_closed_logger_refuses_new_calls(store) -> None:
    log = AsyncLogger(store)  # type: ignore[arg-type]
    log.submit(RUN, metrics=metrics(1))
    log.close()
    assert store.points() == metrics(1)
    with pytest.raises(RuntimeError):
        log.submit(RUN, metrics=metrics(1))
