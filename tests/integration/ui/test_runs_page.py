"""The runs page (/experiments/<id>): search, sort, nesting, compare, CSV export, paging."""

from __future__ import annotations

import csv
import io
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.integration.ui.conftest import (
    COLUMN_VALUES_JS,
    DEMO_RUNS,
    MANY_RUNS,
    XSS_RUN_NAME,
    Seed,
    UiPage,
    UiServer,
)

pytestmark = pytest.mark.integration

ROWS = '[data-testid="run-row"]'


def open_runs(ui: UiPage, experiment_id: str, query: str = "") -> None:
    """Load an experiment's runs page and wait for its first rows."""
    ui.goto(f"/experiments/{experiment_id}{query}")
    ui.page.wait_for_selector(ROWS)


def as_number(text: str | None) -> float | None:
    """A table cell's number, or None for an empty / hidden cell."""
    if text is None or text == "":
        return None
    return float(text)


def test_valid_filter_narrows_rows(ui: UiPage, seed: Seed, grpc_client: Any) -> None:
    """`metrics.loss < 0.5` keeps exactly the matching runs; every loss cell shown is < 0.5."""
    open_runs(ui, seed.demo_experiment_id)
    before = ui.run_ids()
    ui.tid("runs-filter").fill("metrics.loss < 0.5")
    ui.tid("runs-filter").press("Enter")
    ui.wait_for(
        f"() => document.querySelectorAll('{ROWS}').length < {len(before)}"
        " && new URLSearchParams(location.search).get('filter') === 'metrics.loss < 0.5'"
    )
    ui.shot("filtered")
    shown = ui.run_ids()
    expected = grpc_client.search_runs(
        [seed.demo_experiment_id], "metrics.loss < 0.5", max_results=1000
    )
    assert 0 < len(shown) < len(before)
    assert set(shown) == {r.info.run_id for r in expected}
    losses = [as_number(v) for v in ui.column_values("metrics.loss")]
    assert losses and all(v is not None and v < 0.5 for v in losses), losses
    assert ui.tid("runs-filter-error").inner_text().strip() == ""


def gateway_error(base_url: str, service_method: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST one RPC to the JSON gateway the way a script would; return its error object."""
    request = urllib.request.Request(
        f"{base_url}/api/{service_method}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30):
            pass
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())["error"]
    raise AssertionError(f"{service_method} {body} succeeded")


def test_invalid_filter_shows_error_and_keeps_rows(
    ui: UiPage, seed: Seed, ui_server: UiServer
) -> None:
    """A bad filter: the server's INVALID_FILTER message inline, the rows stay as they were."""
    ui.allow_console_error(r"status of 400")  # the browser logs the gateway's 400 answer
    bad = "metrics.loss <<< nonsense"
    error = gateway_error(
        ui_server.base_url,
        "modelyard.v1.TrackingService/SearchRuns",
        {"experimentIds": [seed.demo_experiment_id], "filter": bad},
    )
    assert error["details"][0]["reason"] == "INVALID_FILTER"
    open_runs(ui, seed.demo_experiment_id)
    before = ui.run_ids()
    ui.tid("runs-filter").fill(bad)
    ui.tid("runs-filter-apply").click()
    box = ui.tid("runs-filter-error")
    ui.wait_for(
        "() => { const e = document.querySelector('[data-testid=\"runs-filter-error\"]');"
        " return e && e.textContent.trim().length > 0; }"
    )
    ui.shot("error")
    assert box.is_visible()
    assert error["message"] in box.inner_text()
    assert ui.run_ids() == before


def _sorted_by_loss(ui: UiPage, direction: str) -> bool:
    return ui.wait_for(
        f"""([key, rootsOnly, ascending]) => {{
          const values = ({COLUMN_VALUES_JS})([key, rootsOnly])
            .map((v) => parseFloat(v)).filter((v) => !Number.isNaN(v));
          const header = document.querySelector(`[data-testid="sort-${{key}}"]`);
          const arrow = header && header.textContent.includes(ascending ? "▲" : "▼");
          return arrow && values.length > 1 && values.every((v, i) => i === 0 ||
            (ascending ? values[i - 1] <= v : values[i - 1] >= v));
        }}""",
        ["metrics.loss", True, direction == "ASC"],
    )


def test_sort_by_metric_both_directions(ui: UiPage, seed: Seed) -> None:
    """Clicking sort-metrics.loss orders the rows by loss (▲ ascending), again reverses (▼)."""
    open_runs(ui, seed.demo_experiment_id)
    header = ui.tid("sort-metrics.loss")
    directions: list[str] = []
    previous = ""
    for step in ("first-click", "second-click"):
        header.click()
        ui.wait_for(
            """(previous) => {
              const order = new URLSearchParams(location.search).get("orderBy") || "";
              return /metrics\\.loss/.test(order) && order !== previous;
            }""",
            previous,
        )
        order = parse_qs(urlsplit(ui.page.url).query).get("orderBy", [""])[0]
        direction = "DESC" if order.upper().endswith("DESC") else "ASC"
        settled = _sorted_by_loss(ui, direction)
        if step == "second-click":
            ui.shot(step)
        # nested runs sit under their parent whatever their loss: order the top-level rows
        values = [as_number(v) for v in ui.column_values("metrics.loss", roots_only=True)]
        numbers = [v for v in values if v is not None]
        expected = sorted(numbers, reverse=direction == "DESC")
        assert settled and numbers == expected, (order, values)
        assert len(numbers) >= DEMO_RUNS
        children = ui.column_values("metrics.loss")
        assert len([v for v in children if v]) == len(ui.run_ids())
        directions.append(direction)
        previous = order
    assert sorted(directions) == ["ASC", "DESC"], directions


def test_nested_runs_under_parent(ui: UiPage, seed: Seed) -> None:
    """Children follow their parent row, marked with data-parent-run-id; run-expand toggles."""
    open_runs(ui, seed.demo_experiment_id)
    ui.shot("expanded")
    order = ui.run_ids()
    for parent, children in seed.parents.items():
        at = order.index(parent)
        assert set(order[at + 1 : at + 1 + len(children)]) == set(children), order
        for child in children:
            row = ui.page.locator(f'{ROWS}[data-run-id="{child}"]')
            assert row.get_attribute("data-parent-run-id") == parent
            assert row.is_visible()
    parent, children = next(iter(seed.parents.items()))
    expand = ui.page.locator(f'{ROWS}[data-run-id="{parent}"] [data-testid="run-expand"]')
    expand.click()
    for child in children:
        ui.page.locator(f'{ROWS}[data-run-id="{child}"]').wait_for(state="hidden")
    expand.click()
    for child in children:
        ui.page.locator(f'{ROWS}[data-run-id="{child}"]').wait_for(state="visible")


def test_compare_two_runs_draws_chart(ui: UiPage, seed: Seed) -> None:
    """Select two rows, compare-button, pick loss: compare-chart drawn with 2 series."""
    open_runs(ui, seed.demo_experiment_id)
    chosen = seed.demo_run_ids[4:6]
    compare = ui.tid("compare-button")
    assert compare.is_disabled()
    for run_id in chosen:
        ui.page.locator(f'{ROWS}[data-run-id="{run_id}"] [data-testid="run-select"]').check()
    assert compare.is_enabled()
    compare.click()
    ui.page.wait_for_url("**/compare?runs=*")
    runs = parse_qs(urlsplit(ui.page.url).query)["runs"][0].split(",")
    assert sorted(runs) == sorted(chosen)
    ui.select(ui.tid("compare-metric-select"), "loss")
    chart = ui.page.locator('[data-testid="compare-chart"][data-drawn="true"][data-series="2"]')
    chart.wait_for()
    ui.shot("chart")
    assert int(chart.get_attribute("data-points") or "0") > 0
    assert ui.tid("compare-metric-select").input_value() == "loss"


def test_csv_export_is_formula_safe(ui: UiPage, seed: Seed, tmp_path: Path) -> None:
    """runs-export: cells starting with = + - @ TAB get a leading ', RFC 4180 quoting holds."""
    open_runs(ui, seed.formula_experiment_id)
    ui.page.locator('[data-testid="sort-params.formula"]').wait_for()
    ui.shot("table")
    with ui.page.expect_download() as info:
        ui.tid("runs-export").click()
    target = tmp_path / "runs.csv"
    info.value.save_as(target)
    text = target.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, body = rows[0], rows[1:]
    assert len(body) == len(seed.formula_values)
    cells = [cell for row in body for cell in row]
    for value in seed.formula_values:
        assert "'" + value in cells, (value, body)
        assert value not in cells, (value, body)
    plain = [cell for cell in cells if cell.startswith('a,"b" ')]
    assert len(plain) == len(seed.formula_values), body  # comma and quotes survive quoting
    for cell in cells:
        if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
            pytest.fail(f"unescaped formula cell {cell!r} in {header}")


def test_paging_over_250_runs(ui: UiPage, seed: Seed) -> None:
    """100 rows per page, runs-next twice (100, 100, 50), runs-prev back; every run once."""
    open_runs(ui, seed.many_experiment_id)
    count = ui.tid("runs-count")
    seen: list[list[str]] = []
    sizes = [100, 100, MANY_RUNS - 200]
    for page_number, size in enumerate(sizes):
        if page_number:
            first = seen[-1][0]
            ui.tid("runs-next").click()
            ui.wait_for(
                f"() => {{ const r = document.querySelector('{ROWS}');"
                f" return r && r.dataset.runId !== '{first}'; }}"
            )
        ui.wait_for(f"() => document.querySelectorAll('{ROWS}').length === {size}")
        if page_number != 1:  # the middle page looks like the first
            ui.shot(f"page-{page_number + 1}")
        ids = ui.run_ids()
        assert len(ids) == size
        assert f"{size} runs shown" in count.inner_text()
        seen.append(ids)
    assert ui.tid("runs-next").is_disabled()
    all_ids = [i for ids in seen for i in ids]
    assert len(set(all_ids)) == MANY_RUNS
    assert set(all_ids) == set(seed.many_run_ids)
    # newest first by default (start times were seeded increasing)
    assert seen[0][0] == seed.many_run_ids[-1]
    ui.tid("runs-prev").click()
    ui.wait_for(
        f"() => {{ const r = document.querySelector('{ROWS}');"
        f" return r && r.dataset.runId === '{seen[1][0]}'; }}"
    )
    assert ui.run_ids() == seen[1]


def test_markup_run_name_is_text_in_table(ui: UiPage, seed: Seed) -> None:
    """The run named like an <img> tag shows as those characters in the table."""
    open_runs(ui, seed.demo_experiment_id)
    link = ui.page.locator(f'{ROWS}[data-run-id="{seed.xss_run_id}"] [data-testid="run-name-link"]')
    assert link.text_content() == XSS_RUN_NAME
    ui.shot("table")
    assert (
        ui.page.evaluate("() => document.querySelectorAll('img[src=\"x\"], [onerror]').length") == 0
    )


def test_delete_and_restore_selected_runs(ui: UiPage, grpc_client: Any) -> None:
    """Tick two of three runs, runs-delete, accept the confirm: they leave the active view and
    are deleted over gRPC; in the deleted view runs-restore brings them back."""
    import uuid

    experiment_id = grpc_client.create_experiment(f"ui-bulk-{uuid.uuid4().hex[:8]}")
    ids = [grpc_client.create_run(experiment_id, run_name=f"r{i}").info.run_id for i in range(3)]
    open_runs(ui, experiment_id)
    assert ui.tid("runs-delete").is_disabled()
    for run_id in ids[:2]:
        ui.page.locator(f'{ROWS}[data-run-id="{run_id}"] [data-testid="run-select"]').check()
    assert ui.tid("runs-delete").inner_text() == "Delete 2"
    ui.accept_confirms = True
    ui.tid("runs-delete").click()
    ui.page.wait_for_function(f"() => document.querySelectorAll('{ROWS}').length === 1")
    ui.shot("deleted")
    assert [grpc_client.get_run(r).info.lifecycle_stage for r in ids] == [
        "deleted",
        "deleted",
        "active",
    ]
    ui.select(ui.tid("runs-view"), "deleted")
    ui.page.wait_for_function(f"() => document.querySelectorAll('{ROWS}').length === 2")
    for run_id in ids[:2]:
        ui.page.locator(f'{ROWS}[data-run-id="{run_id}"] [data-testid="run-select"]').check()
    ui.tid("runs-restore").click()
    ui.page.wait_for_function(f"() => document.querySelectorAll('{ROWS}').length === 0")
    assert {grpc_client.get_run(r).info.lifecycle_stage for r in ids} == {"active"}
