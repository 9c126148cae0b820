// refbot playground: a minimal Slack client. The server renders every message, view and modal as HTML
// (slackfake/html.py); this script only polls for what changed and sends what the person does, which the
// server turns into the signed request Slack would send to refbot. No framework, no build step.
"use strict";

const POLL_MS = 700;
const view = { user: "", where: "dm", tab: "messages" };
let polling = null;
let busy = 0;
const dismissed = new Set();  // modals closed here, which a poll already on its way may still report open

function $(selector, root = document) { return root.querySelector(selector); }
function $all(selector, root = document) { return Array.from(root.querySelectorAll(selector)); }

async function post(path, body) {
  busy += 1;
  try {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Playground": "1" },
      body: JSON.stringify({ as: view.user, ...body }),
    });
    if (!response.ok) {
      showToast(`The playground could not do that (HTTP ${response.status}).`);
      return { ok: false };
    }
    const answer = await response.json();
    if (answer.error) showToast(answer.error);
    return answer;
  } catch (error) {
    showToast("The playground is not answering: is `refbot playground` still running?");
    return { ok: false };
  } finally {
    busy -= 1;
    refresh();
  }
}

function showToast(text) {
  const toast = $("#toast");
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(showToast.timer);
  showToast.timer = setTimeout(() => { toast.hidden = true; }, 6000);
}

function showReport(title, lines) {
  $("#report-title").textContent = title;
  const list = $("#report-lines");
  list.replaceChildren(...lines.map((line) => { const li = document.createElement("li"); li.textContent = line; return li; }));
  $("#report").hidden = false;
}

// --- where am I ------------------------------------------------------------------------------------------
function place() { return view.tab === "home" && view.where === "dm" ? "home" : view.where; }

function go(changes) {
  const before = { ...view };
  Object.assign(view, changes);
  if (view.where !== "dm") view.tab = "messages";
  const url = new URL(window.location.href);
  url.searchParams.set("as", view.user);
  url.searchParams.set("where", view.where);
  url.searchParams.set("tab", view.tab);
  window.history.replaceState(null, "", url);
  $all(".person").forEach((b) => b.classList.toggle("active", b.dataset.user === view.user));
  $all(".place").forEach((b) => b.classList.toggle("active", b.dataset.where === view.where));
  $all(".tab").forEach((b) => {
    const on = b.dataset.tab === view.tab;
    b.classList.toggle("active", on);
    b.setAttribute("aria-selected", on ? "true" : "false");
  });
  $("#tabs").hidden = view.where !== "dm";
  const channel = $all(".place").find((b) => b.dataset.where === view.where);
  $("#title").textContent = view.where === "dm" ? "refbot" : `# ${channel ? channel.dataset.name : ""}`;
  $("#composer-text").placeholder = view.where === "dm"
    ? "Type /reference help, or /reference request Globex"
    : "Message the channel, or type /reference watch (managers)";
  $("#composer").hidden = place() === "home";
  $("#home").hidden = place() !== "home";
  $("#conversation").hidden = place() === "home";
  if (before.user !== view.user || before.where !== view.where || before.tab !== view.tab) {
    $("#conversation").replaceChildren();
    $("#home").replaceChildren();
    closeModalQuietly();
  }
  if (place() === "home" && (before.user !== view.user || before.tab !== "home" || before.where !== "dm")) {
    $("#home").innerHTML = '<div class="loading">Loading the App Home…</div>';
    post("/api/home", {});  // Slack sends app_home_opened every time the tab is opened
  }
  refresh();
}

// --- keeping the page current ------------------------------------------------------------------------------
async function refresh() {
  const wanted = { ...view };
  let state;
  try {
    const response = await fetch(`/api/state?as=${encodeURIComponent(view.user)}&where=${place()}`);
    if (!response.ok) return;
    state = await response.json();
  } catch (error) {
    return;  // the next poll tries again; a stopped server is reported when the person acts
  }
  if (wanted.user !== view.user || wanted.where !== view.where || wanted.tab !== view.tab) return;
  $("#clock").textContent = state.clock;
  $("#viewer").textContent = `You are ${state.you} · times in ${state.tz}`;
  renderBadges(state.dms);
  if (state.items) renderItems(state.items);
  if ("home" in state) renderHome(state.home);
  renderModal(state.modal);
}

function renderItems(items) {
  const list = $("#conversation");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const existing = new Map($all(":scope > .msg", list).map((node) => [node.dataset.key, node]));
  const wanted = new Set(items.map((item) => item.key));
  existing.forEach((node, key) => { if (!wanted.has(key)) node.remove(); });
  let previous = null;
  let added = false;
  for (const item of items) {
    let node = existing.get(item.key);
    if (!node) {
      node = document.createElement("div");
      node.className = "msg" + (item.ephemeral ? " ephemeral" : "");
      node.dataset.key = item.key;
      added = true;
    }
    if (node.dataset.hash !== item.hash) {  // updated in place (chat.update): same node, new content
      node.innerHTML = item.html;
      node.dataset.hash = item.hash;
      node.dataset.surface = item.surface;
    }
    const next = previous ? previous.nextSibling : list.firstChild;
    if (next !== node) list.insertBefore(node, next);
    previous = node;
  }
  if (!items.length && !$(".empty", list)) {
    list.innerHTML = '<div class="empty">Nothing here yet. Type <code>/reference help</code> below to start.</div>';
  } else if (items.length) {
    const empty = $(".empty", list);
    if (empty) empty.remove();
  }
  if (added && atBottom) list.scrollTop = list.scrollHeight;
}

const seen = {};  // DMs each person has looked at, so new ones show as an unread badge by their name
function renderBadges(counts) {
  for (const [user, count] of Object.entries(counts)) {
    if (!(user in seen) || (user === view.user && view.where === "dm" && view.tab === "messages")) seen[user] = count;
    const badge = $(`.person[data-user="${user}"] .badge`);
    const unread = count - seen[user];
    badge.textContent = unread > 0 ? String(unread) : "";
    badge.hidden = unread <= 0;
    badge.closest(".person").classList.toggle("unread", unread > 0);
  }
}

function renderHome(home) {
  const pane = $("#home");
  if (!home) return;  // still loading: the publish follows app_home_opened
  if (pane.dataset.hash === home.hash) return;
  pane.innerHTML = home.html;
  pane.dataset.hash = home.hash;
}

function renderModal(modal) {
  const dialog = $("#modal");
  const form = $("#modal-form");
  if (modal && dismissed.has(modal.view_id)) modal = null;
  if (!modal) {
    if (dialog.open) dialog.close();
    form.dataset.viewId = "";
    form.dataset.hash = "";
    return;
  }
  if (form.dataset.viewId !== modal.view_id || form.dataset.hash !== modal.hash) {
    form.innerHTML = modal.html;  // a new modal, or views.update replaced this one
    form.dataset.viewId = modal.view_id;
    form.dataset.hash = modal.hash;
  }
  if (!dialog.open) dialog.showModal();
}

function closeModalQuietly() {
  const dialog = $("#modal");
  if (dialog.open) dialog.close();
}

// --- what the person does ------------------------------------------------------------------------------
function surfaceOf(element) {
  if (element.closest("#modal")) return { kind: "modal" };
  if (element.closest("#home")) return { kind: "home" };
  const message = element.closest(".msg");
  return message ? JSON.parse(message.dataset.surface) : null;
}

function actionOf(element) {
  const kind = element.dataset.kind;
  let value = element.dataset.value ?? null;
  if (kind === "checkboxes") {
    const group = element.closest(".bk-choices");
    value = $all("input:checked", group).map((box) => box.value);
  } else if (kind !== "button" && kind !== "workflow_button") {
    value = element.value;
  }
  return { action_id: element.dataset.actionId, block_id: element.dataset.blockId, kind, value };
}

async function confirmFirst(element) {
  if (!element.dataset.confirm) return true;
  const texts = JSON.parse(element.dataset.confirm);
  const dialog = $("#confirm");
  $("#confirm-title").textContent = texts.title;
  $("#confirm-text").textContent = texts.text;
  $("#confirm-deny").textContent = texts.deny;
  const yes = $("#confirm-yes");
  yes.textContent = texts.confirm;
  yes.className = "bk-button " + (texts.style === "danger" ? "bk-button-danger" : "bk-button-primary");
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true });
  });
}

async function act(element) {
  const surface = surfaceOf(element);
  if (!surface) return;
  if (!(await confirmFirst(element))) return;
  const action = actionOf(element);
  if (surface.kind === "modal") action.values = formValues();
  element.classList.add("pressed");
  await post("/api/action", { surface, action });
  element.classList.remove("pressed");
}

function formValues() {
  const values = {};
  for (const block of $all("#modal-form .bk-input")) {
    const control = $(".bk-field-wrap [data-kind]", block);
    if (!control) continue;
    const kind = control.dataset.kind;
    const key = `${block.dataset.blockId}/${control.dataset.actionId}`;
    if (kind === "checkboxes") {
      values[key] = $all("input:checked", block).map((box) => box.value);
    } else if (kind === "radio_buttons") {
      const chosen = $("input:checked", block);
      values[key] = chosen ? chosen.value : null;
    } else if (kind.endsWith("external_select")) {
      const hidden = $("input[type=hidden]", block);
      values[key] = hidden.value ? { value: hidden.value, label: hidden.dataset.label } : null;
    } else if (control.tagName === "SELECT" && control.multiple) {
      values[key] = Array.from(control.selectedOptions).map((option) => option.value);
    } else {
      values[key] = control.value === "" ? null : control.value;
    }
  }
  return values;
}

function showErrors(errors) {
  const form = $("#modal-form");
  $all(".bk-error", form).forEach((slot) => { slot.hidden = true; slot.textContent = ""; });
  $all(".bk-input", form).forEach((block) => block.classList.remove("bk-has-error"));
  let first = null;
  for (const [blockId, message] of Object.entries(errors)) {
    const block = $all(".bk-input", form).find((b) => b.dataset.blockId === blockId);
    if (!block) { showToast(message); continue; }
    const slot = $(".bk-error", block);
    slot.textContent = message;
    slot.hidden = false;
    block.classList.add("bk-has-error");
    first = first || block;
  }
  if (first) first.scrollIntoView({ block: "center" });
}

async function submitModal() {
  const form = $("#modal-form");
  const submit = $(".bk-modal-submit", form);
  if (submit) submit.disabled = true;
  const answer = await post("/api/submit", { view_id: form.dataset.viewId, values: formValues() });
  if (submit) submit.disabled = false;
  if (answer.errors && Object.keys(answer.errors).length) showErrors(answer.errors);
}

let suggestTimer = null;
function suggest(input) {
  clearTimeout(suggestTimer);
  const box = input.closest(".bk-external");
  const hidden = $("input[type=hidden]", box);
  hidden.value = "";
  hidden.dataset.label = "";
  suggestTimer = setTimeout(async () => {
    const list = $(".bk-suggestions", box);
    if (!input.value.trim()) { list.hidden = true; return; }
    const answer = await post("/api/suggest", {
      view_id: $("#modal-form").dataset.viewId, action_id: input.dataset.actionId, query: input.value,
    });
    const options = answer.options || [];
    list.replaceChildren(...options.map((option) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "bk-suggestion";
      button.textContent = option.label;
      button.dataset.value = option.value;
      return button;
    }));
    if (!options.length) list.textContent = "No matches";
    list.hidden = false;
  }, 250);
}

function pickSuggestion(button) {
  const box = button.closest(".bk-external");
  const hidden = $("input[type=hidden]", box);
  hidden.value = button.dataset.value;
  hidden.dataset.label = button.textContent;
  $(".bk-external-input", box).value = button.textContent;
  $(".bk-suggestions", box).hidden = true;
}

function isModalInput(element) { return Boolean(element.closest("#modal-form .bk-input")); }

document.addEventListener("click", (event) => {
  const target = event.target;
  const person = target.closest(".person");
  if (person) { go({ user: person.dataset.user }); return; }
  const where = target.closest(".place");
  if (where) { go({ where: where.dataset.where, tab: "messages" }); return; }
  const tab = target.closest(".tab");
  if (tab) { go({ tab: tab.dataset.tab }); return; }
  if (target.closest("#report-close")) { $("#report").hidden = true; return; }
  if (target.closest("#run-jobs")) {
    post("/api/jobs", {}).then((a) => a.lines && showReport("What the scheduled jobs did", a.lines));
    return;
  }
  const advance = target.closest("[data-advance]");
  if (advance) {
    const by = advance.dataset.advance;
    post("/api/advance", { by }).then((a) => a.lines && showReport(`A ${by} later: the scheduled jobs ran`, a.lines));
    return;
  }
  const suggestion = target.closest(".bk-suggestion");
  if (suggestion) { pickSuggestion(suggestion); return; }
  if (target.closest(".bk-modal-close")) {
    const form = $("#modal-form");
    dismissed.add(form.dataset.viewId);
    post("/api/close", { view_id: form.dataset.viewId });
    closeModalQuietly();
    return;
  }
  const button = target.closest("button.bk-button[data-action-id]");
  if (button && !button.closest("#confirm")) { event.preventDefault(); act(button); }
});

document.addEventListener("change", (event) => {
  const element = event.target;
  if (!element.dataset || !element.dataset.actionId || isModalInput(element)) return;
  if (element.classList.contains("bk-external-input")) return;
  if (element.classList.contains("bk-overflow") && !element.value) return;
  act(element).then(() => { if (element.classList.contains("bk-overflow")) element.value = ""; });
});

document.addEventListener("input", (event) => {
  if (event.target.classList && event.target.classList.contains("bk-external-input")) suggest(event.target);
});

document.addEventListener("DOMContentLoaded", () => {
  $("#modal-form").addEventListener("submit", (event) => { event.preventDefault(); submitModal(); });
  $("#modal").addEventListener("cancel", () => {  // Escape: the same as the modal's Close button
    dismissed.add($("#modal-form").dataset.viewId);
    post("/api/close", { view_id: $("#modal-form").dataset.viewId });
  });
  $("#composer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("#composer-text");
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    const answer = await post("/api/command", { where: view.where, text });
    if (!answer.ok) input.value = text;
  });
  const params = new URLSearchParams(window.location.search);
  const users = $all(".person").map((b) => b.dataset.user);
  const user = users.includes(params.get("as")) ? params.get("as") : document.body.dataset.first;
  const places = $all(".place").map((b) => b.dataset.where);
  const where = places.includes(params.get("where")) ? params.get("where") : "dm";
  const tab = params.get("tab") === "home" ? "home" : "messages";
  view.user = "";
  go({ user, where, tab });
  polling = setInterval(() => { if (!busy) refresh(); }, POLL_MS);
});
