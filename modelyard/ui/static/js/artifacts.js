// A run's artifacts: a lazily expanded tree (ListArtifacts), a preview of the selected file,
// a download link and uploads into the current folder (PUT /files/).
//
// Previews never execute content: text, JSON, YAML and CSV are shown as text nodes; images
// (png/jpg/gif/webp/bmp only) come from a blob: URL of the fetched bytes with an image MIME
// type; HTML and SVG are never previewed (download only). A preview reads at most 1 MiB.

import { artifacts, fetchHead, fileUrl, proxiedRoot, uploadFile } from "./api.js";
import { errorBox, fmtTime, h, replace } from "./dom.js";
import { parseCsv } from "./table.js";

export const PREVIEW_LIMIT = 1 << 20;
const CSV_ROWS = 500;

const IMAGE_TYPES = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  bmp: "image/bmp",
};
const NEVER_INLINE = new Set(["html", "htm", "xhtml", "shtml", "svg", "svgz", "mht", "mhtml"]);
const TEXT_EXTENSIONS = new Set([
  "txt", "text", "log", "out", "err", "md", "markdown", "rst", "yaml", "yml", "toml", "ini",
  "cfg", "conf", "properties", "env", "py", "pyi", "r", "sql", "sh", "bash", "js", "ts", "java",
  "scala", "c", "h", "cpp", "hpp", "go", "rs", "rb", "jl", "xml", "tex", "diff", "patch",
  "ipynb", "jsonl", "ndjson", "lock", "gitignore", "dockerfile", "mlmodel",
]);

/** The lower-case extension of a file name ("" when it has none). */
export function extensionOf(name) {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : "";
}

/** How a file is previewed: mlmodel, image, json, csv, tsv, text, unsafe, or none. */
export function previewKind(name) {
  if (name === "MLmodel") return "mlmodel";
  const ext = extensionOf(name);
  if (IMAGE_TYPES[ext]) return "image";
  if (NEVER_INLINE.has(ext)) return "unsafe";
  if (ext === "json") return "json";
  if (ext === "csv") return "csv";
  if (ext === "tsv") return "tsv";
  if (TEXT_EXTENSIONS.has(ext)) return "text";
  if (!ext) return "maybe-text";
  return "none";
}

function fmtSize(bytes) {
  const n = Number(bytes || 0);
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = n / 1024;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) { value /= 1024; i += 1; }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[i]}`;
}

function looksBinary(bytes) {
  const n = Math.min(bytes.length, 8192);
  for (let i = 0; i < n; i += 1) if (bytes[i] === 0) return true;
  return false;
}

// -- JSON: re-indented without reparsing the values (big numbers keep their digits) -------

/** Pretty-print JSON text that JSON.parse accepts, keeping every token as written. */
export function prettyJson(text) {
  const out = [];
  let depth = 0;
  let i = 0;
  const n = text.length;
  const newline = () => out.push("\n", "  ".repeat(depth));
  while (i < n) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < n && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out.push(text.slice(i, j + 1));
      i = j + 1;
      continue;
    }
    if (c === " " || c === "\t" || c === "\n" || c === "\r") { i += 1; continue; }
    if (c === "{" || c === "[") {
      // an empty object/array stays on one line
      let j = i + 1;
      while (j < n && /\s/.test(text[j])) j += 1;
      if (text[j] === (c === "{" ? "}" : "]")) { out.push(c, text[j]); i = j + 1; continue; }
      out.push(c);
      depth += 1;
      newline();
      i += 1;
      continue;
    }
    if (c === "}" || c === "]") { depth -= 1; newline(); out.push(c); i += 1; continue; }
    if (c === ",") { out.push(","); newline(); i += 1; continue; }
    if (c === ":") { out.push(": "); i += 1; continue; }
    let j = i;
    while (j < n && !/[\s,:{}[\]"]/.test(text[j])) j += 1;
    out.push(text.slice(i, j));
    i = j;
  }
  return out.join("");
}

// -- MLmodel: a strict reader of the signature and flavors blocks -------------------------

function indentOf(line) {
  return line.length - line.trimStart().length;
}

function isBlank(line) {
  return /^\s*(#.*)?$/.test(line);
}

/** The lines under a top-level `key:` (up to the next top-level key), or null. */
function topBlock(lines, key) {
  const start = lines.findIndex((line) => line === `${key}:` || line.startsWith(`${key}: `) || line.startsWith(`${key}:\t`));
  if (start < 0) return null;
  const inline = lines[start].slice(key.length + 1).trim();
  let end = start + 1;
  while (end < lines.length && (isBlank(lines[end]) || indentOf(lines[end]) > 0)) end += 1;
  return { inline, body: lines.slice(start + 1, end) };
}

/**
 * Read one single-quoted YAML scalar that starts on `lines[index]` after `first` (the text
 * following the opening quote); `''` is a quote, a line break folds to a space and blank
 * lines to newlines. Returns {value, next} (the index of the line after the scalar).
 */
function readSingleQuoted(first, lines, index, minIndent) {
  let value = "";
  let blanks = 0;
  let text = first;
  let lineNo = index;
  let firstLine = true;
  for (;;) {
    let piece = "";
    let closed = false;
    let i = 0;
    while (i < text.length) {
      if (text[i] === "'") {
        if (text[i + 1] === "'") { piece += "'"; i += 2; continue; }
        closed = true;
        if (!/^\s*(#.*)?$/.test(text.slice(i + 1))) throw new Error(`unexpected text after a quoted value on line ${lineNo + 1}`);
        break;
      }
      piece += text[i];
      i += 1;
    }
    if (!closed) piece = piece.replace(/[ \t]+$/, "");
    if (firstLine) {
      value = piece;
      firstLine = false;
    } else if (piece === "" && !closed) {
      blanks += 1;
    } else {
      value += blanks ? "\n".repeat(blanks) : " ";
      value += piece;
      blanks = 0;
    }
    if (closed) return { value, next: lineNo + 1 };
    lineNo += 1;
    if (lineNo >= lines.length) throw new Error("a quoted value is not closed");
    const line = lines[lineNo];
    if (line.trim() !== "" && indentOf(line) < minIndent) throw new Error(`line ${lineNo + 1} is not indented inside a quoted value`);
    text = line.trimStart();
  }
}

/**
 * The signature of an MLmodel file as {inputs, outputs, params}, each parsed JSON or null;
 * null when the file has no signature. Throws when the block is not in the form
 * modelyard/MLflow write (single-quoted JSON strings, or null).
 */
export function readMlmodelSignature(text) {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  const block = topBlock(lines, "signature");
  if (!block) return null;
  if (block.inline && block.inline !== "") {
    if (/^(null|~|\{\})$/.test(block.inline)) return null;
    throw new Error(`unexpected signature value ${JSON.stringify(block.inline.slice(0, 40))}`);
  }
  const body = block.body;
  const firstChild = body.find((line) => !isBlank(line));
  if (!firstChild) return null;
  const childIndent = indentOf(firstChild);
  const result = { inputs: null, outputs: null, params: null };
  let i = 0;
  while (i < body.length) {
    const line = body[i];
    if (isBlank(line) || indentOf(line) > childIndent) { i += 1; continue; }
    if (indentOf(line) < childIndent) throw new Error(`bad indentation on signature line ${i + 1}`);
    const match = /^\s*([A-Za-z_]+):(?:[ \t]+(.*))?$/.exec(line);
    if (!match) throw new Error(`cannot read signature line ${JSON.stringify(line.trim().slice(0, 40))}`);
    const [, key, rest = ""] = match;
    const raw = rest.trim();
    let value = null;
    let next = i + 1;
    if (raw.startsWith("'")) {
      const read = readSingleQuoted(rest.trimStart().slice(1), body, i, childIndent + 1);
      value = read.value;
      next = read.next;
    } else if (!/^(null|~|)$/.test(raw)) {
      throw new Error(`signature ${key}: expected a single-quoted JSON string`);
    }
    if (key in result && value !== null) {
      try {
        result[key] = JSON.parse(value);
      } catch (err) {
        throw new Error(`signature ${key} is not JSON: ${err.message}`);
      }
    }
    i = next;
  }
  return result;
}

/** The flavors of an MLmodel file: [{name, details: [[key, value]]}] (scalar details only). */
export function readMlmodelFlavors(text) {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  const block = topBlock(lines, "flavors");
  if (!block) return [];
  const body = block.body.filter((line) => !isBlank(line));
  if (!body.length) return [];
  const flavorIndent = indentOf(body[0]);
  const flavors = [];
  let detailIndent = null;
  for (const line of body) {
    const indent = indentOf(line);
    const match = /^\s*([^:#]+):(?:\s+(.*))?$/.exec(line);
    if (!match) continue;
    if (indent === flavorIndent) {
      flavors.push({ name: match[1].trim(), details: [] });
      detailIndent = null;
    } else if (flavors.length) {
      if (detailIndent === null) detailIndent = indent;
      if (indent === detailIndent && match[2] !== undefined && match[2] !== "") {
        flavors[flavors.length - 1].details.push([match[1].trim(), match[2].trim().replace(/^'(.*)'$/, "$1").replace(/''/g, "'")]);
      }
    }
  }
  return flavors;
}

function typeText(spec) {
  if (!spec || typeof spec !== "object") return String(spec);
  switch (spec.type) {
    case "tensor": return `tensor(${(spec["tensor-spec"] || {}).dtype || "?"})`;
    case "array": return `array<${typeText(spec.items)}>`;
    case "map": return `map<string, ${typeText(spec.values)}>`;
    case "object": {
      const props = Object.entries(spec.properties || {}).map(([k, v]) => `${k}${v && v.required === false ? "?" : ""}: ${typeText(v)}`);
      return `object{${props.join(", ")}}`;
    }
    default: return String(spec.type);
  }
}

function shapeText(shape) {
  return Array.isArray(shape) ? `[${shape.join(", ")}]` : "";
}

/** Rows [part, name, type, shape, optional, default] of a signature {inputs, outputs, params}. */
export function signatureRows(signature) {
  const rows = [];
  for (const part of ["inputs", "outputs"]) {
    const specs = signature[part];
    if (!Array.isArray(specs)) continue;
    specs.forEach((spec, index) => {
      const tensor = spec && spec.type === "tensor";
      const shape = tensor ? shapeText((spec["tensor-spec"] || {}).shape) : "";
      rows.push([part, spec && spec.name !== undefined ? String(spec.name) : `#${index}`, typeText(spec), shape,
        spec && spec.required === false ? "optional" : "required", ""]);
    });
  }
  if (Array.isArray(signature.params)) {
    for (const spec of signature.params) {
      rows.push(["params", String(spec.name), String(spec.type), spec.shape ? shapeText(spec.shape) : "",
        "optional", spec.default === undefined ? "" : JSON.stringify(spec.default)]);
    }
  }
  return rows;
}

/** The signature as a table (testid given), or a note when there is none. */
export function signatureTable(signature, testid = "mlmodel-signature") {
  const rows = signature ? signatureRows(signature) : [];
  if (!rows.length) return h("p", { class: "muted", testid }, "No signature.");
  return h("table", { class: "data signature", testid },
    h("thead", {}, h("tr", {}, ["Part", "Name", "Type", "Shape", "Optional", "Default"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows.map((row) => h("tr", { class: `part-${row[0]}` }, row.map((cell, i) => h("td", { class: i === 0 ? "muted" : undefined }, cell))))));
}

// -- the browser -----------------------------------------------------------------------

/** The artifacts section of a run page: tree, preview, download and upload. */
export function artifactBrowser(run) {
  const info = run.info || {};
  const root = proxiedRoot(info.artifactUri);
  const section = h("section", { class: "panel artifacts", testid: "run-artifacts" }, h("h2", {}, "Artifacts"));
  if (root === null) {
    section.appendChild(h("p", { class: "notice", testid: "artifacts-elsewhere" },
      "This run's artifacts are stored at ", h("code", {}, info.artifactUri || "(no location)"),
      ". This server does not proxy that location: read them from there with the client."));
    return section;
  }

  const state = { folder: "", expanded: new Set(), selected: null, objectUrl: null, seq: 0 };
  const tree = h("ul", { class: "tree", testid: "artifact-tree", role: "tree" });
  const folderLabel = h("code", { testid: "artifact-folder" }, "/");
  const upload = h("input", { type: "file", multiple: true, testid: "artifact-upload", "aria-label": "Upload files" });
  const uploadStatus = h("div", { class: "upload-status", testid: "artifact-upload-status" });
  const preview = h("div", { class: "preview", testid: "artifact-preview" }, h("p", { class: "muted" }, "Select a file to preview it."));
  section.appendChild(h("div", { class: "artifact-layout" },
    h("div", { class: "tree-pane" },
      tree,
      h("div", { class: "upload" },
        h("label", { class: "upload-label" }, "Upload into ", folderLabel, h("br"), upload),
        uploadStatus)),
    preview));

  const full = (rel) => (rel ? `${root}/${rel}` : root);
  const rel = (path) => (path.startsWith(`${root}/`) ? path.slice(root.length + 1) : path);

  function setFolder(folder) {
    state.folder = folder;
    folderLabel.textContent = `/${folder}`;
  }

  async function list(folder) {
    const response = await artifacts("ListArtifacts", { path: full(folder) });
    return response.files || [];
  }

  async function fill(ul, folder) {
    let files;
    try {
      files = await list(folder);
    } catch (err) {
      replace(ul, h("li", {}, errorBox(err, "artifact-error")));
      return;
    }
    const dirs = files.filter((f) => f.isDir);
    const plain = files.filter((f) => !f.isDir);
    const fragment = document.createDocumentFragment();
    for (const entry of [...dirs, ...plain]) fragment.appendChild(node(entry));
    if (!files.length) fragment.appendChild(h("li", { class: "muted empty" }, folder ? "(empty folder)" : "No artifacts."));
    replace(ul, fragment);
    await Promise.all([...ul.children].map((li) => li.expandIfOpen && li.expandIfOpen()));
  }

  function node(entry) {
    const path = rel(entry.path);
    const name = path.slice(path.lastIndexOf("/") + 1);
    const isDir = Boolean(entry.isDir);
    const caret = h("span", { class: "caret" }, isDir ? "▸" : "");
    const button = h("button", {
      type: "button", class: `node ${isDir ? "dir" : "file"}`, testid: "artifact-node", role: "treeitem",
      dataset: isDir ? { path, dir: "true" } : { path }, title: path,
    }, caret, h("span", { class: "node-name" }, name), isDir ? null : h("span", { class: "size" }, fmtSize(entry.size)));
    const li = h("li", {}, button);
    if (!isDir) {
      button.addEventListener("click", () => select(path, entry, button));
      return li;
    }
    const children = h("ul", { class: "tree-children hidden", role: "group" });
    li.appendChild(children);
    let loaded = false;
    async function open() {
      children.classList.remove("hidden");
      caret.textContent = "▾";
      button.setAttribute("aria-expanded", "true");
      state.expanded.add(path);
      if (!loaded) {
        loaded = true;
        replace(children, h("li", { class: "muted" }, "Loading…"));
        await fill(children, path);
      }
    }
    function close() {
      children.classList.add("hidden");
      caret.textContent = "▸";
      button.setAttribute("aria-expanded", "false");
      state.expanded.delete(path);
    }
    button.setAttribute("aria-expanded", "false");
    button.addEventListener("click", () => {
      markSelected(button);
      setFolder(path);
      if (children.classList.contains("hidden")) open(); else close();
    });
    li.expandIfOpen = () => (state.expanded.has(path) ? open() : null);
    return li;
  }

  function markSelected(button) {
    for (const b of tree.querySelectorAll(".node.selected")) b.classList.remove("selected");
    button.classList.add("selected");
  }

  async function select(path, entry, button) {
    markSelected(button);
    setFolder(path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "");
    state.selected = path;
    const seq = ++state.seq;
    if (state.objectUrl) { URL.revokeObjectURL(state.objectUrl); state.objectUrl = null; }
    const name = path.slice(path.lastIndexOf("/") + 1);
    const body = h("div", { class: "preview-body" }, h("p", { class: "muted" }, "Loading…"));
    replace(preview,
      h("div", { class: "preview-head" },
        h("code", { class: "preview-path", testid: "artifact-preview-path" }, path),
        h("span", { class: "muted" }, fmtSize(entry.size)),
        entry.modifiedTime && entry.modifiedTime !== "0" ? h("span", { class: "muted" }, fmtTime(entry.modifiedTime)) : null,
        h("span", { class: "spacer" }),
        h("a", { class: "btn small", href: fileUrl(full(path)), download: name, testid: "artifact-download" }, "Download")),
      body);
    try {
      const content = await renderPreview(name, full(path), Number(entry.size || 0));
      if (seq === state.seq) replace(body, content);
    } catch (err) {
      if (seq === state.seq) replace(body, errorBox(err, "artifact-preview-error"));
    }
  }

  async function renderPreview(name, fullPath, size) {
    let kind = previewKind(name);
    if (kind === "unsafe") {
      return h("p", { class: "notice", testid: "artifact-no-preview" },
        "HTML and SVG files are not shown here, so that nothing in them can run. Download the file to open it.");
    }
    if (kind === "none") {
      return h("p", { class: "notice", testid: "artifact-no-preview" }, "No preview for this type of file. Download it to open it.");
    }
    if (kind === "image" && size > PREVIEW_LIMIT) {
      return h("p", { class: "notice", testid: "artifact-no-preview" }, `This image is larger than ${fmtSize(PREVIEW_LIMIT)}: download it to view it.`);
    }
    const head = await fetchHead(fullPath, PREVIEW_LIMIT);
    const note = head.truncated ? h("p", { class: "muted truncated" }, `Showing the first ${fmtSize(head.bytes.length)} of ${fmtSize(head.size)}.`) : null;
    if (kind === "image") {
      const blob = new Blob([head.bytes], { type: IMAGE_TYPES[extensionOf(name)] });
      state.objectUrl = URL.createObjectURL(blob);
      return h("div", { class: "image-frame" }, h("img", { src: state.objectUrl, alt: name, testid: "artifact-preview-image" }));
    }
    if (kind === "maybe-text") {
      if (looksBinary(head.bytes)) return h("p", { class: "notice", testid: "artifact-no-preview" }, "This looks like a binary file: download it to open it.");
      kind = "text";
    }
    if (looksBinary(head.bytes)) {
      return h("p", { class: "notice", testid: "artifact-no-preview" }, "This file holds binary data: download it to open it.");
    }
    const text = new TextDecoder("utf-8").decode(head.bytes);
    const pre = (content) => h("pre", { class: "text-preview", testid: "artifact-preview-text" }, content);
    if (kind === "json") {
      if (!head.truncated) {
        try {
          JSON.parse(text);
          return h("div", {}, pre(prettyJson(text)));
        } catch (_) {
          return h("div", {}, h("p", { class: "muted" }, "Not valid JSON; shown as text."), pre(text));
        }
      }
      return h("div", {}, note, pre(text));
    }
    if (kind === "csv" || kind === "tsv") {
      const { rows, more } = parseCsv(text, { maxRows: CSV_ROWS + 1, complete: !head.truncated, delimiter: kind === "tsv" ? "\t" : "," });
      if (!rows.length) return pre(text);
      const [header, ...data] = rows;
      const width = Math.max(...rows.map((r) => r.length));
      const cols = Array.from({ length: width }, (_, i) => (header[i] !== undefined ? header[i] : ""));
      return h("div", {}, note,
        h("div", { class: "table-wrap" }, h("table", { class: "data csv", testid: "artifact-preview-table" },
          h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", {}, data.slice(0, CSV_ROWS).map((row) => h("tr", {}, cols.map((_, i) => h("td", {}, row[i] !== undefined ? row[i] : ""))))))),
        more || data.length > CSV_ROWS ? h("p", { class: "muted" }, `Showing the first ${Math.min(CSV_ROWS, data.length)} rows.`) : null);
    }
    if (kind === "mlmodel") {
      const flavors = readMlmodelFlavors(text);
      let signaturePart;
      try {
        signaturePart = signatureTable(readMlmodelSignature(text));
      } catch (err) {
        signaturePart = h("p", { class: "error", testid: "mlmodel-signature-error" }, `Could not read the signature: ${err.message}`);
      }
      return h("div", { class: "mlmodel" },
        h("h3", {}, "Flavors"),
        flavors.length
          ? h("ul", { class: "flavors", testid: "mlmodel-flavors" }, flavors.map((f) => h("li", {},
            h("strong", {}, f.name),
            f.details.length ? h("span", { class: "muted" }, " ", f.details.map(([k, v]) => `${k}: ${v}`).join(" · ")) : null)))
          : h("p", { class: "muted", testid: "mlmodel-flavors" }, "No flavors."),
        h("h3", {}, "Signature"),
        signaturePart,
        h("h3", {}, "MLmodel"),
        note,
        pre(text));
    }
    return h("div", {}, note, pre(text));
  }

  upload.addEventListener("change", async () => {
    const files = [...upload.files];
    if (!files.length) return;
    const folder = state.folder;
    replace(uploadStatus, h("span", { class: "muted" }, `Uploading ${files.length} file${files.length === 1 ? "" : "s"}…`));
    const done = [];
    for (const file of files) {
      const target = folder ? `${folder}/${file.name}` : file.name;
      try {
        await uploadFile(full(target), file);
        done.push(target);
      } catch (err) {
        replace(uploadStatus, errorBox(err, "artifact-upload-error"));
        upload.value = "";
        await refresh();
        return;
      }
    }
    upload.value = "";
    replace(uploadStatus, h("span", { class: "ok" }, `Uploaded ${done.join(", ")}.`));
    if (folder) state.expanded.add(folder);
    await refresh();
  });

  async function refresh() {
    await fill(tree, "");
    if (state.selected) {
      const again = [...tree.querySelectorAll("[data-testid=artifact-node]")].find((b) => b.dataset.path === state.selected);
      if (again) again.classList.add("selected");
    }
  }

  refresh();
  return section;
}

