// "/": the experiments. Search by name (on the server), active/deleted/all, create, rename
// inline, delete and restore. Names are text everywhere (h() builds text nodes).

import { tracking } from "../api.js";
import { clear, errorBox, fmtTime, h, replace, setTitle } from "../dom.js";

const PAGE_SIZE = 200;
const VIEWS = {
  active: "VIEW_TYPE_ACTIVE_ONLY",
  deleted: "VIEW_TYPE_DELETED_ONLY",
  all: "VIEW_TYPE_ALL",
};

/** The filter that finds experiments whose name contains `text` (quotes doubled). */
export function nameFilter(text) {
  const trimmed = text.trim();
  return trimmed ? `name LIKE '%${trimmed.replace(/'/g, "''")}%'` : "";
}

export async function render(main, _params, query) {
  setTitle("Experiments");
  const state = {
    q: query.get("q") || "",
    view: VIEWS[query.get("view")] ? query.get("view") : "active",
    experiments: [],
    nextToken: "",
    seq: 0,
  };

  const search = h("input", {
    type: "search", class: "input search", placeholder: "Search experiments by name",
    value: state.q, testid: "experiment-search", "aria-label": "Search experiments by name",
  });
  const view = h("select", { class: "input", testid: "experiment-view", "aria-label": "Which experiments" },
    h("option", { value: "active", selected: state.view === "active" }, "Active"),
    h("option", { value: "deleted", selected: state.view === "deleted" }, "Deleted"),
    h("option", { value: "all", selected: state.view === "all" }, "All"));
  const createName = h("input", {
    type: "text", class: "input", placeholder: "New experiment name", maxlength: "500",
    testid: "experiment-create-name", "aria-label": "New experiment name",
  });
  const createButton = h("button", { type: "submit", class: "btn primary", testid: "experiment-create" }, "Create");
  const createForm = h("form", { class: "inline-form", onsubmit: (e) => { e.preventDefault(); create(); } }, createName, createButton);
  const notice = h("div", { class: "notice-area", testid: "experiments-notice" });
  const count = h("span", { class: "muted", testid: "experiments-count" });
  const tbody = h("tbody");
  const table = h("table", { class: "data", testid: "experiments-table" },
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Name"),
      h("th", { scope: "col", class: "num" }, "ID"),
      h("th", { scope: "col" }, "Created"),
      h("th", { scope: "col" }, "Last updated"),
      h("th", { scope: "col" }, "Artifact location"),
      h("th", { scope: "col", class: "actions" }, ""))),
    tbody);
  const more = h("button", { type: "button", class: "btn hidden", testid: "experiments-more", onclick: () => load(true) }, "Load more");

  replace(main,
    h("div", { class: "page-head" }, h("h1", {}, "Experiments"), count),
    h("div", { class: "toolbar" }, search, view, h("span", { class: "spacer" }), createForm),
    notice,
    h("div", { class: "table-wrap" }, table),
    h("div", { class: "pager" }, more));

  function syncUrl() {
    const params = new URLSearchParams();
    if (state.q) params.set("q", state.q);
    if (state.view !== "active") params.set("view", state.view);
    const qs = params.toString();
    history.replaceState(null, "", qs ? `/?${qs}` : "/");
  }

  function say(...children) {
    replace(notice, h("div", { class: "notice" }, ...children));
  }

  function fail(err, testid = "experiments-error") {
    replace(notice, errorBox(err, testid));
  }

  async function load(append = false) {
    const seq = ++state.seq;
    const body = { viewType: VIEWS[state.view], filter: nameFilter(state.q), pageSize: PAGE_SIZE };
    if (append) body.pageToken = state.nextToken;
    let response;
    try {
      response = await tracking("SearchExperiments", body);
    } catch (err) {
      if (seq === state.seq) fail(err);
      return;
    }
    if (seq !== state.seq) return; // a newer search answered first
    const found = response.experiments || [];
    state.experiments = append ? state.experiments.concat(found) : found;
    state.nextToken = response.nextPageToken || "";
    if (!append) tbody.replaceChildren();
    const fragment = document.createDocumentFragment();
    for (const exp of found) fragment.appendChild(row(exp));
    tbody.appendChild(fragment);
    if (!state.experiments.length) {
      tbody.appendChild(h("tr", { class: "empty" }, h("td", { colspan: "6" },
        state.q ? `No experiment name contains “${state.q}”.` : "No experiments here.")));
    }
    count.textContent = `${state.experiments.length}${state.nextToken ? "+" : ""} experiment${state.experiments.length === 1 ? "" : "s"}`;
    more.classList.toggle("hidden", !state.nextToken);
  }

  function row(exp) {
    const deleted = exp.lifecycleStage === "LIFECYCLE_STAGE_DELETED";
    const nameCell = h("td", { class: "name" });
    const actions = h("td", { class: "actions" });
    const tr = h("tr", { testid: "experiment-row", dataset: { experimentId: exp.experimentId }, class: deleted ? "deleted" : undefined },
      nameCell,
      h("td", { class: "num" }, exp.experimentId),
      h("td", { class: "nowrap" }, fmtTime(exp.creationTime)),
      h("td", { class: "nowrap" }, fmtTime(exp.lastUpdateTime)),
      h("td", { class: "path", title: exp.artifactLocation }, exp.artifactLocation || ""),
      actions);

    function showName() {
      replace(nameCell,
        h("a", { href: `/experiments/${encodeURIComponent(exp.experimentId)}`, testid: "experiment-link" }, exp.name),
        deleted ? h("span", { class: "badge muted-badge" }, "deleted") : null);
      replace(actions,
        deleted ? null : h("button", { type: "button", class: "btn small", testid: "experiment-rename", onclick: startRename }, "Rename"),
        deleted
          ? h("button", { type: "button", class: "btn small", testid: "experiment-restore", onclick: restore }, "Restore")
          : h("button", { type: "button", class: "btn small danger", testid: "experiment-delete", onclick: remove }, "Delete"));
    }

    function startRename() {
      const input = h("input", { type: "text", class: "input", value: exp.name, maxlength: "500", testid: "experiment-rename-input", "aria-label": "New name" });
      const error = h("div", { class: "row-error" });
      const save = async () => {
        const newName = input.value.trim();
        if (!newName || newName === exp.name) { showName(); return; }
        try {
          await tracking("RenameExperiment", { experimentId: exp.experimentId, newName });
        } catch (err) {
          replace(error, errorBox(err, "experiment-rename-error"));
          return;
        }
        exp.name = newName;
        showName();
      };
      input.addEventListener("keydown", (e) => {
        if (e.key === "Enter") { e.preventDefault(); save(); }
        if (e.key === "Escape") { e.preventDefault(); showName(); }
      });
      replace(nameCell, h("div", { class: "inline-form" }, input,
        h("button", { type: "button", class: "btn small primary", testid: "experiment-rename-save", onclick: save }, "Save"),
        h("button", { type: "button", class: "btn small", testid: "experiment-rename-cancel", onclick: showName }, "Cancel")), error);
      clear(actions);
      input.focus();
      input.select();
    }

    async function remove() {
      try {
        await tracking("DeleteExperiment", { experimentId: exp.experimentId });
      } catch (err) {
        fail(err);
        return;
      }
      say(`Deleted “${exp.name}” and its runs. `, h("button", { type: "button", class: "btn small link", onclick: restore }, "Undo"));
      await load();
    }

    async function restore() {
      try {
        await tracking("RestoreExperiment", { experimentId: exp.experimentId });
      } catch (err) {
        fail(err);
        return;
      }
      say(`Restored “${exp.name}”.`);
      await load();
    }

    showName();
    return tr;
  }

  async function create() {
    const name = createName.value.trim();
    if (!name) { createName.focus(); return; }
    createButton.disabled = true;
    let response;
    try {
      response = await tracking("CreateExperiment", { name });
    } catch (err) {
      fail(err, "experiment-create-error");
      return;
    } finally {
      createButton.disabled = false;
    }
    createName.value = "";
    const exp = response.experiment || {};
    say("Created ", h("a", { href: `/experiments/${encodeURIComponent(exp.experimentId)}` }, exp.name || name), ".");
    await load();
  }

  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => { state.q = search.value; syncUrl(); load(); }, 200);
  });
  search.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { clearTimeout(timer); state.q = search.value; syncUrl(); load(); }
  });
  view.addEventListener("change", () => { state.view = view.value; syncUrl(); load(); });

  await load();
}
