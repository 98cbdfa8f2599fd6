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
