// A reconnecting WebSocket client for the signalling protocol in docs/signalling.md.
//
// Every socket starts with `hello` (carrying this page load's random `session` id), pings every
// heartbeat and, when the connection drops, comes back with exponential backoff and jitter.
// Close codes 4401 (unauthorized), 4403 (forbidden: another site's page, or a mandate that ended),
// 4404 (not found) and 4409 (a colleague took the call over) are final: retrying cannot help.
// 4503 (the app node shuts down, a deploy) is the opposite: come back at once, without backoff.

export const FATAL_CLOSE_CODES = new Set([4401, 4403, 4404, 4409]);
export const RESTART_CLOSE_CODE = 4503;
const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 15000;
const RESTART_MIN_DELAY_MS = 200;
const RESTART_MAX_DELAY_MS = 1500;
// After a 4503 the node may take a while to be back (when there is no other node): tries stay
// short for this long, then the usual backoff takes over again, from its start.
const RESTART_WINDOW_MS = 20000;
const KEPT_RECONNECTS = 20;
const DEFAULT_HEARTBEAT_S = 20;

/** 128 random bits as 32 hex characters; one per page load. */
export function newSessionId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** ws: or wss: URL for a path on this origin. */
export function socketUrl(path, loc = window.location) {
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${loc.host}${path}`;
}

/** Delay before reconnect attempt `attempt` (0-based): doubling from 0.5 s to 15 s, with jitter. */
export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** attempt);
  // "Equal jitter": half fixed, half random, so many clients dropped together spread out.
  return Math.max(MIN_DELAY_MS, Math.round(ceiling / 2 + random() * (ceiling / 2)));
}

/** Delay before reconnecting after the node said it restarts (4503): 0.2 to 1.5 s at random, so the
 * pages of one node do not all arrive at the same moment. */
export function restartDelay(random = Math.random) {
  return Math.round(RESTART_MIN_DELAY_MS + random() * (RESTART_MAX_DELAY_MS - RESTART_MIN_DELAY_MS));
}

/**
 * Status values, in the order a page usually sees them:
 * - "connecting": first connection of this page load
 * - "online": `welcome` received, messages can flow
 * - "reconnecting": the connection dropped; a new one is on its way
 * - "fatal": the server refused us for good (see `fatalCode`)
 * - "closed": the page closed the client itself
 */
export class SignallingClient {
  /**
   * @param {string} path e.g. "/ws/citizen"
   * @param {object} options
   * @param {object} [options.hello] extra fields for `hello` (e.g. {token})
   * @param {string} [options.session] defaults to a fresh random id
   * @param {typeof WebSocket} [options.WebSocketImpl] for tests
   */
  constructor(path, { hello = {}, session = newSessionId(), WebSocketImpl = globalThis.WebSocket } = {}) {
    this.path = path;
    this.session = session;
    this.helloFields = hello;
    this.WebSocketImpl = WebSocketImpl;
    this.status = "idle";
    this.fatalCode = null;
    this.welcomes = 0;
    this.attempt = 0;
    this.restartingUntil = 0; // Date.now() until which a 4503 keeps reconnects short
    /** The last reconnects this client scheduled: {code, delayMs, restart} (for tests and support). */
    this.reconnects = [];
    this.heartbeatMs = DEFAULT_HEARTBEAT_S * 1000;
    this.ws = null;
    this.lastReceived = 0;
    this.reconnectTimer = null;
    this.heartbeatTimer = null;
    this.handlers = new Map();
    this.statusHandlers = new Set();
    this.onOnline = () => this.reconnectNow();
  }

  /** Subscribe to a server message type ("welcome", "signal", ... or "*" for all). Returns unsubscribe. */
  on(type, handler) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(handler);
    return () => this.handlers.get(type).delete(handler);
  }

  /** Subscribe to status changes: handler(status, {code, reason}). */
  onStatus(handler) {
    this.statusHandlers.add(handler);
    return () => this.statusHandlers.delete(handler);
  }

  start() {
    if (this.status !== "idle") return this;
    window.addEventListener("online", this.onOnline);
    this.setStatus("connecting");
    this.connect();
    return this;
  }

  /** Send a message if the socket is open and past `hello`. Returns whether it went out. */
  send(message) {
    if (!this.ws || this.ws.readyState !== 1 || this.status !== "online") return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  /** Close for good (page leaves, call ended). No reconnect. */
  close() {
    if (this.status === "closed") return;
    this.setStatus("closed");
    this.teardown(1000);
    window.removeEventListener("online", this.onOnline);
  }

  get isOnline() {
    return this.status === "online";
  }

  // -- internals ---------------------------------------------------------------------------------

  connect() {
    this.reconnectTimer = null;
    let ws;
    try {
      ws = new this.WebSocketImpl(socketUrl(this.path));
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.lastReceived = Date.now();
      ws.send(JSON.stringify({ type: "hello", session: this.session, ...this.helloFields }));
      this.startHeartbeat();
    };
    ws.onmessage = (event) => this.receive(event.data);
    ws.onclose = (event) => this.closed(ws, event.code, event.reason);
    // An error is always followed by a close; the close decides what happens next.
    ws.onerror = () => {};
  }

  receive(raw) {
    this.lastReceived = Date.now();
    let message;
    try {
      message = JSON.parse(raw);
    } catch {
      return;
    }
    if (!message || typeof message.type !== "string") return;
    if (message.type === "welcome") {
      this.attempt = 0;
      this.restartingUntil = 0;
      this.welcomes += 1;
      const seconds = Number(message.heartbeat_seconds);
      if (seconds > 0) {
        this.heartbeatMs = Math.min(seconds, DEFAULT_HEARTBEAT_S) * 1000;
        this.startHeartbeat();
      }
      this.setStatus("online");
    }
    this.emit(message.type, message);
    this.emit("*", message);
    // Also as a DOM event, so separate modules (identity.js) can follow the socket without owning it.
    document.dispatchEvent(new CustomEvent("balie:signalling", { detail: message }));
  }

  closed(ws, code, reason) {
    if (ws !== this.ws) return;
    this.stopHeartbeat();
    this.ws = null;
    if (this.status === "closed" || this.status === "fatal") return;
    if (FATAL_CLOSE_CODES.has(code)) {
      this.fatalCode = code;
      this.setStatus("fatal", { code, reason });
      window.removeEventListener("online", this.onOnline);
      return;
    }
    if (code === RESTART_CLOSE_CODE) {
      // The node shuts down and said so: its pages come back at once (to another node, or to this
      // one restarted), with the backoff reset, instead of after a backoff grown while it went down.
      this.attempt = 0;
      this.restartingUntil = Date.now() + RESTART_WINDOW_MS;
    }
    this.setStatus(this.welcomes > 0 ? "reconnecting" : "connecting", { code, reason });
    this.scheduleReconnect(code);
  }

  scheduleReconnect(code = null) {
    if (this.reconnectTimer) return;
    const restart = Date.now() < this.restartingUntil;
    const delay = restart ? restartDelay() : backoffDelay(this.attempt);
    if (!restart) this.attempt += 1;
    this.reconnects.push({ code, delayMs: delay, restart });
    if (this.reconnects.length > KEPT_RECONNECTS) this.reconnects.shift();
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  /** The browser says the network is back: skip the rest of the backoff wait. */
  reconnectNow() {
    if (!this.reconnectTimer) return;
    clearTimeout(this.reconnectTimer);
    this.connect();
  }

  startHeartbeat() {
    this.stopHeartbeat();
    this.heartbeatTimer = setInterval(() => {
      if (!this.ws || this.ws.readyState !== 1) return;
      // A socket on a dead network may stay "open" for minutes; if nothing came back for two
      // heartbeats and a bit, treat it as gone and start over.
      if (Date.now() - this.lastReceived > this.heartbeatMs * 2 + 5000) {
        const stale = this.ws;
        this.teardown(4000);
        this.closed(stale, 4000, "heartbeat timeout");
        this.ws = null;
        return;
      }
      this.ws.send(JSON.stringify({ type: "ping" }));
    }, this.heartbeatMs);
  }

  stopHeartbeat() {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  teardown(code) {
    this.stopHeartbeat();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const ws = this.ws;
    if (!ws) return;
    // Keep `this.ws` until the caller decides; a late onclose of this socket is ignored by closed().
    ws.onopen = ws.onmessage = ws.onerror = null;
    ws.onclose = null;
    try {
      ws.close(code);
    } catch {
      /* already closing */
    }
    if (this.status === "closed") this.ws = null;
  }

  setStatus(status, detail = {}) {
    if (this.status === status && status !== "reconnecting") return;
    this.status = status;
    for (const handler of this.statusHandlers) handler(status, detail);
  }

  emit(type, message) {
    const set = this.handlers.get(type);
    if (!set) return;
    for (const handler of [...set]) {
      try {
        handler(message);
      } catch (error) {
        console.error(`signalling: handler for ${type} failed`, error);
      }
    }
  }
}

/**
 * Show the connection status in an element (usually role="status"). `strings` holds the page's
 * translated texts: reconnecting, connecting, fatal4401, fatal4404.
 */
/**
 * Tie a page's socket to the page's life: closed when the page goes away for good, and a page
 * restored from the back/forward cache reloads (its socket and peer connections are gone).
 * Returns the server's last `error` messages, kept for tests and support (never shown: the state
 * tells the page what to do).
 */
export function followPage(client, keep = 50) {
  window.addEventListener("pagehide", (event) => {
    if (!event.persisted) client.close();
  });
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) window.location.reload();
  });
  const errors = [];
  client.on("error", (m) => {
    errors.push({ code: m.code, message: m.message });
    if (errors.length > keep) errors.shift();
  });
  return errors;
}

export function bindConnectionStatus(client, element, strings) {
  const update = (status, detail = {}) => {
    element.dataset.connection = status;
    let text = "";
    if (status === "connecting" && client.welcomes === 0) text = strings.connecting || "";
    if (status === "reconnecting") text = strings.reconnecting || "";
    if (status === "fatal") text = strings[`fatal${detail.code}`] || strings.fatal || "";
    // The live region stays in the page (an empty one takes no space, see app.css) so that
    // screen readers announce the text as soon as it appears.
    if (element.textContent !== text) element.textContent = text;
  };
  client.onStatus(update);
  update(client.status);
}
