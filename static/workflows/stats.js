// A workflow's stats, read from the API for the chosen period: figures, runs per day (Chart.js) and
// the contacts waiting at each step.

import { apiGet } from "./api.js";

const config = JSON.parse(document.getElementById("workflow-config").textContent);
const card = document.querySelector("[data-testid=stats]");
const select = document.getElementById("stats-days");
let chart = null;

const number = (value) => (value === null || value === undefined ? "—" : Number(value).toLocaleString());
const duration = (ms) => {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3600000) return `${(ms / 60000).toFixed(1)} min`;
  if (ms < 86400000) return `${(ms / 3600000).toFixed(1)} h`;
  return `${(ms / 86400000).toFixed(1)} days`;
};

function figure(key, value, note = "") {
  const box = card.querySelector(`[data-figure="${key}"]`);
  if (!box) return;
  box.querySelector("[data-value]").textContent = value;
  box.querySelector("[data-note]").textContent = note;
}

function render(stats) {
  const rate = stats.success_rate;
  figure("executions", number(stats.executions), `${number(stats.succeeded)} succeeded`);
  figure("success_rate", rate === null || rate === undefined ? "—" : `${(rate * 100).toFixed(1)}%`, "of finished runs");
  figure("failed", number(stats.failed), stats.cancelled ? `${number(stats.cancelled)} cancelled` : "");
  figure("avg_duration_ms", duration(stats.avg_duration_ms), "start to finish");
  figure("p95_duration_ms", duration(stats.p95_duration_ms), "95% finish faster");
  figure("live", number((stats.running || 0) + (stats.waiting || 0)), `${number(stats.waiting)} waiting`);
  card.querySelector("[data-figure=failed] [data-value]").classList.toggle("negative", Boolean(stats.failed));

  const daily = stats.daily || [];
  const hasRuns = daily.some((day) => day.succeeded || day.failed);
  document.querySelector("[data-chart-box]").hidden = !hasRuns;
  document.querySelector("[data-chart-empty]").hidden = hasRuns;
  if (hasRuns && window.Chart) {
    const style = getComputedStyle(document.documentElement);
    const data = {
      labels: daily.map((day) => new Date(`${day.date}T00:00:00`).toLocaleDateString(undefined, { month: "short", day: "numeric" })),
      datasets: [
        { label: "Succeeded", data: daily.map((day) => day.succeeded), backgroundColor: style.getPropertyValue("--sf-success").trim() || "#067647", borderRadius: 3, stack: "runs" },
        { label: "Failed", data: daily.map((day) => day.failed), backgroundColor: style.getPropertyValue("--sf-danger").trim() || "#b42318", borderRadius: 3, stack: "runs" },
      ],
    };
    if (chart) {
      chart.data = data;
      chart.update();
    } else {
      chart = new window.Chart(document.getElementById("wf-daily-chart"), {
        type: "bar",
        data,
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          interaction: { mode: "index", intersect: false },
          plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
          scales: { x: { stacked: true, grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 12 } }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
        },
      });
    }
  }

  const waiting = document.querySelector("[data-waiting]");
  const rows = stats.waiting_at || [];
  if (!rows.length) {
    waiting.innerHTML = '<div class="card-body"><div class="empty empty-compact"><h3>Nobody is waiting</h3><p>Contacts paused at a wait step are counted here.</p></div></div>';
  } else {
    const table = document.createElement("table");
    table.className = "table";
    table.innerHTML = "<thead><tr><th>Step</th><th class='num'>Contacts</th></tr></thead>";
    const body = document.createElement("tbody");
    for (const row of rows) {
      const tr = document.createElement("tr");
      const name = document.createElement("td");
      name.textContent = row.node_id;
      const count = document.createElement("td");
      count.className = "num";
      count.textContent = number(row.count);
      tr.append(name, count);
      body.append(tr);
    }
    table.append(body);
    waiting.replaceChildren(table);
  }
  card.dataset.state = "ready";
}

function load() {
  card.dataset.state = "loading";
  const error = card.querySelector("[data-stats-error]");
  error.hidden = true;
  apiGet(config, `workflows/${config.workflow}/stats/?days=${select.value}`)
    .then(render)
    .catch(() => {
      error.textContent = "Couldn't load the stats. Reload the page to try again.";
      error.hidden = false;
      card.dataset.state = "error";
    });
}

select.addEventListener("change", load);
window.addEventListener("load", load);
