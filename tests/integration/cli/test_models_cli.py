"""`modelyard models …`: every subcommand's --json output and exit status, good and bad input.

Exit statuses (modelyard.cli.app.EXIT_CODES): 0 ok, 2 bad input (a usage error or
InvalidArgument), 3 not found, 4 already exists, 5 refused in the current state. Each command
runs in-process (embedded SQLite) and against a live server, which must give the same status:
the client rebuilds the server's error class. Every bad input also checks that the message
names the offending value and that nothing changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from modelyard import Client
from modelyard.cli import cli

pytestmark = pytest.mark.integration


@dataclass
class Registry:
    """A backend with one run that holds a tiny logged model at `model`."""

    uri: str
    run_id: str

    @property
    def source(self) -> str:
        """The model's runs:/ URI."""
        return f"runs:/{self.run_id}/model"

    def client(self) -> Client:
        """A Client on this backend."""
        return Client(tracking_uri=self.uri)


def _log_tiny_model(client: Client, experiment_id: str, workdir: Path) -> str:
    """One run holding a one-coefficient linear model logged at `model`; its run id."""
    import numpy as np
    from sklearn.linear_model import LinearRegression

    import modelyard.sklearn

    x = np.array([[0.0], [1.0], [2.0]])
    model = LinearRegression().fit(x, np.array([1.0, 3.0, 5.0]))
    local = workdir / "tiny-model"
    modelyard.sklearn.save_model(model, str(local))
    run_id = client.create_run(experiment_id, run_name="tiny").info.run_id
    client.log_param(run_id, "kind", "linear")
    client.log_metric(run_id, "rmse", 0.0)
    client.log_artifacts(run_id, str(local), "model")
    client.set_terminated(run_id)
    return run_id


@pytest.fixture(scope="module", params=["sqlite", "grpc"])
def registry(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Registry]:
    """The same commands in-process on SQLite and through a live server (on SQLite)."""
    workdir = tmp_path_factory.mktemp(f"models-cli-{request.param}")
    db_uri = f"sqlite:///{workdir / 'registry.db'}"
    if request.param == "sqlite":
        uri = db_uri
        client = Client(tracking_uri=uri)
        experiment_id = client.create_experiment(
            "cli-models", artifact_location=(workdir / "artifacts").as_uri()
        )
    else:
        live = request.getfixturevalue("live_server_module")
        uri = live(db_uri, artifacts_destination=str(workdir / "destination"))
        client = Client(tracking_uri=uri)
        experiment_id = client.create_experiment("cli-models")
    yield Registry(uri, _log_tiny_model(client, experiment_id, workdir))


@pytest.fixture
def models(registry: Registry) -> Callable[..., Result]:
    """`modelyard models <args> --tracking-uri <backend>`, as user "ci-bot"; the click Result."""
    runner = CliRunner()

    def invoke(*args: str, user: str = "ci-bot") -> Result:
        return runner.invoke(
            cli,
            ["models", *args, "--tracking-uri", registry.uri],
            env={"MODELYARD_TRACKING_USERNAME": user},
        )

    return invoke


@pytest.fixture
def name(request: pytest.FixtureRequest, registry: Registry) -> str:
    """A model name unique to the test (the backend is shared by the module)."""
    base = request.node.originalname.removeprefix("test_").replace("_", "-")
    digest = hashlib.sha256(request.node.name.encode()).hexdigest()[:8]
    return f"{base}-{digest}"


def ok(result: Result) -> Any:
    """Assert exit 0; the parsed JSON of stdout when there is some."""
    assert result.exit_code == 0, result.output
    text = result.stdout.strip()
    return json.loads(text) if text[:1] in ("{", "[") else text


def fails(result: Result, exit_code: int, *named: str) -> str:
    """Assert the exit status, one clean line naming each value, no traceback; the output."""
    assert result.exit_code == exit_code, (result.exit_code, result.output)
    out = result.output
    assert "Traceback" not in out, out
    for value in named:
        assert value in out, (value, out)
    return out


def _register(models: Callable[..., Result], registry: Registry, name: str) -> dict[str, Any]:
    return ok(models("register", "--model-uri", registry.source, "--name", name, "--json"))


def _model_names(client: Client) -> list[str]:
    return sorted(m.name for m in client.search_registered_models(max_results=1000))


def _version_numbers(client: Client, name: str) -> list[int]:
    return sorted(v.version for v in client.search_model_versions(f"name = '{name}'"))


# -- create ------------------------------------------------------------------------------


def test_create(models: Callable[..., Result], registry: Registry, name: str) -> None:
    created = ok(models("create", "--name", name, "-d", "first", "--tag", "team=risk", "--json"))
    assert created["name"] == name
    assert created["description"] == "first"
    assert created["tags"] == {"team": "risk"}
    assert created["user_id"] == "ci-bot"
    plain = name + "-plain"
    assert ok(models("create", "--name", plain)) == f"Created registered model {plain!r}"

    out = fails(models("create", "--name", name, "-d", "second"), 4, name)
    assert "RegisteredModelAlreadyExists" in out
    assert registry.client().get_registered_model(name).description == "first"


@pytest.mark.parametrize("bad", ["a/b", "a:b", "", "x" * 300])
def test_create_bad_name(models: Callable[..., Result], registry: Registry, bad: str) -> None:
    before = _model_names(registry.client())
    out = fails(models("create", "--name", bad), 2, "InvalidArgument")
    if bad:
        assert bad[:50] in out
    assert _model_names(registry.client()) == before


def test_create_bad_tag_syntax(models: Callable[..., Result], name: str) -> None:
    fails(models("create", "--name", name, "--tag", "no-equals-sign"), 2, "no-equals-sign")


# -- register ----------------------------------------------------------------------------


def test_register(models: Callable[..., Result], registry: Registry, name: str) -> None:
    first = _register(models, registry, name)  # creates the model
    assert first["name"] == name and first["version"] == 1
    assert first["status"] == "READY"
    assert first["run_id"] == registry.run_id and first["source"] == registry.source
    assert first["user_id"] == "ci-bot"
    assert first["file_count"] >= 2 and first["signature"] is None
    tagged = ok(
        models("register", "-m", registry.source, "-n", name, "--tag", "ci=build-7", "--json")
    )
    assert tagged["version"] == 2 and tagged["tags"] == {"ci": "build-7"}
    assert ok(models("register", "-m", registry.source, "-n", name)) == (
        f"Registered {name} version 3 (READY)"
    )


def test_register_unknown_run(models: Callable[..., Result], registry: Registry, name: str) -> None:
    ok(models("create", "--name", name))
    missing = "0" * 32
    fails(models("register", "-m", f"runs:/{missing}/model", "-n", name), 3, missing)
    assert _version_numbers(registry.client(), name) == []


@pytest.mark.parametrize("suffix", ["model/../other", "model?x=1", "model#frag"])
def test_register_bad_source(
    models: Callable[..., Result], registry: Registry, name: str, suffix: str
) -> None:
    ok(models("create", "--name", name))
    source = f"runs:/{registry.run_id}/{suffix}"
    fails(models("register", "-m", source, "-n", name), 2, "InvalidArgument", suffix)
    assert _version_numbers(registry.client(), name) == []


def test_register_missing_source_is_refused(
    models: Callable[..., Result], registry: Registry, name: str
) -> None:
    """Nothing at the source: exit 5; the number stays taken by a FAILED_REGISTRATION row."""
    ok(models("create", "--name", name))
    source = f"runs:/{registry.run_id}/nothing-here"
    fails(models("register", "-m", source, "-n", name), 5, "RegistrationFailed", source)
    failed = ok(models("versions", "-n", name, "--json"))
    assert [(v["version"], v["status"]) for v in failed] == [(1, "FAILED_REGISTRATION")]
    assert "nothing-here" in failed[0]["status_message"]
    assert _register(models, registry, name)["version"] == 2


def test_register_outside_any_run_is_denied(
    models: Callable[..., Result], registry: Registry, name: str
) -> None:
    """A source with no run outside the allowed roots: exit 6, nothing registered."""
    ok(models("create", "--name", name))
    fails(models("register", "-m", "file:///etc", "-n", name), 6, "PermissionDenied", "/etc")
    assert _version_numbers(registry.client(), name) == []


# -- list, versions, get -----------------------------------------------------------------


def test_list(models: Callable[..., Result], registry: Registry, name: str) -> None:
    _register(models, registry, name)
    ok(models("set-alias", "-n", name, "-a", "champion", "-v", "1"))
    listed = ok(models("list", "--filter", f"name = '{name}'", "--json"))
    assert [m["name"] for m in listed] == [name]
    assert listed[0]["aliases"] == {"champion": 1}
    table = ok(models("list", "--filter", f"name LIKE '{name}%'"))
    assert name in table and "champion=1" in table
    assert ok(models("list", "--filter", "name = 'no-such-model'", "--json")) == []
    fails(models("list", "--filter", "colour = 'blue'"), 2, "colour")


def test_versions(models: Callable[..., Result], registry: Registry, name: str) -> None:
    for _ in range(3):
        _register(models, registry, name)
    ok(models("transition", "-n", name, "-v", "2", "-s", "Staging"))
    listed = ok(models("versions", "--name", name, "--json"))
    assert [v["version"] for v in listed] == [3, 2, 1]
    assert [v["current_stage"] for v in listed] == ["None", "Staging", "None"]
    staged = ok(models("versions", "-n", name, "--filter", "current_stage = 'Staging'", "--json"))
    assert [v["version"] for v in staged] == [2]
    table = ok(models("versions", "-n", name))
    assert table.splitlines()[0].split()[:3] == ["version", "stage", "status"]
    # an unknown model is "not found" (exit 3), so a pipeline cannot mistake it for "no versions"
    fails(models("versions", "--name", "no-such-model", "--json"), 3, "no-such-model")


def test_get(models: Callable[..., Result], registry: Registry, name: str) -> None:
    _register(models, registry, name)
    ok(models("set-alias", "-n", name, "-a", "stable", "-v", "1"))
    got = ok(models("get", "-n", name, "-v", "1", "--json"))
    assert got["version"] == 1 and got["aliases"] == ["stable"]
    assert len(got["content_digest"]) == 64
    assert ok(models("get", "-n", name, "--alias", "stable", "--json")) == got
    text = ok(models("get", "-n", name, "-v", "1"))
    assert f"{name} version 1 [None] READY aliases=stable" in text

    fails(models("get", "-n", name, "-v", "9"), 3, "9")
    fails(models("get", "-n", "no-such-model", "-v", "1"), 3, "no-such-model")
    fails(models("get", "-n", name, "--alias", "nope"), 3, "nope")
    fails(models("get", "-n", name, "-v", "abc"), 2, "abc")
    fails(models("get", "-n", name, "-v", "0"), 2, "0")
    fails(models("get", "-n", name), 2, "--version")
    fails(models("get", "-n", name, "-v", "1", "-a", "stable"), 2, "--alias")


# -- transition --------------------------------------------------------------------------


def test_transition(models: Callable[..., Result], registry: Registry, name: str) -> None:
    _register(models, registry, name)
    _register(models, registry, name)
    first = ok(models("transition", "-n", name, "-v", "1", "-s", "production", "--json"))
    assert first["current_stage"] == "Production"
    text = ok(models("transition", "-n", name, "-v", "2", "-s", "Production", "--archive-existing"))
    assert text == f"{name} version 2 is now in Production"
    client = registry.client()
    assert client.get_model_version(name, 1).current_stage == "Archived"
    assert client.get_model_version(name, 2).current_stage == "Production"


@pytest.mark.parametrize(
    ("args", "exit_code", "named"),
    [
        (["-v", "1", "-s", "Prod"], 2, "Prod"),
        (["-v", "1", "-s", ""], 2, "InvalidArgument"),
        (["-v", "1", "-s", "Archived", "--archive-existing"], 2, "Archived"),
        (["-v", "abc", "-s", "Staging"], 2, "abc"),
        (["-v", "-3", "-s", "Staging"], 2, "-3"),
        (["-v", "7", "-s", "Staging"], 3, "7"),
    ],
)
def test_transition_bad_input(
    models: Callable[..., Result],
    registry: Registry,
    name: str,
    args: list[str],
    exit_code: int,
    named: str,
) -> None:
    _register(models, registry, name)
    fails(models("transition", "-n", name, *args), exit_code, named)
    assert registry.client().get_model_version(name, 1).current_stage == "None"
    assert ok(models("history", "-n", name, "--json")) == []


def test_transition_unknown_model(models: Callable[..., Result]) -> None:
    fails(models("transition", "-n", "no-such-model", "-v", "1", "-s", "Staging"), 3)


# -- aliases -----------------------------------------------------------------------------


def test_set_and_delete_alias(models: Callable[..., Result], registry: Registry, name: str) -> None:
    _register(models, registry, name)
    _register(models, registry, name)
    set1 = ok(models("set-alias", "-n", name, "-a", "champion", "-v", "1", "--json"))
    assert set1["version"] == 1 and set1["aliases"] == ["champion"]
    assert ok(models("set-alias", "-n", name, "-a", "champion", "-v", "2")) == (
        f"{name}@champion -> version 2"
    )
    client = registry.client()
    assert client.get_model_version(name, 1).aliases == []
    assert client.get_registered_model(name).aliases == {"champion": 2}

    assert "champion" in ok(models("delete-alias", "-n", name, "-a", "champion"))
    assert client.get_registered_model(name).aliases == {}
    ok(models("delete-alias", "-n", name, "-a", "champion"))  # a missing alias is fine
    fails(models("get", "-n", name, "-a", "champion"), 3, "champion")


@pytest.mark.parametrize(
    ("alias", "version", "exit_code"),
    [
        ("latest", "1", 2),
        ("LATEST", "1", 2),
        ("v3", "1", 2),
        ("has space", "1", 2),
        ("slash/alias", "1", 2),
        ("x" * 300, "1", 2),
        ("champion", "abc", 2),
        ("champion", "5", 3),
    ],
)
def test_set_alias_bad_input(
    models: Callable[..., Result],
    registry: Registry,
    name: str,
    alias: str,
    version: str,
    exit_code: int,
) -> None:
    _register(models, registry, name)
    named = version if alias == "champion" else alias[:50]
    fails(models("set-alias", "-n", name, "-a", alias, "-v", version), exit_code, named)
    assert registry.client().get_registered_model(name).aliases == {}


def test_set_alias_unknown_model(models: Callable[..., Result]) -> None:
    fails(models("set-alias", "-n", "no-such-model", "-a", "x", "-v", "1"), 3, "no-such-model")


# -- delete-version, delete --------------------------------------------------------------


def test_delete_version(models: Callable[..., Result], registry: Registry, name: str) -> None:
    _register(models, registry, name)
    _register(models, registry, name)
    ok(models("set-alias", "-n", name, "-a", "champion", "-v", "2"))
    assert ok(models("delete-version", "-n", name, "-v", "2")) == f"Deleted {name} version 2"
    fails(models("get", "-n", name, "-v", "2"), 3, "2")
    fails(models("delete-version", "-n", name, "-v", "2"), 3, "2")
    fails(models("delete-version", "-n", name, "-v", "abc"), 2, "abc")
    assert registry.client().get_registered_model(name).aliases == {}
    # numbers are never reused
    assert _register(models, registry, name)["version"] == 3
    assert [v["version"] for v in ok(models("versions", "-n", name, "--json"))] == [3, 1]


def test_delete_model(models: Callable[..., Result], registry: Registry, name: str) -> None:
    _register(models, registry, name)
    ok(models("transition", "-n", name, "-v", "1", "-s", "Staging"))
    assert ok(models("delete", "-n", name)) == f"Deleted registered model {name!r}"
    fails(models("get", "-n", name, "-v", "1"), 3, name)
    fails(models("delete", "-n", name), 3, name)
    assert ok(models("list", "--filter", f"name = '{name}'", "--json")) == []


# -- lineage, history, watch -------------------------------------------------------------


def test_lineage(models: Callable[..., Result], registry: Registry, name: str) -> None:
    _register(models, registry, name)
    ok(models("set-alias", "-n", name, "-a", "champion", "-v", "1"))
    lineage = ok(models("lineage", "-n", name, "--alias", "champion", "--json"))
    assert lineage["model_version"]["version"] == 1
    assert lineage["run"]["info"]["run_id"] == registry.run_id
    assert lineage["run"]["data"]["params"] == {"kind": "linear"}
    assert lineage["experiment"]["name"] == "cli-models"
    assert lineage["parent_runs"] == [] and lineage["copied_from"] is None
    text = ok(models("lineage", "-n", name, "-v", "1"))
    assert f"run: {registry.run_id}" in text and "param kind = linear" in text
    fails(models("lineage", "-n", name, "-v", "4"), 3, "4")
    fails(models("lineage", "-n", "no-such-model", "-v", "1"), 3, "no-such-model")
    fails(models("lineage", "-n", name, "-v", "abc"), 2, "abc")


def test_history(models: Callable[..., Result], registry: Registry, name: str) -> None:
    _register(models, registry, name)
    ok(models("transition", "-n", name, "-v", "1", "-s", "Staging", user="alice"))
    ok(models("set-alias", "-n", name, "-a", "champion", "-v", "1", user="bob"))
    ok(models("delete-alias", "-n", name, "-a", "champion", user="bob"))
    events = ok(models("history", "-n", name, "--json"))
    assert [(e["kind"], e["user_id"]) for e in events] == [
        ("STAGE_TRANSITIONED", "alice"),
        ("ALIAS_SET", "bob"),
        ("ALIAS_DELETED", "bob"),
    ]
    assert events[0]["from_stage"] == "None" and events[0]["to_stage"] == "Staging"
    assert all(e["version"] == 1 and e["user_verified"] is False for e in events)
    created = ok(models("history", "-n", name, "--kind", "version_created", "--json"))
    assert [(e["kind"], e["version"], e["user_id"]) for e in created] == [
        ("VERSION_CREATED", 1, "ci-bot")
    ]
    assert ok(models("history", "-n", name, "-v", "2", "--json")) == []
    text = ok(models("history", "-n", name))
    assert "by alice (reported by the client, not verified)" in text
    fails(models("history", "-n", "no-such-model"), 3, "no-such-model")
    fails(models("history", "-n", name, "--kind", "promoted"), 2, "promoted")
    fails(models("history", "-n", name, "-v", "abc"), 2, "abc")


def test_watch_replays_and_stops(
    models: Callable[..., Result], registry: Registry, name: str
) -> None:
    _register(models, registry, name)
    ok(models("set-alias", "-n", name, "-a", "champion", "-v", "1"))
    result = models("watch", "-n", name, "--after-event-id", "0", "--count", "3")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["kind"] for e in lines] == ["MODEL_CREATED", "VERSION_CREATED", "ALIAS_SET"]
    assert {e["model_name"] for e in lines} == {name}
    ids = [e["event_id"] for e in lines]
    assert ids == sorted(ids)
    # resuming after the second event replays only the third
    resumed = models("watch", "-n", name, "--after-event-id", str(ids[1]), "--count", "1")
    assert [json.loads(x)["event_id"] for x in resumed.stdout.splitlines()] == [ids[2]]
    only = models(
        "watch", "-n", name, "--kind", "alias_set", "--after-event-id", "0", "--count", "1"
    )
    assert [json.loads(x)["kind"] for x in only.stdout.splitlines()] == ["ALIAS_SET"]
    fails(models("watch", "--kind", "promoted", "--count", "1"), 2, "promoted")


# -- tags, descriptions and renames after creation -----------------------------------------


def test_set_and_delete_tags(models: Callable[..., Result], registry: Registry, name: str) -> None:
    _register(models, registry, name)
    assert ok(models("set-tag", "-n", name, "--tag", "owner=vision", "--tag", "tier=1")) == (
        f"Tagged {name}: owner, tier"
    )
    ok(models("set-tag", "-n", name, "-v", "1", "--tag", "validated=true"))
    client = registry.client()
    assert client.get_registered_model(name).tags == {"owner": "vision", "tier": "1"}
    assert client.get_model_version(name, 1).tags == {"validated": "true"}
    ok(models("delete-tag", "-n", name, "-k", "tier", "-k", "never-set"))
    ok(models("delete-tag", "-n", name, "-v", "1", "-k", "validated"))
    assert client.get_registered_model(name).tags == {"owner": "vision"}
    assert client.get_model_version(name, 1).tags == {}
    fails(models("set-tag", "-n", name, "--tag", "no-equals-sign"), 2, "no-equals-sign")
    fails(models("set-tag", "-n", name, "-v", "9", "--tag", "a=b"), 3, "9")
    fails(models("set-tag", "-n", f"{name}-missing", "--tag", "a=b"), 3, f"{name}-missing")


def test_update_describes_and_renames(
    models: Callable[..., Result], registry: Registry, name: str
) -> None:
    _register(models, registry, name)
    described = ok(models("update", "-n", name, "-d", "churn model, weekly", "--json"))
    assert described["description"] == "churn model, weekly"
    version = ok(models("update", "-n", name, "-v", "1", "-d", "first cut", "--json"))
    assert version["description"] == "first cut"
    renamed = ok(models("update", "-n", name, "--rename", f"{name}-v2", "--json"))
    assert renamed["name"] == f"{name}-v2" and renamed["description"] == "churn model, weekly"
    client = registry.client()
    assert client.get_model_version(f"{name}-v2", 1).description == "first cut"
    fails(models("update", "-n", f"{name}-v2"), 2, "--description")
    fails(models("update", "-n", f"{name}-v2", "-v", "1", "--rename", "x"), 2, "--rename")
    fails(models("update", "-n", name, "-d", "gone"), 3, name)
