// The workflow editor: a Drawflow canvas over the workflow's draft definition. The definition held
// here is the source of truth; the canvas draws it, and every edit on the canvas (add, move, connect,
// delete) is written back into it. Save PUTs it; Check asks the API to validate it and puts each error
// on its node and field; Test runs it dry with sample data and shows what each node did; Activate
// freezes it into a new version.

import { OUT, TRIGGER_ID, draw, escapeHtml, fit, humanize, icon, labelPorts, nodeHtml, portsFor, setChoiceLabels } from "./graph.js";
import { el } from "../js/dom.js";
import { api } from "./api.js";
import { buildForm, defaults, resolve, ruleFieldSuggestions } from "./schema-form.js";

const config = JSON.parse(document.getElementById("workflow-config").textContent);
const canWrite = config.canWrite;
const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

const KINDS = [
  ["trigger", "Triggers", "What starts the workflow. There is one; picking another replaces it."],
  ["action", "Actions", ""],
  ["logic", "Logic", ""],
];
const REENTRY = [
  ["always", "Every time the trigger fires"],
  ["once", "Only once per contact"],
  ["interval", "At most once per contact every N days"],
];
const SAMPLE_DATA = { email: "jane@example.com", first_name: "Jane", last_name: "Doe" };

const state = {
  workflow: null,
  def: null,
  types: new Map(),
  catalog: [],
  maps: { toDf: new Map(), fromDf: new Map(), ports: new Map() },
  selected: null,
  dirty: false,
  saving: false,
  rendering: false,
  errors: { nodes: new Map(), general: [], fields: {} },
  test: null,
};

const root = $("[data-testid=workflow-editor]");
const canvas = $("#wf-canvas");
const panel = $("[data-testid=properties]");
const statusBox = $("[data-testid=save-status]");
const toastBox = $("[data-testid=toast]");
const drawer = $("[data-testid=test-drawer]");
let editor = null;

const results = (body) => (Array.isArray(body) ? body : (body && body.results) || []);

// --- Status and toasts ---------------------------------------------------------------------------------

function setStatus(status, text) {
  statusBox.dataset.status = status;
  $(".ed-status-text", statusBox).textContent = text;
}

let toastTimer = null;
function toast(message, kind = "info") {
  toastBox.textContent = message;
  toastBox.dataset.kind = kind;
  toastBox.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (toastBox.hidden = true), kind === "error" ? 7000 : 3500);
}

function markDirty() {
  if (!canWrite) return;
  state.dirty = true;
  setStatus("pending", "Unsaved changes");
  record();
}

// --- Undo and redo: snapshots of the definition, name and description, a change at a time ---------------

const HISTORY_DEPTH = 50;
const history = { stack: [], cursor: -1, timer: null, applying: false };

function snapshot() {
  return JSON.stringify({ definition: outgoingDefinition(), name: $("#wf-name").value, description: state.workflow.description || "" });
}

function commitSnapshot() {
  clearTimeout(history.timer);
  history.timer = null;
  const current = snapshot();
  if (history.stack[history.cursor] === current) return;
  history.stack = history.stack.slice(0, history.cursor + 1);
  history.stack.push(current);
  if (history.stack.length > HISTORY_DEPTH) history.stack.shift();
  history.cursor = history.stack.length - 1;
  updateHistoryButtons();
}

function record() {
  if (history.applying || !editor || !state.def) return;
  clearTimeout(history.timer);
  // Typing in a field is one change, not one per key.
  history.timer = setTimeout(commitSnapshot, 350);
}

function resetHistory() {
  clearTimeout(history.timer);
  history.stack = [snapshot()];
  history.cursor = 0;
  updateHistoryButtons();
}

function updateHistoryButtons() {
  const undo = $("[data-action=undo]");
  const redo = $("[data-action=redo]");
  if (undo) undo.disabled = history.cursor <= 0;
  if (redo) redo.disabled = history.cursor >= history.stack.length - 1;
}

function travel(step) {
  if (history.timer) commitSnapshot();
  const target = history.cursor + step;
  if (target < 0 || target >= history.stack.length) return;
  history.cursor = target;
  const { definition, name, description } = JSON.parse(history.stack[target]);
  history.applying = true;
  const triggerPosition = state.def.trigger.position;
  state.def = normalise(definition);
  state.def.trigger.position = triggerPosition;
  $("#wf-name").value = name;
  state.workflow.description = description;
  state.test = null;
  clearErrors();
  redraw();
  select(state.selected && nodeSpec(state.selected) ? state.selected : null);
  markDirty();
  history.applying = false;
  updateHistoryButtons();
}

window.addEventListener("beforeunload", (event) => {
  if (state.dirty) {
    event.preventDefault();
    event.returnValue = "";
  }
});

// --- Definition helpers ----------------------------------------------------------------------------------

function nodeSpec(id) {
  if (id === TRIGGER_ID) return state.def.trigger;
  return state.def.nodes.find((node) => node.id === id);
}

function newNodeId(type) {
  const taken = new Set(state.def.nodes.map((node) => node.id));
  if (!taken.has(type)) return type;
  for (let n = 2; ; n += 1) if (!taken.has(`${type}_${n}`)) return `${type}_${n}`;
}

function wouldCycle(source, target) {
  // Connecting source → target closes a loop when source is reachable from target.
  const seen = new Set();
  const stack = [target];
  while (stack.length) {
    const id = stack.pop();
    if (id === source) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const edge of state.def.edges) if (edge.source === id) stack.push(edge.target);
  }
  return false;
}

function normalise(definition) {
  const def = definition && typeof definition === "object" ? JSON.parse(JSON.stringify(definition)) : {};
  if (!def.trigger || typeof def.trigger !== "object") def.trigger = { type: "manual", config: {} };
  if (!def.trigger.config) def.trigger.config = {};
  if (!Array.isArray(def.nodes)) def.nodes = [];
  if (!Array.isArray(def.edges)) def.edges = [];
  for (const node of def.nodes) if (!node.config) node.config = {};
  return def;
}

function outgoingDefinition() {
  // The trigger's canvas position is the editor's own business: the contract has none.
  const data = editor.drawflow.drawflow[editor.module].data;
  for (const node of state.def.nodes) {
    const dfId = state.maps.toDf.get(node.id);
    if (dfId !== undefined && data[dfId]) node.position = { x: Math.round(data[dfId].pos_x), y: Math.round(data[dfId].pos_y) };
  }
  const def = JSON.parse(JSON.stringify(state.def));
  delete def.trigger.position;
  for (const node of def.nodes) if (!node.name) delete node.name;
  for (const edge of def.edges) if (!edge.port || edge.port === OUT) delete edge.port;
  return def;
}

// --- Canvas ---------------------------------------------------------------------------------------------

function redraw({ keepView = true } = {}) {
  state.rendering = true;
  const view = { x: editor.canvas_x, y: editor.canvas_y, zoom: editor.zoom };
  const triggerDf = state.maps.toDf.get(TRIGGER_ID);
  const data = triggerDf !== undefined ? editor.drawflow.drawflow[editor.module].data[triggerDf] : null;
  if (data) state.def.trigger.position = { x: data.pos_x, y: data.pos_y };
  outgoingPositions();
  state.maps = draw(editor, state.def, state.types);
  if (keepView) {
    editor.canvas_x = view.x;
    editor.canvas_y = view.y;
    editor.zoom = view.zoom;
    editor.precanvas.style.transform = `translate(${view.x}px, ${view.y}px) scale(${view.zoom})`;
  }
  state.rendering = false;
  decorate();
}

function outgoingPositions() {
  if (!editor) return;
  const data = editor.drawflow.drawflow[editor.module].data;
  for (const node of state.def.nodes) {
    const dfId = state.maps.toDf.get(node.id);
    if (dfId !== undefined && data[dfId]) node.position = { x: Math.round(data[dfId].pos_x), y: Math.round(data[dfId].pos_y) };
  }
}

/** Errors, the selection and the last test's outcome, drawn onto the nodes. */
function decorate() {
  for (const [id, dfId] of state.maps.toDf) {
    const box = document.getElementById(`node-${dfId}`);
    if (!box) continue;
    const errors = state.errors.nodes.get(id);
    box.classList.toggle("has-error", Boolean(errors));
    box.classList.toggle("is-selected", state.selected === id);
    const badge = $("[data-badge]", box);
    const step = state.test && state.test.byNode.get(id);
    box.dataset.testStatus = step ? step.status : "";
    if (errors) {
      const count = Object.values(errors).flat().length;
      badge.hidden = false;
      badge.className = "wf-node-badge is-error";
      badge.textContent = "!";
      badge.title = Object.values(errors).flat().join(" ");
      box.dataset.errors = String(count);
    } else if (step) {
      badge.hidden = false;
      badge.className = `wf-node-badge is-${step.status}`;
      badge.textContent = step.status === "succeeded" ? "✓" : step.status === "failed" ? "✕" : "•";
      badge.title = step.error || `${humanize(step.status)}${step.port && step.port !== OUT ? ` → ${step.port}` : ""}`;
      delete box.dataset.errors;
    } else {
      badge.hidden = true;
      delete box.dataset.errors;
    }
  }
  $$(".connection", canvas).forEach((connection) => connection.classList.remove("is-taken"));
  if (state.test) {
    // The trigger fired for the test to run at all; it has no step of its own.
    const fired = state.test.byNode.has(TRIGGER_ID) ? [] : [{ node_id: TRIGGER_ID, port: OUT }];
    for (const step of [...fired, ...state.test.steps]) {
      const dfId = state.maps.toDf.get(step.node_id);
      const ports = state.maps.ports.get(step.node_id) || [];
      const index = ports.indexOf(step.port || OUT);
      if (dfId === undefined || index < 0) continue;
      $$(`.connection.node_out_node-${dfId}.output_${index + 1}`, canvas).forEach((connection) => connection.classList.add("is-taken"));
    }
  }
  const empty = state.def.nodes.length === 0;
  $("[data-canvas-empty]").hidden = !empty;
}

function refreshNode(id) {
  const dfId = state.maps.toDf.get(id);
  const box = dfId !== undefined && $(`#node-${dfId} .drawflow_content_node`);
  const spec = nodeSpec(id);
  if (!box || !spec) return;
  const nodeType = state.types.get(spec.type);
  const ports = portsFor(nodeType, spec.config);
  const current = state.maps.ports.get(id) || [];
  if (ports.join("\u0000") !== current.join("\u0000")) {
    // A switch's branches changed: edges from ports that are gone go with them.
    state.def.edges = state.def.edges.filter((edge) => edge.source !== id || ports.includes(edge.port || OUT));
    redraw();
    return;
  }
  box.innerHTML = nodeHtml(id === TRIGGER_ID ? { ...spec, id } : spec, nodeType, { isTrigger: id === TRIGGER_ID });
  labelPorts(dfId, ports);
  decorate();
}

function canvasPoint(clientX, clientY) {
  const rect = editor.precanvas.getBoundingClientRect();
  return { x: (clientX - rect.left) / editor.zoom, y: (clientY - rect.top) / editor.zoom };
}

function addNode(type, position, { connectFrom = null } = {}) {
  const nodeType = state.types.get(type);
  if (!nodeType || !canWrite) return;
  if (nodeType.kind === "trigger") {
    state.def.trigger = { type, config: defaults(nodeType.schema || {}), position: state.def.trigger.position };
    redraw();
    select(TRIGGER_ID);
    markDirty();
    toast(`The workflow now starts on “${nodeType.name}”.`);
    return;
  }
  const id = newNodeId(type);
  const node = { id, type, config: defaults(nodeType.schema || {}), position: { x: Math.round(position.x), y: Math.round(position.y) } };
  state.def.nodes.push(node);
  if (connectFrom) {
    const ports = state.maps.ports.get(connectFrom) || [OUT];
    const used = new Set(state.def.edges.filter((edge) => edge.source === connectFrom).map((edge) => edge.port || OUT));
    const port = ports.find((candidate) => !used.has(candidate)) || ports[0];
    if (port) state.def.edges.push(port === OUT ? { source: connectFrom, target: id } : { source: connectFrom, port, target: id });
  }
  redraw();
  select(id);
  markDirty();
}

function positionAfter(id) {
  const dfId = state.maps.toDf.get(id);
  const data = dfId !== undefined ? editor.drawflow.drawflow[editor.module].data[dfId] : null;
  if (!data) return { x: 360, y: 120 };
  const siblings = state.def.edges.filter((edge) => edge.source === id).length;
  return { x: data.pos_x + 330, y: data.pos_y + siblings * 140 };
}

/** The definition's edge for a Drawflow connection: Drawflow numbers outputs, the definition names ports. */
function edgeOf(info) {
  const source = state.maps.fromDf.get(String(info.output_id));
  const target = state.maps.fromDf.get(String(info.input_id));
  const ports = state.maps.ports.get(source) || [OUT];
  const port = ports[Number(String(info.output_class).replace("output_", "")) - 1] || OUT;
  return { source, target, port };
}

function setupCanvas() {
  editor = new window.Drawflow(canvas);
  editor.reroute = false;
  editor.force_first_input = false;
  editor.zoom_max = 1.6;
  editor.zoom_min = 0.3;
  editor.start();
  editor.editor_mode = canWrite ? "edit" : "view";

  editor.on("nodeMoved", () => markDirty());
  editor.on("connectionCreated", (info) => {
    if (state.rendering) return;
    const { source, target, port } = edgeOf(info);
    const refuse = (message) => {
      state.rendering = true;
      editor.removeSingleConnection(info.output_id, info.input_id, info.output_class, info.input_class);
      state.rendering = false;
      toast(message, "error");
    };
    if (!source || !target || source === target) return refuse("A step can't lead to itself.");
    if (wouldCycle(source, target)) return refuse("That connection would make a loop: a workflow runs forwards only.");
    state.def.edges.push(port === OUT ? { source, target } : { source, port, target });
    markDirty();
    clearErrorsFor(source);
    decorate();
  });
  editor.on("connectionRemoved", (info) => {
    if (state.rendering) return;
    const { source, target, port } = edgeOf(info);
    const index = state.def.edges.findIndex((edge) => edge.source === source && edge.target === target && (edge.port || OUT) === port);
    if (index >= 0) state.def.edges.splice(index, 1);
    markDirty();
  });
  editor.on("nodeRemoved", (dfId) => {
    if (state.rendering) return;
    const id = state.maps.fromDf.get(String(dfId));
    if (id === TRIGGER_ID) {
      toast("The trigger stays: pick another one from the palette to replace it.", "error");
      redraw();
      return;
    }
    state.def.nodes = state.def.nodes.filter((node) => node.id !== id);
    state.def.edges = state.def.edges.filter((edge) => edge.source !== id && edge.target !== id);
    state.errors.nodes.delete(id);
    if (state.selected === id) select(null);
    redraw();
    markDirty();
  });

  // Selection is ours, in every mode (Drawflow reports none in view mode).
  // A click that ends a drag (panning, moving a node, drawing a connection) selects nothing.
  let pressedAt = null;
  canvas.addEventListener("mousedown", (event) => (pressedAt = { x: event.clientX, y: event.clientY }));
  canvas.addEventListener("click", (event) => {
    const moved = pressedAt && Math.hypot(event.clientX - pressedAt.x, event.clientY - pressedAt.y) > 4;
    if (moved && !event.target.closest(".drawflow-node")) return;
    const box = event.target.closest(".drawflow-node");
    if (!box) {
      if (event.target.closest(".drawflow, .parent-drawflow") && !event.target.closest(".connection")) select(null);
      return;
    }
    select(state.maps.fromDf.get(box.id.replace("node-", "")) || null);
  });
  canvas.addEventListener("dragover", (event) => {
    if (!canWrite) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  canvas.addEventListener("drop", (event) => {
    const type = event.dataTransfer.getData("application/x-workflow-node") || event.dataTransfer.getData("text/plain");
    if (!type || !state.types.has(type)) return;
    event.preventDefault();
    const point = canvasPoint(event.clientX, event.clientY);
    addNode(type, { x: point.x - 110, y: point.y - 30 });
  });
  $("[data-action=zoom-in]").addEventListener("click", () => editor.zoom_in());
  $("[data-action=zoom-out]").addEventListener("click", () => editor.zoom_out());
  $("[data-action=fit]").addEventListener("click", () => fit(editor, canvas));
}

// --- Palette ---------------------------------------------------------------------------------------------

function renderPalette() {
  const box = $("[data-testid=palette]");
  box.replaceChildren();
  for (const [kind, label, hint] of KINDS) {
    const types = state.catalog.filter((type) => type.kind === kind);
    if (!types.length) continue;
    const group = el("div", { class: "ed-palette-group wf-palette-group", "data-kind": kind }, el("div", { class: "ed-panel-title", text: label }));
    if (hint) group.append(el("p", { class: "ed-hint wf-palette-hint", text: hint }));
    for (const type of types) {
      const item = el(
        "button",
        {
          type: "button",
          class: "wf-palette-item",
          draggable: canWrite ? "true" : null,
          "data-testid": "palette-item",
          "data-type": type.type,
          "data-kind": kind,
          title: type.description || type.name,
          disabled: canWrite ? null : true,
          "data-search": `${type.name} ${type.type} ${type.description || ""}`.toLowerCase(),
        },
        el("span", { class: "wf-palette-icon", html: icon(type.type) }),
        el("span", { class: "wf-palette-text" }, el("span", { class: "wf-palette-name", text: type.name }), type.description ? el("span", { class: "wf-palette-desc", text: type.description }) : null),
      );
      item.addEventListener("dragstart", (event) => {
        event.dataTransfer.setData("application/x-workflow-node", type.type);
        event.dataTransfer.setData("text/plain", type.type);
        event.dataTransfer.effectAllowed = "copy";
      });
      item.addEventListener("click", () => {
        const from = state.selected && state.selected !== null ? state.selected : TRIGGER_ID;
        const connectFrom = type.kind === "trigger" ? null : from;
        const ports = state.maps.ports.get(connectFrom) || [];
        addNode(type.type, positionAfter(from), { connectFrom: ports.length ? connectFrom : null });
      });
      group.append(item);
    }
    box.append(group);
  }
  const filter = $("[data-palette-filter]");
  filter.addEventListener("input", () => {
    const query = filter.value.trim().toLowerCase();
    $$(".wf-palette-item", box).forEach((item) => (item.hidden = Boolean(query) && !item.dataset.search.includes(query)));
  });
}

// --- Errors -----------------------------------------------------------------------------------------------

function parseErrors(details) {
  const parsed = { nodes: new Map(), general: [], fields: {} };
  const addNode = (id, field, messages) => {
    const entry = parsed.nodes.get(id) || {};
    entry[field] = [...(entry[field] || []), ...messages];
    parsed.nodes.set(id, entry);
  };
  for (const [rawKey, value] of Object.entries(details || {})) {
    const messages = (Array.isArray(value) ? value : [value]).map((message) => (typeof message === "string" ? message : JSON.stringify(message)));
    const key = rawKey.replace(/^definition\./, "");
    const parts = key.split(".");
    if (parts[0] === "nodes" && parts.length >= 2) {
      let id = parts[1];
      if (!nodeSpec(id) && /^\d+$/.test(id) && state.def.nodes[Number(id)]) id = state.def.nodes[Number(id)].id;
      if (nodeSpec(id)) {
        const rest = parts.slice(2);
        addNode(id, rest[0] === "config" ? rest.slice(1).join(".") : rest.join("."), messages);
        continue;
      }
    }
    if (parts[0] === "trigger") {
      const rest = parts.slice(1);
      addNode(TRIGGER_ID, rest[0] === "config" ? rest.slice(1).join(".") : rest.join("."), messages);
      continue;
    }
    if (parts[0] === "edges" && parts.length >= 2 && state.def.edges[Number(parts[1])]) {
      const edge = state.def.edges[Number(parts[1])];
      const target = nodeSpec(edge.target);
      addNode(edge.source, "", messages.map((message) => `Connection to “${target ? target.name || target.id : edge.target}”: ${message}`));
      continue;
    }
    if (key === "name" || key === "description" || key.startsWith("reentry")) {
      parsed.fields[key] = messages;
      continue;
    }
    parsed.general.push(...messages.map((message) => (key && key !== "non_field_errors" && key !== "definition" ? `${humanize(key)}: ${message}` : message)));
  }
  return parsed;
}

function showErrors(details) {
  state.errors = parseErrors(details);
  decorate();
  renderPanel();
}

function clearErrors() {
  state.errors = { nodes: new Map(), general: [], fields: {} };
  decorate();
}

function clearErrorsFor(id) {
  if (state.errors.nodes.delete(id)) decorate();
}

function errorCount() {
  let count = state.errors.general.length + Object.values(state.errors.fields).flat().length;
  for (const entry of state.errors.nodes.values()) count += Object.values(entry).flat().length;
  return count;
}

// --- Properties panel ---------------------------------------------------------------------------------------

function select(id) {
  state.selected = id && nodeSpec(id) ? id : null;
  decorate();
  renderPanel();
}

function renderPanel() {
  panel.replaceChildren();
  if (!state.def) return;
  if (!state.selected) {
    renderWorkflowPanel();
    return;
  }
  const id = state.selected;
  const spec = nodeSpec(id);
  const nodeType = state.types.get(spec.type);
  const isTrigger = id === TRIGGER_ID;
  panel.append(
    el(
      "div",
      { class: "ed-prop-header" },
      el("div", { class: "ed-prop-icon", html: icon(spec.type) }),
      el(
        "div",
        { class: "ed-prop-heading" },
        el("h2", { "data-testid": "properties-title", text: spec.name || (nodeType ? nodeType.name : humanize(spec.type)) }),
        el("p", { text: nodeType ? nodeType.description || humanize(nodeType.kind) : `Unknown node type “${spec.type}”. Remove it or restore a version.` }),
      ),
      el("button", { type: "button", class: "btn btn-ghost btn-icon btn-sm", "aria-label": "Close", text: "×", onclick: () => select(null) }),
    ),
  );
  const errors = state.errors.nodes.get(id) || {};
  const schema = (nodeType && nodeType.schema) || { properties: {} };
  const known = new Set(collectPaths(schema, spec.config));
  const loose = Object.entries(errors).filter(([field]) => !field || !known.has(field));
  if (loose.length) {
    panel.append(el("div", { class: "ed-prop-errors", "data-testid": "node-errors" }, loose.flatMap(([field, messages]) => messages.map((message) => el("p", { text: field ? `${humanize(field.split(".").pop())}: ${message}` : message })))));
  }

  const meta = el("div", { class: "ed-prop-section schema-form" });
  if (isTrigger) {
    const select = el("select", { id: "wf-trigger-type", "data-testid": "trigger-type", disabled: canWrite ? null : true });
    for (const type of state.catalog.filter((item) => item.kind === "trigger")) select.append(el("option", { value: type.type, text: type.name }));
    select.value = spec.type;
    select.addEventListener("change", () => addNode(select.value, null));
    meta.append(el("div", { class: "prop-field" }, el("label", { for: "wf-trigger-type", text: "Starts when" }), select));
  } else {
    const label = el("input", { type: "text", id: "wf-node-label", value: spec.name || "", maxlength: "120", placeholder: nodeType ? nodeType.name : "", disabled: canWrite ? null : true, "data-testid": "node-label" });
    label.addEventListener("input", () => {
      spec.name = label.value.trim();
      refreshNode(id);
      markDirty();
    });
    meta.append(el("div", { class: "prop-field" }, el("label", { for: "wf-node-label", text: "Label on the canvas" }), label), el("div", { class: "help wf-node-id", html: `Step id <code>${escapeHtml(id)}</code> — use <code>{{ steps.${escapeHtml(id)}.output… }}</code> in later steps.` }));
  }
  panel.append(meta);

  const formBox = el("div", { class: "ed-prop-section", "data-testid": "node-config" });
  panel.append(formBox);
  const build = () =>
    buildForm(formBox, schema, spec.config, {
      root: schema,
      errors,
      readOnly: !canWrite,
      choices: config.choices,
      onChange: (path, { rebuild = false } = {}) => {
        markDirty();
        if (errors[path]) {
          delete errors[path];
          const field = $(`[data-field="${CSS.escape(path)}"]`, formBox);
          if (field) {
            field.classList.remove("has-error");
            $$(":scope > .errorlist", field).forEach((list) => list.remove());
          }
          if (!Object.values(errors).flat().length) state.errors.nodes.delete(id);
        }
        refreshNode(id);
        if (rebuild) build();
      },
    });
  build();
  // Beside the form, not in it: a rebuild (another mode, one more branch) empties the form's box.
  panel.append(ruleFieldSuggestions(state.def.nodes.map((node) => node.id).filter((other) => other !== id)));

  const step = state.test && state.test.byNode.get(id);
  if (step) panel.append(stepSection(step));

  if (!isTrigger && canWrite) {
    panel.append(
      el(
        "div",
        { class: "ed-prop-section" },
        el("button", {
          type: "button",
          class: "btn btn-danger-ghost btn-sm",
          "data-testid": "delete-node",
          text: "Delete this step",
          onclick: () => editor.removeNodeId(`node-${state.maps.toDf.get(id)}`),
        }),
      ),
    );
  }
}

function collectPaths(schema, config, prefix = "", rootSchema = schema) {
  const paths = [];
  for (const [name, property] of Object.entries(schema.properties || {})) {
    const path = prefix ? `${prefix}.${name}` : name;
    paths.push(path);
    const resolved = resolve(property, rootSchema).schema;
    const value = config ? config[name] : undefined;
    if (resolved.properties) paths.push(...collectPaths(resolved, value || {}, path, rootSchema));
    if (Array.isArray(value)) {
      const items = resolve(resolved.items || {}, rootSchema).schema;
      value.forEach((item, index) => {
        paths.push(`${path}.${index}`);
        if (items.properties) paths.push(...collectPaths(items, item || {}, `${path}.${index}`, rootSchema));
      });
    }
    if (name === "rules") for (const key of Object.keys(flattenRules(value, path))) paths.push(key);
  }
  return paths;
}

function flattenRules(group, path, out = {}) {
  if (!group || typeof group !== "object") return out;
  out[path] = true;
  const mode = Array.isArray(group.any) ? "any" : "all";
  (group[mode] || []).forEach((rule, index) => {
    const rulePath = `${path}.${mode}.${index}`;
    out[rulePath] = true;
    for (const key of ["field", "op", "value"]) out[`${rulePath}.${key}`] = true;
    if (rule && (rule.all || rule.any)) flattenRules(rule, rulePath, out);
  });
  return out;
}

function pretty(value) {
  if (value === null || value === undefined) return "—";
  return JSON.stringify(value, null, 2);
}

function stepSection(step) {
  const box = el("div", { class: "ed-prop-section wf-step-io", "data-testid": "node-test-output" });
  box.append(
    el(
      "div",
      { class: "wf-step-head" },
      el("span", { class: "ed-panel-title", text: "Last test run" }),
      el("span", { class: `badge ${step.status === "succeeded" ? "badge-success" : step.status === "failed" ? "badge-danger" : ""}`, text: humanize(step.status) }),
      step.port && step.port !== OUT ? el("span", { class: "badge badge-info", text: `→ ${step.port}` }) : null,
      step.duration_ms !== undefined && step.duration_ms !== null ? el("span", { class: "subtle", text: `${step.duration_ms} ms` }) : null,
    ),
  );
  if (step.error) box.append(el("div", { class: "ed-prop-errors", text: step.error }));
  box.append(el("div", { class: "prop-label", text: "Input" }), el("pre", { class: "wf-json", text: pretty(step.input) }));
  box.append(el("div", { class: "prop-label", text: "Output" }), el("pre", { class: "wf-json", "data-testid": "node-output", text: pretty(step.output) }));
  return box;
}

function renderWorkflowPanel() {
  const workflow = state.workflow;
  panel.append(
    el(
      "div",
      { class: "ed-prop-header" },
      el("div", { class: "ed-prop-icon", html: icon("enroll_workflow") }),
      el("div", { class: "ed-prop-heading" }, el("h2", { "data-testid": "properties-title", text: "Workflow settings" }), el("p", { text: "Select a step on the canvas to set it up." })),
    ),
  );
  if (state.errors.general.length || state.errors.nodes.size) {
    const list = el("div", { class: "ed-prop-errors", "data-testid": "general-errors" });
    for (const message of state.errors.general) list.append(el("p", { text: message }));
    for (const [id, entry] of state.errors.nodes) {
      const spec = nodeSpec(id);
      const label = id === TRIGGER_ID ? "Trigger" : spec ? spec.name || spec.id : id;
      const count = Object.values(entry).flat().length;
      list.append(el("p", {}, el("a", { href: "#", text: `${label}: ${count} problem${count === 1 ? "" : "s"}`, onclick: (event) => { event.preventDefault(); select(id); } })));
    }
    panel.append(list);
  }
  const form = el("div", { class: "ed-prop-section schema-form" });
  const description = el("textarea", { id: "wf-description", rows: 3, maxlength: "2000", disabled: canWrite ? null : true, placeholder: "What this workflow is for, for your team." });
  description.value = workflow.description || "";
  description.addEventListener("input", () => {
    workflow.description = description.value;
    markDirty();
  });
  form.append(fieldBox("wf-description", "Description", description, state.errors.fields.description));

  const reentry = state.def.reentry || { policy: "always" };
  const policy = el("select", { id: "wf-reentry", "data-testid": "reentry", disabled: canWrite ? null : true }, REENTRY.map(([value, label]) => el("option", { value, text: label })));
  policy.value = reentry.policy || "always";
  const days = el("input", { type: "number", id: "wf-reentry-days", min: "1", max: "3650", value: reentry.days || 7, disabled: canWrite ? null : true });
  const daysBox = fieldBox("wf-reentry-days", "Days between runs", days, state.errors.fields["reentry.days"]);
  daysBox.classList.add("prop-narrow");
  daysBox.hidden = policy.value !== "interval";
  const sync = () => {
    daysBox.hidden = policy.value !== "interval";
    state.def.reentry = policy.value === "interval" ? { policy: "interval", days: Number(days.value) || 1 } : { policy: policy.value };
    markDirty();
  };
  policy.addEventListener("change", sync);
  days.addEventListener("input", sync);
  form.append(fieldBox("wf-reentry", "A contact can go through it", policy, state.errors.fields["reentry.policy"] || state.errors.fields.reentry), daysBox);
  panel.append(form);

  if (state.def.trigger.type === "webhook" && workflow.hook_path) {
    const url = `${window.location.origin}${workflow.hook_path}`;
    const hook = el("div", { class: "ed-prop-section", "data-testid": "hook-url" }, el("div", { class: "prop-label", text: "Webhook URL" }), el("code", { class: "wf-hook-url", text: url }), el("div", { class: "help", text: "POST JSON here to start the workflow while it is active." }));
    if (workflow.hook_secret) hook.append(el("div", { class: "prop-label", text: "Signing secret" }), el("code", { class: "wf-hook-url", text: workflow.hook_secret }));
    panel.append(hook);
  }
  const facts = el("div", { class: "ed-prop-section wf-facts" });
  facts.append(
    el("div", {}, el("span", { class: "subtle", text: "Status " }), el("strong", { text: humanize(workflow.status || "draft") })),
    el("div", {}, el("span", { class: "subtle", text: "Steps " }), el("strong", { text: String(state.def.nodes.length) })),
  );
  if (workflow.active_version) {
    const number = typeof workflow.active_version === "object" ? workflow.active_version.number : null;
    if (number) facts.append(el("div", {}, el("span", { class: "subtle", text: "Live version " }), el("strong", { text: `v${number}` })));
  }
  panel.append(facts);
}

function fieldBox(id, label, control, errors) {
  const box = el("div", { class: `prop-field${errors && errors.length ? " has-error" : ""}` }, el("label", { for: id, text: label }), control);
  if (errors && errors.length) box.append(el("ul", { class: "errorlist" }, errors.map((message) => el("li", { text: message }))));
  return box;
}

// --- Save, check, activate --------------------------------------------------------------------------------

async function save({ quiet = false } = {}) {
  if (!canWrite || state.saving) return false;
  const name = $("#wf-name").value.trim();
  if (!name) {
    toast("Give the workflow a name before saving.", "error");
    $("#wf-name").focus();
    return false;
  }
  state.saving = true;
  setStatus("saving", "Saving…");
  try {
    const body = { name, description: state.workflow.description || "", definition: outgoingDefinition() };
    const workflow = await api(config, "PUT", `workflows/${config.workflow}/`, body);
    state.workflow = { ...state.workflow, ...workflow };
    $("#wf-name").classList.remove("has-error");
    state.dirty = false;
    setStatus("saved", "All changes saved");
    updateStatusBadge();
    if (!quiet) toast("Saved.");
    return true;
  } catch (error) {
    if (error.status === 400) {
      showErrors(error.details);
      const count = errorCount();
      setStatus("invalid", `Not saved: ${count || "some"} problem${count === 1 ? "" : "s"} to fix`);
      const nameError = (state.errors.fields.name || [])[0];
      $("#wf-name").classList.toggle("has-error", Boolean(nameError));
      if (nameError) toast(`Not saved: the name — ${nameError}`, "error");
      else toast(state.errors.nodes.size ? "Not saved: the steps marked on the canvas need attention." : `Not saved: ${state.errors.general[0] || error.message}`, "error");
    } else {
      setStatus("error", "Not saved");
      toast(error.message, "error");
    }
    return false;
  } finally {
    state.saving = false;
  }
}

async function validate() {
  setStatus("saving", "Checking…");
  try {
    await api(config, "POST", `workflows/${config.workflow}/validate/`, { definition: outgoingDefinition() });
    clearErrors();
    renderPanel();
    setStatus(state.dirty ? "pending" : "saved", state.dirty ? "Valid · unsaved changes" : "Valid · all changes saved");
    statusBox.dataset.valid = "true";
    toast("Everything checks out: every step is set up and connected.");
    return true;
  } catch (error) {
    statusBox.dataset.valid = "false";
    if (error.status === 400) {
      showErrors(error.details);
      const count = errorCount();
      setStatus("invalid", `${count} problem${count === 1 ? "" : "s"} to fix`);
      toast("Some steps need attention: they're marked on the canvas.", "error");
    } else {
      setStatus("error", "Couldn't check");
      toast(error.message, "error");
    }
    return false;
  }
}

async function toggleActive() {
  const active = state.workflow.status === "active";
  if (!active && state.dirty && !(await save({ quiet: true }))) return;
  const button = $("[data-action=activate]");
  button.disabled = true;
  try {
    await api(config, "POST", `workflows/${config.workflow}/${active ? "pause" : "activate"}/`, {});
    await reloadWorkflow();
    toast(active ? "Paused: new triggers no longer start it. Runs in flight carry on." : "Active: it now runs for every trigger.");
  } catch (error) {
    if (error.status === 400) {
      showErrors(error.details);
      toast(`Not activated: ${error.message}`, "error");
    } else {
      toast(error.message, "error");
    }
  } finally {
    button.disabled = false;
  }
}

function updateStatusBadge() {
  const status = state.workflow.status || "draft";
  const badge = $("[data-workflow-status] .badge");
  if (badge) {
    badge.textContent = humanize(status);
    badge.className = `badge wf-status status-${status}${status === "active" ? " badge-success" : status === "paused" ? " badge-warning" : ""}`;
  }
  const button = $("[data-action=activate]");
  if (button) {
    button.textContent = status === "active" ? "Pause" : "Activate";
    button.classList.toggle("btn-primary", status !== "active");
    button.classList.toggle("btn-secondary", status === "active");
    button.dataset.testid = status === "active" ? "pause" : "activate";
  }
}

async function reloadWorkflow({ redrawCanvas = false } = {}) {
  const workflow = await api(config, "GET", `workflows/${config.workflow}/`);
  state.workflow = workflow;
  if (redrawCanvas) {
    state.def = normalise(workflow.definition);
    $("#wf-name").value = workflow.name;
    state.test = null;
    clearErrors();
    state.maps = { toDf: new Map(), fromDf: new Map(), ports: new Map() };
    redraw({ keepView: false });
    fit(editor, canvas);
    state.dirty = false;
    setStatus("saved", "All changes saved");
    select(null);
    resetHistory();
  }
  updateStatusBadge();
}

// --- Versions ----------------------------------------------------------------------------------------------

const versionsDialog = $("[data-testid=versions-dialog]");

async function openVersions() {
  const list = $("[data-versions-list]", versionsDialog);
  list.replaceChildren(el("p", { class: "muted", text: "Loading…" }));
  versionsDialog.showModal();
  try {
    const versions = results(await api(config, "GET", `workflows/${config.workflow}/versions/`));
    list.replaceChildren();
    if (!versions.length) {
      list.append(el("div", { class: "empty empty-compact" }, el("h3", { text: "No versions yet" }), el("p", { text: "A version is made each time you activate the workflow." })));
      return;
    }
    const table = el("table", { class: "table" }, el("thead", {}, el("tr", {}, el("th", { text: "Version" }), el("th", { text: "Activated" }), el("th", { text: "By" }), el("th", { class: "num", text: "Runs" }), el("th"))));
    const body = el("tbody");
    for (const version of versions) {
      const when = version.created_at ? new Date(version.created_at).toLocaleString() : "";
      const by = version.created_by_name || "—";
      const row = el(
        "tr",
        { "data-testid": "version-row", "data-version": version.number },
        el("td", {}, el("strong", { text: `v${version.number}` }), " ", version.is_active ? el("span", { class: "badge badge-success", text: "Live" }) : null),
        el("td", { class: "muted nowrap", text: when }),
        el("td", { class: "muted", text: by }),
        el("td", { class: "num", text: String(version.executions ?? "—") }),
        el("td", {}),
      );
      if (canWrite) {
        row.lastChild.append(
          el("button", {
            type: "button",
            class: "btn btn-secondary btn-sm",
            "data-testid": "restore-version",
            text: "Restore",
            onclick: () => restoreVersion(version),
          }),
        );
      }
      body.append(row);
    }
    table.append(body);
    list.append(table);
  } catch (error) {
    list.replaceChildren(el("p", { class: "errorlist", text: error.message }));
  }
}

async function restoreVersion(version) {
  if (state.dirty && !window.confirm(`Restore v${version.number}? Your unsaved changes will be lost.`)) return;
  try {
    await api(config, "POST", `workflows/${config.workflow}/versions/${version.id}/restore/`, {});
    versionsDialog.close();
    await reloadWorkflow({ redrawCanvas: true });
    toast(`Version ${version.number} restored.`);
  } catch (error) {
    toast(error.message, "error");
  }
}

// --- Test run ----------------------------------------------------------------------------------------------

function openTest() {
  drawer.hidden = false;
  root.classList.add("has-drawer");
  const data = $("#wf-test-data");
  if (!data.value.trim()) data.value = JSON.stringify(SAMPLE_DATA, null, 2);
}

async function runTest(event) {
  event.preventDefault();
  const errorsBox = $("[data-test-errors]");
  errorsBox.hidden = true;
  let triggerData;
  try {
    triggerData = JSON.parse($("#wf-test-data").value || "{}");
    if (!triggerData || typeof triggerData !== "object" || Array.isArray(triggerData)) throw new Error("object");
  } catch {
    errorsBox.replaceChildren(el("li", { text: "Sample data must be a JSON object, like {\"email\": \"jane@example.com\"}." }));
    errorsBox.hidden = false;
    return;
  }
  const contact = $("#wf-test-contact").value;
  const body = { trigger_data: triggerData, definition: outgoingDefinition() };
  if (contact) body.contact = Number(contact);
  const button = $("[data-testid=test-run]");
  const out = $("[data-testid=test-results]");
  button.disabled = true;
  out.replaceChildren(el("p", { class: "muted", text: "Running…" }));
  try {
    const result = await api(config, "POST", `workflows/${config.workflow}/test/`, body);
    const steps = result.steps || [];
    state.test = { status: result.status, steps, byNode: new Map(steps.map((step) => [step.node_id, step])) };
    clearErrors();
    renderTestResults(result);
    renderPanel();
  } catch (error) {
    state.test = null;
    decorate();
    if (error.status === 400) {
      showErrors(error.details);
      out.replaceChildren(el("div", { class: "ed-prop-errors", "data-testid": "test-error", text: `Can't run yet: ${Object.values(error.details).flat().slice(0, 3).join(" ") || error.message}` }));
    } else {
      out.replaceChildren(el("div", { class: "ed-prop-errors", "data-testid": "test-error", text: error.message }));
    }
  } finally {
    button.disabled = false;
  }
}

function renderTestResults(result) {
  const out = $("[data-testid=test-results]");
  out.replaceChildren();
  const ok = result.status === "succeeded";
  out.append(el("div", { class: `wf-test-summary ${ok ? "is-ok" : "is-failed"}`, "data-testid": "test-status", "data-status": result.status, text: ok ? `Succeeded · ${result.steps.length} step${result.steps.length === 1 ? "" : "s"}` : "Failed" }));
  const list = el("ol", { class: "wf-test-steps" });
  for (const step of result.steps || []) {
    const spec = nodeSpec(step.node_id);
    const nodeType = state.types.get(step.node_type);
    const label = step.node_id === TRIGGER_ID ? "Trigger" : (spec && spec.name) || (nodeType ? nodeType.name : step.node_type);
    const simulated = step.output && step.output.simulated;
    list.append(
      el(
        "li",
        { class: `wf-test-step is-${step.status}`, "data-testid": "test-step", "data-node-id": step.node_id },
        el("button", { type: "button", class: "wf-test-step-head", onclick: () => select(step.node_id) },
          el("span", { class: "wf-test-dot" }),
          el("strong", { text: label }),
          simulated ? el("span", { class: "badge badge-info", text: "Simulated" }) : null,
          step.port && step.port !== OUT ? el("span", { class: "subtle", text: `→ ${step.port}` }) : null,
          el("span", { class: "spacer" }),
          step.duration_ms !== undefined && step.duration_ms !== null ? el("span", { class: "subtle", text: `${step.duration_ms} ms` }) : null,
        ),
        step.error ? el("div", { class: "wf-test-error", text: step.error }) : null,
      ),
    );
  }
  out.append(list);
  decorate();
}

// --- Start -------------------------------------------------------------------------------------------------

function bindToolbar() {
  $("[data-action=validate]").addEventListener("click", validate);
  $("[data-action=test]").addEventListener("click", openTest);
  $("[data-action=test-close]").addEventListener("click", () => {
    drawer.hidden = true;
    root.classList.remove("has-drawer");
  });
  $("[data-testid=test-form]").addEventListener("submit", runTest);
  $("[data-action=versions]").addEventListener("click", openVersions);
  $("[data-close-dialog]", versionsDialog).addEventListener("click", () => versionsDialog.close());
  if (canWrite) {
    $("[data-action=save]").addEventListener("click", () => save());
    $("[data-action=activate]").addEventListener("click", toggleActive);
    $("#wf-name").addEventListener("input", markDirty);
    $("[data-action=undo]").addEventListener("click", () => travel(-1));
    $("[data-action=redo]").addEventListener("click", () => travel(1));
    document.addEventListener("keydown", (event) => {
      if (!(event.ctrlKey || event.metaKey)) return;
      const key = event.key.toLowerCase();
      if (key === "s") {
        event.preventDefault();
        save();
        return;
      }
      // In a text field, Ctrl+Z undoes typing there, as usual.
      if (event.target.closest("input, textarea, select, [contenteditable]")) return;
      if (key === "z" || key === "y") {
        event.preventDefault();
        travel(key === "y" || event.shiftKey ? 1 : -1);
      }
    });
  }
  const contactSelect = $("#wf-test-contact");
  for (const contact of (config.choices && config.choices.contacts) || []) contactSelect.append(el("option", { value: contact.value, text: contact.label }));
  const tags = el("datalist", { id: "wf-tags" });
  for (const tag of (config.choices && config.choices.tag) || []) tags.append(el("option", { value: tag }));
  document.body.append(tags);
}

async function start() {
  setChoiceLabels(config.choices);
  setupCanvas();
  bindToolbar();
  try {
    const [types, workflow] = await Promise.all([api(config, "GET", "workflow-node-types/"), api(config, "GET", `workflows/${config.workflow}/`)]);
    state.catalog = results(types);
    state.types = new Map(state.catalog.map((type) => [type.type, type]));
    state.workflow = workflow;
    state.def = normalise(workflow.definition);
  } catch (error) {
    setStatus("error", "Couldn't load");
    root.dataset.state = "error";
    toast(`Couldn't load the workflow: ${error.message}`, "error");
    return;
  }
  renderPalette();
  redraw({ keepView: false });
  fit(editor, canvas);
  updateStatusBadge();
  renderPanel();
  setStatus("saved", "All changes saved");
  resetHistory();
  root.dataset.state = "ready";
}

start();
