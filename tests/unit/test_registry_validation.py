"""Pure rules of the model registry: names, versions, stages, aliases, tags, manifest digest."""

from __future__ import annotations

import hashlib

import pytest

from modelyard.entities.model_registry import ModelFile, ModelStage
from modelyard.errors import Code, InvalidArgument
from modelyard.registry_validation import (
    manifest_digest,
    validate_alias,
    validate_alias_format,
    validate_archive,
    validate_model_name,
    validate_model_tag,
    validate_source,
    validate_stage,
    validate_version,
)


def test_manifest_digest_is_sorted_lines() -> None:
    files = [ModelFile("b", 2, "bb"), ModelFile("a", 1, "aa")]
    expected = hashlib.sha256(b"a\t1\taa\nb\t2\tbb\n").hexdigest()
    assert manifest_digest(files) == expected
    assert manifest_digest(reversed(files)) == expected
    assert manifest_digest([]) == hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize("name", ["m", "a b", "ünï", "x" * 256, "a.b-c_d"])
def test_good_names(name: str) -> None:
    assert validate_model_name(name) == name


@pytest.mark.parametrize("name", ["", "  ", "a/b", "a:b", "x" * 257, "a\nb", "a\x7fb", "a\x85b", 3])
def test_bad_names(name: object) -> None:
    with pytest.raises(InvalidArgument) as info:
        validate_model_name(name)
    assert info.value.code == Code.INVALID_ARGUMENT


@pytest.mark.parametrize(("given", "expected"), [(1, 1), ("7", 7), (2**31 - 1, 2**31 - 1)])
def test_good_versions(given: object, expected: int) -> None:
    assert validate_version(given) == expected


@pytest.mark.parametrize("bad", [0, -1, "0", "x", "1.5", 1.0, True, None, 2**31, "٣"])
def test_bad_versions(bad: object) -> None:
    with pytest.raises(InvalidArgument, match="model version"):
        validate_version(bad)


@pytest.mark.parametrize(
    ("given", "expected"),
    [("production", ModelStage.PRODUCTION), ("STAGING", ModelStage.STAGING), ("None", "None")],
)
def test_stage_is_case_insensitive(given: str, expected: str) -> None:
    assert validate_stage(given) == expected


@pytest.mark.parametrize("bad", ["Prod", "", "Deleted_Internal", None, 1])
def test_bad_stage(bad: object) -> None:
    with pytest.raises(InvalidArgument):
        validate_stage(bad)


def test_archive_only_with_active_stages() -> None:
    assert validate_archive(ModelStage.PRODUCTION, True) is True
    assert validate_archive(ModelStage.NONE, False) is False
    for stage in (ModelStage.NONE, ModelStage.ARCHIVED):
        with pytest.raises(InvalidArgument, match=stage.value):
            validate_archive(stage, True)


@pytest.mark.parametrize("alias", ["latest", "LATEST", "v3", "V12", "v0"])
def test_reserved_aliases(alias: str) -> None:
    assert validate_alias_format(alias) == alias
    with pytest.raises(InvalidArgument, match="reserved"):
        validate_alias(alias)


@pytest.mark.parametrize("alias", ["champion", "v", "v1a", "latest2", "a-b_c", "x" * 255])
def test_good_aliases(alias: str) -> None:
    assert validate_alias(alias) == alias


@pytest.mark.parametrize("alias", ["", "a b", "a/b", "x" * 256, "é", "a.b"])
def test_malformed_aliases(alias: str) -> None:
    with pytest.raises(InvalidArgument):
        validate_alias(alias)


def test_tag_rules() -> None:
    assert validate_model_tag("k", "v" * 100_000) == ("k", "v" * 100_000)
    with pytest.raises(InvalidArgument, match="100000"):
        validate_model_tag("k", "v" * 100_001)
    with pytest.raises(InvalidArgument):
        validate_model_tag("../k", "v")


@pytest.mark.parametrize("bad", ["", " runs:/x", "a\nb", "x" * 4097])
def test_bad_sources(bad: str) -> None:
    with pytest.raises(InvalidArgument):
        validate_source(bad)
