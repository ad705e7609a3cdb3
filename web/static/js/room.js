// The citizen's page /j/{token}/wachtkamer: camera check -> waiting room -> call -> ended.
// The server owns the participant's state (docs/signalling.md); this page only shows it, so a
// reload or a dropped network always lands in the right step.

import { SignallingClient, bindConnectionStatus, followPage } from "./signalling.js";
import { Call, bindControls, installDebug } from "./call.js";
import { DeviceCheck } from "./device-check.js";
import { mountDocuments } from "./documents.js";
import { mountPayments } from "./payments.js";
import { ChatPanel } from "./chat.js";
import { NetworkCheck } from "./network-check.js";

const root = document.querySelector("[data-room]");
const msg = root.dataset;
const $ = (selector) => root.querySelector(selector);

const client = new SignallingClient("/ws/citizen", { hello: { token: msg.token } });
const documents = mountDocuments(client);
mountPayments(client);
const enterButton = $('[data-action="enter"]');
const continueButton = $('[data-action="continue-without"]');
const check = new DeviceCheck($("[data-device-check]"), {
  onTrackChange: (kind, track) => call?.replaceLocalTrack(kind, track),
  onResult: () => updateEnter(),
});

let state = null;
let you = null;
let iceServers = [];
let welcomePeers = [];
let call = null;
let media = null; // Promise of the local stream, once asked for
let joinedOnSocket = -1; // client.welcomes when we last sent join-call
let everJoined = false; // join-call sent at least once by this page
let hungUp = false;
let elsewhere = false; // this participant opened the call on another page: this one stands aside
let networkTested = false;
let continuedWithout = false; // the citizen chose to go on without a camera (or microphone)

const deskMessages = new ChatPanel($('[data-chat][data-scope="desk"]'), client, { selfId: () => you?.id });
const callChat = new ChatPanel($('[data-chat][data-scope="call"]'), client, { selfId: () => you?.id });
const network = new NetworkCheck($("[data-network-check]"), {
  getStream: () => ensureMedia(),
  deviceProblem: () => check.problem,
});

// -- views -------------------------------------------------------------------------------------

function show(view) {
  if (root.dataset.currentView === view) return;
  if (view === "call") clearWaitingNotices();
  root.dataset.currentView = view;
  for (const section of root.querySelectorAll("[data-view]")) section.hidden = section.dataset.view !== view;
  // Move focus to the new step's heading so keyboard and screen reader users land there.
  root.querySelector(`[data-view="${view}"] h1`)?.focus({ preventScroll: false });
}

/**
 * The call starts: what the waiting room said about earlier steps (a file shared, a file too large)
 * should not stay on screen in the call. The documents panel, shown in both, drops the notices the
 * citizen has had time to read; it keeps an upload still on its way and a notice that only just
 * appeared (or came while the page was out of sight), so nothing unread about the documents for
 * this call is lost. A DigiD request from the official concerns the call and stays.
 */
function clearWaitingNotices() {
  documents?.clearSeenNotices();
}

// -- the way into the waiting room: only once the camera and microphone were found ---------------

/**
 * "Naar de wachtkamer" waits for the device check: enabled once it found a camera and a microphone,
 * or once the citizen chose "Toch doorgaan zonder camera" (offered when the check ended without them).
 */
function updateEnter() {
  const result = check.root.dataset.result;
  const searching = !result || result === "checking";
  const ready = check.found || continuedWithout;
  enterButton.disabled = !ready;
  continueButton.hidden = ready || searching;
  if (!continueButton.hidden) {
    const stream = check.stream;
    const hasVideo = !!stream && stream.getVideoTracks().length > 0;
    const hasAudio = !!stream && stream.getAudioTracks().length > 0;
    let label = msg.msgContinueWithoutBoth;
    if (hasAudio && !hasVideo) label = msg.msgContinueWithoutCamera;
    else if (hasVideo && !hasAudio) label = msg.msgContinueWithoutMicrophone;
    setText(continueButton, label);
  }
  setText($("[data-enter-status]"), !ready && searching ? msg.msgSearchingDevices : "");
}

function setText(element, text) {
  if (element && element.textContent !== text) element.textContent = text;
}

function fill(template, name) {
  return (template || "").replace("{name}", name);
}

function ensureMedia() {
  if (!media) media = check.start();
  return media.then((stream) => {
    attachSelfViews(check.stream || stream);
    return check.stream || stream;
  });
}

function attachSelfViews(stream) {
  const hasVideo = !!stream && stream.getVideoTracks().length > 0;
  for (const video of root.querySelectorAll("video[data-waiting-preview], video[data-self-video]")) {
    if (video.srcObject !== stream) video.srcObject = hasVideo ? stream : null;
    video.play?.().catch(() => {});
  }
  for (const view of root.querySelectorAll("[data-self-view]")) {
    if (!hasVideo) view.dataset.cameraOff = "true";
  }
}

// -- states ------------------------------------------------------------------------------------

function applyState(next) {
  if (elsewhere && next !== "ended") return;
  state = next;
  root.dataset.state = next;
  callChat.setEnabled(next === "in_call");
  switch (next) {
    case "invited":
    case "left":
      if (hungUp || call) {
        leaveCall();
        show("left");
      } else {
        show("check");
        ensureMedia().then(() => {
          // Once per page: the connection test takes one of the server's few echo seats.
          if (!networkTested && state !== "waiting") network.run();
          networkTested = true;
        });
      }
      break;
    case "waiting":
      show("waiting");
      setText($("[data-room-status]"), msg.msgWaiting);
      ensureMedia().then(() => check.stopMeter());
      break;
    case "admitted":
    case "in_call":
      startCall();
      break;
    case "ended":
      end();
      break;
    default:
      break;
  }
}

async function startCall() {
  show("call");
  if (state === "admitted") setText($("[data-call-status]"), msg.msgAdmitted);
  const stream = await ensureMedia();
  check.stopMeter();
  if (state !== "admitted" && state !== "in_call") return; // the state moved on while we waited
  if (!call) {
    call = new Call({
      client,
      self: you,
      iceServers,
      localStream: stream,
      grid: $("[data-remote-grid]"),
      unmuteButton: $('[data-action="unmute-remote"]'),
      strings: {
        connecting: msg.msgTileConnecting,
        reconnecting: msg.msgTileReconnecting,
        unknownPeer: msg.msgUnknownPeer,
      },
      onChange: updateCallStatus,
    });
    controls.update(stream);
  }
  // Once per socket: after a network hiccup the same page sends it again to announce itself (the
  // others then get `peer-reconnected`); the `state` answer must not trigger another one.
  if (joinedOnSocket !== client.welcomes) {
    if (!everJoined) call.reset(); // the first join-call of a page promises fresh connections
    if (!client.send({ type: "join-call" })) return; // offline: the next welcome tries again
    joinedOnSocket = client.welcomes;
    everJoined = true;
    for (const peer of welcomePeers) call.ensurePeer(peer);
  }
  updateCallStatus();
}

function updateCallStatus() {
  if (!call) return;
  const peers = call.snapshot();
  const names = (list) => list.map((p) => p.name || msg.msgUnknownPeer).join(", ");
  const connected = peers.filter((p) => p.connectionState === "connected");
  const broken = peers.filter((p) => p.connectionState === "failed" || p.connectionState === "disconnected");
  let text;
  if (broken.length) text = fill(msg.msgPeerAway, names(broken));
  else if (connected.length) text = fill(msg.msgInCall, names(connected));
  else if (peers.length) text = fill(msg.msgConnectingTo, names(peers));
  else text = state === "admitted" ? msg.msgAdmitted : msg.msgWaitingForOfficial;
  setText($("[data-call-status]"), text);
}

function leaveCall() {
  if (call) call.hangUp();
  call = null;
  joinedOnSocket = -1;
  everJoined = false;
  check.stop();
  media = null;
}

function hangUp() {
  hungUp = true;
  client.send({ type: "leave" });
  leaveCall();
  show("left");
}

function end() {
  leaveCall();
  client.close();
  show("ended");
}

/**
 * Our own peer id joined the call from another page (tab or device). Two pages with one peer id
 * would fight over the same connections, so this one stops.
 */
function standAside() {
  elsewhere = true;
  leaveCall();
  client.close(); // the server sends no peer-left for a socket its peer has replaced
  show("elsewhere");
}

function fatal(code) {
  leaveCall();
  setText($("[data-fatal-text]"), msg[`msgFatal${code}`] || msg.msgFatal);
  show("fatal");
}

// -- controls ----------------------------------------------------------------------------------

const controls = bindControls($('[data-view="call"]'), {
  getCall: () => call,
  getStream: () => check.stream,
  onHangUp: hangUp,
  announce: (text) => setText($("[data-call-status]"), text || ""),
});

continueButton.addEventListener("click", () => {
  continuedWithout = true;
  updateEnter();
  enterButton.focus();
});

enterButton.addEventListener("click", () => {
  if (!client.send({ type: "enter" })) setText($("[data-connection-status]"), msg.msgOffline);
});

$('[data-action="rejoin"]').addEventListener("click", () => window.location.reload());
$('[data-action="take-over"]').addEventListener("click", () => window.location.reload());

// -- signalling --------------------------------------------------------------------------------

bindConnectionStatus(client, $("[data-connection-status]"), {
  connecting: "",
  reconnecting: msg.msgReconnecting,
  fatal4401: msg.msgFatal4401,
  fatal4404: msg.msgFatal4404,
  fatal: msg.msgFatal,
});

client.onStatus((status, detail) => {
  if (status === "fatal") fatal(detail.code);
});

client.on("welcome", (m) => {
  if (elsewhere) return;
  you = m.you;
  iceServers = m.ice_servers || [];
  welcomePeers = m.peers || [];
  if (call) {
    call.setIceServers(iceServers);
    // Same page back after a network hiccup: keep the connections, mend the broken ones.
    call.signallingRestored();
  }
  applyState(m.state);
});

client.on("state", (m) => applyState(m.state));
client.on("ice-servers", (m) => {
  // TURN credentials arrive on admission and are renewed during a long call.
  iceServers = m.ice_servers || [];
  call?.setIceServers(iceServers);
});
client.on("ended", () => applyState("ended"));
client.on("peer-joined", (m) => {
  if (you && m.peer && String(m.peer.id) === String(you.id)) standAside();
  else call?.peerJoined(m.peer, m.page);
});
client.on("peer-reconnected", (m) => call?.peerReconnected(m.peer, m.page));
client.on("peer-left", (m) => call?.peerLeft(m.peer_id, m.reason));
client.on("signal", (m) => call?.handleSignal(m.from, m.data, undefined, m.page));


const errors = followPage(client);

installDebug({
  role: "citizen",
  get state() {
    return state;
  },
  get view() {
    return root.dataset.currentView;
  },
  get connection() {
    return client.status;
  },
  get welcomes() {
    return client.welcomes;
  },
  reconnects: () => client.reconnects.map((r) => ({ ...r })),
  get session() {
    return client.session;
  },
  get you() {
    return you;
  },
  get mediaProblem() {
    return check.problem;
  },
  peers: () => (call ? call.snapshot() : []),
  events: () => (call ? call.events.slice() : []),
  errors: () => errors.slice(),
  chat: () => [...deskMessages.lines, ...callChat.lines],
  network: () => ({ ...network.result }),
});

client.start();

