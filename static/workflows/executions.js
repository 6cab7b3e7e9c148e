// The executions list, kept current: rows on this page change status in place, and runs that started
// since the page loaded are counted in a "show them" bar.

import { apiGet } from "./api.js";
import { connectLive } from "./live.js";

const config = JSON.parse(document.getElementById("workflow-config").textContent);
const shown = new Set(JSON.parse(document.getElementById("execution-ids").textContent));
const table = document.querySelector("[data-testid=executions]");
const bar = document.querySelector("[data-new-rows]");
const params = new URLSearchParams(window.location.search);
const fresh = new Set();
const newest = shown.size ? Math.max(...shown) : 0;

const LABELS = { pending: "Pending", running: "Running", waiting: "Waiting", succeeded: "Succeeded", failed: "Failed", cancelled: "Cancelled" };
const BADGES = { succeeded: "badge-success", failed: "badge-danger", running: "badge-brand", waiting: "badge-warning", pending: "badge-info" };

function matchesFilters(row) {
  const workflow = params.get("workflow");
  const status = params.get("status");
  if (workflow && String(row.workflow && row.workflow.id) !== workflow) return false;
  if (status && row.status !== status) return false;
  // The list's other filters too, or "show them" would promise rows the reloaded page leaves out.
  const contact = (params.get("q") || "").trim().toLowerCase();
  if (contact && !(row.contact && (row.contact.email || "").toLowerCase().includes(contact))) return false;
  const to = params.get("to") || "";
  if (/^\d{4}-\d{2}-\d{2}$/.test(to) && to < new Date().toLocaleDateString("en-CA")) return false;
  return !params.get("page") || params.get("page") === "1";
}

function update(row) {
  if (!row || !row.id) return;
  const tr = table && table.querySelector(`tr[data-execution-id="${row.id}"]`);
  if (!tr) {
    if (row.id > newest && matchesFilters(row)) {
      fresh.add(row.id);
      bar.querySelector("[data-new-count]").textContent = `${fresh.size} new execution${fresh.size === 1 ? "" : "s"} since you opened this page.`;
      bar.hidden = false;
    }
    return;
  }
  const badge = tr.querySelector("[data-cell=status] .badge");
  if (badge && badge.dataset.status !== row.status) {
    badge.dataset.status = row.status;
    badge.textContent = LABELS[row.status] || row.status;
    badge.className = `badge ex-status status-${row.status} ${BADGES[row.status] || ""}`;
    tr.classList.remove("is-updated");
    void tr.offsetWidth;
    tr.classList.add("is-updated");
  }
  tr.querySelector("[data-cell=node]").textContent = row.current_node || "—";
  const duration = tr.querySelector("[data-cell=duration]");
  duration.textContent = row.duration_ms === null || row.duration_ms === undefined ? "—" : `${Number(row.duration_ms).toLocaleString()} ms`;
}

function poll() {
  const query = new URLSearchParams();
  for (const key of ["workflow", "status"]) if (params.get(key)) query.set(key, params.get(key));
  apiGet(config, `executions/?${query.toString()}`)
    .then((body) => (Array.isArray(body) ? body : body.results || []).forEach(update))
    .catch(() => {});
}

connectLive(config, { onMessage: (message) => update(message.execution), poll, indicator: document.querySelector("[data-testid=live-indicator]") });
