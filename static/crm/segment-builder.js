// The segment builder. The rule tree lives here as plain JSON, the same shape the API and the saved
// segment use: {match: "all"|"any", rules: [condition | group, …]}, a condition being
// {field, op, value}. Fields, operators and the kind of value each operator takes come from the
// server's catalog. Every edit asks the API's preview for the live count (debounced); a rule the server
// refuses is marked where it sits, by its path (rules.rules.2.value), on preview and on save alike.

import { el } from "../js/dom.js";

(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("segment-builder-config").textContent);
  const canWrite = config.canWrite;
  const catalog = new Map(config.catalog.map((field) => [field.field, field]));
  const MAX_DEPTH = 5;
  const PREVIEW_DELAY = 350;
  const GROUP_LABELS = { contact: "Contact", custom: "Custom fields" };
  const ACTIVITY_DEFAULT = { kind: "email_clicked", within_days: 30 };

  const root = document.querySelector("[data-rule-builder]");
  const rootErrors = document.querySelector("[data-rule-errors-root]");
  const rulesInput = document.querySelector("[data-rules-input]");
  const countBox = document.querySelector("[data-preview-count]");
  const statusBox = document.querySelector("[data-preview-status]");
  const sampleList = document.querySelector("[data-preview-sample]");

  let tree = normaliseGroup(config.rules);
  let errors = config.errors || {};

  // --- Small helpers -----------------------------------------------------------------------------------

  function option(value, label, selected) {
    return el("option", { value: String(value), selected: selected ? true : null }, label);
  }

  const ICONS = {
    close: '<path d="M6 6l12 12M18 6 6 18"/>',
    plus: '<path d="M12 5v14M5 12h14"/>',
    group: '<rect x="3" y="4" width="18" height="16" rx="2"/><path d="M7 9h10M7 13h6"/>',
  };

  function icon(name) {
    const span = el("span", { class: "icon-wrap", "aria-hidden": "true" });
    span.innerHTML = `<svg class="icon" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round">${ICONS[name]}</svg>`;
    return span;
  }

  function isGroup(node) {
    return node && typeof node === "object" && Array.isArray(node.rules);
  }

  function normaliseGroup(node) {
    if (!isGroup(node)) return { match: "all", rules: [] };
    return {
      match: node.match === "any" ? "any" : "all",
      rules: node.rules.map((child) => (isGroup(child) ? normaliseGroup(child) : { ...child })),
    };
  }

  function opSpec(condition) {
    const field = catalog.get(condition.field);
    return field ? field.ops.find((op) => op.op === condition.op) : null;
  }

  function defaultValue(field, kind) {
    switch (kind) {
      case "none":
        return null;
      case "days":
        return 30;
      case "choices":
        return [];
      case "tag":
        return field.choices && field.choices.length ? field.choices[0].value : null;
      case "activity":
        return { ...ACTIVITY_DEFAULT };
      case "number":
        return null;
      default:
        return "";
    }
  }

  function newCondition() {
    const field = catalog.get("tag") && catalog.get("tag").choices.length ? catalog.get("tag") : config.catalog[0];
    const op = field.ops[0];
    return { field: field.field, op: op.op, value: defaultValue(field, op.value) };
  }

  // A condition whose value is still blank can't be counted; it is left out of the preview's request
  // until it is filled in, and marked once the marketer saves.
  function isComplete(condition) {
    const spec = opSpec(condition);
    if (!spec) return false;
    const value = condition.value;
    switch (spec.value) {
      case "none":
        return true;
      case "number":
      case "days":
        return typeof value === "number" && Number.isFinite(value);
      case "choices":
        return Array.isArray(value) && value.length > 0;
      case "tag":
        return value !== null && value !== undefined && value !== "";
      case "activity":
        return Boolean(value && value.kind);
      default:
        return typeof value === "string" && value.trim() !== "";
    }
  }

  function incompleteCount(group) {
    return group.rules.reduce((total, child) => total + (isGroup(child) ? incompleteCount(child) : isComplete(child) ? 0 : 1), 0);
  }

  // --- Rendering ---------------------------------------------------------------------------------------

  function render() {
    root.replaceChildren(renderGroup(tree, "rules", 1, null));
    changed();
  }

  function renderGroup(group, path, depth, parent) {
    const items = el("div", { class: "rule-items" });
    group.rules.forEach((child, index) => {
      if (index > 0) items.append(el("div", { class: "rule-joiner", text: group.match === "all" ? "and" : "or" }));
      const childPath = `${path}.rules.${index}`;
      items.append(isGroup(child) ? renderGroup(child, childPath, depth + 1, group) : renderCondition(child, childPath, group));
    });
    if (!group.rules.length) {
      items.append(
        el("p", { class: "rule-empty subtle" }, depth === 1 ? "No conditions yet: every contact matches. Add a condition to narrow it down." : "An empty group matches everyone.")
      );
    }

    const match = el(
      "select",
      {
        class: "select-sm",
        "aria-label": "Match",
        disabled: !canWrite,
        "data-testid": "group-match",
        onchange: (event) => {
          group.match = event.target.value;
          render();
        },
      },
      option("all", "all", group.match === "all"),
      option("any", "any", group.match === "any")
    );
    const head = el("div", { class: "rule-group-head" }, "Match ", match, depth === 1 ? " of these conditions" : " of:");
    if (parent && canWrite) {
      head.append(
        el("span", { class: "spacer" }),
        el(
          "button",
          {
            type: "button",
            class: "btn btn-ghost btn-sm",
            onclick: () => {
              parent.rules.splice(parent.rules.indexOf(group), 1);
              errors = {};
              render();
            },
          },
          "Remove group"
        )
      );
    }
    const actions = canWrite
      ? el(
          "div",
          { class: "rule-group-actions" },
          el(
            "button",
            {
              type: "button",
              class: "btn btn-secondary btn-sm",
              "data-testid": "add-condition",
              onclick: () => {
                group.rules.push(newCondition());
                errors = {};
                render();
              },
            },
            icon("plus"),
            "Add condition"
          ),
          depth < MAX_DEPTH
            ? el(
                "button",
                {
                  type: "button",
                  class: "btn btn-ghost btn-sm",
                  "data-testid": "add-group",
                  onclick: () => {
                    group.rules.push({ match: group.match === "all" ? "any" : "all", rules: [newCondition()] });
                    errors = {};
                    render();
                  },
                },
                icon("group"),
                "Add group"
              )
            : null
        )
      : null;
    return el(
      "div",
      { class: `rule-group depth-${depth}`, "data-path": path, "data-testid": depth === 1 ? "root-group" : "rule-group" },
      head,
      el("ul", { class: "errorlist", "data-errors-for": path }),
      items,
      actions
    );
  }

  function fieldSelect(condition, onChange) {
    const select = el("select", { "aria-label": "Field", disabled: !canWrite, "data-role": "field", onchange: onChange });
    const groups = new Map();
    for (const field of config.catalog) {
      const label = GROUP_LABELS[field.group] || field.group;
      if (!groups.has(label)) groups.set(label, el("optgroup", { label }));
      groups.get(label).append(option(field.field, field.label, field.field === condition.field));
    }
    if (!catalog.has(condition.field)) {
      select.append(option(condition.field, `${condition.field} (no longer exists)`, true));
    }
    select.append(...groups.values());
    return select;
  }

  function renderCondition(condition, path, parent) {
    const field = catalog.get(condition.field);
    const row = el("div", { class: "rule-row", "data-path": path, "data-testid": "condition" });
    const fieldBox = fieldSelect(condition, (event) => {
      const next = catalog.get(event.target.value);
      const op = next.ops[0];
      condition.field = next.field;
      condition.op = op.op;
      condition.value = defaultValue(next, op.value);
      errors = {};
      render();
    });
    const opBox = el("select", {
      "aria-label": "Operator",
      disabled: !canWrite,
      "data-role": "op",
      onchange: (event) => {
        const before = opSpec(condition);
        condition.op = event.target.value;
        const after = opSpec(condition);
        if (!before || before.value !== after.value) condition.value = defaultValue(field, after.value);
        errors = {};
        render();
      },
    });
    for (const op of field ? field.ops : []) opBox.append(option(op.op, op.label, op.op === condition.op));
    const remove = canWrite
      ? el(
          "button",
          {
            type: "button",
            class: "btn btn-ghost btn-icon rule-remove",
            "aria-label": "Remove condition",
            onclick: () => {
              parent.rules.splice(parent.rules.indexOf(condition), 1);
              errors = {};
              render();
            },
          },
          icon("close")
        )
      : null;
    row.append(
      el("div", { class: "rule-inputs" }, fieldBox, field ? opBox : null, valueEditor(condition, field)),
      remove,
      el("ul", { class: "errorlist", "data-errors-for": path })
    );
    return row;
  }

  function valueChanged(condition) {
    const path = pathOf(condition);
    if (path) clearErrors(path);
    changed();
  }

  // Paths are positional; a condition's current one is found by walking the tree.
  function pathOf(target, group = tree, path = "rules") {
    for (let index = 0; index < group.rules.length; index++) {
      const child = group.rules[index];
      const childPath = `${path}.rules.${index}`;
      if (child === target) return childPath;
      if (isGroup(child)) {
        const found = pathOf(target, child, childPath);
        if (found) return found;
      }
    }
    return null;
  }

  function numberInput(condition, attrs, key) {
    const current = key ? condition.value && condition.value[key] : condition.value;
    return el("input", {
      type: "number",
      disabled: !canWrite,
      value: current === null || current === undefined ? "" : String(current),
      ...attrs,
      oninput: (event) => {
        const text = event.target.value.trim();
        const number = text === "" ? null : Number(text);
        const value = number === null || Number.isNaN(number) ? null : number;
        if (key) {
          if (value === null) delete condition.value[key];
          else condition.value[key] = Math.trunc(value);
        } else {
          condition.value = value;
        }
        valueChanged(condition);
      },
    });
  }

  function valueEditor(condition, field) {
    const spec = opSpec(condition);
    if (!field || !spec) return null;
    const kind = spec.value;
    if (kind === "none") return null;
    if (kind === "text" || kind === "date") {
      return el("input", {
        type: kind === "date" ? "date" : "text",
        "aria-label": "Value",
        "data-role": "value",
        disabled: !canWrite,
        value: condition.value ?? "",
        placeholder: kind === "text" ? "Value" : null,
        oninput: (event) => {
          condition.value = event.target.value;
          valueChanged(condition);
        },
      });
    }
    if (kind === "number") return numberInput(condition, { step: "any", "aria-label": "Value", "data-role": "value", class: "input-number" });
    if (kind === "days") {
      return el(
        "span",
        { class: "rule-days" },
        numberInput(condition, { min: "1", step: "1", "aria-label": "Days", "data-role": "value", class: "input-days" }),
        " days"
      );
    }
    if (kind === "tag") {
      const select = el("select", {
        "aria-label": "Tag",
        "data-role": "value",
        disabled: !canWrite,
        onchange: (event) => {
          condition.value = Number(event.target.value);
          valueChanged(condition);
        },
      });
      if (!field.choices.length) select.append(option("", "No tags yet", true));
      for (const choice of field.choices) select.append(option(choice.value, choice.label, choice.value === condition.value));
      return select;
    }
    if (kind === "choices") {
      const chosen = new Set(Array.isArray(condition.value) ? condition.value : []);
      return el(
        "span",
        { class: "rule-choices", role: "group", "aria-label": "Values" },
        (field.choices || []).map((choice) =>
          el(
            "label",
            { class: "choice-chip" },
            el("input", {
              type: "checkbox",
              value: choice.value,
              checked: chosen.has(choice.value),
              disabled: !canWrite,
              onchange: (event) => {
                const values = new Set(Array.isArray(condition.value) ? condition.value : []);
                if (event.target.checked) values.add(choice.value);
                else values.delete(choice.value);
                condition.value = (field.choices || []).map((each) => each.value).filter((value) => values.has(value));
                valueChanged(condition);
              },
            }),
            el("span", {}, choice.label)
          )
        )
      );
    }
    if (kind === "activity") return activityEditor(condition, field);
    return null;
  }

  function activityEditor(condition, field) {
    if (!condition.value || typeof condition.value !== "object") condition.value = { ...ACTIVITY_DEFAULT };
    const value = condition.value;
    const kind = el("select", {
      "aria-label": "Activity",
      "data-role": "activity-kind",
      disabled: !canWrite,
      onchange: (event) => {
        value.kind = event.target.value;
        delete value.ref;
        errors = {};
        render();
      },
    });
    for (const choice of field.choices) kind.append(option(choice.value, choice.label.toLowerCase(), choice.value === value.kind));
    const parts = [kind];
    if (value.kind === "form_submitted" && config.forms.length) {
      const form = el("select", {
        "aria-label": "Form",
        "data-role": "activity-ref",
        disabled: !canWrite,
        onchange: (event) => {
          if (event.target.value) value.ref = event.target.value;
          else delete value.ref;
          valueChanged(condition);
        },
      });
      form.append(option("", "any form", !value.ref));
      for (const each of config.forms) form.append(option(each.value, each.label, each.value === value.ref));
      parts.push(form);
    }
    parts.push(
      el(
        "span",
        { class: "rule-days" },
        "in the last ",
        numberInput(condition, { min: "1", step: "1", placeholder: "any", "aria-label": "Within days", "data-role": "within-days", class: "input-days" }, "within_days"),
        " days"
      )
    );
    return el("span", { class: "rule-activity" }, parts);
  }

  // --- Errors --------------------------------------------------------------------------------------------

  function clearErrors(path) {
    for (const key of Object.keys(errors)) {
      if (key === path || key.startsWith(path + ".")) delete errors[key];
    }
    paintErrors();
  }

  function paintErrors() {
    const boxes = Array.from(root.querySelectorAll("[data-errors-for]"));
    const placed = new Set();
    // Longest paths first, so each message lands on the innermost node it names.
    boxes.sort((a, b) => b.dataset.errorsFor.length - a.dataset.errorsFor.length);
    for (const box of boxes) {
      const path = box.dataset.errorsFor;
      const mine = [];
      for (const [key, messages] of Object.entries(errors)) {
        if (placed.has(key)) continue;
        const own = key === path || key === `${path}.field` || key === `${path}.op` || key === `${path}.value` || key === `${path}.match`;
        if (own) {
          mine.push(...messages);
          placed.add(key);
        }
      }
      box.replaceChildren(...mine.map((message) => el("li", {}, message)));
      const node = box.parentElement;
      node.classList.toggle("has-error", mine.length > 0);
    }
    const rest = Object.entries(errors).filter(([key]) => !placed.has(key) && key !== "name" && key !== "description");
    rootErrors.replaceChildren(
      ...rest.map(([, messages]) => el("div", { class: "flash flash-error" }, el("div", { class: "flash-body" }, messages.join(" "))))
    );
  }

  // --- Live count ----------------------------------------------------------------------------------------

  let timer = null;
  let inflight = null;
  let sequence = 0;

  function changed() {
    rulesInput.value = JSON.stringify(tree);
    paintErrors();
    window.clearTimeout(timer);
    const missing = incompleteCount(tree);
    if (missing) {
      statusBox.textContent = `Fill in ${missing === 1 ? "the highlighted condition" : `${missing} conditions`} to update the count.`;
      root.querySelectorAll(".rule-row").forEach((row) => row.classList.remove("is-incomplete"));
      markIncomplete(tree, "rules");
      return;
    }
    root.querySelectorAll(".is-incomplete").forEach((row) => row.classList.remove("is-incomplete"));
    statusBox.textContent = "Counting…";
    countBox.parentElement.classList.add("is-loading");
    timer = window.setTimeout(preview, PREVIEW_DELAY);
  }

  function markIncomplete(group, path) {
    group.rules.forEach((child, index) => {
      const childPath = `${path}.rules.${index}`;
      if (isGroup(child)) markIncomplete(child, childPath);
      else if (!isComplete(child)) {
        const row = root.querySelector(`[data-path="${childPath}"]`);
        if (row) row.classList.add("is-incomplete");
      }
    });
  }

  async function preview() {
    const mine = ++sequence;
    if (inflight) inflight.abort();
    inflight = new AbortController();
    let response;
    try {
      response = await fetch(`${config.api}segments/preview/`, {
        method: "POST",
        credentials: "same-origin",
        signal: inflight.signal,
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-Workspace": String(config.workspace),
          "X-CSRFToken": config.csrfToken,
        },
        body: JSON.stringify({ rules: tree }),
      });
    } catch (error) {
      if (error.name === "AbortError") return;
      showProblem("Couldn't reach the server to count; it will retry on your next change.");
      return;
    }
    if (mine !== sequence) return;
    let body = {};
    try {
      body = await response.json();
    } catch {
      body = {};
    }
    if (mine !== sequence) return;
    countBox.parentElement.classList.remove("is-loading");
    if (!response.ok) {
      const error = body.error || {};
      if (response.status === 400 && error.details) {
        errors = error.details;
        paintErrors();
        showProblem("Fix the highlighted rule to see who matches.");
      } else {
        showProblem(error.message || `Counting failed (${response.status}).`);
      }
      return;
    }
    countBox.textContent = body.count.toLocaleString();
    statusBox.textContent = body.count === 1 ? "contact matches right now." : "contacts match right now.";
    renderSample(body.sample || [], body.count);
  }

  function showProblem(message) {
    countBox.parentElement.classList.remove("is-loading");
    countBox.textContent = "–";
    statusBox.textContent = message;
    sampleList.replaceChildren();
  }

  function renderSample(sample, count) {
    const items = sample.map((contact) => {
      const name = [contact.first_name, contact.last_name].filter(Boolean).join(" ");
      const url = config.contactUrlPattern.replace("/0/", `/${contact.id}/`);
      return el(
        "li",
        {},
        el(
          "a",
          { href: url },
          el("span", { class: "avatar" }, (contact.first_name || contact.email).slice(0, 1)),
          el("span", { class: "person-text" }, el("span", { class: "name" }, name || contact.email), name ? el("span", { class: "email" }, contact.email) : null),
          el("span", { class: "badge" }, String(contact.score))
        )
      );
    });
    if (count > sample.length) items.push(el("li", { class: "subtle more" }, `and ${(count - sample.length).toLocaleString()} more`));
    sampleList.replaceChildren(...items);
  }

  render();
})();
