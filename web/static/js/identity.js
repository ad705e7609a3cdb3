// DigiD during the call, on both sides; follows the page's signalling socket through the
// "balie:signalling" DOM events that signalling.js dispatches, so the call modules stay untouched.
// Citizen: an `identify` message shows "Identificeer u nu met DigiD" (a link: the page goes to
// DigiD and comes back to the call). Official: "Vraag om DigiD" posts in the
// background (the call goes on), and an `identity` message reloads the panel with the new badge.

const request = document.querySelector("[data-identify-request]");
const panel = document.querySelector("[data-identity-panel]");

document.addEventListener("balie:signalling", (event) => {
  const message = event.detail || {};
  if (message.type === "identify" && request) {
    request.hidden = false;
    request.querySelector("[data-action=identify]")?.focus({ preventScroll: false });
  }
  if (message.type === "identity" && panel) refreshPanel();
});

async function refreshPanel() {
  const current = document.querySelector("[data-identity-panel]");
  const response = await fetch(current.dataset.refreshUrl, { credentials: "same-origin" });
  if (!response.ok) return;
  const template = document.createElement("template");
  template.innerHTML = (await response.text()).trim();
  const fresh = template.content.querySelector("[data-identity-panel]");
  if (fresh) current.replaceWith(fresh);
}

document.addEventListener("submit", async (event) => {
  const form = event.target.closest?.("[data-identity-panel] form[data-ask-identity]");
  if (!form) return;
  event.preventDefault(); // stay in the call: a page load would drop the connection
  const status = document.querySelector("[data-identity-panel] [data-identity-status]");
  const texts = document.querySelector("[data-identity-panel]").dataset;
  try {
    const response = await fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      headers: { accept: "application/json" },
      credentials: "same-origin",
    });
    if (!response.ok) throw new Error(String(response.status));
    await refreshPanel();
    const after = document.querySelector("[data-identity-panel] [data-identity-status]");
    if (after) after.textContent = texts.msgAsked || "";
  } catch {
    if (status) status.textContent = texts.msgFailed || "";
  }
});
