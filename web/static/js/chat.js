// Chat in the call, and the desk's messages to the waiting room. Lines travel over the signalling
// socket only: the server relays them and keeps nothing, and neither does this page (a reload
// starts with an empty log). Texts are shown with textContent, never as HTML.
//
// Markup (partials/chat.html): [data-chat] root with data-scope ("call" | "desk") and data-msg-*
// texts, [data-chat-log] (a list inside role=log: role=log on the list itself would orphan its items), form[data-chat-form] with textarea[name=text], and
// [data-chat-notice] for problems.

const MAX_CHARS = 1000;
const ECHO_WITHIN_MS = 5000; // the server sends every accepted line back to its sender
// Bidi embeddings, overrides and isolates: the server refuses lines with them (docs/signalling.md).
const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069]/g;

/** What the server accepts: trimmed, at most 1000 characters, no bidi overrides or control codes. */
export function cleanLine(text) {
  return String(text || "")
    .replace(BIDI_CONTROLS, "")
    // eslint-disable-next-line no-control-regex
    .replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, "")
    .trim()
    .slice(0, MAX_CHARS);
}

function clockOf(iso, locale) {
  const date = iso ? new Date(iso) : new Date();
  if (Number.isNaN(date.getTime())) return "";
  return new Intl.DateTimeFormat(locale === "en" ? "en-GB" : "nl-NL", {
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZone: "Europe/Amsterdam",
  }).format(date);
}

export class ChatPanel {
  /**
   * @param {HTMLElement} root `[data-chat]`
   * @param {import("./signalling.js").SignallingClient} client
   * @param {object} o
   * @param {() => string|null} o.selfId our peer id (our own lines are marked "U")
   * @param {(message: object) => boolean} [o.accepts] which `chat` messages belong in this panel
   * @param {(text: string) => object|null} [o.outgoing] the message to send for a line (null: cannot)
   * @param {(message: object) => string} [o.addressee] e.g. "aan Sanne" after our own desk lines
   */
  constructor(root, client, { selfId, accepts, outgoing, addressee } = {}) {
    this.root = root;
    this.client = client;
    this.msg = root.dataset;
    this.scope = root.dataset.scope || "call";
    this.selfId = selfId || (() => null);
    this.accepts = accepts || ((m) => m.scope === this.scope);
    this.outgoing = outgoing || ((text) => ({ type: "chat", text }));
    this.addressee = addressee || (() => "");
    this.log = root.querySelector("[data-chat-log]");
    this.form = root.querySelector("form[data-chat-form]");
    this.input = this.form?.querySelector("[name=text]");
    this.notice = root.querySelector("[data-chat-notice]");
    this.lines = [];
    this.pending = []; // one timer per line on its way: no echo in time means it did not go out
    client.on("chat", (m) => {
      if (this.accepts(m)) this.add(m);
    });
    client.on("error", (m) => this.serverError(m));
    this.form?.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send(this.input.value);
    });
    this.input?.addEventListener("keydown", (event) => {
      // Enter sends, Shift+Enter makes a new line (as in most chat apps).
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.send(this.input.value);
      }
    });
    for (const button of root.querySelectorAll("[data-chat-phrase]")) {
      button.addEventListener("click", () => this.send(button.dataset.chatPhrase));
    }
  }

  /** Send a line. It appears in the log when the server sends it back (so it really went out). */
  send(raw) {
    const text = cleanLine(raw);
    if (!text) return false;
    const message = this.outgoing(text);
    if (!message) {
      this.showNotice(this.msg.msgChooseWho || "");
      return false;
    }
    if (!this.client.send(message)) {
      this.showNotice(this.msg.msgOffline || "");
      return false;
    }
    this.pending.push(setTimeout(() => this.notSent(), ECHO_WITHIN_MS));
    if (this.input && cleanLine(this.input.value) === text) this.input.value = "";
    this.showNotice("");
    return true;
  }

  add(message) {
    const mine = String(message.from?.id) === String(this.selfId());
    if (mine) clearTimeout(this.pending.shift());
    const item = document.createElement("li");
    item.className = `chat__line${mine ? " chat__line--mine" : ""}`;
    item.dataset.chatLine = "";
    item.dataset.from = String(message.from?.id || "");
    const meta = document.createElement("span");
    meta.className = "chat__meta";
    const who = mine ? this.msg.msgYou || "" : message.from?.name || this.msg.msgOfficial || "";
    const to = mine ? this.addressee(message) : "";
    meta.textContent = `${who}${to ? ` ${to}` : ""} · ${clockOf(message.sent_at, this.msg.locale)}`;
    const text = document.createElement("span");
    text.className = "chat__text";
    text.dataset.chatText = "";
    text.textContent = String(message.text || "");
    item.append(meta, text);
    this.log.append(item);
    this.lines.push({ from: item.dataset.from, text: text.textContent, mine });
    this.log.scrollTop = this.log.scrollHeight;
    this.root.dataset.count = String(this.lines.length);
    this.root.hidden = false;
  }

  serverError(message) {
    if (message.code !== "rate_limited" || this.pending.length === 0) return;
    clearTimeout(this.pending.shift());
    this.showNotice(this.msg.msgTooMany || "");
  }

  notSent() {
    this.pending.shift();
    this.showNotice(this.msg.msgNotSent || "");
  }

  showNotice(text) {
    if (!this.notice) return;
    this.notice.textContent = text;
    this.notice.hidden = !text;
  }

  /** Whether typing is possible now (e.g. only while in the call). */
  setEnabled(enabled) {
    if (!this.form) return;
    for (const element of this.form.elements) element.disabled = !enabled;
    for (const button of this.root.querySelectorAll("[data-chat-phrase]")) button.disabled = !enabled;
  }
}
