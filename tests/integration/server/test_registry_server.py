"""The server's registry wiring: the new flags, health and reflection, the thread pool that
keeps watches off the ordinary workers, and a backend without a registry."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from click.testing import CliRunner
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from modelyard.cli import cli
from modelyard.server.assembly import REGISTRY_SERVICE
from modelyard.server.settings import ServerSettings

pytestmark = pytest.mark.integration


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[ServerSettings]:
    """Replace serve() so that `modelyard server` only parses its flags."""
    seen: list[ServerSettings] = []
    monkeypatch.setattr("modelyard.cli.server.serve", seen.append)
    monkeypatch.setattr("modelyard.cli.server.configure_logging", lambda level: None)
    return seen


def test_registry_flags_map_to_settings(captured: list[ServerSettings]) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "server",
            "--allowed-model-sources",
            "s3://models/prod",
            "--allowed-model-sources",
            "/srv/models",
            "--max-watches",
            "3",
            "--workers",
            "5",
        ],
    )
    assert result.exit_code == 0, result.output
    (settings,) = captured
    assert settings.allowed_model_sources == ("s3://models/prod", "/srv/models")
    assert settings.max_watches == 3
    assert settings.threads == 8  # workers + watches
    assert ServerSettings().max_watches == 16
    assert ServerSettings(artifacts_only=True, max_watches=4).threads == 16  # no watches there


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (["--allowed-model-sources", "s3://bucket/../x"], "s3://bucket/../x"),
        (["--allowed-model-sources", "http://example.com/m"], "http://example.com/m"),
        (["--allowed-model-sources", "s3://b/m?x=1"], "s3://b/m?x=1"),
        (["--max-watches", "-1"], "-1"),
    ],
)
def test_bad_registry_flags_are_usage_errors(
    captured: list[ServerSettings], args: list[str], shown: str
) -> None:
    result = CliRunner().invoke(cli, ["server", *args])
    assert result.exit_code == 2
    assert shown in result.output
    assert captured == []


def _services(channel: grpc.Channel) -> set[str]:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10
    )
    return {s.name for r in responses for s in r.list_services_response.service}


def _health(channel: grpc.Channel, service: str) -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10).status


def test_registry_service_reports_health_and_reflection(
    sqlite_uri: str, live_server: object, tmp_path: Path
) -> None:
    uri = live_server(sqlite_uri, artifacts_destination=str(tmp_path / "d"))  # type: ignore[operator]
    with grpc.insecure_channel(uri.removeprefix("grpc://")) as channel:
        assert REGISTRY_SERVICE in _services(channel)
        assert _health(channel, REGISTRY_SERVICE) == health_pb2.HealthCheckResponse.SERVING
    no_artifacts = live_server(sqlite_uri, serve_artifacts=False)  # type: ignore[operator]
    with grpc.insecure_channel(no_artifacts.removeprefix("grpc://")) as channel:
        assert _health(channel, REGISTRY_SERVICE) == health_pb2.HealthCheckResponse.SERVING


def test_a_backend_without_a_registry_refuses_registry_calls(
    sqlite_uri: str, live_server: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelyard import store_registry
    from modelyard.errors import Unimplemented
    from modelyard.registry.tracking import open_tracking_store
    from modelyard.store_registry import registry_store_for_uri

    def factory(uri: str, options: object) -> object:
        return open_tracking_store(sqlite_uri, options)  # type: ignore[arg-type]

    monkeypatch.setitem(store_registry._tracking_impls, "noreg", factory)
    uri = live_server("noreg://", serve_artifacts=False)  # type: ignore[operator]
    registry = registry_store_for_uri(uri)
    try:
        with pytest.raises(Unimplemented) as info:
            registry.search_registered_models()
        assert "noreg:" in info.value.message
        assert info.value.details["mode"] == "no-registry"
    finally:
        registry.close()
    with grpc.insecure_channel(uri.removeprefix("grpc://")) as channel:
        assert REGISTRY_SERVICE in _services(channel)
        with pytest.raises(grpc.RpcError):
            _health(channel, REGISTRY_SERVICE)  # not registered as SERVING: NOT_FOUND
