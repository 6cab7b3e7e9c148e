// A workflow definition drawn on a Drawflow canvas, shared by the editor and the execution monitor.
//
// The definition ({trigger, nodes, edges}) is the source of truth; Drawflow only draws it. Drawflow
// numbers its nodes and names outputs "output_1", "output_2"…, so this module keeps the mapping to
// node ids and port names, and tags every output with its port so it can be labelled.

export const TRIGGER_ID = "trigger";
export const OUT = "out";
const COLUMN = 330;
const ROW = 150;

export const ICON_PATHS = {
  trigger: '<path d="M13 2 4 14h7l-1 8 9-12h-7z"/>',
  action: '<circle cx="12" cy="12" r="9"/><path d="m10 8 5 4-5 4z"/>',
  logic: '<path d="M6 3v12"/><circle cx="18" cy="6" r="3"/><circle cx="6" cy="18" r="3"/><path d="M18 9a9 9 0 0 1-9 9"/>',
  form_submitted: '<rect x="4" y="3" width="16" height="18" rx="2"/><path d="M8 8h8M8 12h8M8 16h5"/>',
  contact_created: '<circle cx="9" cy="8" r="3.5"/><path d="M2.5 20a6.5 6.5 0 0 1 13 0"/><path d="M19 8v6M16 11h6"/>',
  tag_added: '<path d="M3 12V4a1 1 0 0 1 1-1h8l9 9-9 9z"/><circle cx="8" cy="8" r="1.5"/>',
  tag_removed: '<path d="M3 12V4a1 1 0 0 1 1-1h8l9 9-9 9z"/><path d="M9 13h6"/>',
  add_tag: '<path d="M3 12V4a1 1 0 0 1 1-1h8l9 9-9 9z"/><circle cx="8" cy="8" r="1.5"/>',
  remove_tag: '<path d="M3 12V4a1 1 0 0 1 1-1h8l9 9-9 9z"/><path d="M9 13h6"/>',
  email_opened: '<rect x="3" y="5" width="18" height="14" rx="2"/><path d="m3 7 9 6 9-6"/>',
  email_clicked: '<path d="m9 9 5 12 1.8-5.2L21 14z"/><path d="M7.2 2.2 8 5M5.1 8H2.2M14 5l-1.8 1.8M5.2 13l-1.9 1.9"/>',
  send_email: '<path d="M22 2 11 13"/><path d="M22 2 15 22l-4-9-9-4z"/>',
  notify_team: '<path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9"/><path d="M10.3 21a1.9 1.9 0 0 0 3.4 0"/>',
  wait: '<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/>',
  wait_for_event: '<path d="M5 22h14M5 2h14M17 22v-4.2a2 2 0 0 0-.6-1.4L12 12l-4.4 4.4a2 2 0 0 0-.6 1.4V22M7 2v4.2a2 2 0 0 0 .6 1.4L12 12l4.4-4.4a2 2 0 0 0 .6-1.4V2"/>',
  condition: '<path d="M6 3v12"/><circle cx="18" cy="6" r="3"/><circle cx="6" cy="18" r="3"/><path d="M18 9a9 9 0 0 1-9 9"/>',
  switch: '<path d="M16 3h5v5M4 20 21 3M21 16v5h-5M15 15l6 6M4 4l5 5"/>',
  split: '<path d="M16 3h5v5M8 3H3v5M12 22v-8.3a4 4 0 0 0-1.2-2.8L3 3M21 3l-7.8 7.8"/>',
  goal: '<circle cx="12" cy="12" r="9"/><circle cx="12" cy="12" r="5"/><circle cx="12" cy="12" r="1"/>',
  exit: '<path d="M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4"/><path d="m16 17 5-5-5-5"/><path d="M21 12H9"/>',
  update_field: '<path d="M4 20h4L19 9l-4-4L4 16v4z"/>',
  field_changed: '<path d="M4 20h4L19 9l-4-4L4 16v4z"/>',
  adjust_score: '<path d="m3 17 6-6 4 4 8-8"/><path d="M14 7h7v7"/>',
  score_threshold: '<path d="m3 17 6-6 4 4 8-8"/><path d="M14 7h7v7"/>',
  add_note: '<path d="M14 3H6a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V9z"/><path d="M14 3v6h6M8 13h8M8 17h5"/>',
  http_request: '<circle cx="12" cy="12" r="9"/><path d="M3 12h18M12 3a14 14 0 0 1 0 18M12 3a14 14 0 0 0 0 18"/>',
  webhook: '<path d="M18 16.1A4 4 0 1 1 14 12"/><path d="M6 16.1a4 4 0 1 0 4-4.1L13 6"/><circle cx="14" cy="5" r="2.5"/>',
  schedule: '<rect x="3" y="4" width="18" height="17" rx="2"/><path d="M16 2v4M8 2v4M3 10h18"/>',
  manual: '<path d="m9 9 5 12 1.8-5.2L21 14z"/><path d="M7.2 2.2 8 5M5.1 8H2.2M14 5l-1.8 1.8"/>',
  enroll_workflow: '<rect x="3" y="3" width="6" height="6" rx="1.5"/><rect x="15" y="15" width="6" height="6" rx="1.5"/><path d="M6 9v3a3 3 0 0 0 3 3h6"/>',
  contact_unsubscribed: '<rect x="3" y="5" width="18" height="14" rx="2"/><path d="m3 7 9 6 9-6M2 2l20 20"/>',
};

export function icon(name, className = "icon") {
  const paths = ICON_PATHS[name] || ICON_PATHS.action;
  return `<svg class="${className}" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${paths}</svg>`;
}

export function escapeHtml(value) {
  return String(value ?? "").replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]);
}

export function humanize(key) {
  const text = String(key).replace(/[_-]+/g, " ").trim();
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The output ports of a node with this type and config. A type with dynamic ports (switch, split)
 *  names them in a list of its config whose items have a "port"; "default" stays when the type has it. */
export function portsFor(nodeType, config) {
  if (!nodeType) return [OUT];
  if (!nodeType.dynamic_ports) return nodeType.ports || [OUT];
  const lists = Object.values(config || {}).filter(
    (value) => Array.isArray(value) && value.some((item) => item && typeof item === "object" && "port" in item),
  );
  const named = lists.flat().map((item) => String(item.port || "").trim()).filter(Boolean);
  const unique = [...new Set(named)];
  if ((nodeType.ports || []).includes("default") && !unique.includes("default")) unique.push("default");
  return unique.length ? unique : nodeType.ports || [OUT];
}

// Names of the workspace's objects a config refers to by id (forms, senders…), when the page has them.
const choiceLabels = new Map();
const REFERENCES = ["component", "segment", "sender", "workflow", "campaign"];

export function setChoiceLabels(choices) {
  for (const key of REFERENCES) {
    for (const choice of (choices && choices[key]) || []) choiceLabels.set(`${key}:${choice.value}`, choice.label);
  }
}

function referenceLabel(config) {
  for (const key of REFERENCES) {
    const value = config[key];
    if (value === undefined || value === null) continue;
    if (value === "") return key === "component" ? "any form" : "";
    const label = choiceLabels.get(`${key}:${value}`);
    return label ? label.split(" · ").pop() : `${key} ${String(value).slice(0, 8)}`;
  }
  return "";
}

/** A short line under a node's title: the config's most telling value. */
export function summary(node) {
  const config = node.config || {};
  const pick = (...keys) => keys.map((key) => config[key]).find((value) => value !== undefined && value !== "" && value !== null);
  switch (node.type) {
    case "wait": {
      const duration = config.duration;
      if (duration && duration.amount) return `${duration.amount} ${duration.unit || "days"}`;
      if (config.until) return `until ${String(config.until).replace("T", " ").slice(0, 16)}`;
      if (config.weekdays && config.weekdays.length) return `until ${config.weekdays.join(", ")} ${config.hour ?? ""}`.trim();
      return "";
    }
    case "condition":
    case "goal": {
      const rules = config.rules || {};
      const list = rules.all || rules.any || [];
      return list.length ? `${list.length} rule${list.length === 1 ? "" : "s"} · ${rules.any ? "any" : "all"}` : "";
    }
    default: {
      const value = pick("subject", "tag", "field", "url", "event", "points", "cron", "text", "message");
      if (value === undefined) return referenceLabel(config);
      return typeof value === "object" ? "" : String(value).slice(0, 60);
    }
  }
}

/** Positions for nodes that have none (a template's), by depth from the trigger. */
export function layout(definition) {
  const positions = new Map();
  const depth = new Map([[TRIGGER_ID, 0]]);
  const queue = [TRIGGER_ID];
  const edges = definition.edges || [];
  while (queue.length) {
    const id = queue.shift();
    for (const edge of edges) {
      if (edge.source !== id || depth.has(edge.target)) continue;
      depth.set(edge.target, depth.get(id) + 1);
      queue.push(edge.target);
    }
  }
  const rows = new Map();
  const place = (id) => {
    const level = depth.has(id) ? depth.get(id) : 1;
    const row = rows.get(level) || 0;
    rows.set(level, row + 1);
    return { x: 60 + level * COLUMN, y: 80 + row * ROW };
  };
  const nodes = definition.nodes || [];
  const placed = nodes.filter((node) => node.position && Number.isFinite(node.position.x));
  for (const node of nodes) if (!placed.includes(node)) positions.set(node.id, place(node.id));
  for (const node of placed) positions.set(node.id, { x: node.position.x, y: node.position.y });
  const trigger = definition.trigger || {};
  if (trigger.position && Number.isFinite(trigger.position.x)) {
    positions.set(TRIGGER_ID, { ...trigger.position });
  } else {
    const firstTargets = edges.filter((edge) => edge.source === TRIGGER_ID).map((edge) => positions.get(edge.target)).filter(Boolean);
    const all = [...positions.values()];
    const minX = all.length ? Math.min(...all.map((p) => p.x)) : 60 + COLUMN;
    const y = firstTargets.length ? firstTargets[0].y : all.length ? all[0].y : 80;
    positions.set(TRIGGER_ID, { x: Math.max(20, minX - COLUMN), y });
  }
  return positions;
}

export function nodeHtml(node, nodeType, { isTrigger = false } = {}) {
  const kind = isTrigger ? "trigger" : nodeType ? nodeType.kind : "action";
  const title = node.name || (nodeType ? nodeType.name : humanize(node.type || "unknown"));
  const sub = summary(node);
  const typeLabel = isTrigger ? "Trigger" : nodeType ? nodeType.name : `Unknown type “${node.type}”`;
  return `
    <div class="wf-node" data-kind="${kind}" data-node-id="${escapeHtml(node.id)}" data-testid="wf-node">
      <div class="wf-node-icon">${icon(ICON_PATHS[node.type] ? node.type : kind)}</div>
      <div class="wf-node-text">
        <div class="wf-node-title">${escapeHtml(title)}</div>
        <div class="wf-node-type">${escapeHtml(node.name ? typeLabel : isTrigger ? "Trigger" : kind === "logic" ? "Logic" : "Action")}${sub ? ` · <span class="wf-node-summary">${escapeHtml(sub)}</span>` : ""}</div>
      </div>
      <div class="wf-node-badge" data-badge hidden></div>
    </div>`;
}

/** Draws `definition` on `editor`. Returns the id maps. `types` maps a type name to its catalog entry. */
export function draw(editor, definition, types) {
  editor.clear();
  const positions = layout(definition);
  const toDf = new Map();
  const fromDf = new Map();
  const ports = new Map();
  const add = (node, isTrigger) => {
    const nodeType = types.get(node.type);
    const nodePorts = portsFor(nodeType, node.config);
    const position = positions.get(isTrigger ? TRIGGER_ID : node.id) || { x: 80, y: 80 };
    const id = editor.addNode(
      isTrigger ? "trigger" : node.type,
      isTrigger ? 0 : 1,
      nodePorts.length,
      position.x,
      position.y,
      `wf-df-node kind-${isTrigger ? "trigger" : nodeType ? nodeType.kind : "action"}`,
      { id: isTrigger ? TRIGGER_ID : node.id },
      nodeHtml(isTrigger ? { ...node, id: TRIGGER_ID } : node, nodeType, { isTrigger }),
    );
    toDf.set(isTrigger ? TRIGGER_ID : node.id, id);
    fromDf.set(String(id), isTrigger ? TRIGGER_ID : node.id);
    ports.set(isTrigger ? TRIGGER_ID : node.id, nodePorts);
    labelPorts(id, nodePorts);
  };
  if (definition.trigger) add(definition.trigger, true);
  for (const node of definition.nodes || []) add(node, false);
  for (const edge of definition.edges || []) {
    const source = toDf.get(edge.source);
    const target = toDf.get(edge.target);
    const index = (ports.get(edge.source) || []).indexOf(edge.port || OUT);
    if (source === undefined || target === undefined || index < 0) continue;
    editor.addConnection(source, target, `output_${index + 1}`, "input_1");
  }
  return { toDf, fromDf, ports };
}

export function labelPorts(dfId, ports) {
  const box = document.getElementById(`node-${dfId}`);
  if (!box) return;
  const outputs = box.querySelectorAll(".outputs .output");
  outputs.forEach((output, index) => {
    const port = ports[index] || OUT;
    output.dataset.port = port;
    output.title = port === OUT ? "Drag to connect the next step" : `“${port}”: drag to connect`;
    output.classList.toggle("is-named", ports.length > 1 || port !== OUT);
  });
}

export function nodeBox(dfId) {
  return document.getElementById(`node-${dfId}`);
}

/** Centres and scales the canvas so every node fits in view. */
export function fit(editor, container) {
  const boxes = Array.from(container.querySelectorAll(".drawflow-node"));
  if (!boxes.length) return;
  const xs = [];
  const ys = [];
  const data = editor.drawflow.drawflow[editor.module].data;
  for (const node of Object.values(data)) {
    xs.push(node.pos_x, node.pos_x + 240);
    ys.push(node.pos_y, node.pos_y + 90);
  }
  const width = container.clientWidth;
  const height = container.clientHeight;
  const spanX = Math.max(...xs) - Math.min(...xs) + 120;
  const spanY = Math.max(...ys) - Math.min(...ys) + 120;
  // Never so small it can't be read: a long sequence is shown from its start, to be panned.
  const zoom = Math.max(0.6, Math.min(1, width / spanX, height / spanY));
  const pre = editor.precanvas;
  // Drawflow scales around the precanvas's centre: shift by what that adds, so the fit is exact.
  const cx = pre.clientWidth / 2;
  const cy = pre.clientHeight / 2;
  // Centred when it fits; otherwise from the start (the trigger's side), so a long sequence reads left to right.
  const offsetX = spanX * zoom <= width ? (width - (Math.max(...xs) + Math.min(...xs)) * zoom) / 2 : 60 - Math.min(...xs) * zoom;
  const offsetY = spanY * zoom <= height ? (height - (Math.max(...ys) + Math.min(...ys)) * zoom) / 2 : 60 - Math.min(...ys) * zoom;
  editor.zoom = zoom;
  editor.zoom_last_value = zoom;
  editor.canvas_x = offsetX - cx * (1 - zoom);
  editor.canvas_y = offsetY - cy * (1 - zoom);
  pre.style.transform = `translate(${editor.canvas_x}px, ${editor.canvas_y}px) scale(${zoom})`;
  editor.dispatch("zoom", zoom);
}
