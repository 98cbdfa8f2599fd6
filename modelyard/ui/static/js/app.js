// The UI's router: every path is the same shell page; the path picks a page module, which
// renders into <main>. Pages are loaded on demand and export `render(main, params, query)`.

import { errorBox, h, replace } from "./dom.js";

const ROUTES = [
  [/^\/$/, "./pages/experiments.js", []],
  [/^\/experiments\/([^/]+)\/?$/, "./pages/runs.js", ["experimentId"]],
  [/^\/runs\/([^/]+)\/?$/, "./pages/run.js", ["runId"]],
  [/^\/compare\/?$/, "./pages/compare.js", []],
  [/^\/models\/?$/, "./pages/models.js", []],
  [/^\/models\/([^/]+)\/versions\/([^/]+)\/?$/, "./pages/version.js", ["name", "version"]],
  [/^\/models\/([^/]+)\/?$/, "./pages/model.js", ["name"]],
];

export function match(pathname) {
  for (const [pattern, module, names] of ROUTES) {
    const found = pattern.exec(pathname);
    if (found) {
      const params = {};
      names.forEach((name, i) => { params[name] = decodeURIComponent(found[i + 1]); });
      return { module, params };
    }
  }
  return null;
}

async function start() {
  const main = document.getElementById("main");
  const route = match(window.location.pathname);
  const section = window.location.pathname.startsWith("/models") ? "models" : "experiments";
  for (const link of document.querySelectorAll("[data-nav]")) {
    link.classList.toggle("active", link.dataset.nav === section);
  }
  if (!route) {
    replace(main, h("h1", {}, "Not found"), h("p", {}, `Nothing lives at ${window.location.pathname}.`), h("a", { href: "/" }, "Experiments"));
    return;
  }
  try {
    const page = await import(route.module);
    await page.render(main, route.params, new URLSearchParams(window.location.search));
  } catch (err) {
    replace(main, errorBox(err, "page-error"));
    throw err;
  }
}

start();
