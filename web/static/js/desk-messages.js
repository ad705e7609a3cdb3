// The desk's messages to the waiting room ("Ik ben 5 minuten later"): a chat line over /ws/desk
// for one appointment. The server delivers it to that appointment's people who are not in the call
// yet; nothing is stored. The list of whom to write to follows every `queue` message.

import { ChatPanel } from "./chat.js";

const WAITING = new Set(["waiting", "admitted"]);

/** Appointments with someone waiting for the official: [{id, names}]. */
export function recipientsOf(appointments) {
  const result = [];
  for (const a of appointments || []) {
    const people = (a.participants || []).filter((p) => WAITING.has(p.state));
    if (people.length) result.push({ id: a.id, names: people.map((p) => p.name).join(", ") });
  }
  return result;
}

/**
 * @param {import("./signalling.js").SignallingClient} client the desk socket
 * @param {HTMLElement|null} root `[data-desk-messages]`
 */
export function bindDeskMessages(client, root) {
  if (!root) return null;
  const select = root.querySelector("select[data-message-to]");
  const empty = root.querySelector("[data-desk-messages-empty]");
  const names = new Map();
  let selfId = null;

  const panel = new ChatPanel(root, client, {
    selfId: () => selfId,
    accepts: (m) => m.scope === "desk",
    outgoing: (text) => (select.value ? { type: "chat", text, appointment_id: select.value } : null),
    addressee: (m) => (names.has(m.appointment_id) ? (root.dataset.msgTo || "").replace("{name}", names.get(m.appointment_id)) : ""),
  });

  client.on("welcome", (m) => {
    selfId = m.you ? m.you.id : null;
  });
  client.on("queue", (m) => {
    const recipients = recipientsOf(m.appointments);
    const chosen = select.value;
    for (const r of recipients) names.set(r.id, r.names);
    select.replaceChildren(
      ...recipients.map((r) => {
        const option = document.createElement("option");
        option.value = r.id;
        option.textContent = r.names;
        option.selected = r.id === chosen;
        return option;
      }),
    );
    empty.hidden = recipients.length > 0;
    panel.setEnabled(recipients.length > 0);
  });
  panel.setEnabled(false);
  return panel;
}
