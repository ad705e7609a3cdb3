"""The pages' reconnect logic (web/static/js/signalling.js) under Node, with a fake WebSocket and
fake timers: a socket closed with 4503 (the node restarts) comes back after a short random wait
with its backoff reset, and keeps to short waits while the node is still away; any other drop backs
off as before. The same in Chromium against a restarted server: tests/e2e/test_browser_restart.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from backend.settings import WEB_DIR

SCRIPT = """
const delays = [];
globalThis.window = {
  addEventListener() {}, removeEventListener() {}, location: { protocol: "http:", host: "x" },
};
globalThis.document = { dispatchEvent() {} };
globalThis.CustomEvent = class { constructor(type, init) { this.type = type; this.detail = init?.detail; } };
globalThis.setTimeout = (fn, ms) => { delays.push(ms); return delays.length; };
globalThis.clearTimeout = () => {};
globalThis.setInterval = () => 1;
globalThis.clearInterval = () => {};
const sockets = [];
class FakeSocket {
  constructor(url) { this.url = url; this.readyState = 1; sockets.push(this); }
  send() {}
  close() {}
}

const { SignallingClient } = await import(process.argv[1]);
const client = new SignallingClient("/ws/citizen", { WebSocketImpl: FakeSocket });
const last = () => sockets[sockets.length - 1];
const welcome = () => {
  last().onopen();
  last().onmessage({ data: JSON.stringify({ type: "welcome", heartbeat_seconds: 20 }) });
};
const drop = (code) => { last().onclose({ code, reason: "" }); client.connect(); };
const seen = [];
const note = (step) => seen.push({ step, attempt: client.attempt, ...client.reconnects.at(-1) });

client.start();
welcome();
for (let i = 0; i < 5; i++) { drop(1006); note("network"); }  // a long network outage: backoff grows
welcome();
drop(4503); note("restarting");
for (let i = 0; i < 5; i++) { drop(1006); note("still away"); }  // the node is not back yet
welcome();
drop(1006); note("after");
console.log(JSON.stringify(seen));
"""


def run_script() -> list[dict[str, object]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is missing (tests/run.sh installs nodejs)")
    module = (WEB_DIR / "static" / "js" / "signalling.js").as_uri()
    done = subprocess.run(
        [node, "--input-type=module", "-e", SCRIPT, module],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    steps: list[dict[str, object]] = json.loads(done.stdout)
    return steps


def test_a_restarting_node_is_reconnected_to_at_once_and_the_backoff_starts_over() -> None:
    steps = run_script()
    network = [s for s in steps if s["step"] == "network"]
    assert [s["attempt"] for s in network] == [1, 2, 3, 4, 5]
    assert int(str(network[-1]["delayMs"])) >= 4000  # grown: the fifth try waits 4 to 8 s

    restarting, *still_away = (s for s in steps if s["step"] in ("restarting", "still away"))
    assert (restarting["code"], restarting["restart"], restarting["attempt"]) == (4503, True, 0)
    for step in (restarting, *still_away):
        assert step["restart"] and 200 <= int(str(step["delayMs"])) <= 1500, step
        assert step["attempt"] == 0  # the backoff does not grow while the node restarts

    (after,) = (s for s in steps if s["step"] == "after")  # back online: the usual backoff again
    assert (after["code"], after["restart"], after["attempt"]) == (1006, False, 1)
    assert after["delayMs"] == 500  # the first step of the backoff
