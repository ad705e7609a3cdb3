// The official's desk /balie: today's appointments and the live waiting room, re-rendered from
// every `queue` message on /ws/desk. "Toelaten" stays a real form POST (CSRF field included).

import { SignallingClient, bindConnectionStatus, followPage } from "./signalling.js";
import { bindDeskMessages } from "./desk-messages.js";

const root = document.querySelector("[data-desk]");
const msg = root.dataset;
const $ = (selector) => root.querySelector(selector);
const ACTIVE = new Set(["booked", "waiting", "in_call"]);
const SOUND_KEY = "balie.desk.sound";
const NEW_FOR_MS = 60000;

const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content || "";
const clock = new Intl.DateTimeFormat(msg.locale === "en" ? "en-GB" : "nl-NL", {
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
  timeZone: msg.timezone || "Europe/Amsterdam",
});
const baseTitle = document.title.replace(/^\(\d+\)\s*/, "");
const client = new SignallingClient("/ws/desk");
const messages = bindDeskMessages(client, document.querySelector("[data-desk-messages]"));

let lastQueue = null;
let known = null; // waiting participants seen before: null until the first queue
const newSince = new Map(); // appointment id -> when it turned up, for the highlight

// -- queue -> waiting list ---------------------------------------------------------------------

function serviceName(a) {
  return typeof a.service === "string" ? a.service : a.service?.name || "";
}

function formatClock(iso) {
  const date = iso ? new Date(iso) : null;
  return date && !Number.isNaN(date.getTime()) ? clock.format(date) : "";
}

/** Appointments with someone in the waiting room, longest waiting first; those whose pages all
 * closed (`present` false: they keep their place, but nobody is there now) after the others. */
function waitingOf(appointments) {
  const result = [];
  for (const a of appointments) {
    const people = (a.participants || []).filter((p) => p.state === "waiting");
    if (!people.length) continue;
    const times = people.map((p) => Date.parse(p.waiting_since)).filter((t) => !Number.isNaN(t));
    const there = people.filter((p) => p.present !== false);
    const gone = people.map((p) => Date.parse(p.gone_since)).filter((t) => !Number.isNaN(t));
    result.push({
      appointment: a,
      people,
      there,
      goneSince: there.length || !gone.length ? null : Math.max(...gone),
      since: times.length ? Math.min(...times) : null,
    });
  }
  const away = (entry) => (entry.there.length ? 0 : 1);
  return result.sort((x, y) => away(x) - away(y) || (x.since ?? Infinity) - (y.since ?? Infinity));
}

function sinceText(since) {
  if (since === null) return "";
  const minutes = Math.max(0, Math.floor((Date.now() - since) / 60000));
  return (msg.msgWaitingSince || "")
    .replace("{time}", clock.format(new Date(since)))
    .replace("{minutes}", String(minutes));
}

function field(element, name, text) {
  const target = element.querySelector(`[data-field="${name}"]`);
  if (target) target.textContent = text;
  return target;
}

/** A page that went less than the grace ago is "even weg" (its page is reconnecting, e.g. after a
 * node restart); after that, "niet meer verbonden sinds ...". `msg` is the live dataset, so the
 * grace (`data-away-grace-seconds`) is read each time. */
function isBriefly(goneSince) {
  const grace = Number(msg.awayGraceSeconds || "60") * 1000;
  return goneSince !== null && Date.now() - goneSince < grace;
}

function goneText(goneSince) {
  if (isBriefly(goneSince)) return msg.msgAway || "";
  return goneSince === null ? msg.msgGone || "" : (msg.msgGoneSince || "").replace("{time}", clock.format(new Date(goneSince)));
}

function renderWaiting(entries) {
  const template = $('template[data-template="waiting-item"]');
  const items = entries.map(({ appointment: a, people, there, goneSince, since }) => {
    const item = template.content.firstElementChild.cloneNode(true);
    const names = people.map((p) => p.name).join(", ") || a.citizen_name || "";
    const away = there.length === 0;
    item.dataset.appointmentId = a.id;
    item.dataset.since = since === null || away ? "" : String(since);
    item.classList.toggle("is-away", away);
    if (away) item.dataset.away = isBriefly(goneSince) ? "briefly" : "gone";
    item.dataset.goneSince = away && goneSince !== null ? String(goneSince) : "";
    field(item, "names", names);
    field(item, "service", serviceName(a));
    field(item, "start", formatClock(a.start));
    field(item, "reference", a.reference || "");
    field(item, "since", away ? goneText(goneSince) : sinceText(since));
    field(item, "admit-name", ` ${names}`);
    const identity = people.find((p) => p.identity)?.identity;
    const badge = field(item, "identity", identity ? identityText(identity) : "");
    if (badge) badge.hidden = !identity;
    const form = item.querySelector("form[data-admit-form]");
    form.action = `/balie/afspraken/${encodeURIComponent(a.id)}/toelaten`;
    form.querySelector('input[name="_csrf_token"]').value = csrfToken;
    const isNew = newSince.has(a.id);
    item.classList.toggle("is-new", isNew);
    item.querySelector('[data-field="new"]').hidden = !isNew;
    return item;
  });
  const list = $("[data-waiting-list]");
  // Keep keyboard focus on the same "Toelaten" button when the list is rebuilt.
  const focusedId = document.activeElement?.closest?.("[data-waiting-list] [data-appointment-id]")?.dataset
    .appointmentId;
  list.replaceChildren(...items);
  if (focusedId) list.querySelector(`[data-appointment-id="${CSS.escape(focusedId)}"] button`)?.focus();
  $("[data-waiting-empty]").hidden = items.length > 0;
  $("[data-waiting-count]").textContent = String(entries.filter((e) => e.there.length).length);
}

function renderAppointments(appointments) {
  const template = $('template[data-template="appointment-row"]');
  const rows = [...appointments]
    .sort((x, y) => Date.parse(x.start) - Date.parse(y.start))
    .map((a) => {
      const row = template.content.firstElementChild.cloneNode(true);
      row.dataset.appointmentId = a.id;
      row.dataset.status = a.status;
      field(row, "start", formatClock(a.start));
      field(row, "name", a.citizen_name || "");
      if (a.created_by) {
        const by = field(row, "created-by", root.dataset.msgCreatedBy.replace("{name}", a.created_by));
        by.hidden = false;
      }
      field(row, "service", serviceName(a));
      field(row, "reference", a.reference || "");
      const badge = field(row, "status", statusLabel(a.status));
      badge.classList.add(`badge--${a.status}`);
      const link = row.querySelector('[data-field="call-link"]');
      const invite = row.querySelector('[data-field="invite-link"]');
      if (ACTIVE.has(a.status)) {
        link.href = `/balie/afspraken/${encodeURIComponent(a.id)}/gesprek`;
        field(row, "link-name", ` ${a.citizen_name || ""}`);
        invite.href = `/balie/afspraken/${encodeURIComponent(a.id)}/uitnodigen`;
        field(row, "invite-name", ` ${(msg.msgInviteFor || "").replace("{name}", a.citizen_name || "")}`);
      } else {
        link.remove();
        invite.remove();
      }
      return row;
    });
  $("[data-appointment-list]").replaceChildren(...rows);
  $("[data-appointments-empty]").hidden = rows.length > 0;
}

/** The DigiD badge: level, masked BSN and the time of identification. */
function identityText(identity) {
  const level = root.getAttribute(`data-level-${identity.level}`) || identity.level;
  const parts = [level];
  if (identity.bsn_masked) parts.push(`${msg.msgBsn} ${identity.bsn_masked}`);
  if (identity.representative_masked) parts.push((msg.msgRepresentative || "").replace("{id}", identity.representative_masked));
  if (identity.verified_at) parts.push(formatClock(identity.verified_at));
  return parts.join(" · ");
}

function statusLabel(status) {
  // Read the attribute itself: dataset would turn data-status-in_call into "statusIn_call".
  return root.getAttribute(`data-status-${status}`) || status;
}

function onQueue(message) {
  const appointments = Array.isArray(message.appointments) ? message.appointments : [];
  lastQueue = appointments;
  const entries = waitingOf(appointments);
  const current = new Map();
  for (const { appointment, there } of entries) {
    // Only who is there: a citizen whose page closed and comes back is announced again.
    for (const p of there) current.set(`${p.id}@${p.waiting_since}`, { appointment, person: p });
  }
  const arrivals = known === null ? [] : [...current].filter(([key]) => !known.has(key)).map(([, v]) => v);
  known = new Set(current.keys());
  const now = Date.now();
  for (const { appointment } of arrivals) newSince.set(appointment.id, now);
  for (const id of [...newSince.keys()]) {
    if (!entries.some((e) => e.appointment.id === id)) newSince.delete(id);
  }
  renderWaiting(entries);
  renderAppointments(appointments);
  updateTitle(current.size);
  if (arrivals.length) {
    beep();
    const names = arrivals.map((a) => a.person.name).join(", ");
    $("[data-desk-announce]").textContent = (msg.msgArrived || "").replace("{name}", names);
  }
}

function updateTitle(count) {
  document.title = count > 0 ? `(${count}) ${baseTitle}` : baseTitle;
}

/** Every 30 s: the minutes waited, and the end of the "new" highlight. */
function tick() {
  const now = Date.now();
  for (const [id, since] of newSince) if (now - since > NEW_FOR_MS) newSince.delete(id);
  for (const item of root.querySelectorAll("[data-waiting-list] [data-appointment-id]")) {
    const since = item.dataset.since ? Number(item.dataset.since) : null;
    const target = item.querySelector('[data-field="since"]');
    if (target && since !== null) target.textContent = sinceText(since);
    if (item.dataset.away === "briefly") {
      const gone = item.dataset.goneSince ? Number(item.dataset.goneSince) : null;
      if (!isBriefly(gone)) {
        item.dataset.away = "gone";
        if (target) target.textContent = goneText(gone);
      }
    }
    const isNew = newSince.has(item.dataset.appointmentId);
    item.classList.toggle("is-new", isNew);
    const badge = item.querySelector('[data-field="new"]');
    if (badge) badge.hidden = !isNew;
  }
}

// -- sound -------------------------------------------------------------------------------------

const soundButton = $('[data-action="toggle-sound"]');
let soundOn = localStorage.getItem(SOUND_KEY) === "on";
let audio = null;

function audioContext() {
  const AudioContextImpl = window.AudioContext || window.webkitAudioContext;
  if (!audio && AudioContextImpl) audio = new AudioContextImpl();
  if (audio && audio.state === "suspended") audio.resume().catch(() => {});
  return audio;
}

/** Two short tones made with an oscillator: no audio file to load. */
function beep() {
  if (!soundOn) return;
  const ctx = audioContext();
  if (!ctx) return;
  const start = ctx.currentTime + 0.01;
  [880, 660].forEach((frequency, i) => {
    const t = start + i * 0.2;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.25, t + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.16);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t);
    osc.stop(t + 0.18);
  });
}

function renderSound() {
  soundButton.setAttribute("aria-pressed", soundOn ? "true" : "false");
}

soundButton.addEventListener("click", () => {
  soundOn = !soundOn;
  try {
    localStorage.setItem(SOUND_KEY, soundOn ? "on" : "off");
  } catch {
    /* not remembered */
  }
  renderSound();
  if (soundOn) beep(); // a click is the gesture browsers want; the beep confirms it works
});
if (soundOn) {
  // Chosen earlier: browsers still want one click or key press on this page before playing sound.
  const unlock = () => audioContext();
  document.addEventListener("pointerdown", unlock, { once: true });
  document.addEventListener("keydown", unlock, { once: true });
}
renderSound();

// -- start -------------------------------------------------------------------------------------

// The server rendered the waiting list without times; fill them in from the first queue.
client.on("queue", onQueue);
bindConnectionStatus(client, $("[data-connection-status]"), {
  connecting: "",
  reconnecting: msg.msgReconnecting,
  fatal4401: msg.msgFatal4401,
  fatal4403: msg.msgFatal4403,
  fatal: msg.msgFatal,
});
setInterval(tick, 30000);
updateTitle(root.querySelectorAll("[data-waiting-list] [data-appointment-id]").length);

const errors = followPage(client);

window.__balie = Object.freeze({
  role: "desk",
  get connection() {
    return client.status;
  },
  get waitingCount() {
    return root.querySelectorAll("[data-waiting-list] [data-appointment-id]:not([data-away])").length;
  },
  get awayCount() {
    return root.querySelectorAll("[data-waiting-list] [data-appointment-id][data-away]").length;
  },
  /** The 30-second refresh, now (tests: the "even weg" grace running out). */
  tick,
  get soundOn() {
    return soundOn;
  },
  queue: () => lastQueue,
  errors: () => errors.slice(),
  messages: () => (messages ? messages.lines.slice() : []),
  beep,
});

client.start();
