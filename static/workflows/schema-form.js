// A node's config panel, generated from its type's JSON Schema (pydantic's export): text, numbers,
// switches, choices, nested objects, lists of objects (a switch's branches), and a rules builder for
// conditions. The workspace's forms, segments, senders and workflows are offered by name instead of
// raw ids. Every change calls `onChange()` after writing into `config` in place.

import { el } from "../js/dom.js";
import { humanize } from "./graph.js";

const LONG_TEXT = new Set(["content", "message", "text", "body", "html", "description", "note"]);
const LONG_FORMATS = new Set(["template-textarea", "richtext"]);
const TEMPLATE_FORMATS = new Set(["template", "template-textarea", "richtext"]);
// Config fields naming a workspace object (by "format", or by name): offered by name, not id.
const PICKERS = new Set(["component", "segment", "sender", "workflow", "campaign", "contact_field"]);
const PICKER_EMPTY = {
  component: "Any form",
  segment: "No segment",
  sender: "The platform's address",
  workflow: "Choose a workflow…",
  campaign: "Any email",
  contact_field: "Choose a field…",
};
export const OPERATORS = [
  ["equals", "equals"],
  ["not_equals", "does not equal"],
  ["contains", "contains"],
  ["not_contains", "does not contain"],
  ["starts_with", "starts with"],
  ["ends_with", "ends with"],
  ["gt", "is greater than"],
  ["gte", "is at least"],
  ["lt", "is less than"],
  ["lte", "is at most"],
  ["is_set", "is set"],
  ["is_not_set", "is not set"],
  ["in", "is one of"],
  ["not_in", "is none of"],
  ["has_tag", "has tag"],
  ["not_has_tag", "doesn't have tag"],
];
const NO_VALUE = new Set(["is_set", "is_not_set"]);
const NUMERIC = new Set(["gt", "gte", "lt", "lte"]);
const LISTS = new Set(["in", "not_in"]);
const CONTACT_FIELDS = ["contact.email", "contact.first_name", "contact.last_name", "contact.phone", "contact.company", "contact.tags", "contact.score", "contact.status", "contact.source"];

let uid = 0;
const nextId = (prefix) => `${prefix}-${(uid += 1)}`;

function lookup(root, ref) {
  const parts = ref.replace(/^#\//, "").split("/");
  let value = root;
  for (const part of parts) value = value ? value[part] : undefined;
  return value || {};
}

function without(object, key) {
  const copy = { ...object };
  delete copy[key];
  return copy;
}

/** The schema with $ref / single allOf / nullable anyOf unwrapped. */
export function resolve(schema, root) {
  let current = schema || {};
  let nullable = false;
  for (let depth = 0; depth < 8; depth += 1) {
    if (current.$ref) {
      current = { ...lookup(root, current.$ref), ...without(current, "$ref") };
    } else if (current.allOf && current.allOf.length === 1) {
      current = { ...current.allOf[0], ...without(current, "allOf") };
    } else if (current.anyOf) {
      const options = current.anyOf.filter((option) => option.type !== "null");
      if (options.length < current.anyOf.length) nullable = true;
      if (options.length !== 1) break;
      current = { ...options[0], ...without(current, "anyOf") };
    } else {
      break;
    }
  }
  return { schema: current, nullable };
}

/** A config filled with the schema's defaults. */
export function defaults(schema, root = schema) {
  const config = {};
  for (const [name, property] of Object.entries(schema.properties || {})) {
    if (property.default !== undefined) {
      config[name] = JSON.parse(JSON.stringify(property.default));
      continue;
    }
    // A nested model without a default of its own (a wait's duration) starts from its fields' defaults.
    const { schema: resolved, nullable } = resolve(property, root);
    if (resolved.properties && !nullable) config[name] = defaults(resolved, root);
  }
  return config;
}

function toLocalInput(value) {
  return value ? String(value).replace(/(:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$/, "$1").slice(0, 16) : "";
}

/**
 * Builds the form for `config` (mutated in place) into `container`.
 * options: {root (the schema), errors: {path: [messages]}, choices, readOnly, onChange, suggestions}
 */
export function buildForm(container, schema, config, options) {
  container.replaceChildren();
  const form = el("div", { class: "schema-form wf-config-form" });
  const required = new Set(schema.required || []);
  const modal = "mode" in (schema.properties || {});
  const fieldOptions = {
    ...options,
    // Changing a "mode" shows other fields: rebuild.
    onChange: (path, extra = {}) => options.onChange(path, path === "mode" ? { ...extra, rebuild: true } : extra),
  };
  for (const [name, property] of Object.entries(schema.properties || {})) {
    // A field described as "(mode until)" only matters in that mode (a wait's duration, date, weekday).
    const only = modal && /\(mode (\w+)\)/.exec(property.description || "");
    const mode = config.mode ?? (schema.properties.mode || {}).default;
    if (only && only[1] !== mode) continue;
    if (modal && name === "minute" && mode !== "weekday") continue;
    form.append(field(name, property, config, name, { ...fieldOptions, required: required.has(name) }));
  }
  if (!Object.keys(schema.properties || {}).length) {
    form.append(el("p", { class: "ed-empty-note", text: "This step has nothing to set up." }));
  }
  container.append(form);
}

function errorList(options, path) {
  const messages = (options.errors || {})[path] || [];
  if (!messages.length) return null;
  return el("ul", { class: "errorlist", "data-error-for": path }, messages.map((message) => el("li", { text: message })));
}

function wrap(name, schema, path, control, options, { group = false } = {}) {
  const label = schema.title || humanize(name);
  const errors = errorList(options, path);
  const box = el(group ? "fieldset" : "div", {
    class: `${group ? "prop-group" : "prop-field"}${errors ? " has-error" : ""}`,
    "data-field": path,
  });
  if (group) box.append(el("legend", { text: label }));
  else if (control.id) box.append(el("label", { for: control.id, text: label }));
  else box.append(el("span", { class: "prop-label", text: label }));
  box.append(control);
  if (schema.description) box.append(el("div", { class: "help", text: schema.description }));
  if (errors) box.append(errors);
  return box;
}

function field(name, rawSchema, parent, path, options) {
  const { schema, nullable } = resolve(rawSchema, options.root);
  const value = parent[name];
  const set = (next) => {
    if (next === undefined || (next === "" && nullable)) {
      if (nullable) parent[name] = null;
      else if (next === undefined) delete parent[name];
      else parent[name] = next;
    } else {
      parent[name] = next;
    }
    options.onChange(path);
  };
  const disabled = options.readOnly || undefined;

  if (name === "rules" || schema.format === "rules" || (schema.properties && (schema.properties.all || schema.properties.any))) {
    const box = el("div", { class: "wf-rules", "data-path": path });
    if (!value || typeof value !== "object") parent[name] = { all: [] };
    rulesGroup(box, parent[name], path, options, 0);
    return wrap(name, schema, path, box, options, { group: true });
  }

  const picker = PICKERS.has(schema.format) ? schema.format : PICKERS.has(name) ? name : null;
  if (picker && options.choices && options.choices[picker]) {
    const id = nextId("wf-field");
    const select = el("select", { id, "data-path": path, disabled });
    const choices = options.choices[picker];
    let empty = PICKER_EMPTY[picker] || "—";
    if (picker === "contact_field" && schema.default === "") empty = "Any field";
    select.append(el("option", { value: "", text: empty }));
    for (const choice of choices) select.append(el("option", { value: String(choice.value), text: choice.label }));
    if (value !== null && value !== undefined && value !== "" && !choices.some((choice) => String(choice.value) === String(value))) {
      select.append(el("option", { value: String(value), text: `Unknown (${value})` }));
    }
    select.value = value === null || value === undefined ? "" : String(value);
    const numeric = schema.type === "integer" || schema.type === "number";
    select.addEventListener("change", () => {
      const raw = select.value;
      set(raw === "" ? (numeric || nullable ? null : "") : numeric ? Number(raw) : raw);
    });
    return wrap(name, schema, path, select, options);
  }

  if (schema.enum || schema.const !== undefined) {
    const id = nextId("wf-field");
    const values = schema.enum || [schema.const];
    const select = el("select", { id, "data-path": path, disabled });
    if (nullable) select.append(el("option", { value: "", text: "—" }));
    for (const option of values) select.append(el("option", { value: String(option), text: humanize(option) }));
    select.value = value === null || value === undefined ? (schema.default !== undefined ? String(schema.default) : "") : String(value);
    select.addEventListener("change", () => {
      const picked = values.find((option) => String(option) === select.value);
      set(picked === undefined ? "" : picked);
    });
    return wrap(name, schema, path, select, options);
  }

  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;

  if (type === "boolean") {
    const id = nextId("wf-field");
    const input = el("input", { type: "checkbox", id, "data-path": path, disabled });
    input.checked = Boolean(value ?? schema.default);
    input.addEventListener("change", () => set(input.checked));
    const label = el("label", { class: "field-check", for: id }, input, " ", schema.title || humanize(name));
    const box = el("div", { class: "prop-field", "data-field": path }, label);
    if (schema.description) box.append(el("div", { class: "help", text: schema.description }));
    const errors = errorList(options, path);
    if (errors) box.append(errors);
    return box;
  }

  if (type === "integer" || type === "number") {
    const id = nextId("wf-field");
    const input = el("input", {
      type: "number",
      id,
      "data-path": path,
      step: type === "integer" ? "1" : "any",
      min: schema.minimum ?? schema.exclusiveMinimum,
      max: schema.maximum ?? schema.exclusiveMaximum,
      disabled,
    });
    input.value = value === null || value === undefined ? "" : String(value);
    input.addEventListener("input", () => {
      const raw = input.value.trim();
      if (raw === "") set(nullable ? null : undefined);
      else set(type === "integer" ? Number.parseInt(raw, 10) : Number(raw));
    });
    const box = wrap(name, schema, path, input, options);
    box.classList.add("prop-narrow");
    return box;
  }

  if (type === "array" && schema.format === "members" && options.choices && options.choices.members) {
    const list = Array.isArray(value) ? value : [];
    const box = el("div", { class: "wf-checks wf-checks-stacked", "data-path": path });
    for (const member of options.choices.members) {
      const id = nextId("wf-field");
      const input = el("input", { type: "checkbox", id, value: String(member.value), disabled });
      input.checked = list.some((item) => String(item) === String(member.value));
      input.addEventListener("change", () => set(Array.from(box.querySelectorAll("input:checked")).map((node) => Number(node.value))));
      box.append(el("label", { class: "field-check", for: id }, input, " ", member.label));
    }
    return wrap(name, schema, path, box, options, { group: true });
  }

  if (type === "string") {
    const id = nextId("wf-field");
    let input;
    if (schema.format === "date-time") {
      input = el("input", { type: "datetime-local", id, "data-path": path, disabled });
      input.value = toLocalInput(value);
      input.addEventListener("change", () => set(input.value ? `${input.value}:00` : nullable ? null : ""));
    } else {
      const long = LONG_FORMATS.has(schema.format) || (LONG_TEXT.has(name) && schema.format !== "template") || (schema.maxLength || 0) > 20000;
      input = el(long ? "textarea" : "input", {
        type: long ? null : "text",
        id,
        "data-path": path,
        maxlength: schema.maxLength,
        rows: long ? (name === "content" || name === "body" ? 8 : 4) : null,
        placeholder: schema.examples ? String(schema.examples[0]) : null,
        list: name === "tag" && options.choices && options.choices.tag ? "wf-tags" : null,
        disabled,
      });
      input.value = value === null || value === undefined ? "" : String(value);
      input.addEventListener("input", () => set(input.value));
    }
    const box = wrap(name, schema, path, input, options);
    if (TEMPLATE_FORMATS.has(schema.format) && !/\{\{|template/i.test(schema.description || "")) {
      box.append(el("div", { class: "help wf-template-help", html: "Personalise with <code>{{ contact.first_name }}</code>, <code>{{ trigger.… }}</code> or <code>{{ steps.&lt;step&gt;.output.… }}</code>." }));
    }
    return box;
  }

  if (type === "array") {
    const items = resolve(schema.items || {}, options.root).schema;
    const list = Array.isArray(value) ? value : [];
    if (items.enum) {
      const box = el("div", { class: "wf-checks", "data-path": path });
      for (const option of items.enum) {
        const id = nextId("wf-field");
        const input = el("input", { type: "checkbox", id, value: String(option), disabled });
        input.checked = list.some((item) => String(item) === String(option));
        input.addEventListener("change", () => {
          const checked = Array.from(box.querySelectorAll("input:checked")).map((node) => items.enum.find((o) => String(o) === node.value));
          set(checked);
        });
        box.append(el("label", { class: "field-check", for: id }, input, " ", humanize(option)));
      }
      return wrap(name, schema, path, box, options, { group: true });
    }
    if (items.type === "object" || items.properties) {
      return objectList(name, schema, items, parent, path, options);
    }
    const id = nextId("wf-field");
    const input = el("input", { type: "text", id, "data-path": path, placeholder: "Separate with commas", disabled });
    input.value = list.join(", ");
    input.addEventListener("input", () => {
      const parts = input.value.split(",").map((part) => part.trim()).filter(Boolean);
      set(items.type === "integer" || items.type === "number" ? parts.map(Number).filter((n) => !Number.isNaN(n)) : parts);
    });
    return wrap(name, schema, path, input, options);
  }

  if ((type === "object" || schema.properties) && schema.properties) {
    if (!value || typeof value !== "object" || Array.isArray(value)) parent[name] = {};
    const box = el("div", { class: "prop-body" });
    const required = new Set(schema.required || []);
    for (const [child, childSchema] of Object.entries(schema.properties)) {
      box.append(field(child, childSchema, parent[name], `${path}.${child}`, { ...options, required: required.has(child) }));
    }
    return wrap(name, schema, path, box, options, { group: true });
  }

  return jsonField(name, schema, value, path, set, options);
}

function jsonField(name, schema, value, path, set, options) {
  const id = nextId("wf-field");
  const input = el("textarea", { id, "data-path": path, rows: 5, class: "mono", spellcheck: "false", disabled: options.readOnly || undefined });
  input.value = value === undefined ? "" : JSON.stringify(value, null, 2);
  const problem = el("ul", { class: "errorlist", hidden: true });
  input.addEventListener("input", () => {
    const raw = input.value.trim();
    if (!raw) {
      problem.hidden = true;
      set(undefined);
      return;
    }
    try {
      const parsed = JSON.parse(raw);
      problem.hidden = true;
      set(parsed);
    } catch {
      problem.replaceChildren(el("li", { text: "Not valid JSON yet: it's kept as it was until it parses." }));
      problem.hidden = false;
    }
  });
  const box = wrap(name, schema, path, input, options);
  box.append(problem);
  return box;
}

/** One item of a list's label: "Branches" → "Branch", "Variants" → "Variant". */
function singular(label) {
  return label.replace(/(ch|sh|x|ss)es$/, "$1").replace(/([^s])s$/, "$1");
}

function objectList(name, schema, items, parent, path, options) {
  if (!Array.isArray(parent[name])) parent[name] = [];
  const list = parent[name];
  const body = el("div", { class: "prop-body" });
  const required = new Set(items.required || []);
  list.forEach((item, index) => {
    const itemPath = `${path}.${index}`;
    const row = el("div", { class: "prop-item wf-list-item", "data-field": itemPath });
    const head = el("div", { class: "wf-list-head" }, el("strong", { text: `${singular(humanize(name))} ${index + 1}` }));
    if (!options.readOnly) {
      head.append(
        el("button", {
          type: "button",
          class: "btn btn-ghost btn-sm",
          text: "Remove",
          onclick: () => {
            list.splice(index, 1);
            options.onChange(path, { rebuild: true });
          },
        }),
      );
    }
    row.append(head);
    for (const [child, childSchema] of Object.entries(items.properties || {})) {
      row.append(field(child, childSchema, item, `${itemPath}.${child}`, { ...options, required: required.has(child) }));
    }
    body.append(row);
  });
  if (!options.readOnly) {
    body.append(
      el("button", {
        type: "button",
        class: "btn btn-secondary btn-sm",
        "data-testid": `add-${name}`,
        text: `Add ${singular(humanize(name)).toLowerCase()}`,
        onclick: () => {
          const item = defaults(items, options.root);
          if ("port" in (items.properties || {}) && !item.port) item.port = `${name.replace(/es$|s$/, "")}_${list.length + 1}`;
          list.push(item);
          options.onChange(path, { rebuild: true });
        },
      }),
    );
  }
  const box = wrap(name, schema, path, body, options, { group: true });
  box.classList.add("prop-array");
  return box;
}

// --- Rules builder -----------------------------------------------------------------------------------

function coerce(op, raw) {
  if (NO_VALUE.has(op)) return undefined;
  if (LISTS.has(op)) return raw.split(",").map((part) => part.trim()).filter(Boolean);
  if (NUMERIC.has(op) && raw.trim() !== "" && !Number.isNaN(Number(raw))) return Number(raw);
  return raw;
}

function rulesGroup(box, group, path, options, depth) {
  box.replaceChildren();
  const mode = Array.isArray(group.any) ? "any" : "all";
  if (!Array.isArray(group[mode])) group[mode] = [];
  const rules = group[mode];
  const disabled = options.readOnly || undefined;
  const select = el(
    "select",
    { class: "select-sm", "aria-label": "Match", "data-testid": "rules-mode", disabled },
    el("option", { value: "all", text: "All of these are true" }),
    el("option", { value: "any", text: "Any of these is true" }),
  );
  select.value = mode;
  select.addEventListener("change", () => {
    const items = group[mode];
    delete group[mode];
    group[select.value] = items;
    rulesGroup(box, group, path, options, depth);
    options.onChange(path);
  });
  box.append(select);
  rules.forEach((rule, index) => {
    const rulePath = `${path}.${mode}.${index}`;
    if (rule && (Array.isArray(rule.all) || Array.isArray(rule.any))) {
      const nested = el("div", { class: "wf-rules wf-rules-nested" });
      rulesGroup(nested, rule, rulePath, options, depth + 1);
      if (!options.readOnly) {
        nested.append(el("button", { type: "button", class: "btn btn-ghost btn-sm", text: "Remove group", onclick: () => remove(index) }));
      }
      box.append(nested);
      return;
    }
    box.append(ruleRow(rule, rulePath, options, () => remove(index)));
  });
  if (!rules.length) box.append(el("p", { class: "ed-empty-note", text: "No rules yet: add one." }));
  if (!options.readOnly) {
    const actions = el("div", { class: "row wf-rules-actions" });
    actions.append(
      el("button", {
        type: "button",
        class: "btn btn-secondary btn-sm",
        "data-testid": "add-rule",
        text: "Add rule",
        onclick: () => {
          rules.push({ field: "contact.email", op: "is_set" });
          rulesGroup(box, group, path, options, depth);
          options.onChange(path);
        },
      }),
    );
    if (depth < 2) {
      actions.append(
        el("button", {
          type: "button",
          class: "btn btn-ghost btn-sm",
          text: "Add group",
          onclick: () => {
            rules.push({ any: [{ field: "contact.tags", op: "has_tag", value: "" }] });
            rulesGroup(box, group, path, options, depth);
            options.onChange(path);
          },
        }),
      );
    }
    box.append(actions);
  }

  function remove(index) {
    rules.splice(index, 1);
    rulesGroup(box, group, path, options, depth);
    options.onChange(path);
  }
}

function ruleRow(rule, path, options, onRemove) {
  const disabled = options.readOnly || undefined;
  const errors = Object.entries(options.errors || {}).filter(([key]) => key === path || key.startsWith(`${path}.`)).flatMap(([, messages]) => messages);
  const row = el("div", { class: `wf-rule${errors.length ? " has-error" : ""}`, "data-field": path, "data-testid": "rule" });
  const fieldInput = el("input", { type: "text", value: rule.field || "", list: "wf-rule-fields", "aria-label": "Field", placeholder: "contact.email", disabled });
  const op = el("select", { "aria-label": "Operator", disabled }, OPERATORS.map(([value, label]) => el("option", { value, text: label })));
  op.value = rule.op || "equals";
  const valueInput = el("input", { type: "text", "aria-label": "Value", placeholder: "Value", disabled });
  valueInput.value = Array.isArray(rule.value) ? rule.value.join(", ") : rule.value ?? "";
  const sync = () => {
    rule.field = fieldInput.value.trim();
    rule.op = op.value;
    const value = coerce(op.value, valueInput.value);
    if (value === undefined) delete rule.value;
    else rule.value = value;
    valueInput.hidden = NO_VALUE.has(op.value);
    options.onChange(path);
  };
  valueInput.hidden = NO_VALUE.has(op.value);
  fieldInput.addEventListener("input", sync);
  op.addEventListener("change", sync);
  valueInput.addEventListener("input", sync);
  row.append(fieldInput, op, valueInput);
  if (!options.readOnly) row.append(el("button", { type: "button", class: "btn btn-ghost btn-icon btn-sm", "aria-label": "Remove rule", text: "×", onclick: onRemove }));
  if (errors.length) row.append(el("ul", { class: "errorlist" }, errors.map((message) => el("li", { text: message }))));
  return row;
}

/** The datalist of fields a rule can test: the contact's, the trigger's, earlier steps' outputs. */
export function ruleFieldSuggestions(stepIds) {
  const list = el("datalist", { id: "wf-rule-fields" });
  const values = [...CONTACT_FIELDS, "trigger.email", ...stepIds.flatMap((id) => [`steps.${id}.output.status`, `steps.${id}.output`])];
  for (const value of values) list.append(el("option", { value }));
  return list;
}
