"""Model-version sources through a live server: every unsafe source is refused before a row
exists (no version number is used), with the right class, code and a message naming it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelyard.errors import (
    Code,
    InvalidArgument,
    ModelyardError,
    PermissionDenied,
    RegistrationFailed,
)
from tests.integration.registry.conftest import MODEL_FILES, RegistryServer, artifact_path

pytestmark = pytest.mark.integration


def _refused(
    env: RegistryServer,
    name: str,
    source: str,
    expected: type[ModelyardError],
    *,
    run_id: str | None = None,
    shown: str | None = None,
) -> ModelyardError:
    """Assert the create is refused with `expected`, naming the source, and wrote nothing."""
    before = env.registry.search_model_versions(filter_string=f"name = '{name}'")
    with pytest.raises(expected) as info:
        env.registry.create_model_version(name, source, run_id=run_id)
    err = info.value
    assert err.code == expected.code
    assert (shown or source) in err.message, err.message
    after = env.registry.search_model_versions(filter_string=f"name = '{name}'")
    assert [v.version for v in after] == [v.version for v in before]
    return err


def _next_version_is(env: RegistryServer, name: str, source: str, number: int) -> None:
    """A good create after refusals gets the next number: the refusals used none."""
    version = env.registry.create_model_version(name, source)
    assert version.version == number
    assert version.status == "READY"


def test_traversal_query_fragment_and_encodings_are_invalid(env: RegistryServer) -> None:
    run = env.new_run()
    good = env.log_model(run)
    name = env.new_model()
    root = run.info.artifact_uri
    bad = {
        "dotdot": f"{root}/model/../../../other",
        "dotdot at end": f"{root}/..",
        "dot segment": f"{root}/./model",
        "empty segment": f"{root}//model",
        "fragment": f"{root}/model#frag",
        "query": f"{root}/model?versionId=1",
        "percent": f"{root}/%2e%2e/model",
        "semicolon": f"{root}/model;x=1",
        "backslash": f"{root}/model\\..\\x",
        "NUL": f"{root}/model\x00",
        "newline": f"{root}/mo\ndel",
        "userinfo": "s3://user@bucket/model",
        "port": "s3://bucket:9000/model",
        "file with host": "file://evil.example/tmp/model",
        "runs dotdot": f"runs:/{run.info.run_id}/../x",
    }
    for label, source in bad.items():
        shown = repr(source)[1:-1] if label in ("NUL", "newline", "backslash") else source
        if label == "runs dotdot":  # named as resolved against the run's artifact root
            shown = "/../x"
        err = _refused(env, name, source, InvalidArgument, run_id=run.info.run_id, shown=shown)
        assert err.code == Code.INVALID_ARGUMENT, label
    _next_version_is(env, name, good, 1)


def test_a_file_path_outside_the_run_is_denied(env: RegistryServer, tmp_path: Path) -> None:
    run = env.new_run()
    good = env.log_model(run)
    name = env.new_model()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "MLmodel").write_bytes(MODEL_FILES["MLmodel"])
    for source in (str(outside), outside.as_uri(), "/etc", "file:///etc/passwd"):
        _refused(env, name, source, PermissionDenied, run_id=run.info.run_id)
        _refused(env, name, source, PermissionDenied)  # no run: not under an allowed root
    _next_version_is(env, name, good, 1)


def test_another_runs_artifacts_are_denied(env: RegistryServer) -> None:
    mine, theirs = env.new_run(), env.new_run()
    good = env.log_model(mine)
    env.log_model(theirs)
    name = env.new_model()
    other = f"{theirs.info.artifact_uri}/model"
    _refused(env, name, other, PermissionDenied, run_id=mine.info.run_id)
    # The proxied path of another run, without a run: not under an allowed root either.
    _refused(env, name, other, PermissionDenied)
    # runs:/ of one run with the run_id of another disagrees.
    _refused(
        env,
        name,
        f"runs:/{theirs.info.run_id}/model",
        InvalidArgument,
        run_id=mine.info.run_id,
        shown=theirs.info.run_id,
    )
    _next_version_is(env, name, good, 1)


def test_the_servers_own_destination_as_a_file_path_is_denied(env: RegistryServer) -> None:
    run = env.new_run()
    good = env.log_model(run)
    name = env.new_model()
    on_disk = env.destination / artifact_path(run, "model")
    assert (on_disk / "MLmodel").is_file()
    for source in (str(on_disk), on_disk.as_uri(), str(env.destination), env.destination.as_uri()):
        _refused(env, name, source, PermissionDenied, run_id=run.info.run_id)
        _refused(env, name, source, PermissionDenied)
    _next_version_is(env, name, good, 1)


def test_a_symlink_in_an_allowed_root_cannot_lead_out(env: RegistryServer, tmp_path: Path) -> None:
    name = env.new_model()
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "MLmodel").write_bytes(b"flavors: {}\n")
    link = env.allowed_root / f"link-{name}"
    os.symlink(secret, link)
    _refused(env, name, str(link), PermissionDenied)


def test_allowed_model_source_root_without_a_run(env: RegistryServer) -> None:
    name = env.new_model()
    folder = env.allowed_root / name
    (folder / "sub").mkdir(parents=True)
    for rel, data in MODEL_FILES.items():
        (folder / rel).write_bytes(data)
    version = env.registry.create_model_version(name, str(folder))
    assert version.version == 1
    assert version.run_id is None
    assert version.storage_location == folder.as_uri()
    assert version.file_count == len(MODEL_FILES)
    assert version.signature is not None
    assert version.input_example_path == "input_example.json"
    lineage = env.registry.get_model_version_lineage(name, 1)
    assert lineage.run is None


def test_a_missing_source_fails_registration_and_keeps_the_number(env: RegistryServer) -> None:
    run = env.new_run()
    name = env.new_model()
    source = f"runs:/{run.info.run_id}/does-not-exist"
    with pytest.raises(RegistrationFailed) as info:
        env.registry.create_model_version(name, source)
    assert info.value.code == Code.FAILED_PRECONDITION
    assert source in info.value.message
    good = env.log_model(run)
    # The failed version keeps number 1 (FAILED_REGISTRATION); the next one is 2.
    assert env.registry.create_model_version(name, good).version == 2


def test_a_malformed_mlmodel_fails_registration(env: RegistryServer) -> None:
    run = env.new_run()
    name = env.new_model()
    source = env.log_model(run, "broken", {"MLmodel": b"flavors: [unclosed\n  - x: {"})
    with pytest.raises(RegistrationFailed) as info:
        env.registry.create_model_version(name, source)
    assert source in info.value.message
    assert "MLmodel" in info.value.message
