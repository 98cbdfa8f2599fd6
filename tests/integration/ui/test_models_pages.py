"""The registry pages: promote a version from /models/<name>/versions/<v> and see it logged."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.ui.conftest import FEATURES, MODEL_NAME, Seed, UiPage

pytestmark = pytest.mark.integration


def test_promote_version_to_staging(ui: UiPage, seed: Seed, grpc_client: Any) -> None:
    """stage-select Staging + stage-apply: version-stage says Staging, a history-row appears."""
    version = seed.model_versions[-1]
    ui.goto(f"/models/{MODEL_NAME}/versions/{version}")
    ui.tid("version-title").wait_for()
    ui.tid("stage-select").wait_for()
    ui.shot("before")
    history = ui.page.locator('[data-testid="version-history"] [data-testid="history-row"]')
    ui.select(ui.tid("stage-select"), "Staging")
    ui.tid("stage-apply").click()
    ui.page.locator('[data-testid="version-stage"]', has_text="Staging").wait_for()
    history.filter(has_text="Staging").first.wait_for()
    ui.shot("after")
    assert grpc_client.get_model_version(MODEL_NAME, version).current_stage == "Staging"
    assert history.filter(has_text="Staging").count() >= 1


def test_alias_set_and_reserved_alias_error(ui: UiPage, seed: Seed, grpc_client: Any) -> None:
    """alias-set adds an alias-chip (read back over gRPC); "latest" shows version-error."""
    ui.allow_console_error(r"status of 4\d\d")  # the gateway's answer to the reserved alias
    version = seed.model_versions[0]
    ui.goto(f"/models/{MODEL_NAME}/versions/{version}")
    ui.tid("alias-input").wait_for()
    ui.tid("alias-input").fill("champion")
    ui.tid("alias-set").click()
    ui.page.locator('[data-testid="alias-chip"][data-alias="champion"]').wait_for()
    ui.shot("alias")
    assert str(grpc_client.get_model_version_by_alias(MODEL_NAME, "champion").version) == version
    ui.tid("alias-input").fill("latest")
    ui.tid("alias-set").click()
    error = ui.tid("version-error")
    error.wait_for()
    ui.shot("reserved")
    assert "latest" in error.inner_text().lower()
    assert ui.page.locator('[data-testid="alias-chip"][data-alias="latest"]').count() == 0


def test_version_page_lineage_and_signature(ui: UiPage, seed: Seed) -> None:
    """The version page links its run and shows the model's signature."""
    version = seed.model_versions[0]
    ui.goto(f"/models/{MODEL_NAME}/versions/{version}")
    signature = ui.tid("version-signature")
    signature.wait_for()
    ui.shot("version")
    text = signature.inner_text()
    assert all(feature in text for feature in FEATURES)
    link = ui.tid("version-run-link")
    assert link.get_attribute("href") == f"/runs/{seed.artifact_run_id}"
    assert "model" in ui.tid("version-source").inner_text()


def _edit_description(ui: UiPage, panel: str, text: str) -> None:
    scope = f'[data-testid="{panel}"]'
    ui.page.locator(f'{scope} [data-testid="description-edit"]').click()
    ui.page.locator(f'{scope} [data-testid="description-input"]').fill(text)
    ui.page.locator(f'{scope} [data-testid="description-save"]').click()
    ui.page.locator(f'{scope} [data-testid="description-text"]', has_text=text).wait_for()


def test_model_and_version_descriptions_are_edited_in_place(
    ui: UiPage, seed: Seed, grpc_client: Any
) -> None:
    """The model page's and the version page's description panels save through
    UpdateRegisteredModel / UpdateModelVersion; markup stays text."""
    ui.goto(f"/models/{MODEL_NAME}")
    ui.tid("model-description").wait_for()
    _edit_description(ui, "model-description", "Weekly churn model <b>v2</b>")
    assert (
        grpc_client.get_registered_model(MODEL_NAME).description == "Weekly churn model <b>v2</b>"
    )
    assert ui.page.locator('[data-testid="model-description"] b').count() == 0

    version = seed.model_versions[0]
    ui.goto(f"/models/{MODEL_NAME}/versions/{version}")
    ui.tid("version-description").wait_for()
    _edit_description(ui, "version-description", "trained on March data")
    ui.shot("version-description")
    assert grpc_client.get_model_version(MODEL_NAME, version).description == "trained on March data"


def _model_with_versions(grpc_client: Any, seed: Seed, count: int) -> str:
    """A registered model of its own, with `count` versions of the seeded model's source."""
    import uuid

    source = grpc_client.get_model_version(MODEL_NAME, seed.model_versions[0])
    name = f"ui-delete-{uuid.uuid4().hex[:8]}"
    grpc_client.create_registered_model(name)
    for _ in range(count):
        grpc_client.create_model_version(name, source.source, source.run_id)
    return name


def test_delete_version_and_model_after_a_confirm(ui: UiPage, seed: Seed, grpc_client: Any) -> None:
    """version-delete asks first; dismissed, nothing happens; accepted, the version goes and the
    model page opens. model-delete then removes the model and opens /models."""
    from modelyard.errors import ModelVersionNotFound, RegisteredModelNotFound

    name = _model_with_versions(grpc_client, seed, 2)
    ui.goto(f"/models/{name}/versions/2")
    ui.tid("version-delete").click()  # the dialog is dismissed: nothing is deleted
    ui.page.wait_for_function("() => true")  # let the dismissed dialog be recorded
    assert ui.dialogs and "Delete version 2" in ui.dialogs[-1]
    ui.dialogs.clear()  # that confirm was this test's own, dismissed on purpose
    assert grpc_client.get_model_version(name, 2).version == 2
    ui.accept_confirms = True
    ui.tid("version-delete").click()
    ui.page.wait_for_url(f"**/models/{name}")
    ui.tid("model-name").wait_for()
    with pytest.raises(ModelVersionNotFound):
        grpc_client.get_model_version(name, 2)
    assert grpc_client.get_model_version(name, 1).version == 1
    ui.tid("model-delete").click()
    ui.page.wait_for_url("**/models")
    with pytest.raises(RegisteredModelNotFound):
        grpc_client.get_registered_model(name)
