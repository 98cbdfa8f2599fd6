"""Every page of the UI loads with its content and without console errors; README images."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.integration.ui.conftest import (
    DEMO_EXPERIMENT,
    MODEL_NAME,
    XSS_RUN_NAME,
    Seed,
    UiPage,
)

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class PageCase:
    """A page to open, what shows it rendered, and what its title must contain."""

    path: str
    ready: str
    title: str = ""


def page_case(name: str, seed: Seed) -> PageCase:
    """The path and readiness selector of one page, from the seed's ids."""
    runs = ",".join(seed.demo_run_ids[:3])
    cases = {
        "experiments": PageCase(
            "/",
            f'[data-testid="experiment-row"][data-experiment-id="{seed.demo_experiment_id}"]',
        ),
        "runs": PageCase(
            f"/experiments/{seed.demo_experiment_id}",
            '[data-testid="runs-table"] [data-testid="run-row"]',
            DEMO_EXPERIMENT,
        ),
        "run": PageCase(
            f"/runs/{seed.artifact_run_id}",
            '[data-testid="artifact-tree"] [data-testid="artifact-node"]',
            "artifacts-run",
        ),
        "compare": PageCase(f"/compare?runs={runs}", '[data-testid="param-diff-row"]'),
        "models": PageCase(
            "/models", f'[data-testid="model-row"][data-name="{MODEL_NAME}"]', "Models"
        ),
        "model": PageCase(
            f"/models/{MODEL_NAME}",
            '[data-testid="versions-table"] [data-testid="version-row"]',
            MODEL_NAME,
        ),
        "version": PageCase(
            f"/models/{MODEL_NAME}/versions/{seed.model_versions[0]}",
            '[data-testid="version-signature"]',
            MODEL_NAME,
        ),
    }
    return cases[name]


PAGES = ["experiments", "runs", "run", "compare", "models", "model", "version"]


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_without_errors(ui: UiPage, seed: Seed, name: str) -> None:
    """The page renders its main content, sets a title, shows no error box."""
    case = page_case(name, seed)
    ui.goto(case.path)
    ui.page.wait_for_selector(case.ready)
    ui.shot("loaded")
    assert ui.page.locator('[data-testid="page-error"]').count() == 0
    title = ui.page.title()
    assert title.endswith("modelyard"), title
    if case.title:
        assert case.title.lower() in title.lower(), title


def test_model_pages_content(ui: UiPage, seed: Seed) -> None:
    """models-table lists ui-model with a link; the model page lists both versions."""
    ui.goto("/models")
    row = ui.page.locator(f'[data-testid="model-row"][data-name="{MODEL_NAME}"]')
    row.wait_for()
    ui.shot("models")
    row.locator(f'a[href="/models/{MODEL_NAME}"]').first.click()
    ui.page.wait_for_url(f"**/models/{MODEL_NAME}")
    ui.page.wait_for_selector('[data-testid="version-row"]')
    ui.shot("model")
    assert ui.tid("model-name").inner_text().strip() == MODEL_NAME
    versions = ui.page.locator('[data-testid="version-row"]').evaluate_all(
        "(rows) => rows.map((r) => r.dataset.version)"
    )
    assert sorted(versions) == sorted(seed.model_versions)


def test_compare_markup_run_name(ui: UiPage, seed: Seed) -> None:
    """The compare page lists the markup-named run as text (no element from it)."""
    ui.goto(f"/compare?runs={seed.xss_run_id},{seed.demo_run_ids[0]}")
    ui.page.locator('[data-testid="compare-runs"]', has_text=XSS_RUN_NAME).wait_for()
    ui.shot("compare")
    assert (
        ui.page.evaluate("() => document.querySelectorAll('img[src=\"x\"], [onerror]').length") == 0
    )


def test_readme_screenshots(ui: UiPage, seed: Seed) -> None:
    """test-output/ui/runs-page.png and compare-page.png (1280x800) for the README."""
    ui.goto(f"/experiments/{seed.demo_experiment_id}?orderBy=metrics.loss%20ASC")
    ui.page.wait_for_selector('[data-testid="run-row"]')
    ui.page.locator('[data-testid="sort-metrics.loss"]', has_text="▲").wait_for()
    for column in ("metrics.loss", "metrics.accuracy", "params.lr", "params.optimizer"):
        assert ui.tid(f"sort-{column}").is_visible(), column
    ui.page.screenshot(path=str(ui.shots / "runs-page.png"))
    ui.shot("runs")

    picked = [seed.demo_run_ids[i] for i in (2, 12, 24)]
    ui.goto(f"/compare?runs={','.join(picked)}")
    ui.tid("compare-metric-select").wait_for()
    ui.select(ui.tid("compare-metric-select"), "loss")
    ui.page.locator('[data-testid="compare-chart"][data-drawn="true"][data-series="3"]').wait_for()
    ui.page.screenshot(path=str(ui.shots / "compare-page.png"))
    ui.shot("compare")


def test_harness_catches_problems(ui: UiPage, seed: Seed) -> None:
    """The page fixture's watchdog works: it sees a CSP violation, an exception and an alert."""
    ui.goto("/")
    ui.page.wait_for_selector('[data-testid="experiment-row"]')
    with ui.page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        ui.page.evaluate("() => document.body.setAttribute('style', 'color: red')")
    with ui.page.expect_event("pageerror"):
        ui.page.evaluate("() => { setTimeout(() => { throw new Error('harness-check'); }, 0); }")
    ui.page.evaluate("() => alert('harness-check')")  # returns once the handler dismissed it
    problems = ui.problems()
    assert any(p.startswith("CSP violation:") for p in problems), problems
    assert any("harness-check" in p and p.startswith("uncaught") for p in problems), problems
    assert "dialog opened: alert: harness-check" in problems, problems
    ui.console_errors.clear()
    ui.page_errors.clear()
    ui.dialogs.clear()
