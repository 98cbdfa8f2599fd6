"""The experiments page (/): search, views, create / rename / delete / restore."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.integration.ui.conftest import DELETED_EXPERIMENT, DEMO_EXPERIMENT, Seed, UiPage

pytestmark = pytest.mark.integration

ROWS = '[data-testid="experiment-row"]'


def row_named(ui: UiPage, name: str) -> Any:
    """The experiment row whose name link has exactly this text."""
    return ui.page.locator(ROWS).filter(has=ui.page.get_by_role("link", name=name, exact=True))


def test_experiment_create_rename_delete_restore(ui: UiPage, seed: Seed, grpc_client: Any) -> None:
    """The whole lifecycle from the UI, each step read back over gRPC."""
    ui.accept_confirms = True  # a "really delete?" confirm is fine; an alert is not
    name = f"ui-created-{uuid.uuid4().hex[:8]}"
    renamed = f"ui-renamed-{uuid.uuid4().hex[:8]}"
    ui.goto("/")
    ui.page.wait_for_selector(ROWS)

    ui.tid("experiment-create-name").fill(name)
    ui.tid("experiment-create").click()
    ui.wait_for(
        "(name) => location.pathname !== '/' || [...document.querySelectorAll("
        "'[data-testid=\"experiment-row\"] a')].some((a) => a.textContent.trim() === name)",
        name,
    )
    if urlsplit_path(ui.page.url) != "/":  # the UI may open the new experiment: go back
        ui.goto("/")
    row = row_named(ui, name)
    row.wait_for()
    ui.shot("created")
    experiment_id = row.get_attribute("data-experiment-id")
    assert experiment_id
    assert grpc_client.get_experiment(experiment_id).name == name

    row.locator('[data-testid="experiment-rename"]').click()
    field = ui.tid("experiment-rename-input")
    field.fill(renamed)
    ui.tid("experiment-rename-save").click()
    row_named(ui, renamed).wait_for()
    assert grpc_client.get_experiment(experiment_id).name == renamed

    ui.page.locator(
        f'{ROWS}[data-experiment-id="{experiment_id}"] [data-testid="experiment-delete"]'
    ).click()
    ui.page.locator(f'{ROWS}[data-experiment-id="{experiment_id}"]').wait_for(state="detached")
    assert grpc_client.get_experiment(experiment_id).lifecycle_stage == "deleted"

    ui.select(ui.tid("experiment-view"), "deleted")
    restore = ui.page.locator(
        f'{ROWS}[data-experiment-id="{experiment_id}"] [data-testid="experiment-restore"]'
    )
    restore.wait_for()
    ui.shot("deleted-view")
    restore.click()
    ui.page.locator(f'{ROWS}[data-experiment-id="{experiment_id}"]').wait_for(state="detached")
    assert grpc_client.get_experiment(experiment_id).lifecycle_stage == "active"
    ui.select(ui.tid("experiment-view"), "active")
    ui.page.locator(f'{ROWS}[data-experiment-id="{experiment_id}"]').wait_for()
    ui.shot("restored")


def urlsplit_path(url: str) -> str:
    """The path of a URL."""
    from urllib.parse import urlsplit

    return urlsplit(url).path


def test_experiment_search_and_views(ui: UiPage, seed: Seed) -> None:
    """experiment-search filters by name on the server; the deleted view lists ui-deleted."""
    ui.goto("/")
    ui.page.wait_for_selector(ROWS)
    ui.tid("experiment-search").fill("ui-dem")
    ui.tid("experiment-search").press("Enter")
    ui.wait_for(
        "() => { const rows = [...document.querySelectorAll('[data-testid=\"experiment-row\"]')];"
        " return rows.length > 0 && rows.every((r) => r.textContent.includes('ui-dem')); }"
    )
    ui.shot("search")
    row = ui.page.locator(f'{ROWS}[data-experiment-id="{seed.demo_experiment_id}"]')
    assert row.count() == 1 and DEMO_EXPERIMENT in row.inner_text()
    for text in ui.page.locator(ROWS).all_inner_texts():
        assert "ui-dem" in text
    ui.tid("experiment-search").fill("")
    ui.tid("experiment-search").press("Enter")
    ui.select(ui.tid("experiment-view"), "deleted")
    deleted = ui.page.locator(f'{ROWS}[data-experiment-id="{seed.deleted_experiment_id}"]')
    deleted.wait_for()
    ui.shot("deleted-view")
    assert DELETED_EXPERIMENT in deleted.inner_text()
    assert deleted.locator('[data-testid="experiment-restore"]').count() == 1
    assert ui.page.locator(f'{ROWS}[data-experiment-id="{seed.demo_experiment_id}"]').count() == 0
