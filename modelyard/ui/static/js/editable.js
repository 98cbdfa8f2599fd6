// A description panel that can be edited in place: the text shown as text, and with a `save`
// function an Edit button that swaps in a textarea with Save and Cancel. `save(text)` returns a
// promise; when it rejects, the error shows under the textarea and the text stays unsaved.
// Used by the run, model and model-version pages (test ids: description-text, -edit, -input,
// -save, -cancel, -error inside the panel's own test id).

import { errorBox, h, replace } from "./dom.js";

export function descriptionPanel({ testid, text, save }) {
  const panel = h("section", { class: "panel", testid });
  let current = text || "";

  function view() {
    replace(panel,
      h("div", { class: "panel-head" }, h("h2", {}, "Description"),
        save ? h("button", { type: "button", class: "btn small", testid: "description-edit", onclick: edit }, "Edit") : null),
      current
        ? h("div", { class: "description-text", testid: "description-text" }, current)
        : h("p", { class: "muted", testid: "description-text" }, "No description."));
  }

  function edit() {
    const input = h("textarea", { class: "input", rows: "6", testid: "description-input", "aria-label": "Description" });
    input.value = current;
    const error = h("div");
    const submit = async () => {
      try {
        await save(input.value);
      } catch (err) {
        replace(error, errorBox(err, "description-error"));
        return;
      }
      current = input.value;
      view();
    };
    replace(panel,
      h("div", { class: "panel-head" }, h("h2", {}, "Description")),
      input,
      h("div", { class: "form-actions" },
        h("button", { type: "button", class: "btn primary", testid: "description-save", onclick: submit }, "Save"),
        h("button", { type: "button", class: "btn", testid: "description-cancel", onclick: view }, "Cancel")),
      error);
    input.focus();
  }

  view();
  return panel;
}
