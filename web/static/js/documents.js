// The documents panel of the waiting room and the call (web/templates/partials/documents.html).
//
// Both sides share PDF, JPG and PNG files; each side sees the other's appear live through the
// signalling socket (`document` events, docs/signalling.md) and downloads them as attachments.
// The server decides everything (type, size, who may do what): this page only asks and shows the
// answer, in the visitor's language (texts come from the panel's data- attributes).

const JSON_HEADERS = { Accept: "application/json" };
const SEEN_AFTER_MS = 5000; // a notice on screen this long (page in view) has been read

/**
 * Start the panel in `root` (default: the page's `[data-documents]`), fed by `client` (a
 * SignallingClient). Returns the panel, or null when the page has none.
 */
export function mountDocuments(client, root = document.querySelector("[data-documents]")) {
  if (!root) return null;
  const panel = new DocumentsPanel(root, client);
  panel.start();
  return panel;
}

function fill(template, values) {
  return (template || "").replace(/\{(\w+)\}/g, (match, key) => (key in values ? String(values[key]) : match));
}

export class DocumentsPanel {
  constructor(root, client) {
    this.root = root;
    this.client = client;
    this.msg = root.dataset;
    this.base = root.dataset.baseUrl;
    this.views = (root.dataset.views || "").split(/\s+/).filter(Boolean);
    this.viewHolder = root.closest("[data-current-view]");
    this.lang = document.documentElement.lang || "nl";
    this.documents = new Map();
    this.you = null;
    this.limits = null;
    this.keepDays = 0;
    this.canShare = true;
    this.loaded = false;
    this.busy = 0;
    this.shownAt = { status: undefined, error: undefined }; // when each notice came in view; null: not yet
    this.$ = (selector) => root.querySelector(selector);
  }

  start() {
    this.$("[data-documents-input]").addEventListener("change", (event) => {
      const files = [...event.target.files];
      event.target.value = "";
      this.uploadAll(files);
    });
    this.$("[data-documents-list]").addEventListener("click", (event) => this.onListClick(event));
    if (this.viewHolder) {
      new MutationObserver(() => this.updateVisibility()).observe(this.viewHolder, {
        attributes: true,
        attributeFilter: ["data-current-view"],
      });
    }
    // Every (re)connection: events may have been missed while the socket was away.
    this.client.on("welcome", () => this.refresh());
    this.client.on("document", (m) => this.onEvent(m));
    // A notice that came while the page was out of sight (another tab) is seen from when it is back.
    document.addEventListener("visibilitychange", () => {
      if (document.hidden) return;
      for (const kind of Object.keys(this.shownAt)) {
        if (this.shownAt[kind] === null) this.shownAt[kind] = Date.now();
      }
    });
    this.refresh();
  }

  // -- talking to the server ---------------------------------------------------------------------

  async refresh() {
    let response;
    try {
      response = await fetch(`${this.base}/`, { headers: JSON_HEADERS, credentials: "same-origin" });
    } catch {
      return; // offline: the next welcome tries again
    }
    if (response.status === 404 || response.status === 401 || response.status === 403) {
      this.loaded = false; // the link no longer works, or the appointment is not ours
      this.updateVisibility();
      return;
    }
    let body;
    try {
      body = response.ok ? await response.json() : null;
    } catch {
      body = null; // e.g. a sign-in page after the desk session ran out
    }
    if (!body || !Array.isArray(body.documents)) return;
    this.you = body.you;
    this.limits = body.limits;
    this.keepDays = Number(body.keep_days || 0);
    this.canShare = body.active !== false;
    this.documents = new Map(body.documents.map((d) => [d.id, d]));
    this.loaded = true;
    this.render();
    this.updateVisibility();
  }

  async uploadAll(files) {
    for (const file of files) {
      await this.upload(file);
    }
  }

  async upload(file) {
    this.showError("");
    if (this.limits && file.size > this.limits.max_bytes) {
      // Saves sending megabytes for nothing; the server checks again anyway.
      this.showError(fill(this.msg.msgTooLarge, { mb: this.maxMegabytes() }));
      return;
    }
    const body = new FormData();
    body.append("file", file, file.name);
    this.setBusy(+1, fill(this.msg.msgUploading, { name: file.name }));
    try {
      const response = await this.post(`${this.base}/`, body);
      if (response.status === 201) {
        const info = await response.json();
        this.apply("added", info);
        this.announce(fill(this.msg.msgUploaded, { name: info.name }));
      } else {
        this.showError(await this.problemText(response));
      }
    } catch {
      this.showError(this.msg.msgOffline);
    } finally {
      this.setBusy(-1);
    }
  }

  async keep(id, keep) {
    this.showError("");
    try {
      const response = await this.post(`${this.base}/${id}/bewaren`, JSON.stringify({ keep }), {
        "Content-Type": "application/json",
      });
      if (response.ok) this.apply("updated", await response.json());
      else this.showError(await this.problemText(response));
    } catch {
      this.showError(this.msg.msgOffline);
    }
  }

  /**
   * Two clicks, not window.confirm(): a modal dialog would stop this page's JavaScript (its
   * heartbeats and signalling) for as long as it stays open, in the middle of a call.
   */
  confirmRemove(id, button) {
    const info = this.documents.get(id);
    if (!info) return;
    if (button.dataset.confirming !== "true") {
      button.dataset.confirming = "true";
      button.textContent = fill(this.msg.msgConfirmRemove, { name: info.name });
      setTimeout(() => {
        if (!button.isConnected) return;
        button.dataset.confirming = "false";
        button.textContent = this.msg.msgRemove;
      }, 5000);
      return;
    }
    button.disabled = true;
    this.remove(id).finally(() => {
      button.disabled = false;
    });
  }

  async remove(id) {
    const info = this.documents.get(id);
    if (!info) return;
    this.showError("");
    try {
      const response = await this.post(`${this.base}/${id}/verwijderen`, null);
      if (response.ok) {
        this.apply("removed", { id });
        this.announce(fill(this.msg.msgRemoved, { name: info.name }));
      } else {
        this.showError(await this.problemText(response));
      }
    } catch {
      this.showError(this.msg.msgOffline);
    }
  }

  post(url, body, headers = {}) {
    return fetch(url, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { ...JSON_HEADERS, "X-CSRFToken": this.msg.csrf, ...headers },
    });
  }

  /** The server's own words (problem+json `detail`), or ours when there is no body to read. */
  async problemText(response) {
    try {
      const problem = await response.json();
      if (problem && typeof problem.detail === "string" && problem.code) return problem.detail;
    } catch {
      /* not JSON: a proxy or the server's generic page */
    }
    if (response.status === 413) return fill(this.msg.msgTooLarge, { mb: this.maxMegabytes() });
    if (response.status === 429) return this.msg.msgRateLimited;
    return this.msg.msgFailed;
  }

  // -- live events -------------------------------------------------------------------------------

  onEvent(message) {
    if (!message || !message.document) return;
    const known = this.documents.has(message.document.id);
    this.apply(message.action, message.document);
    if (message.action === "added" && !known && !this.isMine(message.document)) {
      this.announce(fill(this.msg.msgNew, { name: message.document.name }));
    }
  }

  apply(action, info) {
    if (action === "removed") this.documents.delete(info.id);
    else this.documents.set(info.id, info);
    this.render();
  }

  // -- showing -----------------------------------------------------------------------------------

  updateVisibility() {
    const view = this.viewHolder ? this.viewHolder.dataset.currentView : null;
    const inView = !this.views.length || !view || this.views.includes(view);
    this.root.hidden = !(this.loaded && inView);
    this.$("[data-documents-form]").hidden = !this.canShare;
  }

  isMine(info) {
    return !!this.you && info.shared_by && String(info.shared_by.id) === String(this.you.id);
  }

  render() {
    const list = this.$("[data-documents-list]");
    const items = [...this.documents.values()].sort((a, b) => a.shared_at.localeCompare(b.shared_at));
    list.replaceChildren(...items.map((info) => this.item(info)));
    this.$("[data-documents-empty]").hidden = items.length > 0;
    const limits = this.$("[data-documents-limits]");
    if (limits && this.limits) limits.textContent = fill(this.msg.msgLimits, { mb: this.maxMegabytes() });
  }

  item(info) {
    const li = document.createElement("li");
    li.className = "documents__item";
    li.dataset.documentId = info.id;
    li.dataset.sha256 = info.sha256;

    const link = document.createElement("a");
    link.href = `${this.base}/${info.id}`;
    link.download = info.name;
    link.dataset.documentDownload = "";
    link.textContent = info.name;
    link.className = "documents__name";

    const meta = document.createElement("span");
    meta.className = "documents__meta";
    const by = this.isMine(info)
      ? this.msg.msgSharedByYou
      : fill(this.msg.msgSharedBy, { name: info.shared_by.name || this.msg.msgSomeone });
    meta.textContent = `${this.typeLabel(info.type)} · ${this.sizeLabel(info.size)} · ${by}`;

    li.append(link, meta);
    if (info.kept_for_case) {
      const kept = document.createElement("span");
      kept.className = "badge documents__kept";
      kept.textContent = fill(this.msg.msgKept, { date: this.dateLabel(info.expires_at) });
      li.append(kept);
    }
    const actions = document.createElement("span");
    actions.className = "documents__actions";
    if (this.you && this.you.role === "official" && (this.keepDays > 0 || info.kept_for_case)) {
      actions.append(
        this.button(info.kept_for_case ? this.msg.msgUnkeep : this.msg.msgKeep, "keep", info, {
          pressed: info.kept_for_case,
        })
      );
    }
    if (this.canShare && ((this.you && this.you.role === "official") || this.isMine(info))) {
      actions.append(this.button(this.msg.msgRemove, "remove", info));
    }
    if (actions.childElementCount) li.append(actions);
    return li;
  }

  button(text, action, info, { pressed } = {}) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button button--secondary button--small";
    button.dataset.documentAction = action;
    button.textContent = text;
    button.setAttribute("aria-label", `${text}: ${info.name}`);
    if (pressed !== undefined) button.setAttribute("aria-pressed", String(!!pressed));
    return button;
  }

  onListClick(event) {
    const button = event.target.closest("button[data-document-action]");
    if (!button) return;
    const id = button.closest("[data-document-id]").dataset.documentId;
    if (button.dataset.documentAction === "keep") this.keep(id, !this.documents.get(id)?.kept_for_case);
    if (button.dataset.documentAction === "remove") this.confirmRemove(id, button);
  }

  typeLabel(type) {
    return { "application/pdf": "PDF", "image/jpeg": "JPG", "image/png": "PNG" }[type] || type;
  }

  sizeLabel(bytes) {
    const format = (value, digits) =>
      new Intl.NumberFormat(this.lang, { maximumFractionDigits: digits }).format(value);
    if (bytes >= 1024 * 1024) return `${format(bytes / (1024 * 1024), 1)} MB`;
    return `${format(Math.max(1, Math.round(bytes / 1024)), 0)} KB`;
  }

  dateLabel(iso) {
    return new Date(iso).toLocaleDateString(this.lang, { day: "numeric", month: "long", year: "numeric" });
  }

  maxMegabytes() {
    const megabytes = this.limits ? this.limits.max_bytes / (1024 * 1024) : 10;
    return new Intl.NumberFormat(this.lang, { maximumFractionDigits: 1 }).format(megabytes);
  }

  setBusy(delta, text) {
    this.busy = Math.max(0, this.busy + delta);
    this.root.dataset.busy = String(this.busy > 0);
    if (text) this.announce(text);
  }

  announce(text) {
    const status = this.$("[data-documents-status]");
    if (status.textContent !== text) status.textContent = text;
    this.noticeShown("status", text);
  }

  showError(text) {
    const box = this.$("[data-documents-error]");
    box.textContent = text;
    box.hidden = !text;
    this.noticeShown("error", text);
  }

  noticeShown(kind, text) {
    this.shownAt[kind] = !text ? undefined : document.hidden ? null : Date.now();
  }

  /**
   * The page moves on (the waiting room becomes the call): drop the notices the visitor has had
   * time to read. Kept: the status of an upload still on its way (its outcome follows) and a notice
   * that only just appeared or has not been in view yet, so nothing unread is lost.
   */
  clearSeenNotices(now = Date.now()) {
    const seen = (at) => typeof at === "number" && now - at >= SEEN_AFTER_MS;
    if (this.busy === 0 && seen(this.shownAt.status)) this.announce("");
    if (seen(this.shownAt.error)) this.showError("");
  }
}
