// /models/<name>: one registered model with its description (editable), tags, aliases, every
// version (stage, status, aliases, run, created) and the history of stage transitions and alias
// moves; "Delete model" after a confirm. Also holds the small registry helpers the models and
// version pages share.

import { registry } from "../api.js";
import { descriptionPanel } from "../editable.js";
import { errorBox, fmtTime, h, replace, setTitle } from "../dom.js";

const STAGE_NAMES = {
  MODEL_STAGE_NONE: "None",
  MODEL_STAGE_STAGING: "Staging",
  MODEL_STAGE_PRODUCTION: "Production",
  MODEL_STAGE_ARCHIVED: "Archived",
};

/** The stages a version can move to, as [label, enum name]. */
export const STAGES = Object.entries(STAGE_NAMES).map(([value, label]) => [label, value]);

/** "Production" from "MODEL_STAGE_PRODUCTION" (absent = None). */
export function stageName(stage) {
  return STAGE_NAMES[stage] || "None";
}

/** A stage label with a class per stage (stage-production, ...). */
export function stageBadge(stage) {
  const name = stageName(stage);
  return h("span", { class: `stage stage-${name.toLowerCase()}` }, name);
}

const STATUS_NAMES = {
  MODEL_VERSION_STATUS_READY: ["Ready", "ok"],
  MODEL_VERSION_STATUS_PENDING_REGISTRATION: ["Pending", "status-pending"],
  MODEL_VERSION_STATUS_FAILED_REGISTRATION: ["Failed", "version-failed"],
};

/** A version's status as text with a class. */
export function statusText(status, message) {
  const [label, cls] = STATUS_NAMES[status] || ["Unknown", "muted"];
  return h("span", { class: cls, title: message || null }, label);
}

/** A string literal of the filter language ('' doubles a quote). */
export function quoteLiteral(text) {
  return `'${text.replace(/'/g, "''")}'`;
}

/** The link to a model's page. */
export function modelHref(name) {
  return `/models/${encodeURIComponent(name)}`;
}

/** The link to a version's page. */
export function versionHref(name, version) {
  return `${modelHref(name)}/versions/${encodeURIComponent(String(version))}`;
}

/** The link to a run's page. */
export function runHref(runId) {
  return `/runs/${encodeURIComponent(runId)}`;
}

/**
 * Alias chips: `aliases` is a model's map {alias: version} (chips "@alias → vN" linking to the
 * version) or a version's list of alias names.
 */
export function aliasChips(name, aliases) {
  const entries = Array.isArray(aliases)
    ? aliases.map((alias) => [alias, null])
    : Object.entries(aliases || {}).sort(([a], [b]) => a.localeCompare(b));
  if (!entries.length) return h("span", { class: "muted" }, "—");
  return h("span", { class: "chips" }, entries.map(([alias, version]) => (version === null
    ? h("span", { class: "chip chip-alias" }, `@${alias}`)
    : h("a", { class: "chip chip-alias", href: versionHref(name, version), title: `${alias} → version ${version}` },
      `@${alias}`, h("span", { class: "muted" }, ` v${version}`)))));
}

/** Tags as "key: value" items (text only). */
export function tagList(tags) {
  const entries = Object.entries(tags || {}).sort(([a], [b]) => a.localeCompare(b));
  if (!entries.length) return h("span", { class: "muted" }, "—");
  return h("ul", { class: "tag-list" }, entries.map(([key, value]) =>
    h("li", {}, h("span", { class: "tag-key" }, `${key}: `), value)));
}

const KIND_LABELS = {
  REGISTRY_EVENT_KIND_MODEL_CREATED: "Model created",
  REGISTRY_EVENT_KIND_MODEL_RENAMED: "Model renamed",
  REGISTRY_EVENT_KIND_MODEL_DELETED: "Model deleted",
  REGISTRY_EVENT_KIND_VERSION_CREATED: "Version created",
  REGISTRY_EVENT_KIND_VERSION_DELETED: "Version deleted",
  REGISTRY_EVENT_KIND_STAGE_TRANSITIONED: "Stage transition",
  REGISTRY_EVENT_KIND_ALIAS_SET: "Alias set",
  REGISTRY_EVENT_KIND_ALIAS_DELETED: "Alias removed",
};

/** What an event changed, as text: "None → Production", "@champion: v1 → v2", ... */
function eventChange(event) {
  const prev = Number(event.previousVersion || 0);
  switch (event.kind) {
    case "REGISTRY_EVENT_KIND_STAGE_TRANSITIONED":
      return `${stageName(event.fromStage)} → ${stageName(event.toStage)}`;
    case "REGISTRY_EVENT_KIND_ALIAS_SET":
      return prev ? `@${event.alias}: v${prev} → v${event.version}` : `@${event.alias} → v${event.version}`;
    case "REGISTRY_EVENT_KIND_ALIAS_DELETED":
      return `@${event.alias}${prev ? ` (was v${prev})` : ""}`;
    case "REGISTRY_EVENT_KIND_MODEL_RENAMED":
      return `${event.modelName} → ${event.newModelName || ""}`;
    default:
      return "";
  }
}

/** Every page of a model's registry history (oldest first), up to `limit` events. */
export async function fetchHistory(name, { version = 0, kinds = [], limit = 5000 } = {}) {
  const events = [];
  let pageToken = "";
  do {
    const answer = await registry("ListRegistryHistory", { name, version: String(version), kinds, pageSize: 1000, pageToken });
    events.push(...(answer.events || []));
    pageToken = answer.nextPageToken || "";
  } while (pageToken && events.length < limit);
  return events;
}

/** A history table (newest first): rows `history-row` with time, version, event, change, user. */
export function historyTable(name, events, testid) {
  const rows = [...events].reverse().map((event) => h("tr", {
    testid: "history-row",
    dataset: { kind: (event.kind || "").replace("REGISTRY_EVENT_KIND_", "").toLowerCase(), version: String(event.version || "") },
  },
  h("td", { class: "nowrap" }, fmtTime(event.time)),
  h("td", { class: "nowrap" }, Number(event.version) ? h("a", { href: versionHref(name, event.version) }, `v${event.version}`) : "—"),
  h("td", { class: "nowrap" }, KIND_LABELS[event.kind] || event.kind || ""),
  h("td", { class: "text" }, eventChange(event)),
  h("td", { class: "nowrap", title: "Reported by the client; not verified" }, event.userId || "—")));
  return h("table", { class: "data", testid },
    h("thead", {}, h("tr", {},
      ["When", "Version", "Event", "Change", "User"].map((label) => h("th", { scope: "col" }, label)))),
    h("tbody", {}, rows.length ? rows : h("tr", { class: "empty" }, h("td", { colspan: "5" }, "No stage transitions or alias changes yet."))));
}

/** The versions of a model, newest first (all pages). */
async function fetchVersions(name) {
  const versions = [];
  let pageToken = "";
  do {
    const answer = await registry("SearchModelVersions", {
      filter: `name = ${quoteLiteral(name)}`, orderBy: ["version DESC"], pageSize: 1000, pageToken,
    });
    versions.push(...(answer.modelVersions || []));
    pageToken = answer.nextPageToken || "";
  } while (pageToken && versions.length < 20000);
  return versions;
}

function versionRow(name, v) {
  return h("tr", { testid: "version-row", dataset: { version: String(v.version) } },
    h("td", { class: "nowrap" }, h("a", { href: versionHref(name, v.version), testid: "version-link" }, `Version ${v.version}`)),
    h("td", {}, stageBadge(v.currentStage)),
    h("td", {}, statusText(v.status, v.statusMessage)),
    h("td", {}, aliasChips(name, v.aliases || [])),
    h("td", { class: "nowrap" }, v.runId ? h("a", { href: runHref(v.runId), class: "mono", title: v.runId }, v.runId.slice(0, 8)) : h("span", { class: "muted" }, "—")),
    h("td", { class: "nowrap" }, fmtTime(v.creationTime)),
    h("td", { class: "nowrap" }, v.userId || ""),
    h("td", { class: "text" }, v.description || ""));
}

export async function render(main, params) {
  const name = params.name;
  setTitle(name);
  replace(main, h("p", { class: "loading" }, "Loading…"));
  let model;
  try {
    model = (await registry("GetRegisteredModel", { name })).registeredModel;
  } catch (err) {
    replace(main, h("div", { class: "crumbs" }, h("a", { href: "/models" }, "Models")), errorBox(err, "model-error"));
    return;
  }
  const [versions, events] = await Promise.allSettled([
    fetchVersions(name),
    fetchHistory(name, {
      kinds: [
        "REGISTRY_EVENT_KIND_VERSION_CREATED", "REGISTRY_EVENT_KIND_VERSION_DELETED",
        "REGISTRY_EVENT_KIND_STAGE_TRANSITIONED", "REGISTRY_EVENT_KIND_ALIAS_SET",
        "REGISTRY_EVENT_KIND_ALIAS_DELETED", "REGISTRY_EVENT_KIND_MODEL_RENAMED",
      ],
    }),
  ]);

  const versionBody = versions.status === "fulfilled"
    ? h("table", { class: "data", testid: "versions-table" },
      h("thead", {}, h("tr", {}, ["Version", "Stage", "Status", "Aliases", "Run", "Created", "User", "Description"]
        .map((label) => h("th", { scope: "col" }, label)))),
      h("tbody", {}, versions.value.length
        ? versions.value.map((v) => versionRow(name, v))
        : h("tr", { class: "empty" }, h("td", { colspan: "8" }, "No versions."))))
    : errorBox(versions.reason, "versions-error");
  const historyBody = events.status === "fulfilled"
    ? historyTable(name, events.value, "model-history")
    : errorBox(events.reason, "history-error");

  const count = versions.status === "fulfilled" ? versions.value.length : 0;
  const notice = h("div", { class: "notice-area", testid: "model-notice" });
  const deleteButton = h("button", { type: "button", class: "btn danger", testid: "model-delete" }, "Delete model");
  deleteButton.addEventListener("click", async () => {
    if (!window.confirm(`Delete the registered model ${name} and all its versions? Its history is kept.`)) return;
    deleteButton.disabled = true;
    try {
      await registry("DeleteRegisteredModel", { name });
      window.location.assign("/models");
    } catch (err) {
      deleteButton.disabled = false;
      replace(notice, errorBox(err, "model-error"));
    }
  });
  replace(main,
    h("div", { class: "crumbs" }, h("a", { href: "/models" }, "Models"), " /"),
    h("div", { class: "page-head" },
      h("h1", { testid: "model-name" }, model.name),
      h("span", { class: "subhead" }, `${count} version${count === 1 ? "" : "s"} · created ${fmtTime(model.creationTime)} · updated ${fmtTime(model.lastUpdateTime)}`),
      h("span", { class: "spacer" }),
      deleteButton),
    notice,
    h("div", { class: "grid-2 model-meta" },
      descriptionPanel({
        testid: "model-description",
        text: model.description || "",
        save: (description) => registry("UpdateRegisteredModel", { name, description }),
      }),
      h("section", { class: "panel" },
        h("h2", {}, "Aliases"), h("div", { testid: "model-aliases" }, aliasChips(name, model.aliases)),
        h("h2", { class: "spaced" }, "Tags"), h("div", { testid: "model-tags" }, tagList(model.tags)))),
    h("section", { class: "panel" },
      h("div", { class: "panel-head" }, h("h2", {}, "Versions", h("span", { class: "count muted" }, ` ${count}`))),
      h("div", { class: "table-wrap" }, versionBody)),
    h("section", { class: "panel" },
      h("div", { class: "panel-head" }, h("h2", {}, "History")),
      h("div", { class: "table-wrap" }, historyBody)));
}
