// Our own canvas charts (no third-party code): line charts of metric histories over step or
// time, and scatter charts of one value per run.
//
// - Each chart draws on two stacked canvases inside `.chart-plot`: the base (axes, grid,
//   series) is drawn once per size/option change, the overlay (crosshair, hover markers) on
//   every pointer move, so hovering never re-strokes the series.
// - Drawing is O(n): one path per series, one pass over its points. Non-finite values (NaN,
//   ±Infinity) are skipped and break the line. Hover finds the nearest point of each series by
//   binary search on x.
// - Every text (series names, labels, tick labels) is a text node or canvas fillText: nothing
//   is parsed as HTML. Sizes come from CSS classes; the only style writes are CSSOM
//   (`el.style.left = ...`) for the tooltip position, which a `style-src 'self'` CSP allows.
// - After each draw the container gets data-drawn="true", data-series, data-points, and the
//   page gets performance.mark("modelyard:chart-drawn").

import { fmtNumber, fmtTime, h, replace } from "./dom.js";

/** Series colors: series i uses PALETTE[i % 10]; CSS classes swatch-0..9 match them. */
export const PALETTE = Object.freeze([
  "#2563eb", // blue
  "#ea580c", // orange
  "#16a34a", // green
  "#dc2626", // red
  "#9333ea", // purple
  "#0891b2", // cyan
  "#db2777", // pink
  "#65a30d", // lime
  "#92400e", // brown
  "#475569", // slate
]);

const FONT = "12px system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";
const INK = "#334155";
const MUTED = "#64748b";
const GRID = "#e2e8f0";
const AXIS = "#94a3b8";
const MARK = "modelyard:chart-drawn";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The palette index of series/point i (an explicit colorIndex wins). */
function colorIndexOf(item, i) {
  const c = item && Number.isInteger(item.colorIndex) ? item.colorIndex : i;
  return ((c % PALETTE.length) + PALETTE.length) % PALETTE.length;
}

/** A color swatch element (class swatch-<i>). */
export function swatch(index) {
  return h("span", { class: `swatch swatch-${colorIndexOf(null, index)}`, "aria-hidden": "true" });
}

// -- numbers and ticks -----------------------------------------------------------------------

const SI = [
  [1e12, "T"],
  [1e9, "G"],
  [1e6, "M"],
  [1e3, "k"],
];

/** The exponent of 10 of a positive step (0.05 -> -2). */
function decade(value) {
  return Math.floor(Math.log10(value) + 1e-9);
}

/** 1-2-5 ticks covering [lo, hi] with about `count` intervals: {step, ticks}. */
export function niceTicks(lo, hi, count) {
  if (!(hi > lo)) return { step: 0, ticks: [lo] };
  const raw = (hi - lo) / Math.max(1, count);
  const base = 10 ** decade(raw);
  const mult = [1, 2, 5, 10].find((m) => m * base >= raw - 1e-12 * raw) || 10;
  const step = mult * base;
  const first = Math.ceil(lo / step - 1e-9);
  const last = Math.floor(hi / step + 1e-9);
  const ticks = [];
  for (let k = first; k <= last; k++) ticks.push(cleanFloat(k * step, step));
  return { step, ticks };
}

/** Drop float noise (0.30000000000000004) at the precision of the step. */
function cleanFloat(value, step) {
  const digits = Math.max(0, -decade(step)) + 2;
  return digits > 15 ? value : Number(value.toFixed(Math.min(digits, 20)));
}

/** A tick label on a linear axis: SI suffixes for large values, exponents for tiny ones. */
export function fmtTick(value, step, maxAbs) {
  if (value === 0) return "0";
  if (maxAbs >= 1e15 || maxAbs < 1e-3) {
    const exp = decade(Math.abs(value));
    const sig = Math.max(0, Math.min(6, exp - decade(step)));
    return trimExp(value.toExponential(sig));
  }
  for (const [scale, suffix] of SI) {
    if (maxAbs >= 1e4 && maxAbs >= scale) {
      const decimals = Math.max(0, -decade(step / scale));
      return `${trimZeros((value / scale).toFixed(Math.min(decimals, 6)))}${suffix}`;
    }
  }
  const decimals = Math.max(0, -decade(step));
  if (decimals === 0) return Math.round(value).toLocaleString("en-US");
  return trimZeros(value.toFixed(Math.min(decimals, 12)));
}

/** A single value, compact (log-axis ticks): 3 significant digits with an SI suffix. */
export function fmtCompact(value) {
  if (value === 0) return "0";
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1e15 || abs < 1e-3) return trimExp(value.toExponential(2));
  for (const [scale, suffix] of SI) {
    if (abs >= scale) return `${trimZeros((value / scale).toPrecision(3))}${suffix}`;
  }
  return trimZeros(value.toPrecision(3));
}

function trimZeros(text) {
  return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
}

function trimExp(text) {
  const [mant, exp] = text.split("e");
  return `${trimZeros(mant)}e${exp.replace("+", "")}`;
}

/** Ticks of a log10 axis over [lo, hi] (both > 0): decades, with 2 and 5 when few. */
function logTicks(lo, hi, count) {
  const d0 = Math.floor(Math.log10(lo) + 1e-9);
  const d1 = Math.ceil(Math.log10(hi) - 1e-9);
  const decades = d1 - d0;
  const every = Math.max(1, Math.ceil(decades / Math.max(1, count)));
  let ticks = [];
  for (let d = d0; d <= d1; d += every) ticks.push(10 ** d);
  if (decades * 3 <= count * 2) {
    ticks = [];
    for (let d = d0; d <= d1; d++) for (const m of [1, 2, 5]) ticks.push(m * 10 ** d);
  }
  ticks = ticks.filter((t) => t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9));
  if (ticks.length < 2) {
    // Less than a decade: linear ticks inside the range still read well on a log axis.
    ticks = niceTicks(lo, hi, Math.max(2, Math.floor(count / 2))).ticks.filter((t) => t > 0);
  }
  return ticks;
}

// -- time ticks --------------------------------------------------------------------------------

const TIME_STEPS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500,
  SECOND, 2 * SECOND, 5 * SECOND, 10 * SECOND, 15 * SECOND, 30 * SECOND,
  MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE,
  HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR,
  DAY, 2 * DAY, 7 * DAY, 14 * DAY,
];
const MONTH_STEPS = [1, 2, 3, 6];

const pad2 = (n) => String(n).padStart(2, "0");

/** Ticks of a time axis (epoch ms) in local time: {ticks, format(t)}. */
export function timeTicks(lo, hi, count) {
  const span = Math.max(1, hi - lo);
  const raw = span / Math.max(1, count);
  const step = TIME_STEPS.find((s) => s >= raw);
  const ticks = [];
  const loDate = new Date(lo);
  const hiDate = new Date(hi);
  const sameDay = loDate.toDateString() === hiDate.toDateString();
  const sameYear = loDate.getFullYear() === hiDate.getFullYear();
  const ymd = (d) => `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
  const md = (d) => (sameYear ? `${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}` : ymd(d));
  const hm = (d) => `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
  let format;
  if (step !== undefined && step < DAY) {
    // Align to the local clock: multiples of the step since local midnight.
    const offset = -loDate.getTimezoneOffset() * MINUTE;
    let t = Math.ceil((lo + offset) / step) * step - offset;
    for (; t <= hi && ticks.length < 1000; t += step) ticks.push(t);
    if (step < SECOND) {
      format = (t) => { const d = new Date(t); return `${hm(d)}:${pad2(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}`; };
    } else if (step < MINUTE) {
      format = (t) => { const d = new Date(t); return `${hm(d)}:${pad2(d.getSeconds())}`; };
    } else if (sameDay) {
      format = (t) => hm(new Date(t));
    } else {
      format = (t) => { const d = new Date(t); return d.getHours() === 0 && d.getMinutes() === 0 ? md(d) : hm(d); };
    }
  } else if (step !== undefined) {
    const days = Math.round(step / DAY);
    const d = new Date(loDate.getFullYear(), loDate.getMonth(), loDate.getDate());
    if (d.getTime() < lo) d.setDate(d.getDate() + 1);
    while (d.getTime() <= hi && ticks.length < 1000) {
      ticks.push(d.getTime());
      d.setDate(d.getDate() + days);
    }
    format = (t) => md(new Date(t));
  } else {
    const months = span / (30 * DAY);
    const mStep = MONTH_STEPS.find((m) => months / m <= count);
    const yStep = mStep ? 0 : niceTicks(0, months / 12, count).step || 1;
    const d = new Date(loDate.getFullYear(), mStep ? loDate.getMonth() : 0, 1);
    while (d.getTime() < lo) {
      if (mStep) d.setMonth(d.getMonth() + 1);
      else d.setFullYear(d.getFullYear() + 1);
    }
    if (mStep) {
      while (d.getMonth() % mStep) d.setMonth(d.getMonth() + 1);
      for (; d.getTime() <= hi && ticks.length < 1000; d.setMonth(d.getMonth() + mStep)) ticks.push(d.getTime());
      format = (t) => { const x = new Date(t); return `${x.getFullYear()}-${pad2(x.getMonth() + 1)}`; };
    } else {
      const ys = Math.max(1, Math.round(yStep));
      while (d.getFullYear() % ys) d.setFullYear(d.getFullYear() + 1);
      for (; d.getTime() <= hi && ticks.length < 1000; d.setFullYear(d.getFullYear() + ys)) ticks.push(d.getTime());
      format = (t) => String(new Date(t).getFullYear());
    }
  }
  return { ticks, format };
}

// -- canvas plumbing -----------------------------------------------------------------------------

/** Size a canvas's pixel buffer to its CSS box at the device pixel ratio; return its 2D context. */
function fitCanvas(canvas, width, height, dpr) {
  const w = Math.max(1, Math.round(width * dpr));
  const hgt = Math.max(1, Math.round(height * dpr));
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== hgt) canvas.height = hgt;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = FONT;
  return ctx;
}

/** Cut text to a pixel width with an ellipsis. */
function fitText(ctx, text, maxWidth) {
  if (ctx.measureText(text).width <= maxWidth) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ctx.measureText(text.slice(0, mid) + "…").width <= maxWidth) lo = mid;
    else hi = mid - 1;
  }
  return text.slice(0, lo) + "…";
}

/**
 * The common frame of both charts: toolbar, plot (two canvases + tooltip), legend; redraws on
 * resize and device-pixel-ratio changes (coalesced into one animation frame).
 */
const charts = new WeakMap(); // container -> destroy() of the chart drawn in it

function frame(container, kind, drawBase, label) {
  const previous = charts.get(container);
  if (previous) previous(); // a new chart in the same container replaces the old one
  const classes = ["chart", `chart-${kind}`].filter((c) => !container.classList.contains(c));
  container.classList.add(...classes);
  for (const key of ["drawn", "series", "points"]) delete container.dataset[key];
  const toolbar = h("div", { class: "chart-toolbar" });
  const base = h("canvas", { class: "chart-canvas", "aria-hidden": "true" });
  const overlay = h("canvas", { class: "chart-overlay", role: "img", "aria-label": label });
  const tooltip = h("div", { class: "chart-tooltip", testid: "chart-tooltip", role: "status" });
  tooltip.hidden = true;
  const plot = h("div", { class: "chart-plot" }, base, overlay, tooltip);
  const legend = h("ul", { class: "chart-legend" });
  replace(container, toolbar, plot, legend);

  let size = null; // [width, height, dpr] of the last draw
  let frameId = 0;
  let alive = true;
  const draw = () => {
    if (!alive) return;
    const width = plot.clientWidth;
    const height = plot.clientHeight;
    if (!width || !height) return; // not laid out yet: the ResizeObserver calls again
    const dpr = window.devicePixelRatio || 1;
    size = [width, height, dpr];
    drawBase(fitCanvas(base, width, height, dpr), width, height);
    fitCanvas(overlay, width, height, dpr);
    container.dataset.drawn = "true";
    performance.mark(MARK);
  };
  const schedule = () => {
    if (frameId || !alive) return;
    frameId = requestAnimationFrame(() => {
      frameId = 0;
      const dpr = window.devicePixelRatio || 1;
      if (!size || size[0] !== plot.clientWidth || size[1] !== plot.clientHeight || size[2] !== dpr) draw();
    });
  };
  const observer = new ResizeObserver(schedule);
  observer.observe(plot);
  let media = null;
  const watchDpr = () => {
    if (media) media.removeEventListener("change", onDpr);
    media = window.matchMedia(`(resolution: ${window.devicePixelRatio || 1}dppx)`);
    media.addEventListener("change", onDpr);
  };
  function onDpr() { watchDpr(); schedule(); }
  watchDpr();

  const overlayContext = () => {
    if (!size) return null;
    return fitCanvas(overlay, size[0], size[1], size[2]);
  };
  const destroy = () => {
    if (!alive) return;
    alive = false;
    observer.disconnect();
    if (media) media.removeEventListener("change", onDpr);
    if (frameId) cancelAnimationFrame(frameId);
    if (charts.get(container) === destroy) charts.delete(container);
    for (const key of ["drawn", "series", "points"]) delete container.dataset[key];
    container.classList.remove(...classes);
    replace(container);
  };
  charts.set(container, destroy);
  return { toolbar, plot, overlay, tooltip, legend, draw, destroy, overlayContext, size: () => size };
}

/** Place the tooltip near (x, y) inside the plot, flipping to stay visible. */
function placeTooltip(tooltip, plot, x, y) {
  tooltip.hidden = false;
  const gap = 14;
  const tw = tooltip.offsetWidth;
  const th = tooltip.offsetHeight;
  const pw = plot.clientWidth;
  const ph = plot.clientHeight;
  let left = x + gap;
  if (left + tw > pw) left = Math.max(0, x - gap - tw);
  let top = y + gap;
  if (top + th > ph) top = Math.max(0, y - gap - th);
  // CSSOM writes (not a style attribute): allowed by the page's CSP.
  tooltip.style.left = `${Math.round(left)}px`;
  tooltip.style.top = `${Math.round(top)}px`;
}

/** Axes, grid and tick labels; returns nothing (labels are drawn on ctx). */
function drawAxes(ctx, rect, xTicks, yTicks, opts) {
  const { left, top, right, bottom } = rect;
  ctx.lineWidth = 1;
  ctx.strokeStyle = GRID;
  ctx.beginPath();
  for (const t of yTicks) {
    const y = Math.round(t.pos) + 0.5;
    ctx.moveTo(left, y);
    ctx.lineTo(right, y);
  }
  for (const t of xTicks) {
    const x = Math.round(t.pos) + 0.5;
    ctx.moveTo(x, top);
    ctx.lineTo(x, bottom);
  }
  ctx.stroke();
  ctx.strokeStyle = AXIS;
  ctx.beginPath();
  ctx.moveTo(left + 0.5, top);
  ctx.lineTo(left + 0.5, bottom + 0.5);
  ctx.lineTo(right, bottom + 0.5);
  ctx.stroke();

  ctx.fillStyle = MUTED;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const t of yTicks) ctx.fillText(t.label, left - 6, t.pos);
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  let lastEnd = -Infinity;
  for (const t of xTicks) {
    const w = ctx.measureText(t.label).width;
    if (t.pos - w / 2 < lastEnd + 6) continue; // never overlap labels
    ctx.fillText(t.label, Math.min(Math.max(t.pos, left + w / 2), rect.width - w / 2 - 2), bottom + 6);
    lastEnd = t.pos + w / 2;
  }
  ctx.fillStyle = INK;
  if (opts.xLabel) {
    ctx.textAlign = "center";
    ctx.textBaseline = "bottom";
    ctx.fillText(fitText(ctx, opts.xLabel, right - left), (left + right) / 2, rect.height - 2);
  }
  if (opts.yLabel) {
    ctx.save();
    ctx.translate(12, (top + bottom) / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText(fitText(ctx, opts.yLabel, bottom - top), 0, 0);
    ctx.restore();
  }
}

function drawMessage(ctx, width, height, text) {
  ctx.fillStyle = MUTED;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText(text, width / 2, height / 2);
}

// -- line chart ------------------------------------------------------------------------------------

/** Precompute a series: numeric arrays, finite ranges, and a sort order on x when needed. */
function prepareSeries(s, i) {
  const n = Math.min(s.x ? s.x.length : 0, s.y ? s.y.length : 0);
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  let xmin = Infinity;
  let xmax = -Infinity;
  let ymin = Infinity;
  let ymax = -Infinity;
  let count = 0;
  let sorted = true;
  for (let k = 0; k < n; k++) {
    const xv = Number(s.x[k]);
    const yv = Number(s.y[k]);
    x[k] = xv;
    y[k] = yv;
    if (k > 0 && xv < x[k - 1]) sorted = false;
    if (Number.isFinite(xv) && Number.isFinite(yv)) {
      count++;
      if (xv < xmin) xmin = xv;
      if (xv > xmax) xmax = xv;
      if (yv < ymin) ymin = yv;
      if (yv > ymax) ymax = yv;
    }
  }
  let order = null;
  if (!sorted) {
    order = Uint32Array.from({ length: n }, (_, k) => k);
    order.sort((a, b) => x[a] - x[b]);
  }
  const color = colorIndexOf(s, i);
  return { name: String(s.name ?? `series ${i + 1}`), x, y, n, count, xmin, xmax, ymin, ymax, order, color };
}

/** Index (into s.x) of the point nearest to xv with a finite y, or -1. */
function nearestIndex(s, xv) {
  const at = (k) => (s.order ? s.order[k] : k);
  let lo = 0;
  let hi = s.n - 1;
  if (hi < 0) return -1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (s.x[at(mid)] < xv) lo = mid + 1;
    else hi = mid;
  }
  // lo: first point with x >= xv; look both ways for the nearest finite point.
  let best = -1;
  let bestDist = Infinity;
  const finite = (k) => Number.isFinite(s.y[k]) && Number.isFinite(s.x[k]);
  for (let k = lo; k < s.n && k < lo + 64; k++) {
    const idx = at(k);
    if (finite(idx)) { bestDist = Math.abs(s.x[idx] - xv); best = idx; break; }
  }
  for (let k = lo - 1; k >= 0 && k > lo - 65; k--) {
    const idx = at(k);
    if (finite(idx)) {
      if (Math.abs(s.x[idx] - xv) <= bestDist) best = idx;
      break;
    }
  }
  return best;
}

/**
 * A line chart of several series.
 * series: [{name, x: number[], y: number[], colorIndex?}]; options: {xLabel, yLabel, xIsTime,
 * logY, detail}. Dragging across the plot zooms into that x range (the y axis fits the points
 * in it); double-click or "Reset zoom" shows everything again. detail([x0, x1]), when given,
 * returns (a promise of) the same series for that range at full detail, which replace the
 * loaded ones while zoomed. Returns {destroy(), redraw(), zoom()}.
 */
export function lineChart(container, series, options = {}) {
  const opts = { xLabel: "", yLabel: "", xIsTime: false, detail: null, ...options };
  const data = (series || []).map(prepareSeries);
  let detail = null; // prepared series fetched for the zoomed range (same order as data), or null
  let detailSeq = 0;
  const current = () => detail || data;
  const withData = data.filter((s) => s.count > 0);
  const canLog = withData.length > 0 && withData.every((s) => s.ymin > 0);
  const hidden = new Set();
  let logY = Boolean(opts.logY) && canLog;
  let geom = null; // set by each draw: scales for hover

  const names = data.map((s) => s.name);
  const f = frame(container, "line", drawBase,
    `Line chart of ${opts.yLabel || "values"} over ${opts.xLabel || "x"}: ${names.slice(0, 10).join(", ")}${names.length > 10 ? ", …" : ""}`);

  // x zoom: drag across the plot to zoom into that range, double-click or "Reset zoom" to leave
  let zoom = null; // [x0, x1] in data units, or null for everything
  const resetZoom = h("button", { type: "button", class: "btn small", testid: "chart-zoom-reset", title: "Show the whole x range (or double-click the chart)" }, "Reset zoom");
  resetZoom.hidden = true;
  const setZoom = (range) => {
    zoom = range;
    detail = null;
    const token = ++detailSeq;
    delete container.dataset.detail;
    resetZoom.hidden = zoom === null;
    if (zoom) container.dataset.zoom = `${zoom[0]},${zoom[1]}`;
    else delete container.dataset.zoom;
    f.draw();
    // the loaded points may be downsampled: ask the page for the range at full detail
    if (zoom && opts.detail) {
      Promise.resolve(opts.detail(zoom)).then((fresh) => {
        if (token !== detailSeq || !fresh || fresh.length !== data.length) return;
        detail = fresh.map(prepareSeries);
        container.dataset.detail = "true";
        f.draw();
      }, () => {}); // the loaded points stay on screen
    }
  };
  resetZoom.addEventListener("click", () => setZoom(null));

  const logBox = h("input", { type: "checkbox", testid: "chart-log-y", checked: logY, disabled: !canLog });
  logBox.addEventListener("change", () => { logY = logBox.checked && canLog; f.draw(); });
  f.toolbar.append(h("label", {
    class: "chart-option",
    title: canLog ? "Logarithmic y axis" : "A log scale needs every value > 0",
  }, logBox, " Log scale"), resetZoom);

  data.forEach((s, index) => {
    const item = h("li", { class: "chart-legend-item", testid: "chart-legend-item", title: "Show or hide this series" },
      swatch(s.color), h("span", { class: "chart-legend-name" }, s.name),
      s.count === 0 ? h("span", { class: "chart-legend-note" }, " (no data)") : null);
    item.tabIndex = 0;
    const toggle = () => {
      if (hidden.has(index)) hidden.delete(index); else hidden.add(index);
      item.classList.toggle("off", hidden.has(index));
      f.draw();
    };
    item.addEventListener("click", toggle);
    item.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); toggle(); } });
    f.legend.append(item);
  });

  function drawBase(ctx, width, height) {
    const visible = current().filter((s, i) => !hidden.has(i) && s.count > 0);
    container.dataset.series = String(visible.length);
    geom = null;
    if (!visible.length) {
      container.dataset.points = "0";
      drawMessage(ctx, width, height, data.length ? "No data points" : "No data");
      return;
    }
    let xmin = Infinity;
    let xmax = -Infinity;
    let ymin = Infinity;
    let ymax = -Infinity;
    for (const s of visible) {
      xmin = Math.min(xmin, s.xmin);
      xmax = Math.max(xmax, s.xmax);
      ymin = Math.min(ymin, s.ymin);
      ymax = Math.max(ymax, s.ymax);
    }
    if (zoom) {
      // the y range of the points inside the zoomed x range (all of them if none is)
      let zlo = Infinity;
      let zhi = -Infinity;
      for (const s of visible) {
        for (let k = 0; k < s.n; k++) {
          const xv = s.x[k];
          const yv = s.y[k];
          if (xv < zoom[0] || xv > zoom[1] || !Number.isFinite(yv) || (logY && yv <= 0)) continue;
          if (yv < zlo) zlo = yv;
          if (yv > zhi) zhi = yv;
        }
      }
      [xmin, xmax] = zoom;
      if (zlo <= zhi) { ymin = zlo; ymax = zhi; }
    }
    if (xmin === xmax) { xmin -= opts.xIsTime ? MINUTE : 1; xmax += opts.xIsTime ? MINUTE : 1; }

    const top = 10;
    const bottom = height - (opts.xLabel ? 38 : 22);
    const plotH = Math.max(10, bottom - top);
    const yCount = Math.max(2, Math.floor(plotH / 40));

    // y scale
    let yTicksRaw;
    let yPos;
    let yLabel;
    if (logY) {
      let lo = ymin;
      let hi = ymax;
      if (lo === hi) { lo /= 2; hi *= 2; }
      const l0 = Math.log10(lo);
      const l1 = Math.log10(hi);
      const pad = (l1 - l0) * 0.04;
      const a = l0 - pad;
      const b = l1 + pad;
      yTicksRaw = logTicks(10 ** a, 10 ** b, yCount);
      yPos = (v) => bottom - ((Math.log10(v) - a) / (b - a)) * plotH;
      yLabel = fmtCompact;
    } else {
      let lo = ymin;
      let hi = ymax;
      if (lo === hi) { const d = Math.abs(lo) * 0.1 || 1; lo -= d; hi += d; }
      const { step } = niceTicks(lo, hi, yCount);
      const a = Math.floor(lo / step + 1e-9) * step;
      const b = Math.ceil(hi / step - 1e-9) * step;
      const nice = niceTicks(a, b, yCount);
      yTicksRaw = nice.ticks;
      const maxAbs = Math.max(Math.abs(a), Math.abs(b));
      yPos = (v) => bottom - ((v - a) / (b - a)) * plotH;
      yLabel = (v) => fmtTick(v, nice.step, maxAbs);
    }
    const yTicks = yTicksRaw.map((v) => ({ value: v, label: yLabel(v) }));
    let labelWidth = 0;
    for (const t of yTicks) labelWidth = Math.max(labelWidth, ctx.measureText(t.label).width);
    const left = Math.ceil(labelWidth) + 10 + (opts.yLabel ? 18 : 0);
    const right = width - 14;
    const plotW = Math.max(10, right - left);
    for (const t of yTicks) t.pos = yPos(t.value);

    // x scale
    const xPos = (v) => left + ((v - xmin) / (xmax - xmin)) * plotW;
    let xTicks;
    let xFormat;
    if (opts.xIsTime) {
      const tt = timeTicks(xmin, xmax, Math.max(2, Math.floor(plotW / 110)));
      xTicks = tt.ticks.map((v) => ({ value: v, label: tt.format(v), pos: xPos(v) }));
      xFormat = (v) => fmtTime(v);
    } else {
      const nt = niceTicks(xmin, xmax, Math.max(2, Math.floor(plotW / 80)));
      const maxAbs = Math.max(Math.abs(xmin), Math.abs(xmax));
      xTicks = nt.ticks.map((v) => ({ value: v, label: fmtTick(v, nt.step, maxAbs), pos: xPos(v) }));
      xFormat = (v) => (Number.isInteger(v) ? v.toLocaleString("en-US") : fmtNumber(v));
    }
    const rect = { left, right, top, bottom, width, height };
    drawAxes(ctx, rect, xTicks, yTicks, opts);

    // series: one path each, O(n); a non-finite value (or <= 0 on a log axis) lifts the pen.
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top - 1, plotW + 1, plotH + 2);
    ctx.clip();
    ctx.lineWidth = 1.5;
    ctx.lineJoin = "round";
    const kx = plotW / (xmax - xmin);
    let points = 0;
    for (const s of visible) {
      ctx.strokeStyle = PALETTE[s.color];
      ctx.beginPath();
      const lone = []; // points with no finite neighbour: drawn as dots
      let run = 0;
      let px = 0;
      let py = 0;
      for (let k = 0; k < s.n; k++) {
        const yv = s.y[k];
        const xv = s.x[k];
        if (!Number.isFinite(yv) || !Number.isFinite(xv) || (logY && yv <= 0)) {
          if (run === 1) lone.push(px, py);
          run = 0;
          continue;
        }
        px = left + (xv - xmin) * kx;
        py = yPos(yv);
        if (run === 0) ctx.moveTo(px, py);
        else ctx.lineTo(px, py);
        run++;
        if (xv >= xmin && xv <= xmax) points++;
      }
      if (run === 1) lone.push(px, py);
      ctx.stroke();
      if (lone.length) {
        ctx.fillStyle = PALETTE[s.color];
        ctx.beginPath();
        for (let k = 0; k < lone.length; k += 2) {
          ctx.moveTo(lone[k] + 2.5, lone[k + 1]);
          ctx.arc(lone[k], lone[k + 1], 2.5, 0, Math.PI * 2);
        }
        ctx.fill();
      }
    }
    ctx.restore();
    container.dataset.points = String(points);
    geom = { left, right, top, bottom, xmin, xmax, kx, yPos, xFormat, visible };
  }

  // hover: crosshair, a marker per series, and the tooltip listing each nearest point
  let pending = null;
  let hoverFrame = 0;
  const onMove = (ev) => {
    const box = f.overlay.getBoundingClientRect();
    pending = [ev.clientX - box.left, ev.clientY - box.top];
    if (!hoverFrame) hoverFrame = requestAnimationFrame(() => { hoverFrame = 0; hover(); });
  };
  const onLeave = () => {
    pending = null;
    f.tooltip.hidden = true;
    f.overlayContext();
  };
  function hover() {
    const ctx = f.overlayContext();
    if (!ctx || !geom || !pending) return;
    const [mx, my] = pending;
    if (mx < geom.left || mx > geom.right || my < geom.top || my > geom.bottom) {
      f.tooltip.hidden = true;
      return;
    }
    const xv = geom.xmin + (mx - geom.left) / geom.kx;
    const rows = [];
    for (const s of geom.visible) {
      const k = nearestIndex(s, xv);
      if (k < 0 || (logY && s.y[k] <= 0)) continue;
      rows.push({ s, x: s.x[k], y: s.y[k] });
    }
    ctx.strokeStyle = AXIS;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(Math.round(mx) + 0.5, geom.top);
    ctx.lineTo(Math.round(mx) + 0.5, geom.bottom);
    ctx.stroke();
    for (const r of rows) {
      const px = geom.left + (r.x - geom.xmin) * geom.kx;
      const py = geom.yPos(r.y);
      ctx.fillStyle = "#fff";
      ctx.strokeStyle = PALETTE[r.s.color];
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(px, py, 3.5, 0, Math.PI * 2);
      ctx.fill();
      ctx.stroke();
    }
    const sameX = rows.every((r) => r.x === rows[0].x);
    const head = rows.length && sameX ? `${opts.xIsTime ? "" : (opts.xLabel || "x") + " "}${geom.xFormat(rows[0].x)}` : "";
    replace(f.tooltip,
      head ? h("div", { class: "chart-tooltip-head" }, head) : null,
      h("table", {}, h("tbody", {}, rows.map((r) => h("tr", {},
        h("td", {}, swatch(r.s.color)),
        h("td", { class: "chart-tooltip-name" }, r.s.name),
        sameX ? null : h("td", { class: "chart-tooltip-x" }, geom.xFormat(r.x)),
        h("td", { class: "chart-tooltip-value" }, fmtNumber(r.y)))))));
    if (rows.length) placeTooltip(f.tooltip, f.plot, mx, my);
    else f.tooltip.hidden = true;
  }
  // drag to zoom: the selection is shaded on the overlay; a drag under 5 px is a click
  let drag = null; // {from, to} in overlay pixels
  const localX = (ev) => ev.clientX - f.overlay.getBoundingClientRect().left;
  const onDown = (ev) => {
    if (ev.button !== 0 || !geom) return;
    const x = localX(ev);
    if (x < geom.left || x > geom.right) return;
    drag = { from: x, to: x };
    f.overlay.setPointerCapture(ev.pointerId);
  };
  const onDragMove = (ev) => {
    if (!drag || !geom) return false;
    drag.to = Math.min(geom.right, Math.max(geom.left, localX(ev)));
    const ctx = f.overlayContext();
    if (ctx) {
      ctx.fillStyle = "rgba(47, 111, 235, 0.15)";
      ctx.fillRect(Math.min(drag.from, drag.to), geom.top, Math.abs(drag.to - drag.from), geom.bottom - geom.top);
    }
    f.tooltip.hidden = true;
    return true;
  };
  const onUp = (ev) => {
    if (!drag || !geom) return;
    const { from, to } = drag;
    drag = null;
    if (f.overlay.hasPointerCapture(ev.pointerId)) f.overlay.releasePointerCapture(ev.pointerId);
    f.overlayContext();
    if (Math.abs(to - from) < 5) return;
    const toData = (px) => geom.xmin + (px - geom.left) / geom.kx;
    setZoom([toData(Math.min(from, to)), toData(Math.max(from, to))]);
  };
  f.overlay.addEventListener("pointerdown", onDown);
  f.overlay.addEventListener("pointermove", (ev) => { if (!onDragMove(ev)) onMove(ev); });
  f.overlay.addEventListener("pointerup", onUp);
  f.overlay.addEventListener("pointercancel", () => { drag = null; f.overlayContext(); });
  f.overlay.addEventListener("pointerleave", onLeave);
  f.overlay.addEventListener("dblclick", () => { if (zoom) setZoom(null); });

  f.draw();
  return {
    destroy() {
      if (hoverFrame) cancelAnimationFrame(hoverFrame);
      f.destroy();
    },
    redraw() { f.draw(); },
    /** The zoomed x range, or null. */
    zoom() { return zoom; },
  };
}

// -- scatter chart ---------------------------------------------------------------------------------

/**
 * A scatter chart of one point per item.
 * points: [{x: number|string, y: number, label: string, href?: string, colorIndex?}];
 * options: {xLabel, yLabel}. Categorical x when any x is a string. Hover shows the label;
 * clicking a point with an href (a same-site path) goes there. Returns {destroy(), redraw()}.
 */
export function scatterChart(container, points, options = {}) {
  const opts = { xLabel: "", yLabel: "", ...options };
  const all = (points || []).filter((p) => p && Number.isFinite(Number(p.y)) && p.x !== undefined && p.x !== null);
  const categorical = all.some((p) => typeof p.x === "string");
  const usable = categorical ? all : all.filter((p) => Number.isFinite(Number(p.x)));
  const categories = categorical
    ? [...new Set(usable.map((p) => String(p.x)))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))
    : [];
  let placed = []; // [{p, px, py}] from the last draw
  let geom = null;

  const f = frame(container, "scatter", drawBase,
    `Scatter chart of ${opts.yLabel || "y"} against ${opts.xLabel || "x"}, ${usable.length} points`);
  f.toolbar.hidden = true;
  f.legend.hidden = true;

  function drawBase(ctx, width, height) {
    container.dataset.series = usable.length ? "1" : "0";
    placed = [];
    geom = null;
    if (!usable.length) {
      container.dataset.points = "0";
      drawMessage(ctx, width, height, "No points: no run has both values");
      return;
    }
    let ymin = Infinity;
    let ymax = -Infinity;
    for (const p of usable) { ymin = Math.min(ymin, Number(p.y)); ymax = Math.max(ymax, Number(p.y)); }
    if (ymin === ymax) { const d = Math.abs(ymin) * 0.1 || 1; ymin -= d; ymax += d; }
    const top = 12;
    const bottom = height - (opts.xLabel ? 38 : 22);
    const plotH = Math.max(10, bottom - top);
    const yCount = Math.max(2, Math.floor(plotH / 40));
    const ystep = niceTicks(ymin, ymax, yCount).step;
    const a = Math.floor(ymin / ystep + 1e-9) * ystep;
    const b = Math.ceil(ymax / ystep - 1e-9) * ystep;
    const ynice = niceTicks(a, b, yCount);
    const yMaxAbs = Math.max(Math.abs(a), Math.abs(b));
    const yPos = (v) => bottom - ((v - a) / (b - a)) * plotH;
    const yTicks = ynice.ticks.map((v) => ({ value: v, label: fmtTick(v, ynice.step, yMaxAbs), pos: yPos(v) }));
    let labelWidth = 0;
    for (const t of yTicks) labelWidth = Math.max(labelWidth, ctx.measureText(t.label).width);
    const left = Math.ceil(labelWidth) + 10 + (opts.yLabel ? 18 : 0);
    const right = width - 16;
    const plotW = Math.max(10, right - left);

    let xPos;
    let xTicks;
    if (categorical) {
      const band = plotW / categories.length;
      const index = new Map(categories.map((c, i) => [c, i]));
      xPos = (v) => left + band * (index.get(String(v)) + 0.5);
      ctx.font = FONT;
      xTicks = categories.map((c, i) => ({ value: c, label: fitText(ctx, c, Math.max(12, band - 6)), pos: left + band * (i + 0.5) }));
    } else {
      let xmin = Infinity;
      let xmax = -Infinity;
      for (const p of usable) { xmin = Math.min(xmin, Number(p.x)); xmax = Math.max(xmax, Number(p.x)); }
      if (xmin === xmax) { const d = Math.abs(xmin) * 0.1 || 1; xmin -= d; xmax += d; }
      const pad = (xmax - xmin) * 0.05;
      xmin -= pad;
      xmax += pad;
      let nt = niceTicks(xmin, xmax, Math.max(2, Math.floor(plotW / 80)));
      if (nt.step < 1 && usable.every((p) => Number.isInteger(Number(p.x)))) {
        nt = niceTicks(xmin, xmax, Math.max(1, Math.floor(xmax - xmin))); // integer params: integer ticks
      }
      const maxAbs = Math.max(Math.abs(xmin), Math.abs(xmax));
      xPos = (v) => left + ((v - xmin) / (xmax - xmin)) * plotW;
      xTicks = nt.ticks.map((v) => ({ value: v, label: fmtTick(v, nt.step, maxAbs), pos: xPos(v) }));
    }
    const rect = { left, right, top, bottom, width, height };
    drawAxes(ctx, rect, xTicks, yTicks, opts);
    ctx.lineWidth = 1.5;
    for (let i = 0; i < usable.length; i++) {
      const p = usable[i];
      const px = xPos(categorical ? p.x : Number(p.x));
      const py = yPos(Number(p.y));
      const color = PALETTE[colorIndexOf(p, 0)];
      ctx.fillStyle = color;
      ctx.globalAlpha = 0.75;
      ctx.beginPath();
      ctx.arc(px, py, 5, 0, Math.PI * 2);
      ctx.fill();
      ctx.globalAlpha = 1;
      ctx.strokeStyle = color;
      ctx.stroke();
      placed.push({ p, px, py });
    }
    container.dataset.points = String(placed.length);
    geom = rect;
  }

  const hits = (mx, my) => placed.filter((q) => (q.px - mx) ** 2 + (q.py - my) ** 2 <= 81);
  let current = [];
  const onMove = (ev) => {
    const box = f.overlay.getBoundingClientRect();
    const mx = ev.clientX - box.left;
    const my = ev.clientY - box.top;
    current = hits(mx, my);
    const ctx = f.overlayContext();
    if (!ctx || !geom) return;
    f.overlay.classList.toggle("chart-clickable", current.some((q) => safeHref(q.p.href)));
    if (!current.length) { f.tooltip.hidden = true; return; }
    for (const q of current) {
      ctx.strokeStyle = INK;
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(q.px, q.py, 7.5, 0, Math.PI * 2);
      ctx.stroke();
    }
    replace(f.tooltip, h("table", {}, h("tbody", {}, current.map((q) => [
      h("tr", {}, h("td", { class: "chart-tooltip-name", colspan: "2" }, h("strong", {}, String(q.p.label ?? "")))),
      h("tr", {}, h("td", {}, opts.xLabel || "x"), h("td", { class: "chart-tooltip-value" }, typeof q.p.x === "string" ? q.p.x : fmtNumber(Number(q.p.x)))),
      h("tr", {}, h("td", {}, opts.yLabel || "y"), h("td", { class: "chart-tooltip-value" }, fmtNumber(Number(q.p.y)))),
    ]))));
    placeTooltip(f.tooltip, f.plot, mx, my);
  };
  const onLeave = () => { current = []; f.tooltip.hidden = true; f.overlayContext(); f.overlay.classList.remove("chart-clickable"); };
  const onClick = (ev) => {
    const box = f.overlay.getBoundingClientRect();
    const target = hits(ev.clientX - box.left, ev.clientY - box.top).find((q) => safeHref(q.p.href));
    if (target) window.location.assign(target.p.href);
  };
  f.overlay.addEventListener("pointermove", onMove);
  f.overlay.addEventListener("pointerleave", onLeave);
  f.overlay.addEventListener("click", onClick);

  f.draw();
  return { destroy() { f.destroy(); }, redraw() { f.draw(); } };
}

/** Only same-site paths are followed from a chart click ("/runs/..."), never other schemes. */
function safeHref(href) {
  return typeof href === "string" && href.startsWith("/") && !href.startsWith("//");
}
