// "/experiments/<id>": the runs of an experiment. One SearchRuns call per page (100 runs,
// filtered, sorted and paged by the server), rendered in one go; nested runs under their
// parent; chosen param/metric/tag columns; selection for compare; CSV export of the rows.

import { tracking } from "../api.js";
import { clear, errorBox, fmtDuration, fmtNumber, fmtTime, h, replace, setTitle } from "../dom.js";

const PAGE_SIZE = 100;
const DEFAULT_PER_KIND = 8;
const MAX_DEPTH_CLASS = 6;
const PARENT_TAG = "mlflow.parentRunId";
const VIEWS = {
  active: "VIEW_TYPE_ACTIVE_ONLY",
  deleted: "VIEW_TYPE_DELETED_ONLY",
  all: "VIEW_TYPE_ALL",
};
const DEFAULT_SORT = { key: "attributes.start_time", dir: "DESC" };
const KINDS = [
  ["metrics", "Metrics"],
  ["params", "Parameters"],
  ["tags", "Tags"],
];
const BARE_KEY = /^[A-Za-z_][\w.\-:/]*$/;

/** "metrics.my key" -> the filter language's spelling (backquoted when not a bare word). */
export function orderKey(column) {
  const dot = column.indexOf(".");
  const entity = column.slice(0, dot);
  const key = column.slice(dot + 1);
  if (entity === "attributes" || BARE_KEY.test(key)) return `${entity}.${key}`;
  return `${entity}.\`${key.replace(/`/g, "``")}\``;
}

/** Parse "metrics.loss DESC" from the URL into {key, dir}; null when absent or malformed. */
export function parseSort(text) {
  const match = /^(attributes|metrics|params|tags)\.(.+?)(?:\s+(ASC|DESC))?$/i.exec((text || "").trim());
  if (!match) return null;
  return { key: `${match[1].toLowerCase()}.${match[2]}`, dir: (match[3] || "ASC").toUpperCase() };
}

/** A run's value for a column "metrics.k" / "params.k" / "tags.k" (metrics: the number). */
export function cellValue(run, column) {
  const dot = column.indexOf(".");
  const kind = column.slice(0, dot);
  const key = column.slice(dot + 1);
  const data = run.data || {};
  if (kind === "metrics") return metricValues(run).get(key);
  if (kind === "params") return (data.params || {})[key];
  if (kind === "tags") return (data.tags || {})[key];
  return undefined;
}

const metricCache = new WeakMap();

/** A run's latest metric values by key (computed once per run object). */
function metricValues(run) {
  let map = metricCache.get(run);
  if (!map) {
    map = new Map(((run.data || {}).metrics || []).map((m) => [m.key, m.value]));
    metricCache.set(run, map);
  }
  return map;
}

/** Order the page's runs so that a run whose parent is on the page follows its parent. */
export function nestRuns(runs) {
  const byId = new Map(runs.map((r) => [r.info.runId, r]));
  const children = new Map();
  const roots = [];
  for (const run of runs) {
    const parent = parentOf(run);
    if (parent && parent !== run.info.runId && byId.has(parent)) {
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(run);
    } else {
      roots.push(run);
    }
  }
  const out = [];
  const seen = new Set();
  const walk = (run, depth) => {
    if (seen.has(run.info.runId)) return;
    seen.add(run.info.runId);
    const kids = children.get(run.info.runId) || [];
    out.push({ run, depth, childCount: kids.length });
    for (const kid of kids) walk(kid, depth + 1);
  };
  for (const run of roots) walk(run, 0);
  for (const run of runs) walk(run, 0); // a parent cycle: whatever is left, at the top
  return out;
}

function parentOf(run) {
  return ((run.data || {}).tags || {})[PARENT_TAG] || "";
}

function statusName(status) {
  return (status || "RUN_STATUS_UNSPECIFIED").replace(/^RUN_STATUS_/, "");
}

function duration(info) {
  if (!info.startTime) return "";
  if (info.endTime) return fmtDuration(Number(info.endTime) - Number(info.startTime));
  return "";
}

export async function render(main, params, query) {
  const experimentId = params.experimentId;
  setTitle(`Experiment ${experimentId}`);
  const columnsParam = query.get("columns");
  const state = {
    filter: query.get("filter") || "",
    sort: parseSort(query.get("orderBy")),
    view: VIEWS[query.get("view")] ? query.get("view") : "active",
    columns: columnsParam !== null ? columnsParam.split(",").filter((c) => /^(metrics|params|tags)\../.test(c)) : null,
    columnsChosen: columnsParam !== null,
    tokens: [""],
    page: 0,
    nextToken: "",
    runs: [],
    selected: new Set(),
    collapsed: new Set(),
    seq: 0,
    marked: false,
  };

  // -- the page's fixed parts ----------------------------------------------------------
  const title = h("h1", { testid: "experiment-name" }, `Experiment ${experimentId}`);
  const expMeta = h("span", { class: "muted" });
  const filterInput = h("input", {
    type: "search", class: "input filter", value: state.filter, spellcheck: "false",
    placeholder: "metrics.loss < 0.5 and params.optimizer = 'adam'",
    testid: "runs-filter", "aria-label": "Filter runs",
  });
  const applyButton = h("button", { type: "submit", class: "btn", testid: "runs-filter-apply" }, "Search");
  const filterError = h("div", { class: "filter-error", testid: "runs-filter-error", role: "alert", "aria-live": "polite" });
  const view = h("select", { class: "input", testid: "runs-view", "aria-label": "Which runs" },
    h("option", { value: "active", selected: state.view === "active" }, "Active"),
    h("option", { value: "deleted", selected: state.view === "deleted" }, "Deleted"),
    h("option", { value: "all", selected: state.view === "all" }, "All"));
  const columnsButton = h("button", { type: "button", class: "btn", testid: "columns-button", "aria-expanded": "false" }, "Columns");
  const columnsPanel = h("div", { class: "columns-panel hidden", testid: "columns-panel" });
  const compareButton = h("button", { type: "button", class: "btn primary", testid: "compare-button", disabled: true }, "Compare");
  const exportButton = h("button", { type: "button", class: "btn", testid: "runs-export" }, "Export CSV");
  const lifecycleButton = h("button", { type: "button", class: "btn danger", testid: "runs-delete", disabled: true }, "Delete");
  const actionError = h("div", { testid: "runs-action-error-area" });
  const selectedInfo = h("span", { class: "muted", testid: "runs-selected" });
  const count = h("span", { class: "muted", testid: "runs-count" });
  const prev = h("button", { type: "button", class: "btn", testid: "runs-prev", disabled: true }, "‹ Previous");
  const next = h("button", { type: "button", class: "btn", testid: "runs-next", disabled: true }, "Next ›");
  const thead = h("thead");
  const tbody = h("tbody");
  const table = h("table", { class: "data runs", testid: "runs-table" }, thead, tbody);
  const loading = h("span", { class: "loading hidden", "aria-hidden": "true" }, "Loading…");

  replace(main,
    h("nav", { class: "crumbs" }, h("a", { href: "/" }, "Experiments"), " / "),
    h("div", { class: "page-head" }, title, expMeta),
    h("form", { class: "toolbar", onsubmit: (e) => { e.preventDefault(); applyFilter(); } },
      filterInput, applyButton, view,
      h("span", { class: "spacer" }),
      h("div", { class: "popover-anchor" }, columnsButton, columnsPanel),
      exportButton, lifecycleButton, compareButton),
    filterError,
    actionError,
    h("div", { class: "table-wrap" }, table),
    h("div", { class: "pager" }, prev, next, count, loading, selectedInfo));

  // -- loading -------------------------------------------------------------------------
  const expPromise = tracking("GetExperiment", { experimentId }).then(
    (r) => {
      const exp = r.experiment || {};
      replace(title, exp.name || `Experiment ${experimentId}`);
      setTitle(exp.name || `Experiment ${experimentId}`);
      replace(expMeta, `ID ${exp.experimentId}`,
        exp.lifecycleStage === "LIFECYCLE_STAGE_DELETED" ? h("span", { class: "badge muted-badge" }, "deleted") : null);
      state.experimentName = exp.name;
    },
    (err) => { replace(expMeta, errorBox(err, "experiment-error")); });

  function searchBody() {
    const body = {
      experimentIds: [experimentId],
      filter: state.filter,
      viewType: VIEWS[state.view],
      pageSize: PAGE_SIZE,
    };
    if (state.sort) body.orderBy = [`${orderKey(state.sort.key)} ${state.sort.dir}`];
    const token = state.tokens[state.page];
    if (token) body.pageToken = token;
    return body;
  }

  /** Fetch the current page; on error keep the rows and say why. Returns success. */
  async function load() {
    const seq = ++state.seq;
    loading.classList.remove("hidden");
    let response;
    try {
      response = await tracking("SearchRuns", searchBody());
    } catch (err) {
      if (seq !== state.seq) return false;
      loading.classList.add("hidden");
      showError(err);
      return false;
    }
    if (seq !== state.seq) return false;
    loading.classList.add("hidden");
    replace(filterError);
    state.runs = response.runs || [];
    state.nextToken = response.nextPageToken || "";
    renderTable();
    if (!state.marked) {
      state.marked = true;
      performance.mark("modelyard:rows");
    }
    return true;
  }

  function showError(err) {
    if (err && err.reason === "INVALID_FILTER") {
      replace(filterError, h("div", { class: "error", role: "alert" }, err.message));
    } else {
      replace(filterError, errorBox(err, "runs-error"));
    }
  }

  // -- columns -------------------------------------------------------------------------
  function keysOnPage() {
    const keys = { metrics: new Set(), params: new Set(), tags: new Set() };
    for (const run of state.runs) {
      const data = run.data || {};
      for (const m of data.metrics || []) keys.metrics.add(m.key);
      for (const k of Object.keys(data.params || {})) keys.params.add(k);
      for (const k of Object.keys(data.tags || {})) if (!k.startsWith("mlflow.")) keys.tags.add(k);
    }
    const sorted = {};
    for (const [kind] of KINDS) sorted[kind] = [...keys[kind]].sort();
    return sorted;
  }

  /** Default columns (until the user picks some): up to 8 metrics and 8 params on the page. */
  function ensureColumns() {
    if (state.columns && (state.columnsChosen || state.columns.length)) return;
    const keys = keysOnPage();
    state.columns = [
      ...keys.metrics.slice(0, DEFAULT_PER_KIND).map((k) => `metrics.${k}`),
      ...keys.params.slice(0, DEFAULT_PER_KIND).map((k) => `params.${k}`),
    ];
  }

  function renderColumnsPanel() {
    const keys = keysOnPage();
    const chosen = new Set(state.columns);
    for (const column of state.columns) { // chosen columns stay listed even if this page lacks them
      const dot = column.indexOf(".");
      const kind = column.slice(0, dot);
      const key = column.slice(dot + 1);
      if (!keys[kind].includes(key)) keys[kind].push(key);
    }
    const groups = KINDS.map(([kind, label]) => h("fieldset", { class: "column-group" },
      h("legend", {}, label),
      keys[kind].length ? keys[kind].map((key) => {
        const column = `${kind}.${key}`;
        const box = h("input", { type: "checkbox", testid: "column-option", dataset: { column }, checked: chosen.has(column) });
        box.addEventListener("change", () => toggleColumn(column, box.checked));
        return h("label", { class: "check" }, box, key);
      }) : h("span", { class: "muted" }, "none on this page")));
    replace(columnsPanel, ...groups);
  }

  function toggleColumn(column, on) {
    const set = new Set(state.columns);
    if (on) set.add(column); else set.delete(column);
    // keep the panel's order: metrics, params, tags, each alphabetical
    const order = (c) => KINDS.findIndex(([k]) => c.startsWith(`${k}.`));
    state.columns = [...set].sort((a, b) => order(a) - order(b) || (a < b ? -1 : a > b ? 1 : 0));
    state.columnsChosen = true;
    syncUrl();
    renderTable();
  }

  // the search box's own clear button empties the filter: show every run again
  filterInput.addEventListener("search", () => { if (!filterInput.value && state.filter) applyFilter(); });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !columnsPanel.classList.contains("hidden")) {
      columnsPanel.classList.add("hidden");
      columnsButton.setAttribute("aria-expanded", "false");
      columnsButton.focus();
    }
  });

  columnsButton.addEventListener("click", () => {
    const open = columnsPanel.classList.toggle("hidden") === false;
    columnsButton.setAttribute("aria-expanded", String(open));
  });
  document.addEventListener("click", (e) => {
    if (!columnsPanel.classList.contains("hidden") && !columnsPanel.parentNode.contains(e.target)) {
      columnsPanel.classList.add("hidden");
      columnsButton.setAttribute("aria-expanded", "false");
    }
  });

  // -- the table -----------------------------------------------------------------------
  function sortButton(key, label, extraClass) {
    const sort = state.sort || DEFAULT_SORT;
    const active = sort.key === key;
    const arrow = active ? (sort.dir === "ASC" ? " ▲" : " ▼") : "";
    return h("button", {
      type: "button", class: `sort${active ? " active" : ""}${extraClass ? " " + extraClass : ""}`,
      testid: `sort-${key}`, title: `Sort by ${key}`,
      "aria-sort": active ? (sort.dir === "ASC" ? "ascending" : "descending") : undefined,
      onclick: () => sortBy(key),
    }, label, arrow);
  }

  function renderHead() {
    const groups = KINDS.map(([kind, label]) => [kind, label, state.columns.filter((c) => c.startsWith(`${kind}.`))])
      .filter(([, , cols]) => cols.length);
    const pageIds = state.runs.map((r) => r.info.runId);
    const allBox = h("input", {
      type: "checkbox", testid: "runs-select-all", "aria-label": "Select all runs on this page",
      checked: pageIds.length > 0 && pageIds.every((id) => state.selected.has(id)),
    });
    allBox.addEventListener("change", () => {
      for (const id of pageIds) { if (allBox.checked) state.selected.add(id); else state.selected.delete(id); }
      for (const box of tbody.querySelectorAll("input[data-testid=run-select]")) box.checked = allBox.checked;
      updateSelection();
    });
    const fixed = [
      h("th", { class: "select", rowspan: "2" }, allBox),
      h("th", { rowspan: "2", class: "name" }, sortButton("attributes.run_name", "Run name")),
      h("th", { rowspan: "2" }, sortButton("attributes.start_time", "Created")),
      h("th", { rowspan: "2" }, "Duration"),
      h("th", { rowspan: "2" }, sortButton("attributes.status", "Status")),
      h("th", { rowspan: "2" }, sortButton("attributes.user_id", "User")),
    ];
    const top = h("tr", {}, fixed, groups.map(([kind, label, cols]) => h("th", { colspan: String(cols.length), class: `group group-${kind}`, scope: "colgroup" }, label)));
    const keys = h("tr", {}, groups.map(([kind, , cols]) => cols.map((column) => h("th", { class: `key key-${kind}`, scope: "col" },
      sortButton(column, column.slice(kind.length + 1), kind === "metrics" ? "num" : "")))));
    thead.replaceChildren(top, keys);
  }

  function renderTable() {
    ensureColumns();
    renderHead();
    const rows = nestRuns(state.runs);
    const fragment = document.createDocumentFragment();
    for (const { run, depth, childCount } of rows) fragment.appendChild(runRow(run, depth, childCount));
    if (!rows.length) {
      fragment.appendChild(h("tr", { class: "empty" }, h("td", { colspan: String(6 + state.columns.length) },
        state.filter ? "No runs match this filter." : "No runs here.")));
    }
    tbody.replaceChildren(fragment); // one DOM operation, much faster than removing row by row
    applyCollapsed();
    renderColumnsPanel();
    const first = state.page * PAGE_SIZE;
    replace(count, state.runs.length
      ? `${state.runs.length} runs shown${state.page || state.nextToken ? ` (${first + 1}–${first + state.runs.length}, page ${state.page + 1})` : ""}`
      : "0 runs shown");
    prev.disabled = state.page === 0;
    next.disabled = !state.nextToken;
    updateSelection();
  }

  // Rows are built with plain DOM calls (no h()): 100 rows of ~20 cells is the page's
  // hot path. Everything is still text: textContent and attribute values only.
  function runRow(run, depth, childCount) {
    const info = run.info;
    const id = info.runId;
    const parent = parentOf(run);
    const deleted = info.lifecycleStage === "LIFECYCLE_STAGE_DELETED";
    const status = statusName(info.status);
    const tr = document.createElement("tr");
    tr.setAttribute("data-testid", "run-row");
    tr.setAttribute("data-run-id", id);
    if (parent) tr.setAttribute("data-parent-run-id", parent);
    if (depth) tr.className = `nested depth-${Math.min(depth, MAX_DEPTH_CLASS)}`;
    if (deleted) tr.classList.add("deleted");

    const box = document.createElement("input");
    box.type = "checkbox";
    box.setAttribute("data-testid", "run-select");
    box.setAttribute("aria-label", "Select run");
    box.checked = state.selected.has(id);
    tr.appendChild(cell("select", "")).appendChild(box);

    const nameCell = cell("name", "");
    if (childCount) {
      const collapsed = state.collapsed.has(id);
      const expand = document.createElement("button");
      expand.type = "button";
      expand.className = "expand";
      expand.setAttribute("data-testid", "run-expand");
      expand.setAttribute("aria-expanded", String(!collapsed));
      expand.title = `${childCount} nested run${childCount === 1 ? "" : "s"}`;
      expand.textContent = collapsed ? "▸" : "▾";
      nameCell.appendChild(expand);
    } else {
      const space = document.createElement("span");
      space.className = "expand-space";
      if (parent && !depth) {
        space.textContent = "↳";
        space.title = `nested under run ${parent}`;
      }
      nameCell.appendChild(space);
    }
    const link = document.createElement("a");
    link.href = `/runs/${encodeURIComponent(id)}`;
    link.setAttribute("data-testid", "run-name-link");
    link.title = info.runName || id;
    link.textContent = info.runName || id.slice(0, 8);
    nameCell.appendChild(link);
    if (childCount) nameCell.appendChild(span("count-badge", String(childCount)));
    if (deleted) nameCell.appendChild(span("badge muted-badge", "deleted"));
    tr.appendChild(nameCell);

    tr.appendChild(cell("nowrap", fmtTime(info.startTime), "attributes.start_time"));
    tr.appendChild(cell("nowrap num", duration(info)));
    tr.appendChild(cell("", "", "attributes.status")).appendChild(span(`status status-${status.toLowerCase()}`, status));
    tr.appendChild(cell("nowrap", info.userId || "", "attributes.user_id"));

    const metrics = metricValues(run);
    const data = run.data || {};
    for (const column of state.columns) {
      const dot = column.indexOf(".");
      const kind = column.slice(0, dot);
      const key = column.slice(dot + 1);
      if (kind === "metrics") {
        const value = metrics.get(key);
        const shown = value === undefined ? "" : fmtNumber(value);
        const td = tr.appendChild(cell("num", shown, column));
        if (value !== undefined && shown !== String(value)) td.title = String(value);
      } else {
        const value = (kind === "params" ? data.params : data.tags || {}) || {};
        const text = value[key] === undefined ? "" : value[key];
        const td = tr.appendChild(cell("text", text, column));
        if (text.length > 24) td.title = text;
      }
    }
    return tr;
  }

  function cell(className, text, column) {
    const td = document.createElement("td");
    if (className) td.className = className;
    if (column) td.setAttribute("data-column", column);
    if (text) td.textContent = text;
    return td;
  }

  function span(className, text) {
    const node = document.createElement("span");
    node.className = className;
    node.textContent = text;
    return node;
  }

  // One listener each for the rows' checkboxes and expand buttons.
  tbody.addEventListener("change", (e) => {
    const box = e.target;
    if (!(box instanceof HTMLInputElement) || box.dataset.testid !== "run-select") return;
    const id = box.closest("tr").dataset.runId;
    if (box.checked) state.selected.add(id); else state.selected.delete(id);
    updateSelection();
  });
  tbody.addEventListener("click", (e) => {
    const button = e.target instanceof Element ? e.target.closest("[data-testid=run-expand]") : null;
    if (button) toggleCollapsed(button.closest("tr").dataset.runId);
  });

  function toggleCollapsed(id) {
    if (state.collapsed.has(id)) state.collapsed.delete(id); else state.collapsed.add(id);
    const button = tbody.querySelector(`tr[data-run-id="${CSS.escape(id)}"] [data-testid=run-expand]`);
    if (button) {
      button.textContent = state.collapsed.has(id) ? "▸" : "▾";
      button.setAttribute("aria-expanded", String(!state.collapsed.has(id)));
    }
    applyCollapsed();
  }

  /** Hide every row with a collapsed ancestor on the page. */
  function applyCollapsed() {
    const parentById = new Map();
    for (const tr of tbody.querySelectorAll("tr[data-run-id]")) parentById.set(tr.dataset.runId, tr.dataset.parentRunId || "");
    for (const tr of tbody.querySelectorAll("tr[data-run-id]")) {
      let hidden = false;
      let cursor = tr.dataset.parentRunId;
      const seen = new Set();
      while (cursor && parentById.has(cursor) && !seen.has(cursor)) {
        seen.add(cursor);
        if (state.collapsed.has(cursor)) { hidden = true; break; }
        cursor = parentById.get(cursor);
      }
      tr.classList.toggle("hidden", hidden);
    }
  }

  function updateSelection() {
    const n = state.selected.size;
    compareButton.disabled = n < 2;
    compareButton.textContent = n >= 2 ? `Compare ${n}` : "Compare";
    const restoring = state.view === "deleted";
    lifecycleButton.disabled = n < 1;
    lifecycleButton.dataset.testid = restoring ? "runs-restore" : "runs-delete";
    lifecycleButton.classList.toggle("danger", !restoring);
    lifecycleButton.textContent = `${restoring ? "Restore" : "Delete"}${n ? ` ${n}` : ""}`;
    selectedInfo.textContent = n ? `${n} selected` : "";
  }

  // -- actions -------------------------------------------------------------------------
  function syncUrl() {
    const q = new URLSearchParams();
    if (state.filter) q.set("filter", state.filter);
    if (state.sort) q.set("orderBy", `${state.sort.key} ${state.sort.dir}`);
    if (state.columnsChosen && state.columns) q.set("columns", state.columns.join(","));
    if (state.view !== "active") q.set("view", state.view);
    const qs = q.toString();
    history.replaceState(null, "", `${window.location.pathname}${qs ? "?" + qs : ""}`);
  }

  async function restart() {
    const saved = { tokens: state.tokens, page: state.page };
    state.tokens = [""];
    state.page = 0;
    const ok = await load();
    if (!ok) { state.tokens = saved.tokens; state.page = saved.page; }
    return ok;
  }

  async function applyFilter() {
    const previous = state.filter;
    state.filter = filterInput.value.trim();
    if (await restart()) syncUrl();
    else state.filter = previous;
  }

  async function sortBy(key) {
    const current = state.sort || DEFAULT_SORT;
    const previous = state.sort;
    state.sort = current.key === key ? { key, dir: current.dir === "ASC" ? "DESC" : "ASC" } : { key, dir: "ASC" };
    if (await restart()) syncUrl();
    else state.sort = previous;
  }

  view.addEventListener("change", async () => {
    state.view = view.value;
    state.selected.clear();
    if (await restart()) syncUrl();
  });

  next.addEventListener("click", async () => {
    if (!state.nextToken) return;
    state.tokens[state.page + 1] = state.nextToken;
    state.page += 1;
    if (!(await load())) state.page -= 1;
  });
  prev.addEventListener("click", async () => {
    if (state.page === 0) return;
    state.page -= 1;
    if (!(await load())) state.page += 1;
  });

  // Delete the selected runs (restore them in the deleted view), after a confirm; one call per
  // run, stopping at the first refusal, which is shown; the page reloads either way.
  lifecycleButton.addEventListener("click", async () => {
    const ids = [...state.selected];
    if (!ids.length) return;
    const restoring = state.view === "deleted";
    const what = `${ids.length} run${ids.length === 1 ? "" : "s"}`;
    const question = restoring
      ? `Restore ${what}?`
      : `Delete ${what}? They can be restored until modelyard gc removes them for good.`;
    if (!window.confirm(question)) return;
    lifecycleButton.disabled = true;
    clear(actionError);
    try {
      for (const runId of ids) {
        await tracking(restoring ? "RestoreRun" : "DeleteRun", { runId });
        state.selected.delete(runId);
      }
    } catch (err) {
      replace(actionError, errorBox(err, "runs-action-error"));
    }
    await restart();
    updateSelection();
  });

  compareButton.addEventListener("click", () => {
    if (state.selected.size < 2) return;
    window.location.href = `/compare?runs=${[...state.selected].map(encodeURIComponent).join(",")}`;
  });

  exportButton.addEventListener("click", async () => {
    const { downloadBlob, toCsv } = await import("../table.js"); // only when exporting
    const header = ["run_id", "run_name", "parent_run_id", "start_time", "end_time", "status", "user", ...state.columns];
    const rows = nestRuns(state.runs).map(({ run }) => {
      const info = run.info;
      return [
        info.runId, info.runName || "", parentOf(run),
        info.startTime ? new Date(Number(info.startTime)).toISOString() : "",
        info.endTime ? new Date(Number(info.endTime)).toISOString() : "",
        statusName(info.status), info.userId || "",
        ...state.columns.map((c) => { const v = cellValue(run, c); return v === undefined ? "" : v; }),
      ];
    });
    const base = (state.experimentName || `experiment-${experimentId}`).replace(/[^\w.-]+/g, "_").slice(0, 80);
    downloadBlob(`${base}-runs.csv`, toCsv(header, rows));
  });

  await load();
  await expPromise;
}
