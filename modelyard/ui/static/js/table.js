// Table helpers shared by the pages: key/value tables, CSV in and out, and downloads of text
// made in the browser. Cells are text nodes or DOM nodes, never HTML.

import { h } from "./dom.js";

/** A small two-column key/value table (a <table class="data props">). */
export function kvTable(pairs, attrs = {}) {
  const body = h("tbody", {}, pairs.map(([key, value]) => h("tr", {}, h("th", { scope: "row" }, key), h("td", {}, value))));
  const { class: extra, ...rest } = attrs;
  return h("table", { ...rest, class: `data props ${extra || ""}`.trim() }, body);
}

// -- CSV out -------------------------------------------------------------------------------

const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV cell: a value a spreadsheet would read as a formula (starting with = + - @ TAB or
 * CR) gets a leading apostrophe; then RFC 4180 quoting (a cell holding a comma, quote, CR
 * or LF is wrapped in quotes with inner quotes doubled).
 */
export function csvCell(value) {
  let text = value === undefined || value === null ? "" : String(value);
  if (FORMULA_START.test(text)) text = "'" + text;
  if (/[",\r\n]/.test(text)) text = '"' + text.replace(/"/g, '""') + '"';
  return text;
}

/**
 * CSV text (CRLF line ends) of a header row and data rows, starting with a UTF-8 byte order
 * mark so that spreadsheets read non-ASCII text right (`bom: false` leaves it out).
 */
export function toCsv(header, rows, { bom = true } = {}) {
  const lines = [header.map(csvCell).join(",")];
  for (const row of rows) lines.push(row.map(csvCell).join(","));
  return (bom ? "\ufeff" : "") + lines.join("\r\n") + "\r\n";
}

/** Let the browser save a Blob (or text) as a file called `filename`. */
export function downloadBlob(filename, data, type = "text/csv;charset=utf-8") {
  const blob = data instanceof Blob ? data : new Blob([data], { type });
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: filename, class: "hidden" });
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// -- CSV in --------------------------------------------------------------------------------

/**
 * Parse CSV text (RFC 4180: quoted cells with doubled quotes, CRLF or LF line ends) into
 * rows of strings, stopping after `maxRows` rows. `complete` says whether the text ends
 * with a whole row (false for the head of a larger file: its last partial row is dropped).
 * Returns {rows, more} where more is true when rows were left out.
 */
export function parseCsv(text, { maxRows = 1000, complete = true, delimiter = "," } = {}) {
  const rows = [];
  let row = [];
  let cell = "";
  let quoted = false;
  let i = 0;
  const n = text.length;
  let more = false;
  if (text.charCodeAt(0) === 0xfeff) i = 1; // byte order mark
  while (i < n) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') { cell += '"'; i += 2; continue; }
        quoted = false; i += 1; continue;
      }
      cell += c; i += 1; continue;
    }
    if (c === '"' && cell === "") { quoted = true; i += 1; continue; }
    if (c === delimiter) { row.push(cell); cell = ""; i += 1; continue; }
    if (c === "\r" || c === "\n") {
      row.push(cell); cell = "";
      rows.push(row); row = [];
      if (c === "\r" && text[i + 1] === "\n") i += 1;
      i += 1;
      if (rows.length >= maxRows) { more = i < n; return { rows, more }; }
      continue;
    }
    cell += c; i += 1;
  }
  if (complete && (cell !== "" || row.length)) { row.push(cell); rows.push(row); }
  else if (!complete && (cell !== "" || row.length)) more = true;
  return { rows, more };
}
