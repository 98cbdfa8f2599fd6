// "/runs/<id>": one run. Overview, name and description (editable), params, metrics with a
// history chart (js/chart.js, js/metrics.js), tags (user tags editable, system tags apart),
// delete/restore, artifacts.

import { tracking } from "../api.js";
import { artifactBrowser } from "../artifacts.js";
import { descriptionPanel } from "../editable.js";
import { errorBox, fmtDuration, fmtNumber, fmtTime, h, replace, setTitle } from "../dom.js";
import { kvTable } from "../table.js";

const NOTE_TAG = "mlflow.note.content";
const PARENT_TAG = "mlflow.parentRunId";

// The chart modules load while the page renders; a failure shows in the chart panel only.
let chartModules = null;
function loadCharts() {
  if (!chartModules) chartModules = Promise.all([import("../chart.js"), import("../metrics.js")]);
  return chartModules;
}

function statusName(status) {
  return (status || "RUN_STATUS_UNSPECIFIED").replace(/^RUN_STATUS_/, "");
}

export async function render(main, params) {
  const runId = params.runId;
  setTitle(`Run ${runId}`);
  loadCharts().catch(() => {});
  replace(main, h("p", { class: "muted" }, "Loading…"));
  let run;
  try {
    run = (await tracking("GetRun", { runId })).run;
  } catch (err) {
    replace(main, h("nav", { class: "crumbs" }, h("a", { href: "/" }, "Experiments"), " / "), errorBox(err, "run-error"));
    return;
  }
  await show(main, run);
}

async function show(main, run) {
  const info = run.info || {};
  const data = run.data || {};
  const tags = data.tags || {};
  const runId = info.runId;
  const name = info.runName || runId;
  const deleted = info.lifecycleStage === "LIFECYCLE_STAGE_DELETED";
  const status = statusName(info.status);
  setTitle(name);

  const expLink = h("a", { href: `/experiments/${encodeURIComponent(info.experimentId)}`, testid: "run-experiment-link" }, `Experiment ${info.experimentId}`);
  const crumbExp = h("a", { href: `/experiments/${encodeURIComponent(info.experimentId)}` }, `Experiment ${info.experimentId}`);
  tracking("GetExperiment", { experimentId: info.experimentId }).then((r) => {
    const expName = (r.experiment || {}).name;
    if (expName) { expLink.textContent = expName; crumbExp.textContent = expName; }
  }, () => {});

  const notice = h("div", { class: "notice-area", testid: "run-notice" });
  const actions = h("div", { class: "actions" },
    deleted
      ? h("button", { type: "button", class: "btn", testid: "run-restore", onclick: () => lifecycle("RestoreRun") }, "Restore run")
      : h("button", { type: "button", class: "btn danger", testid: "run-delete", onclick: () => lifecycle("DeleteRun") }, "Delete run"));

  async function lifecycle(method) {
    try {
      await tracking(method, { runId });
      const fresh = (await tracking("GetRun", { runId })).run;
      await show(main, fresh);
    } catch (err) {
      replace(notice, errorBox(err, "run-action-error"));
    }
  }

  // -- overview ----------------------------------------------------------------------
  const parentId = tags[PARENT_TAG];
  const parentLink = parentId
    ? h("a", { href: `/runs/${encodeURIComponent(parentId)}`, testid: "run-parent-link" }, parentId)
    : null;
  if (parentLink) {
    tracking("GetRun", { runId: parentId }).then((r) => {
      const parentName = ((r.run || {}).info || {}).runName;
      if (parentName) parentLink.textContent = parentName;
    }, () => {});
  }
  const commit = tags["mlflow.source.git.commit"];
  const source = tags["mlflow.source.name"];
  const sourceType = tags["mlflow.source.type"];
  const end = info.endTime;
  const overviewPairs = [
    ["Run ID", h("code", { testid: "run-id" }, runId)],
    ["Status", h("span", { class: `status status-${status.toLowerCase()}`, testid: "run-status" }, status)],
    ["Started", fmtTime(info.startTime)],
    ["Ended", end ? fmtTime(end) : h("span", { class: "muted" }, "not ended")],
    ["Duration", end && info.startTime ? fmtDuration(Number(end) - Number(info.startTime)) : ""],
    ["User", info.userId || ""],
    ["Source", source ? h("span", {}, h("code", {}, source), sourceType ? h("span", { class: "badge" }, sourceType) : null) : h("span", { class: "muted" }, "—")],
    ["Git commit", commit ? h("code", { testid: "run-git-commit", title: commit }, commit) : h("span", { class: "muted", testid: "run-git-commit" }, "—")],
    tags["mlflow.source.git.branch"] ? ["Git branch", h("code", {}, tags["mlflow.source.git.branch"])] : null,
    parentLink ? ["Parent run", parentLink] : null,
    ["Experiment", expLink],
    ["Artifacts", h("code", { class: "path" }, info.artifactUri || "")],
    deleted ? ["Lifecycle", h("span", { class: "badge muted-badge" }, "deleted")] : null,
  ].filter(Boolean);
  const overview = h("section", { class: "panel", testid: "run-overview" }, h("h2", {}, "Overview"), kvTable(overviewPairs));

  // -- description -------------------------------------------------------------------
  const description = descriptionPanel({
    testid: "run-description",
    text: tags[NOTE_TAG] || "",
    save: deleted ? null : (value) => tracking("SetTag", { runId, tag: { key: NOTE_TAG, value } }),
  });

  // -- params ------------------------------------------------------------------------
  const paramEntries = Object.entries(data.params || {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const paramsSection = h("section", { class: "panel", testid: "run-params-section" },
    h("h2", {}, "Parameters ", h("span", { class: "muted count" }, String(paramEntries.length))),
    paramEntries.length
      ? h("table", { class: "data props", testid: "run-params" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Value"))),
        h("tbody", {}, paramEntries.map(([k, v]) => h("tr", { testid: "param-row", dataset: { key: k } }, h("th", { scope: "row" }, k), h("td", { class: "text" }, v)))))
      : h("p", { class: "muted", testid: "run-params" }, "No parameters."));

  // -- metrics + chart ---------------------------------------------------------------
  const metrics = [...(data.metrics || [])].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const xAxis = h("select", { class: "input", testid: "chart-x-axis", "aria-label": "X axis" },
    h("option", { value: "step" }, "Step"), h("option", { value: "time" }, "Time"));
  const chartTitle = h("h3", { class: "chart-title" }, "History");
  const chartBox = h("div", { class: "chart", testid: "metric-chart" });
  const chartPanel = h("div", { class: "chart-panel hidden" },
    h("div", { class: "panel-head" }, chartTitle, h("label", { class: "inline" }, "X axis ", xAxis)), chartBox);
  const chartHint = h("p", { class: "muted" }, metrics.length ? "Click a metric to chart its history." : "");
  const chart = { key: null, history: null, handle: null, seq: 0 };

  async function drawMetric(key, row) {
    for (const tr of metricsBody.querySelectorAll("tr.selected")) tr.classList.remove("selected");
    if (row) row.classList.add("selected");
    chart.key = key;
    const seq = ++chart.seq;
    chartPanel.classList.remove("hidden");
    chartHint.classList.add("hidden");
    replace(chartTitle, key);
    let histories;
    let modules;
    try {
      modules = await loadCharts();
      histories = await modules[1].fetchHistories([runId], key, 1000);
    } catch (err) {
      if (seq === chart.seq) { destroyChart(); replace(chartBox, errorBox(err, "chart-error")); }
      return;
    }
    if (seq !== chart.seq) return;
    chart.history = histories[0] || { steps: [], timestamps: [], values: [] };
    chart.lineChart = modules[0].lineChart;
    chart.stepDetail = modules[1].stepDetail;
    drawChart();
  }

  function destroyChart() {
    if (chart.handle) { chart.handle.destroy(); chart.handle = null; }
  }

  function drawChart() {
    destroyChart();
    replace(chartBox);
    chartBox.removeAttribute("data-drawn");
    const byTime = xAxis.value === "time";
    const hist = chart.history;
    const key = chart.key;
    chart.handle = chart.lineChart(chartBox,
      [{ name: key, x: byTime ? hist.timestamps : hist.steps, y: hist.values }],
      {
        xLabel: byTime ? "time" : "step",
        yLabel: key,
        xIsTime: byTime,
        // zoomed on steps: fetch that range at full detail (histories are downsampled to 1,000)
        detail: byTime ? null : chart.stepDetail([runId], key, (h) => ({ name: key, x: h.steps, y: h.values })),
      });
  }
  xAxis.addEventListener("change", () => { if (chart.history) drawChart(); });

  const metricsBody = h("tbody", {}, metrics.map((m) => {
    const tr = h("tr", { testid: "metric-row", dataset: { key: m.key }, class: "clickable", tabindex: "0", title: `Chart ${m.key}` },
      h("th", { scope: "row" }, m.key),
      h("td", { class: "num", title: String(m.value) }, fmtNumber(m.value)),
      h("td", { class: "num" }, m.step === undefined ? "0" : String(m.step)),
      h("td", { class: "nowrap" }, fmtTime(m.timestamp)));
    tr.addEventListener("click", () => drawMetric(m.key, tr));
    tr.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); drawMetric(m.key, tr); } });
    return tr;
  }));
  const metricsSection = h("section", { class: "panel", testid: "run-metrics-section" },
    h("h2", {}, "Metrics ", h("span", { class: "muted count" }, String(metrics.length))),
    metrics.length
      ? h("table", { class: "data props", testid: "run-metrics" },
        h("thead", {}, h("tr", {}, ["Name", "Latest", "Step", "Logged"].map((t) => h("th", { scope: "col" }, t)))),
        metricsBody)
      : h("p", { class: "muted", testid: "run-metrics" }, "No metrics."),
    chartHint,
    chartPanel);

  // -- name --------------------------------------------------------------------------
  const title = h("div", { class: "title-edit" });
  function showTitle() {
    replace(title,
      h("h1", { testid: "run-title" }, name),
      deleted ? null : h("button", { type: "button", class: "btn small", testid: "run-rename", onclick: editTitle }, "Rename"));
  }
  function editTitle() {
    const input = h("input", { class: "input", testid: "run-name-input", "aria-label": "Run name", maxlength: "250" });
    input.value = info.runName || "";
    const save = async () => {
      const wanted = input.value.trim();
      if (!wanted) { replace(notice, errorBox(new Error("A run name cannot be empty."), "run-action-error")); return; }
      try {
        await tracking("UpdateRun", { runId, runName: wanted });
        await show(main, (await tracking("GetRun", { runId })).run);
      } catch (err) {
        replace(notice, errorBox(err, "run-action-error"));
      }
    };
    input.addEventListener("keydown", (e) => { if (e.key === "Enter") save(); if (e.key === "Escape") showTitle(); });
    replace(title, input,
      h("button", { type: "button", class: "btn primary small", testid: "run-name-save", onclick: save }, "Save"),
      h("button", { type: "button", class: "btn small", testid: "run-name-cancel", onclick: showTitle }, "Cancel"));
    input.focus();
  }
  showTitle();

  // -- tags --------------------------------------------------------------------------
  const tagEntries = Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const userTags = tagEntries.filter(([k]) => !k.startsWith("mlflow."));
  const systemTags = tagEntries.filter(([k]) => k.startsWith("mlflow.") && k !== NOTE_TAG);
  const editable = !deleted;
  async function tagChange(method, body) {
    try {
      await tracking(method, { runId, ...body });
      await show(main, (await tracking("GetRun", { runId })).run);
    } catch (err) {
      replace(notice, errorBox(err, "run-action-error"));
    }
  }
  const removeButton = (key) => h("button", {
    type: "button", class: "btn small icon", testid: "tag-delete", title: `Remove tag ${key}`,
    "aria-label": `Remove tag ${key}`, onclick: () => tagChange("DeleteTag", { key }),
  }, "×");
  const tagTable = (entries, system) => h("table", { class: `data props${system ? " system" : ""}`, testid: system ? "run-system-tags" : "run-user-tags" },
    h("tbody", {}, entries.map(([k, v]) => h("tr", { testid: "tag-row", dataset: { key: k, system: system ? "true" : "false" } },
      h("th", { scope: "row" }, k), h("td", { class: "text long" }, h("div", { class: "clip" }, v)),
      !system && editable ? h("td", { class: "row-action" }, removeButton(k)) : null))));
  const tagKey = h("input", { class: "input small", testid: "tag-key-input", placeholder: "key", "aria-label": "Tag key", maxlength: "250" });
  const tagValue = h("input", { class: "input small", testid: "tag-value-input", placeholder: "value", "aria-label": "Tag value" });
  const addTag = () => {
    const key = tagKey.value.trim();
    if (!key) { replace(notice, errorBox(new Error("A tag needs a key."), "run-action-error")); return; }
    tagChange("SetTag", { tag: { key, value: tagValue.value } });
  };
  tagValue.addEventListener("keydown", (e) => { if (e.key === "Enter") addTag(); });
  const tagForm = editable
    ? h("div", { class: "tag-form", testid: "tag-form" }, tagKey, tagValue,
      h("button", { type: "button", class: "btn small", testid: "tag-add", onclick: addTag }, "Add tag"))
    : null;
  const tagsSection = h("section", { class: "panel", testid: "run-tags" },
    h("h2", {}, "Tags ", h("span", { class: "muted count" }, String(userTags.length))),
    userTags.length ? tagTable(userTags, false) : h("p", { class: "muted" }, "No tags."),
    tagForm,
    systemTags.length ? h("h3", { class: "subhead" }, "System tags") : null,
    systemTags.length ? tagTable(systemTags, true) : null);

  replace(main,
    h("nav", { class: "crumbs" }, h("a", { href: "/" }, "Experiments"), " / ", crumbExp, " / "),
    h("div", { class: "page-head" },
      title,
      h("span", { class: `status status-${status.toLowerCase()}` }, status),
      deleted ? h("span", { class: "badge muted-badge" }, "deleted") : null,
      h("span", { class: "spacer" }),
      actions),
    notice,
    h("div", { class: "run-grid" },
      h("div", { class: "col" }, overview, description, paramsSection, tagsSection),
      h("div", { class: "col" }, metricsSection)),
    artifactBrowser(run));
}
