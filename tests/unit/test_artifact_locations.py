"""Artifact locations: the canonical form, the root policy, and joining roots with ids."""

from __future__ import annotations

import pytest

from modelyard.artifact_uris import join_artifact_uri
from modelyard.artifacts.locations import (
    ArtifactRootPolicy,
    CanonicalLocation,
    canonical_location,
    is_policy_root,
)
from modelyard.errors import InvalidArgument, PermissionDenied

ACCOUNT_HOST = "acct.blob.core.windows.net"


# -- join ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("root", "parts", "expected"),
    [
        ("modelyard-artifacts:/", ("1",), "modelyard-artifacts:/1"),
        ("modelyard-artifacts:", ("1",), "modelyard-artifacts:/1"),
        ("modelyard-artifacts://h:5/", ("1",), "modelyard-artifacts://h:5/1"),
        ("s3://b/p/", ("1",), "s3://b/p/1"),
        ("s3://b/p", ("1",), "s3://b/p/1"),
        ("s3://b", ("1",), "s3://b/1"),
        ("s3://b/", ("1", "r", "artifacts"), "s3://b/1/r/artifacts"),
        ("file:///", ("0",), "file:///0"),
        ("file:///srv/a", ("0",), "file:///srv/a/0"),
        ("/srv/a/", ("0",), "/srv/a/0"),
        ("/", ("0",), "/0"),
        ("s3://b/p", ("/x/", "", "y"), "s3://b/p/x/y"),
        ("s3://b/p/", (), "s3://b/p/"),
    ],
)
def test_join_artifact_uri(root: str, parts: tuple[str, ...], expected: str) -> None:
    assert join_artifact_uri(root, *parts) == expected


def test_join_refuses_an_empty_root() -> None:
    with pytest.raises(ValueError):
        join_artifact_uri("", "1")


# -- canonical form ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "canonical"),
    [
        ("s3://bucket", CanonicalLocation("s3", ("bucket",), ())),
        ("s3://bucket/", CanonicalLocation("s3", ("bucket",), ())),
        ("S3://bucket/a/b/", CanonicalLocation("s3", ("bucket",), ("a", "b"))),
        (
            f"wasbs://cont@{ACCOUNT_HOST}/a",
            CanonicalLocation("azure", ("acct", "core.windows.net", "cont"), ("a",)),
        ),
        (
            "abfss://cont@ACCT.dfs.core.windows.net/a",
            CanonicalLocation("azure", ("acct", "core.windows.net", "cont"), ("a",)),
        ),
        ("modelyard-artifacts:/", CanonicalLocation("modelyard-artifacts", ("",), ())),
        ("modelyard-artifacts:/1/r", CanonicalLocation("modelyard-artifacts", ("",), ("1", "r"))),
        (
            "modelyard-artifacts://Host:0050/x",
            CanonicalLocation("modelyard-artifacts", ("host:50",), ("x",)),
        ),
    ],
)
def test_canonical_forms(location: str, canonical: CanonicalLocation) -> None:
    assert canonical_location(location) == canonical


@pytest.mark.parametrize(
    "location",
    [
        "file:///etc",
        "FILE:///etc",
        "file:relative",
        "/etc/passwd",
        "relative/path",
        "C:/Windows",
        "http://169.254.169.254/latest",
        "https://example.com/x",
        "ftp://host/x",
        "gs://bucket/x",
        "hdfs://nn/x",
        "s3a://bucket/x",
        "mlflow-artifacts:/x",
        "runs:/abc/x",
    ],
)
def test_locations_that_can_never_be_allowed_are_permission_denied(location: str) -> None:
    with pytest.raises(PermissionDenied) as info:
        canonical_location(location)
    assert repr(location) in str(info.value)
    assert info.value.details["location"] == location


@pytest.mark.parametrize(
    "location",
    [
        "s3://bucket/a?versionId=1",
        "s3://bucket/a#frag",
        "s3://bucket/a;type=x",
        "s3://user@bucket/a",
        "s3://user:pw@bucket/a",
        "s3://bucket:9000/a",
        "s3://-bucket/a",
        "s3://bucket_/a",
        "s3://a..b/a",
        "s3:bucket/a",
        "s3://bucket/a/../b",
        "s3://bucket/./a",
        "s3://bucket/a//b",
        "s3://bucket/%2e%2e/b",
        "s3://bucket/a%2fb",
        "s3://bucket/a%252fb",
        "s3://bucket/a\\b",
        "s3://bucket/a\x00b",
        "s3://bucket/a\nb",
        "s3://bucket/a\x7fb",
        "s3://bucket/a\x85b",
        "s3:///a",
        "az://cont/a",
        "wasbs://cont/a",
        "wasbs://cont@acct.example.com/a",
        "wasbs://cont@acct.blob.core.windows.net:443/a",
        "wasbs://cont@a@acct.blob.core.windows.net/a",
        "wasbs://Cont@acct.blob.core.windows.net/a",
        "wasbs://cont@ac.blob.core.windows.net/a",
        "modelyard-artifacts:x",
        "modelyard-artifacts://host/x",
        "modelyard-artifacts://u@host:1/x",
        "modelyard-artifacts:/a/../b",
        "",
        "s3://bucket/" + "a" * 2100,
    ],
)
def test_malformed_locations_are_invalid_argument(location: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        canonical_location(location)
    assert info.value.details["location"] == location
    if location:
        assert repr(location)[:60] in str(info.value)


# -- the policy ------------------------------------------------------------------------------


@pytest.fixture
def policy() -> ArtifactRootPolicy:
    return ArtifactRootPolicy(
        ["s3://team-bucket/exp", f"wasbs://cont@{ACCOUNT_HOST}/models"],
        implicit_roots=["file:///srv/mlartifacts", "modelyard-artifacts:/"],
    )


@pytest.mark.parametrize(
    "location",
    [
        "s3://team-bucket/exp",
        "s3://team-bucket/exp/",
        "s3://team-bucket/exp/a/b",
        f"wasbs://cont@{ACCOUNT_HOST}/models/x",
        "wasb://cont@acct.blob.core.windows.net/models/x",
        "abfss://cont@acct.dfs.core.windows.net/models/x",
        "modelyard-artifacts:/5",
        "modelyard-artifacts:/",
    ],
)
def test_policy_accepts_locations_under_allowed_roots(
    policy: ArtifactRootPolicy, location: str
) -> None:
    assert policy.check(location) == location
    assert policy.allows(location)


@pytest.mark.parametrize(
    "location",
    [
        "s3://team-bucket/expx",  # segment-wise, not string prefix
        "s3://team-bucket/other",
        "s3://team-bucket",
        "s3://other-bucket/exp",
        "wasbs://cont@other.blob.core.windows.net/models/x",  # another account
        "wasbs://cont@acct.blob.core.chinacloudapi.cn/models/x",  # another cloud
        "wasbs://other@acct.blob.core.windows.net/models/x",
        "modelyard-artifacts://evil:1/5",
        "file:///srv/mlartifacts/1",  # the destination itself is never a client location
        "http://team-bucket/exp",
    ],
)
def test_policy_refuses_locations_outside(policy: ArtifactRootPolicy, location: str) -> None:
    with pytest.raises(PermissionDenied) as info:
        policy.check(location)
    assert repr(location) in str(info.value)
    assert not policy.allows(location)


@pytest.mark.parametrize("location", ["s3://nope/x", "file:///etc", "/etc", "http://h/x"])
def test_refusal_names_the_allowed_roots(policy: ArtifactRootPolicy, location: str) -> None:
    with pytest.raises(PermissionDenied) as info:
        policy.check(location)
    assert "s3://team-bucket/exp" in str(info.value)
    assert info.value.details["location"] == location
    assert "file:" not in info.value.details["allowed_roots"]


def test_policy_roots_skip_implicit_roots_that_cannot_be_client_locations() -> None:
    policy = ArtifactRootPolicy([], implicit_roots=["/srv/a", "az://c/x", "s3://b-b-b/"])
    assert policy.roots == ("s3://b-b-b/",)


def test_explicit_allowed_roots_must_be_valid() -> None:
    with pytest.raises(PermissionDenied):
        ArtifactRootPolicy(["file:///srv"])
    with pytest.raises(InvalidArgument):
        ArtifactRootPolicy(["s3://bucket?x=1"])


def test_no_roots_refuses_everything() -> None:
    with pytest.raises(PermissionDenied, match="allowed: none"):
        ArtifactRootPolicy([]).check("s3://bucket/x")


def test_is_policy_root() -> None:
    assert is_policy_root("s3://bucket/p")
    assert not is_policy_root("file:///x")
    assert not is_policy_root("s3://bucket/p?x")
