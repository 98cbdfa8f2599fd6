"""The RegistryStore contract: one suite, the same assertions on every backend and transport.

`RegistryStoreContract` has no `Test` prefix, so pytest collects it only through a subclass.
A subclass provides:
- `store`: a validated `RegistryStore` (as `registry_store_for_uri` returns it);
- `tracking`: a `TrackingStore` on the same backend (runs, experiments);
and may override:
- `experiment_location`: the artifact location root new experiments get (a file: URI by
  default, so tests can write model files directly);
- `make_source`: a callable `(run, path="model", *, signature=True) -> "runs:/<id>/<path>"`
  that puts a small real model directory (MLmodel with a signature, input_example.json, a
  payload) into the run's artifacts. The default writes local files.

The store may be shared by every test of a class, so each test works on models, experiments
and runs it creates under unique names. Every bad input checks the exception class, its
status code, that the message names the offending value, and that nothing changed.

`LocalFilesInspector` is a test helper (a `ModelSourceInspector` over local files) for the
in-process runs until `modelyard.artifacts.model_sources` exists.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from modelyard.entities import Run
from modelyard.entities.model_registry import (
    ModelFile,
    ModelStage,
    ModelVersion,
    ModelVersionStatus,
    RegisteredModel,
    RegistryEvent,
    RegistryEventKind,
    SignatureMetadata,
    SourceInspection,
)
from modelyard.errors import (
    AliasNotFound,
    Code,
    InvalidArgument,
    InvalidFilter,
    InvalidPageToken,
    ModelVersionNotFound,
    ModelyardError,
    NotFound,
    PermissionDenied,
    RegisteredModelAlreadyExists,
    RegisteredModelNotFound,
    RegistrationFailed,
    RunNotFound,
)
from modelyard.registry_stores import RegistryStore
from modelyard.registry_validation import manifest_digest
from modelyard.stores import TrackingStore

UNKNOWN_RUN_ID = "0123456789abcdef0123456789abcdef"
INPUTS = json.dumps([{"name": "x", "type": "double"}, {"name": "y", "type": "long"}])
OUTPUTS = json.dumps([{"type": "double"}])
PAYLOAD = b"not really a model, but bytes with a hash\n"


# -- helpers -----------------------------------------------------------------------------------


def uid() -> str:
    """A short unique suffix for names."""
    return uuid.uuid4().hex[:12]


def now_ms() -> int:
    """Milliseconds since the epoch."""
    return int(time.time() * 1000)


def local_path(uri: str) -> Path:
    """The local path of a file: URI or plain path."""
    if uri.startswith("file:"):
        return Path(unquote(urlsplit(uri).path))
    return Path(uri)


def write_model_dir(directory: Path, *, signature: bool = True) -> None:
    """A small model directory: MLmodel (with a signature), input example, payload."""
    directory.mkdir(parents=True, exist_ok=True)
    mlmodel: dict[str, Any] = {
        "artifact_path": directory.name,
        "flavors": {"python_function": {"loader_module": "modelyard.pyfunc"}},
        "model_uuid": uuid.uuid4().hex,
    }
    if signature:
        mlmodel["signature"] = {"inputs": INPUTS, "outputs": OUTPUTS, "params": None}
        mlmodel["saved_input_example_info"] = {
            "artifact_path": "input_example.json",
            "type": "dataframe",
        }
        (directory / "input_example.json").write_text(
            json.dumps({"columns": ["x", "y"], "data": [[1.0, 2]]})
        )
    (directory / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    (directory / "data").mkdir(exist_ok=True)
    (directory / "data" / "model.bin").write_bytes(PAYLOAD)


class LocalFilesInspector:
    """A ModelSourceInspector over local files (test helper).

    check: no query, fragment or ".." segment; a file: URI or absolute path; at or under the
    run's artifact root, or (without a run) under one of `allowed_roots`.
    """

    def __init__(self, allowed_roots: Sequence[str] = ()) -> None:
        self.allowed_roots = [r.rstrip("/") for r in allowed_roots]

    @staticmethod
    def _canonical(uri: str) -> str:
        if "?" in uri or "#" in uri:
            raise InvalidArgument(
                f"model source {uri!r} must not have a query or fragment", source=uri
            )
        parts = urlsplit(uri)
        if parts.scheme not in ("", "file"):
            raise PermissionDenied(
                f"model source {uri!r} is not a local path this inspector reads", source=uri
            )
        path = unquote(parts.path)
        if ".." in path.split("/"):
            raise InvalidArgument(f"model source {uri!r} must not contain '..'", source=uri)
        if not path.startswith("/"):
            raise InvalidArgument(f"model source {uri!r} must be absolute", source=uri)
        return Path(os.path.normpath(path)).as_uri()

    @staticmethod
    def _under(child: str, root: str) -> bool:
        return child == root or child.startswith(root.rstrip("/") + "/")

    def check(self, source: str, *, run_artifact_uri: str | None) -> str:
        """The canonical file: URI of an allowed source, or raise."""
        location = self._canonical(source)
        if run_artifact_uri is not None:
            root = self._canonical(run_artifact_uri)
            if self._under(location, root):
                return location
            raise PermissionDenied(
                f"model source {source!r} is outside the run's artifact root {run_artifact_uri!r}",
                source=source,
            )
        for root in self.allowed_roots:
            if self._under(location, self._canonical(root)):
                return location
        raise PermissionDenied(
            f"model source {source!r} is not in the run's artifacts nor in an allowed root",
            source=source,
        )

    def inspect(self, storage_location: str) -> SourceInspection:
        """Hash every file under the location; read its MLmodel."""
        base = local_path(storage_location)
        if not base.exists():
            raise NotFound(f"nothing at {storage_location!r}", uri=storage_location)
        paths = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        files = []
        for p in paths:
            data = p.read_bytes()
            rel = p.name if p == base else p.relative_to(base).as_posix()
            files.append(ModelFile(rel, len(data), hashlib.sha256(data).hexdigest()))
        signature = None
        example = None
        mlmodel = base / "MLmodel"
        if base.is_dir() and mlmodel.is_file():
            meta = yaml.safe_load(mlmodel.read_text()) or {}
            sig = meta.get("signature")
            if isinstance(sig, dict):
                signature = SignatureMetadata(
                    sig.get("inputs"), sig.get("outputs"), sig.get("params")
                )
            info = meta.get("saved_input_example_info")
            if isinstance(info, dict):
                example = info.get("artifact_path")
        return SourceInspection(files=files, signature=signature, input_example_path=example)

    def is_local(self, storage_location: str) -> bool:
        """Every location this inspector accepts is local."""
        return True


def _version_state(v: ModelVersion) -> tuple[Any, ...]:
    return (
        v.name,
        v.version,
        v.last_updated_timestamp,
        str(v.current_stage),
        v.description,
        v.status,
        tuple(sorted(v.tags.items())),
        tuple(v.aliases),
        v.storage_location,
    )


def snapshot(store: RegistryStore, *names: str) -> dict[str, Any]:
    """Everything visible about the given models: the model, its live versions, its history."""
    out: dict[str, Any] = {}
    for name in names:
        try:
            model: RegisteredModel | None = store.get_registered_model(name)
        except RegisteredModelNotFound:
            out[name] = None
            continue
        assert model is not None
        quoted = name.replace("'", "''")
        versions = store.search_model_versions(filter_string=f"name = '{quoted}'")
        history = store.list_registry_history(name, kinds=list(RegistryEventKind))
        out[name] = {
            "model": (
                model.last_updated_timestamp,
                model.description,
                tuple(sorted(model.tags.items())),
                tuple(sorted(model.aliases.items())),
            ),
            "versions": sorted(_version_state(v) for v in versions),
            "events": [e.event_id for e in history],
        }
    return out


@contextmanager
def unchanged(store: RegistryStore, *names: str) -> Iterator[None]:
    """Assert that the visible state of these models is the same after the block."""
    before = snapshot(store, *names)
    yield
    assert snapshot(store, *names) == before, "the registry's visible state changed"


@contextmanager
def raises(
    cls: type[ModelyardError], code: Code, *, names: Sequence[str] = ()
) -> Iterator[pytest.ExceptionInfo[ModelyardError]]:
    """pytest.raises(cls) that also checks the status code and that the message names values."""
    with pytest.raises(cls) as info:
        yield info
    err = info.value
    assert err.code == code, f"{type(err).__name__} has code {err.code!r}, expected {code!r}"
    for text in names:
        assert text in str(err), f"message {str(err)!r} does not name {text!r}"


def all_pages(fetch: Callable[[str | None], Any], limit: int = 200) -> list[list[Any]]:
    """Every page of a paged query."""
    pages: list[list[Any]] = []
    token: str | None = None
    for _ in range(limit):
        page = fetch(token)
        pages.append(list(page))
        token = page.token
        if not token:
            return pages
    raise AssertionError("paging did not end")


def tamper(token: str) -> str:
    """The token with one character in its middle replaced."""
    i = len(token) // 2
    return token[:i] + ("B" if token[i] != "B" else "C") + token[i + 1 :]


def collect_events(
    store: RegistryStore,
    *,
    until: Callable[[list[RegistryEvent]], bool],
    timeout_s: float = 20.0,
    **kwargs: Any,
) -> tuple[list[RegistryEvent], int]:
    """Read a watch until `until(events)` holds (or the timeout passes); close it."""
    watch = store.watch_registry_events(heartbeat_s=0.2, **kwargs)
    events: list[RegistryEvent] = []
    cursor = -1
    deadline = time.monotonic() + timeout_s
    try:
        for batch, position in watch:
            cursor = position
            events.extend(batch)
            if until(events) or time.monotonic() > deadline:
                break
    finally:
        watch.close()  # type: ignore[attr-defined]
    return events, cursor


BAD_NAMES = {
    "empty": "",
    "blank": "   ",
    "slash": "a/b",
    "colon": "a:b",
    "too_long": "m" * 257,
    "newline": "bad\nname",
    "tab": "bad\tname",
    "nul": "bad\x00name",
}
RESERVED_ALIASES = ["latest", "LATEST", "Latest", "v3", "V12"]
MALFORMED_ALIASES = {"space": "a b", "slash": "a/b", "empty": "", "too_long": "a" * 256}
MALFORMED_VERSION_FILTERS = {
    "unbalanced": "name = 'x",
    "or": "name = 'a' OR name = 'b'",
    "unknown_attribute": "nope = 'x'",
    "metric": "metrics.m > 1",
    "version_string": "version = 'abc'",
    "bad_stage": "current_stage = 'Prod'",
    "injection_or": "name = 'x' OR 1=1 --",
    "injection_drop": "name = ''; DROP TABLE model_versions; --",
    "injection_quote": "tags.t = 'a' AND 1=1; DELETE FROM registered_models",
    "signature_equals": "signature = 'x'",
}
MALFORMED_MODEL_FILTERS = {
    "unbalanced": "name = 'x",
    "or": "name = 'a' OR name = 'b'",
    "unknown_attribute": "run_id = 'x'",
    "injection_or": "name = 'x' OR 1=1 --",
    "injection_drop": "'; DROP TABLE registered_models; --",
}


class RegistryStoreContract:
    """Behaviour every RegistryStore must show. Subclasses provide `store` and `tracking`."""

    # -- fixtures a subclass may override ------------------------------------------------

    @pytest.fixture(scope="class")
    @classmethod
    def experiment_location(cls, tmp_path_factory: pytest.TempPathFactory) -> str:
        """The folder under which each test's experiments keep their artifacts."""
        return tmp_path_factory.mktemp("registry-artifacts").as_uri()

    @pytest.fixture
    def make_source(self) -> Callable[..., str]:
        """Write a model directory into a run's (local) artifacts; return runs:/<id>/<path>."""

        def make(run: Run, path: str = "model", *, signature: bool = True) -> str:
            write_model_dir(local_path(run.info.artifact_uri) / path, signature=signature)
            return f"runs:/{run.info.run_id}/{path}"

        return make

    @pytest.fixture
    def new_run(self, tracking: TrackingStore, experiment_location: str) -> Callable[..., Run]:
        """Create a run in a fresh experiment under experiment_location."""

        def make(tags: dict[str, str] | None = None) -> Run:
            exp = tracking.create_experiment(
                f"reg-{uid()}", artifact_location=f"{experiment_location}/{uid()}"
            )
            return tracking.create_run(experiment_id=exp, user_id="tester", tags=tags)

        return make

    @pytest.fixture
    def version_of(
        self, store: RegistryStore, new_run: Callable[..., Run], make_source: Callable[..., str]
    ) -> Callable[..., ModelVersion]:
        """Register a fresh run's model as a new version of `name`."""

        def make(name: str, **kwargs: Any) -> ModelVersion:
            run = new_run()
            return store.create_model_version(name, make_source(run), **kwargs)

        return make

    def new_model(self, store: RegistryStore, prefix: str = "model", **kwargs: Any) -> str:
        """Create a model with a unique name; return the name."""
        name = f"{prefix}-{uid()}"
        store.create_registered_model(name, **kwargs)
        return name

    # == registered models ==================================================================

    def test_create_and_get_model(self, store: RegistryStore) -> None:
        name = f"churn-{uid()}"
        before = now_ms()
        created = store.create_registered_model(
            name, tags={"team": "risk"}, description="first", user_id="alice"
        )
        assert created.name == name
        got = store.get_registered_model(name)
        assert got.name == name
        assert got.tags == {"team": "risk"}
        assert got.description == "first"
        assert got.user_id == "alice"
        assert got.aliases == {} and got.latest_versions == []
        assert got.creation_timestamp >= before - 60_000
        assert got.last_updated_timestamp >= got.creation_timestamp

    def test_model_names_are_case_and_space_sensitive(self, store: RegistryStore) -> None:
        base = f"Case-{uid()}"
        for name in (base, base.lower(), base + " ", "ünï-" + base):
            store.create_registered_model(name)
            assert store.get_registered_model(name).name == name

    def test_duplicate_model(self, store: RegistryStore) -> None:
        name = self.new_model(store)
        with (
            unchanged(store, name),
            raises(RegisteredModelAlreadyExists, Code.ALREADY_EXISTS, names=[name]),
        ):
            store.create_registered_model(name)

    def test_get_unknown_model(self, store: RegistryStore) -> None:
        name = f"missing-{uid()}"
        with raises(RegisteredModelNotFound, Code.NOT_FOUND, names=[name]):
            store.get_registered_model(name)

    @pytest.mark.parametrize("case", sorted(BAD_NAMES))
    def test_bad_model_name(self, store: RegistryStore, case: str) -> None:
        bad = BAD_NAMES[case]
        shown = repr(bad)[1:-1][:40] if bad.strip() else repr(bad)
        with raises(InvalidArgument, Code.INVALID_ARGUMENT, names=[shown]):
            store.create_registered_model(bad)
        with raises(InvalidArgument, Code.INVALID_ARGUMENT):
            store.get_registered_model(bad)
        with raises(RegisteredModelNotFound, Code.NOT_FOUND):
            store.get_registered_model(f"{case}-{uid()}")

    def test_bad_name_on_rename_changes_nothing(self, store: RegistryStore) -> None:
        name = self.new_model(store)
        for bad in ("a/b", "a:b", ""):
            with unchanged(store, name), raises(InvalidArgument, Code.INVALID_ARGUMENT):
                store.rename_registered_model(name, bad)

    def test_update_and_delete_model_tags(self, store: RegistryStore) -> None:
        name = self.new_model(store, tags={"a": "1"})
        store.set_registered_model_tag(name, "a", "2")
        store.set_registered_model_tag(name, "b", "x" * 100_000)
        assert store.get_registered_model(name).tags == {"a": "2", "b": "x" * 100_000}
        store.delete_registered_model_tag(name, "a")
        store.delete_registered_model_tag(name, "never-set")
        assert store.get_registered_model(name).tags == {"b": "x" * 100_000}
        with unchanged(store, name), raises(InvalidArgument, Code.INVALID_ARGUMENT, names=["c"]):
            store.set_registered_model_tag(name, "c", "x" * 100_001)
        with unchanged(store, name), raises(InvalidArgument, Code.INVALID_ARGUMENT, names=["a*b"]):
            store.set_registered_model_tag(name, "a*b", "v")
        missing = f"missing-{uid()}"
        with raises(RegisteredModelNotFound, Code.NOT_FOUND, names=[missing]):
            store.delete_registered_model_tag(missing, "a")

    def test_update_description(self, store: RegistryStore) -> None:
        name = self.new_model(store)
        before = store.get_registered_model(name)
        time.sleep(0.005)
        updated = store.update_registered_model(name, "new text")
        assert updated.description == "new text"
        assert store.get_registered_model(name).description == "new text"
        assert updated.last_updated_timestamp >= before.last_updated_timestamp
        assert store.update_registered_model(name, None).description is None

    def test_rename_model_versions_aliases_and_history_follow(
        self, store: RegistryStore, version_of: Callable[..., ModelVersion]
    ) -> None:
        name = self.new_model(store)
        v1 = version_of(name)
        store.set_registered_model_alias(name, "champion", v1.version)
        store.transition_model_version_stage(name, v1.version, ModelStage.STAGING)
        new_name = f"renamed-{uid()}"
        renamed = store.rename_registered_model(name, new_name, user_id="bob")
        assert renamed.name == new_name
        with raises(RegisteredModelNotFound, Code.NOT_FOUND):
            store.get_registered_model(name)
        assert store.get_model_version(new_name, 1).name == new_name
        assert store.get_model_version_by_alias(new_name, "champion").version == 1
        history = store.list_registry_history(new_name, kinds=list(RegistryEventKind))
        kinds = [e.kind for e in history]
        assert kinds[0] == RegistryEventKind.MODEL_CREATED
        renames = [e for e in history if e.kind == RegistryEventKind.MODEL_RENAMED]
        assert len(renames) == 1
        assert renames[0].model_name == name and renames[0].new_model_name == new_name
        assert renames[0].user_id == "bob" and renames[0].user_verified is False

    def test_rename_to_taken_name(self, store: RegistryStore) -> None:
        a, b = self.new_model(store), self.new_model(store)
        with (
            unchanged(store, a, b),
            raises(RegisteredModelAlreadyExists, Code.ALREADY_EXISTS, names=[b]),
        ):
            store.rename_registered_model(a, b)

    def test_delete_model_is_hard_and_events_stay(
        self, store: RegistryStore, version_of: Callable[..., ModelVersion]
    ) -> None:
        name = self.new_model(store)
        version_of(name)
        store.set_registered_model_alias(name, "a1", 1)
        first = store.list_registry_history(name, kinds=list(RegistryEventKind))[0].event_id
        store.delete_registered_model(name, user_id="carol")
        with raises(RegisteredModelNotFound, Code.NOT_FOUND, names=[name]):
            store.get_registered_model(name)
        with raises(ModelVersionNotFound, Code.NOT_FOUND, names=[name]):
            store.get_model_version(name, 1)
        assert list(store.search_model_versions(filter_string=f"name = '{name}'")) == []
        events, _ = collect_events(
            store,
            after_event_id=first - 1,
            model_names=[name],
            until=lambda ev: any(e.kind == RegistryEventKind.MODEL_DELETED for e in ev),
        )
        kinds = [e.kind for e in events]
        assert kinds[0] == RegistryEventKind.MODEL_CREATED
        assert RegistryEventKind.VERSION_CREATED in kinds
        assert kinds[-1] == RegistryEventKind.MODEL_DELETED
        # The name is free again; the new model starts at version 1 with an empty history.
        store.create_registered_model(name)
        assert [
            e.kind for e in store.list_registry_history(name, kinds=list(RegistryEventKind))
        ] == [RegistryEventKind.MODEL_CREATED]
        assert version_of(name).version == 1

    def test_create_model_is_idempotent_with_request_id(self, store: RegistryStore) -> None:
        name = f"idem-{uid()}"
        request_id = f"req-{uid()}"
        first = store.create_registered_model(name, request_id=request_id)
        again = store.create_registered_model(name, request_id=request_id)
        assert again.name == first.name and again.creation_timestamp == first.creation_timestamp
        history = store.list_registry_history(name, kinds=[RegistryEventKind.MODEL_CREATED])
        assert len(history) == 1

    # -- search models ---------------------------------------------------------------------

    def test_search_models(self, store: RegistryStore) -> None:
        prefix = f"srch{uid()}"
        names = [f"{prefix}-{i}" for i in range(5)]
        for i, n in enumerate(names):
            store.create_registered_model(n, tags={"i": str(i), "team": "x" if i % 2 else "y"})
        found = store.search_registered_models(filter_string=f"name LIKE '{prefix}-%'")
        assert [m.name for m in found] == names
        found = store.search_registered_models(
            filter_string=f"name LIKE '{prefix}-%' AND tags.team = 'x'"
        )
        assert [m.name for m in found] == [names[1], names[3]]
        found = store.search_registered_models(
            filter_string=f"name ILIKE '{prefix.upper()}-%'", order_by=["name DESC"]
        )
        assert [m.name for m in found] == names[::-1]
        found = store.search_registered_models(
            filter_string=f"name IN ('{names[0]}', '{names[4]}')"
        )
        assert [m.name for m in found] == [names[0], names[4]]
        found = store.search_registered_models(
            filter_string=f"name LIKE '{prefix}-%'", order_by=["last_updated_timestamp DESC"]
        )
        assert sorted(m.name for m in found) == names
        pages = all_pages(
            lambda t: store.search_registered_models(
                filter_string=f"name LIKE '{prefix}-%'", max_results=2, page_token=t
            )
        )
        assert [[m.name for m in p] for p in pages] == [names[:2], names[2:4], names[4:]]
        assert found[0].tags

    def test_search_model_page_tokens(self, store: RegistryStore) -> None:
        prefix = f"tok{uid()}"
        for i in range(3):
            store.create_registered_model(f"{prefix}-{i}")
        page = store.search_registered_models(filter_string=f"name LIKE '{prefix}%'", max_results=1)
        assert page.token
        with raises(InvalidPageToken, Code.INVALID_ARGUMENT):
            store.search_registered_models(
                filter_string=f"name LIKE '{prefix}%'", max_results=1, page_token=tamper(page.token)
            )
        with raises(InvalidPageToken, Code.INVALID_ARGUMENT):
            store.search_registered_models(
                filter_string="name LIKE 'other%'", max_results=1, page_token=page.token
            )

    @pytest.mark.parametrize("case", sorted(MALFORMED_MODEL_FILTERS))
    def test_malformed_model_filter(self, store: RegistryStore, case: str) -> None:
        name = self.new_model(store)
        with unchanged(store, name), raises(InvalidFilter, Code.INVALID_ARGUMENT):
            store.search_registered_models(filter_string=MALFORMED_MODEL_FILTERS[case])
        assert store.get_registered_model(name).name == name

    @pytest.mark.parametrize("bad", [0, -1, 1001])
    def test_bad_model_page_size(self, store: RegistryStore, bad: int) -> None:
        with raises(InvalidArgument, Code.INVALID_ARGUMENT, names=[str(bad)]):
            store.search_registered_models(max_results=bad)

    # == model versions =======================================================================

    def test_create_version_from_run(
        self,
        store: RegistryStore,
        tracking: TrackingStore,
        new_run: Callable[..., Run],
        make_source: Callable[..., str],
    ) -> None:
        name = self.new_model(store)
        run = new_run()
        source = make_source(run)
        before = now_ms()
        mv = store.create_model_version(
            name,
            source,
            tags={"t": "1"},
            description="desc",
            run_link="http://ci/1",
            user_id="alice",
        )
        assert mv.name == name and mv.version == 1
        assert mv.status == ModelVersionStatus.READY
        assert mv.current_stage == ModelStage.NONE
        assert mv.source == source
        assert mv.run_id == run.info.run_id
        assert mv.tags == {"t": "1"} and mv.description == "desc"
        assert mv.run_link == "http://ci/1" and mv.user_id == "alice"
        assert mv.creation_timestamp >= before - 60_000
        assert mv.storage_location.rstrip("/").endswith("/model")
        assert mv.signature == SignatureMetadata(INPUTS, OUTPUTS, None)
        assert mv.input_example_path == "input_example.json"
        files = store.list_model_version_files(name, 1)
        assert [f.path for f in files] == ["MLmodel", "data/model.bin", "input_example.json"]
        payload = next(f for f in files if f.path == "data/model.bin")
        assert payload.size == len(PAYLOAD)
        assert payload.sha256 == hashlib.sha256(PAYLOAD).hexdigest()
        assert mv.file_count == 3 and mv.content_digest == manifest_digest(files)
        got = store.get_model_version(name, 1)
        assert got == mv
        assert store.get_model_version_download_uri(name, 1) == mv.storage_location
        model = store.get_registered_model(name)
        assert [v.version for v in model.latest_versions] == [1]
        assert model.last_updated_timestamp >= model.creation_timestamp

    def test_version_without_signature(
        self,
        store: RegistryStore,
        new_run: Callable[..., Run],
        make_source: Callable[..., str],
    ) -> None:
        name = self.new_model(store)
        mv = store.create_model_version(name, make_source(new_run(), signature=False))
        assert mv.signature is None and mv.input_example_path is None
        assert mv.file_count == 2

    def test_create_version_of_unknown_model(
        self, store: RegistryStore, new_run: Callable[..., Run], make_source: Callable[..., str]
    ) -> None:
        name = f"missing-{uid()}"
        with raises(RegisteredModelNotFound, Code.NOT_FOUND, names=[name]):
            store.create_model_version(name, make_source(new_run()))
        with pytest.raises(RegisteredModelNotFound):
            store.get_registered_model(name)

    def test_create_version_with_unknown_run(self, store: RegistryStore) -> None:
        name = self.new_model(store)
        with unchanged(store, name), raises(RunNotFound, Code.NOT_FOUND, names=[UNKNOWN_RUN_ID]):
            store.create_model_version(name, f"runs:/{UNKNOWN_RUN_ID}/model")

    def test_version_numbers_never_reused(
        self, store: RegistryStore, version_of: Callable[..., ModelVersion]
    ) -> None:
        name = self.new_model(store)
        assert [version_of(name).version for _ in range(3)] == [1, 2, 3]
        store.delete_model_version(name, 3)
        store.delete_model_version(name, 2)
        assert version_of(name).version == 4
        with raises(ModelVersionNotFound, Code.NOT_FOUND, names=[name, "3"]):
            store.get_model_version(name, 3)
        live = store.search_model_versions(filter_string=f"name = '{name}'")
        assert sorted(v.version for v in live) == [1, 4]

    def test_delete_version_removes_aliases_with_events(
        self, store: RegistryStore, version_of: Callable[..., ModelVersion]
    ) -> None:
        name = self.new_model(store)
        version_of(name)
        version_of(name)
        store.set_registered_model_alias(name, "champion", 2)
        store.set_registered_model_alias(name, "challenger", 2)
        store.set_registered_model_alias(name, "old", 1)
        store.delete_model_version(name, 2, user_id="dave")
        assert store.get_registered_model(name).aliases == {"old": 1}
        with raises(AliasNotFound, Code.NOT_FOUND, names=["champion"]):
            store.get_model_version_by_alias(name, "champion")
        deleted = store.list_registry_history(name, kinds=[RegistryEventKind.ALIAS_DELETED])
        assert sorted((e.alias, e.previous_version, e.user_id) for e in deleted) == [
            ("challenger", 2, "dave"),
            ("champion", 2, "dave"),
        ]
        assert [
            e.version
            for e in store.list_registry_history(name, kinds=[RegistryEventKind.VERSION_DELETED])
        ] == [2]
        with raises(ModelVersionNotFound, Code.NOT_FOUND):
            store.delete_model_version(name, 2)
        with raises(ModelVersionNotFound, Code.NOT_FOUND):
            store.set_model_version_tag(name, 2, "k", "v")

    def test_update_version_description_and_tags(
        self, store: RegistryStore, version_of: Callable[..., ModelVersion]
    ) -> None:
        name = self.new_model(store)
        mv = version_of(name)
        time.sleep(0.005)
        updated = store.update_model_version(name, 1, "better")
        assert updated.description == "better"
        assert updated.last_updated_timestamp >= mv.last_updated_timestamp
        store.set_model_version_tag(name, 1, "a", "1")
        store.set_model_version_tag(name, 1, "a", "2")
        store.set_model_version_tag(name, 1, "long", "v" * 100_000)
        store.delete_model_version_tag(name, 1, "never-set")
        assert store.get_model_version(name, 1).tags == {"a": "2", "long": "v" * 100_000}
        store.delete_model_version_tag(name, 1, "a")
        assert store.get_model_version(name, 1).tags == {"long": "v" * 100_000}
        with unchanged(store, name), raises(InvalidArgument, Code.INVALID_ARGUMENT, names=["big"]):
            store.set_model_version_tag(name, 1, "big", "v" * 100_001)
        with unchanged(store, name), raises(InvalidArgument, Code.INVALID_ARGUMENT, names=["../k"]):
            store.set_model_version_tag(name, 1, "../k", "v")

    @pytest.mark.parametrize("bad", [0, -1, "abc", 1.5, None, True])
    def test_bad_version_number(
        self, store: RegistryStore, version_of: Callable[..., ModelVersion], bad: Any
    ) -> None:
        name = self.new_model(store)
        version_of(name)
        with (
            unchanged(store, name),
            raises(InvalidArgument, Code.INVALID_ARGUMENT, names=[str(bad)]),
        ):
            store.get_model_version(name, bad)
        with unchanged(store, name), raises(InvalidArgument, Code.INVALID_ARGUMENT):
            store.transition_model_version_stage(name, bad, ModelStage.STAGING)

    def test_unknown_version_and_model(self, store: RegistryStore) -> None:
        name = self.new_model(store)
        with raises(ModelVersionNotFound, Code.NOT_FOUND, names=[name, "7"]):
            store.get_model_version(name, 7)
        with raises(ModelVersionNotFound, Code.NOT_FOUND, names=[name]):
            store.update_model_version(name, 7, "x")
        with raises(ModelVersionNotFound, Code.NOT_FOUND):
            store.list_model_version_files(name, 7)
        missing = f"missing-{uid()}"
        with raises(ModelVersionNotFound, Code.NOT_FOUND, names=[missing]):
            store.get_model_version(missing, 1)
        with raises(RegisteredModelNotFound, Code.NOT_FOUND, names=[missing]):
            store.get_latest_versions(missing)
        with raises(RegisteredModelNotFound, Code.NOT_FOUND, names=[missing]):
            store.list_registry_history(missing)

    def test_create_version_is_idempotent_with_request_id(
        self,
        store: RegistryStore,
        new_run: Callable[..., Run],
        make_source: Callable[..., str],
        version_of: Callable[..., ModelVersion],
    ) -> None:
        name = self.new_model(store)
        source = make_source(new_run())
        request_id = f"req-{uid()}"
        first = store.create_model_version(name, source, request_id=request_id)
        again = store.create_model_version(name, source, request_id=request_id)
        assert again.version == first.version == 1
        assert version_of(name).version == 2

    # -- sources -----------------------------------------------------------------------------

    def _bad_sources(self, run: Run, other: Run, source: str) -> dict[str, tuple[type, Code, str]]:
        root = run.info.artifact_uri
        return {
            "dotdot_runs": (
                InvalidArgument,
                Code.INVALID_ARGUMENT,
                f"runs:/{run.info.run_id}/../x",
            ),
            "dotdot_uri": (InvalidArgument, Code.INVALID_ARGUMENT, f"{root}/model/../../x"),
            "query": (InvalidArgument, Code.INVALID_ARGUMENT, f"{root}/model?x=1"),
            "fragment": (InvalidArgument, Code.INVALID_ARGUMENT, f"{root}/model#frag"),
            "outside_run": (PermissionDenied, Code.PERMISSION_DENIED, "file:///etc"),
            "other_run": (
                PermissionDenied,
                Code.PERMISSION_DENIED,
                other.info.artifact_uri + "/model",
            ),
            "bad_runs_uri": (InvalidArgument, Code.INVALID_ARGUMENT, "runs:/not-a-run-id/model"),
            "bad_models_uri": (InvalidArgument, Code.INVALID_ARGUMENT, "models:/a/b/c"),
        }

    @pytest.mark.parametrize(
        "case",
        [
            "dotdot_runs",
            "dotdot_uri",
            "query",
            "fragment",
            "outside_run",
            "other_run",
            "bad_runs_uri",
            "bad_models_uri",
        ],
    )
    def test_bad_source_writes_nothing(
        self,
        store: RegistryStore,
        new_run: Callable[..., Run],
        make_source: Callable[..., str],
        case: str,
    ) -> None:
        name = self.new_model(store)
        run, other = new_run(), new_run()
        good = make_source(run)
        make_source(other)
        cls, code, source = self._bad_sources(run, other, good)[case]
        run_id = run.info.run_id if not source.startswith(("runs:", "models:")) else None
        with unchanged(store, name), raises(cls, code, names=[source]):
            store.create_model_version(name, source, run_id=run_id)
        # No number was consumed: the next good version is 1.
        assert store.create_model_version(name, good).version == 1

    def test_source_without_run_outside_allowed_roots(
        self, store: RegistryStore, new_run: Callable[..., Run], make_source: Callable[..., str]
    ) -> None:
        name = self.new_model(store)
        run = new_run()
        make_source(run)
        source = run.info.artifact_uri + "/model"
        with (
            unchanged(store, name),
            raises(PermissionDenied, Code.PERMISSION_DENIED, names=[source]),
        ):
            store.create_model_version(name, source)
        assert store.create_model_version(name, source, run_id=run.info.run_id).version == 1

    def test_run_id_must_match_runs_uri(
        self, store: RegistryStore, new_run: Callable[..., Run], make_source: Callable[..., str]
    ) -> None:
        name = self.new_model(store)
        run, other = new_run(), new_run()
        source = make_source(run)
        with (
            unchanged(store, name),
            raises(InvalidArgument, Code.INVALID_ARGUMENT, names=[other.info.run_id]),
        ):
            store.create_model_version(name, source, run_id=other.info.run_id)

    def test_missing_source_fails_registration_and_keeps_number(
        self, store: RegistryStore, new_run: Callable[..., Run], make_source: Callable[..., str]
    ) -> None:
        name = self.new_model(store)
        run = new_run()
        source = f"runs:/{run.info.run_id}/nothing-here"
        with raises(RegistrationFailed, Code.FAILED_PRECONDITION, names=[source, "1"]):
            store.create_model_version(name, source)
        failed = store.get_model_version(name, 1)
        assert failed.status == ModelVersionStatus.FAILED_REGISTRATION
        assert failed.status_message
        assert store.create_model_version(name, make_source(run)).version == 2

    def test_copy_version_from_models_uri(
        self, store: RegistryStore, version_of: Callable[..., ModelVersion]
    ) -> None:
        name = self.new_model(store)
        original = version_of(name)
        store.set_registered_model_alias(name, "champion", 1)
        target = self.new_model(store, "copy")
        for i, source in enumerate(
            [f"models:/{name}/1", f"models:/{name}@champion", f"models:/{name}/latest"], start=1
        ):
            copy = store.create_model_version(target, source)
            assert copy.version == i and copy.source == source
            assert copy.storage_location == original.storage_location
            assert copy.content_digest == original.content_digest
            assert copy.run_id == original.run_id
            assert store.list_model_version_files(target, i) == store.list_model_version_files(
                name, 1
            )
            lineage = store.get_model_version_lineage(target, i)
            assert lineage.copied_from is not None and lineage.copied_from.version == 1
            assert lineage.copied_from.name == name
        store.transition_model_version_stage(name, 1, ModelStage.PRODUCTION)
        assert store.create_model_version(target, f"models:/{name}/production").version == 4
        with raises(AliasNotFound, Code.NOT_FOUND, names=["nope"]):
            store.create_model_version(target, f"models:/{name}@nope")
        with raises(ModelVersionNotFound, Code.NOT_FOUND):
            store.create_model_version(target, f"models:/{name}/99")
        assert store.create_model_version(target, f"models:/{name}/1").version == 5

    def test_concurrent_creates_get_unique_gapless_numbers(
        self,
        store: RegistryStore,
        new_run: Callable[..., Run],
        make_source: Callable[..., str],
    ) -> None:
        name = self.new_model(store)
        sources = [make_source(new_run()) for _ in range(10)]
        results: list[int] = []
        errors: list[BaseException] = []
        barrier = threading.Barrier(10)

        def create(source: str) -> None:
            try:
                barrier.wait(timeout=30)
                results.append(store.create_model_version(name, source).version)
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=create, args=(s,)) for s in sources]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert errors == []
        assert sorted(results) == list(range(1, 11))
        live = store.search_model_versions(filter_string=f"name = '{name}'")
        assert sorted(v.version for v in live) == list(range(1, 11))
        assert all(v.status == ModelVersionStatus.READY for v in live)

    # -- stages --------------------------------------------------------------------------------

    def test_transition_and_latest_versions(
        self, store: RegistryStore, version_of: Callable[..., ModelVersion]
    ) -> None:
        name = self.new_model(store)
        for _ in range(4):
            version_of(name)
        store.transition_model_version_stage(name, 1, ModelStage.PRODUCTION)
        mv = store.transition_model_version_stage(name, 2, "production", user_id="eve")  # type: ignore[arg-type]
        assert mv.current_stage == ModelStage.PRODUCTION
        store.transition_model_version_stage(name, 3, "STAGING")  # type: ignore[arg-type]
        latest = store.get_latest_versions(name)
        assert {(v.current_stage, v.version) for v in latest} == {
            ("None", 4),
            ("Staging", 3),
            ("Production", 2),
        }
        assert [v.version for v in store.get_latest_versions(name, [ModelStage.PRODUCTION])] == [2]
        assert store.get_latest_versions(name, [ModelStage.ARCHIVED]) == []
        model = store.get_registered_model(name)
        assert {v.version for v in model.latest_versions} == {2, 3, 4}
        store.delete_model_version(name, 2)
        assert [v.version for v in store.get_latest_versions(name, ["Production"])] == [1]  # type: ignore[list-item]
        history = store.list_registry_history(name)
        assert [(e.version, e.from_stage, e.to_stage) for e in history] == [
            (1, "None", "Production"),
            (2, "None", "Production"),
            (3, "None", "Staging"),
        ]
        assert history[1].user_id == "eve" and not history[1].user_verified

    def test_archive_existing_versions(
        self, store: RegistryStore, version_of: Callable[..., ModelVersion]
    ) -> None:
        name = self.new_model(store)
        for _ in range(3):
            version_of(name)
        store.transition_model_version_stage(name, 1, ModelStage.PRODUCTION)
        store.transition_model_version_stage(name, 2, ModelStage.PRODUCTION)
        before = store.get_model_version(name, 1).last_updated_timestamp
        time.sleep(0.005)
        store.transition_model_version_stage(
            name, 3, ModelStage.PRODUCTION, archive_existing_versions=True
        )
        stages = {v.version: v.current_stage for v in store.get_latest_versions(name)}
        assert stages == {3: "Production", 2: "Archived"}
        assert store.get_model_version(name, 1).current_stage == ModelStage.ARCHIVED
        assert store.get_model_version(name, 1).last_updated_timestamp > before
        history = store.list_registry_history(name)
        assert [(e.version, e.from_stage, e.to_stage) for e in history[-3:]] == [
            (3, "None", "Production"),
            (1, "Production", "Archived"),
            (2, "Production", "Archived"),
        ]

    def test_transition_to_the_current_stage_is_a_no_op(
        self, store: RegistryStore, version_of: Callable[..., ModelVersion]
    ) -> None:
        """A retried promotion records nothing for the version; with archive_existing_versions
        it still archives the others in that stage."""
        name = self.new_model(store)
        for _ in range(2):
            version_of(name)
        store.transition_model_version_stage(name, 1, ModelStage.PRODUCTION)
        before = store.get_model_version(name, 1).last_updated_timestamp
        time.sleep(0.005)
        again = store.transition_model_version_stage(name, 1, ModelStage.PRODUCTION)
        assert again.current_stage == ModelStage.PRODUCTION
        assert again.last_updated_timestamp == before
        assert [(e.version, e.to_stage) for e in store.list_registry_history(name)] == [
            (1, "Production")
        ]
        store.transition_model_version_stage(name, 2, ModelStage.PRODUCTION)
        store.transition_model_version_stage(
            name, 2, ModelStage.PRODUCTION, archive_existing_versions=True
        )
        assert store.get_model_version(name, 1).current_stage == ModelStage.ARCHIVED
        history = store.list_registry_history(name)
        assert [(e.version, e.from_stage, e.to_stage) for e in history] == [
            (1, "None", "Production"),
            (2, "None", "Production"),
            (1, "Production", "Archived"),
        ]

    @pytest.mark.parametrize("bad", ["Prod", "", "Deleted_Internal", "none "])
    def test_unknown_stage(
        self, store: RegistryStore, version_of: Callable[..., ModelVersion], bad: str
    ) -> None:
        name = self.new_model(store)
        version_of(name)
        with (
            unchanged(store, name),
            raises(InvalidArgument, Code.INVALID_ARGUMENT, names=[repr(bad)[1:-1] or "empty"]),
        ):
            store.transition_model_version_stage(name, 1, bad)  # type: ignore[arg-type]

    @pytest.mark.parametrize("stage", [ModelStage.NONE, ModelStage.ARCHIVED])
    def test_archive_existing_with_inactive_stage(
        self, store: RegistryStore, version_of: Callable[..., ModelVersion], stage: ModelStage
    ) -> None:
        name = self.new_model(store)
        version_of(name)
        with (
            unchanged(store, name),
            raises(InvalidArgument, Code.INVALID_ARGUMENT, names=[stage.value]),
        ):
            store.transition_model_version_stage(name, 1, stage, archive_existing_versions=True)

    # -- aliases --------------------------------------------------------------------------------

    def test_aliases(self, store: RegistryStore, version_of: Callable[..., ModelVersion]) -> None:
        name = self.new_model(store)
        version_of(name)
        version_of(name)
        store.set_registered_model_alias(name, "champion", 1, user_id="frank")
        store.set_registered_model_alias(name, "Champion", 2)
        assert store.get_model_version_by_alias(name, "champion").version == 1
        assert store.get_model_version_by_alias(name, "Champion").version == 2
        assert store.get_model_version(name, 1).aliases == ["champion"]
        store.set_registered_model_alias(name, "champion", 2, user_id="grace")
        assert store.get_model_version(name, 2).aliases == ["Champion", "champion"]
        assert store.get_registered_model(name).aliases == {"Champion": 2, "champion": 2}
        moves = store.list_registry_history(name, kinds=[RegistryEventKind.ALIAS_SET])
        assert [(e.alias, e.version, e.previous_version, e.user_id) for e in moves] == [
            ("champion", 1, None, "frank"),
            ("Champion", 2, None, None),
            ("champion", 2, 1, "grace"),
        ]
        store.delete_registered_model_alias(name, "champion")
        store.delete_registered_model_alias(name, "never-set")
        with raises(AliasNotFound, Code.NOT_FOUND, names=["champion"]):
            store.get_model_version_by_alias(name, "champion")
        deleted = store.list_registry_history(name, kinds=[RegistryEventKind.ALIAS_DELETED])
        assert [(e.alias, e.previous_version) for e in deleted] == [("champion", 2)]

    def test_alias_to_unknown_version(
        self, store: RegistryStore, version_of: Callable[..., ModelVersion]
    ) -> None:
        name = self.new_model(store)
        version_of(name)
        with (
            unchanged(store, name),
            raises(ModelVersionNotFound, Code.NOT_FOUND, names=[name, "5"]),
        ):
            store.set_registered_model_alias(name, "champion", 5)
        missing = f"missing-{uid()}"
        with raises(RegisteredModelNotFound, Code.NOT_FOUND, names=[missing]):
            store.set_registered_model_alias(missing, "champion", 1)
        with raises(RegisteredModelNotFound, Code.NOT_FOUND, names=[missing]):
            store.get_model_version_by_alias(missing, "champion")

    @pytest.mark.parametrize("alias", RESERVED_ALIASES)
    def test_reserved_alias(
        self, store: RegistryStore, version_of: Callable[..., ModelVersion], alias: str
    ) -> None:
        name = self.new_model(store)
        version_of(name)
        with unchanged(store, name), raises(InvalidArgument, Code.INVALID_ARGUMENT, names=[alias]):
            store.set_registered_model_alias(name, alias, 1)

    @pytest.mark.parametrize("case", sorted(MALFORMED_ALIASES))
    def test_malformed_alias(
        self, store: RegistryStore, version_of: Callable[..., ModelVersion], case: str
    ) -> None:
        name = self.new_model(store)
        version_of(name)
        alias = MALFORMED_ALIASES[case]
        shown = alias[:40] if alias else "empty"
        with unchanged(store, name), raises(InvalidArgument, Code.INVALID_ARGUMENT, names=[shown]):
            store.set_registered_model_alias(name, alias, 1)
        with raises(InvalidArgument, Code.INVALID_ARGUMENT):
            store.get_model_version_by_alias(name, alias)

    # -- search versions ---------------------------------------------------------------------------

    def test_search_versions(
        self,
        store: RegistryStore,
        new_run: Callable[..., Run],
        make_source: Callable[..., str],
    ) -> None:
        prefix = f"sv-{uid()}"
        name, other = f"{prefix}-a", f"{prefix}-b"
        store.create_registered_model(name)
        store.create_registered_model(other)
        runs = [new_run() for _ in range(3)]
        store.create_model_version(name, make_source(runs[0]), tags={"k": "a"})
        store.create_model_version(name, make_source(runs[1], signature=False), tags={"k": "b"})
        store.create_model_version(name, make_source(runs[2]), tags={"k": "a" * 150})
        store.create_model_version(other, make_source(runs[0], "m2"), tags={"k": "a"})
        store.transition_model_version_stage(name, 2, ModelStage.STAGING)

        def search(f: str, **kw: Any) -> list[tuple[str, int]]:
            return [(v.name, v.version) for v in store.search_model_versions(filter_string=f, **kw)]

        both = f"name IN ('{name}', '{other}')"
        assert sorted(search(both)) == [(name, 1), (name, 2), (name, 3), (other, 1)]
        assert search(f"{both} AND tags.k = 'a'", order_by=["name", "version"]) == [
            (name, 1),
            (other, 1),
        ]
        assert search(f"{both} AND tags.k = '{'a' * 150}'") == [(name, 3)]
        assert search(f"{both} AND tags.k LIKE 'a%'", order_by=["name", "version"]) == [
            (name, 1),
            (name, 3),
            (other, 1),
        ]
        assert search(f"{both} AND tags.k != 'a'", order_by=["version"]) == [(name, 2), (name, 3)]
        assert search(f"name = '{name}' AND version_number > 1", order_by=["version DESC"]) == [
            (name, 3),
            (name, 2),
        ]
        assert search(f"name = '{name}' AND current_stage = 'staging'") == [(name, 2)]
        assert search(f"name = '{name}' AND current_stage IN ('None')", order_by=["version"]) == [
            (name, 1),
            (name, 3),
        ]
        assert search(f"name = '{name}' AND signature IS NULL") == [(name, 2)]
        assert search(f"name = '{name}' AND signature IS NOT NULL", order_by=["version"]) == [
            (name, 1),
            (name, 3),
        ]
        assert search(f"{both} AND run_id = '{runs[0].info.run_id}'", order_by=["name"]) == [
            (name, 1),
            (other, 1),
        ]
        assert sorted(search(f"{both} AND status = 'READY'")) == sorted(search(both))
        assert search(f"{both} AND source LIKE '%/m2'") == [(other, 1)]
        assert search(f"{both} AND source_path = 'runs:/{runs[1].info.run_id}/model'") == [
            (name, 2)
        ]
        store.delete_model_version(name, 1)
        assert search(f"{both} AND tags.k = 'a'") == [(other, 1)]
        # Default order: last update, newest first.
        assert search(both)[0] == (name, 2)
        pages = all_pages(
            lambda t: store.search_model_versions(
                filter_string=both, order_by=["name", "version"], max_results=2, page_token=t
            )
        )
        assert [[(v.name, v.version) for v in p] for p in pages] == [
            [(name, 2), (name, 3)],
            [(other, 1)],
        ]

    @pytest.mark.parametrize("case", sorted(MALFORMED_VERSION_FILTERS))
    def test_malformed_version_filter(
        self, store: RegistryStore, version_of: Callable[..., ModelVersion], case: str
    ) -> None:
        name = self.new_model(store)
        version_of(name)
        with unchanged(store, name), raises(InvalidFilter, Code.INVALID_ARGUMENT):
            store.search_model_versions(filter_string=MALFORMED_VERSION_FILTERS[case])
        assert store.get_model_version(name, 1).version == 1

    def test_search_version_page_token_bound_to_query(
        self, store: RegistryStore, version_of: Callable[..., ModelVersion]
    ) -> None:
        name = self.new_model(store)
        version_of(name)
        version_of(name)
        page = store.search_model_versions(filter_string=f"name = '{name}'", max_results=1)
        assert page.token
        with raises(InvalidPageToken, Code.INVALID_ARGUMENT):
            store.search_model_versions(filter_string="", max_results=1, page_token=page.token)
        with raises(InvalidPageToken, Code.INVALID_ARGUMENT):
            store.search_model_versions(
                filter_string=f"name = '{name}'", max_results=1, page_token=tamper(page.token)
            )

    # -- history, events ---------------------------------------------------------------------

    def test_history_paging(
        self, store: RegistryStore, version_of: Callable[..., ModelVersion]
    ) -> None:
        name = self.new_model(store)
        version_of(name)
        for i in range(5):
            store.set_registered_model_alias(name, f"a{i}", 1)
        pages = all_pages(lambda t: store.list_registry_history(name, max_results=2, page_token=t))
        assert [[e.alias for e in p] for p in pages] == [["a0", "a1"], ["a2", "a3"], ["a4"]]
        every = store.list_registry_history(name, kinds=list(RegistryEventKind))
        assert [e.kind for e in every[:2]] == [
            RegistryEventKind.MODEL_CREATED,
            RegistryEventKind.VERSION_CREATED,
        ]
        ids = [e.event_id for e in every]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        assert [e.alias for e in store.list_registry_history(name, version=1)] == [
            f"a{i}" for i in range(5)
        ]
        assert list(store.list_registry_history(name, version=2)) == []
        token = store.list_registry_history(name, max_results=2).token
        assert token
        with raises(InvalidPageToken, Code.INVALID_ARGUMENT):
            store.list_registry_history(name, max_results=2, page_token=tamper(token))
        with raises(InvalidPageToken, Code.INVALID_ARGUMENT):
            store.list_registry_history(name, max_results=2, version=1, page_token=token)

    def test_watch_events(
        self, store: RegistryStore, version_of: Callable[..., ModelVersion]
    ) -> None:
        name = self.new_model(store)
        watch = store.watch_registry_events(model_names=[name], heartbeat_s=0.2)
        try:
            version_of(name)
            store.transition_model_version_stage(name, 1, ModelStage.STAGING, user_id="ci")
            store.set_registered_model_alias(name, "champion", 1)
            events: list[RegistryEvent] = []
            cursors: list[int] = []
            deadline = time.monotonic() + 20
            for batch, cursor in watch:
                events.extend(batch)
                cursors.append(cursor)
                if len(events) >= 3 or time.monotonic() > deadline:
                    break
        finally:
            watch.close()  # type: ignore[attr-defined]
        assert [e.kind for e in events] == [
            RegistryEventKind.VERSION_CREATED,
            RegistryEventKind.STAGE_TRANSITIONED,
            RegistryEventKind.ALIAS_SET,
        ]
        assert events[1].to_stage == "Staging" and events[1].user_id == "ci"
        assert cursors == sorted(cursors) and cursors[-1] == events[-1].event_id
        # Resuming from a cursor repeats nothing and misses nothing.
        resumed, _ = collect_events(
            store,
            after_event_id=events[0].event_id,
            model_names=[name],
            until=lambda ev: len(ev) >= 2,
        )
        assert [e.event_id for e in resumed] == [e.event_id for e in events[1:]]
        only_alias, _ = collect_events(
            store,
            after_event_id=0,
            model_names=[name],
            kinds=[RegistryEventKind.ALIAS_SET],
            until=lambda ev: len(ev) >= 1,
        )
        assert [e.alias for e in only_alias] == ["champion"]

    def test_watch_heartbeat_and_close_from_another_thread(self, store: RegistryStore) -> None:
        watch = store.watch_registry_events(model_names=[f"quiet-{uid()}"], heartbeat_s=0.1)
        batch, cursor = next(watch)
        assert batch == [] and cursor >= 0
        finished = threading.Event()

        def consume() -> None:
            for _ in watch:
                pass
            finished.set()

        thread = threading.Thread(target=consume, daemon=True)
        thread.start()
        watch.close()  # type: ignore[attr-defined]
        thread.join(timeout=10)
        assert finished.is_set()

    @pytest.mark.parametrize(
        "bad", [{"heartbeat_s": 0}, {"after_event_id": -1}, {"kinds": ["NOPE"]}]
    )
    def test_bad_watch_arguments(self, store: RegistryStore, bad: dict[str, Any]) -> None:
        with raises(InvalidArgument, Code.INVALID_ARGUMENT):
            store.watch_registry_events(**bad)

    # -- lineage, integrity, protection ------------------------------------------------------

    def test_lineage(
        self,
        store: RegistryStore,
        tracking: TrackingStore,
        new_run: Callable[..., Run],
        make_source: Callable[..., str],
    ) -> None:
        from modelyard.entities import Metric, Param, RunTag

        grandparent = new_run()
        parent = tracking.create_run(
            experiment_id=grandparent.info.experiment_id,
            tags={"mlflow.parentRunId": grandparent.info.run_id},
        )
        child = tracking.create_run(
            experiment_id=grandparent.info.experiment_id,
            tags={
                "mlflow.parentRunId": parent.info.run_id,
                "mlflow.source.git.commit": "abc123",
            },
        )
        tracking.log_batch(
            child.info.run_id,
            metrics=[Metric("rmse", 0.5, now_ms(), 0)],
            params=[Param("lr", "0.1")],
            tags=[RunTag("stage", "train")],
        )
        child = tracking.get_run(child.info.run_id)
        name = self.new_model(store)
        store.create_model_version(name, make_source(child))
        lineage = store.get_model_version_lineage(name, 1)
        assert lineage.model_version.version == 1
        assert lineage.run is not None and lineage.run.info.run_id == child.info.run_id
        assert lineage.run.data.params == {"lr": "0.1"}
        assert lineage.run.data.metrics == {"rmse": 0.5}
        assert lineage.run.data.tags["mlflow.source.git.commit"] == "abc123"
        assert lineage.experiment is not None
        assert lineage.experiment.experiment_id == child.info.experiment_id
        assert [r.info.run_id for r in lineage.parent_runs] == [
            parent.info.run_id,
            grandparent.info.run_id,
        ]
        assert lineage.copied_from is None
        # A cycle in the parent tags ends the chain instead of looping.
        tracking.set_tag(grandparent.info.run_id, RunTag("mlflow.parentRunId", child.info.run_id))
        cyclic = store.get_model_version_lineage(name, 1)
        assert [r.info.run_id for r in cyclic.parent_runs] == [
            parent.info.run_id,
            grandparent.info.run_id,
        ]

    def test_versions_backing_and_gc_protection(
        self,
        store: RegistryStore,
        tracking: TrackingStore,
        version_of: Callable[..., ModelVersion],
    ) -> None:
        name = self.new_model(store)
        mv = version_of(name)
        location = mv.storage_location.rstrip("/")
        run_root = location.rsplit("/", 1)[0]
        assert store.versions_backing(location) == [(name, 1)]
        assert store.versions_backing(location + "/") == [(name, 1)]
        assert store.versions_backing(location + "/data/model.bin") == [(name, 1)]
        assert store.versions_backing(run_root) == [(name, 1)]
        assert store.versions_backing(location + "-other") == []
        assert store.versions_backing(run_root + "/other") == []
        try:
            protected = tracking.protected_artifact_uris()
        except ModelyardError:
            protected = None  # a transport without gc
        if protected is not None:
            assert mv.storage_location in protected
        store.delete_model_version(name, 1)
        assert store.versions_backing(location) == []
        if protected is not None:
            assert mv.storage_location not in tracking.protected_artifact_uris()
