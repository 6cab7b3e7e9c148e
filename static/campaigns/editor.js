// The campaign editor's blocks, preview and personalization helper.
//
// The email's content ({"blocks": [...]}) lives here while the marketer edits: every change rewrites
// the form's hidden `content` field and, after a pause, posts the whole form to the preview endpoint,
// which renders it unsaved (as the chosen contact would get it) or answers with errors keyed by path
// ("content.blocks.2.text"), shown next to that block's field. Saving is the form's own submit, so the
// server checks everything once more and the page comes back with the same keyed errors.
(function () {
  "use strict";

  const configNode = document.getElementById("campaign-editor-config");
  const form = document.getElementById("campaign-form");
  if (!configNode || !form) return;
  const config = JSON.parse(configNode.textContent);
  const canWrite = config.canWrite;
  const content = config.content && Array.isArray(config.content.blocks) ? config.content : { blocks: [] };
  const contentInput = form.querySelector("input[name=content]");
  const list = form.querySelector("[data-blocks]");
  const palette = form.querySelector("[data-palette]");
  const errorsRoot = form.querySelector("[data-content-errors]");
  const frame = form.querySelector("[data-preview]");
  const frameBox = form.querySelector("[data-preview-frame]");
  const previewStatus = form.querySelector("[data-preview-status]");
  const PREVIEW_DELAY = 400;
  const MAX_COLUMNS = 3;
  const MIN_COLUMNS = 2;

  const LABELS = {
    heading: "Heading",
    text: "Text",
    image: "Image",
    button: "Button",
    divider: "Divider",
    columns: "Columns",
    footer: "Footer",
  };
  const FIELD_LABELS = { src: "Image URL", alt: "Alt text", link: "Links to", url: "Links to", width: "Width (px)" };
  const ICONS = {
    heading: '<path d="M6 4v16M18 4v16M6 12h12"/>',
    text: '<path d="M4 6h16M4 10h16M4 14h16M4 18h10"/>',
    image: '<rect x="3" y="4" width="18" height="16" rx="2"/><circle cx="9" cy="10" r="2"/><path d="m21 16-5-5-9 9"/>',
    button: '<rect x="3" y="7" width="18" height="10" rx="5"/><path d="M8 12h8"/>',
    divider: '<path d="M4 12h16"/>',
    columns: '<rect x="3" y="4" width="18" height="16" rx="2"/><path d="M12 4v16"/>',
    footer: '<path d="M3 5h18M3 9h12"/><rect x="3" y="13" width="18" height="7" rx="1.5"/>',
    grip: '<circle cx="9" cy="6" r="1"/><circle cx="15" cy="6" r="1"/><circle cx="9" cy="12" r="1"/><circle cx="15" cy="12" r="1"/><circle cx="9" cy="18" r="1"/><circle cx="15" cy="18" r="1"/>',
    up: '<path d="M12 19V5"/><path d="m6 11 6-6 6 6"/>',
    down: '<path d="M12 5v14"/><path d="m6 13 6 6 6-6"/>',
    trash: '<path d="M4 7h16"/><path d="M10 11v6M14 11v6"/><path d="M6 7l1 13h10l1-13"/><path d="M9 7V4h6v3"/>',
  };

  function icon(name) {
    return (
      '<svg class="icon" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.8" ' +
      'stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">' + (ICONS[name] || "") + "</svg>"
    );
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([name, value]) => {
      if (value === undefined || value === null || value === false) return;
      if (name === "text") node.textContent = value;
      else if (name === "html") node.innerHTML = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    });
    children.forEach((child) => child && node.append(child));
    return node;
  }

  function plain(html) {
    const scratch = document.createElement("div");
    scratch.innerHTML = html || "";
    return scratch.textContent.trim();
  }

  function fieldLabel(name, schema) {
    return FIELD_LABELS[name] || schema.title || name;
  }

  function newBlock(type) {
    if (type === "columns") return { type, columns: [{ blocks: [] }, { blocks: [] }] };
    const block = { type };
    Object.entries((config.blockTypes[type] || {}).properties || {}).forEach(([name, schema]) => {
      if (name !== "type" && schema.default !== undefined) block[name] = schema.default;
    });
    return block;
  }

  function summary(block) {
    const text = block.text || block.label || block.alt || block.src || "";
    if (block.type === "columns") return `${(block.columns || []).length} columns`;
    return plain(text).slice(0, 80);
  }

  // Blocks whose fields are shown; the others show one summary line, so a long email stays scannable.
  const openBlocks = new WeakSet();

  // --- Saving state and the preview ------------------------------------------------------------------

  let previewTimer = null;
  let previewRequest = 0;

  function changed() {
    contentInput.value = JSON.stringify(content);
    schedulePreview();
  }

  function schedulePreview() {
    window.clearTimeout(previewTimer);
    previewTimer = window.setTimeout(refreshPreview, PREVIEW_DELAY);
  }

  async function refreshPreview() {
    const request = ++previewRequest;
    contentInput.value = JSON.stringify(content);
    const body = new FormData(form);
    body.delete("action");
    previewStatus.textContent = "Updating the preview…";
    let response;
    try {
      response = await fetch(config.previewUrl, {
        method: "POST",
        body,
        headers: { "X-CSRFToken": config.csrfToken },
        credentials: "same-origin",
      });
    } catch (error) {
      previewStatus.textContent = "The preview could not be reached; it updates when you edit again.";
      return;
    }
    if (request !== previewRequest) return; // a newer edit's preview is on its way
    const data = await response.json().catch(() => ({}));
    if (response.ok) {
      frame.srcdoc = data.html;
      form.querySelector("[data-preview-subject]").textContent = data.subject || "(no subject)";
      const subjectB = form.querySelector("[data-preview-subject-b]");
      subjectB.textContent = data.subject_b ? `B: ${data.subject_b}` : "";
      subjectB.hidden = !data.subject_b;
      form.querySelector("[data-preview-preheader]").textContent = form.elements.preheader
        ? form.elements.preheader.value
        : "";
      showErrors({});
      previewStatus.textContent = "";
      frameBox.dataset.state = "ok";
    } else {
      showErrors(data.errors || { content: ["The preview could not be made."] });
      previewStatus.textContent = "Fix the highlighted fields to see the preview.";
      frameBox.dataset.state = "error";
    }
  }

  // --- Errors by path ----------------------------------------------------------------------------------

  function showErrors(errors) {
    form.querySelectorAll("[data-live-error]").forEach((node) => node.remove());
    form.querySelectorAll(".block-field.has-error, .block-card.has-error").forEach((node) => node.classList.remove("has-error"));
    errorsRoot.querySelectorAll("[data-live]").forEach((node) => node.remove());
    Object.entries(errors).forEach(([path, messages]) => {
      const target = closestTarget(path);
      const note = el("ul", { class: "errorlist", "data-live-error": true });
      messages.forEach((message) => note.append(el("li", { text: message })));
      if (target) {
        target.classList.add("has-error");
        target.append(note);
        for (let card = target.closest(".block-card"); card; card = card.parentElement.closest(".block-card")) {
          card.classList.add("has-error", "is-open");
          card.querySelector(".block-head").setAttribute("aria-expanded", "true");
          openBlocks.add(card.block);
        }
      } else {
        errorsRoot.append(
          el("div", { class: "flash flash-error", "data-live": true }, el("div", { class: "flash-body", text: messages.join(" ") }))
        );
      }
    });
  }

  // The field an error names, or the nearest block or list holding it ("content.blocks.2" for a
  // problem with the block as a whole).
  function closestTarget(path) {
    let parts = path.split(".");
    while (parts.length > 1) {
      const node = form.querySelector(`[data-path="${parts.join(".")}"]`);
      if (node) return node;
      parts = parts.slice(0, -1);
    }
    return null;
  }

  // --- Fields --------------------------------------------------------------------------------------------

  function inputFor(name, schema, block, path) {
    const id = `f-${path.replace(/\./g, "-")}`;
    // A stored block may leave out settings at their default; show (and keep) the default.
    if (block[name] === undefined && schema.default !== undefined) block[name] = schema.default;
    const value = block[name];
    const set = (next) => {
      block[name] = next;
      changed();
      const card = document.getElementById(`card-${path.split(".").slice(0, -1).join("-")}`);
      const line = card && card.querySelector(".block-summary");
      if (line) line.textContent = summary(block);
    };
    let input;
    if (schema.format === "richtext") return richText(id, name, schema, value, set, path);
    if (schema.enum) {
      input = el("select", { id, class: "select-sm", disabled: !canWrite });
      schema.enum.forEach((option) => input.append(el("option", { value: String(option), text: String(option) })));
      input.value = String(value);
      input.addEventListener("change", () => set(schema.type === "integer" ? Number(input.value) : input.value));
    } else if (schema.type === "integer") {
      input = el("input", { id, type: "number", min: schema.minimum, max: schema.maximum, value, disabled: !canWrite });
      input.addEventListener("input", () => set(input.value === "" ? input.value : Number(input.value)));
    } else if (schema.format === "color") {
      input = el("input", { id, type: "color", value: value || "#000000", disabled: !canWrite });
      input.addEventListener("input", () => set(input.value));
    } else if (schema.format === "textarea") {
      input = el("textarea", { id, rows: 3, maxlength: schema.maxLength, disabled: !canWrite, "data-personalize": true });
      input.value = value || "";
      input.addEventListener("input", () => set(input.value));
    } else {
      const url = schema.format === "uri";
      input = el("input", {
        id,
        type: "text",
        value: value || "",
        maxlength: schema.maxLength,
        placeholder: url ? "https://…" : undefined,
        spellcheck: url ? "false" : undefined,
        disabled: !canWrite,
        "data-personalize": url ? undefined : true,
      });
      input.addEventListener("input", () => set(input.value));
    }
    return el("div", { class: "block-field", "data-path": path }, el("label", { for: id, text: fieldLabel(name, schema) }), input);
  }

  function richText(id, name, schema, value, set, path) {
    const editor = el("div", {
      id,
      class: "richtext-body",
      contenteditable: canWrite ? "true" : "false",
      role: "textbox",
      "aria-multiline": "true",
      "aria-label": fieldLabel(name, schema),
      "data-personalize": true,
      html: value || "",
    });
    const command = (name, argument) => (event) => {
      event.preventDefault();
      editor.focus();
      document.execCommand(name, false, argument);
      set(editor.innerHTML);
    };
    const button = (title, label, onmousedown) =>
      el("button", { type: "button", class: "btn btn-ghost btn-sm", title, "aria-label": title, text: label, onmousedown, disabled: !canWrite });
    const toolbar = el(
      "div",
      { class: "richtext-toolbar" },
      button("Bold", "B", command("bold")),
      button("Italic", "I", command("italic")),
      button("Bulleted list", "• List", command("insertUnorderedList")),
      button("Link", "Link", (event) => {
        event.preventDefault();
        const url = window.prompt("Link to (https://… or mailto:…)");
        if (url) command("createLink", url)(event);
      })
    );
    editor.addEventListener("input", () => set(editor.innerHTML));
    editor.addEventListener("paste", (event) => {
      // Styles pasted from elsewhere would only be stripped on save; keep the text.
      event.preventDefault();
      document.execCommand("insertText", false, event.clipboardData.getData("text/plain"));
    });
    return el(
      "div",
      { class: "block-field block-field-wide", "data-path": path },
      el("label", { for: id, text: fieldLabel(name, schema), onclick: () => editor.focus() }),
      el("div", { class: "richtext" }, toolbar, editor)
    );
  }

  // --- Blocks ----------------------------------------------------------------------------------------------

  function renderList(container, blocks, prefix, nested) {
    container.replaceChildren();
    blocks.forEach((block, index) => container.append(card(blocks, block, index, `${prefix}.${index}`, nested)));
    if (!blocks.length) {
      container.append(el("li", { class: "block-empty subtle", text: nested ? "Empty column: add a block below." : "No blocks yet: add one from below." }));
    }
    if (canWrite && window.Sortable && !container.sortable) {
      container.sortable = window.Sortable.create(container, {
        handle: ".block-handle",
        animation: 150,
        onEnd(event) {
          if (event.oldIndex === event.newIndex) return;
          const [moved] = blocks.splice(event.oldIndex, 1);
          blocks.splice(event.newIndex, 0, moved);
          renderList(container, blocks, prefix, nested);
          changed();
        },
      });
    }
  }

  function card(blocks, block, index, path, nested) {
    const schema = config.blockTypes[block.type] || { properties: {} };
    const move = (offset) => () => {
      const target = index + offset;
      if (target < 0 || target >= blocks.length) return;
      [blocks[index], blocks[target]] = [blocks[target], blocks[index]];
      renderAll();
      changed();
    };
    const remove = () => {
      blocks.splice(index, 1);
      renderAll();
      changed();
    };
    const item = el("li", {
      class: openBlocks.has(block) ? "block-card is-open" : "block-card",
      id: `card-${path.replace(/\./g, "-")}`,
      "data-path": path,
      "data-testid": "block",
      "data-type": block.type,
    });
    const controls = canWrite
      ? el(
          "span",
          { class: "block-controls" },
          el("button", { type: "button", class: "btn btn-ghost btn-icon btn-sm", title: "Move up", "aria-label": "Move up", html: icon("up"), onclick: move(-1), disabled: index === 0 }),
          el("button", { type: "button", class: "btn btn-ghost btn-icon btn-sm", title: "Move down", "aria-label": "Move down", html: icon("down"), onclick: move(1), disabled: index === blocks.length - 1 }),
          el("button", { type: "button", class: "btn btn-danger-ghost btn-icon btn-sm", title: "Remove", "aria-label": `Remove the ${LABELS[block.type] || block.type} block`, html: icon("trash"), onclick: remove, "data-testid": "remove-block" })
        )
      : null;
    const head = el(
      "div",
      {
        class: "block-head",
        title: "Click to show or hide its settings",
        tabindex: "0",
        role: "button",
        "aria-expanded": String(openBlocks.has(block)),
        onclick: (event) => {
          if (event.target.closest("button, .block-handle")) return;
          const open = item.classList.toggle("is-open");
          event.currentTarget.setAttribute("aria-expanded", String(open));
          if (open) openBlocks.add(block);
          else openBlocks.delete(block);
        },
        onkeydown: (event) => {
          if (event.target === event.currentTarget && (event.key === "Enter" || event.key === " ")) {
            event.preventDefault();
            event.currentTarget.click();
          }
        },
      },
      canWrite ? el("span", { class: "block-handle", title: "Drag to reorder", html: icon("grip") }) : null,
      el("span", { class: "block-icon", html: icon(block.type) }),
      el("strong", { text: LABELS[block.type] || block.type }),
      el("span", { class: "block-summary subtle", text: summary(block) }),
      controls
    );
    const body = el("div", { class: "block-body" });
    if (block.type === "columns") {
      body.append(columnsEditor(block, path));
    } else {
      Object.entries(schema.properties || {}).forEach(([name, fieldSchema]) => {
        if (name !== "type") body.append(inputFor(name, fieldSchema, block, `${path}.${name}`));
      });
    }
    item.block = block;
    item.append(head, body);
    return item;
  }

  function columnsEditor(block, path) {
    const wrap = el("div", { class: "columns-editor", "data-path": `${path}.columns` });
    block.columns = Array.isArray(block.columns) ? block.columns : [];
    block.columns.forEach((column, index) => {
      column.blocks = Array.isArray(column.blocks) ? column.blocks : [];
      const columnPath = `${path}.columns.${index}`;
      const inner = el("ol", { class: "block-list nested", "data-path": `${columnPath}.blocks` });
      renderList(inner, column.blocks, `${columnPath}.blocks`, true);
      const removeColumn =
        canWrite && block.columns.length > MIN_COLUMNS
          ? el("button", {
              type: "button",
              class: "btn btn-link btn-sm",
              text: "Remove column",
              onclick: () => {
                block.columns.splice(index, 1);
                renderAll();
                changed();
              },
            })
          : null;
      wrap.append(
        el(
          "div",
          { class: "column-editor", "data-path": columnPath },
          el("div", { class: "column-head" }, el("span", { class: "subtle", text: `Column ${index + 1}` }), removeColumn),
          inner,
          canWrite ? paletteFor(column.blocks, true) : null
        )
      );
    });
    if (canWrite && block.columns.length < MAX_COLUMNS) {
      wrap.append(
        el("button", {
          type: "button",
          class: "btn btn-secondary btn-sm add-column",
          text: "+ Column",
          onclick: () => {
            block.columns.push({ blocks: [] });
            renderAll();
            changed();
          },
        })
      );
    }
    return wrap;
  }

  function paletteFor(blocks, nested) {
    const bar = el("div", { class: "palette-buttons" });
    Object.keys(config.blockTypes).forEach((type) => {
      if (nested && type === "columns") return; // columns can't hold columns
      bar.append(
        el(
          "button",
          {
            type: "button",
            class: "btn btn-secondary btn-sm",
            "data-add-block": type,
            "data-testid": nested ? undefined : `add-${type}`,
            onclick: () => {
              const block = newBlock(type);
              openBlocks.add(block);
              blocks.push(block);
              renderAll();
              changed();
              const cards = form.querySelectorAll(".block-card");
              const added = nested ? null : cards[cards.length - 1];
              if (added) added.scrollIntoView({ block: "nearest", behavior: "smooth" });
            },
          },
          el("span", { html: icon(type) }),
          LABELS[type] || type
        )
      );
    });
    return bar;
  }

  function renderAll() {
    renderList(list, content.blocks, "content.blocks", false);
  }

  // --- Personalization: insert at the cursor of the last focused text -------------------------------------

  let lastTarget = null;
  form.addEventListener("focusin", (event) => {
    if (event.target.closest("[data-personalize]")) lastTarget = event.target.closest("[data-personalize]");
  });

  function insertion(key) {
    return key === "contact.first_name" ? '{{ contact.first_name | default("there") }}' : `{{ ${key} }}`;
  }

  form.querySelectorAll("[data-insert]").forEach((chip) => {
    chip.addEventListener("mousedown", (event) => event.preventDefault()); // keep the caret where it is
    chip.addEventListener("click", () => {
      const text = insertion(chip.dataset.insert);
      const target = lastTarget || form.elements.subject;
      if (!target) return;
      target.focus();
      if (target.isContentEditable) {
        document.execCommand("insertText", false, text);
      } else {
        const start = target.selectionStart ?? target.value.length;
        const end = target.selectionEnd ?? target.value.length;
        target.setRangeText(text, start, end, "end");
        target.dispatchEvent(new Event("input", { bubbles: true }));
      }
    });
  });

  // --- The rest of the form --------------------------------------------------------------------------------

  form.addEventListener("input", (event) => {
    if (event.target.matches("input[name=subject], input[name=preheader], input[name=subject_b]")) schedulePreview();
  });
  form.querySelector("[data-preview-contact]").addEventListener("change", refreshPreview);
  form.querySelectorAll("[data-device]").forEach((button) => {
    button.addEventListener("click", () => {
      form.querySelectorAll("[data-device]").forEach((other) => {
        other.classList.toggle("is-active", other === button);
        other.setAttribute("aria-pressed", String(other === button));
      });
      frameBox.classList.toggle("is-mobile", button.dataset.device === "mobile");
    });
  });
  form.addEventListener("click", (event) => {
    const button = event.target.closest("[data-confirm-action]");
    if (button && !window.confirm(button.dataset.confirmAction)) event.preventDefault();
  });
  document.body.addEventListener("htmx:afterSwap", () => {
    const count = document.getElementById("recipient-count");
    const mirror = form.querySelector("[data-recipient-mirror]");
    if (count && mirror) mirror.textContent = count.textContent.trim();
  });

  if (palette) palette.append(paletteFor(content.blocks, false));
  renderAll();
  contentInput.value = JSON.stringify(content);
  showErrors(config.errors || {});
  // The page shows the subject as typed; the preview renders it for a contact.
  if (!Object.keys(config.errors || {}).length) refreshPreview();
})();
