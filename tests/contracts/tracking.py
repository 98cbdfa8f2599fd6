"""The TrackingStore contract: one suite, the same assertions on every backend and transport.

`TrackingStoreContract` has no `Test` prefix, so pytest collects it only through a subclass
(fsspec's pattern). A subclass provides a `store` fixture: a validated `TrackingStore` (as
`modelyard.store_registry.tracking_store_for_uri` returns it). The store may be shared by all
tests of the class, so every test works in experiments it creates under unique names and
never assumes an empty database; only the "Default" experiment "0" is common.

Everything is observed through the `TrackingStore` API. Every bad input checks the exception
class, its status code, and that the visible state is the same afterwards (`unchanged`).
"""

from __future__ import annotations

import math
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

import pytest

from modelyard.entities import (
    Experiment,
    LifecycleStage,
    Metric,
    PagedList,
    Param,
    Run,
    RunStatus,
    RunTag,
    ViewType,
)
from modelyard.errors import (
    Code,
    ExperimentAlreadyExists,
    ExperimentNotActive,
    ExperimentNotFound,
    FailedPrecondition,
    InvalidArgument,
    InvalidFilter,
    InvalidPageToken,
    ModelyardError,
    ParamAlreadyLogged,
    RunNotActive,
    RunNotFound,
    TagNotFound,
)
from modelyard.stores import LogBatch, TrackingStore

INF = float("inf")
NAN = float("nan")
FLOAT_MAX = 1.7976931348623157e308
RUN_ID_RE = re.compile(r"^[0-9a-f]{32}$")
UNKNOWN_RUN_ID = "0123456789abcdef0123456789abcdef"
UNKNOWN_EXPERIMENT_ID = "987654321"
INJECTION_OR = "params.a = 'x' OR 1=1 --"
INJECTION_DROP = "'; DROP TABLE runs; --"
ALL = 50_000  # max_results that fetches everything a test made


# -- helpers -----------------------------------------------------------------------------------


def uid() -> str:
    """A short unique suffix for names."""
    return uuid.uuid4().hex[:12]


def now_ms() -> int:
    """Milliseconds since the epoch."""
    return int(time.time() * 1000)


def new_experiment(store: TrackingStore, prefix: str = "exp", **kwargs: Any) -> str:
    """Create an experiment with a unique name; return its id."""
    return store.create_experiment(f"{prefix}-{uid()}", **kwargs)


def ids(runs: Sequence[Run]) -> list[str]:
    """Run ids in order."""
    return [r.info.run_id for r in runs]


def metric_of(run: Run, key: str) -> Metric:
    """The latest point of one metric of a run."""
    found = [m for m in run.data.metric_list if m.key == key]
    assert len(found) == 1, f"expected one latest point for {key!r}, got {found}"
    return found[0]


def same_float(a: float, b: float) -> bool:
    """Equal, with NaN equal to NaN and the sign of infinities kept."""
    return (math.isnan(a) and math.isnan(b)) or a == b


def history(store: TrackingStore, run_id: str, key: str) -> list[tuple[int, int, float]]:
    """The whole history of a metric as (step, timestamp, value), following page tokens."""
    out: list[tuple[int, int, float]] = []
    token: str | None = None
    while True:
        page, token = store.get_metric_history(run_id, key, page_token=token)
        out.extend(zip(page.steps, page.timestamps, page.values, strict=True))
        if not token:
            return out


def all_pages(fetch: Callable[[str | None], PagedList[Any]], limit: int = 100) -> list[list[Any]]:
    """Every page of a paged query, following tokens until the last page."""
    pages: list[list[Any]] = []
    token: str | None = None
    for _ in range(limit):
        page = fetch(token)
        pages.append(list(page))
        token = page.token
        if not token:
            return pages
    raise AssertionError(f"paging did not end after {limit} pages")


def tamper(token: str) -> str:
    """The token with one character in its middle replaced by another base64 character."""
    i = len(token) // 2
    return token[:i] + ("B" if token[i] != "B" else "C") + token[i + 1 :]


def _float_key(value: float) -> str:
    return repr(float(value))


def _experiment_state(e: Experiment) -> tuple[Any, ...]:
    return (
        e.experiment_id,
        e.name,
        str(e.lifecycle_stage),
        e.artifact_location,
        tuple(sorted(e.tags.items())),
        e.creation_time,
        e.last_update_time,
    )


def snapshot(store: TrackingStore, *experiment_ids: str) -> dict[str, Any]:
    """Everything visible: all experiments, and every run of the given experiments in full."""
    experiments = [
        _experiment_state(e)
        for page in all_pages(
            lambda t: store.search_experiments(
                view_type=ViewType.ALL, max_results=ALL, page_token=t
            )
        )
        for e in page
    ]
    runs: dict[str, Any] = {}
    if experiment_ids:
        for page in all_pages(
            lambda t: store.search_runs(
                experiment_ids=list(experiment_ids),
                view_type=ViewType.ALL,
                max_results=ALL,
                page_token=t,
            )
        ):
            for run in page:
                info = run.info
                latest = sorted(
                    (m.key, _float_key(m.value), m.timestamp, m.step) for m in run.data.metric_list
                )
                runs[info.run_id] = {
                    "info": (
                        info.experiment_id,
                        info.run_name,
                        info.user_id,
                        str(info.status),
                        info.start_time,
                        info.end_time,
                        info.artifact_uri,
                        str(info.lifecycle_stage),
                    ),
                    "params": sorted(run.data.params.items()),
                    "tags": sorted(run.data.tags.items()),
                    "latest": latest,
                    "history": {
                        key: [(s, t, _float_key(v)) for s, t, v in history(store, info.run_id, key)]
                        for key, *_ in latest
                    },
                }
    return {"experiments": sorted(experiments), "runs": runs}


@contextmanager
def unchanged(store: TrackingStore, *experiment_ids: str) -> Iterator[None]:
    """Assert that the visible state (see `snapshot`) is the same after the block."""
    before = snapshot(store, *experiment_ids)
    yield
    after = snapshot(store, *experiment_ids)
    assert after == before, "the store's visible state changed"


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


# -- bad input tables ------------------------------------------------------------------------

BAD_KEYS = {
    "too_long": "k" * 251,
    "star": "bad*char",
    "semicolon": "semi;colon",
    "quote": "quote'key",
    "newline": "new\nline",
    "dotdot_leading": "../escape",
    "dotdot_inner": "a/../b",
    "leading_slash": "/leading",
    "double_slash": "a//b",
    "empty": "",
}

MALFORMED_RUN_FILTERS = {
    "unbalanced_single_quote": "params.a = 'x",
    "unbalanced_double_quote": 'params.a = "x',
    "unknown_entity": "foo.a = 'x'",
    "or": "params.a = 'x' OR params.b = 'y'",
    "metric_compared_to_string": "metrics.m = 'abc'",
    "param_compared_to_number": "params.a = 1",
    "start_time_compared_to_string": "attributes.start_time = 'abc'",
    "unknown_attribute": "attributes.nope = 'x'",
    "dangling_and": "params.a = 'x' AND",
    "missing_value": "params.a =",
    "injection_or": INJECTION_OR,
    "injection_drop": INJECTION_DROP,
}

MALFORMED_EXPERIMENT_FILTERS = {
    "unbalanced_quote": "name = 'x",
    "unknown_entity": "foo.a = 'x'",
    "or": "name = 'x' OR name = 'y'",
    "name_compared_to_number": "name = 1",
    "creation_time_compared_to_string": "creation_time > 'abc'",
    "injection_or": "name = 'x' OR 1=1 --",
    "injection_drop": INJECTION_DROP,
}

BAD_MAX_RESULTS = {"zero": 0, "negative": -1, "ten_million": 10_000_000, "over_limit": 50_001}


class TrackingStoreContract:
    """Behaviour every TrackingStore must show. Subclasses provide the `store` fixture."""

    #: An artifact root that the store (or the server behind it) accepts for new experiments.
    ARTIFACT_ROOT: ClassVar[str] = "s3://modelyard-contract/artifacts"

    # == experiments ===========================================================================

    def test_default_experiment_exists(self, store: TrackingStore) -> None:
        exp = store.get_experiment("0")
        assert exp.experiment_id == "0"
        assert exp.name == "Default"
        assert exp.lifecycle_stage == LifecycleStage.ACTIVE
        by_name = store.get_experiment_by_name("Default")
        assert by_name is not None and by_name.experiment_id == "0"
        run = store.create_run(experiment_id="0")
        assert run.info.experiment_id == "0"

    def test_create_and_get_experiment(self, store: TrackingStore) -> None:
        name = f"create-{uid()}"
        location = f"{self.ARTIFACT_ROOT}/{uid()}"
        before = now_ms()
        exp_id = store.create_experiment(
            name, artifact_location=location, tags={"team": "vision", "note": "first"}
        )
        assert isinstance(exp_id, str) and exp_id.isdigit()
        exp = store.get_experiment(exp_id)
        assert exp.experiment_id == exp_id
        assert exp.name == name
        assert exp.artifact_location == location
        assert exp.lifecycle_stage == LifecycleStage.ACTIVE
        assert exp.tags == {"team": "vision", "note": "first"}
        assert exp.creation_time >= before - 60_000
        assert exp.last_update_time >= exp.creation_time

    def test_experiment_gets_default_artifact_location(self, store: TrackingStore) -> None:
        exp = store.get_experiment(new_experiment(store))
        assert isinstance(exp.artifact_location, str) and exp.artifact_location
        other = store.get_experiment(new_experiment(store))
        assert other.artifact_location != exp.artifact_location

    def test_get_experiment_by_name(self, store: TrackingStore) -> None:
        name = f"byname-{uid()}"
        exp_id = store.create_experiment(name)
        found = store.get_experiment_by_name(name)
        assert found is not None and found.experiment_id == exp_id and found.name == name
        assert store.get_experiment_by_name(f"missing-{uid()}") is None

    def test_experiment_names_are_case_and_space_sensitive(self, store: TrackingStore) -> None:
        base = f"case-{uid()}"
        lower = store.create_experiment(base + "-a")
        upper = store.create_experiment(base + "-A")
        padded = store.create_experiment(base + "-a ")
        assert len({lower, upper, padded}) == 3
        for name, exp_id in ((base + "-a", lower), (base + "-A", upper), (base + "-a ", padded)):
            found = store.get_experiment_by_name(name)
            assert found is not None and found.experiment_id == exp_id and found.name == name

    def test_get_unknown_experiment(self, store: TrackingStore) -> None:
        with raises(ExperimentNotFound, Code.NOT_FOUND, names=[UNKNOWN_EXPERIMENT_ID]):
            store.get_experiment(UNKNOWN_EXPERIMENT_ID)

    def test_duplicate_experiment_name(self, store: TrackingStore) -> None:
        name = f"dup-{uid()}"
        exp_id = store.create_experiment(name)
        with (
            unchanged(store, exp_id),
            raises(ExperimentAlreadyExists, Code.ALREADY_EXISTS, names=[name]),
        ):
            store.create_experiment(name)

    def test_duplicate_of_soft_deleted_experiment_name(self, store: TrackingStore) -> None:
        name = f"dup-deleted-{uid()}"
        exp_id = store.create_experiment(name)
        store.delete_experiment(exp_id)
        with (
            unchanged(store, exp_id),
            raises(ExperimentAlreadyExists, Code.ALREADY_EXISTS, names=[name]),
        ):
            store.create_experiment(name)
        deleted = store.get_experiment_by_name(name)
        assert deleted is not None and deleted.lifecycle_stage == LifecycleStage.DELETED

    def test_rename_experiment(self, store: TrackingStore) -> None:
        old, new = f"old-{uid()}", f"new-{uid()}"
        exp_id = store.create_experiment(old)
        store.rename_experiment(exp_id, new)
        assert store.get_experiment(exp_id).name == new
        assert store.get_experiment_by_name(old) is None
        found = store.get_experiment_by_name(new)
        assert found is not None and found.experiment_id == exp_id
        store.create_experiment(old)  # the old name is free again

    def test_rename_to_taken_name(self, store: TrackingStore) -> None:
        taken = f"taken-{uid()}"
        store.create_experiment(taken)
        exp_id = new_experiment(store)
        with (
            unchanged(store, exp_id),
            raises(ExperimentAlreadyExists, Code.ALREADY_EXISTS, names=[taken]),
        ):
            store.rename_experiment(exp_id, taken)

    def test_rename_deleted_experiment(self, store: TrackingStore) -> None:
        exp_id = new_experiment(store)
        store.delete_experiment(exp_id)
        with unchanged(store, exp_id), raises(FailedPrecondition, Code.FAILED_PRECONDITION):
            store.rename_experiment(exp_id, f"renamed-{uid()}")

    def test_rename_unknown_experiment(self, store: TrackingStore) -> None:
        with unchanged(store), raises(ExperimentNotFound, Code.NOT_FOUND):
            store.rename_experiment(UNKNOWN_EXPERIMENT_ID, f"renamed-{uid()}")

    def test_delete_experiment_cascades_to_runs(self, store: TrackingStore) -> None:
        exp_id = new_experiment(store)
        runs = [store.create_run(experiment_id=exp_id) for _ in range(3)]
        store.delete_experiment(exp_id)
        assert store.get_experiment(exp_id).lifecycle_stage == LifecycleStage.DELETED
        for run in runs:
            assert store.get_run(run.info.run_id).info.lifecycle_stage == LifecycleStage.DELETED
        assert list(store.search_runs(experiment_ids=[exp_id])) == []
        deleted = store.search_runs(experiment_ids=[exp_id], view_type=ViewType.DELETED_ONLY)
        assert sorted(ids(deleted)) == sorted(ids(runs))

    def test_restore_experiment_restores_only_runs_its_deletion_removed(
        self, store: TrackingStore
    ) -> None:
        exp_id = new_experiment(store)
        kept = [store.create_run(experiment_id=exp_id).info.run_id for _ in range(2)]
        deleted_before = store.create_run(experiment_id=exp_id).info.run_id
        store.delete_run(deleted_before)
        store.delete_experiment(exp_id)
        store.restore_experiment(exp_id)
        assert store.get_experiment(exp_id).lifecycle_stage == LifecycleStage.ACTIVE
        for run_id in kept:
            assert store.get_run(run_id).info.lifecycle_stage == LifecycleStage.ACTIVE
        assert store.get_run(deleted_before).info.lifecycle_stage == LifecycleStage.DELETED
        assert sorted(ids(store.search_runs(experiment_ids=[exp_id]))) == sorted(kept)

    def test_delete_unknown_experiment(self, store: TrackingStore) -> None:
        with unchanged(store), raises(ExperimentNotFound, Code.NOT_FOUND):
            store.delete_experiment(UNKNOWN_EXPERIMENT_ID)

    def test_create_run_in_deleted_experiment(self, store: TrackingStore) -> None:
        exp_id = new_experiment(store)
        store.delete_experiment(exp_id)
        with unchanged(store, exp_id), raises(ExperimentNotActive, Code.FAILED_PRECONDITION):
            store.create_run(experiment_id=exp_id)

    def test_create_run_in_unknown_experiment(self, store: TrackingStore) -> None:
        with unchanged(store), raises(ExperimentNotFound, Code.NOT_FOUND):
            store.create_run(experiment_id=UNKNOWN_EXPERIMENT_ID)

    def test_experiment_tags(self, store: TrackingStore) -> None:
        exp_id = new_experiment(store, tags={"a": "1"})
        store.set_experiment_tag(exp_id, "b", "2")
        store.set_experiment_tag(exp_id, "a", "changed")
        assert store.get_experiment(exp_id).tags == {"a": "changed", "b": "2"}
        store.delete_experiment_tag(exp_id, "a")
        assert store.get_experiment(exp_id).tags == {"b": "2"}
        long_value = "v" * 20_000
        store.set_experiment_tag(exp_id, "long", long_value)
        assert store.get_experiment(exp_id).tags["long"] == long_value

    def test_delete_missing_experiment_tag(self, store: TrackingStore) -> None:
        exp_id = new_experiment(store, tags={"present": "1"})
        with unchanged(store, exp_id), raises(TagNotFound, Code.NOT_FOUND, names=["absent"]):
            store.delete_experiment_tag(exp_id, "absent")

    def test_experiment_tag_on_unknown_experiment(self, store: TrackingStore) -> None:
        with unchanged(store), raises(ExperimentNotFound, Code.NOT_FOUND):
            store.set_experiment_tag(UNKNOWN_EXPERIMENT_ID, "k", "v")

    # -- search experiments --------------------------------------------------------------------

    def _experiment_world(self, store: TrackingStore) -> tuple[str, dict[str, str]]:
        prefix = f"sx{uid()}"
        made = {
            "a": store.create_experiment(f"{prefix}-a", tags={"team": "x"}),
            "b": store.create_experiment(f"{prefix}-b", tags={"team": "y"}),
            "c": store.create_experiment(f"{prefix}-c"),
            "d": store.create_experiment(f"{prefix}-d", tags={"team": "x"}),
        }
        store.delete_experiment(made["d"])
        return prefix, made

    def _search_experiment_names(
        self, store: TrackingStore, prefix: str, filter_string: str = "", **kwargs: Any
    ) -> list[str]:
        clause = f"name LIKE '{prefix}-%'"
        full = f"{clause} AND {filter_string}" if filter_string else clause
        found = store.search_experiments(filter_string=full, max_results=ALL, **kwargs)
        return [e.name.removeprefix(prefix + "-") for e in found]

    def test_search_experiments_filters(self, store: TrackingStore) -> None:
        prefix, made = self._experiment_world(store)

        def names(filter_string: str = "") -> set[str]:
            return set(self._search_experiment_names(store, prefix, filter_string))

        assert names() == {"a", "b", "c"}
        assert names(f"name = '{prefix}-b'") == {"b"}
        assert names(f"name != '{prefix}-b'") == {"a", "c"}
        assert names("tags.team = 'x'") == {"a"}
        assert names("tags.team != 'x'") == {"b"}
        assert names("tags.team IS NULL") == {"c"}
        assert names("tags.team IS NOT NULL") == {"a", "b"}
        assert names("tags.team LIKE 'X'") == set()
        assert names("tags.team ILIKE 'X'") == {"a"}
        assert names(f"experiment_id IN ('{made['a']}', '{made['c']}')") == {"a", "c"}
        assert names(f"experiment_id NOT IN ('{made['a']}')") == {"b", "c"}
        created_b = store.get_experiment(made["b"]).creation_time
        assert names(f"creation_time >= {created_b}") >= {"b", "c"}
        assert "a" in names(f"creation_time <= {created_b}")
        upper = store.search_experiments(filter_string=f"name ILIKE '{prefix.upper()}-%'")
        assert {e.experiment_id for e in upper} == {made["a"], made["b"], made["c"]}
        assert list(store.search_experiments(filter_string=f"name LIKE '{prefix.upper()}-%'")) == []

    def test_search_experiments_view_types(self, store: TrackingStore) -> None:
        prefix, _ = self._experiment_world(store)
        search = self._search_experiment_names
        assert set(search(store, prefix, view_type=ViewType.ACTIVE_ONLY)) == {"a", "b", "c"}
        assert set(search(store, prefix, view_type=ViewType.DELETED_ONLY)) == {"d"}
        assert set(search(store, prefix, view_type=ViewType.ALL)) == {"a", "b", "c", "d"}

    def test_search_experiments_order(self, store: TrackingStore) -> None:
        prefix, made = self._experiment_world(store)
        search = self._search_experiment_names
        assert search(store, prefix, order_by=["name ASC"]) == ["a", "b", "c"]
        assert search(store, prefix, order_by=["name DESC"]) == ["c", "b", "a"]
        assert search(store, prefix, order_by=["name"]) == ["a", "b", "c"]
        by_id = sorted(["a", "b", "c"], key=lambda n: int(made[n]), reverse=True)
        assert search(store, prefix, order_by=["experiment_id DESC"]) == by_id
        # Default: creation_time DESC, then experiment_id ASC.
        found = store.search_experiments(filter_string=f"name LIKE '{prefix}-%'")
        expected = sorted(found, key=lambda e: (-e.creation_time, int(e.experiment_id)))
        assert [e.experiment_id for e in found] == [e.experiment_id for e in expected]

    def test_search_experiments_paging(self, store: TrackingStore) -> None:
        prefix, made = self._experiment_world(store)
        pages = all_pages(
            lambda t: store.search_experiments(
                view_type=ViewType.ALL,
                filter_string=f"name LIKE '{prefix}-%'",
                order_by=["name ASC"],
                max_results=3,
                page_token=t,
            )
        )
        assert [len(p) for p in pages] == [3, 1]
        assert [e.experiment_id for p in pages for e in p] == [
            made["a"],
            made["b"],
            made["c"],
            made["d"],
        ]

    # == runs ==================================================================================

    def test_create_run(self, store: TrackingStore) -> None:
        exp_id = new_experiment(store, artifact_location=f"{self.ARTIFACT_ROOT}/{uid()}")
        run = store.create_run(
            experiment_id=exp_id,
            user_id="alice",
            start_time=1_700_000_000_000,
            run_name="first-run",
            tags={"env": "dev"},
        )
        info = run.info
        assert RUN_ID_RE.match(info.run_id), info.run_id
        assert info.experiment_id == exp_id
        assert info.status == RunStatus.RUNNING
        assert info.lifecycle_stage == LifecycleStage.ACTIVE
        assert info.user_id == "alice"
        assert info.start_time == 1_700_000_000_000
        assert info.end_time is None
        assert info.run_name == "first-run"
        location = store.get_experiment(exp_id).artifact_location
        assert info.artifact_uri == f"{location}/{info.run_id}/artifacts"
        assert run.data.tags["env"] == "dev"
        assert run.data.tags["mlflow.runName"] == "first-run"
        assert run.data.params == {} and not run.data.metric_list
        got = store.get_run(info.run_id)
        assert got.info == info
        assert got.data.tags == run.data.tags and got.data.params == {}

    def test_run_artifact_uri_under_default_location(self, store: TrackingStore) -> None:
        exp_id = new_experiment(store)
        run = store.create_run(experiment_id=exp_id)
        location = store.get_experiment(exp_id).artifact_location
        assert run.info.artifact_uri == f"{location}/{run.info.run_id}/artifacts"

    def test_run_ids_are_unique_32_hex(self, store: TrackingStore) -> None:
        exp_id = new_experiment(store)
        run_ids = [store.create_run(experiment_id=exp_id).info.run_id for _ in range(5)]
        assert len(set(run_ids)) == 5
        assert all(RUN_ID_RE.match(r) for r in run_ids), run_ids

    def test_create_run_start_time_defaults_to_now(self, store: TrackingStore) -> None:
        before = now_ms()
        run = store.create_run(experiment_id=new_experiment(store))
        assert before - 600_000 <= run.info.start_time <= now_ms() + 600_000

    def test_generated_run_name(self, store: TrackingStore) -> None:
        run = store.create_run(experiment_id=new_experiment(store))
        assert isinstance(run.info.run_name, str) and run.info.run_name.strip()
        assert run.data.tags["mlflow.runName"] == run.info.run_name
        assert store.get_run(run.info.run_id).info.run_name == run.info.run_name

    def test_update_run(self, store: TrackingStore) -> None:
        run_id = store.create_run(
            experiment_id=new_experiment(store), run_name="before"
        ).info.run_id
        info = store.update_run(run_id, status=RunStatus.FINISHED, end_time=1_800_000_000_000)
        assert info.status == RunStatus.FINISHED and info.end_time == 1_800_000_000_000
        assert info.run_name == "before"
        info = store.update_run(run_id, run_name="after")
        assert info.run_name == "after"
        assert info.status == RunStatus.FINISHED and info.end_time == 1_800_000_000_000
        got = store.get_run(run_id)
        assert got.info.status == RunStatus.FINISHED
        assert got.info.end_time == 1_800_000_000_000
        assert got.info.run_name == "after"
        assert got.data.tags["mlflow.runName"] == "after"
        store.update_run(run_id, status=RunStatus.KILLED)
        assert store.get_run(run_id).info.status == RunStatus.KILLED

    def test_run_name_tag_renames_run(self, store: TrackingStore) -> None:
        run_id = store.create_run(experiment_id=new_experiment(store), run_name="one").info.run_id
        store.set_tag(run_id, RunTag(key="mlflow.runName", value="two"))
        got = store.get_run(run_id)
        assert got.info.run_name == "two"
        assert got.data.tags["mlflow.runName"] == "two"

    def test_run_name_from_creation_tag(self, store: TrackingStore) -> None:
        run = store.create_run(
            experiment_id=new_experiment(store), tags={"mlflow.runName": "from-tag"}
        )
        assert run.info.run_name == "from-tag"
        assert run.data.tags["mlflow.runName"] == "from-tag"

    def test_delete_and_restore_run(self, store: TrackingStore) -> None:
        exp_id = new_experiment(store)
        run_id = store.create_run(experiment_id=exp_id).info.run_id
        store.log_batch(
            run_id,
            params=[Param(key="p", value="1")],
            metrics=[Metric(key="m", value=1.0, timestamp=1, step=0)],
        )
        store.delete_run(run_id)
        deleted = store.get_run(run_id)
        assert deleted.info.lifecycle_stage == LifecycleStage.DELETED
        assert deleted.data.params == {"p": "1"} and deleted.data.metrics == {"m": 1.0}
        assert run_id not in ids(store.search_runs(experiment_ids=[exp_id]))
        store.restore_run(run_id)
        assert store.get_run(run_id).info.lifecycle_stage == LifecycleStage.ACTIVE
        assert ids(store.search_runs(experiment_ids=[exp_id])) == [run_id]

    def test_restore_run_in_deleted_experiment(self, store: TrackingStore) -> None:
        exp_id = new_experiment(store)
        run_id = store.create_run(experiment_id=exp_id).info.run_id
        store.delete_experiment(exp_id)
        with unchanged(store, exp_id), raises(FailedPrecondition, Code.FAILED_PRECONDITION):
            store.restore_run(run_id)

    @pytest.mark.parametrize(
        "write",
        ["log_batch", "log_metric", "log_param", "set_tag", "delete_tag", "update_run"],
    )
    def test_write_to_deleted_run(self, store: TrackingStore, write: str) -> None:
        exp_id = new_experiment(store)
        run_id = store.create_run(experiment_id=exp_id, tags={"t": "v"}).info.run_id
        store.delete_run(run_id)
        calls: dict[str, Callable[[], object]] = {
            "log_batch": lambda: store.log_batch(
                run_id, metrics=[Metric(key="m", value=1.0, timestamp=1)]
            ),
            "log_metric": lambda: store.log_metric(run_id, Metric(key="m", value=1.0, timestamp=1)),
            "log_param": lambda: store.log_param(run_id, Param(key="p", value="v")),
            "set_tag": lambda: store.set_tag(run_id, RunTag(key="t", value="new")),
            "delete_tag": lambda: store.delete_tag(run_id, "t"),
            "update_run": lambda: store.update_run(run_id, status=RunStatus.FINISHED),
        }
        with unchanged(store, exp_id), raises(RunNotActive, Code.FAILED_PRECONDITION):
            calls[write]()

    @pytest.mark.parametrize(
        "call",
        [
            "get_run",
            "log_batch",
            "log_param",
            "set_tag",
            "delete_tag",
            "update_run",
            "delete_run",
            "restore_run",
            "get_metric_history",
        ],
    )
    def test_unknown_run(self, store: TrackingStore, call: str) -> None:
        calls: dict[str, Callable[[], object]] = {
            "get_run": lambda: store.get_run(UNKNOWN_RUN_ID),
            "log_batch": lambda: store.log_batch(
                UNKNOWN_RUN_ID, metrics=[Metric(key="m", value=1.0, timestamp=1)]
            ),
            "log_param": lambda: store.log_param(UNKNOWN_RUN_ID, Param(key="p", value="v")),
            "set_tag": lambda: store.set_tag(UNKNOWN_RUN_ID, RunTag(key="t", value="v")),
            "delete_tag": lambda: store.delete_tag(UNKNOWN_RUN_ID, "t"),
            "update_run": lambda: store.update_run(UNKNOWN_RUN_ID, status=RunStatus.FINISHED),
            "delete_run": lambda: store.delete_run(UNKNOWN_RUN_ID),
            "restore_run": lambda: store.restore_run(UNKNOWN_RUN_ID),
            "get_metric_history": lambda: store.get_metric_history(UNKNOWN_RUN_ID, "m"),
        }
        with unchanged(store), raises(RunNotFound, Code.NOT_FOUND, names=[UNKNOWN_RUN_ID]):
            calls[call]()

    # == logging ===============================================================================

    def _run(self, store: TrackingStore, **kwargs: Any) -> tuple[str, str]:
        exp_id = new_experiment(store)
        return exp_id, store.create_run(experiment_id=exp_id, **kwargs).info.run_id

    def test_params_are_immutable(self, store: TrackingStore) -> None:
        exp_id, run_id = self._run(store)
        store.log_param(run_id, Param(key="lr", value="old-value-1"))
        store.log_param(run_id, Param(key="lr", value="old-value-1"))  # same value: fine
        store.log_batch(run_id, params=[Param(key="lr", value="old-value-1")])
        with (
            unchanged(store, exp_id),
            raises(
                ParamAlreadyLogged,
                Code.INVALID_ARGUMENT,
                names=["lr", "old-value-1", "new-value-2"],
            ),
        ):
            store.log_param(run_id, Param(key="lr", value="new-value-2"))
        assert store.get_run(run_id).data.params == {"lr": "old-value-1"}

    def test_changed_param_writes_nothing_of_its_batch(self, store: TrackingStore) -> None:
        exp_id, run_id = self._run(store)
        store.log_param(run_id, Param(key="lr", value="old-value-1"))
        with (
            unchanged(store, exp_id),
            raises(
                ParamAlreadyLogged,
                Code.INVALID_ARGUMENT,
                names=["lr", "old-value-1", "new-value-2"],
            ),
        ):
            store.log_batch(
                run_id,
                metrics=[Metric(key="loss", value=0.5, timestamp=10, step=1)],
                params=[Param(key="batch", value="32"), Param(key="lr", value="new-value-2")],
                tags=[RunTag(key="stage", value="train")],
            )
        run = store.get_run(run_id)
        assert run.data.params == {"lr": "old-value-1"}
        assert "stage" not in run.data.tags
        assert not run.data.metric_list
        assert history(store, run_id, "loss") == []

    def test_param_values(self, store: TrackingStore) -> None:
        _, run_id = self._run(store)
        values = {
            "empty": "",
            "unicode": "üñí©ødé ✓ 日本",
            "long": "x" * 6000,
            "quotes": 'it\'s "quoted"',
            "injection": INJECTION_DROP,
        }
        store.log_batch(run_id, params=[Param(key=k, value=v) for k, v in values.items()])
        assert store.get_run(run_id).data.params == values

    def test_keys_are_case_and_space_sensitive(self, store: TrackingStore) -> None:
        _, run_id = self._run(store)
        store.log_batch(
            run_id,
            params=[Param(key=k, value=k + "!") for k in ("k", "K", "k ")],
            tags=[RunTag(key=k, value=k + "?") for k in ("t", "T", "t ")],
            metrics=[Metric(key=k, value=v, timestamp=1) for k, v in (("m", 1.0), ("M", 2.0))],
        )
        data = store.get_run(run_id).data
        assert data.params == {"k": "k!", "K": "K!", "k ": "k !"}
        assert {k: v for k, v in data.tags.items() if k.lower().startswith("t")} == {
            "t": "t?",
            "T": "T?",
            "t ": "t ?",
        }
        assert data.metrics == {"m": 1.0, "M": 2.0}

    def test_tags_upsert_and_delete(self, store: TrackingStore) -> None:
        exp_id, run_id = self._run(store)
        store.set_tag(run_id, RunTag(key="stage", value="one"))
        store.set_tag(run_id, RunTag(key="stage", value="two"))
        store.log_batch(run_id, tags=[RunTag(key="other", value="x" * 8000)])
        tags = store.get_run(run_id).data.tags
        assert tags["stage"] == "two" and tags["other"] == "x" * 8000
        store.delete_tag(run_id, "stage")
        assert "stage" not in store.get_run(run_id).data.tags
        with unchanged(store, exp_id), raises(TagNotFound, Code.NOT_FOUND, names=["stage"]):
            store.delete_tag(run_id, "stage")

    def test_metric_history_is_complete_and_ordered(self, store: TrackingStore) -> None:
        _, run_id = self._run(store)
        points = [(2, 100, 2.5), (0, 300, 0.25), (1, 200, 1.5), (0, 100, 0.5), (1, 50, 1.25)]
        store.log_batch(
            run_id, metrics=[Metric(key="loss", value=v, timestamp=t, step=s) for s, t, v in points]
        )
        store.log_metric(run_id, Metric(key="loss", value=9.0, timestamp=1, step=3))
        assert history(store, run_id, "loss") == [
            (0, 100, 0.5),
            (0, 300, 0.25),
            (1, 50, 1.25),
            (1, 200, 1.5),
            (2, 100, 2.5),
            (3, 1, 9.0),
        ]
        page, token = store.get_metric_history(run_id, "loss")
        assert token is None and page.run_id == run_id and page.key == "loss"
        assert [m.step for m in page.to_metrics()] == [0, 0, 1, 1, 2, 3]
        assert history(store, run_id, "never-logged") == []

    def test_latest_metric_rule(self, store: TrackingStore) -> None:
        _, run_id = self._run(store)
        for step, ts, value in [(0, 10, 1.0), (1, 11, 2.0), (2, 12, 3.0)]:
            store.log_metric(run_id, Metric(key="loss", value=value, timestamp=ts, step=step))
        store.log_metric(run_id, Metric(key="loss", value=5.0, timestamp=99, step=0))
        store.log_batch(
            run_id,
            metrics=[
                Metric(key="later", value=1.0, timestamp=10, step=5),
                Metric(key="later", value=0.5, timestamp=20, step=5),
                Metric(key="tie", value=1.0, timestamp=10, step=5),
                Metric(key="tie", value=7.0, timestamp=10, step=5),
                Metric(key="tie", value=3.0, timestamp=10, step=5),
            ],
        )
        run = store.get_run(run_id)
        assert metric_of(run, "loss") == Metric(key="loss", value=3.0, timestamp=12, step=2)
        assert metric_of(run, "later") == Metric(key="later", value=0.5, timestamp=20, step=5)
        assert metric_of(run, "tie") == Metric(key="tie", value=7.0, timestamp=10, step=5)
        assert run.data.metrics == {"loss": 3.0, "later": 0.5, "tie": 7.0}
        assert len(history(store, run_id, "loss")) == 4

    def test_nan_and_infinities_round_trip(self, store: TrackingStore) -> None:
        _, run_id = self._run(store)
        store.log_batch(
            run_id,
            metrics=[
                Metric(key="x", value=NAN, timestamp=1, step=0),
                Metric(key="x", value=INF, timestamp=1, step=1),
                Metric(key="x", value=-INF, timestamp=1, step=2),
                Metric(key="x", value=1.5, timestamp=1, step=3),
                Metric(key="nan", value=NAN, timestamp=1),
                Metric(key="pinf", value=INF, timestamp=1),
                Metric(key="ninf", value=-INF, timestamp=1),
                Metric(key="max", value=FLOAT_MAX, timestamp=1),
                Metric(key="min", value=-FLOAT_MAX, timestamp=1),
            ],
        )
        values = [v for _, _, v in history(store, run_id, "x")]
        assert len(values) == 4
        assert math.isnan(values[0])
        assert values[1:] == [INF, -INF, 1.5]
        metrics = store.get_run(run_id).data.metrics
        assert math.isnan(metrics["nan"])
        assert metrics["pinf"] == INF and metrics["ninf"] == -INF
        assert metrics["max"] == FLOAT_MAX and metrics["min"] == -FLOAT_MAX
        assert metrics["x"] == 1.5
        assert [v for _, _, v in history(store, run_id, "pinf")] == [INF]
        assert [v for _, _, v in history(store, run_id, "max")] == [FLOAT_MAX]

    def test_latest_metric_can_be_nan_or_infinite(self, store: TrackingStore) -> None:
        _, run_id = self._run(store)
        store.log_batch(
            run_id,
            metrics=[
                Metric(key="a", value=1.0, timestamp=1, step=0),
                Metric(key="a", value=NAN, timestamp=1, step=1),
                Metric(key="b", value=1.0, timestamp=1, step=0),
                Metric(key="b", value=-INF, timestamp=1, step=1),
            ],
        )
        run = store.get_run(run_id)
        assert math.isnan(metric_of(run, "a").value) and metric_of(run, "a").step == 1
        assert metric_of(run, "b").value == -INF and metric_of(run, "b").step == 1

    def test_log_batch_writes_everything(self, store: TrackingStore) -> None:
        _, run_id = self._run(store)
        store.log_batch(
            run_id,
            metrics=[Metric(key=f"m{i}", value=float(i), timestamp=i, step=i) for i in range(900)],
            params=[Param(key=f"p{i}", value=str(i)) for i in range(50)],
            tags=[RunTag(key=f"t{i}", value=str(i)) for i in range(50)],
        )
        data = store.get_run(run_id).data
        assert data.metrics == {f"m{i}": float(i) for i in range(900)}
        assert data.params == {f"p{i}": str(i) for i in range(50)}
        assert {k: v for k, v in data.tags.items() if k.startswith("t")} == {
            f"t{i}": str(i) for i in range(50)
        }

    def test_request_id_create_experiment(self, store: TrackingStore) -> None:
        name, request_id = f"idem-{uid()}", f"req-{uid()}"
        first = store.create_experiment(name, request_id=request_id)
        again = store.create_experiment(name, request_id=request_id)
        assert again == first
        found = store.search_experiments(filter_string=f"name = '{name}'", view_type=ViewType.ALL)
        assert [e.experiment_id for e in found] == [first]

    def test_request_id_create_run(self, store: TrackingStore) -> None:
        exp_id, request_id = new_experiment(store), f"req-{uid()}"
        first = store.create_run(experiment_id=exp_id, run_name="once", request_id=request_id)
        again = store.create_run(experiment_id=exp_id, run_name="once", request_id=request_id)
        assert again.info.run_id == first.info.run_id
        assert ids(store.search_runs(experiment_ids=[exp_id], view_type=ViewType.ALL)) == [
            first.info.run_id
        ]
        other = store.create_run(experiment_id=exp_id, request_id=f"req-{uid()}")
        assert other.info.run_id != first.info.run_id

    def test_request_id_log_batch(self, store: TrackingStore) -> None:
        _, run_id = self._run(store)
        request_id = f"req-{uid()}"
        batch: dict[str, Any] = {
            "metrics": [Metric(key="loss", value=1.0, timestamp=5, step=0)],
            "params": [Param(key="p", value="1")],
            "tags": [RunTag(key="t", value="1")],
        }
        store.log_batch(run_id, request_id=request_id, **batch)
        store.log_batch(run_id, request_id=request_id, **batch)
        assert history(store, run_id, "loss") == [(0, 5, 1.0)]
        store.log_batch(
            run_id,
            metrics=[Metric(key="loss", value=2.0, timestamp=6, step=1)],
            request_id=f"req-{uid()}",
        )
        assert history(store, run_id, "loss") == [(0, 5, 1.0), (1, 6, 2.0)]

    def test_log_batches_stream(self, store: TrackingStore) -> None:
        exp_id = new_experiment(store)
        run_a = store.create_run(experiment_id=exp_id).info.run_id
        run_b = store.create_run(experiment_id=exp_id).info.run_id

        def batches() -> Iterator[LogBatch]:
            for step in range(5):
                yield LogBatch(
                    run_id=run_a,
                    metrics=[Metric(key="loss", value=step, timestamp=step, step=step)],
                )
            yield LogBatch(
                run_id=run_b, params=[Param(key="p", value="b")], tags=[RunTag(key="t", value="b")]
            )

        assert store.log_batches(batches()) == 6
        assert [s for s, _, _ in history(store, run_a, "loss")] == [0, 1, 2, 3, 4]
        data_b = store.get_run(run_b).data
        assert data_b.params == {"p": "b"} and data_b.tags["t"] == "b"

    def test_log_batches_stops_at_first_refused_batch(self, store: TrackingStore) -> None:
        _, run_id = self._run(store)
        store.log_param(run_id, Param(key="p", value="old-value-1"))
        batches = [
            LogBatch(run_id=run_id, metrics=[Metric(key="m", value=1.0, timestamp=1, step=0)]),
            LogBatch(
                run_id=run_id,
                metrics=[Metric(key="m", value=2.0, timestamp=2, step=1)],
                params=[Param(key="p", value="new-value-2")],
            ),
            LogBatch(run_id=run_id, metrics=[Metric(key="m", value=3.0, timestamp=3, step=2)]),
        ]
        with raises(ParamAlreadyLogged, Code.INVALID_ARGUMENT, names=["p", "new-value-2"]):
            store.log_batches(iter(batches))
        assert history(store, run_id, "m") == [(0, 1, 1.0)]

    def test_log_batches_with_request_ids_is_idempotent(self, store: TrackingStore) -> None:
        _, run_id = self._run(store)
        batches = [
            LogBatch(
                run_id=run_id,
                metrics=[Metric(key="m", value=float(i), timestamp=i, step=i)],
                request_id=f"req-{uid()}",
            )
            for i in range(3)
        ]
        assert store.log_batches(iter(batches)) == 3
        assert store.log_batches(iter(batches)) == 3
        assert [s for s, _, _ in history(store, run_id, "m")] == [0, 1, 2]

    def test_metric_history_paging(self, store: TrackingStore) -> None:
        _, run_id = self._run(store)
        store.log_batch(
            run_id,
            metrics=[Metric(key="m", value=i / 2, timestamp=1000 + i, step=i) for i in range(25)],
        )
        pages: list[list[int]] = []
        token: str | None = None
        while True:
            page, token = store.get_metric_history(run_id, "m", max_results=10, page_token=token)
            pages.append(list(page.steps))
            if not token:
                break
            assert len(pages) < 10, "paging does not end"
        assert [len(p) for p in pages] == [10, 10, 5]
        assert [s for p in pages for s in p] == list(range(25))

    def test_metric_history_rejects_bad_tokens(self, store: TrackingStore) -> None:
        exp_id, run_id = self._run(store)
        store.log_batch(
            run_id,
            metrics=[
                Metric(key=k, value=float(i), timestamp=i, step=i)
                for i in range(5)
                for k in ("a", "b")
            ],
        )
        _, token = store.get_metric_history(run_id, "a", max_results=2)
        assert token
        with unchanged(store, exp_id), raises(InvalidPageToken, Code.INVALID_ARGUMENT):
            store.get_metric_history(run_id, "a", max_results=2, page_token=tamper(token))
        with raises(InvalidPageToken, Code.INVALID_ARGUMENT):
            store.get_metric_history(run_id, "b", max_results=2, page_token=token)
        with raises(InvalidPageToken, Code.INVALID_ARGUMENT):
            store.get_metric_history(run_id, "a", max_results=2, page_token="not-a-token")

    def test_metric_history_downsampling(self, store: TrackingStore) -> None:
        _, run_id = self._run(store)
        values = [math.sin(i / 25.0) for i in range(1000)]
        values[437], values[611] = -100.0, 100.0
        for start in range(0, 1000, 500):
            store.log_batch(
                run_id,
                metrics=[
                    Metric(key="wave", value=values[i], timestamp=10_000 + i, step=i)
                    for i in range(start, start + 500)
                ],
            )
        full = history(store, run_id, "wave")
        assert len(full) == 1000
        page, token = store.get_metric_history(run_id, "wave", max_points=50)
        assert token is None
        points = list(zip(page.steps, page.timestamps, page.values, strict=True))
        assert 4 <= len(points) <= 50
        assert set(points) <= set(full)
        steps = [s for s, _, _ in points]
        assert steps == sorted(steps) and len(set(steps)) == len(steps)
        assert steps[0] == 0 and steps[-1] == 999
        assert -100.0 in page.values and 100.0 in page.values
        small, _ = store.get_metric_history(run_id, "wave", max_points=5000)
        assert len(small) == 1000  # fewer points than max_points: everything

    def test_metric_history_bulk(self, store: TrackingStore) -> None:
        exp_id = new_experiment(store)
        run_a, run_b, run_c = (store.create_run(experiment_id=exp_id).info.run_id for _ in "abc")
        store.log_batch(
            run_a, metrics=[Metric(key="loss", value=i, timestamp=i, step=i) for i in range(3)]
        )
        store.log_batch(
            run_b, metrics=[Metric(key="loss", value=-i, timestamp=i, step=i) for i in range(2)]
        )
        store.log_batch(run_c, metrics=[Metric(key="other", value=1.0, timestamp=1)])
        got = store.get_metric_history_bulk([run_b, run_a, run_c], "loss")
        assert [h.run_id for h in got] == [run_b, run_a, run_c]
        assert all(h.key == "loss" for h in got)
        assert list(got[0].values) == [0.0, -1.0]
        assert list(got[1].steps) == [0, 1, 2] and list(got[1].values) == [0.0, 1.0, 2.0]
        assert len(got[2]) == 0
        # One run (and one run asked twice) goes through the single-run read.
        (alone,) = store.get_metric_history_bulk([run_a], "loss")
        assert alone.run_id == run_a and list(alone.values) == [0.0, 1.0, 2.0]
        twice = store.get_metric_history_bulk([run_a, run_a], "loss", max_points=4)
        assert [list(h.steps) for h in twice] == [[0, 1, 2], [0, 1, 2]]

    def test_metric_history_bulk_step_range(self, store: TrackingStore) -> None:
        """start_step / end_step keep the points in that range (inclusive), before max_points
        downsamples: a zoomed chart gets the range at full detail."""
        exp_id = new_experiment(store)
        run_a, run_b = (store.create_run(experiment_id=exp_id).info.run_id for _ in "ab")
        points = [Metric(key="loss", value=float(i % 7), timestamp=i, step=i) for i in range(100)]
        store.log_batch(run_a, metrics=points)
        store.log_batch(run_b, metrics=points[:10])
        got = store.get_metric_history_bulk([run_a, run_b], "loss", start_step=20, end_step=29)
        assert [list(h.steps) for h in got] == [list(range(20, 30)), []]
        assert list(got[0].values) == [float(i % 7) for i in range(20, 30)]
        (tail,) = store.get_metric_history_bulk([run_a], "loss", start_step=95)
        assert list(tail.steps) == [95, 96, 97, 98, 99]
        (head,) = store.get_metric_history_bulk([run_a], "loss", end_step=2)
        assert list(head.steps) == [0, 1, 2]
        (zoomed,) = store.get_metric_history_bulk(
            [run_a], "loss", start_step=10, end_step=89, max_points=8
        )
        assert len(zoomed) <= 8 and zoomed.steps[0] == 10 and zoomed.steps[-1] == 89
        assert min(zoomed.values) == 0.0 and max(zoomed.values) == 6.0  # extremes kept
        with pytest.raises(InvalidArgument, match="start_step 5 is after end_step 4"):
            store.get_metric_history_bulk([run_a], "loss", start_step=5, end_step=4)

    # == search runs ===========================================================================

    def _run_world(self, store: TrackingStore) -> tuple[str, dict[str, str], int]:
        """Five runs with known metrics, params, tags and start times; returns name -> id."""
        exp_id = new_experiment(store, prefix="search")
        base = 1_600_000_000_000
        specs: list[dict[str, Any]] = [
            {
                "name": "alpha-1",
                "user": "alice",
                "params": {"p": "Alpha", "lr": "0.1", "a b": "sp"},
                "tags": {"t": "Alpha", "grp": "g1"},
                "metrics": {"m": 1.0, "acc": 0.5},
            },
            {
                "name": "beta-2",
                "user": "alice",
                "params": {"p": "alpha", "lr": "0.2"},
                "tags": {"t": "alpha", "grp": "g1"},
                "metrics": {"m": 2.0},
            },
            {
                "name": "gamma-3",
                "user": "bob",
                "params": {"p": "beta"},
                "tags": {"t": "beta", "grp": "g2"},
                "metrics": {"m": 3.0},
            },
            {"name": "delta-4", "user": "bob", "params": {}, "tags": {}, "metrics": {"m": NAN}},
            {"name": "epsilon-5", "user": "bob", "params": {}, "tags": {}, "metrics": {"o": 1.0}},
        ]
        made: dict[str, str] = {}
        for i, spec in enumerate(specs, start=1):
            run = store.create_run(
                experiment_id=exp_id,
                run_name=spec["name"],
                user_id=spec["user"],
                start_time=base + 1000 * i,
                tags=spec["tags"],
            )
            store.log_batch(
                run.info.run_id,
                params=[Param(key=k, value=v) for k, v in spec["params"].items()],
                metrics=[
                    Metric(key=k, value=v, timestamp=base + i, step=0)
                    for k, v in spec["metrics"].items()
                ],
            )
            made[spec["name"].split("-")[0]] = run.info.run_id
        store.update_run(made["alpha"], status=RunStatus.FINISHED, end_time=base + 1500)
        return exp_id, made, base

    def _names(
        self, store: TrackingStore, exp_id: str, made: dict[str, str], **kwargs: Any
    ) -> list[str]:
        by_id = {v: k for k, v in made.items()}
        found = store.search_runs(experiment_ids=[exp_id], max_results=ALL, **kwargs)
        return [by_id[r.info.run_id] for r in found]

    def _check_filters(
        self, store: TrackingStore, cases: dict[str, set[str]], exp_id: str, made: dict[str, str]
    ) -> None:
        wrong = {}
        for filter_string, expected in cases.items():
            got = set(self._names(store, exp_id, made, filter_string=filter_string))
            if got != expected:
                wrong[filter_string] = {"expected": sorted(expected), "got": sorted(got)}
        assert not wrong, f"filters that matched the wrong runs: {wrong}"

    def test_search_metric_filters(self, store: TrackingStore) -> None:
        exp_id, made, _ = self._run_world(store)
        cases = {
            "metrics.m = 2": {"beta"},
            "metrics.m = 2.0": {"beta"},
            "metrics.m != 2": {"alpha", "gamma", "delta"},  # NaN matches only !=
            "metrics.m < 2": {"alpha"},
            "metrics.m <= 2": {"alpha", "beta"},
            "metrics.m > 2": {"gamma"},
            "metrics.m >= 2": {"beta", "gamma"},
            "metrics.m > -1e300": {"alpha", "beta", "gamma"},
            "metrics.m < 1e300": {"alpha", "beta", "gamma"},
            "metrics.acc > 0.2": {"alpha"},
            "metric.m = 3": {"gamma"},
            "metrics.o = 1": {"epsilon"},
            "metrics.nope > 0": set(),
        }
        self._check_filters(store, cases, exp_id, made)

    def test_search_metric_filters_use_latest_value(self, store: TrackingStore) -> None:
        exp_id = new_experiment(store)
        run_id = store.create_run(experiment_id=exp_id).info.run_id
        store.log_batch(
            run_id,
            metrics=[
                Metric(key="m", value=10.0, timestamp=1, step=0),
                Metric(key="m", value=20.0, timestamp=2, step=1),
                Metric(key="m", value=99.0, timestamp=3, step=0),
            ],
        )
        found = store.search_runs(experiment_ids=[exp_id], filter_string="metrics.m = 20")
        assert ids(found) == [run_id]
        none = store.search_runs(experiment_ids=[exp_id], filter_string="metrics.m >= 50")
        assert ids(none) == []

    def test_search_param_filters(self, store: TrackingStore) -> None:
        exp_id, made, _ = self._run_world(store)
        cases = {
            "params.p = 'alpha'": {"beta"},
            "params.p = 'Alpha'": {"alpha"},
            'params.p = "alpha"': {"beta"},
            "params.p != 'alpha'": {"alpha", "gamma"},
            "params.p LIKE 'al%'": {"beta"},
            "params.p LIKE 'Al%'": {"alpha"},
            "params.p LIKE '%lph%'": {"alpha", "beta"},
            "params.p LIKE 'b_ta'": {"gamma"},
            "params.p ILIKE 'al%'": {"alpha", "beta"},
            "params.p ILIKE 'ALPHA'": {"alpha", "beta"},
            "params.p IS NULL": {"delta", "epsilon"},
            "params.p IS NOT NULL": {"alpha", "beta", "gamma"},
            "params.lr = '0.1' AND params.p = 'Alpha'": {"alpha"},
            "params.lr = '0.1' and params.p = 'alpha'": set(),
            "params.\"a b\" = 'sp'": {"alpha"},
            "params.`a b` = 'sp'": {"alpha"},
            "param.lr = '0.2'": {"beta"},
            "parameters.lr = '0.2'": {"beta"},
        }
        self._check_filters(store, cases, exp_id, made)

    def test_search_tag_filters(self, store: TrackingStore) -> None:
        exp_id, made, _ = self._run_world(store)
        cases = {
            "tags.t = 'alpha'": {"beta"},
            "tags.t != 'alpha'": {"alpha", "gamma"},
            "tags.t LIKE 'al%'": {"beta"},
            "tags.t ILIKE 'al%'": {"alpha", "beta"},
            "tags.t IS NULL": {"delta", "epsilon"},
            "tags.t IS NOT NULL": {"alpha", "beta", "gamma"},
            "tags.grp = 'g1'": {"alpha", "beta"},
            "tag.grp ILIKE 'G2'": {"gamma"},
            "tags.grp = 'g1' AND metrics.m > 1": {"beta"},
            "tags.`mlflow.runName` = 'gamma-3'": {"gamma"},
        }
        self._check_filters(store, cases, exp_id, made)

    def test_search_attribute_filters(self, store: TrackingStore) -> None:
        exp_id, made, base = self._run_world(store)
        cases = {
            f"attributes.run_id = '{made['beta']}'": {"beta"},
            f"attributes.run_id IN ('{made['alpha']}', '{made['gamma']}')": {"alpha", "gamma"},
            f"attributes.run_id NOT IN ('{made['alpha']}', '{made['gamma']}')": {
                "beta",
                "delta",
                "epsilon",
            },
            "attributes.run_name = 'beta-2'": {"beta"},
            "attributes.run_name LIKE 'gam%'": {"gamma"},
            "attributes.run_name ILIKE 'ALPHA%'": {"alpha"},
            "attributes.run_name != 'beta-2'": {"alpha", "gamma", "delta", "epsilon"},
            "run_name = 'delta-4'": {"delta"},
            "attributes.status = 'FINISHED'": {"alpha"},
            "attributes.status != 'FINISHED'": {"beta", "gamma", "delta", "epsilon"},
            "attributes.user_id = 'alice'": {"alpha", "beta"},
            f"attributes.start_time = {base + 2000}": {"beta"},
            f"attributes.start_time > {base + 3000}": {"delta", "epsilon"},
            f"attributes.start_time >= {base + 3000}": {"gamma", "delta", "epsilon"},
            f"attributes.start_time < {base + 2000}": {"alpha"},
            f"attributes.start_time <= {base + 2000}": {"alpha", "beta"},
            f"attributes.start_time != {base + 2000}": {"alpha", "gamma", "delta", "epsilon"},
            f"attributes.end_time = {base + 1500}": {"alpha"},
            f"attributes.artifact_uri LIKE '%{made['gamma']}%'": {"gamma"},
        }
        self._check_filters(store, cases, exp_id, made)

    def test_search_injection_as_a_value_matches_nothing(self, store: TrackingStore) -> None:
        exp_id, made, _ = self._run_world(store)
        cases = {
            f'params.p = "{INJECTION_DROP}"': set(),
            'params.p = "x\' OR 1=1 --"': set(),
            f'tags.t LIKE "%{INJECTION_DROP}%"': set(),
            f'attributes.run_name = "{INJECTION_DROP}"': set(),
        }
        with unchanged(store, exp_id):
            self._check_filters(store, cases, exp_id, made)
        assert set(self._names(store, exp_id, made)) == set(made)
        new = store.create_run(experiment_id=exp_id)  # the runs table is still there
        assert store.get_run(new.info.run_id).info.run_id == new.info.run_id

    def test_injection_strings_are_stored_verbatim(self, store: TrackingStore) -> None:
        exp_id, run_id = self._run(store, run_name=INJECTION_DROP)
        store.log_batch(
            run_id,
            params=[Param(key="a", value=INJECTION_OR)],
            tags=[RunTag(key="t", value=INJECTION_DROP)],
        )
        run = store.get_run(run_id)
        assert run.info.run_name == INJECTION_DROP
        assert run.data.params["a"] == INJECTION_OR and run.data.tags["t"] == INJECTION_DROP
        found = store.search_runs(
            experiment_ids=[exp_id], filter_string=f'tags.t = "{INJECTION_DROP}"'
        )
        assert ids(found) == [run_id]

    def test_search_parent_child(self, store: TrackingStore) -> None:
        exp_id = new_experiment(store)
        parent = store.create_run(experiment_id=exp_id).info.run_id
        children = {
            store.create_run(experiment_id=exp_id, tags={"mlflow.parentRunId": parent}).info.run_id
            for _ in range(2)
        }
        store.create_run(experiment_id=exp_id)
        found = store.search_runs(
            experiment_ids=[exp_id], filter_string=f"tags.`mlflow.parentRunId` = '{parent}'"
        )
        assert set(ids(found)) == children
        roots = store.search_runs(
            experiment_ids=[exp_id], filter_string="tags.`mlflow.parentRunId` IS NULL"
        )
        assert parent in ids(roots) and not children & set(ids(roots))

    def test_search_view_types(self, store: TrackingStore) -> None:
        exp_id = new_experiment(store)
        active = store.create_run(experiment_id=exp_id).info.run_id
        deleted = store.create_run(experiment_id=exp_id).info.run_id
        store.delete_run(deleted)

        def found(view_type: ViewType) -> set[str]:
            return set(ids(store.search_runs(experiment_ids=[exp_id], view_type=view_type)))

        assert found(ViewType.ACTIVE_ONLY) == {active}
        assert found(ViewType.DELETED_ONLY) == {deleted}
        assert found(ViewType.ALL) == {active, deleted}

    def test_search_several_experiments(self, store: TrackingStore) -> None:
        exp_a, exp_b, exp_c = (new_experiment(store) for _ in "abc")
        run_a = store.create_run(experiment_id=exp_a).info.run_id
        run_b = store.create_run(experiment_id=exp_b).info.run_id
        store.create_run(experiment_id=exp_c)
        assert set(ids(store.search_runs(experiment_ids=[exp_a, exp_b]))) == {run_a, run_b}

    def test_search_order_by_metric(self, store: TrackingStore) -> None:
        exp_id, made, _ = self._run_world(store)
        # NaN after every number, missing last, in both directions.
        assert self._names(store, exp_id, made, order_by=["metrics.m ASC"]) == [
            "alpha",
            "beta",
            "gamma",
            "delta",
            "epsilon",
        ]
        assert self._names(store, exp_id, made, order_by=["metrics.m"]) == [
            "alpha",
            "beta",
            "gamma",
            "delta",
            "epsilon",
        ]
        assert self._names(store, exp_id, made, order_by=["metrics.m DESC"]) == [
            "gamma",
            "beta",
            "alpha",
            "delta",
            "epsilon",
        ]

    def test_search_order_by_metric_with_infinities(self, store: TrackingStore) -> None:
        exp_id = new_experiment(store)
        made: dict[str, str] = {}
        for i, (name, value) in enumerate(
            [
                ("five", 5.0),
                ("pinf", INF),
                ("ninf", -INF),
                ("nan", NAN),
                ("big", 1e300),
                ("none1", None),
                ("none2", None),
            ]
        ):
            run_id = store.create_run(experiment_id=exp_id, start_time=1000 + i).info.run_id
            if value is not None:
                store.log_metric(run_id, Metric(key="m", value=value, timestamp=1))
            made[name] = run_id
        # Runs without the metric: last, in the tie-break order (start_time DESC).
        assert self._names(store, exp_id, made, order_by=["metrics.m ASC"]) == [
            "ninf",
            "five",
            "big",
            "pinf",
            "nan",
            "none2",
            "none1",
        ]
        assert self._names(store, exp_id, made, order_by=["metrics.m DESC"]) == [
            "pinf",
            "big",
            "five",
            "ninf",
            "nan",
            "none2",
            "none1",
        ]

    def test_search_order_by_param_and_tag(self, store: TrackingStore) -> None:
        exp_id, made, _ = self._run_world(store)
        # lr: alpha 0.1, beta 0.2, others missing (last, start_time DESC).
        assert self._names(store, exp_id, made, order_by=["params.lr ASC"]) == [
            "alpha",
            "beta",
            "epsilon",
            "delta",
            "gamma",
        ]
        assert self._names(store, exp_id, made, order_by=["params.lr DESC"]) == [
            "beta",
            "alpha",
            "epsilon",
            "delta",
            "gamma",
        ]
        assert self._names(store, exp_id, made, order_by=["tags.grp DESC"]) == [
            "gamma",
            "beta",
            "alpha",
            "epsilon",
            "delta",
        ]

    def test_search_order_by_attributes(self, store: TrackingStore) -> None:
        exp_id, made, _ = self._run_world(store)
        forward = ["alpha", "beta", "gamma", "delta", "epsilon"]
        assert self._names(store, exp_id, made, order_by=["attributes.start_time ASC"]) == forward
        assert self._names(store, exp_id, made) == forward[::-1]  # default: start_time DESC
        assert self._names(store, exp_id, made, order_by=["attributes.run_name DESC"]) == [
            "gamma",
            "epsilon",
            "delta",
            "beta",
            "alpha",
        ]
        assert self._names(
            store, exp_id, made, order_by=["attributes.user_id ASC", "attributes.start_time ASC"]
        ) == ["alpha", "beta", "gamma", "delta", "epsilon"]

    def test_search_order_tie_breaks(self, store: TrackingStore) -> None:
        exp_id = new_experiment(store)
        made: dict[str, str] = {}
        for name, start in [("late", 3000), ("mid1", 2000), ("mid2", 2000), ("early", 1000)]:
            run_id = store.create_run(experiment_id=exp_id, start_time=start).info.run_id
            store.log_param(run_id, Param(key="same", value="x"))
            made[name] = run_id
        mids = sorted(["mid1", "mid2"], key=lambda n: made[n])  # run_id ASC
        expected = ["late", *mids, "early"]  # start_time DESC, then run_id ASC
        assert self._names(store, exp_id, made, order_by=["params.same ASC"]) == expected
        assert self._names(store, exp_id, made, order_by=["params.same DESC"]) == expected
        assert self._names(store, exp_id, made) == expected

    def test_search_paging_covers_every_run_once(self, store: TrackingStore) -> None:
        exp_id = new_experiment(store)
        run_ids = [
            store.create_run(experiment_id=exp_id, start_time=1000 + (i % 3)).info.run_id
            for i in range(7)
        ]
        for i, run_id in enumerate(run_ids):
            store.log_metric(run_id, Metric(key="m", value=float(i % 2), timestamp=1))
        for order_by in ([], ["metrics.m DESC"], ["attributes.start_time ASC"]):
            full = ids(store.search_runs(experiment_ids=[exp_id], order_by=order_by))
            pages = all_pages(
                lambda t, o=order_by: store.search_runs(
                    experiment_ids=[exp_id], order_by=o, max_results=3, page_token=t
                )
            )
            assert [len(p) for p in pages] == [3, 3, 1], order_by
            assert ids([r for p in pages for r in p]) == full, order_by
            assert sorted(full) == sorted(run_ids)

    def test_search_rejects_tampered_and_foreign_tokens(self, store: TrackingStore) -> None:
        exp_id, _, _ = self._run_world(store)
        page = store.search_runs(experiment_ids=[exp_id], max_results=2)
        token = page.token
        assert token
        bad_calls: dict[str, Callable[[], object]] = {
            "tampered": lambda: store.search_runs(
                experiment_ids=[exp_id], max_results=2, page_token=tamper(token)
            ),
            "garbage": lambda: store.search_runs(
                experiment_ids=[exp_id], max_results=2, page_token="not-a-token"
            ),
            "other_filter": lambda: store.search_runs(
                experiment_ids=[exp_id],
                filter_string="metrics.m > 0",
                max_results=2,
                page_token=token,
            ),
            "other_order": lambda: store.search_runs(
                experiment_ids=[exp_id],
                order_by=["metrics.m DESC"],
                max_results=2,
                page_token=token,
            ),
            "other_experiments": lambda: store.search_runs(
                experiment_ids=[exp_id, "0"], max_results=2, page_token=token
            ),
            "other_view": lambda: store.search_runs(
                experiment_ids=[exp_id], view_type=ViewType.ALL, max_results=2, page_token=token
            ),
            "experiment_search": lambda: store.search_experiments(max_results=2, page_token=token),
        }
        failures = {}
        for name, call in bad_calls.items():
            try:
                call()
            except InvalidPageToken as exc:
                assert exc.code == Code.INVALID_ARGUMENT
            except Exception as exc:  # report every case at once
                failures[name] = f"{type(exc).__name__}: {exc}"
            else:
                failures[name] = "accepted"
        assert not failures, f"page tokens not refused with InvalidPageToken: {failures}"

    def test_search_experiments_rejects_tampered_token(self, store: TrackingStore) -> None:
        new_experiment(store)
        page = store.search_experiments(view_type=ViewType.ALL, max_results=1)
        assert page.token
        with unchanged(store), raises(InvalidPageToken, Code.INVALID_ARGUMENT):
            store.search_experiments(
                view_type=ViewType.ALL, max_results=1, page_token=tamper(page.token)
            )
        with raises(InvalidPageToken, Code.INVALID_ARGUMENT):
            store.search_experiments(
                view_type=ViewType.ACTIVE_ONLY,
                filter_string="name = 'Default'",
                max_results=1,
                page_token=page.token,
            )

    # == bad input =============================================================================

    @pytest.mark.parametrize("bad", list(BAD_KEYS.values()), ids=list(BAD_KEYS))
    @pytest.mark.parametrize(
        "where",
        ["param", "metric", "tag", "batch", "experiment_tag", "create_run_tag", "new_experiment"],
    )
    def test_bad_key(self, store: TrackingStore, where: str, bad: str) -> None:
        exp_id, run_id = self._run(store)
        good_metric = Metric(key="good", value=1.0, timestamp=1)
        calls: dict[str, Callable[[], object]] = {
            "param": lambda: store.log_param(run_id, Param(key=bad, value="v")),
            "metric": lambda: store.log_metric(run_id, Metric(key=bad, value=1.0, timestamp=1)),
            "tag": lambda: store.set_tag(run_id, RunTag(key=bad, value="v")),
            "batch": lambda: store.log_batch(
                run_id, metrics=[good_metric], params=[Param(key=bad, value="v")]
            ),
            "experiment_tag": lambda: store.set_experiment_tag(exp_id, bad, "v"),
            "create_run_tag": lambda: store.create_run(experiment_id=exp_id, tags={bad: "v"}),
            "new_experiment": lambda: store.create_experiment(f"bad-{uid()}", tags={bad: "v"}),
        }
        shown = [bad[:20]] if bad and "\n" not in bad else []
        with unchanged(store, exp_id), raises(InvalidArgument, Code.INVALID_ARGUMENT, names=shown):
            calls[where]()

    def test_longest_key_is_accepted(self, store: TrackingStore) -> None:
        _, run_id = self._run(store)
        key = "k" * 250
        store.log_batch(
            run_id,
            params=[Param(key=key, value="v")],
            tags=[RunTag(key=key, value="v")],
            metrics=[Metric(key=key, value=1.0, timestamp=1)],
        )
        data = store.get_run(run_id).data
        assert data.params[key] == "v" and data.tags[key] == "v" and data.metrics[key] == 1.0

    @pytest.mark.parametrize(
        "value", ["abc", None, True, "1.5"], ids=["text", "none", "bool", "numeric_text"]
    )
    def test_non_numeric_metric_value(self, store: TrackingStore, value: Any) -> None:
        exp_id, run_id = self._run(store)
        with (
            unchanged(store, exp_id),
            raises(InvalidArgument, Code.INVALID_ARGUMENT, names=["bad_metric"]),
        ):
            store.log_batch(
                run_id,
                metrics=[
                    Metric(key="ok", value=1.0, timestamp=1),
                    Metric(key="bad_metric", value=value, timestamp=1),
                ],
            )

    @pytest.mark.parametrize("where", ["metric", "start_time", "end_time"])
    def test_negative_timestamp(self, store: TrackingStore, where: str) -> None:
        exp_id, run_id = self._run(store)
        calls: dict[str, Callable[[], object]] = {
            "metric": lambda: store.log_metric(run_id, Metric(key="m", value=1.0, timestamp=-1)),
            "start_time": lambda: store.create_run(experiment_id=exp_id, start_time=-5),
            "end_time": lambda: store.update_run(run_id, end_time=-5),
        }
        with unchanged(store, exp_id), raises(InvalidArgument, Code.INVALID_ARGUMENT):
            calls[where]()

    @pytest.mark.parametrize(
        "shape",
        ["metrics_1001", "params_101", "tags_101", "entries_1001", "param_value_6001", "tag_8001"],
    )
    def test_batch_over_limits(self, store: TrackingStore, shape: str) -> None:
        exp_id, run_id = self._run(store)
        metrics = [Metric(key=f"m{i}", value=1.0, timestamp=1) for i in range(1001)]
        params = [Param(key=f"p{i}", value="v") for i in range(101)]
        tags = [RunTag(key=f"t{i}", value="v") for i in range(101)]
        batches: dict[str, dict[str, Any]] = {
            "metrics_1001": {"metrics": metrics},
            "params_101": {"params": params},
            "tags_101": {"tags": tags},
            "entries_1001": {"metrics": metrics[:1000], "params": params[:1]},
            "param_value_6001": {"params": [Param(key="p", value="v" * 6001)]},
            "tag_8001": {"tags": [RunTag(key="t", value="v" * 8001)]},
        }
        with unchanged(store, exp_id), raises(InvalidArgument, Code.INVALID_ARGUMENT):
            store.log_batch(run_id, **batches[shape])

    def test_duplicate_param_keys_in_one_batch(self, store: TrackingStore) -> None:
        exp_id, run_id = self._run(store)
        with unchanged(store, exp_id), raises(InvalidArgument, Code.INVALID_ARGUMENT, names=["p"]):
            store.log_batch(
                run_id, params=[Param(key="p", value="one"), Param(key="p", value="two")]
            )

    @pytest.mark.parametrize(
        "filter_string", list(MALFORMED_RUN_FILTERS.values()), ids=list(MALFORMED_RUN_FILTERS)
    )
    def test_malformed_run_filter(self, store: TrackingStore, filter_string: str) -> None:
        exp_id, _ = self._run(store)
        with unchanged(store, exp_id), raises(InvalidFilter, Code.INVALID_ARGUMENT):
            store.search_runs(experiment_ids=[exp_id], filter_string=filter_string)
        assert len(store.search_runs(experiment_ids=[exp_id])) == 1  # tables intact

    @pytest.mark.parametrize(
        "filter_string",
        list(MALFORMED_EXPERIMENT_FILTERS.values()),
        ids=list(MALFORMED_EXPERIMENT_FILTERS),
    )
    def test_malformed_experiment_filter(self, store: TrackingStore, filter_string: str) -> None:
        with unchanged(store), raises(InvalidFilter, Code.INVALID_ARGUMENT):
            store.search_experiments(filter_string=filter_string)
        assert store.get_experiment("0").name == "Default"

    @pytest.mark.parametrize(
        "order_by",
        [["metrics.m UP"], ["foo.bar"], ["metrics.m", "metrics.m DESC"], ["attributes.nope"]],
        ids=["bad_direction", "unknown_entity", "duplicate_key", "unknown_attribute"],
    )
    def test_malformed_order_by(self, store: TrackingStore, order_by: list[str]) -> None:
        exp_id, _ = self._run(store)
        with unchanged(store, exp_id), raises(InvalidFilter, Code.INVALID_ARGUMENT):
            store.search_runs(experiment_ids=[exp_id], order_by=order_by)

    @pytest.mark.parametrize(
        "max_results", list(BAD_MAX_RESULTS.values()), ids=list(BAD_MAX_RESULTS)
    )
    def test_bad_max_results(self, store: TrackingStore, max_results: int) -> None:
        exp_id, _ = self._run(store)
        with unchanged(store, exp_id), raises(InvalidArgument, Code.INVALID_ARGUMENT):
            store.search_runs(experiment_ids=[exp_id], max_results=max_results)
        with raises(InvalidArgument, Code.INVALID_ARGUMENT):
            store.search_experiments(max_results=max_results)

    def test_largest_max_results_is_accepted(self, store: TrackingStore) -> None:
        exp_id, run_id = self._run(store)
        assert ids(store.search_runs(experiment_ids=[exp_id], max_results=50_000)) == [run_id]
        assert len(store.search_experiments(max_results=50_000)) >= 2

    @pytest.mark.parametrize(
        "name", ["", "   ", "x" * 501], ids=["empty", "blank", "over_500_characters"]
    )
    def test_bad_experiment_name(self, store: TrackingStore, name: str) -> None:
        exp_id = new_experiment(store)
        with unchanged(store, exp_id), raises(InvalidArgument, Code.INVALID_ARGUMENT):
            store.create_experiment(name)
        with unchanged(store, exp_id), raises(InvalidArgument, Code.INVALID_ARGUMENT):
            store.rename_experiment(exp_id, name)

    def test_longest_experiment_name_is_accepted(self, store: TrackingStore) -> None:
        name = uid() + "n" * 488
        assert len(name) == 500
        exp_id = store.create_experiment(name)
        assert store.get_experiment(exp_id).name == name
        found = store.get_experiment_by_name(name)
        assert found is not None and found.experiment_id == exp_id

    @pytest.mark.parametrize(
        "call", ["get_experiment", "get_run", "search_runs"], ids=["experiment", "run", "search"]
    )
    def test_malformed_ids(self, store: TrackingStore, call: str) -> None:
        calls: dict[str, Callable[[], object]] = {
            "get_experiment": lambda: store.get_experiment("1 OR 1=1"),
            "get_run": lambda: store.get_run(INJECTION_DROP),
            "search_runs": lambda: store.search_runs(experiment_ids=["x'; DROP TABLE runs; --"]),
        }
        with unchanged(store), raises(InvalidArgument, Code.INVALID_ARGUMENT):
            calls[call]()
