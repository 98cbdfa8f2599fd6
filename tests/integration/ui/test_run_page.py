"""The run page (/runs/<id>): artifacts (preview, download, no inline SVG/HTML), MLmodel,
description editing, a markup run name shown as text, the metric chart."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.integration.ui.conftest import (
    BINARY_ARTIFACT,
    FEATURES,
    HTML_ARTIFACT,
    SVG_ARTIFACT,
    TEXT_ARTIFACT,
    TEXT_CONTENT,
    XSS_RUN_NAME,
    XSS_TAG_VALUE,
    Seed,
    UiPage,
)

pytestmark = pytest.mark.integration

ACTIVE_CONTENT = "svg, iframe, object, embed, frame"


def open_run(ui: UiPage, run_id: str) -> None:
    """Load a run's page and wait for its title."""
    ui.goto(f"/runs/{run_id}")
    ui.tid("run-title").wait_for()


def open_artifact(ui: UiPage, path: str) -> Any:
    """Expand the folders above `path` in artifact-tree, select the file; return the preview."""
    ui.tid("artifact-tree").wait_for()
    parts = path.split("/")
    for depth in range(1, len(parts)):
        folder = "/".join(parts[:depth])
        node = ui.page.locator(f'[data-testid="artifact-node"][data-path="{folder}"]')
        node.click()
    node = ui.page.locator(f'[data-testid="artifact-node"][data-path="{path}"]')
    node.click()
    preview = ui.tid("artifact-preview")
    preview.wait_for()
    ui.page.locator(
        f'[data-testid="artifact-download"][href$="/{path.rsplit("/", 1)[-1]}"]'
    ).wait_for()
    return preview


def active_content_in(ui: UiPage, testid: str) -> int:
    """How many svg/iframe/object/embed elements sit inside the element with that test id."""
    return ui.page.evaluate(
        """([testid, selector]) => {
          const root = document.querySelector(`[data-testid="${testid}"]`);
          return root ? root.querySelectorAll(selector).length : -1;
        }""",
        [testid, ACTIVE_CONTENT],
    )


def test_text_artifact_preview(ui: UiPage, seed: Seed) -> None:
    """A .txt artifact shows its text in artifact-preview-text (markup in it stays text)."""
    open_run(ui, seed.artifact_run_id)
    open_artifact(ui, TEXT_ARTIFACT)
    text = ui.tid("artifact-preview-text")
    text.wait_for()
    ui.shot("text")
    assert text.text_content().strip() == TEXT_CONTENT.strip()
    assert ui.page.locator('[data-testid="artifact-preview-text"] b').count() == 0


def test_binary_artifact_download(ui: UiPage, seed: Seed, tmp_path: Path) -> None:
    """artifact-download of the 300 KB binary delivers exactly the seeded bytes."""
    open_run(ui, seed.artifact_run_id)
    open_artifact(ui, BINARY_ARTIFACT)
    ui.shot("selected")
    link = ui.tid("artifact-download")
    assert link.get_attribute("download") is not None
    assert link.get_attribute("href").startswith("/files/")
    with ui.page.expect_download() as info:
        link.click()
    target = tmp_path / "downloaded.bin"
    info.value.save_as(target)
    assert target.read_bytes() == seed.artifacts[BINARY_ARTIFACT]


@pytest.mark.parametrize("path", [SVG_ARTIFACT, HTML_ARTIFACT])
def test_svg_and_html_artifacts_not_rendered(ui: UiPage, seed: Seed, path: str) -> None:
    """SVG and HTML artifacts: nothing rendered inline (no svg/iframe/img), download offered."""
    open_run(ui, seed.artifact_run_id)
    open_artifact(ui, path)
    ui.shot("preview")
    assert active_content_in(ui, "artifact-preview") == 0
    assert ui.page.locator('[data-testid="artifact-preview"] img').count() == 0
    assert ui.page.locator("#svg-pwned, #html-pwned").count() == 0
    assert ui.page.evaluate("() => window.frames.length") == 0
    link = ui.tid("artifact-download")
    assert link.get_attribute("download") is not None
    assert link.get_attribute("href").endswith("/" + path)


def test_artifact_previews_by_type(ui: UiPage, seed: Seed) -> None:
    """JSON pretty-printed text, YAML text, CSV as a table of cells, PNG as a blob: image."""
    open_run(ui, seed.artifact_run_id)
    open_artifact(ui, "config.json")
    ui.page.locator('[data-testid="artifact-preview-text"]').wait_for()
    shown = ui.tid("artifact-preview-text").text_content()
    assert json.loads(shown) == json.loads(seed.artifacts["config.json"])
    assert "\n" in shown.strip()  # pretty-printed

    open_artifact(ui, "config.yaml")
    ui.page.locator('[data-testid="artifact-preview-text"]:has-text("optimizer: adam")').wait_for()
    assert ui.tid("artifact-preview-text").text_content().strip() == (
        seed.artifacts["config.yaml"].decode().strip()
    )

    open_artifact(ui, "metrics.csv")
    table = ui.tid("artifact-preview-table")
    table.wait_for()
    ui.shot("csv")
    cells = table.locator("th, td").all_text_contents()
    assert "epoch" in cells and "accuracy" in cells and "0.9000" in cells

    open_artifact(ui, "plot.png")
    image = ui.tid("artifact-preview-image")
    image.wait_for()
    ui.wait_for(
        "() => { const i = document.querySelector('[data-testid=\"artifact-preview-image\"]');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    ui.shot("png")
    assert image.get_attribute("src").startswith("blob:")
    assert image.evaluate("(i) => [i.naturalWidth, i.naturalHeight]") == [160, 100]


def test_mlmodel_preview_shows_signature(ui: UiPage, seed: Seed) -> None:
    """model/MLmodel previews as flavors plus the mlmodel-signature table (inputs, outputs)."""
    open_run(ui, seed.artifact_run_id)
    open_artifact(ui, "model/MLmodel")
    signature = ui.tid("mlmodel-signature")
    signature.wait_for()
    ui.shot("mlmodel")
    text = signature.inner_text()
    for feature in FEATURES:
        assert feature in text
    assert "double" in text
    assert "float64" in text  # the output tensor's dtype
    preview = ui.tid("artifact-preview").inner_text()
    assert "sklearn" in preview and "python_function" in preview


def test_description_edit_saved(ui: UiPage, seed: Seed, grpc_client: Any) -> None:
    """description-edit, type, description-save: shown as text, stored as mlflow.note.content."""
    text = "Edited in the browser: <i>stays text</i> & more"
    open_run(ui, seed.description_run_id)
    ui.tid("run-description").wait_for()
    ui.tid("description-edit").click()
    ui.tid("description-input").fill(text)
    ui.tid("description-save").click()
    ui.page.locator('[data-testid="run-description"]', has_text="stays text").wait_for()
    ui.wait_for(
        "() => !document.querySelector('[data-testid=\"description-input\"]')"
        " || !document.querySelector('[data-testid=\"description-input\"]').offsetParent"
    )
    ui.shot("saved")
    assert text in ui.tid("run-description").text_content()
    assert ui.page.locator('[data-testid="run-description"] i').count() == 0
    tags = grpc_client.get_run(seed.description_run_id).data.tags
    assert tags["mlflow.note.content"] == text


def test_markup_run_name_renders_as_text(ui: UiPage, seed: Seed) -> None:
    """`<img src=x onerror=alert(1)>` as a name and `<script>` as a tag: text, no elements."""
    open_run(ui, seed.xss_run_id)
    ui.tid("run-tags").wait_for()
    ui.shot("run")
    assert ui.tid("run-title").text_content().strip() == XSS_RUN_NAME
    assert ui.page.locator('[data-testid="run-title"] *').count() == 0
    assert XSS_TAG_VALUE in ui.tid("run-tags").text_content()
    assert XSS_TAG_VALUE in ui.tid("run-params").text_content()
    assert (
        ui.page.evaluate("() => document.querySelectorAll('img[src=\"x\"], [onerror]').length") == 0
    )
    scripts = ui.page.evaluate(
        "() => [...document.querySelectorAll('script')].map((s) => s.getAttribute('src'))"
    )
    # the shell's one script (under the server's versioned asset prefix), nothing else
    assert len(scripts) == 1 and re.fullmatch(r"/static/v/[0-9a-f]{16}/js/app\.js", scripts[0])
    assert XSS_RUN_NAME in ui.page.title()
    # no dialog: the ui fixture fails the test on any window.alert


def test_metric_chart_on_run_page(ui: UiPage, seed: Seed) -> None:
    """Clicking the loss metric-row draws metric-chart (200 steps, one series)."""
    open_run(ui, seed.demo_run_ids[10])
    ui.page.locator('[data-testid="metric-row"][data-key="loss"]').click()
    chart = ui.page.locator('[data-testid="metric-chart"][data-drawn="true"]')
    chart.wait_for()
    ui.shot("chart")
    assert chart.get_attribute("data-series") == "1"
    assert int(chart.get_attribute("data-points") or "0") >= 2
    metrics = ui.tid("run-metrics").inner_text()
    assert "loss" in metrics and "accuracy" in metrics and "199" in metrics


def _fresh_run(grpc_client: Any, name: str) -> str:
    """A run of its own experiment (the seeded ones stay as other tests expect them)."""
    import uuid

    experiment_id = grpc_client.create_experiment(f"ui-edit-{uuid.uuid4().hex[:8]}")
    run = grpc_client.create_run(experiment_id, run_name=name, tags={"keep": "me"})
    return str(run.info.run_id)


def test_rename_run(ui: UiPage, grpc_client: Any) -> None:
    """run-rename, type a name, Enter: the title and the stored run name change; an empty name
    is refused in the page and changes nothing."""
    run_id = _fresh_run(grpc_client, "before")
    open_run(ui, run_id)
    ui.tid("run-rename").click()
    ui.tid("run-name-input").fill("   ")
    ui.tid("run-name-save").click()
    ui.tid("run-action-error").wait_for()
    assert grpc_client.get_run(run_id).info.run_name == "before"
    ui.tid("run-name-input").fill("after <b>rename</b>")
    ui.tid("run-name-input").press("Enter")
    ui.page.locator('[data-testid="run-title"]', has_text="after").wait_for()
    ui.shot("renamed")
    assert ui.tid("run-title").text_content() == "after <b>rename</b>"
    stored = grpc_client.get_run(run_id)
    assert stored.info.run_name == "after <b>rename</b>"
    assert stored.data.tags["mlflow.runName"] == "after <b>rename</b>"


def test_add_and_remove_tags(ui: UiPage, grpc_client: Any) -> None:
    """tag-key-input/tag-value-input + tag-add sets a tag; a row's tag-delete removes it; system
    tags have no delete button."""
    run_id = _fresh_run(grpc_client, "tagged")
    open_run(ui, run_id)
    ui.tid("tag-key-input").fill("owner")
    ui.tid("tag-value-input").fill("vision team")
    ui.tid("tag-add").click()
    ui.page.locator('[data-testid="tag-row"][data-key="owner"]').wait_for()
    assert grpc_client.get_run(run_id).data.tags["owner"] == "vision team"
    ui.page.locator('[data-testid="tag-row"][data-key="keep"] [data-testid="tag-delete"]').click()
    ui.page.locator('[data-testid="tag-row"][data-key="keep"]').wait_for(state="detached")
    ui.shot("tags")
    tags = grpc_client.get_run(run_id).data.tags
    assert "keep" not in tags and tags["owner"] == "vision team"
    system_buttons = ui.page.locator('[data-testid="run-system-tags"] [data-testid="tag-delete"]')
    assert system_buttons.count() == 0
    # a key the server refuses shows its error and stores nothing
    ui.allow_console_error(r"status of 400 .*/SetTag")
    ui.tid("tag-key-input").fill("bad/../key")
    ui.tid("tag-add").click()
    ui.tid("run-action-error").wait_for()
    assert "bad/../key" in ui.tid("run-action-error").text_content()
    assert "bad/../key" not in grpc_client.get_run(run_id).data.tags


def test_drag_to_zoom_the_metric_chart(ui: UiPage, seed: Seed) -> None:
    """A drag across the left half of the loss chart zooms into those steps (fewer points,
    data-zoom set, chart-zoom-reset shown); a short click does not; double-click resets."""
    open_run(ui, seed.demo_run_ids[10])
    ui.page.locator('[data-testid="metric-row"][data-key="loss"]').click()
    chart = ui.page.locator('[data-testid="metric-chart"][data-drawn="true"]')
    chart.wait_for()
    all_points = int(chart.get_attribute("data-points") or "0")
    box = chart.locator("canvas.chart-overlay").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    ui.page.mouse.click(box["x"] + box["width"] * 0.3, y)  # a click is not a zoom
    assert chart.get_attribute("data-zoom") is None
    ui.page.mouse.move(box["x"] + box["width"] * 0.15, y)
    ui.page.mouse.down()
    ui.page.mouse.move(box["x"] + box["width"] * 0.35, y, steps=5)
    ui.page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=5)
    ui.page.mouse.up()
    ui.page.locator('[data-testid="metric-chart"][data-zoom]').wait_for()
    ui.shot("zoomed")
    x0, x1 = (float(v) for v in (chart.get_attribute("data-zoom") or "").split(","))
    assert 0 <= x0 < x1 < 199
    zoomed_points = int(chart.get_attribute("data-points") or "0")
    assert 2 <= zoomed_points < all_points
    assert ui.tid("chart-zoom-reset").is_visible()
    ui.page.mouse.dblclick(box["x"] + box["width"] * 0.3, y)
    ui.page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"metric-chart\"]').dataset.zoom"
    )
    assert int(chart.get_attribute("data-points") or "0") == all_points
    assert not ui.tid("chart-zoom-reset").is_visible()


def test_zooming_a_long_metric_fetches_the_range_at_full_detail(
    ui: UiPage, grpc_client: Any
) -> None:
    """A 5,000-step metric is drawn downsampled (at most 1,000 points); zoomed into steps
    ~1000-1500, the chart asks the server for that range and draws every step in it."""
    from modelyard.entities import Metric

    run_id = _fresh_run(grpc_client, "long-metric")
    for start in range(0, 5000, 1000):
        grpc_client.log_batch(
            run_id,
            metrics=[
                Metric("wave", float((i * 37) % 101), 1_700_000_000_000 + i, i)
                for i in range(start, start + 1000)
            ],
        )
    open_run(ui, run_id)
    ui.page.locator('[data-testid="metric-row"][data-key="wave"]').click()
    chart = ui.page.locator('[data-testid="metric-chart"][data-drawn="true"]')
    chart.wait_for()
    assert int(chart.get_attribute("data-points") or "0") <= 1000
    box = chart.locator("canvas.chart-overlay").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    # the plot spans most of the canvas; 0.25-0.35 of its width is roughly steps 1,100-1,700
    ui.page.mouse.move(box["x"] + box["width"] * 0.25, y)
    ui.page.mouse.down()
    ui.page.mouse.move(box["x"] + box["width"] * 0.35, y, steps=5)
    ui.page.mouse.up()
    ui.page.locator('[data-testid="metric-chart"][data-detail="true"]').wait_for()
    ui.shot("detail")
    x0, x1 = (float(v) for v in (chart.get_attribute("data-zoom") or "").split(","))
    steps_inside = int(x1) - int(x0 + 0.999999) + 1
    assert 300 < steps_inside < 1000
    assert int(chart.get_attribute("data-points") or "0") == steps_inside
