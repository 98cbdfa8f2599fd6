// /compare?runs=a,b,...: metric charts of several runs overlaid, a parameter diff table (and
// one of the latest metric values), and a scatter of a param against a metric (one point per
// run). The chosen metric, x axis and scatter axes are kept in the query string.

import { tracking } from "../api.js";
import { lineChart, scatterChart, swatch } from "../chart.js";
import { clear, errorBox, fmtNumber, h, replace, setTitle } from "../dom.js";
import { fetchHistories, historySeries, stepDetail, xAxisSelect } from "../metrics.js";

const MAX_RUNS = 100; // GetMetricHistoryBulk's limit per call; more is not a readable chart

/** Run ids from ?runs=a,b (also accepts repeated runs= params), unique, in order. */
function runIdsOf(query) {
  const ids = [];
  for (const value of query.getAll("runs")) {
    for (const id of value.split(",")) {
      const clean = id.trim();
      if (clean && !ids.includes(clean)) ids.push(clean);
    }
  }
  return ids;
}

/** A select of keys (value = key); `testid` names it. */
function keySelect(testid, keys, selected, label) {
  const select = h("select", { class: "input", testid, "aria-label": label },
    keys.length ? null : h("option", { value: "" }, "(none)"),
    keys.map((key) => h("option", { value: key, selected: key === selected }, key)));
  select.disabled = !keys.length;
  return select;
}

/** Latest metric values of a run: Map key -> number. */
function latestMetrics(run) {
  const map = new Map();
  for (const m of (run.data && run.data.metrics) || []) map.set(m.key, Number(m.value));
  return map;
}

/** A param value as a number when it reads as one ("0.1", "1e-3"), else null. */
function asNumber(text) {
  if (typeof text !== "string" || !text.trim()) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

export async function render(main, params, query) {
  setTitle("Compare runs");
  const ids = runIdsOf(query);
  if (!ids.length) {
    replace(main,
      h("div", { class: "page-head" }, h("h1", {}, "Compare runs")),
      h("p", { class: "muted" }, "No runs chosen. Select two or more runs on an experiment's runs page and press Compare."),
      h("a", { href: "/" }, "Experiments"));
    return;
  }
  const shown = ids.slice(0, MAX_RUNS);
  replace(main, h("p", { class: "loading" }, `Loading ${shown.length} runs…`));

  const answers = await Promise.allSettled(shown.map((runId) => tracking("GetRun", { runId })));
  const runs = [];
  const problems = [];
  answers.forEach((answer, i) => {
    if (answer.status === "fulfilled" && answer.value.run) runs.push(answer.value.run);
    else problems.push(h("li", {}, `${shown[i]}: `, answer.reason ? answer.reason.message : "not found"));
  });

  // Display names: the run name, made unique with the id's start when names repeat.
  const counts = new Map();
  for (const run of runs) {
    const name = run.info.runName || run.info.runId;
    counts.set(name, (counts.get(name) || 0) + 1);
  }
  const entries = runs.map((run, i) => {
    const base = run.info.runName || run.info.runId;
    const name = counts.get(base) > 1 ? `${base} (${run.info.runId.slice(0, 8)})` : base;
    return {
      run,
      id: run.info.runId,
      name,
      color: i,
      params: (run.data && run.data.params) || {},
      metrics: latestMetrics(run),
    };
  });

  const experimentIds = [...new Set(runs.map((run) => run.info.experimentId))];
  const experiments = await Promise.allSettled(experimentIds.map((experimentId) => tracking("GetExperiment", { experimentId })));
  const expLinks = experiments.map((answer, i) => {
    const name = answer.status === "fulfilled" && answer.value.experiment ? answer.value.experiment.name : `experiment ${experimentIds[i]}`;
    return h("a", { href: `/experiments/${encodeURIComponent(experimentIds[i])}` }, name);
  });

  setTitle(`Compare ${entries.length} runs`);
  const state = {
    metric: query.get("metric") || "",
    x: query.get("x") === "time" ? "time" : "step",
    sparam: query.get("sparam") || "",
    smetric: query.get("smetric") || "",
    diffOnly: query.get("diffOnly") === "1",
  };
  const syncQuery = () => {
    const rest = new URLSearchParams();
    if (state.metric) rest.set("metric", state.metric);
    if (state.x === "time") rest.set("x", "time");
    if (state.sparam) rest.set("sparam", state.sparam);
    if (state.smetric) rest.set("smetric", state.smetric);
    if (state.diffOnly) rest.set("diffOnly", "1");
    const tail = rest.toString();
    history.replaceState(null, "", `/compare?runs=${ids.map(encodeURIComponent).join(",")}${tail ? "&" + tail : ""}`);
  };

  const header = h("div", { class: "page-head" },
    h("h1", {}, `Comparing ${entries.length} run${entries.length === 1 ? "" : "s"}`),
    expLinks.length ? h("span", { class: "subhead" }, "from ", expLinks.flatMap((link, i) => (i ? [", ", link] : [link]))) : null);
  const runList = h("ul", { class: "compare-runs", testid: "compare-runs" }, entries.map((e) =>
    h("li", { dataset: { runId: e.id } }, swatch(e.color),
      h("a", { href: `/runs/${encodeURIComponent(e.id)}`, title: e.id }, e.name))));
  const notes = [];
  if (ids.length > MAX_RUNS) notes.push(h("p", { class: "notice" }, `Showing the first ${MAX_RUNS} of ${ids.length} runs.`));
  if (problems.length) notes.push(h("div", { class: "error", role: "alert", testid: "compare-error" }, h("strong", {}, "Some runs could not be loaded:"), h("ul", {}, problems)));
  if (entries.length < 2 && entries.length) notes.push(h("p", { class: "notice" }, "Only one run: pick at least two to compare."));

  if (!entries.length) {
    replace(main, header, ...notes);
    return;
  }

  const metricKeys = [...new Set(entries.flatMap((e) => [...e.metrics.keys()]))].sort();
  const paramKeys = [...new Set(entries.flatMap((e) => Object.keys(e.params)))].sort();
  if (!metricKeys.includes(state.metric)) {
    // Default: a metric every run has, a loss when there is one.
    const shared = metricKeys.filter((k) => entries.every((e) => e.metrics.has(k)));
    state.metric = shared.find((k) => /loss/i.test(k)) || shared[0] || metricKeys[0] || "";
  }

  // -- metric chart --
  const chartBox = h("div", { class: "compare-chart", testid: "compare-chart" });
  const chartNote = h("p", { class: "muted", testid: "compare-chart-note" });
  const chartError = h("div");
  const metricSelect = keySelect("compare-metric-select", metricKeys, state.metric, "Metric");
  const xSelect = xAxisSelect(state.x, (value) => { state.x = value; syncQuery(); drawChart(); });
  const cache = new Map(); // metric key -> histories
  let chart = null;
  let loading = null;

  function drawChart() {
    if (chart) { chart.destroy(); chart = null; }
    const histories = cache.get(state.metric);
    if (!histories) return;
    const series = [];
    const without = [];
    const shown = [];
    entries.forEach((e, i) => {
      if (histories[i].values.length) {
        series.push(historySeries(histories[i], e.name, state.x, e.color));
        shown.push(e);
      } else {
        without.push(e.name);
      }
    });
    const metric = state.metric;
    chart = lineChart(chartBox, series, {
      xLabel: state.x === "time" ? "Time" : "Step",
      yLabel: metric,
      xIsTime: state.x === "time",
      // zoomed on steps: the shown runs' histories of that range at full detail
      detail: state.x === "time" ? null : stepDetail(shown.map((e) => e.id), metric,
        (h, i) => historySeries(h, shown[i].name, "step", shown[i].color)),
    });
    replace(chartNote, without.length ? `No "${state.metric}" logged in: ${without.join(", ")}` : "");
  }

  async function loadChart() {
    clear(chartError);
    if (chart) { chart.destroy(); chart = null; }
    if (!state.metric) {
      replace(chartBox, h("p", { class: "muted" }, "These runs have no metrics."));
      return;
    }
    if (cache.has(state.metric)) { drawChart(); return; }
    if (loading) loading.abort();
    const controller = new AbortController();
    loading = controller;
    const key = state.metric;
    replace(chartBox, h("p", { class: "loading" }, `Loading ${key}…`));
    try {
      const histories = await fetchHistories(entries.map((e) => e.id), key, 1000, { signal: controller.signal });
      cache.set(key, histories);
      if (loading === controller && state.metric === key) drawChart();
    } catch (err) {
      if (err.name === "AbortError") return;
      clear(chartBox);
      replace(chartError, errorBox(err, "compare-chart-error"));
    } finally {
      if (loading === controller) loading = null;
    }
  }
  metricSelect.addEventListener("change", () => { state.metric = metricSelect.value; syncQuery(); loadChart(); });

  const chartSection = h("section", { class: "panel" },
    h("div", { class: "panel-head" }, h("h2", {}, "Metrics")),
    h("div", { class: "toolbar" },
      h("label", { class: "inline" }, "Metric ", metricSelect),
      h("label", { class: "inline" }, "X axis ", xSelect)),
    chartError, chartBox, chartNote);

  // -- param diff --
  const diffOnly = h("input", { type: "checkbox", testid: "param-diff-only", checked: state.diffOnly });
  const diffSummary = h("span", { class: "muted" });
  const paramTableBox = h("div", { class: "table-wrap" });
  const metricTableBox = h("div", { class: "table-wrap" });
  const runHeaders = () => entries.map((e) => h("th", { class: "diff-run", scope: "col", title: e.name }, swatch(e.color), e.name));

  function diffTable(testid, rowTestid, keys, valueOf, display) {
    const rows = [];
    let differing = 0;
    for (const key of keys) {
      const values = entries.map((e) => valueOf(e, key));
      const first = values[0];
      const differs = values.some((v) => !Object.is(v, first) && v !== first);
      if (differs) differing++;
      if (diffOnly.checked && !differs) continue;
      rows.push(h("tr", { testid: rowTestid, class: differs ? "differs" : null, dataset: { key } },
        h("th", { scope: "row", class: "wrap-anywhere" }, key),
        values.map((v) => (v === undefined ? h("td", { class: "missing" }, "—") : h("td", {}, display(v))))));
    }
    const table = h("table", { class: "data diff-table", testid },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, testid === "param-diff" ? "Param" : "Metric"), runHeaders())),
      h("tbody", {}, rows.length ? rows : h("tr", { class: "empty" }, h("td", { colspan: String(entries.length + 1) },
        keys.length ? "No differences." : "None logged."))));
    return { table, differing };
  }

  function renderDiffs() {
    const p = diffTable("param-diff", "param-diff-row", paramKeys, (e, k) => e.params[k], (v) => v);
    replace(paramTableBox, p.table);
    replace(diffSummary, paramKeys.length ? `${p.differing} of ${paramKeys.length} params differ` : "");
    const m = diffTable("metric-diff", "metric-diff-row", metricKeys, (e, k) => e.metrics.get(k), (v) => fmtNumber(v));
    replace(metricTableBox, m.table);
  }
  diffOnly.addEventListener("change", () => { state.diffOnly = diffOnly.checked; syncQuery(); renderDiffs(); });

  const paramSection = h("section", { class: "panel" },
    h("div", { class: "panel-head" }, h("h2", {}, "Parameters")),
    h("div", { class: "toolbar" },
      h("label", { class: "check" }, diffOnly, "Show only differing rows"), diffSummary),
    paramTableBox);
  const metricSection = h("section", { class: "panel" },
    h("div", { class: "panel-head" }, h("h2", {}, "Latest metric values")), metricTableBox);

  // -- scatter --
  if (!paramKeys.includes(state.sparam)) {
    const differing = paramKeys.filter((k) => new Set(entries.map((e) => e.params[k])).size > 1);
    state.sparam = differing.find((k) => entries.every((e) => asNumber(e.params[k]) !== null)) || differing[0] || paramKeys[0] || "";
  }
  if (!metricKeys.includes(state.smetric)) state.smetric = state.metric;
  const scatterParam = keySelect("scatter-param", paramKeys, state.sparam, "Parameter (x)");
  const scatterMetric = keySelect("scatter-metric", metricKeys, state.smetric, "Metric (y)");
  const scatterBox = h("div", { class: "scatter-chart", testid: "scatter-chart" });
  const scatterNote = h("p", { class: "muted" });
  let scatter = null;

  function drawScatter() {
    if (scatter) { scatter.destroy(); scatter = null; }
    const pk = state.sparam;
    const mk = state.smetric;
    if (!pk || !mk) {
      replace(scatterBox, h("p", { class: "muted" }, "Needs a parameter and a metric."));
      replace(scatterNote);
      return;
    }
    const have = entries.filter((e) => e.params[pk] !== undefined && e.metrics.has(mk));
    const numeric = have.length > 0 && have.every((e) => asNumber(e.params[pk]) !== null);
    const points = have.map((e) => ({
      x: numeric ? asNumber(e.params[pk]) : String(e.params[pk]),
      y: e.metrics.get(mk),
      label: e.name,
      href: `/runs/${encodeURIComponent(e.id)}`,
      colorIndex: e.color,
    }));
    scatter = scatterChart(scatterBox, points, { xLabel: pk, yLabel: mk });
    const left = entries.length - have.length;
    replace(scatterNote, left ? `${left} run${left === 1 ? "" : "s"} without both values left out.` : "",
      numeric ? "" : (have.length ? " The parameter is not numeric in every run: shown as categories." : ""));
  }
  scatterParam.addEventListener("change", () => { state.sparam = scatterParam.value; syncQuery(); drawScatter(); });
  scatterMetric.addEventListener("change", () => { state.smetric = scatterMetric.value; syncQuery(); drawScatter(); });
  const scatterSection = h("section", { class: "panel" },
    h("div", { class: "panel-head" }, h("h2", {}, "Parameter vs metric")),
    h("div", { class: "toolbar" },
      h("label", { class: "inline" }, "Parameter (x) ", scatterParam),
      h("label", { class: "inline" }, "Metric (y) ", scatterMetric)),
    scatterBox, scatterNote);

  replace(main, header, ...notes, runList,
    h("div", { class: "stack" }, chartSection, paramSection, scatterSection, metricSection));
  syncQuery();
  renderDiffs();
  drawScatter();
  await loadChart();
}
