"""Registry history (a model's events, keyset-paged with signed tokens) and the event watch.

The watch polls `id > cursor` on a short read transaction every `POLL_S`. Event ids come
from an autoincrement column, so a transaction that has taken an id but not yet committed
leaves a hole below ids that are already visible. The watch never delivers past a hole
younger than `GAP_TIMEOUT_S`: it re-reads it on every poll and delivers it in order once
it commits; a hole older than that (a rolled-back transaction) is skipped. So a watcher
that resumes from the cursor it was given neither misses nor repeats an event, across any
number of server replicas writing to the same database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from sqlalchemy import func, select

from modelyard.entities import PagedList
from modelyard.entities.model_registry import (
    RegistryEvent,
    RegistryEventKind,
    event_kind_number,
)
from modelyard.registry.engine import Database
from modelyard.registry.model_registry.common import EVENTS, fetch_model, to_event
from modelyard.registry.search import PageTokens, query_fingerprint

#: Seconds between two polls of a watch.
POLL_S = 0.2
#: Seconds a hole in the event ids is waited for before it is taken as a rollback.
GAP_TIMEOUT_S = 5.0
#: Rows read per poll.
POLL_BATCH = 500


def list_registry_history(
    db: Database,
    tokens: PageTokens,
    name: str,
    *,
    kinds: Sequence[RegistryEventKind],
    version: int | None,
    max_results: int,
    page_token: str | None,
) -> PagedList[RegistryEvent]:
    """A model's events (by its id, so renames keep them), oldest first, one page.

    Raises:
        RegisteredModelNotFound: unknown name.
        InvalidPageToken: the token was not issued for this query.
    """
    numbers = sorted({event_kind_number(k) for k in (kinds or RegistryEventKind.history_default())})
    with db.read() as conn:
        model = fetch_model(conn, name)
        fingerprint = query_fingerprint("registry_history", int(model.id), numbers, version)
        after = tokens.decode(page_token, fingerprint)
        stmt = select(EVENTS).where(
            EVENTS.c.model_id == model.id, EVENTS.c.kind.in_(numbers), EVENTS.c.id > after
        )
        if version is not None:
            stmt = stmt.where(EVENTS.c.version == version)
        rows = conn.execute(stmt.order_by(EVENTS.c.id).limit(max_results + 1)).all()
    page = [to_event(r) for r in rows[:max_results]]
    token = None
    if len(rows) > max_results:
        token = tokens.encode(page[-1].event_id, fingerprint)
    return PagedList(page, token)


def last_event_id(db: Database) -> int:
    """The highest committed event id (0 when there is none)."""
    with db.read() as conn:
        return int(conn.execute(select(func.max(EVENTS.c.id))).scalar() or 0)


class EventWatch:
    """An iterator of (events, cursor) that polls the events table; `close()` stops it.

    `close()` may be called from any thread; a `next()` waiting for events returns
    (StopIteration) within one poll interval.
    """

    def __init__(
        self,
        db: Database,
        *,
        after_event_id: int | None,
        model_names: Sequence[str],
        kinds: Sequence[RegistryEventKind],
        heartbeat_s: float,
        poll_s: float = POLL_S,
        gap_timeout_s: float = GAP_TIMEOUT_S,
    ) -> None:
        self._db = db
        self.cursor = last_event_id(db) if after_event_id is None else int(after_event_id)
        self._names = frozenset(model_names)
        self._kinds = frozenset(kinds)
        self._heartbeat_s = heartbeat_s
        self._poll_s = poll_s
        self._gap_timeout_s = gap_timeout_s
        #: Holes (first id, last id) below visible ids -> when first seen (monotonic).
        self._holes: dict[tuple[int, int], float] = {}
        self._stop = threading.Event()
        self._last_yield = time.monotonic()

    def __iter__(self) -> EventWatch:
        """The watch itself."""
        return self

    def __next__(self) -> tuple[list[RegistryEvent], int]:
        """The next batch of events, or a heartbeat ([], cursor); StopIteration once closed."""
        while not self._stop.is_set():
            events = self._poll()
            now = time.monotonic()
            if events or now - self._last_yield >= self._heartbeat_s:
                self._last_yield = now
                return events, self.cursor
            wait = min(self._poll_s, max(0.0, self._heartbeat_s - (now - self._last_yield)))
            if self._stop.wait(wait):
                break
        raise StopIteration

    def close(self) -> None:
        """Stop the watch (thread-safe)."""
        self._stop.set()

    @property
    def closed(self) -> bool:
        """True once close() was called."""
        return self._stop.is_set()

    def __enter__(self) -> EventWatch:
        """Use as a context manager that closes the watch."""
        return self

    def __exit__(self, *_exc: object) -> None:
        """Close the watch."""
        self.close()

    def _wanted(self, event: RegistryEvent) -> bool:
        if self._kinds and event.kind not in self._kinds:
            return False
        if self._names:
            return event.model_name in self._names or event.new_model_name in self._names
        return True

    def _poll(self) -> list[RegistryEvent]:
        """Read committed events after the cursor; deliver them in order up to a young hole."""
        with self._db.read() as conn:
            rows = conn.execute(
                select(EVENTS)
                .where(EVENTS.c.id > self.cursor)
                .order_by(EVENTS.c.id)
                .limit(POLL_BATCH)
            ).all()
        now = time.monotonic()
        out: list[RegistryEvent] = []
        for row in rows:
            event_id = int(row.id)
            if event_id > self.cursor + 1 and (
                self._hole_age(self.cursor + 1, event_id - 1, now) < self._gap_timeout_s
            ):
                break
            event = to_event(row)
            if self._wanted(event):
                out.append(event)
            self.cursor = event_id
        if self._holes:
            self._holes = {h: t for h, t in self._holes.items() if h[1] > self.cursor}
        return out

    def _hole_age(self, first: int, last: int, now: float) -> float:
        """Seconds since any part of the hole [first, last] was first seen."""
        seen = now
        for (a, b), t in self._holes.items():
            if a <= last and first <= b:
                seen = min(seen, t)
        self._holes[(first, last)] = seen
        return now - seen
