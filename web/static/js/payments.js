// The payments panel of the call (web/templates/partials/payments.html).
//
// The official asks for a fee; the citizen pays it with iDEAL in a new tab (the call goes on) and
// both pages follow its status live through the signalling socket (`payment` events,
// docs/signalling.md). The server decides everything; this page asks and shows the answer.

const JSON_HEADERS = { Accept: "application/json" };
const WAITING = new Set(["open", "pending", "authorized"]);

export function mountPayments(client, root = document.querySelector("[data-payments]")) {
  if (!root) return null;
  const panel = new PaymentsPanel(root, client);
  panel.start();
  return panel;
}

function fill(template, values) {
  return (template || "").replace(/\{(\w+)\}/g, (match, key) => (key in values ? String(values[key]) : match));
}

export class PaymentsPanel {
  constructor(root, client) {
    this.root = root;
    this.client = client;
    this.msg = root.dataset;
    this.base = root.dataset.baseUrl;
    this.official = root.dataset.role === "official";
    this.views = (root.dataset.views || "").split(/\s+/).filter(Boolean);
    this.viewHolder = root.closest("[data-current-view]") || document.querySelector("[data-current-view]");
    this.lang = document.documentElement.lang || "nl";
    this.money = new Intl.NumberFormat(this.lang === "en" ? "en-GB" : "nl-NL", { style: "currency", currency: "EUR" });
    this.payments = new Map();
    this.fees = [];
    this.canRefund = false;
    this.confirming = null;
    this.$ = (selector) => root.querySelector(selector);
  }

  start() {
    this.client.on("welcome", () => this.refresh());
    this.client.on("payment", (m) => this.onEvent(m.payment));
    this.$("[data-payments-list]").addEventListener("click", (event) => this.onListClick(event));
    const form = this.$("[data-payments-form]");
    if (form) {
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        this.ask();
      });
      this.$("[data-payments-fee]").addEventListener("change", () => this.showAmountField());
    }
    if (this.viewHolder) {
      new MutationObserver(() => this.updateVisibility()).observe(this.viewHolder, {
        attributes: true,
        attributeFilter: ["data-current-view"],
      });
    }
    this.refresh();
  }

  amount(cents) {
    return this.money.format(cents / 100);
  }

  // -- talking to the server ---------------------------------------------------------------------

  async refresh() {
    let response;
    try {
      response = await fetch(`${this.base}/`, { headers: JSON_HEADERS, credentials: "same-origin" });
    } catch {
      return;
    }
    if (!response.ok) return;
    const body = await response.json();
    this.payments = new Map(body.payments.map((p) => [p.id, p]));
    if (this.official) {
      this.fees = body.fees || [];
      this.canRefund = Boolean(body.can_refund);
      this.renderForm();
    }
    this.render();
  }

  async post(url, form) {
    this.showError("");
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { ...JSON_HEADERS, "X-CSRFToken": this.msg.csrf },
        body: form || new URLSearchParams(),
      });
    } catch {
      this.showError(this.msg.msgOffline);
      return null;
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      this.showError(body.detail || body.title || this.msg.msgOffline);
      return null;
    }
    if (body.payment) this.onEvent(body.payment);
    return body.payment || null;
  }

  async ask() {
    const form = new URLSearchParams();
    const fee = this.$("[data-payments-fee]").value;
    form.set("fee", fee);
    form.set("amount", this.$("#payment-amount").value);
    const button = this.$('[data-payments-form] button[type="submit"]');
    button.disabled = true;
    try {
      await this.post(`${this.base}/`, form);
    } finally {
      button.disabled = false;
    }
  }

  onListClick(event) {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const id = button.dataset.id;
    const action = button.dataset.action;
    if (action === "refund" && this.confirming !== id) {
      this.confirming = id;
      this.render();
      return;
    }
    this.confirming = null;
    button.disabled = true;
    const path = { retry: "opnieuw", stop: "stoppen", refund: "terugbetalen" }[action];
    this.post(`${this.base}/${id}/${path}`).finally(() => this.render());
  }

  // -- showing -----------------------------------------------------------------------------------

  onEvent(payment) {
    const before = this.payments.get(payment.id);
    this.payments.set(payment.id, payment);
    const values = { amount: this.amount(payment.amount_cents), description: payment.description };
    if (!before && WAITING.has(payment.status)) this.showStatus(fill(this.msg.msgAsked, values));
    else if (before && before.status !== payment.status) {
      if (payment.status === "paid") this.showStatus(fill(this.msg.msgNowPaid, values));
      else if (payment.status === "failed") this.showStatus(fill(this.msg.msgNowFailed, values));
    }
    this.render();
  }

  statusText(payment) {
    if (payment.refund_status) return this.msg.msgRefunded;
    if (WAITING.has(payment.status)) return this.msg.msgOpen;
    return this.msg[`msg${payment.status[0].toUpperCase()}${payment.status.slice(1)}`] || payment.status;
  }

  render() {
    const list = this.$("[data-payments-list]");
    const retried = new Set([...this.payments.values()].map((p) => p.retry_of).filter(Boolean));
    list.replaceChildren(
      ...[...this.payments.values()].map((payment) => this.item(payment, retried.has(payment.id))),
    );
    this.updateVisibility();
  }

  item(payment, superseded) {
    const li = document.createElement("li");
    li.className = "payments__item";
    li.dataset.paymentId = payment.id;
    li.dataset.status = payment.refund_status ? "refunded" : payment.status;
    const values = { amount: this.amount(payment.amount_cents), description: payment.description };
    const what = document.createElement("p");
    what.textContent = `${payment.description}: ${values.amount}`;
    const status = document.createElement("p");
    status.className = "payments__status";
    status.dataset.paymentStatus = "";
    status.textContent = this.statusText(payment);
    li.append(what, status);
    if (!this.official && payment.status === "open") {
      const link = document.createElement("a");
      link.className = "button button--primary";
      link.href = `${this.base}/${payment.id}/betalen`;
      link.target = "_blank";
      link.rel = "noopener";
      link.dataset.pay = "";
      link.textContent = fill(this.msg.msgPay, values);
      const hint = document.createElement("p");
      hint.className = "muted";
      hint.textContent = this.msg.msgPayHint;
      li.append(link, hint);
    }
    if (payment.can_retry && !superseded) li.append(this.button(payment, "retry", this.msg.msgRetry));
    if (this.official && payment.status === "open") li.append(this.button(payment, "stop", this.msg.msgStop));
    if (this.official && this.canRefund && payment.status === "paid" && !payment.refund_status) {
      const label = this.confirming === payment.id ? fill(this.msg.msgConfirmRefund, values) : this.msg.msgRefund;
      li.append(this.button(payment, "refund", label));
    }
    return li;
  }

  button(payment, action, label) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = action === "retry" ? "button button--primary" : "button button--secondary";
    button.dataset.action = action;
    button.dataset.id = payment.id;
    button.textContent = label;
    return button;
  }

  renderForm() {
    const form = this.$("[data-payments-form]");
    const select = this.$("[data-payments-fee]");
    select.replaceChildren(
      ...this.fees.map((fee) => {
        const option = document.createElement("option");
        option.value = fee.id;
        option.textContent = fee.open ? fee.description : `${fee.description}: ${fee.amount}`;
        return option;
      }),
    );
    form.hidden = this.fees.length === 0;
    this.$("[data-payments-none]").hidden = this.fees.length > 0;
    this.showAmountField();
  }

  showAmountField() {
    const fee = this.fees.find((f) => f.id === this.$("[data-payments-fee]").value);
    const field = this.$("[data-payments-amount-field]");
    field.hidden = !fee?.open;
    if (fee?.open) {
      this.$("#payment-amount").value = fee.suggestion;
      this.$("[data-payments-bounds]").textContent = `${fee.min} – ${fee.max}`;
    }
  }

  updateVisibility() {
    const view = this.viewHolder?.dataset.currentView;
    const inView = !this.views.length || this.views.includes(view);
    const hasContent = this.official ? true : this.payments.size > 0;
    this.root.hidden = !(inView && hasContent);
  }

  showStatus(text) {
    const status = this.$("[data-payments-status]");
    status.textContent = text;
    status.hidden = !text;
  }

  showError(text) {
    const error = this.$("[data-payments-error]");
    error.textContent = text;
    error.hidden = !text;
  }
}
