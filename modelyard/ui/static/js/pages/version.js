// /models/<name>/versions/<v>: one model version: stage, status, source, lineage back to its
// run (experiment, run, git commit, parent runs), signature as a table, recorded files, and
// the controls: stage transition (with archive-existing), aliases (set / remove), the
// description and deleting the version (after a confirm). After a change the page reloads its
// data, so the history shows the new event.

import { fileUrl, proxiedRoot, registry } from "../api.js";
import { descriptionPanel } from "../editable.js";
import { clear, errorBox, fmtNumber, fmtTime, h, replace, setTitle } from "../dom.js";
import {
  STAGES, aliasChips, fetchHistory, historyTable, modelHref, runHref, stageName, statusText, tagList, versionHref,
} from "./model.js";

// -- signature -------------------------------------------------------------------------------

/** A column type of MLflow's schema JSON as text: double, array<long>, object{a: double}... */
export function typeText(spec) {
  if (!spec || typeof spec !== "object") return spec === undefined || spec === null ? "" : String(spec);
  switch (spec.type) {
    case "array":
      return `array<${typeText(spec.items)}>`;
    case "map":
      return `map<string, ${typeText(spec.values)}>`;
    case "object": {
      const props = Object.entries(spec.properties || {}).map(([key, prop]) =>
        `${key}${prop && prop.required === false ? "?" : ""}: ${typeText(prop)}`);
      return `object{${props.join(", ")}}`;
    }
    case "tensor": {
      const tensor = spec["tensor-spec"] || {};
      return `tensor ${tensor.dtype || ""}`.trim();
    }
    default:
      return String(spec.type ?? "");
  }
}

function shapeText(shape) {
  return Array.isArray(shape) ? `(${shape.join(", ")}${shape.length === 1 ? "," : ""})` : "";
}

/** Rows [part, name, type, shape, required/default] of one signature part (JSON text). */
export function signatureRows(part, json) {
  if (!json) return [];
  let specs;
  try {
    specs = JSON.parse(json);
  } catch (_) {
    return [[part, "", "(unreadable JSON)", "", ""]];
  }
  if (!Array.isArray(specs)) return [[part, "", "(not a list of columns)", "", ""]];
  return specs.map((spec) => {
    const s = spec && typeof spec === "object" ? spec : {};
    const name = s.name === undefined || s.name === null ? "" : String(s.name);
    if (part === "params") {
      const dflt = s.default === undefined ? "" : `default ${JSON.stringify(s.default)}`;
      return [part, name, typeText(s), shapeText(s.shape), dflt];
    }
    if (s.type === "tensor") return [part, name, typeText(s), shapeText((s["tensor-spec"] || {}).shape), ""];
    return [part, name, typeText(s), "", s.required === false ? "optional" : "required"];
  });
}

/** The signature table (inputs, outputs, params) or a note when there is none. */
export function signatureTable(signature, testid) {
  const rows = signature
    ? [...signatureRows("inputs", signature.inputs), ...signatureRows("outputs", signature.outputs), ...signatureRows("params", signature.params)]
    : [];
  if (!rows.length) return h("p", { class: "muted", testid }, "No signature recorded for this model.");
  return h("table", { class: "data signature-table", testid },
    h("thead", {}, h("tr", {}, ["Part", "Name", "Type", "Shape", "Required / default"].map((label) => h("th", { scope: "col" }, label)))),
    h("tbody", {}, rows.map(([part, name, type, shape, req], i) => h("tr", {
      testid: "signature-row", class: i === 0 || rows[i - 1][0] !== part ? `part-start part-${part}` : `part-${part}`,
    },
    h("td", { class: "sig-section" }, i === 0 || rows[i - 1][0] !== part ? part : ""),
    h("td", { class: "mono" }, name || h("span", { class: "muted" }, "—")),
    h("td", { class: "mono" }, type),
    h("td", { class: "mono" }, shape),
    h("td", {}, req)))));
}

// -- page ------------------------------------------------------------------------------------------

function kvRows(pairs) {
  return h("table", { class: "data kv" }, h("tbody", {}, pairs.filter(Boolean).map(([key, value]) =>
    h("tr", {}, h("th", { scope: "row" }, key), h("td", {}, value)))));
}

function runLabel(run) {
  return (run.info && (run.info.runName || run.info.runId)) || "";
}

function bytes(n) {
  const value = Number(n || 0);
  if (value < 1024) return `${value} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = value / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

function lineageSection(name, mv, lineage) {
  if (!lineage) return h("p", { class: "muted" }, "Lineage unavailable.");
  const { run, experiment, parentRuns, copiedFrom } = lineage;
  const tags = (run && run.data && run.data.tags) || {};
  const commit = tags["mlflow.source.git.commit"];
  const rows = [
    experiment ? ["Experiment", h("a", { href: `/experiments/${encodeURIComponent(experiment.experimentId)}`, testid: "lineage-experiment" }, experiment.name)] : null,
    run ? ["Run", h("span", {}, h("a", { href: runHref(run.info.runId), testid: "lineage-run" }, runLabel(run)), " ", h("span", { class: "mono muted" }, run.info.runId))] : ["Run", h("span", { class: "muted" }, "No run: registered from a model source.")],
    run ? ["Run status", (run.info.status || "").replace("RUN_STATUS_", "").toLowerCase()] : null,
    run ? ["Git commit", commit ? h("code", { testid: "lineage-git-commit", class: "wrap-anywhere" }, commit) : h("span", { class: "muted" }, "—")] : null,
    run && tags["mlflow.source.name"] ? ["Source", h("span", { class: "wrap-anywhere" }, tags["mlflow.source.name"])] : null,
    ["Parent runs", parentRuns && parentRuns.length
      ? h("span", { testid: "lineage-parents" }, parentRuns.flatMap((p, i) => [i ? " ← " : "", h("a", { href: runHref(p.info.runId) }, runLabel(p))]))
      : h("span", { class: "muted" }, "none")],
    copiedFrom ? ["Copied from", h("a", { href: versionHref(copiedFrom.name, copiedFrom.version) }, `${copiedFrom.name} v${copiedFrom.version}`)] : null,
  ];
  const params = run && run.data && run.data.params ? Object.entries(run.data.params).sort(([a], [b]) => a.localeCompare(b)) : [];
  const metrics = run && run.data && run.data.metrics ? [...run.data.metrics].sort((a, b) => a.key.localeCompare(b.key)) : [];
  return h("div", { testid: "version-lineage" },
    kvRows(rows),
    params.length || metrics.length
      ? h("details", { class: "lineage-details" },
        h("summary", {}, `Run params (${params.length}) and metrics (${metrics.length})`),
        h("div", { class: "grid-2" },
          kvRows(params.map(([k, v]) => [k, v])),
          kvRows(metrics.map((m) => [m.key, fmtNumber(typeof m.value === "string" ? m.value : Number(m.value))]))))
      : null);
}

function filesSection(mv, files) {
  if (!files) return h("p", { class: "muted" }, "File list unavailable.");
  const root = proxiedRoot(mv.storageLocation);
  const list = files.files || [];
  return h("div", {},
    h("p", { class: "muted" }, `${list.length} file${list.length === 1 ? "" : "s"}, content digest `,
      h("code", { class: "wrap-anywhere" }, files.contentDigest || mv.contentDigest || "")),
    root ? null : h("p", { class: "muted" }, "The files live at the storage location above; this server does not proxy them."),
    list.length ? h("div", { class: "table-wrap" }, h("table", { class: "data", testid: "version-files" },
      h("thead", {}, h("tr", {}, ["Path", "Size", "SHA-256"].map((label) => h("th", { scope: "col" }, label)))),
      h("tbody", {}, list.map((f) => h("tr", {},
        h("td", { class: "text" }, root
          ? h("a", { href: fileUrl(`${root}/${f.path}`), download: f.path.split("/").pop() }, f.path)
          : f.path),
        h("td", { class: "num" }, bytes(f.size)),
        h("td", { class: "mono", title: f.sha256 }, (f.sha256 || "").slice(0, 16))))))) : null);
}

export async function render(main, params) {
  const name = params.name;
  const version = params.version;
  setTitle(`${name} v${version}`);
  const errorArea = h("div", { class: "notice-area", testid: "version-error-area" });
  let busy = false;

  const showError = (err) => replace(errorArea, errorBox(err, "version-error"));

  async function act(button, work) {
    if (busy) return;
    busy = true;
    button.disabled = true;
    try {
      await work();
      clear(errorArea);
      await load();
    } catch (err) {
      showError(err);
    } finally {
      busy = false;
      button.disabled = false;
    }
  }

  async function load() {
    const v = String(version);
    let mv;
    try {
      mv = (await registry("GetModelVersion", { name, version: v })).modelVersion;
    } catch (err) {
      replace(main,
        h("div", { class: "crumbs" }, h("a", { href: "/models" }, "Models"), " / ", h("a", { href: modelHref(name) }, name), " /"),
        errorBox(err, "version-error"));
      return;
    }
    const [lineage, events, files] = await Promise.allSettled([
      registry("GetModelVersionLineage", { name, version: v }),
      fetchHistory(name, {
        version: v,
        kinds: ["REGISTRY_EVENT_KIND_VERSION_CREATED", "REGISTRY_EVENT_KIND_STAGE_TRANSITIONED",
          "REGISTRY_EVENT_KIND_ALIAS_SET", "REGISTRY_EVENT_KIND_ALIAS_DELETED"],
      }),
      registry("ListModelVersionFiles", { name, version: v }),
    ]);

    // stage controls
    const stageSelect = h("select", { class: "input", testid: "stage-select", "aria-label": "Stage" },
      STAGES.map(([label]) => h("option", { value: label, selected: label === stageName(mv.currentStage) }, label)));
    const archive = h("input", { type: "checkbox", testid: "archive-existing" });
    const archiveLabel = h("label", { class: "check" }, archive,
      "Archive the other versions in this stage ", h("span", { class: "muted" }, "(Staging and Production only)"));
    const archiveApplies = () => stageSelect.value === "Staging" || stageSelect.value === "Production";
    const syncArchive = () => archiveLabel.classList.toggle("muted", !archiveApplies());
    stageSelect.addEventListener("change", syncArchive);
    syncArchive();
    const stageApply = h("button", { type: "button", class: "btn primary", testid: "stage-apply" }, "Apply");
    stageApply.addEventListener("click", () => act(stageApply, () => registry("TransitionModelVersionStage", {
      name, version: v,
      stage: (STAGES.find(([label]) => label === stageSelect.value) || STAGES[0])[1],
      archiveExistingVersions: archive.checked && archiveApplies(),
    })));

    // alias controls
    const aliasInput = h("input", {
      type: "text", class: "input", testid: "alias-input", placeholder: "alias, e.g. champion",
      "aria-label": "Alias", maxlength: "255", autocomplete: "off",
    });
    const aliasSet = h("button", { type: "button", class: "btn", testid: "alias-set" }, "Set alias");
    const setAlias = () => {
      const alias = aliasInput.value.trim();
      if (!alias) { showError(new Error("Type an alias first.")); return; }
      act(aliasSet, () => registry("SetRegisteredModelAlias", { name, alias, version: v }));
    };
    aliasSet.addEventListener("click", setAlias);
    aliasInput.addEventListener("keydown", (ev) => { if (ev.key === "Enter") setAlias(); });
    const chips = (mv.aliases || []).slice().sort().map((alias) => {
      const del = h("button", { type: "button", testid: "alias-delete", title: `Remove alias ${alias}`, "aria-label": `Remove alias ${alias}` }, "×");
      del.addEventListener("click", () => act(del, () => registry("DeleteRegisteredModelAlias", { name, alias })));
      return h("span", { class: "chip chip-alias", testid: "alias-chip", dataset: { alias } }, `@${alias}`, del);
    });

    const lineageValue = lineage.status === "fulfilled" ? lineage.value : null;
    const runName = lineageValue && lineageValue.run ? runLabel(lineageValue.run) : "";
    const overview = [
      ["Stage", h("span", { testid: "version-stage", class: `stage stage-${stageName(mv.currentStage).toLowerCase()}` }, stageName(mv.currentStage))],
      ["Status", statusText(mv.status, mv.statusMessage), mv.statusMessage ? h("span", { class: "muted" }, ` ${mv.statusMessage}`) : null],
      ["Aliases", aliasChips(name, mv.aliases || [])],
      ["Source", h("code", { testid: "version-source", class: "wrap-anywhere" }, mv.source || "")],
      ["Run", mv.runId
        ? h("a", { href: runHref(mv.runId), testid: "version-run-link" }, runName || mv.runId)
        : h("span", { class: "muted" }, "—")],
      ["Storage location", h("code", { class: "wrap-anywhere" }, mv.storageLocation || "")],
      ["Created", `${fmtTime(mv.creationTime)}${mv.userId ? ` by ${mv.userId}` : ""}`],
      ["Last updated", fmtTime(mv.lastUpdateTime)],
      mv.runLink ? ["Run link", h("span", { class: "wrap-anywhere" }, mv.runLink)] : null,
      mv.inputExamplePath ? ["Input example", h("code", {}, mv.inputExamplePath)] : null,
      ["Tags", tagList(mv.tags)],
    ].map((row) => row && [row[0], row.length > 2 ? h("span", {}, row.slice(1)) : row[1]]);

    const deleteButton = h("button", { type: "button", class: "btn danger", testid: "version-delete" }, "Delete version");
    deleteButton.addEventListener("click", async () => {
      if (!window.confirm(`Delete version ${mv.version} of ${name}? Its number is never reused, and its files are no longer protected.`)) return;
      deleteButton.disabled = true;
      try {
        await registry("DeleteModelVersion", { name, version: String(mv.version) });
        window.location.assign(modelHref(name));
      } catch (err) {
        deleteButton.disabled = false;
        showError(err);
      }
    });

    setTitle(`${name} v${mv.version}`);
    replace(main,
      h("div", { class: "crumbs" }, h("a", { href: "/models" }, "Models"), " / ", h("a", { href: modelHref(name), testid: "version-model-link" }, name), " /"),
      h("div", { class: "page-head" },
        h("h1", { testid: "version-title" }, `${name} v${mv.version}`),
        h("span", { class: "spacer" }),
        deleteButton),
      errorArea,
      h("div", { class: "version-layout" },
        h("div", { class: "stack" },
          h("section", { class: "panel" }, h("h2", {}, "Overview"), kvRows(overview)),
          descriptionPanel({
            testid: "version-description",
            text: mv.description || "",
            save: (description) => registry("UpdateModelVersion", { name, version: String(mv.version), description }),
          }),
          h("section", { class: "panel" }, h("h2", {}, "Lineage"),
            lineage.status === "fulfilled" ? lineageSection(name, mv, lineage.value) : errorBox(lineage.reason, "lineage-error")),
          h("section", { class: "panel" }, h("h2", {}, "Signature"), signatureTable(mv.signature, "version-signature")),
          h("section", { class: "panel" }, h("h2", {}, "Files"),
            files.status === "fulfilled" ? filesSection(mv, files.value) : errorBox(files.reason, "files-error"))),
        h("div", { class: "stack" },
          h("section", { class: "panel" },
            h("h2", {}, "Stage"),
            h("div", { class: "control-row" }, h("label", { class: "inline" }, "Move to ", stageSelect), stageApply),
            h("div", { class: "control-row" }, archiveLabel)),
          h("section", { class: "panel" },
            h("h2", {}, "Aliases"),
            h("div", { class: "chips alias-chips", testid: "version-aliases" }, chips.length ? chips : h("span", { class: "muted" }, "No aliases.")),
            h("div", { class: "control-row" }, aliasInput, aliasSet)),
          h("section", { class: "panel" },
            h("h2", {}, "History"),
            events.status === "fulfilled"
              ? h("div", { class: "table-wrap" }, historyTable(name, events.value, "version-history"))
              : errorBox(events.reason, "history-error")))));
  }

  replace(main, h("p", { class: "loading" }, "Loading…"));
  await load();
}
