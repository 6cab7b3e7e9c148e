// An execution drawn on its version's graph: each node coloured by what its last step did, the path it
// took highlighted, a step's input, output and error shown on click. While the run is in flight, a
// change to it (over the WebSocket, or polled when the socket is down) reloads the page in place.

import { OUT, draw, escapeHtml, fit } from "./graph.js";
import { apiGet } from "./api.js";
import { connectLive } from "./live.js";

const config = JSON.parse(document.getElementById("workflow-config").textContent);
const graph = JSON.parse(document.getElementById("execution-graph").textContent);
const canvas = document.getElementById("ex-canvas");
const panel = document.querySelector("[data-testid=step-panel]");
const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
const LABELS = { succeeded: "Succeeded", failed: "Failed", waiting: "Waiting", running: "Running", skipped: "Skipped" };

const byNode = new Map();
// The trigger fired for the run to exist; the engine records no step for it.
if (graph.steps.length && !graph.steps.some((step) => step.node_id === "trigger")) {
  byNode.set("trigger", [{ node_id: "trigger", status: "succeeded", port: OUT, input: null, output: graph.trigger_data, attempt: 1 }]);
}
for (const step of graph.steps) {
  if (!byNode.has(step.node_id)) byNode.set(step.node_id, []);
  byNode.get(step.node_id).push(step);
}

// Node types only label the nodes; the graph draws without them.
const types = new Map();
const editor = new window.Drawflow(canvas);
editor.reroute = false;
editor.start();
editor.editor_mode = "view";
let maps = draw(editor, graph.definition, types);
paint();
fit(editor, canvas);

apiGet(config, "workflow-node-types/")
  .then((body) => {
    for (const type of Array.isArray(body) ? body : body.results || []) types.set(type.type, type);
    maps = draw(editor, graph.definition, types);
    paint();
    fit(editor, canvas);
    selectFromHash();
  })
  .catch(() => {});

function paint() {
  for (const [id, dfId] of maps.toDf) {
    const box = document.getElementById(`node-${dfId}`);
    const steps = byNode.get(id);
    const last = steps && steps[steps.length - 1];
    let status = last ? last.status : "not-run";
    if (!last && id === graph.current_node && !TERMINAL.has(graph.status)) status = graph.status;
    box.dataset.runStatus = status;
    box.dataset.testid = "run-node";
    box.dataset.nodeId = id;
    const badge = box.querySelector("[data-badge]");
    if (last && badge) {
      badge.hidden = false;
      badge.className = `wf-node-badge is-${last.status}`;
      badge.textContent = last.status === "succeeded" ? "✓" : last.status === "failed" ? "✕" : steps.length > 1 ? String(steps.length) : "•";
    }
    const ports = maps.ports.get(id) || [];
    for (const step of steps || []) {
      const index = ports.indexOf(step.port || OUT);
      if (index < 0 || step.status !== "succeeded") continue;
      canvas.querySelectorAll(`.connection.node_out_node-${dfId}.output_${index + 1}`).forEach((path) => path.classList.add("is-taken"));
    }
  }
}

function pretty(value) {
  if (value === null || value === undefined) return "—";
  return JSON.stringify(value, null, 2);
}

function showNode(id) {
  const steps = byNode.get(id) || [];
  const spec = id === "trigger" ? graph.definition.trigger : (graph.definition.nodes || []).find((node) => node.id === id);
  const type = spec && types.get(spec.type);
  panel.querySelector("[data-step-title]").textContent = (spec && spec.name) || (type ? type.name : id);
  panel.querySelector("[data-step-subtitle]").textContent = `Step “${id}”${spec ? ` · ${spec.type}` : ""}`;
  const body = panel.querySelector("[data-step-body]");
  canvas.querySelectorAll(".drawflow-node").forEach((box) => box.classList.toggle("is-selected", box.dataset.nodeId === id));
  if (!steps.length) {
    body.innerHTML = `<div class="empty empty-compact"><h3>Not reached</h3><p>This run ${TERMINAL.has(graph.status) ? "never got to" : "hasn't got to"} this step.</p></div>`;
    return;
  }
  body.innerHTML = steps
    .map((step) => {
      const badge = step.status === "succeeded" ? "badge-success" : step.status === "failed" ? "badge-danger" : "badge-warning";
      return `<div class="wf-step-io" data-testid="step-detail">
        <div class="wf-step-head"><span class="badge ${badge}">${escapeHtml(LABELS[step.status] || step.status)}</span>
          ${steps.length > 1 ? `<span class="subtle">attempt ${step.attempt}</span>` : ""}
          ${step.port && step.port !== OUT ? `<span class="badge badge-info">→ ${escapeHtml(step.port)}</span>` : ""}
          ${step.duration_ms !== null && step.duration_ms !== undefined ? `<span class="subtle">${step.duration_ms} ms</span>` : ""}</div>
        ${step.error ? `<div class="ed-prop-errors" data-testid="step-error">${escapeHtml(step.error)}</div>` : ""}
        ${step.pruned ? `<p class="muted">Input and output were removed after the retention period.</p>` : `
        <div class="prop-label">Input</div><pre class="wf-json">${escapeHtml(pretty(step.input))}</pre>
        <div class="prop-label">Output</div><pre class="wf-json" data-testid="step-output">${escapeHtml(pretty(step.output))}</pre>`}
      </div>`;
    })
    .join("");
}

function selectFromHash() {
  const match = window.location.hash.match(/node=([A-Za-z0-9_-]+)/);
  if (match) showNode(match[1]);
}

canvas.addEventListener("click", (event) => {
  const box = event.target.closest(".drawflow-node");
  if (!box) return;
  const id = maps.fromDf.get(box.id.replace("node-", ""));
  if (!id) return;
  history.replaceState(null, "", `#node=${id}`);
  showNode(id);
});
document.querySelectorAll("[data-select-node]").forEach((link) =>
  link.addEventListener("click", (event) => {
    event.preventDefault();
    history.replaceState(null, "", `#node=${link.dataset.selectNode}`);
    showNode(link.dataset.selectNode);
    canvas.scrollIntoView({ behavior: "smooth", block: "center" });
  }),
);
selectFromHash();

// --- Live ---------------------------------------------------------------------------------------------
let reloadTimer = null;
function changed() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => window.location.reload(), 600);
}

if (!TERMINAL.has(graph.status)) {
  connectLive(config, {
    indicator: document.querySelector("[data-testid=live-indicator]"),
    onMessage: (message) => {
      if (message.execution.id === graph.execution) changed();
    },
    poll: () =>
      apiGet(config, `executions/${graph.execution}/`)
        .then((detail) => {
          if (detail.status !== graph.status || (detail.steps || []).length !== graph.steps.length) changed();
        })
        .catch(() => {}),
  });
}
