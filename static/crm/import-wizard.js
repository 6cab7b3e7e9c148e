// The import wizard: upload → map columns → start. The browser keeps the chosen file; the imports API
// reads its columns and first rows (preview) and, once mapped, stores and queues it (create). Then the
// import's own page shows its progress.

(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("import-wizard-config").textContent);
  const $ = (selector) => document.querySelector(selector);
  const steps = { upload: $('[data-step="upload"]'), map: $('[data-step="map"]') };
  const fileInput = $("[data-file-input]");
  const fileName = $("[data-file-name]");
  const dropzone = $("[data-dropzone]");
  const uploadForm = $("[data-upload-form]");
  const uploadButton = $("[data-upload-submit]");
  const uploadError = $("[data-upload-error]");
  const mapError = $("[data-map-error]");
  const rowsBody = $("[data-mapping-rows]");
  const sampleTable = $("[data-sample-table]");
  const tagsInput = $("[data-import-tags]");
  const tagsError = $("[data-tags-error]");
  const startButton = $("[data-start]");

  let file = null;
  let preview = null;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    node.append(...children.filter((child) => child !== null && child !== undefined));
    return node;
  }

  function show(step) {
    for (const [name, panel] of Object.entries(steps)) panel.hidden = name !== step;
    document.querySelectorAll("[data-step-marker]").forEach((marker) => {
      const order = ["upload", "map", "import"];
      const here = order.indexOf(step);
      const mine = order.indexOf(marker.dataset.stepMarker);
      marker.classList.toggle("is-current", mine === here);
      marker.classList.toggle("is-done", mine < here);
    });
  }

  function showError(box, message) {
    box.hidden = !message;
    box.querySelector(".flash-body").textContent = message || "";
  }

  function describe(error, fallback) {
    const details = Object.values(error.details || {}).flat();
    return details.length ? details.join(" ") : error.message || fallback;
  }

  async function api(path, body) {
    let response;
    try {
      response = await fetch(config.api + path, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-Workspace": String(config.workspace), "X-CSRFToken": config.csrfToken },
        body,
      });
    } catch {
      return { ok: false, status: 0, error: { message: "Couldn't reach the server. Check your connection and try again." } };
    }
    let data = {};
    try {
      data = await response.json();
    } catch {
      data = {};
    }
    return response.ok ? { ok: true, data } : { ok: false, status: response.status, error: data.error || {} };
  }

  // --- Step 1: the file --------------------------------------------------------------------------------

  function choose(chosen) {
    file = chosen || null;
    showError(uploadError, "");
    if (file && file.size > config.maxBytes) {
      showError(uploadError, `That file is larger than ${Math.floor(config.maxBytes / 1048576)} MB: split it into smaller files.`);
      file = null;
    }
    fileName.textContent = file ? `${file.name} · ${Math.max(1, Math.round(file.size / 1024)).toLocaleString()} KB` : "Choose a CSV file or drop it here";
    dropzone.classList.toggle("has-file", Boolean(file));
    uploadButton.disabled = !file;
  }

  fileInput.addEventListener("change", () => choose(fileInput.files[0]));
  ["dragenter", "dragover"].forEach((type) =>
    dropzone.addEventListener(type, (event) => {
      event.preventDefault();
      dropzone.classList.add("is-dragging");
    })
  );
  ["dragleave", "drop"].forEach((type) => dropzone.addEventListener(type, () => dropzone.classList.remove("is-dragging")));
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    if (event.dataTransfer.files.length) choose(event.dataTransfer.files[0]);
  });

  uploadForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!file) return;
    uploadButton.disabled = true;
    uploadButton.textContent = "Reading the file…";
    const body = new FormData();
    body.append("file", file);
    const result = await api("contact-imports/preview/", body);
    uploadButton.disabled = false;
    uploadButton.textContent = "Continue";
    if (!result.ok) {
      showError(uploadError, describe(result.error, "The file could not be read."));
      return;
    }
    preview = result.data;
    renderMapping();
    show("map");
  });

  // --- Step 2: the mapping --------------------------------------------------------------------------------

  function targetSelect(column, chosen) {
    const select = el("select", { "aria-label": `Import ${column} as`, "data-column": column });
    select.append(el("option", { value: "" }, "Don't import"));
    for (const target of preview.targets) {
      const option = el("option", { value: target.value }, target.label);
      if (target.value === chosen) option.selected = true;
      select.append(option);
    }
    select.addEventListener("change", validate);
    return select;
  }

  function renderMapping() {
    const columns = preview.columns;
    $("[data-map-summary]").textContent = `${file.name}: ${columns.length} column${columns.length === 1 ? "" : "s"}. Matched by name where we could; check each one.`;
    rowsBody.replaceChildren(
      ...columns.map((column, index) => {
        const examples = preview.sample_rows.map((row) => row[index]).filter((value) => value && value.trim()).slice(0, 3);
        return el(
          "tr",
          { "data-mapping-row": column },
          el("td", {}, el("strong", {}, column || `Column ${index + 1}`)),
          el("td", { class: "examples" }, examples.length ? examples.join(" · ") : el("span", { class: "subtle" }, "empty")),
          el("td", {}, column ? targetSelect(column, preview.suggested_mapping[column] || "") : el("span", { class: "subtle" }, "No header: skipped"), el("ul", { class: "errorlist" }))
        );
      })
    );
    const head = el("tr", {}, ...columns.map((column) => el("th", {}, column)));
    const body = preview.sample_rows.map((row) => el("tr", {}, ...row.map((cell) => el("td", {}, cell))));
    sampleTable.replaceChildren(el("thead", {}, head), el("tbody", {}, ...body));
    validate();
  }

  function mapping() {
    const result = {};
    document.querySelectorAll("[data-column]").forEach((select) => {
      result[select.dataset.column] = select.value;
    });
    return result;
  }

  function setRowError(column, messages) {
    const row = Array.from(rowsBody.querySelectorAll("[data-mapping-row]")).find((each) => each.dataset.mappingRow === column);
    if (!row) return false;
    row.querySelector(".errorlist").replaceChildren(...messages.map((message) => el("li", {}, message)));
    row.classList.toggle("has-error", messages.length > 0);
    return true;
  }

  // Checks the browser can make before asking the server: one email column, one column per field.
  function validate() {
    const chosen = mapping();
    const used = {};
    let ok = true;
    for (const [column, target] of Object.entries(chosen)) {
      const messages = [];
      if (target && target !== "tags" && used[target] !== undefined) {
        messages.push(`Already imported from “${used[target]}”.`);
        ok = false;
      } else if (target) {
        used[target] = column;
      }
      setRowError(column, messages);
    }
    const hasEmail = Object.values(chosen).includes("email");
    showError(mapError, hasEmail ? "" : "Choose the column that holds email addresses: contacts are matched by email.");
    startButton.disabled = !ok || !hasEmail;
    return ok && hasEmail;
  }

  $("[data-back]").addEventListener("click", () => show("upload"));

  startButton.addEventListener("click", async () => {
    if (!validate()) return;
    startButton.disabled = true;
    startButton.textContent = "Starting…";
    tagsError.replaceChildren();
    const body = new FormData();
    body.append("file", file);
    body.append("mapping", JSON.stringify(mapping()));
    body.append("tags", tagsInput.value);
    const result = await api("contact-imports/", body);
    if (result.ok) {
      show("import");
      window.location.href = config.progressUrlPattern.replace("/0/", `/${result.data.id}/`);
      return;
    }
    startButton.disabled = false;
    startButton.textContent = "Start import";
    const details = result.error.details || {};
    const general = [];
    for (const [key, messages] of Object.entries(details)) {
      if (key.startsWith("mapping.") && setRowError(key.slice("mapping.".length), messages)) continue;
      if (key === "tags" || key.startsWith("tags.")) {
        tagsError.replaceChildren(...messages.map((message) => el("li", {}, message)));
        continue;
      }
      general.push(...messages);
    }
    if (!Object.keys(details).length) general.push(result.error.message || "The import could not start.");
    showError(mapError, general.join(" "));
  });
})();
