"""Batch splitting and asynchronous logging.

`split_batch` cuts a large log_batch into requests within the store's limits, as MLflow's
client does: params and tags in chunks of 100, at most 1000 entries per request, the leftover
metrics in chunks of 1000.

`AsyncLogger` backs `synchronous=False` (or MODELYARD_ASYNC_LOGGING=true): the caller puts
each logging call on a bounded queue (it blocks when the queue is full, so nothing is ever
dropped) and a background thread coalesces the queued calls of each run into large batches.
The caller's side is one append under a lock (the writer is woken only when it sleeps on an
empty queue, when much is queued, or when someone waits); the writer lets calls pile up for
`LINGER_S` before it sends them, so that a training loop loses the GIL to it a few times a
second rather than once per call. The calls were validated in the caller, so the writer sends
them to the store behind the validating wrapper.
Batches are sent in call order per run. A LogBatch is all or nothing, so when a coalesced batch
is refused, its calls are resent one by one and only the bad call fails, with an error that
names it. Errors are kept and raised on the next call, at `flush()`, by `RunOperations.wait()`,
at `end_run` and at interpreter exit.
"""

from __future__ import annotations

import atexit
import itertools
import os
import sys
import threading
import time
import uuid
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from modelyard.entities import Metric, Param, RunTag
from modelyard.errors import ModelyardError, Unavailable
from modelyard.stores import TrackingStore
from modelyard.validation import ValidatingTrackingStore

MAX_PARAMS_TAGS_PER_REQUEST = 100
MAX_METRICS_PER_REQUEST = 1000
MAX_ENTRIES_PER_REQUEST = 1000
QUEUE_MAX_CALLS = 100_000
DRAIN_MAX_CALLS = 10_000
WAKE_ENTRIES = 5_000
LINGER_S = 0.2

Chunk = tuple[Sequence[Metric], Sequence[Param], Sequence[RunTag]]


def _chunks(items: Sequence[object], size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def split_batch(
    metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]
) -> list[Chunk]:
    """Cut one batch into requests within the limits (MLflow's client-side splitting)."""
    if (
        len(metrics) <= MAX_METRICS_PER_REQUEST
        and len(params) <= MAX_PARAMS_TAGS_PER_REQUEST
        and len(tags) <= MAX_PARAMS_TAGS_PER_REQUEST
        and 0 < len(metrics) + len(params) + len(tags) <= MAX_ENTRIES_PER_REQUEST
    ):
        return [(metrics, params, tags)]  # the common case: already one request
    out: list[Chunk] = []
    remaining = list(metrics)
    param_chunks = list(_chunks(params, MAX_PARAMS_TAGS_PER_REQUEST))
    tag_chunks = list(_chunks(tags, MAX_PARAMS_TAGS_PER_REQUEST))
    for param_chunk, tag_chunk in itertools.zip_longest(param_chunks, tag_chunks, fillvalue=[]):
        room = MAX_ENTRIES_PER_REQUEST - len(param_chunk) - len(tag_chunk)
        room = max(0, min(room, MAX_METRICS_PER_REQUEST))
        out.append((remaining[:room], param_chunk, tag_chunk))
        remaining = remaining[room:]
    for metric_chunk in _chunks(remaining, MAX_METRICS_PER_REQUEST):
        out.append((metric_chunk, [], []))
    return out


def new_request_id() -> str:
    """A fresh idempotency key for one request (retries of that request reuse it)."""
    return uuid.uuid4().hex


@dataclass(slots=True, eq=False)
class _Call:
    """One queued logging call."""

    run_id: str
    metrics: Sequence[Metric]
    params: Sequence[Param]
    tags: Sequence[RunTag]
    seq: int = 0
    error: BaseException | None = None

    def size(self) -> int:
        return len(self.metrics) + len(self.params) + len(self.tags)

    def fits_one_request(self) -> bool:
        return (
            len(self.metrics) <= MAX_METRICS_PER_REQUEST
            and len(self.params) <= MAX_PARAMS_TAGS_PER_REQUEST
            and len(self.tags) <= MAX_PARAMS_TAGS_PER_REQUEST
            and self.size() <= MAX_ENTRIES_PER_REQUEST
        )

    def describe(self) -> str:
        """Name the call the way the user wrote it."""
        where = f"to run {self.run_id}"
        m, p, t = self.metrics, self.params, self.tags
        if len(m) == 1 and not p and not t:
            x = m[0]
            return f"log_metric({x.key!r}, {x.value!r}, step={x.step}) {where}"
        if len(p) == 1 and not m and not t:
            return f"log_param({p[0].key!r}, {p[0].value!r}) {where}"
        if len(t) == 1 and not m and not p:
            return f"set_tag({t[0].key!r}, {t[0].value!r}) {where}"
        parts = []
        if m:
            parts.append(f"metrics {sorted({x.key for x in m})}")
        if p:
            parts.append(f"params {[x.key for x in p]}")
        if t:
            parts.append(f"tags {[x.key for x in t]}")
        return f"log_batch({', '.join(parts)}) {where}"


@dataclass(slots=True, eq=False)
class _Merged:
    """Several calls to one run coalesced into one request."""

    calls: list[_Call] = field(default_factory=list)
    metrics: list[Metric] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def can_add(self, call: _Call) -> bool:
        if not call.params and not call.tags:  # the common case: metrics only
            n_metrics = len(self.metrics) + len(call.metrics)
            return (
                n_metrics <= MAX_METRICS_PER_REQUEST
                and n_metrics + len(self.params) + len(self.tags) <= MAX_ENTRIES_PER_REQUEST
            )
        new_params = {p.key for p in call.params} - self.params.keys()
        new_tags = {t.key for t in call.tags} - self.tags.keys()
        if any(self.params.get(p.key, p.value) != p.value for p in call.params):
            return False  # a conflicting param goes alone so that only it fails
        n_metrics = len(self.metrics) + len(call.metrics)
        n_params = len(self.params) + len(new_params)
        n_tags = len(self.tags) + len(new_tags)
        return (
            n_metrics <= MAX_METRICS_PER_REQUEST
            and n_params <= MAX_PARAMS_TAGS_PER_REQUEST
            and n_tags <= MAX_PARAMS_TAGS_PER_REQUEST
            and n_metrics + n_params + n_tags <= MAX_ENTRIES_PER_REQUEST
        )

    def add(self, call: _Call) -> None:
        self.calls.append(call)
        self.metrics.extend(call.metrics)
        if not call.params and not call.tags:
            return
        for p in call.params:
            self.params[p.key] = p.value
        for t in call.tags:
            self.tags.pop(t.key, None)  # keep the order of the last write
            self.tags[t.key] = t.value


def _named_error(err: BaseException, call: _Call) -> BaseException:
    """The error of one call, rewritten to say which call failed."""
    text = f"asynchronous {call.describe()} failed"
    if isinstance(err, ModelyardError):
        try:
            named = type(err)(f"{text}: {err.message}", **err.details)
        except TypeError:
            err.add_note(text)
            return err
        named.__cause__ = err
        return named
    err.add_note(text)
    return err


class RunOperations:
    """Handle on asynchronous logging calls; `wait()` blocks until they are written."""

    def __init__(self, logger: AsyncLogger | None = None, calls: Sequence[_Call] = ()) -> None:
        self._logger = logger
        self._calls = list(calls)

    def wait(self) -> None:
        """Block until these calls are written; raise the first one's error, if any."""
        if self._logger is None or not self._calls:
            return
        self._logger._wait_for(max(c.seq for c in self._calls))
        self._logger._raise_for(self._calls)


_loggers: weakref.WeakSet[AsyncLogger] = weakref.WeakSet()
_loggers_lock = threading.Lock()
_atexit_registered = False


def _unvalidated(store: TrackingStore) -> TrackingStore:
    """The store behind a validating wrapper: calls were checked in the caller already."""
    inner = getattr(store, "inner", None) if isinstance(store, ValidatingTrackingStore) else None
    return inner if isinstance(inner, TrackingStore) else store


class AsyncLogger:
    """A bounded queue and one background thread that writes coalesced batches to a store.

    The caller only appends to a list under a lock; the writer is woken when it is idle, when
    the queue holds `WAKE_ENTRIES` entries, or when someone waits (flush, a full queue, exit).
    Otherwise it lets calls pile up for `linger` seconds, so that it wakes (and takes the GIL
    from the training thread) a few times per second rather than once per call.
    """

    retry_delays: tuple[float, ...] = (0.2, 1.0, 3.0)
    """Back-off between resends of a batch that failed with UNAVAILABLE (same request id)."""

    linger: float = LINGER_S
    """Seconds the writer lets calls accumulate before it sends them (unless hurried)."""

    def __init__(self, store: TrackingStore, *, max_queue: int = QUEUE_MAX_CALLS) -> None:
        self._store = store
        self._sender = _unvalidated(store)
        self._max_queue = max(1, max_queue)
        self._reset()
        _register(self)

    def _reset(self) -> None:
        """Fresh queue, counters and no thread (at creation, and in a forked child)."""
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)  # the writer waits here
        self._cond = threading.Condition(self._lock)  # callers wait here (done, room)
        self._queue: list[_Call] = []
        self._entries = 0  # entries (metrics + params + tags) in _queue
        self._submitted = 0
        self._taken = 0  # seq of the last call the writer took
        self._done = 0
        self._hurry = 0  # someone waits for every call up to this seq
        self._idle = False  # the writer sleeps on an empty queue
        self._errors: list[tuple[_Call, BaseException]] = []
        self._thread: threading.Thread | None = None
        self._closed = False
        self._stop = False

    # -- caller side -------------------------------------------------------------------
    def submit(
        self,
        run_id: str,
        *,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> RunOperations:
        """Queue one logging call; raise a stored error of an earlier call first."""
        if self._errors:
            self._raise_pending()
        call = _Call(run_id, metrics, params, tags)
        with self._lock:
            if self._closed:
                raise RuntimeError("asynchronous logging has been shut down")
            if self._thread is None:
                self._start()
            while len(self._queue) >= self._max_queue:  # back-pressure: block, lose nothing
                self._hurry = max(self._hurry, self._submitted)
                self._wake.notify()
                self._cond.wait(timeout=1.0)
                if self._closed:
                    raise RuntimeError("asynchronous logging has been shut down")
            self._submitted += 1
            call.seq = self._submitted
            self._queue.append(call)
            self._entries += len(metrics) + len(params) + len(tags)
            if self._idle or self._entries >= WAKE_ENTRIES:
                self._idle = False
                self._wake.notify()
        return RunOperations(self, (call,))

    def _start(self) -> None:
        self._thread = threading.Thread(
            target=self._work, name="modelyard-async-logging", daemon=True
        )
        self._thread.start()

    def pending(self) -> bool:
        """True while queued calls are not yet written or errors are not yet raised."""
        return self._done < self._submitted or bool(self._errors)

    def wait(self) -> None:
        """Wait until every call queued so far is processed, without raising stored errors."""
        self._wait_for(self._submitted)

    def flush(self) -> None:
        """Wait until every call queued so far is written; raise a stored error, if any."""
        self.wait()
        self._raise_pending()

    def close(self) -> None:
        """Flush, then stop the background thread."""
        try:
            self.flush()
        finally:
            with self._lock:
                self._closed = True
                self._stop = True
                thread = self._thread
                self._wake.notify()
                self._cond.notify_all()
            if thread is not None and thread is not threading.current_thread():
                thread.join()

    def _wait_for(self, seq: int) -> None:
        if self._done >= seq:
            return
        with self._lock:
            if self._hurry < seq:
                self._hurry = seq
                self._wake.notify()
            while self._done < seq:
                if self._thread is None or not self._thread.is_alive():
                    raise RuntimeError("the asynchronous logging thread has stopped")
                self._cond.wait(timeout=1.0)

    def _raise_pending(self) -> None:
        with self._lock:
            if not self._errors:
                return
            errors, self._errors = self._errors, []
        first = errors[0][1]
        if len(errors) > 1:
            first.add_note(f"{len(errors) - 1} more asynchronous logging call(s) also failed")
        raise first

    def _raise_for(self, calls: Sequence[_Call]) -> None:
        ids = {id(c) for c in calls}
        with self._lock:
            mine = [e for c, e in self._errors if id(c) in ids]
            self._errors = [(c, e) for c, e in self._errors if id(c) not in ids]
        if mine:
            raise mine[0]

    # -- background thread -------------------------------------------------------------
    def _take(self) -> list[_Call] | None:
        """Block until there is something to send (None: stop); take a batch of calls."""
        monotonic = time.monotonic
        with self._lock:
            while not self._queue:
                if self._stop:
                    return None
                self._idle = True
                self._wake.wait()
            self._idle = False
            deadline = monotonic() + self.linger
            while (
                self._hurry <= self._taken
                and not self._stop
                and self._entries < WAKE_ENTRIES
                and len(self._queue) < self._max_queue
            ):
                remaining = deadline - monotonic()
                if remaining <= 0:
                    break
                self._wake.wait(remaining)
            queue = self._queue
            if len(queue) <= DRAIN_MAX_CALLS:
                calls, self._queue, self._entries = queue, [], 0
            else:
                calls, self._queue = queue[:DRAIN_MAX_CALLS], queue[DRAIN_MAX_CALLS:]
                self._entries = sum(c.size() for c in self._queue)
            self._taken = calls[-1].seq
            self._cond.notify_all()  # room in the queue
            return calls

    def _work(self) -> None:
        while True:
            calls = self._take()
            if calls is None:
                return
            try:
                self._process(calls)
            except BaseException as exc:  # never let the thread die with calls unaccounted
                for call in calls:
                    if call.error is None:
                        self._fail(call, exc)
            with self._lock:
                self._done += len(calls)
                self._cond.notify_all()

    def _process(self, calls: list[_Call]) -> None:
        by_run: dict[str, list[_Call]] = {}
        for call in calls:
            by_run.setdefault(call.run_id, []).append(call)
        for run_id, run_calls in by_run.items():
            for group in _coalesce(run_calls):
                if isinstance(group, _Call):
                    self._send_alone(group)
                    continue
                try:
                    self._send(
                        run_id,
                        group.metrics,
                        [Param(key=k, value=v) for k, v in group.params.items()],
                        [RunTag(key=k, value=v) for k, v in group.tags.items()],
                    )
                except Exception as exc:
                    if len(group.calls) == 1:
                        self._fail(group.calls[0], exc)
                    else:  # all or nothing: resend call by call so only the bad one fails
                        for call in group.calls:
                            self._send_alone(call)

    def _send_alone(self, call: _Call) -> None:
        try:
            for metrics, params, tags in split_batch(call.metrics, call.params, call.tags):
                self._send(call.run_id, metrics, params, tags)
        except Exception as exc:
            self._fail(call, exc)

    def _send(
        self,
        run_id: str,
        metrics: Sequence[Metric],
        params: Sequence[Param],
        tags: Sequence[RunTag],
    ) -> None:
        request_id = new_request_id()
        for delay in (*self.retry_delays, None):
            try:
                self._sender.log_batch(
                    run_id, metrics=metrics, params=params, tags=tags, request_id=request_id
                )
                return
            except Unavailable:
                if delay is None:
                    raise
                time.sleep(delay)

    def _fail(self, call: _Call, exc: BaseException) -> None:
        named = _named_error(exc, call)
        call.error = named
        with self._cond:
            self._errors.append((call, named))


def _coalesce(calls: list[_Call]) -> Iterator[_Merged | _Call]:
    """Group consecutive calls to one run into requests within the limits."""
    current: _Merged | None = None
    for call in calls:
        if current is not None and not call.params and not call.tags:
            # fast path for the common metrics-only call that fits the current request
            n_metrics = len(current.metrics) + len(call.metrics)
            if (
                n_metrics <= MAX_METRICS_PER_REQUEST
                and n_metrics + len(current.params) + len(current.tags) <= MAX_ENTRIES_PER_REQUEST
            ):
                current.calls.append(call)
                current.metrics.extend(call.metrics)
                continue
        if not call.fits_one_request():
            if current is not None:
                yield current
                current = None
            yield call
            continue
        if current is None or not current.can_add(call):
            if current is not None:
                yield current
            current = _Merged()
        current.add(call)
    if current is not None:
        yield current


def _register(logger: AsyncLogger) -> None:
    global _atexit_registered
    with _loggers_lock:
        _loggers.add(logger)
        if not _atexit_registered:
            atexit.register(_flush_at_exit)
            _atexit_registered = True


def _reset_after_fork() -> None:
    """In a forked child, the parent's writer thread is gone: calls queued before the fork
    belong to the parent (which writes them); the child starts with empty loggers."""
    global _loggers_lock
    _loggers_lock = threading.Lock()
    for logger in list(_loggers):
        logger._reset()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def flush_async_logging() -> None:
    """Wait until every asynchronous logging call of this process is written; raise errors."""
    with _loggers_lock:
        loggers = list(_loggers)
    first: BaseException | None = None
    for logger in loggers:
        try:
            logger.flush()
        except Exception as exc:
            first = first or exc
    if first is not None:
        raise first


def _flush_at_exit() -> None:
    with _loggers_lock:
        loggers = list(_loggers)
    for logger in loggers:
        try:
            logger.close()
        except Exception as exc:
            sys.stderr.write(f"modelyard: asynchronous logging failed at exit: {exc}\n")
            for note in getattr(exc, "__notes__", ()):
                sys.stderr.write(f"  {note}\n")
