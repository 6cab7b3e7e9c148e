(() => {
  "use strict";
  // A form field may be named like a form property ("action", "reset", "dataset"), and the browser then
  // returns the field instead: read the form only through attributes and prototype methods.
  const resetForm = (form) => HTMLFormElement.prototype.reset.call(form);
  const safeUrl = (value) => {
    if (typeof value !== "string" || !value) return null;
    try {
      const url = new URL(value, window.location.href);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch {
      return null;
    }
  };
  for (const form of document.querySelectorAll("form[data-sf-form]")) {
    const status = form.querySelector("[data-sf-status]");
    const button = form.querySelector("button[type=submit]");
    const slots = Array.from(form.querySelectorAll("[data-error-for]"));
    const say = (text, state) => {
      status.textContent = text;
      status.setAttribute("data-state", state);
    };
    const control = (slot) => document.getElementById(slot.getAttribute("data-control"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      for (const slot of slots) {
        slot.textContent = "";
        control(slot)?.removeAttribute("aria-invalid");
      }
      say("Sending…", "busy");
      button.disabled = true;
      let response;
      let body = {};
      try {
        response = await fetch(form.getAttribute("action"), {
          method: "POST",
          body: new FormData(form),
          headers: { Accept: "application/json" },
        });
        body = await response.json().catch(() => ({}));
      } catch {
        button.disabled = false;
        say("The form could not be sent. Check your connection and try again.", "error");
        return;
      }
      button.disabled = false;
      const widget = form.querySelector(".cf-turnstile");
      if (widget && window.turnstile) window.turnstile.reset(widget);
      if (response.ok && body.ok) {
        const next = safeUrl(body.redirect);
        if (next) {
          window.location.assign(next);
          return;
        }
        const download = safeUrl(body.download_url);
        const link = form.querySelector("[data-sf-download]");
        if (download && link) {
          link.href = download;
          link.parentElement.hidden = false;
        }
        resetForm(form);
        form.setAttribute("data-state", "done");
        say(body.message || form.getAttribute("data-success"), "success");
        return;
      }
      const details = (body.error && body.error.details) || {};
      const elsewhere = [];
      let first = null;
      for (const [name, messages] of Object.entries(details)) {
        const text = [].concat(messages).join(" ");
        const slot = slots.find((candidate) => candidate.getAttribute("data-error-for") === name);
        if (!slot) {
          elsewhere.push(text);
          continue;
        }
        slot.textContent = text;
        const field = control(slot);
        field?.setAttribute("aria-invalid", "true");
        first = first || field;
      }
      const summary = elsewhere.join(" ") || (body.error && body.error.message) || "Please check the form and try again.";
      say(summary, "error");
      first?.focus();
    });
  }
})();
