"""The gRPC server: health, reflection, TLS, status codes on bad input, graceful shutdown and
the --artifacts-only mode. Servers bind 127.0.0.1:0; nothing asserts on wall-clock time."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from modelyard import errors
from modelyard.config import client_config
from modelyard.entities import Metric, Param, RunTag
from modelyard.server import artifacts_only, full
from modelyard.server.settings import ServerSettings
from modelyard.store_registry import tracking_store_for_uri
from modelyard.stores import LogBatch, TrackingStore
from modelyard.v1 import tracking_pb2 as pb
from modelyard.v1 import tracking_pb2_grpc as pb_grpc
from modelyard.wire import status as wire_status

pytestmark = pytest.mark.integration

TRACKING = "modelyard.v1.TrackingService"
CALL_TIMEOUT = 30  # seconds; a safety net against hangs, never an assertion


@contextmanager
def running(settings: ServerSettings, mode=full) -> Iterator[int]:
    """Start a server of `mode` in this process; yield its port; stop it."""
    bundle = mode.build(settings)
    bundle.server.start()
    try:
        yield bundle.port
    finally:
        bundle.server.stop(None)
        bundle.close()


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    db = tmp_path_factory.mktemp("server") / "modelyard.db"
    with running(ServerSettings(backend_store_uri=f"sqlite:///{db}", port=0)) as bound:
        yield bound


@pytest.fixture(scope="module")
def channel(port: int) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield ch


@pytest.fixture(scope="module")
def stub(channel: grpc.Channel) -> pb_grpc.TrackingServiceStub:
    return pb_grpc.TrackingServiceStub(channel)


@pytest.fixture(scope="module")
def store(port: int) -> Iterator[TrackingStore]:
    s = tracking_store_for_uri(f"grpc://127.0.0.1:{port}")
    yield s
    s.close()


def health_status(channel: grpc.Channel, service: str = "") -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=CALL_TIMEOUT).status


def rpc_error(call, request) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call(request, timeout=CALL_TIMEOUT)
    return info.value


def reason_of(err: grpc.RpcError) -> str:
    from grpc_status import rpc_status

    info = wire_status.error_info(rpc_status.from_call(err))
    assert info is not None
    return info.reason


# -- health and reflection ---------------------------------------------------------------


def test_health_reports_serving(channel: grpc.Channel) -> None:
    assert health_status(channel) == health_pb2.HealthCheckResponse.SERVING
    assert health_status(channel, TRACKING) == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_the_services(channel: grpc.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    requests = iter(
        [
            reflection_pb2.ServerReflectionRequest(list_services=""),
            reflection_pb2.ServerReflectionRequest(file_containing_symbol=TRACKING),
        ]
    )
    listed, described = list(stub.ServerReflectionInfo(requests, timeout=CALL_TIMEOUT))
    names = {s.name for s in listed.list_services_response.service}
    assert {TRACKING, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= names
    assert described.file_descriptor_response.file_descriptor_proto


# -- the store through the server --------------------------------------------------------


def test_round_trip_through_the_server(store: TrackingStore) -> None:
    experiment_id = store.create_experiment("server-round-trip", tags={"team": "a"})
    run = store.create_run(experiment_id=experiment_id, run_name="r1", tags={"t": "1"})
    run_id = run.info.run_id
    store.log_metric(run_id, Metric(key="nan", value=math.nan, timestamp=1, step=0))
    store.log_metric(run_id, Metric(key="inf", value=-math.inf, timestamp=1, step=0))
    store.log_param(run_id, Param(key="p", value="v"))
    store.set_tag(run_id, RunTag(key="k", value="v"))
    store.log_batch(run_id, metrics=[Metric(key="m", value=2.5, timestamp=3, step=1)])
    got = store.get_run(run_id)
    assert math.isnan(got.data.metrics["nan"])
    assert got.data.metrics["inf"] == -math.inf
    assert got.data.metrics["m"] == 2.5
    assert got.data.params == {"p": "v"}
    assert got.data.tags["k"] == "v"
    history, token = store.get_metric_history(run_id, "m")
    assert (list(history.values), token) == ([2.5], None)
    assert store.get_experiment_by_name("server-round-trip").experiment_id == experiment_id
    assert store.get_experiment_by_name("no such experiment") is None


def test_stream_log_batches_names_the_refused_batch(store: TrackingStore) -> None:
    experiment_id = store.create_experiment("server-stream")
    run_id = store.create_run(experiment_id=experiment_id).info.run_id
    good = [
        LogBatch(run_id=run_id, metrics=[Metric(key="s", value=float(i), timestamp=1, step=i)])
        for i in range(3)
    ]
    assert store.log_batches(good) == 3
    bad = [
        *good[:1],
        LogBatch(run_id=run_id, params=[Param(key="p", value="1")]),
        LogBatch(run_id=run_id, params=[Param(key="p", value="2")]),
    ]
    with pytest.raises(errors.ParamAlreadyLogged) as info:
        store.log_batches(bad)
    assert info.value.details["batch_index"] == "2"
    assert store.get_run(run_id).data.params == {"p": "1"}


# -- status codes for raw gRPC callers ----------------------------------------------------


def test_malformed_run_id_is_invalid_argument(stub: pb_grpc.TrackingServiceStub) -> None:
    err = rpc_error(stub.GetRun, pb.GetRunRequest(run_id="../etc/passwd"))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "../etc/passwd" in err.details()


def test_batch_over_the_limits_is_invalid_argument(
    stub: pb_grpc.TrackingServiceStub, store: TrackingStore
) -> None:
    experiment_id = store.create_experiment("server-limits")
    run_id = store.create_run(experiment_id=experiment_id).info.run_id
    metrics = [pb.Metric(key=f"m{i}", value=1.0, timestamp=1) for i in range(1001)]
    err = rpc_error(stub.LogBatch, pb.LogBatchRequest(run_id=run_id, metrics=metrics))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "1001" in err.details()
    assert store.get_run(run_id).data.metrics == {}


def test_bad_key_is_invalid_argument_naming_it(
    stub: pb_grpc.TrackingServiceStub, store: TrackingStore
) -> None:
    experiment_id = store.create_experiment("server-bad-key")
    run_id = store.create_run(experiment_id=experiment_id).info.run_id
    request = pb.LogMetricRequest(run_id=run_id, metric=pb.Metric(key="a/../b", value=1.0))
    err = rpc_error(stub.LogMetric, request)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "a/../b" in err.details()


def test_unknown_ids_are_not_found(stub: pb_grpc.TrackingServiceStub) -> None:
    err = rpc_error(stub.GetRun, pb.GetRunRequest(run_id="0" * 32))
    assert (err.code(), reason_of(err)) == (grpc.StatusCode.NOT_FOUND, "RUN_NOT_FOUND")
    err = rpc_error(stub.GetExperimentByName, pb.GetExperimentByNameRequest(name="missing"))
    assert (err.code(), reason_of(err)) == (grpc.StatusCode.NOT_FOUND, "EXPERIMENT_NOT_FOUND")
    assert "missing" in err.details()


def test_duplicate_name_and_deleted_run(
    stub: pb_grpc.TrackingServiceStub, store: TrackingStore
) -> None:
    store.create_experiment("server-dup")
    err = rpc_error(stub.CreateExperiment, pb.CreateExperimentRequest(name="server-dup"))
    assert err.code() == grpc.StatusCode.ALREADY_EXISTS
    with pytest.raises(errors.ExperimentAlreadyExists):
        store.create_experiment("server-dup")
    experiment_id = store.get_experiment_by_name("server-dup").experiment_id
    run_id = store.create_run(experiment_id=experiment_id).info.run_id
    store.delete_run(run_id)
    err = rpc_error(
        stub.LogParam, pb.LogParamRequest(run_id=run_id, param=pb.Param(key="a", value="b"))
    )
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_changed_param_is_invalid_argument(store: TrackingStore) -> None:
    experiment_id = store.create_experiment("server-param")
    run_id = store.create_run(experiment_id=experiment_id).info.run_id
    store.log_param(run_id, Param(key="lr", value="0.1"))
    with pytest.raises(errors.ParamAlreadyLogged) as info:
        store.log_param(run_id, Param(key="lr", value="0.2"))
    assert "0.2" in str(info.value)


# -- TLS ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_tls_with_a_self_signed_certificate(certificate: tuple[Path, Path], tmp_path: Path) -> None:
    cert, key = certificate
    settings = ServerSettings(
        backend_store_uri=f"sqlite:///{tmp_path / 'tls.db'}",
        port=0,
        tls_cert=str(cert),
        tls_key=str(key),
    )
    with running(settings) as bound:
        config = client_config(
            {"MODELYARD_TLS_CA_FILE": str(cert), "MODELYARD_GRPC_MAX_RETRIES": "0"}
        )
        from modelyard.client.grpc_stores import GrpcTrackingStore

        secure = GrpcTrackingStore(f"grpcs://127.0.0.1:{bound}", config=config)
        try:
            assert secure.get_experiment("0").name == "Default"
        finally:
            secure.close()
        # Without the CA the certificate is not trusted; plaintext is refused too.
        no_ca = client_config({"MODELYARD_GRPC_MAX_RETRIES": "0", "MODELYARD_GRPC_TIMEOUT": "10"})
        for uri in (f"grpcs://127.0.0.1:{bound}", f"grpc://127.0.0.1:{bound}"):
            untrusted = GrpcTrackingStore(uri, config=no_ca)
            try:
                with pytest.raises(errors.Unavailable):
                    untrusted.get_experiment("0")
            finally:
                untrusted.close()


# -- --artifacts-only ---------------------------------------------------------------------


def test_artifacts_only_answers_unimplemented_naming_the_mode() -> None:
    with running(ServerSettings(port=0, artifacts_only=True), artifacts_only) as bound:
        with grpc.insecure_channel(f"127.0.0.1:{bound}") as ch:
            assert health_status(ch) == health_pb2.HealthCheckResponse.SERVING
            stub = pb_grpc.TrackingServiceStub(ch)
            err = rpc_error(stub.GetExperiment, pb.GetExperimentRequest(experiment_id="0"))
            assert err.code() == grpc.StatusCode.UNIMPLEMENTED
            assert "--artifacts-only" in err.details()
            assert reason_of(err) == "UNIMPLEMENTED"
            stream_err = rpc_error(stub.StreamLogBatches, iter([pb.LogBatchRequest()]))
            assert stream_err.code() == grpc.StatusCode.UNIMPLEMENTED
        store = tracking_store_for_uri(f"grpc://127.0.0.1:{bound}")
        try:
            with pytest.raises(errors.Unimplemented, match="artifacts-only"):
                store.get_experiment("0")
        finally:
            store.close()


# -- processes: the CLI, SIGTERM, sys.modules ---------------------------------------------


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("MODELYARD_TRACKING_URI", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@contextmanager
def server_process(args: list[str], cwd: Path, **kwargs) -> Iterator[tuple[subprocess.Popen, int]]:
    """Run a server subprocess, wait for its "listening on" line, yield it and its port."""
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=cwd,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )
    try:
        line = proc.stdout.readline()
        assert "modelyard server listening on 127.0.0.1:" in line, (
            line + proc.stderr.read() if proc.poll() is not None else line
        )
        yield proc, int(line.rsplit(":", 1)[1])
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=CALL_TIMEOUT)
        for stream in (proc.stdout, proc.stderr, proc.stdin):
            if stream is not None:
                stream.close()


def test_cli_starts_prints_its_port_and_logs_json(tmp_path: Path) -> None:
    args = [
        "-m",
        "modelyard",
        "server",
        "--port",
        "0",
        "--http-port",
        "0",
        "--log-level",
        "debug",
        "--backend-store-uri",
        f"sqlite:///{tmp_path / 'cli.db'}",
    ]
    with server_process(args, tmp_path) as (proc, bound):
        with grpc.insecure_channel(f"127.0.0.1:{bound}") as ch:
            assert health_status(ch) == health_pb2.HealthCheckResponse.SERVING
            stub = pb_grpc.TrackingServiceStub(ch)
            rpc_error(stub.GetRun, pb.GetRunRequest(run_id="f" * 32))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=CALL_TIMEOUT) == 0
        lines = [json.loads(line) for line in proc.stderr.read().splitlines() if line.strip()]
    calls = {(r.get("method"), r.get("code")) for r in lines}
    assert ("/grpc.health.v1.Health/Check", "OK") in calls
    assert (f"/{TRACKING}/GetRun", "NOT_FOUND") in calls
    assert all("duration_ms" in r for r in lines if "method" in r)


ARTIFACTS_ONLY_PROBE = textwrap.dedent(
    """
    import sys, threading
    from modelyard.cli import main

    def probe():
        sys.stdin.readline()
        unwanted = ("sqlalchemy", "alembic", "modelyard.registry.", "modelyard.server.full")
        loaded = sorted(
            m for m in sys.modules if m.startswith(unwanted) or m == "modelyard.registry"
        )
        print("LOADED " + ",".join(loaded), flush=True)

    threading.Thread(target=probe, daemon=True).start()
    main(["server", "--artifacts-only", "--port", "0", "--http-port", "0"])
    """
)


def test_artifacts_only_process_never_imports_sqlalchemy(tmp_path: Path) -> None:
    args = ["-c", ARTIFACTS_ONLY_PROBE]
    with server_process(args, tmp_path, stdin=subprocess.PIPE) as (proc, bound):
        with grpc.insecure_channel(f"127.0.0.1:{bound}") as ch:
            stub = pb_grpc.TrackingServiceStub(ch)
            err = rpc_error(stub.CreateRun, pb.CreateRunRequest(experiment_id="0"))
            assert err.code() == grpc.StatusCode.UNIMPLEMENTED
        proc.stdin.write("\n")
        proc.stdin.flush()
        probe = proc.stdout.readline()
        while probe.startswith("web UI"):  # the HTTP side's address line
            probe = proc.stdout.readline()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=CALL_TIMEOUT) == 0
    assert probe.strip() == "LOADED"


SLOW_SERVER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from modelyard.entities import Experiment
    from modelyard.server.serve import serve
    from modelyard.server.settings import ServerSettings
    from modelyard.store_registry import register_tracking_store
    from modelyard.stores import TrackingStore

    started, release = Path(sys.argv[1]), Path(sys.argv[2])

    def get_experiment(self, experiment_id):
        started.write_text("in flight")
        for _ in range(6000):  # at most a minute
            if release.exists():
                break
            time.sleep(0.01)
        return Experiment(experiment_id=experiment_id, name="slow", artifact_location="x")

    def unused(self, *args, **kwargs):
        raise NotImplementedError

    methods = {name: unused for name in TrackingStore.__abstractmethods__}
    methods.update(__init__=lambda self, uri, options: None, get_experiment=get_experiment)
    register_tracking_store("slow", type("SlowStore", (TrackingStore,), methods))
    serve(ServerSettings(backend_store_uri="slow://", port=0, workers=2, grace_seconds=60))
    """
)


def test_sigterm_lets_the_in_flight_call_finish(tmp_path: Path) -> None:
    started, release = tmp_path / "started", tmp_path / "release"
    args = ["-c", SLOW_SERVER, str(started), str(release)]
    with server_process(args, tmp_path) as (proc, bound):
        with grpc.insecure_channel(f"127.0.0.1:{bound}") as ch:
            stub = pb_grpc.TrackingServiceStub(ch)
            future = stub.GetExperiment.future(
                pb.GetExperimentRequest(experiment_id="7"), timeout=120
            )
            done = threading.Event()
            future.add_done_callback(lambda _: done.set())
            for _ in range(3000):
                if started.exists() or done.wait(0.01):
                    break
            assert started.exists(), "the call never reached the store"
            proc.send_signal(signal.SIGTERM)
            # Wait until the server is draining: health says NOT_SERVING or refuses calls.
            with grpc.insecure_channel(f"127.0.0.1:{bound}") as probe:
                for _ in range(3000):
                    try:
                        status = health_status(probe)
                    except grpc.RpcError:
                        break
                    if status != health_pb2.HealthCheckResponse.SERVING:
                        break
                    done.wait(0.01)
            assert not done.is_set()
            release.write_text("go")
            response = future.result(timeout=120)
        assert response.experiment.name == "slow"
        assert proc.wait(timeout=120) == 0
