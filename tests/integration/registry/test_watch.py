"""WatchRegistryEvents through live servers: order, resuming from a cursor, two replicas on
one PostgreSQL, and the watch limit that leaves ordinary calls their workers."""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest

from modelyard.client.grpc_registry import GrpcRegistryStore
from modelyard.entities.model_registry import ModelStage, RegistryEvent, RegistryEventKind
from modelyard.errors import Code, ResourceExhausted, Unavailable
from modelyard.server import full
from modelyard.server.settings import ServerSettings
from modelyard.store_registry import registry_store_for_uri
from modelyard.v1 import registry_pb2 as rpb
from modelyard.v1 import registry_pb2_grpc as rpb_grpc
from tests.integration.registry.conftest import (
    CliServer,
    RegistryServer,
    close_server,
    open_server,
)

if TYPE_CHECKING:
    from tests.conftest import LiveServers

pytestmark = pytest.mark.integration

#: Generous bound for an event to travel (polling every ~0.2 s); never reached when it works.
ARRIVAL_TIMEOUT_S = 30.0

K = RegistryEventKind


class Collector:
    """Iterates a watch on a thread and collects its events (and cursors) as they arrive."""

    def __init__(self, watch: Iterator[tuple[list[RegistryEvent], int]]) -> None:
        self.watch = watch
        self.events: list[RegistryEvent] = []
        self.cursors: list[int] = []
        self.error: BaseException | None = None
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for batch, cursor in self.watch:
                with self._changed:
                    self.events.extend(batch)
                    self.cursors.append(cursor)
                    self._changed.notify_all()
        except BaseException as exc:
            self.error = exc
            with self._changed:
                self._changed.notify_all()

    def wait_for(self, count: int) -> list[RegistryEvent]:
        """The first `count` events, waiting for them to arrive."""
        deadline = time.monotonic() + ARRIVAL_TIMEOUT_S
        with self._changed:
            while len(self.events) < count and self.error is None:
                left = deadline - time.monotonic()
                assert left > 0, f"only {len(self.events)} of {count} events arrived"
                self._changed.wait(left)
        if self.error is not None:
            raise self.error
        return self.events[:count]

    def close(self) -> None:
        """Stop the watch and its thread."""
        self.watch.close()  # type: ignore[attr-defined]
        self._thread.join(10)
        assert not self._thread.is_alive()


def _promote(env: RegistryServer, name: str) -> list[RegistryEventKind]:
    """Create a version, transition it, set, move and delete an alias; the kinds expected."""
    run = env.new_run()
    source = env.log_model(run)
    env.registry.create_model_version(name, source)
    env.registry.create_model_version(name, source)
    env.registry.transition_model_version_stage(name, 1, ModelStage.STAGING)
    env.registry.set_registered_model_alias(name, "champion", 1)
    env.registry.set_registered_model_alias(name, "champion", 2)
    env.registry.delete_registered_model_alias(name, "champion")
    return [
        K.VERSION_CREATED,
        K.VERSION_CREATED,
        K.STAGE_TRANSITIONED,
        K.ALIAS_SET,
        K.ALIAS_SET,
        K.ALIAS_DELETED,
    ]


def test_events_arrive_in_order_while_watching(env: RegistryServer) -> None:
    name = f"watched-{time.time_ns()}"
    collector = Collector(env.registry.watch_registry_events(after_event_id=0, model_names=[name]))
    try:
        env.registry.create_registered_model(name)
        first = collector.wait_for(1)
        assert first[0].kind == K.MODEL_CREATED
        expected = [K.MODEL_CREATED, *_promote(env, name)]
        events = collector.wait_for(len(expected))
        assert [e.kind for e in events] == expected
        ids = [e.event_id for e in events]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        assert all(e.model_name == name for e in events)
        stage = events[3]
        assert (stage.version, stage.from_stage, stage.to_stage) == (
            1,
            ModelStage.NONE,
            ModelStage.STAGING,
        )
        moved = events[5]
        assert (moved.alias, moved.version, moved.previous_version) == ("champion", 2, 1)
        assert not moved.user_verified
        assert collector.cursors == sorted(collector.cursors)
    finally:
        collector.close()


def test_resume_from_a_cursor_misses_and_repeats_nothing(env: RegistryServer) -> None:
    name = env.new_model()
    expected = [K.MODEL_CREATED, *_promote(env, name)]
    first = Collector(env.registry.watch_registry_events(after_event_id=0, model_names=[name]))
    try:
        first.wait_for(3)
    finally:
        first.close()
    # The cursor of the last message received covers exactly the events received with it.
    cursor = first.cursors[-1]
    seen = [e for e in first.events if e.event_id <= cursor]
    assert seen == first.events
    env.registry.set_registered_model_alias(name, "prod", 2)
    expected.append(K.ALIAS_SET)
    second = Collector(
        env.registry.watch_registry_events(after_event_id=cursor, model_names=[name])
    )
    try:
        rest = second.wait_for(len(expected) - len(seen))
    finally:
        second.close()
    combined = seen + rest
    assert [e.kind for e in combined] == expected
    ids = [e.event_id for e in combined]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(e.event_id > cursor for e in rest)


def test_an_event_written_on_one_replica_is_seen_on_another(
    env: RegistryServer, live_server: LiveServers, tmp_path: Path
) -> None:
    other = open_server(live_server, env.backend_uri, tmp_path)
    try:
        name = f"replicated-{time.time_ns()}"
        collector = Collector(
            other.registry.watch_registry_events(after_event_id=0, model_names=[name])
        )
        try:
            env.registry.create_registered_model(name)  # written through server A
            env.registry.set_registered_model_tag(name, "k", "v")  # no event
            run = env.new_run()
            env.registry.create_model_version(name, env.log_model(run))
            events = collector.wait_for(2)
            assert [e.kind for e in events] == [K.MODEL_CREATED, K.VERSION_CREATED]
        finally:
            collector.close()
    finally:
        close_server(other)


def _eventually(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + ARRIVAL_TIMEOUT_S
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_the_watch_limit_leaves_ordinary_calls_their_workers(
    env: RegistryServer, live_server: LiveServers, tmp_path: Path
) -> None:
    limited = open_server(live_server, env.backend_uri, tmp_path, workers=2, max_watches=2)
    name = limited.new_model()  # at least one event exists for watches from 0
    watches = [
        Collector(limited.registry.watch_registry_events(after_event_id=0)) for _ in range(2)
    ]
    try:
        for watch in watches:
            watch.wait_for(1)  # streaming: each holds its slot
        third = limited.registry.watch_registry_events(after_event_id=0)
        with pytest.raises(ResourceExhausted) as info:
            next(third)
        assert info.value.code == Code.RESOURCE_EXHAUSTED
        assert "2" in info.value.message and "--max-watches" in info.value.message
        # Ordinary calls still run, also several at once, with both watches open.
        run = limited.new_run()
        source = limited.log_model(run)
        results: list[int] = []
        errors: list[BaseException] = []

        def create() -> None:
            try:
                results.append(limited.registry.create_model_version(name, source).version)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=create) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors
        assert sorted(results) == [1, 2, 3, 4]
        assert limited.registry.get_registered_model(name).name == name
        # Closing a watch frees its slot.
        watches.pop().close()

        def slot_free() -> bool:
            attempt = limited.registry.watch_registry_events(after_event_id=0)
            try:
                next(attempt)
            except ResourceExhausted:
                return False
            finally:
                attempt.close()  # type: ignore[attr-defined]
            return True

        _eventually(slot_free, "a closed watch never freed its slot")
    finally:
        for watch in watches:
            watch.close()
        close_server(limited)


def test_sigterm_ends_open_watches_and_the_server_exits(postgres_uri: str, tmp_path: Path) -> None:
    # A grace period far longer than the wait below: the server exits because the shutdown
    # ends its watches, not because the grace period ran out.
    server = CliServer(postgres_uri, tmp_path / "dest", tmp_path / "server.log", grace_seconds=600)
    # No reconnecting: the watch's end is reported as soon as the server is gone.
    registry = GrpcRegistryStore(server.uri, watch_reconnect_s=0)
    try:
        registry.create_registered_model("watched-at-shutdown")
        collector = Collector(registry.watch_registry_events(after_event_id=0))
        collector.wait_for(1)
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(60) == 0
        collector._thread.join(60)
        assert not collector._thread.is_alive()
        assert isinstance(collector.error, Unavailable), collector.error
    finally:
        server.stop()
        registry.close()


def test_a_refused_watch_gives_its_slot_back(
    env: RegistryServer, live_server: LiveServers, tmp_path: Path
) -> None:
    single = open_server(live_server, env.backend_uri, tmp_path, max_watches=1)
    try:
        stub = rpb_grpc.ModelRegistryServiceStub(single.channel)  # type: ignore[no-untyped-call]
        for _ in range(3):  # more refusals than slots
            bad = rpb.WatchRegistryEventsRequest(model_names=["a/b"], after_event_id=0)
            with pytest.raises(grpc.RpcError) as info:
                next(stub.WatchRegistryEvents(bad, timeout=30))
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "a/b" in (info.value.details() or "")
        single.new_model()
        watch = Collector(single.registry.watch_registry_events(after_event_id=0))
        try:
            watch.wait_for(1)
        finally:
            watch.close()
    finally:
        close_server(single)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_watch_resumes_on_a_restarted_server_without_loss_or_repeat(
    env: RegistryServer, tmp_path: Path
) -> None:
    port = _free_port()
    settings = ServerSettings(
        backend_store_uri=env.backend_uri,
        host="127.0.0.1",
        port=port,
        workers=4,
        artifacts_destination=str(env.destination),
        grace_seconds=1,
    )
    first = full.build(settings)
    first.server.start()
    registry = registry_store_for_uri(f"grpc://127.0.0.1:{port}")
    second = None
    name = env.new_model()
    try:
        collector = Collector(registry.watch_registry_events(after_event_id=0, model_names=[name]))
        collector.wait_for(1)
        # The replica goes away (as on SIGTERM): open watches end with UNAVAILABLE.
        first.health.enter_graceful_shutdown()
        first.server.stop(1).wait(10)
        first.close()
        # Meanwhile an event is written through another replica.
        run = env.new_run()
        env.registry.create_model_version(name, env.log_model(run))
        # A replica comes back at the same address; the watch reconnects from its cursor.
        second = full.build(settings)
        second.server.start()
        events = collector.wait_for(2)
        assert [e.kind for e in events] == [K.MODEL_CREATED, K.VERSION_CREATED]
        env.registry.set_registered_model_alias(name, "a", 1)
        events = collector.wait_for(3)
        assert [e.kind for e in events] == [K.MODEL_CREATED, K.VERSION_CREATED, K.ALIAS_SET]
        assert len({e.event_id for e in events}) == 3
        collector.close()
    finally:
        registry.close()
        if second is not None:
            second.server.stop(1).wait(10)
            second.close()
