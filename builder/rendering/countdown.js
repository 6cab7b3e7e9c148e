(() => {
  "use strict";
  const roots = document.querySelectorAll("[data-sf-countdown]");
  const tick = () => {
    for (const root of roots) {
      const target = Date.parse(root.querySelector("time").getAttribute("datetime"));
      const left = Math.max(0, Math.floor((target - Date.now()) / 1000)) || 0;
      const units = {
        days: Math.floor(left / 86400),
        hours: Math.floor(left / 3600) % 24,
        minutes: Math.floor(left / 60) % 60,
        seconds: left % 60,
      };
      for (const cell of root.querySelectorAll("[data-unit]")) {
        cell.textContent = String(units[cell.getAttribute("data-unit")]).padStart(2, "0");
      }
      root.querySelector("[data-sf-clock]").hidden = left === 0;
      root.querySelector("[data-sf-done]").hidden = left !== 0;
    }
  };
  if (roots.length) {
    tick();
    setInterval(tick, 1000);
  }
})();
