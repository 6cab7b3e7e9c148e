// The page editor. The page's component tree lives here, client-side, as the source of truth: every
// edit changes it and a debounced PUT of the whole tree saves it (atomic, versioned, one revision per
// save). The canvas is the server's own editor-mode rendering, so what you see is what visitors get.

import { el } from "../js/dom.js";

const config = JSON.parse(document.getElementById("editor-config").textContent);
const canWrite = config.canWrite;

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

const CATEGORY_LABELS = {
  layout: "Layout",
  content: "Content",
  media: "Media",
  marketing: "Marketing",
  forms: "Forms",
  social_proof: "Social proof",
};
const DEVICE_WIDTHS = { desktop: null, tablet: 820, mobile: 390 };
const CONFIG_SAVE_DELAY = 600;
const THEME_SAVE_DELAY = 450;
const RETRY_DELAYS = [2000, 4000, 8000, 15000, 30000];
const HISTORY_DEPTH = 50;
const WORDS = { url: "URL", cta: "CTA", seo: "SEO", og: "OG", faq: "FAQ", id: "ID", src: "Image URL", alt: "Alt text", html: "Content" };
// Inputs that only matter for some kinds of form field; hidden otherwise so the panel stays short.
const FIELD_RULES = {
  FormField: {
    options: (item) => item.kind === "select",
    value: (item) => item.kind === "hidden",
    placeholder: (item) => !["checkbox", "hidden", "select"].includes(item.kind),
  },
};

// --- Icons ---------------------------------------------------------------------------------------------

const ICON_PATHS = {
  columns: '<rect x="3" y="4" width="18" height="16" rx="2"/><path d="M9 4v16M15 4v16"/>',
  menu: '<rect x="3" y="4" width="18" height="6" rx="1.5"/><path d="M6 7h3M13 7h2M17 7h1"/><path d="M3 14h18M3 18h12"/>',
  footer: '<path d="M3 5h18M3 9h12"/><rect x="3" y="13" width="18" height="7" rx="1.5"/>',
  minus: '<path d="M4 12h16"/><path d="M4 7h16M4 17h16" stroke-dasharray="2 3"/>',
  star: '<path d="m12 3 2.7 5.6 6.1.8-4.5 4.2 1.1 6.1L12 16.8l-5.4 2.9 1.1-6.1-4.5-4.2 6.1-.8z"/>',
  heading: '<path d="M6 4v16M18 4v16M6 12h12"/>',
  text: '<path d="M4 6h16M4 10h16M4 14h16M4 18h10"/>',
  cursor: '<rect x="3" y="7" width="18" height="10" rx="5"/><path d="M8 12h8"/>',
  megaphone: '<path d="M3 10v4l12 5V5z"/><path d="M15 9a3 3 0 0 1 0 6"/><path d="M6 14.5 7.5 20h3L9 15.7"/>',
  grid: '<rect x="3" y="3" width="7" height="7" rx="1.5"/><rect x="14" y="3" width="7" height="7" rx="1.5"/><rect x="3" y="14" width="7" height="7" rx="1.5"/><rect x="14" y="14" width="7" height="7" rx="1.5"/>',
  chart: '<path d="M3 21h18"/><path d="M7 17v-6M12 17V6M17 17v-4"/>',
  help: '<circle cx="12" cy="12" r="9"/><path d="M9.5 9a2.5 2.5 0 0 1 4.9.8c0 1.7-2.4 2.2-2.4 3.7"/><path d="M12 17h.01"/>',
  clock: '<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/>',
  image: '<rect x="3" y="4" width="18" height="16" rx="2"/><circle cx="9" cy="10" r="2"/><path d="m21 16-5-5-9 9"/>',
  images: '<rect x="7" y="3" width="14" height="14" rx="2"/><path d="M3 7v12a2 2 0 0 0 2 2h12"/><path d="m21 13-4-4-6 6"/>',
  play: '<rect x="3" y="5" width="18" height="14" rx="3"/><path d="m10 9 5 3-5 3z"/>',
  building: '<rect x="4" y="3" width="16" height="18" rx="1.5"/><path d="M9 7h.01M15 7h.01M9 11h.01M15 11h.01M9 15h.01M15 15h.01M10 21v-3h4v3"/>',
  quote: '<path d="M7 7h4v4c0 3-1.5 5-4 6"/><path d="M15 7h4v4c0 3-1.5 5-4 6"/>',
  tag: '<path d="M3 12V4a1 1 0 0 1 1-1h8l9 9-9 9z"/><circle cx="8" cy="8" r="1.5"/>',
  mail: '<rect x="3" y="5" width="18" height="14" rx="2"/><path d="m3 7 9 6 9-6"/>',
  send: '<path d="M22 2 11 13"/><path d="M22 2 15 22l-4-9-9-4z"/>',
  download: '<path d="M12 4v11"/><path d="m7 10 5 5 5-5"/><path d="M4 20h16"/>',
  square: '<rect x="4" y="4" width="16" height="16" rx="2"/>',
  up: '<path d="M12 19V5"/><path d="m6 11 6-6 6 6"/>',
  down: '<path d="M12 5v14"/><path d="m6 13 6 6 6-6"/>',
  copy: '<rect x="8" y="8" width="13" height="13" rx="2"/><path d="M16 8V5a2 2 0 0 0-2-2H5a2 2 0 0 0-2 2v9a2 2 0 0 0 2 2h3"/>',
  trash: '<path d="M4 7h16"/><path d="M10 11v6M14 11v6"/><path d="M6 7l1 13h10l1-13"/><path d="M9 7V4h6v3"/>',
  parent: '<path d="M9 14 4 9l5-5"/><path d="M4 9h11a5 5 0 0 1 5 5v6"/>',
  handle: '<circle cx="9" cy="6" r="1"/><circle cx="15" cy="6" r="1"/><circle cx="9" cy="12" r="1"/><circle cx="15" cy="12" r="1"/><circle cx="9" cy="18" r="1"/><circle cx="15" cy="18" r="1"/>',
  home: '<path d="M3 10.5 12 3l9 7.5"/><path d="M5 9.5V21h14V9.5"/>',
  pencil: '<path d="M4 20h4L19 9l-4-4L4 16v4z"/>',
  close: '<path d="M6 6l12 12M18 6 6 18"/>',
  chevron: '<path d="m9 6 6 6-6 6"/>',
  plus: '<path d="M12 5v14M5 12h14"/>',
  page: '<path d="M14 3H6a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V9z"/><path d="M14 3v6h6"/>',
  palette: '<circle cx="12" cy="12" r="9"/><circle cx="8" cy="10" r="1.3"/><circle cx="12" cy="7.5" r="1.3"/><circle cx="16" cy="10" r="1.3"/><path d="M12 21a2 2 0 0 1 0-4h1.5a2.5 2.5 0 0 0 0-5"/>',
  bold: '<path d="M7 5h6a3.5 3.5 0 0 1 0 7H7zM7 12h7a3.5 3.5 0 0 1 0 7H7z"/>',
  italic: '<path d="M11 5h6M7 19h6M14 5l-4 14"/>',
  link: '<path d="M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1"/><path d="M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1"/>',
  list: '<path d="M9 6h11M9 12h11M9 18h11"/><path d="M4.5 6h.01M4.5 12h.01M4.5 18h.01"/>',
  warning: '<path d="M12 3 2 20h20L12 3z"/><path d="M12 10v4M12 17h.01"/>',
};

function icon(name, className = "icon") {
  const paths = ICON_PATHS[name] || ICON_PATHS.square;
  return `<svg class="${className}" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${paths}</svg>`;
}

// --- Small helpers -------------------------------------------------------------------------------------

function humanize(key) {
  const words = String(key).split("_").map((word) => WORDS[word] || word);
  const text = words.join(" ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const SINGULAR = { social: "social link" };

function singular(label) {
  const lower = label.toLowerCase();
  if (SINGULAR[lower]) return SINGULAR[lower];
  if (lower.endsWith("ies")) return lower.slice(0, -3) + "y";
  if (lower.endsWith("s") && !lower.endsWith("ss")) return lower.slice(0, -1);
  return lower;
}

function clone(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

function uuid4() {
  if (window.crypto.randomUUID) return window.crypto.randomUUID();
  // randomUUID needs a secure context; getRandomValues does not.
  const bytes = window.crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function slugify(text) {
  return text
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 60);
}

function debounce(fn, delay) {
  let timer = null;
  const debounced = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      fn(...args);
    }, delay);
  };
  debounced.cancel = () => clearTimeout(timer);
  debounced.flush = (...args) => {
    if (timer === null) return;
    clearTimeout(timer);
    timer = null;
    fn(...args);
  };
  return debounced;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function isTyping(target) {
  return Boolean(target && target.closest && target.closest("input, textarea, select, [contenteditable=true]"));
}

// --- API -----------------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, error) {
    super(error.message || `Request failed (${status}).`);
    this.status = status;
    this.code = error.code || (status ? "error" : "network");
    this.details = error.details || {};
  }
}

async function api(method, path, body, { text = false } = {}) {
  // The preview answers HTML, but its content negotiation only knows JSON renderers: ask for anything.
  const headers = { "X-Workspace": String(config.workspace), Accept: text ? "*/*" : "application/json" };
  if (method !== "GET") headers["X-CSRFToken"] = config.csrfToken;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(config.api + path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, { code: "network", message: "Network error." });
  }
  if (response.ok) {
    if (response.status === 204) return null;
    return text ? response.text() : response.json();
  }
  let error = {};
  try {
    error = (await response.json()).error || {};
  } catch {
    error = {};
  }
  throw new ApiError(response.status, error);
}

function firstMessage(error) {
  const messages = Object.values(error.details || {}).flat();
  return messages.length ? messages.join(" ") : error.message;
}

// --- State ---------------------------------------------------------------------------------------------

const state = {
  types: new Map(),
  site: null,
  page: null,
  tree: [],
  selected: null,
  device: "desktop",
  drag: null,
  // Every change bumps `generation`; a save records the one it sent, so changes made while it was in
  // flight are noticed and saved next.
  generation: 0,
  savedGeneration: 0,
  pendingPage: null,
  saving: false,
  conflict: false,
  retry: 0,
  errors: { nodes: new Map(), page: {}, site: {}, general: [] },
  // Undo/redo: revision ids of this page, oldest first; `cursor` is the one the page is at now.
  history: { entries: [], cursor: -1, busy: false },
  frame: null,
  renderSeq: 0,
};

const editorRoot = $(".editor");
const statusBox = $("[data-testid=save-status]");
const frameBox = $(".ed-frame");
const stage = $(".ed-stage");
const propertiesPane = $("[data-testid=properties]");

// --- Tree operations -----------------------------------------------------------------------------------

function walk(nodes, visit, parent = null) {
  nodes.forEach((node, index) => {
    visit(node, parent, index, nodes);
    walk(node.children || [], visit, node);
  });
}

function findNode(id, nodes = state.tree, parent = null) {
  for (let index = 0; index < nodes.length; index += 1) {
    const node = nodes[index];
    if (node.id === id) return { node, parent, siblings: nodes, index };
    const found = findNode(id, node.children || [], node);
    if (found) return found;
  }
  return null;
}

function childrenOf(parentId) {
  if (!parentId) return state.tree;
  const found = findNode(parentId);
  if (!found) return null;
  found.node.children = found.node.children || [];
  return found.node.children;
}

function normalizeTree(nodes) {
  return (nodes || []).map((node) => ({
    id: String(node.id),
    type: node.type,
    config: node.config || {},
    children: normalizeTree(node.children),
  }));
}

function serializeTree(nodes) {
  return nodes.map((node) => ({
    id: node.id,
    type: node.type,
    config: node.config,
    children: serializeTree(node.children || []),
  }));
}

function withNewIds(node) {
  return { ...clone(node), id: uuid4(), children: (node.children || []).map(withNewIds) };
}

function insertNode(node, parentId, index) {
  const siblings = childrenOf(parentId);
  if (!siblings) return false;
  siblings.splice(Math.max(0, Math.min(index, siblings.length)), 0, node);
  return true;
}

function isInside(candidateId, ancestorId) {
  const ancestor = findNode(ancestorId);
  if (!ancestor) return false;
  let inside = false;
  walk(ancestor.node.children || [], (node) => {
    if (node.id === candidateId) inside = true;
  });
  return inside;
}

/** Move a node. `index` counts the target's children before the node is taken out, unless `final`. */
function moveNode(id, parentId, index, { final = false } = {}) {
  const found = findNode(id);
  if (!found || id === parentId || (parentId && isInside(parentId, id))) return false;
  const targetSiblings = childrenOf(parentId);
  if (!targetSiblings) return false;
  let position = index;
  if (!final && found.siblings === targetSiblings && found.index < index) position -= 1;
  if (found.siblings === targetSiblings && found.index === position) return false;
  found.siblings.splice(found.index, 1);
  targetSiblings.splice(Math.max(0, Math.min(position, targetSiblings.length)), 0, found.node);
  return true;
}

function newNode(type) {
  const description = state.types.get(type);
  return { id: uuid4(), type, config: clone(description.default_config) || {}, children: [] };
}

function nodeLabel(node) {
  const description = state.types.get(node.type);
  return description ? description.name : node.type;
}

function nodeSummary(node) {
  const configValue = node.config || {};
  for (const key of ["headline", "heading", "text", "label", "brand", "title", "anchor"]) {
    const value = configValue[key];
    if (typeof value === "string" && value.trim()) return value.trim();
  }
  return "";
}

// --- Status and toasts ---------------------------------------------------------------------------------

const STATUS_TEXT = {
  loading: "Loading…",
  pending: "Unsaved changes",
  saving: "Saving…",
  saved: "All changes saved",
  offline: "Couldn't save — retrying",
  invalid: "Not saved: fix the highlighted fields",
  conflict: "Conflict: someone else changed this page",
  readonly: "View only",
  error: "Couldn't load the page",
};

function setStatus(kind) {
  statusBox.dataset.status = kind;
  $(".ed-status-text", statusBox).textContent = STATUS_TEXT[kind];
  statusBox.title = STATUS_TEXT[kind];
  $(".ed-status-action", statusBox)?.remove();
  if (kind === "conflict") {
    statusBox.append(el("button", { type: "button", class: "ed-status-action", text: "Reload", onclick: reloadAfterConflict }));
  } else if (kind === "invalid") {
    statusBox.append(el("button", { type: "button", class: "ed-status-action", text: "Show", onclick: showFirstError }));
  }
}

let toastTimer = null;
function toast(message, kind = "info") {
  const box = $("[data-testid=toast]");
  box.textContent = message;
  box.dataset.kind = kind;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    box.hidden = true;
  }, 5000);
}

// --- Saving --------------------------------------------------------------------------------------------

const scheduleSave = debounce(() => flush(), CONFIG_SAVE_DELAY);

/** Record a change to the tree; structural changes save at once, typing waits for a pause. */
function changed({ immediate = false } = {}) {
  if (!canWrite) return;
  state.generation += 1;
  if (state.conflict) return;
  renderLayers();
  setStatus("pending");
  if (immediate) {
    scheduleSave.cancel();
    flush();
  } else {
    scheduleSave();
  }
}

function pageSettingsChanged(changes) {
  state.pendingPage = { ...(state.pendingPage || {}), ...changes };
  setStatus("pending");
  scheduleSave();
}

function hasUnsaved() {
  return state.generation !== state.savedGeneration || state.pendingPage !== null || state.saving;
}

async function flush() {
  if (state.saving || state.conflict || !state.page) return;
  state.saving = true;
  setStatus("saving");
  let treeSaved = false;
  try {
    while (state.pendingPage || state.generation !== state.savedGeneration) {
      if (state.pendingPage) {
        const changes = state.pendingPage;
        state.pendingPage = null;
        try {
          const page = await api("PATCH", `pages/${state.page.id}/`, { version: state.page.version, ...changes });
          state.page = page;
          state.errors.page = {};
          updatePageInSite(page);
          await recordLatestRevision();
          treeSaved = true;
        } catch (error) {
          if (error.status === 400) {
            state.errors.page = error.details;
            renderProperties();
            throw error;
          }
          state.pendingPage = { ...changes, ...(state.pendingPage || {}) };
          throw error;
        }
      }
      if (state.generation !== state.savedGeneration) {
        const generation = state.generation;
        const sent = serializeTree(state.tree);
        const response = await api("PUT", `pages/${state.page.id}/tree/`, {
          version: state.page.version,
          components: sent,
        });
        state.page = response.page;
        state.savedGeneration = generation;
        clearNodeErrors();
        // The server normalises configs (defaults, sanitised rich text); take its tree unless the user
        // has changed something since this save was sent.
        if (state.generation === generation) state.tree = normalizeTree(response.components);
        pushRevision(response.revision);
        treeSaved = true;
      }
    }
    state.retry = 0;
    setStatus("saved");
  } catch (error) {
    handleSaveError(error);
  } finally {
    state.saving = false;
  }
  if (treeSaved) {
    renderLayers();
    renderCanvas();
  }
  if (!state.conflict && statusBox.dataset.status === "saved" && hasUnsaved()) flush();
}

function handleSaveError(error) {
  if (error.status === 409) {
    state.conflict = true;
    setStatus("conflict");
    toast("Someone else changed this page. Reload to get their version; your last changes here are not saved.", "error");
  } else if (error.status === 400) {
    applyTreeErrors(error.details);
    setStatus("invalid");
  } else if (error.status === 403 || error.status === 404) {
    setStatus("error");
    toast(error.message, "error");
  } else {
    setStatus("offline");
    const delay = RETRY_DELAYS[Math.min(state.retry, RETRY_DELAYS.length - 1)];
    state.retry += 1;
    setTimeout(() => {
      if (!state.saving) flush();
    }, delay);
  }
}

function clearNodeErrors() {
  state.errors.nodes = new Map();
  state.errors.general = [];
}

/** Spread a 400's details ("components.1.children.0.config.fields.0.label") onto nodes and fields. */
function applyTreeErrors(details) {
  clearNodeErrors();
  for (const [key, messages] of Object.entries(details || {})) {
    const parts = key.split(".");
    if (parts[0] !== "components") {
      state.errors.general.push(...messages);
      continue;
    }
    let nodes = state.tree;
    let node = null;
    let rest = parts.slice(1);
    while (rest.length && /^\d+$/.test(rest[0]) && nodes) {
      node = nodes[Number(rest[0])];
      rest = rest.slice(1);
      if (rest[0] === "children" && node) {
        nodes = node.children;
        rest = rest.slice(1);
      } else {
        break;
      }
    }
    if (!node) {
      state.errors.general.push(...messages);
      continue;
    }
    const field = rest[0] === "config" ? rest.slice(1).join(".") : "";
    const nodeErrors = state.errors.nodes.get(node.id) || {};
    nodeErrors[field] = [...(nodeErrors[field] || []), ...messages];
    state.errors.nodes.set(node.id, nodeErrors);
  }
  renderLayers();
  renderProperties();
  if (!state.selected || !state.errors.nodes.has(state.selected)) {
    const [first] = state.errors.nodes.keys();
    if (first) toast(`${nodeLabel(findNode(first).node)} has a problem: ${Object.values(state.errors.nodes.get(first)).flat()[0]}`, "error");
    else if (state.errors.general.length) toast(state.errors.general.join(" "), "error");
  }
}

function showFirstError() {
  const [first] = state.errors.nodes.keys();
  if (first) select(first, { scroll: true });
  else if (Object.keys(state.errors.page).length) select(null);
}

async function reloadAfterConflict() {
  state.conflict = false;
  scheduleSave.cancel();
  state.pendingPage = null;
  await loadPage(state.page.id, { keepHistory: false });
  toast("Reloaded: you're now editing the latest version.", "info");
}

window.addEventListener("beforeunload", (event) => {
  if (canWrite && hasUnsaved()) {
    event.preventDefault();
    event.returnValue = "";
  }
});

// --- Undo and redo, through revisions ----------------------------------------------------------------------

function pushRevision(revisionId) {
  if (!revisionId) return;
  const history = state.history;
  if (history.entries[history.cursor] === revisionId) return;
  history.entries = history.entries.slice(0, history.cursor + 1);
  history.entries.push(revisionId);
  history.cursor = history.entries.length - 1;
  renderHistoryButtons();
}

function revisionsUrl(pageId, size) {
  return `sites/${config.site.id}/revisions/?page=${pageId}&kind=page&page_size=${size}`;
}

async function recordLatestRevision() {
  const list = await api("GET", revisionsUrl(state.page.id, 1));
  const latest = list.results && list.results[0];
  if (latest) pushRevision(latest.id);
}

/** The page's recent revisions, oldest first, so undo reaches back past a reload. A page no save has
 * touched yet (fresh from a template) has none: its tree as loaded is kept as the first step instead. */
async function loadHistory(pageId) {
  let ids = [];
  try {
    const list = await api("GET", revisionsUrl(pageId, HISTORY_DEPTH));
    ids = (list.results || []).map((revision) => revision.id).reverse();
  } catch (error) {
    toast(`Undo history is unavailable: ${error.message}`, "error");
  }
  state.history.entries = ids.length ? ids : [{ tree: serializeTree(state.tree) }];
  state.history.cursor = state.history.entries.length - 1;
}

/** Undo stops here. Restoring a page revision puts its home flag back without giving the home page
 * to another page, so stepping back across a change of home page could leave the site without one. */
async function restartHistory() {
  state.history.entries = [];
  state.history.cursor = -1;
  await recordLatestRevision();
  if (!state.history.entries.length) {
    state.history.entries = [{ tree: serializeTree(state.tree) }];
    state.history.cursor = 0;
  }
  renderHistoryButtons();
}

function renderHistoryButtons() {
  const { entries, cursor, busy } = state.history;
  $("[data-action=undo]").disabled = !canWrite || busy || cursor <= 0;
  $("[data-action=redo]").disabled = !canWrite || busy || cursor >= entries.length - 1;
}

async function stepHistory(step) {
  const history = state.history;
  const target = history.cursor + step;
  if (!canWrite || history.busy || state.conflict || target < 0 || target >= history.entries.length) return;
  history.busy = true;
  renderHistoryButtons();
  try {
    scheduleSave.flush();
    while (state.saving) await sleep(50);
    if (hasUnsaved()) await flush();
    const entry = history.entries[target];
    if (typeof entry === "number") {
      await api("POST", `sites/${config.site.id}/revisions/${entry}/restore/`);
    } else {
      await api("PUT", `pages/${state.page.id}/tree/`, { version: state.page.version, components: entry.tree });
    }
    history.cursor = target;
    await loadPage(state.page.id, { keepHistory: true });
    toast(step < 0 ? "Undone." : "Redone.", "info");
  } catch (error) {
    toast(`Couldn't ${step < 0 ? "undo" : "redo"}: ${firstMessage(error)}`, "error");
  } finally {
    history.busy = false;
    renderHistoryButtons();
  }
}

// --- Loading a page ------------------------------------------------------------------------------------

async function loadPage(pageId, { keepHistory = false, push = false } = {}) {
  const response = await api("GET", `pages/${pageId}/tree/`);
  state.page = response.page;
  state.tree = normalizeTree(response.components);
  state.generation = state.savedGeneration = 0;
  state.pendingPage = null;
  state.conflict = false;
  state.errors = { nodes: new Map(), page: {}, site: {}, general: [] };
  if (state.selected && !findNode(state.selected)) state.selected = null;
  if (!keepHistory) await loadHistory(pageId);
  updatePageInSite(response.page);
  if (push) window.history.pushState({ page: pageId }, "", `${config.editorUrl}${pageId}/`);
  document.title = `${state.page.title} · ${config.site.name} · Siteflow`;
  $("[data-testid=preview]").href = `${config.api}pages/${pageId}/preview/`;
  renderPagesUi();
  renderLayers();
  renderProperties();
  renderHistoryButtons();
  setStatus(canWrite ? "saved" : "readonly");
  await renderCanvas({ keepScroll: keepHistory });
}

async function switchPage(pageId) {
  if (!state.page || pageId === state.page.id) return;
  scheduleSave.flush();
  while (state.saving) await sleep(50);
  if (state.conflict || statusBox.dataset.status === "invalid") {
    if (!window.confirm("Some changes on this page are not saved. Leave it anyway?")) {
      $("[data-testid=page-switcher]").value = state.page.id;
      return;
    }
  }
  state.selected = null;
  await loadPage(pageId, { push: true });
}

window.addEventListener("popstate", (event) => {
  if (event.state && event.state.page) {
    state.selected = null;
    loadPage(event.state.page);
  }
});

// --- Canvas --------------------------------------------------------------------------------------------

const CANVAS_CSS = `
  [data-component-id] { cursor: pointer; }
  .sfe-hover { outline: 1px dashed #7c6cf2 !important; outline-offset: -1px; }
  .sfe-selected { outline: 2px solid #5046e5 !important; outline-offset: -2px; }
  .sfe-dragging { opacity: .35; }
  .sfe-drop-target { box-shadow: inset 0 0 0 2px rgba(80, 70, 229, .35) !important; background-color: rgba(80, 70, 229, .04); }
  .sfe-line { position: absolute; z-index: 2147483646; pointer-events: none; background: #5046e5; border-radius: 2px;
    box-shadow: 0 0 0 2px rgba(255, 255, 255, .85); }
  .sfe-line::before, .sfe-line::after { content: ""; position: absolute; width: 8px; height: 8px; border-radius: 50%; background: #5046e5; }
  .sfe-line.h::before { left: -4px; top: -3px; } .sfe-line.h::after { right: -4px; top: -3px; }
  .sfe-line.v::before { top: -4px; left: -3px; } .sfe-line.v::after { bottom: -4px; left: -3px; }
  .sfe-toolbar { position: absolute; z-index: 2147483647; display: flex; align-items: center; gap: 2px; padding: 3px;
    background: #5046e5; color: #fff; border-radius: 7px; box-shadow: 0 6px 16px -4px rgba(16, 24, 40, .35);
    font: 600 12px/1 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; letter-spacing: 0; text-transform: none; }
  .sfe-toolbar .sfe-name { padding: 0 8px 0 6px; white-space: nowrap; }
  .sfe-toolbar button { all: unset; display: inline-grid; place-items: center; width: 24px; height: 24px; border-radius: 5px;
    cursor: pointer; color: #fff; }
  .sfe-toolbar button:hover { background: rgba(255, 255, 255, .18); }
  .sfe-toolbar button[disabled] { opacity: .4; cursor: default; background: none; }
  .sfe-toolbar svg { width: 15px; height: 15px; }
  .sfe-chip { position: absolute; top: -1000px; left: 0; padding: 6px 10px; background: #5046e5; color: #fff; border-radius: 6px;
    font: 600 12px system-ui, sans-serif; white-space: nowrap; }
  a, img { -webkit-user-drag: none; }
`;

async function renderCanvas({ keepScroll = true } = {}) {
  if (!state.page) return;
  const sequence = ++state.renderSeq;
  let html;
  try {
    html = await api("GET", `pages/${state.page.id}/preview/?mode=editor`, undefined, { text: true });
  } catch (error) {
    if (sequence === state.renderSeq) toast(`Couldn't render the page: ${error.message}`, "error");
    return;
  }
  if (sequence !== state.renderSeq) return;
  const previous = state.frame;
  const scrollY = keepScroll && previous && previous.contentWindow ? previous.contentWindow.scrollY : 0;
  // A second frame loads behind the visible one and replaces it when ready, so the canvas never flashes.
  const frame = el("iframe", { class: "ed-iframe is-loading", title: "Page canvas" });
  await new Promise((resolve) => {
    frame.addEventListener("load", resolve, { once: true });
    frame.srcdoc = inert(html);
    frameBox.append(frame);
  });
  if (sequence !== state.renderSeq) {
    frame.remove();
    return;
  }
  setupFrame(frame);
  frame.contentWindow.scrollTo(0, scrollY);
  if (previous) previous.remove();
  frame.classList.remove("is-loading");
  frame.dataset.testid = "canvas";
  state.frame = frame;
  editorRoot.dataset.state = "ready";
  paintSelection();
}

/**
 * The editor-mode document without anything that could run. The server already renders it without
 * scripts; the canvas is same-origin with the dashboard (the editor reaches into it), so it is made
 * inert here too rather than trusted. A sandboxed frame would do it, but leaves tools that drive the
 * browser unable to inspect the canvas.
 */
function inert(html) {
  const doc = new DOMParser().parseFromString(html, "text/html");
  for (const node of doc.querySelectorAll("script, object, embed, base, meta[http-equiv]")) node.remove();
  // Embedded players would swallow the clicks that select their component; a placeholder stands in.
  for (const node of doc.querySelectorAll("iframe")) {
    const placeholder = doc.createElement("div");
    placeholder.className = "sf-placeholder sf-video__placeholder sfe-embed";
    placeholder.textContent = `▶ ${node.getAttribute("title") || "Embedded video"}`;
    node.replaceWith(placeholder);
  }
  for (const node of doc.querySelectorAll("*")) {
    for (const attribute of Array.from(node.attributes)) {
      const name = attribute.name.toLowerCase();
      const value = attribute.value.replace(/[\s\u0000-\u001f]+/g, "").toLowerCase();
      if (name.startsWith("on") || ((name === "href" || name === "src" || name === "action" || name === "formaction") && value.startsWith("javascript:"))) {
        node.removeAttribute(attribute.name);
      }
    }
  }
  return `<!DOCTYPE html>\n${doc.documentElement.outerHTML}`;
}

function canvasDoc() {
  return state.frame ? state.frame.contentDocument : null;
}

function componentElement(id, doc = canvasDoc()) {
  return doc && id ? doc.querySelector(`[data-component-id="${CSS.escape(id)}"]`) : null;
}

function setupFrame(frame) {
  const doc = frame.contentDocument;
  doc.head.append(el("style", { text: CANVAS_CSS }));
  for (const link of doc.querySelectorAll("a, img")) link.setAttribute("draggable", "false");
  if (canWrite) {
    for (const node of doc.querySelectorAll("[data-component-id]")) node.setAttribute("draggable", "true");
  }

  doc.addEventListener("click", (event) => {
    event.preventDefault();
    const toolbarButton = event.target.closest(".sfe-toolbar button");
    if (toolbarButton) {
      toolbarAction(toolbarButton.dataset.action);
      return;
    }
    const component = event.target.closest("[data-component-id]");
    select(component ? component.dataset.componentId : null);
  });
  doc.addEventListener("submit", (event) => event.preventDefault());
  doc.addEventListener("mouseover", (event) => {
    const component = event.target.closest("[data-component-id]");
    hover(component ? component.dataset.componentId : null);
  });
  doc.addEventListener("mouseleave", () => hover(null));
  doc.addEventListener("keydown", onKeydown);

  doc.addEventListener("dragstart", (event) => {
    const component = event.target.closest && event.target.closest("[data-component-id]");
    if (!canWrite || !component) {
      event.preventDefault();
      return;
    }
    const id = component.dataset.componentId;
    state.drag = { kind: "move", id };
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", id);
    const chip = el("div", { class: "sfe-chip", text: nodeLabel(findNode(id)?.node || { type: component.dataset.componentType }) });
    doc.body.append(chip);
    event.dataTransfer.setDragImage(chip, 12, 12);
    setTimeout(() => {
      chip.remove();
      component.classList.add("sfe-dragging");
    }, 0);
  });
  doc.addEventListener("dragenter", (event) => {
    if (state.drag) event.preventDefault();
  });
  doc.addEventListener("dragover", (event) => {
    if (!state.drag) return;
    const target = dropTarget(doc, event);
    if (!target) {
      clearDropIndicator(doc);
      event.dataTransfer.dropEffect = "none";
      return;
    }
    event.preventDefault();
    event.dataTransfer.dropEffect = state.drag.kind === "new" ? "copy" : "move";
    showDropIndicator(doc, target);
  });
  doc.addEventListener("dragleave", (event) => {
    if (!event.relatedTarget) clearDropIndicator(doc);
  });
  doc.addEventListener("drop", (event) => {
    if (!state.drag) return;
    event.preventDefault();
    const target = dropTarget(doc, event);
    clearDropIndicator(doc);
    if (target) applyDrop(target);
    endDrag();
  });
  doc.addEventListener("dragend", endDrag);
  frame.contentWindow.addEventListener("resize", () => paintSelection());
}

function containerChildren(container) {
  return Array.from(container.querySelectorAll("[data-component-id]")).filter(
    (node) => node !== container && node.parentElement.closest("[data-children-of]") === container,
  );
}

function isRowLayout(container, children) {
  if (children.length < 2) {
    const style = container.ownerDocument.defaultView.getComputedStyle(container);
    return style.display.includes("grid") && style.gridTemplateColumns.trim().split(/\s+/).length > 1;
  }
  const first = children[0].getBoundingClientRect();
  const second = children[1].getBoundingClientRect();
  return second.top < first.bottom - 4 && second.left >= first.right - 4;
}

/** Where a drop at the pointer would go: the container (`data-children-of`) and the index in it. */
function dropTarget(doc, event) {
  const root = doc.querySelector('[data-children-of="root"]');
  let container = (event.target.closest && event.target.closest("[data-children-of]")) || root;
  if (!container) return null;
  if (state.drag.kind === "move") {
    const dragged = componentElement(state.drag.id, doc);
    // A component can't go inside itself: aim at the container around it instead.
    while (dragged && container && dragged.contains(container)) {
      container = dragged.parentElement.closest("[data-children-of]");
    }
    if (!container) return null;
  }
  const parentId = container.dataset.childrenOf === "root" ? null : container.dataset.childrenOf;
  const children = containerChildren(container).filter((child) => !child.classList.contains("sfe-dragging"));
  const row = isRowLayout(container, children);
  const { clientX: x, clientY: y } = event;
  let index = children.length;
  for (let i = 0; i < children.length; i += 1) {
    const rect = children[i].getBoundingClientRect();
    if (y < rect.top) {
      index = i;
      break;
    }
    if (y <= rect.bottom) {
      if (!row) {
        index = y < rect.top + rect.height / 2 ? i : i + 1;
        break;
      }
      if (x < rect.left + rect.width / 2) {
        index = i;
        break;
      }
      if (x <= rect.right) {
        index = i + 1;
        break;
      }
    }
  }
  const all = containerChildren(container);
  // Indexes count every child, the one being dragged included, as moveNode expects.
  const modelIndex = index < children.length ? all.indexOf(children[index]) : all.length;
  return { container, parentId, index: modelIndex, children, visibleIndex: index, row };
}

function showDropIndicator(doc, target) {
  let line = doc.querySelector(".sfe-line");
  if (!line) {
    line = el("div", { class: "sfe-line" });
    doc.documentElement.append(line);
  }
  for (const node of doc.querySelectorAll(".sfe-drop-target")) {
    if (node !== target.container) node.classList.remove("sfe-drop-target");
  }
  if (target.parentId) target.container.classList.add("sfe-drop-target");
  const win = doc.defaultView;
  const { children, visibleIndex, row, container } = target;
  const box = container.getBoundingClientRect();
  let rect;
  if (!children.length) {
    rect = { left: box.left + 8, top: box.top + 8, width: box.width - 16, height: 3 };
  } else if (row) {
    const before = children[visibleIndex];
    const after = children[visibleIndex - 1];
    const anchor = before ? before.getBoundingClientRect() : after.getBoundingClientRect();
    const left = before ? anchor.left - 3 : anchor.right + 1;
    rect = { left, top: anchor.top, width: 3, height: anchor.height };
  } else {
    const before = children[visibleIndex];
    const after = children[visibleIndex - 1];
    const anchor = before ? before.getBoundingClientRect() : after.getBoundingClientRect();
    const top = before ? anchor.top - 2 : anchor.bottom - 1;
    rect = { left: anchor.left, top, width: anchor.width, height: 3 };
  }
  line.className = `sfe-line ${row && children.length ? "v" : "h"}`;
  Object.assign(line.style, {
    left: `${rect.left + win.scrollX}px`,
    top: `${Math.max(rect.top + win.scrollY, 0)}px`,
    width: `${rect.width}px`,
    height: `${rect.height}px`,
  });
}

function clearDropIndicator(doc) {
  if (!doc) return;
  doc.querySelector(".sfe-line")?.remove();
  for (const node of doc.querySelectorAll(".sfe-drop-target")) node.classList.remove("sfe-drop-target");
}

function endDrag() {
  const doc = canvasDoc();
  clearDropIndicator(doc);
  if (doc) for (const node of doc.querySelectorAll(".sfe-dragging")) node.classList.remove("sfe-dragging");
  state.drag = null;
  editorRoot.classList.remove("is-dragging");
}

function applyDrop(target) {
  if (state.drag.kind === "new") {
    const node = newNode(state.drag.type);
    if (!insertNode(node, target.parentId, target.index)) return;
    state.selected = node.id;
    renderProperties();
    changed({ immediate: true });
  } else if (moveNode(state.drag.id, target.parentId, target.index)) {
    changed({ immediate: true });
  }
}

function hover(id) {
  const doc = canvasDoc();
  if (!doc) return;
  for (const node of doc.querySelectorAll(".sfe-hover")) node.classList.remove("sfe-hover");
  const target = componentElement(id, doc);
  if (target && id !== state.selected) target.classList.add("sfe-hover");
  for (const row of $$(".ed-layer-row.is-hover")) row.classList.remove("is-hover");
  if (id) $(`.ed-layer-row[data-id="${CSS.escape(id)}"]`)?.classList.add("is-hover");
}

function paintSelection({ scroll = false } = {}) {
  const doc = canvasDoc();
  if (!doc) return;
  for (const node of doc.querySelectorAll(".sfe-selected")) node.classList.remove("sfe-selected");
  doc.querySelector(".sfe-toolbar")?.remove();
  const target = componentElement(state.selected, doc);
  if (!target) return;
  target.classList.add("sfe-selected");
  target.classList.remove("sfe-hover");
  if (scroll) target.scrollIntoView({ block: "center", behavior: "smooth" });
  const found = findNode(state.selected);
  const win = doc.defaultView;
  const rect = target.getBoundingClientRect();
  const toolbar = el("div", { class: "sfe-toolbar", "data-testid": "component-toolbar" });
  toolbar.innerHTML = `<span class="sfe-name"></span>`;
  toolbar.firstChild.textContent = found ? nodeLabel(found.node) : target.dataset.componentType;
  if (canWrite && found) {
    const buttons = [
      ["parent", "parent", "Select the section around it", !found.parent],
      ["up", "up", "Move up", found.index === 0],
      ["down", "down", "Move down", found.index === found.siblings.length - 1],
      ["duplicate", "copy", "Duplicate", false],
      ["delete", "trash", "Delete", false],
    ];
    for (const [action, iconName, label, disabled] of buttons) {
      if (action === "parent" && !found.parent) continue;
      toolbar.insertAdjacentHTML(
        "beforeend",
        `<button type="button" data-action="${action}" title="${label}" aria-label="${label}"${disabled ? " disabled" : ""}>${icon(iconName, "")}</button>`,
      );
    }
  }
  doc.documentElement.append(toolbar);
  const height = toolbar.offsetHeight;
  const top = rect.top + win.scrollY - height - 4 < win.scrollY ? rect.top + win.scrollY + 4 : rect.top + win.scrollY - height - 4;
  const left = Math.min(Math.max(rect.left + win.scrollX, 4), win.scrollX + win.innerWidth - toolbar.offsetWidth - 4);
  Object.assign(toolbar.style, { top: `${Math.max(top, 0)}px`, left: `${left}px` });
}

function toolbarAction(action) {
  const found = findNode(state.selected);
  if (!found || !canWrite) return;
  if (action === "parent" && found.parent) {
    select(found.parent.id);
  } else if (action === "up" && found.index > 0) {
    moveNode(found.node.id, found.parent ? found.parent.id : null, found.index - 1, { final: true });
    changed({ immediate: true });
  } else if (action === "down" && found.index < found.siblings.length - 1) {
    moveNode(found.node.id, found.parent ? found.parent.id : null, found.index + 1, { final: true });
    changed({ immediate: true });
  } else if (action === "duplicate") {
    const copy = withNewIds(found.node);
    found.siblings.splice(found.index + 1, 0, copy);
    state.selected = copy.id;
    renderProperties();
    changed({ immediate: true });
  } else if (action === "delete") {
    deleteSelected();
  }
}

function deleteSelected() {
  const found = findNode(state.selected);
  if (!found || !canWrite) return;
  found.siblings.splice(found.index, 1);
  state.selected = null;
  paintSelection();
  renderProperties();
  changed({ immediate: true });
  toast(`${nodeLabel(found.node)} deleted. Press Ctrl+Z to bring it back.`, "info");
}

function select(id, { scroll = false } = {}) {
  if (id === state.selected) {
    if (scroll) paintSelection({ scroll });
    return;
  }
  state.selected = id && findNode(id) ? id : null;
  paintSelection({ scroll });
  renderLayers();
  renderProperties();
}

// --- Device width --------------------------------------------------------------------------------------

function setDevice(device) {
  state.device = device;
  stage.dataset.device = device;
  const width = DEVICE_WIDTHS[device];
  // Tablet and mobile frames draw an 8px bezel; the page inside gets the device's full width.
  frameBox.style.width = width ? `${width + 16}px` : "";
  for (const button of $$("[data-device]", $(".ed-segmented"))) {
    const active = button.dataset.device === device;
    button.classList.toggle("is-active", active);
    button.setAttribute("aria-pressed", String(active));
  }
  setTimeout(() => paintSelection(), 260);
}

// --- Palette -------------------------------------------------------------------------------------------

function renderPalette() {
  const palette = $("[data-testid=palette]");
  palette.innerHTML = "";
  const groups = new Map(Object.keys(CATEGORY_LABELS).map((category) => [category, []]));
  for (const type of state.types.values()) {
    if (!groups.has(type.category)) groups.set(type.category, []);
    groups.get(type.category).push(type);
  }
  for (const [category, types] of groups) {
    if (!types.length) continue;
    const group = el("section", { class: "ed-palette-group", "data-category": category });
    group.append(el("h3", { class: "ed-panel-title", text: CATEGORY_LABELS[category] || humanize(category) }));
    const grid = el("div", { class: "ed-palette-grid" });
    for (const type of types) {
      const tile = el(
        "button",
        {
          type: "button",
          class: "ed-tile",
          draggable: canWrite ? "true" : "false",
          disabled: !canWrite,
          title: type.description,
          "data-type": type.type,
          "data-testid": "palette-item",
          "data-search": `${type.name} ${type.description} ${type.category}`.toLowerCase(),
        },
        el("span", { class: "ed-tile-icon", html: icon(type.icon) }),
        el("span", { class: "ed-tile-name", text: type.name }),
      );
      grid.append(tile);
    }
    group.append(grid);
    palette.append(group);
  }
}

function filterPalette(query) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  for (const tile of $$(".ed-tile")) {
    tile.hidden = !words.every((word) => tile.dataset.search.includes(word));
  }
  for (const group of $$(".ed-palette-group")) {
    group.hidden = !$$(".ed-tile", group).some((tile) => !tile.hidden);
  }
}

function addFromPalette(type) {
  const node = newNode(type);
  const found = state.selected ? findNode(state.selected) : null;
  const description = found ? state.types.get(found.node.type) : null;
  if (found && description && description.is_container) {
    found.node.children.push(node);
  } else if (found) {
    found.siblings.splice(found.index + 1, 0, node);
  } else {
    state.tree.push(node);
  }
  state.selected = node.id;
  renderProperties();
  changed({ immediate: true });
  setTimeout(() => paintSelection({ scroll: true }), 50);
}

// --- Pages panel -----------------------------------------------------------------------------------------

function updatePageInSite(page) {
  if (!state.site) return;
  const index = state.site.pages.findIndex((item) => item.id === page.id);
  if (index >= 0) state.site.pages[index] = { ...state.site.pages[index], ...page };
  renderPagesUi();
}

async function refreshSite() {
  state.site = await api("GET", `sites/${config.site.id}/`);
  if (state.page) {
    const current = state.site.pages.find((item) => item.id === state.page.id);
    if (current) state.page = { ...state.page, ...current };
  }
  renderPagesUi();
}

function renderPagesUi() {
  if (!state.site) return;
  renderLinkTargets();
  const switcher = $("[data-testid=page-switcher]");
  switcher.innerHTML = "";
  for (const page of state.site.pages) {
    switcher.append(el("option", { value: page.id, selected: state.page && page.id === state.page.id, text: `${page.title} · ${page.path}` }));
  }
  const list = $("[data-testid=pages-panel]");
  list.innerHTML = "";
  for (const page of state.site.pages) {
    const current = state.page && page.id === state.page.id;
    const item = el("li", { class: `ed-page${current ? " is-current" : ""}`, "data-id": page.id, "data-testid": "page-item" });
    if (canWrite) item.append(el("span", { class: "ed-handle", title: "Drag to reorder", html: icon("handle") }));
    item.append(
      el(
        "button",
        { type: "button", class: "ed-page-open", onclick: () => switchPage(page.id), "aria-current": current ? "page" : null },
        el("span", { class: "ed-page-title" }, page.title, page.is_home ? el("span", { class: "ed-home-badge", title: "Home page", html: icon("home") }) : null),
        el("span", { class: "ed-page-path", text: page.path }),
      ),
    );
    if (canWrite) {
      const actions = el("span", { class: "ed-page-actions" });
      actions.append(
        el("button", { type: "button", class: "ed-icon-button", title: "Rename", "aria-label": `Rename ${page.title}`, html: icon("pencil"), onclick: () => renamePage(page, item) }),
      );
      if (!page.is_home) {
        actions.append(
          el("button", { type: "button", class: "ed-icon-button", title: "Set as home page", "aria-label": `Make ${page.title} the home page`, html: icon("home"), onclick: () => makeHome(page) }),
          el("button", { type: "button", class: "ed-icon-button danger", title: "Delete page", "aria-label": `Delete ${page.title}`, html: icon("trash"), onclick: () => deletePage(page) }),
        );
      }
      item.append(actions);
    }
    list.append(item);
  }
  if (canWrite && window.Sortable && !list.sortable) {
    list.sortable = window.Sortable.create(list, {
      handle: ".ed-handle",
      animation: 150,
      ghostClass: "is-ghost",
      onEnd: reorderPages,
    });
  }
}

async function pageWrite(page, changes) {
  if (state.page && page.id === state.page.id) {
    // The open page's version is shared with the tree saves; go through the same queue.
    scheduleSave.flush();
    while (state.saving) await sleep(50);
    const updated = await api("PATCH", `pages/${page.id}/`, { version: state.page.version, ...changes });
    state.page = updated;
    await recordLatestRevision();
    return updated;
  }
  return api("PATCH", `pages/${page.id}/`, { version: page.version, ...changes });
}

function renamePage(page, item) {
  const title = $(".ed-page-open", item);
  const input = el("input", { type: "text", class: "ed-rename", value: page.title, maxlength: "200", "aria-label": "Page title" });
  title.replaceWith(input);
  input.focus();
  input.select();
  let done = false;
  const finish = async (save) => {
    if (done) return;
    done = true;
    const value = input.value.trim();
    if (save && value && value !== page.title) {
      try {
        await pageWrite(page, { title: value });
      } catch (error) {
        toast(`Couldn't rename the page: ${firstMessage(error)}`, "error");
      }
    }
    await refreshSite();
    if (state.page && state.page.id === page.id) renderProperties();
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") finish(true);
    if (event.key === "Escape") finish(false);
  });
  input.addEventListener("blur", () => finish(true));
}

async function makeHome(page) {
  try {
    await pageWrite(page, { is_home: true });
    await refreshSite();
    await restartHistory();
    toast(`${page.title} is now the home page.`, "info");
  } catch (error) {
    toast(`Couldn't change the home page: ${firstMessage(error)}`, "error");
  }
}

async function deletePage(page) {
  if (!window.confirm(`Delete the page “${page.title}” (${page.path})? Its components are deleted with it.`)) return;
  try {
    await api("DELETE", `pages/${page.id}/`);
  } catch (error) {
    toast(`Couldn't delete the page: ${firstMessage(error)}`, "error");
    return;
  }
  await refreshSite();
  if (state.page && state.page.id === page.id) {
    const home = state.site.pages.find((item) => item.is_home) || state.site.pages[0];
    state.page = null;
    state.selected = null;
    await loadPage(home.id, { push: true });
  }
  toast(`Page “${page.title}” deleted.`, "info");
}

async function reorderPages() {
  const ids = $$("[data-testid=pages-panel] > li").map((item) => Number(item.dataset.id));
  try {
    await api("POST", "pages/reorder/", { site: config.site.id, pages: ids });
  } catch (error) {
    toast(`Couldn't reorder the pages: ${firstMessage(error)}`, "error");
  }
  await refreshSite();
}

function setupAddPage() {
  const form = $("[data-testid=add-page]");
  if (!form) return;
  const titleInput = form.elements.title;
  const pathInput = form.elements.path;
  titleInput.addEventListener("input", () => {
    pathInput.placeholder = `/${slugify(titleInput.value) || "page"}`;
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const errors = $("[data-errors]", form);
    const title = titleInput.value.trim();
    const path = pathInput.value.trim() || `/${slugify(title)}`;
    const showErrors = (messages) => {
      errors.innerHTML = "";
      for (const message of messages) errors.append(el("li", { text: message }));
      errors.hidden = !messages.length;
    };
    if (!title) {
      showErrors(["Give the page a title."]);
      titleInput.focus();
      return;
    }
    try {
      const page = await api("POST", "pages/", { site: config.site.id, title, path });
      form.reset();
      showErrors([]);
      await refreshSite();
      state.selected = null;
      await loadPage(page.id, { push: true });
    } catch (error) {
      showErrors(Object.values(error.details || {}).flat().length ? Object.values(error.details).flat() : [error.message]);
    }
  });
}

// --- Layers panel ----------------------------------------------------------------------------------------

function renderLayers() {
  const box = $("[data-testid=layers]");
  if (!box) return;
  box.innerHTML = "";
  if (!state.tree.length) {
    box.append(el("p", { class: "ed-empty-note", text: "This page is empty. Drag components from Add onto the canvas." }));
    return;
  }
  box.append(layerList(state.tree, null));
}

function layerList(nodes, parentId) {
  const list = el("ul", { class: "ed-layer-list", "data-parent": parentId || "" });
  for (const node of nodes) {
    const description = state.types.get(node.type);
    const item = el("li", { class: "ed-layer", "data-id": node.id });
    const summary = nodeSummary(node);
    const row = el(
      "div",
      {
        class: `ed-layer-row${node.id === state.selected ? " is-selected" : ""}${state.errors.nodes.has(node.id) ? " has-error" : ""}`,
        "data-id": node.id,
        "data-testid": "layer",
        onclick: () => select(node.id, { scroll: true }),
        onmouseenter: () => hover(node.id),
        onmouseleave: () => hover(null),
      },
      el("span", { class: "ed-layer-icon", html: icon(description ? description.icon : "square") }),
      el("span", { class: "ed-layer-name", text: nodeLabel(node) }),
      summary ? el("span", { class: "ed-layer-summary", text: summary }) : null,
      state.errors.nodes.has(node.id) ? el("span", { class: "ed-layer-error", title: "Has a problem", html: icon("warning") }) : null,
    );
    item.append(row);
    if (description && description.is_container) item.append(layerList(node.children || [], node.id));
    list.append(item);
  }
  if (canWrite && window.Sortable) {
    window.Sortable.create(list, {
      group: "layers",
      animation: 150,
      fallbackOnBody: true,
      swapThreshold: 0.6,
      ghostClass: "is-ghost",
      onEnd: (event) => {
        const id = event.item.dataset.id;
        const parentId = event.to.dataset.parent || null;
        if (moveNode(id, parentId, event.newIndex, { final: true })) changed({ immediate: true });
        else renderLayers();
      },
    });
  }
  return list;
}

// --- Property panel: a form generated from the type's JSON Schema ----------------------------------------

function resolveSchema(schema, root) {
  let current = schema || {};
  const seen = new Set();
  for (;;) {
    if (current.$ref && !seen.has(current.$ref)) {
      seen.add(current.$ref);
      const name = current.$ref.split("/").pop();
      const { $ref, ...siblings } = current;
      current = { ...((root.$defs || {})[name] || {}), ...siblings };
    } else if (Array.isArray(current.allOf) && current.allOf.length === 1) {
      const { allOf, ...siblings } = current;
      current = { ...allOf[0], ...siblings };
    } else if (Array.isArray(current.anyOf)) {
      const options = current.anyOf.filter((option) => option.type !== "null");
      if (options.length && options.every((option) => "const" in option)) {
        const { anyOf, ...siblings } = current;
        current = { ...siblings, enum: options.map((option) => option.const) };
      } else if (options.length === 1) {
        const { anyOf, ...siblings } = current;
        current = { ...options[0], ...siblings };
      } else {
        return current;
      }
    } else if ("const" in current && !current.enum) {
      current = { ...current, enum: [current.const] };
    } else {
      return current;
    }
  }
}

function defaultFor(schema, root) {
  const resolved = resolveSchema(schema, root);
  if ("default" in resolved) return clone(resolved.default);
  if (resolved.enum) return resolved.enum[0];
  switch (resolved.type) {
    case "object": {
      const value = {};
      for (const [key, property] of Object.entries(resolved.properties || {})) value[key] = defaultFor(property, root);
      return value;
    }
    case "array":
      return [];
    case "integer":
    case "number":
      return resolved.minimum ?? 0;
    case "boolean":
      return false;
    default:
      return "";
  }
}

function getPath(object, path) {
  return path.reduce((value, key) => (value === undefined || value === null ? undefined : value[key]), object);
}

function setPath(object, path, value) {
  let target = object;
  path.slice(0, -1).forEach((key, index) => {
    if (target[key] === undefined || target[key] === null) target[key] = typeof path[index + 1] === "number" ? [] : {};
    target = target[key];
  });
  target[path[path.length - 1]] = value;
}

class SchemaForm {
  /**
   * @param schema the root JSON Schema (an object with properties; $defs for $ref)
   * @param value the object edited in place, or a function returning it
   * @param onChange called with (pathString, {structural}) after each edit
   */
  constructor(schema, value, { onChange, disabled = false, errors = {}, idPrefix = "prop", decorate = null }) {
    this.root = schema;
    // A getter, not the object: a save may swap the tree's nodes for the server's normalised copies,
    // and edits must land on whatever object the tree holds now.
    this.source = typeof value === "function" ? value : () => value;
    this.onChange = onChange;
    this.disabled = disabled;
    this.errors = errors;
    this.idPrefix = idPrefix;
    this.decorate = decorate;
    this.element = el("div", { class: "schema-form" });
    this.render();
  }

  get value() {
    return this.source();
  }

  render() {
    this.element.innerHTML = "";
    this.element.append(...this.objectFields(resolveSchema(this.root, this.root), [], this.value));
    this.showErrors(this.errors);
  }

  emit(path, structural = false) {
    this.onChange(path.join("."), { structural });
  }

  set(path, value, structural = false) {
    setPath(this.value, path, value);
    this.emit(path, structural);
  }

  objectFields(schema, path, value) {
    const fields = [];
    const rules = FIELD_RULES[schema.title] || {};
    for (const [key, property] of Object.entries(schema.properties || {})) {
      const childPath = [...path, key];
      if (getPath(this.value, childPath) === undefined) setPath(this.value, childPath, defaultFor(property, this.root));
      const field = this.field(property, childPath, key);
      if (rules[key]) {
        field.dataset.rule = key;
        field.hidden = !rules[key](value || {});
      }
      fields.push(field);
    }
    return fields;
  }

  refreshRules(path) {
    const parentPath = path.slice(0, -1);
    const container = this.element.querySelector(`[data-path="${CSS.escape(parentPath.join("."))}"]`) || this.element;
    const schema = resolveSchema(this.schemaAt(parentPath), this.root);
    const rules = FIELD_RULES[schema.title];
    if (!rules) return;
    const value = getPath(this.value, parentPath) || {};
    for (const [key, rule] of Object.entries(rules)) {
      const field = container.querySelector(`:scope > .prop-body > [data-rule="${key}"], :scope > [data-rule="${key}"]`);
      if (field) field.hidden = !rule(value);
    }
  }

  schemaAt(path) {
    let schema = resolveSchema(this.root, this.root);
    for (const key of path) {
      if (typeof key === "number" || /^\d+$/.test(key)) schema = resolveSchema(schema.items, this.root);
      else schema = resolveSchema((schema.properties || {})[key], this.root);
    }
    return schema;
  }

  field(rawSchema, path, key) {
    const schema = resolveSchema(rawSchema, this.root);
    const label = typeof key === "number" ? `${humanize(path[path.length - 2] || "item")} ${key + 1}` : humanize(key);
    const id = `${this.idPrefix}-${path.join("-")}`;
    const value = getPath(this.value, path);
    let field;
    if (schema.enum) field = this.enumField(schema, path, label, id, value);
    else if (schema.type === "object") field = this.objectGroup(schema, path, label, value);
    else if (schema.type === "array") field = this.arrayField(schema, path, label, value);
    else if (schema.type === "boolean") field = this.booleanField(path, label, id, value);
    else if (schema.type === "integer" || schema.type === "number") field = this.numberField(schema, path, label, id, value);
    else field = this.stringField(schema, path, label, id, value);
    if (schema.description && !field.querySelector(":scope > .help")) field.append(el("div", { class: "help", text: schema.description }));
    field.append(el("ul", { class: "errorlist", "data-error-for": path.join("."), hidden: true }));
    if (this.decorate) this.decorate(field, path, schema);
    return field;
  }

  wrap(path, label, id, control, extraClass = "") {
    return el(
      "div",
      { class: `prop-field ${extraClass}`.trim(), "data-path": path.join(".") },
      label ? el("label", { for: id, text: label }) : null,
      control,
    );
  }

  enumField(schema, path, label, id, value) {
    const options = schema.enum;
    const short = options.length <= 3 && options.every((option) => String(option).length <= 8);
    if (short) {
      const group = el("div", { class: "prop-segmented", role: "radiogroup", "aria-label": label, id });
      for (const option of options) {
        const button = el("button", {
          type: "button",
          role: "radio",
          class: option === value ? "is-active" : "",
          "aria-checked": String(option === value),
          disabled: this.disabled,
          text: humanize(String(option)),
          onclick: () => {
            this.set(path, option);
            for (const other of group.children) {
              const active = other === button;
              other.classList.toggle("is-active", active);
              other.setAttribute("aria-checked", String(active));
            }
            this.refreshRules(path);
          },
        });
        group.append(button);
      }
      return el("div", { class: "prop-field", "data-path": path.join(".") }, el("span", { class: "prop-label", text: label }), group);
    }
    const select = el("select", { id, disabled: this.disabled, "data-path": path.join(".") });
    for (const option of options) {
      select.append(el("option", { value: String(option), selected: option === value, text: this.optionLabel(path, option) }));
    }
    select.addEventListener("change", () => {
      const chosen = options.find((option) => String(option) === select.value);
      this.set(path, chosen);
      this.refreshRules(path);
    });
    return this.wrap(path, label, id, select);
  }

  optionLabel(path, option) {
    if (path[path.length - 1] === "level" && typeof option === "number") return `Heading ${option}`;
    if (path[path.length - 2] === "fonts" && config.fontStacks[option]) {
      return `${humanize(option)} — ${config.fontStacks[option].split(",")[0].replace(/"/g, "")}`;
    }
    return humanize(String(option));
  }

  objectGroup(schema, path, label, value) {
    const group = el(
      "fieldset",
      { class: "prop-group", "data-path": path.join(".") },
      el("legend", { text: label }),
      el("div", { class: "prop-body" }, ...this.objectFields(schema, path, value)),
    );
    return group;
  }

  booleanField(path, label, id, value) {
    const input = el("input", { type: "checkbox", id, role: "switch", checked: Boolean(value), disabled: this.disabled, "data-path": path.join(".") });
    input.addEventListener("change", () => this.set(path, input.checked));
    return el(
      "div",
      { class: "prop-field prop-switch", "data-path": path.join(".") },
      el("label", { for: id }, input, el("span", { class: "switch", "aria-hidden": "true" }), el("span", { text: label })),
    );
  }

  numberField(schema, path, label, id, value) {
    const integer = schema.type === "integer";
    const min = schema.minimum ?? schema.exclusiveMinimum;
    const max = schema.maximum ?? schema.exclusiveMaximum;
    const parse = (raw) => (integer ? Number.parseInt(raw, 10) : Number.parseFloat(raw));
    if (min !== undefined && max !== undefined && max - min > 6) {
      const output = el("output", { for: id, text: String(value) });
      const range = el("input", { type: "range", id, min, max, step: integer ? 1 : "any", value, disabled: this.disabled, "data-path": path.join(".") });
      range.addEventListener("input", () => {
        output.textContent = range.value;
        this.set(path, parse(range.value));
      });
      return this.wrap(path, label, id, el("div", { class: "prop-range" }, range, output));
    }
    const input = el("input", { type: "number", id, min, max, step: integer ? 1 : "any", value, disabled: this.disabled, "data-path": path.join(".") });
    input.addEventListener("input", () => {
      const parsed = parse(input.value);
      if (!Number.isNaN(parsed)) this.set(path, parsed);
    });
    return this.wrap(path, label, id, input, "prop-narrow");
  }

  stringField(schema, path, label, id, value) {
    const common = { id, disabled: this.disabled, "data-path": path.join("."), maxlength: schema.maxLength };
    const format = schema.format;
    if (format === "richtext") return this.richTextField(path, label, id, value);
    if (format === "color") {
      const picker = el("input", { type: "color", value: value || "#000000", disabled: this.disabled, "aria-label": `${label} color` });
      const text = el("input", { type: "text", ...common, value: value || "", class: "prop-color-text", spellcheck: "false" });
      picker.addEventListener("input", () => {
        text.value = picker.value;
        this.set(path, picker.value);
      });
      text.addEventListener("input", () => {
        if (/^#[0-9a-fA-F]{6}$/.test(text.value)) picker.value = text.value;
        this.set(path, text.value);
      });
      return this.wrap(path, label, id, el("div", { class: "prop-color" }, picker, text));
    }
    let input;
    if (format === "textarea") {
      input = el("textarea", { ...common, rows: 3 });
      input.value = value || "";
    } else {
      const attrs = { type: "text", ...common, value: value || "" };
      if (format === "uri-reference") {
        attrs.placeholder = "https://…, /page or #section";
        attrs.list = "ed-link-targets";
        attrs.spellcheck = "false";
      } else if (format === "date-time") {
        attrs.placeholder = "2027-03-01T09:00:00+01:00";
        attrs.spellcheck = "false";
      }
      input = el("input", attrs);
    }
    input.addEventListener("input", () => {
      this.set(path, input.value);
      this.refreshRules(path);
    });
    const field = this.wrap(path, label, id, input);
    if (format === "date-time") field.append(el("div", { class: "help", text: "Date, time and UTC offset, e.g. 2027-03-01T09:00:00+01:00." }));
    return field;
  }

  richTextField(path, label, id, value) {
    const editor = el("div", {
      class: "prop-richtext-body",
      id,
      contenteditable: this.disabled ? "false" : "true",
      role: "textbox",
      "aria-multiline": "true",
      "aria-label": label,
      "data-path": path.join("."),
      html: value || "",
    });
    const command = (name, argument) => (event) => {
      event.preventDefault();
      editor.focus();
      document.execCommand(name, false, argument);
      this.set(path, editor.innerHTML);
    };
    const toolbar = el(
      "div",
      { class: "prop-richtext-toolbar" },
      el("button", { type: "button", title: "Bold", "aria-label": "Bold", html: icon("bold"), onmousedown: command("bold"), disabled: this.disabled }),
      el("button", { type: "button", title: "Italic", "aria-label": "Italic", html: icon("italic"), onmousedown: command("italic"), disabled: this.disabled }),
      el("button", { type: "button", title: "Bulleted list", "aria-label": "Bulleted list", html: icon("list"), onmousedown: command("insertUnorderedList"), disabled: this.disabled }),
      el("button", {
        type: "button",
        title: "Link",
        "aria-label": "Link",
        html: icon("link"),
        disabled: this.disabled,
        onmousedown: (event) => {
          event.preventDefault();
          const url = window.prompt("Link to (https://…, /page, mailto:…)");
          if (url) command("createLink", url)(event);
        },
      }),
    );
    editor.addEventListener("input", () => this.set(path, editor.innerHTML));
    editor.addEventListener("paste", (event) => {
      // Pasted markup is sanitised on save; pasting plain text keeps foreign styles out of the editor too.
      event.preventDefault();
      document.execCommand("insertText", false, event.clipboardData.getData("text/plain"));
    });
    return el(
      "div",
      { class: "prop-field", "data-path": path.join(".") },
      el("label", { for: id, text: label, onclick: () => editor.focus() }),
      el("div", { class: "prop-richtext" }, toolbar, editor),
    );
  }

  arrayField(schema, path, label, value) {
    const items = Array.isArray(value) ? value : [];
    if (!Array.isArray(value)) setPath(this.value, path, items);
    const itemSchema = resolveSchema(schema.items || {}, this.root);
    const field = el("fieldset", { class: "prop-group prop-array", "data-path": path.join(".") }, el("legend", {}, label, el("span", { class: "prop-count", text: String(items.length) })));
    const body = el("div", { class: "prop-body" });
    const itemName = singular(label);
    const atMax = schema.maxItems !== undefined && items.length >= schema.maxItems;
    const atMin = schema.minItems !== undefined && items.length <= schema.minItems;
    const rerender = () => {
      const replacement = this.arrayField(schema, path, label, getPath(this.value, path));
      replacement.append(el("ul", { class: "errorlist", "data-error-for": path.join("."), hidden: true }));
      field.replaceWith(replacement);
    };
    const change = (mutate) => {
      mutate(getPath(this.value, path));
      this.emit(path, true);
      rerender();
    };
    items.forEach((item, index) => {
      const itemPath = [...path, index];
      const controls = el(
        "span",
        { class: "prop-item-actions" },
        el("button", { type: "button", class: "ed-icon-button", title: "Move up", "aria-label": "Move up", html: icon("up"), disabled: this.disabled || index === 0, onclick: () => change((list) => list.splice(index - 1, 0, list.splice(index, 1)[0])) }),
        el("button", { type: "button", class: "ed-icon-button", title: "Move down", "aria-label": "Move down", html: icon("down"), disabled: this.disabled || index === items.length - 1, onclick: () => change((list) => list.splice(index + 1, 0, list.splice(index, 1)[0])) }),
        el("button", { type: "button", class: "ed-icon-button danger", title: `Remove ${itemName}`, "aria-label": `Remove ${itemName}`, html: icon("trash"), disabled: this.disabled || atMin, onclick: () => change((list) => list.splice(index, 1)) }),
      );
      if (itemSchema.type === "object") {
        const summary = el("summary", {}, el("span", { class: "prop-item-title", text: this.itemTitle(item, itemName, index) }), controls);
        const details = el("details", { class: "prop-item", open: true, "data-path": itemPath.join(".") }, summary);
        const fields = el("div", { class: "prop-body" }, ...this.objectFields(itemSchema, itemPath, item));
        details.append(fields, el("ul", { class: "errorlist", "data-error-for": itemPath.join("."), hidden: true }));
        fields.addEventListener("input", () => {
          $(".prop-item-title", summary).textContent = this.itemTitle(getPath(this.value, itemPath), itemName, index);
        });
        body.append(details);
      } else {
        const id = `${this.idPrefix}-${itemPath.join("-")}`;
        const input = el("input", { type: "text", id, value: item ?? "", disabled: this.disabled, maxlength: itemSchema.maxLength, "data-path": itemPath.join("."), "aria-label": `${humanize(itemName)} ${index + 1}` });
        input.addEventListener("input", () => this.set(itemPath, input.value));
        body.append(el("div", { class: "prop-list-item", "data-path": itemPath.join(".") }, input, controls, el("ul", { class: "errorlist", "data-error-for": itemPath.join("."), hidden: true })));
      }
    });
    if (!items.length) body.append(el("p", { class: "prop-empty", text: `No ${itemName}s yet.` }));
    body.append(
      el("button", {
        type: "button",
        class: "btn btn-secondary btn-sm prop-add",
        disabled: this.disabled || atMax,
        html: `${icon("plus")} Add ${itemName}`,
        onclick: () => change((list) => list.push(this.newItem(itemSchema, list, itemName))),
      }),
    );
    field.append(body);
    return field;
  }

  newItem(itemSchema, list, itemName) {
    const item = defaultFor(itemSchema, this.root);
    if (item && typeof item === "object" && !Array.isArray(item)) {
      const properties = itemSchema.properties || {};
      if ("label" in properties && !item.label) item.label = `New ${itemName}`;
      if ("title" in properties && !item.title) item.title = `New ${itemName}`;
      if ("name" in properties && typeof item.name === "string") {
        const taken = new Set(list.map((other) => other && other.name));
        let name = item.name;
        for (let suffix = 2; taken.has(name); suffix += 1) name = `${item.name}_${suffix}`;
        item.name = name;
      }
    }
    return item;
  }

  itemTitle(item, itemName, index) {
    if (item && typeof item === "object") {
      for (const key of ["label", "title", "name", "question", "value", "alt", "network"]) {
        if (typeof item[key] === "string" && item[key].trim()) return item[key].trim();
      }
    }
    return `${humanize(itemName)} ${index + 1}`;
  }

  /** Show each error next to its input, or the closest enclosing group when no input has that path. */
  showErrors(errors) {
    for (const list of this.element.querySelectorAll(".errorlist")) {
      list.innerHTML = "";
      list.hidden = true;
    }
    for (const node of this.element.querySelectorAll(".has-error")) node.classList.remove("has-error");
    const unplaced = [];
    for (const [key, messages] of Object.entries(errors || {})) {
      let parts = key ? key.split(".") : [];
      let list = null;
      while (parts.length && !list) {
        list = this.element.querySelector(`.errorlist[data-error-for="${CSS.escape(parts.join("."))}"]`);
        if (!list) parts = parts.slice(0, -1);
      }
      if (!list) {
        unplaced.push(...messages);
        continue;
      }
      for (const message of messages) list.append(el("li", { text: readable(message) }));
      list.hidden = false;
      list.parentElement.classList.add("has-error");
      let ancestor = list.parentElement.closest("details");
      while (ancestor) {
        ancestor.open = true;
        ancestor = ancestor.parentElement.closest("details");
      }
    }
    return unplaced;
  }
}

/** Pydantic names the regular expression a value missed; the field's hint says it in words. */
function readable(message) {
  return /^String should match pattern/.test(message) ? "That isn't in the expected format; see the hint." : message;
}

function section(title, ...children) {
  return el("section", { class: "ed-prop-section" }, el("h3", { class: "ed-panel-title", text: title }), ...children);
}

function renderProperties() {
  const pane = propertiesPane;
  const scrollTop = pane.scrollTop;
  const focusedPath = document.activeElement && pane.contains(document.activeElement) ? document.activeElement.dataset.path : null;
  pane.innerHTML = "";
  const found = state.selected ? findNode(state.selected) : null;
  if (found) renderComponentProperties(pane, found);
  else renderPageProperties(pane);
  pane.scrollTop = scrollTop;
  if (focusedPath) pane.querySelector(`[data-path="${CSS.escape(focusedPath)}"]:is(input, textarea, select)`)?.focus();
}

function renderComponentProperties(pane, found) {
  const { node } = found;
  const description = state.types.get(node.type);
  pane.dataset.mode = "component";
  const header = el(
    "header",
    { class: "ed-prop-header" },
    el("span", { class: "ed-prop-icon", html: icon(description ? description.icon : "square") }),
    el("div", { class: "ed-prop-heading" }, el("h2", { text: nodeLabel(node), "data-testid": "properties-title" }), description ? el("p", { text: description.description }) : null),
    el("button", { type: "button", class: "ed-icon-button", title: "Close", "aria-label": "Back to page settings", html: icon("close"), onclick: () => select(null) }),
  );
  pane.append(header);
  if (canWrite) {
    pane.append(
      el(
        "div",
        { class: "ed-prop-actions" },
        el("button", { type: "button", class: "btn btn-secondary btn-sm", html: `${icon("copy")} Duplicate`, onclick: () => toolbarAction("duplicate"), "data-testid": "duplicate-component" }),
        el("button", { type: "button", class: "btn btn-danger-ghost btn-sm", html: `${icon("trash")} Delete`, onclick: () => deleteSelected(), "data-testid": "delete-component" }),
      ),
    );
  }
  if (!description) {
    pane.append(el("p", { class: "ed-empty-note", text: `Unknown component type “${node.type}”.` }));
    return;
  }
  const errors = state.errors.nodes.get(node.id) || {};
  const detached = node.config;
  const form = new SchemaForm(description.schema, () => findNode(node.id)?.node.config ?? detached, {
    disabled: !canWrite,
    errors,
    idPrefix: `c-${node.id.slice(0, 8)}`,
    onChange: (path, { structural }) => {
      const nodeErrors = state.errors.nodes.get(node.id);
      if (nodeErrors) {
        for (const key of Object.keys(nodeErrors)) if (key === path || key.startsWith(`${path}.`)) delete nodeErrors[key];
      }
      changed({ immediate: structural });
    },
  });
  const unplaced = form.showErrors(errors);
  if (unplaced.length) pane.append(el("div", { class: "ed-prop-errors", role: "alert" }, ...unplaced.map((message) => el("p", { text: message }))));
  if (description.is_form) {
    pane.append(
      el(
        "div",
        { class: "ed-prop-note" },
        el("span", { html: icon("mail") }),
        el("span", {}, "Every submission is stored and listed under ", el("a", { href: config.submissionsUrl, text: "Submissions" }), "."),
      ),
    );
  }
  pane.append(el("form", { class: "ed-prop-form", onsubmit: (event) => event.preventDefault() }, form.element));
  if (description.is_form) pane.append(formWorkflowsSection(node));
}

// --- A form's workflows ----------------------------------------------------------------------------------

// The property panel is redrawn on every edit; a form's workflows are read when it is selected and kept
// for a short while, so typing in a field doesn't refetch them.
const FORM_WORKFLOWS_TTL_MS = 30_000;
const formWorkflows = new Map();

function loadFormWorkflows(componentId, { fresh = false } = {}) {
  const cached = formWorkflows.get(componentId);
  if (cached && !fresh && Date.now() - cached.at < FORM_WORKFLOWS_TTL_MS) return cached.promise;
  const entry = { at: Date.now(), promise: api("GET", `components/${encodeURIComponent(componentId)}/workflows/`) };
  entry.promise.catch(() => formWorkflows.delete(componentId));
  formWorkflows.set(componentId, entry);
  return entry.promise;
}

const WORKFLOW_STATUS_BADGE = { active: "badge-success", paused: "badge-warning", draft: "" };

function formWorkflowsSection(node) {
  const body = el("div", { class: "ed-form-workflows", "aria-live": "polite" }, el("p", { class: "ed-empty-note", text: "Loading workflows…" }));
  const box = section("Workflows", body);
  box.dataset.testid = "form-workflows";
  const show = (workflows) => {
    body.innerHTML = "";
    if (workflows.length) {
      body.append(
        el(
          "ul",
          { class: "ed-workflow-list" },
          ...workflows.map((workflow) =>
            el(
              "li",
              { "data-testid": "form-workflow", "data-id": workflow.id },
              el("a", { href: workflow.edit_url, text: workflow.name, title: "Open in the workflow editor" }),
              el("span", { class: `badge ${WORKFLOW_STATUS_BADGE[workflow.status] || ""}`, text: humanize(workflow.status), "data-testid": "form-workflow-status" }),
            ),
          ),
        ),
      );
    } else {
      body.append(el("p", { class: "ed-empty-note", text: "No workflow runs when this form is submitted yet." }));
    }
    if (canWrite) {
      body.append(el("button", { type: "button", class: "btn btn-secondary btn-sm", html: `${icon("plus")} New workflow for this form`, onclick: () => createFormWorkflow(node), "data-testid": "form-workflow-new" }));
    }
  };
  loadFormWorkflows(node.id).then(show, (error) => {
    body.innerHTML = "";
    // A form added a moment ago exists once the page is saved.
    const text = error.status === 404 ? "Workflows can be connected once the page is saved." : `Couldn't load the workflows: ${firstMessage(error)}`;
    body.append(el("p", { class: "ed-empty-note", text }));
  });
  return box;
}

async function createFormWorkflow(node) {
  try {
    await flush();
    const name = `${nodeLabel(node)} follow-up`.slice(0, 200);
    const definition = { trigger: { type: "form_submitted", config: { component: node.id } }, nodes: [], edges: [] };
    const created = await api("POST", "workflows/", { name, definition });
    const workflows = await loadFormWorkflows(node.id, { fresh: true });
    const mine = workflows.find((workflow) => workflow.id === created.id);
    if (mine) window.location.href = mine.edit_url;
    else renderProperties();
  } catch (error) {
    toast(`Couldn't create the workflow: ${firstMessage(error)}`, "error");
  }
}

const PAGE_FIELDS = [
  ["title", "Title", "text", 200, ""],
  ["path", "Path", "text", 200, "Lowercase words with hyphens, e.g. /pricing or /about/team."],
  ["seo_title", "SEO title", "text", 200, "Shown in search results and browser tabs. Defaults to the page title."],
  ["seo_description", "SEO description", "textarea", 400, "One or two sentences for search results and link previews."],
  ["og_image", "Social image URL", "text", 2000, "The image shown when the page is shared (Open Graph)."],
];

function renderPageProperties(pane) {
  pane.dataset.mode = "page";
  if (!state.page) {
    pane.append(el("p", { class: "ed-empty-note", text: "This site has no pages yet." }));
    return;
  }
  pane.append(
    el(
      "header",
      { class: "ed-prop-header" },
      el("span", { class: "ed-prop-icon", html: icon("page") }),
      el("div", { class: "ed-prop-heading" }, el("h2", { text: "Page settings", "data-testid": "properties-title" }), el("p", { text: "Select a component on the canvas to edit it." })),
    ),
  );
  const fields = el("div", { class: "schema-form", "data-testid": "page-settings" });
  for (const [name, label, kind, maxlength, help] of PAGE_FIELDS) {
    const id = `page-${name}`;
    const attrs = { id, name, maxlength, disabled: !canWrite, "data-path": name, spellcheck: name === "path" || name === "og_image" ? "false" : null };
    const input = kind === "textarea" ? el("textarea", { ...attrs, rows: 3 }) : el("input", { type: "text", ...attrs });
    input.value = state.page[name] || "";
    if (name === "path" && state.page.is_home) input.disabled = true;
    input.addEventListener("input", () => {
      delete state.errors.page[name];
      pageSettingsChanged({ [name]: input.value });
    });
    const errors = state.errors.page[name] || [];
    fields.append(
      el(
        "div",
        { class: `prop-field${errors.length ? " has-error" : ""}`, "data-path": name },
        el("label", { for: id, text: label }),
        input,
        name === "path" && state.page.is_home ? el("div", { class: "help", text: "The home page always lives at /." }) : help ? el("div", { class: "help", text: help }) : null,
        el("ul", { class: "errorlist", hidden: !errors.length }, ...errors.map((message) => el("li", { text: message }))),
      ),
    );
  }
  pane.append(section("Page", fields));
  pane.append(renderSiteSettings());
}

// --- Site settings and theme ----------------------------------------------------------------------------------

let pendingSite = null;
let siteSaving = false;
const scheduleSiteSave = debounce(() => saveSite(), THEME_SAVE_DELAY);

function siteChanged(changes) {
  pendingSite = { ...(pendingSite || {}), ...changes };
  setStatus("pending");
  scheduleSiteSave();
}

async function saveSite() {
  if (siteSaving || !pendingSite) return;
  siteSaving = true;
  const changes = pendingSite;
  pendingSite = null;
  setStatus("saving");
  try {
    const site = await api("PATCH", `sites/${config.site.id}/`, { version: state.site.version, ...changes });
    state.site = { ...state.site, ...site };
    state.errors.site = {};
    if (changes.name) {
      config.site.name = site.name;
      $("[data-testid=site-name]").textContent = site.name;
    }
    setStatus(hasUnsaved() ? "pending" : "saved");
    if (changes.theme) renderCanvas();
  } catch (error) {
    if (error.status === 409) {
      await refreshSite();
      setStatus(hasUnsaved() ? "pending" : "saved");
      toast("The site's settings were changed elsewhere; showing the latest. Apply your change again.", "error");
      renderProperties();
    } else if (error.status === 400) {
      state.errors.site = error.details;
      setStatus("invalid");
      toast(`Couldn't save the site settings: ${firstMessage(error)}`, "error");
      renderProperties();
    } else {
      pendingSite = { ...changes, ...(pendingSite || {}) };
      setStatus("offline");
      setTimeout(() => scheduleSiteSave(), RETRY_DELAYS[0]);
    }
  } finally {
    siteSaving = false;
  }
  if (pendingSite) scheduleSiteSave();
}

function renderSiteSettings() {
  const wrapper = el("div");
  if (!state.site) return wrapper;
  const nameInput = el("input", { type: "text", id: "site-name", maxlength: 120, disabled: !canWrite, value: state.site.name, "data-path": "name" });
  nameInput.addEventListener("input", () => {
    if (nameInput.value.trim()) siteChanged({ name: nameInput.value.trim() });
  });
  wrapper.append(section("Site", el("div", { class: "schema-form" }, el("div", { class: "prop-field", "data-path": "name" }, el("label", { for: "site-name", text: "Site name" }), nameInput))));
  const theme = clone(state.site.theme || {});
  const form = new SchemaForm(config.themeSchema, theme, {
    disabled: !canWrite,
    idPrefix: "theme",
    errors: Object.fromEntries(Object.entries(state.errors.site || {}).map(([key, value]) => [key.replace(/^theme\.?/, ""), value])),
    onChange: () => siteChanged({ theme: clone(theme) }),
    decorate: (field, path) => {
      if (path[0] === "fonts") {
        const select = field.querySelector("select");
        const apply = () => {
          select.style.fontFamily = config.fontStacks[select.value] || "";
        };
        select.addEventListener("change", apply);
        apply();
      }
    },
  });
  const themeSection = section("Theme", form.element);
  themeSection.dataset.testid = "theme-panel";
  wrapper.append(themeSection);
  return wrapper;
}

// --- Keyboard ----------------------------------------------------------------------------------------------

function onKeydown(event) {
  const mod = event.metaKey || event.ctrlKey;
  if (mod && event.key.toLowerCase() === "z" && !isTyping(event.target)) {
    event.preventDefault();
    stepHistory(event.shiftKey ? 1 : -1);
  } else if (mod && event.key.toLowerCase() === "y" && !isTyping(event.target)) {
    event.preventDefault();
    stepHistory(1);
  } else if ((event.key === "Delete" || event.key === "Backspace") && state.selected && !isTyping(event.target)) {
    event.preventDefault();
    deleteSelected();
  } else if (event.key === "Escape" && state.selected && !isTyping(event.target)) {
    select(null);
  }
}

// --- Wiring ------------------------------------------------------------------------------------------------

function setupChrome() {
  for (const tab of $$(".ed-tab")) {
    tab.addEventListener("click", () => {
      for (const other of $$(".ed-tab")) {
        const active = other === tab;
        other.classList.toggle("is-active", active);
        other.setAttribute("aria-selected", String(active));
      }
      for (const panel of $$(".ed-panel")) {
        const active = panel.dataset.panel === tab.dataset.tab;
        panel.hidden = !active;
        panel.classList.toggle("is-active", active);
      }
    });
  }
  for (const button of $$("[data-device]", $(".ed-segmented"))) {
    button.addEventListener("click", () => setDevice(button.dataset.device));
  }
  $("[data-action=undo]").addEventListener("click", () => stepHistory(-1));
  $("[data-action=redo]").addEventListener("click", () => stepHistory(1));
  $("[data-testid=page-switcher]").addEventListener("change", (event) => switchPage(Number(event.target.value)));
  $("[data-palette-filter]").addEventListener("input", (event) => filterPalette(event.target.value));
  document.addEventListener("keydown", onKeydown);

  const palette = $("[data-testid=palette]");
  palette.addEventListener("dragstart", (event) => {
    const tile = event.target.closest(".ed-tile");
    if (!tile || !canWrite) return;
    state.drag = { kind: "new", type: tile.dataset.type };
    event.dataTransfer.effectAllowed = "copy";
    event.dataTransfer.setData("text/plain", tile.dataset.type);
    editorRoot.classList.add("is-dragging");
  });
  palette.addEventListener("dragend", endDrag);
  palette.addEventListener("click", (event) => {
    const tile = event.target.closest(".ed-tile");
    if (tile && canWrite) addFromPalette(tile.dataset.type);
  });
  setupAddPage();
  document.body.append(el("datalist", { id: "ed-link-targets" }));
}

function renderLinkTargets() {
  const list = $("#ed-link-targets");
  if (!list) return;
  list.innerHTML = "";
  for (const page of state.site.pages) list.append(el("option", { value: page.path, label: page.title }));
}

async function start() {
  setupChrome();
  if (!canWrite) editorRoot.classList.add("is-readonly");
  try {
    const [types, site] = await Promise.all([api("GET", "component-types/"), api("GET", `sites/${config.site.id}/`)]);
    for (const type of types) state.types.set(type.type, type);
    state.site = site;
    renderPalette();
    if (!config.page) {
      renderPagesUi();
      renderProperties();
      setStatus(canWrite ? "saved" : "readonly");
      editorRoot.dataset.state = "ready";
      return;
    }
    window.history.replaceState({ page: config.page }, "");
    await loadPage(config.page);
  } catch (error) {
    setStatus("error");
    editorRoot.dataset.state = "error";
    toast(`The editor couldn't load: ${error.message}`, "error");
  }
}

start();
