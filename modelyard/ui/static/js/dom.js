// Building the page: DOM nodes with text, never HTML strings. Every value from the server
// (run names, tags, params, file contents) goes in as a text node or an attribute value, so
// `<img src=x onerror=alert(1)>` shows as those characters.

/**
 * h("a", {href: "/x", class: "link", onclick: fn, dataset: {testid: "t"}}, "text", child)
 * Children: strings and numbers become text nodes; null/undefined/false are skipped; arrays
 * are flattened.
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "testid") node.dataset.testid = value;
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "style") {
      throw new Error("inline styles are blocked by the CSP: use a class");
    } else if (key === "value" || key === "checked" || key === "disabled" || key === "selected") {
      node[key] = value;
    } else {
      if (/^(href|src|action)$/.test(key) && /^\s*(javascript|data|vbscript):/i.test(String(value))) {
        throw new Error(`refusing a ${key} with a script URL`);
      }
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else if (child instanceof Node) node.appendChild(child);
    else node.appendChild(document.createTextNode(String(child)));
  }
}

/** Remove every child of a node; return it. */
export function clear(node) {
  node.replaceChildren();
  return node;
}

/** Replace a node's children. */
export function replace(node, ...children) {
  clear(node);
  append(node, children);
  return node;
}

/** An error box for an ApiError or Error (the message as text). */
export function errorBox(err, testid = "error") {
  const title = err && err.status ? `${err.status}${err.reason && err.reason !== err.status ? " (" + err.reason + ")" : ""}` : "Error";
  return h("div", { class: "error", role: "alert", testid }, h("strong", {}, title), " ", err && err.message ? err.message : String(err));
}

/** "2026-11-23 17:40:02" in local time from epoch milliseconds (number or int64 string). */
export function fmtTime(ms) {
  if (ms === undefined || ms === null || ms === "") return "";
  const d = new Date(Number(ms));
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** "1h 2m 3s" / "4.2s" from a duration in milliseconds. */
export function fmtDuration(ms) {
  if (ms === undefined || ms === null || Number.isNaN(ms)) return "";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  const parts = [];
  if (s >= 86400) parts.push(`${Math.floor(s / 86400)}d`);
  if (s >= 3600) parts.push(`${Math.floor((s % 86400) / 3600)}h`);
  parts.push(`${Math.floor((s % 3600) / 60)}m`);
  parts.push(`${s % 60}s`);
  return parts.join(" ");
}

/** A metric value as people read it: up to 6 significant digits. */
export function fmtNumber(value) {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value; // "NaN", "Infinity"
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs >= 1e6 || abs < 1e-4)) return value.toExponential(4);
  return String(Number(value.toPrecision(6)));
}

/** Page title: "<what> · modelyard". */
export function setTitle(what) {
  document.title = what ? `${what} · modelyard` : "modelyard";
}
