"""Tracking URIs of the gRPC client and the UNAVAILABLE retry loop (no network)."""

from __future__ import annotations

import grpc
import pytest

from modelyard.client.channel import (
    RetryPolicy,
    Target,
    call_with_retries,
    create_channel,
    parse_target,
)
from modelyard.config import client_config
from modelyard.errors import InvalidArgument


class Failure(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode) -> None:
        self._code = code

    def code(self) -> grpc.StatusCode:
        return self._code


@pytest.mark.parametrize(
    ("uri", "target"),
    [
        ("grpc://127.0.0.1:50051", Target("127.0.0.1", 50051, False)),
        ("grpc://localhost", Target("localhost", 50051, False)),
        ("grpcs://tracking.example.com", Target("tracking.example.com", 443, True)),
        ("GRPCS://h:8443/", Target("h", 8443, True)),
        ("grpc://[::1]:7000", Target("::1", 7000, False)),
    ],
)
def test_parse_target(uri: str, target: Target) -> None:
    assert parse_target(uri) == target


def test_ipv6_address_is_bracketed() -> None:
    assert Target("::1", 7000, False).address == "[::1]:7000"


@pytest.mark.parametrize(
    "uri",
    ["http://h:1", "grpc://", "grpc://h:notaport", "grpc://h:1/path", "grpc://h:1?x=1"],
)
def test_bad_uris_are_invalid_argument(uri: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_target(uri)


def test_missing_ca_file_is_invalid_argument(tmp_path) -> None:
    config = client_config({"MODELYARD_TLS_CA_FILE": str(tmp_path / "missing.pem")})
    with pytest.raises(InvalidArgument, match=r"missing\.pem"):
        create_channel("grpcs://127.0.0.1:1", config)


def test_retries_unavailable_with_growing_jittered_backoff() -> None:
    calls, sleeps = [], []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 4:
            raise Failure(grpc.StatusCode.UNAVAILABLE)
        return "ok"

    policy = RetryPolicy(max_retries=5, initial_backoff=0.1, max_backoff=0.3, multiplier=2.0)
    assert call_with_retries(flaky, policy, sleep=sleeps.append) == "ok"
    assert len(calls) == 4
    assert len(sleeps) == 3
    for attempt, slept in enumerate(sleeps):
        assert 0.0 <= slept <= min(0.3, 0.1 * 2**attempt)


def test_gives_up_after_max_retries() -> None:
    sleeps: list[float] = []

    def down() -> None:
        raise Failure(grpc.StatusCode.UNAVAILABLE)

    with pytest.raises(Failure):
        call_with_retries(down, RetryPolicy(max_retries=2), sleep=sleeps.append)
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    "code",
    [grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INTERNAL],
)
def test_other_codes_are_not_retried(code: grpc.StatusCode) -> None:
    calls: list[int] = []

    def refused() -> None:
        calls.append(1)
        raise Failure(code)

    with pytest.raises(Failure):
        call_with_retries(refused, RetryPolicy(), sleep=lambda s: None)
    assert calls == [1]


def test_jitter_is_full_range() -> None:
    policy = RetryPolicy(initial_backoff=1.0, max_backoff=10.0)
    assert policy.delay(3, rng=lambda lo, hi: hi) == 8.0
    assert policy.delay(10, rng=lambda lo, hi: hi) == 10.0
    assert policy.delay(0, rng=lambda lo, hi: lo) == 0.0
