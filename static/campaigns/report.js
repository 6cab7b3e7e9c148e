// The report's chart of opens and clicks over time, drawn with the vendored Chart.js.
(function () {
  "use strict";

  const canvas = document.getElementById("engagement-chart");
  const source = document.getElementById("campaign-chart-data");
  if (!canvas || !source || !window.Chart) return;
  const data = JSON.parse(source.textContent);
  const style = getComputedStyle(document.documentElement);
  const color = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
  const brand = color("--sf-brand", "#5046e5");
  const success = color("--sf-success", "#067647");

  new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: [
        { label: "Opens", data: data.opens, backgroundColor: brand, borderRadius: 3 },
        { label: "Clicks", data: data.clicks, backgroundColor: success, borderRadius: 3 },
      ],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
      scales: {
        x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 12 } },
        y: { beginAtZero: true, ticks: { precision: 0 } },
      },
    },
  });
})();
