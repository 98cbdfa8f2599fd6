// Metric histories for charts: GetMetricHistoryBulk (downsampled on the server to maxPoints
// per run, keeping each bucket's first, last, min and max), turned into plain number arrays.

import { tracking } from "./api.js";
import { h } from "./dom.js";

const BULK_LIMIT = 100; // runs per GetMetricHistoryBulk call (the server's limit)

/** int64 strings and "NaN"/"Infinity"/"-Infinity" (protobuf JSON) as numbers. */
function numbers(values) {
  return (values || []).map(Number);
}

/**
 * The histories of one metric for several runs, in runIds order:
 * [{runId, key, steps: number[], timestamps: number[], values: number[]}] (a run without the
 * metric has empty arrays). startStep / endStep limit them to that step range (inclusive).
 */
export async function fetchHistories(runIds, key, maxPoints = 1000, { signal, startStep, endStep } = {}) {
  const unique = [...new Set(runIds)];
  const chunks = [];
  for (let i = 0; i < unique.length; i += BULK_LIMIT) chunks.push(unique.slice(i, i + BULK_LIMIT));
  const range = {};
  if (startStep !== undefined) range.startStep = String(startStep);
  if (endStep !== undefined) range.endStep = String(endStep);
  const answers = await Promise.all(chunks.map((ids) =>
    tracking("GetMetricHistoryBulk", { runIds: ids, metricKey: key, maxPoints, ...range }, { signal })));
  const byRun = new Map();
  for (const answer of answers) {
    for (const hist of answer.histories || []) {
      byRun.set(hist.runId, {
        runId: hist.runId,
        key: hist.key || key,
        steps: numbers(hist.steps),
        timestamps: numbers(hist.timestamps),
        values: numbers(hist.values),
      });
    }
  }
  return runIds.map((runId) => byRun.get(runId) || { runId, key, steps: [], timestamps: [], values: [] });
}

/** One chart series from a history: x is the step or the timestamp ("step" | "time"). */
export function historySeries(history, name, xAxis = "step", colorIndex = undefined) {
  return {
    name,
    x: xAxis === "time" ? history.timestamps : history.steps,
    y: history.values,
    colorIndex,
  };
}

/** The x-axis chooser of metric charts: a select (testid chart-x-axis) of step / time. */
export function xAxisSelect(value, onChange) {
  const select = h("select", { class: "input", testid: "chart-x-axis", "aria-label": "X axis" },
    h("option", { value: "step", selected: value !== "time" }, "Step"),
    h("option", { value: "time", selected: value === "time" }, "Time"));
  select.addEventListener("change", () => onChange(select.value));
  return select;
}

/** A chart's `detail` option for step axes: the histories of [x0, x1] at full detail. */
export function stepDetail(runIds, key, toSeries) {
  return ([x0, x1]) => {
    const startStep = Math.ceil(x0);
    const endStep = Math.floor(x1);
    if (startStep > endStep) return null; // no whole step inside: keep the loaded points
    return fetchHistories(runIds, key, 1000, { startStep, endStep })
      .then((histories) => histories.map(toSeries));
  };
}
