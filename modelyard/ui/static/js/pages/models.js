// /models: the registered models, searched by name on the server (SearchRegisteredModels with
// `name LIKE '%x%'`), with their latest version per stage, aliases and tags. ?q= keeps the
// search; "Load more" follows the page token.

import { registry } from "../api.js";
import { errorBox, fmtTime, h, replace, setTitle } from "../dom.js";
import { aliasChips, modelHref, quoteLiteral, stageBadge, tagList, versionHref } from "./model.js";

const PAGE_SIZE = 100;

/** `name LIKE '%x%'` matching x literally (backslash escapes % _ and itself); "" for none. */
export function nameFilter(text) {
  const term = text.trim();
  if (!term) return "";
  return `name LIKE ${quoteLiteral(`%${term.replace(/[\\%_]/g, "\\$&")}%`)}`;
}

function modelRow(model) {
  const latest = [...(model.latestVersions || [])].sort((a, b) => Number(b.version) - Number(a.version));
  return h("tr", { testid: "model-row", dataset: { name: model.name } },
    h("td", { class: "text" }, h("a", { href: modelHref(model.name), testid: "model-link" }, model.name)),
    h("td", {}, latest.length
      ? h("span", { class: "chips" }, latest.map((v) => h("a", { href: versionHref(model.name, v.version), class: "version-ref" },
        `v${v.version} `, stageBadge(v.currentStage))))
      : h("span", { class: "muted" }, "—")),
    h("td", {}, aliasChips(model.name, model.aliases)),
    h("td", { class: "text" }, tagList(model.tags)),
    h("td", { class: "nowrap" }, fmtTime(model.lastUpdateTime)));
}

export async function render(main, params, query) {
  setTitle("Models");
  const search = h("input", {
    type: "search", class: "input search", testid: "models-search",
    placeholder: "Search models by name", value: query.get("q") || "", "aria-label": "Search models",
  });
  const body = h("tbody");
  const table = h("table", { class: "data", testid: "models-table" },
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Name"),
      h("th", { scope: "col" }, "Latest versions"),
      h("th", { scope: "col" }, "Aliases"),
      h("th", { scope: "col" }, "Tags"),
      h("th", { scope: "col" }, "Last updated"))),
    body);
  const errorArea = h("div", { class: "notice-area" });
  const count = h("span", { class: "muted", testid: "models-count" });
  const more = h("button", { type: "button", class: "btn", testid: "models-more" }, "Load more");
  more.classList.add("hidden");

  let token = "";
  let shown = 0;
  let seq = 0;
  async function load(append) {
    const mine = ++seq;
    const filter = nameFilter(search.value);
    more.disabled = true;
    try {
      const answer = await registry("SearchRegisteredModels", {
        filter, orderBy: ["name ASC"], pageSize: PAGE_SIZE, pageToken: append ? token : "",
      });
      if (mine !== seq) return;
      replace(errorArea);
      const models = answer.registeredModels || [];
      if (!append) { replace(body); shown = 0; }
      const fragment = document.createDocumentFragment();
      for (const model of models) fragment.appendChild(modelRow(model));
      body.appendChild(fragment);
      shown += models.length;
      if (!shown) {
        body.appendChild(h("tr", { class: "empty" }, h("td", { colspan: "5" },
          filter ? "No model name matches the search." : "No registered models yet. Register one with modelyard.register_model(...).")));
      }
      token = answer.nextPageToken || "";
      more.classList.toggle("hidden", !token);
      replace(count, `${shown} model${shown === 1 ? "" : "s"}${token ? " shown" : ""}`);
    } catch (err) {
      if (mine === seq) replace(errorArea, errorBox(err, "models-error"));
    } finally {
      more.disabled = false;
    }
  }

  const apply = () => {
    const q = search.value.trim();
    history.replaceState(null, "", q ? `/models?q=${encodeURIComponent(q)}` : "/models");
    load(false);
  };
  let timer = 0;
  search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(apply, 250); });
  search.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { clearTimeout(timer); apply(); } });
  more.addEventListener("click", () => load(true));

  replace(main,
    h("div", { class: "page-head" }, h("h1", {}, "Registered models"), count),
    h("div", { class: "toolbar" }, search),
    errorArea,
    h("div", { class: "table-wrap" }, table),
    h("div", { class: "pager" }, more));
  await load(false);
}
