// The official's call page: who has a link to this appointment (the `participants` message on the
// call socket), "Toelaten" for each one who waits, withdrawing an invitation, and inviting a partner
// or an interpreter. The buttons post the desk's own forms with fetch (CSRF header included) and
// `Accept: application/json`, so the call goes on while they run.

const ACTIVE_STATES = new Set(["admitted", "in_call"]);

function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content || "";
}

/** POST a form like the browser would, but ask for JSON. Resolves {ok, status, body}. */
export async function postJSON(url, fields) {
  const body = new URLSearchParams(fields);
  body.set("_csrf_token", csrfToken());
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
      body,
      credentials: "same-origin",
    });
  } catch {
    return { ok: false, status: 0, body: null };
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    /* not JSON: treated as a failure below */
  }
  return { ok: response.ok, status: response.status, body: data };
}

export class CallPeople {
  /**
   * @param {HTMLElement} root `[data-call-people]`
   * @param {import("./signalling.js").SignallingClient} client the call socket
   */
  constructor(root, client) {
    this.root = root;
    this.msg = root.dataset;
    this.base = `/balie/afspraken/${encodeURIComponent(root.dataset.appointmentId)}`;
    this.list = root.querySelector("[data-people-list]");
    this.template = root.querySelector('template[data-template="person"]');
    this.capacity = root.querySelector("[data-people-capacity]");
    this.status = root.querySelector("[data-people-status]");
    this.form = root.querySelector("form[data-invite-form]");
    this.people = [];
    this.seats = 0;
    client.on("participants", (m) => this.render(m.participants || [], Number(m.capacity) || 0));
    this.form?.addEventListener("submit", (event) => {
      event.preventDefault();
      this.invite();
    });
  }

  label(kind, value) {
    // Read the attribute itself: dataset would turn data-state-in_call into "stateIn_call".
    return this.root.getAttribute(`data-${kind}-${value}`) || value;
  }

  render(people, seats) {
    this.people = people;
    this.seats = seats;
    const focused = document.activeElement?.closest?.("[data-participant-id]")?.dataset.participantId;
    const items = people.map((person) => {
      const item = this.template.content.firstElementChild.cloneNode(true);
      item.dataset.participantId = person.id;
      item.dataset.state = person.state;
      item.querySelector('[data-field="name"]').textContent = person.name;
      item.querySelector('[data-field="role"]').textContent = this.label("role", person.role);
      const badge = item.querySelector('[data-field="state"]');
      badge.textContent = this.label("state", person.state);
      badge.classList.add(`badge--${person.state}`);
      const admit = item.querySelector('[data-action="admit-one"]');
      admit.hidden = person.state !== "waiting";
      admit.addEventListener("click", () => this.admit(person, admit));
      const revoke = item.querySelector('[data-action="revoke"]');
      revoke.hidden = person.role === "citizen";
      revoke.addEventListener("click", () => this.revoke(person, revoke));
      for (const hidden of item.querySelectorAll("[data-field=who]")) hidden.textContent = ` ${person.name}`;
      return item;
    });
    this.list.replaceChildren(...items);
    if (focused) this.list.querySelector(`[data-participant-id="${CSS.escape(focused)}"] button:not([hidden])`)?.focus();
    const inCall = people.filter((p) => ACTIVE_STATES.has(p.state)).length + 1; // + the official
    if (this.capacity) {
      this.capacity.textContent = (this.msg.msgCapacity || "")
        .replace("{count}", String(inCall))
        .replace("{seats}", String(seats));
    }
    const full = people.length + 1 >= seats;
    if (this.form) {
      this.form.hidden = full;
      this.root.querySelector("[data-invite-full]")?.toggleAttribute("hidden", !full);
    }
    const waiting = people.filter((p) => p.state === "waiting").length;
    this.root.dataset.waiting = String(waiting);
  }

  say(text, isError = false) {
    if (!this.status) return;
    this.status.textContent = text || "";
    this.status.hidden = !text;
    this.status.classList.toggle("notice--error", isError);
  }

  async admit(person, button) {
    button.disabled = true;
    const result = await postJSON(`${this.base}/toelaten`, { participant_id: person.id });
    button.disabled = false;
    if (result.ok) this.say(fill(this.msg.msgAdmitted, person.name));
    else this.say(result.body?.title || this.msg.msgFailed, true);
  }

  async revoke(person, button) {
    // Two clicks, not window.confirm(): a modal dialog would stop this page's JavaScript (and its
    // heartbeats) for as long as it stays open, in the middle of a call.
    if (button.dataset.confirming !== "true") {
      button.dataset.confirming = "true";
      button.textContent = fill(this.msg.msgConfirmRevoke, person.name);
      setTimeout(() => {
        if (!button.isConnected) return;
        button.dataset.confirming = "false";
        button.textContent = this.msg.msgRevokeLabel || button.textContent;
      }, 5000);
      return;
    }
    button.disabled = true;
    const result = await postJSON(`${this.base}/deelnemers/${encodeURIComponent(person.id)}/intrekken`, {});
    button.disabled = false;
    if (result.ok) this.say(fill(this.msg.msgRevoked, person.name));
    else this.say(result.body?.title || this.msg.msgFailed, true);
  }

  async invite() {
    const form = this.form;
    const fields = Object.fromEntries(new FormData(form));
    for (const element of form.querySelectorAll("[data-error-for]")) {
      element.hidden = true;
      element.textContent = "";
      element.closest(".form-field")?.classList.remove("form-field--invalid");
    }
    const button = form.querySelector('[data-action="invite"]');
    button.disabled = true;
    const result = await postJSON(form.action, fields);
    button.disabled = false;
    const status = form.querySelector("[data-invite-status]");
    if (result.ok) {
      status.textContent = (form.dataset.msgSent || "").replace("{email}", fields.email || "");
      status.classList.remove("notice--error");
      form.reset();
    } else {
      const errors = result.body?.errors || {};
      for (const [name, text] of Object.entries(errors)) {
        const target = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
        if (!target) continue;
        target.textContent = text;
        target.hidden = false;
        target.closest(".form-field")?.classList.add("form-field--invalid");
      }
      status.textContent = result.body?.title || form.dataset.msgFailed || "";
      status.classList.add("notice--error");
      form.querySelector(".form-field--invalid input")?.focus();
    }
    status.hidden = false;
  }
}

function fill(template, name) {
  return (template || "").replace("{name}", name);
}
