// The official's call page /balie/afspraken/{id}/gesprek. The official is the impolite peer and
// offers to every citizen already in the call (welcome.peers) and to each one that joins later.

import { SignallingClient, bindConnectionStatus, followPage } from "./signalling.js";
import { Call, bindControls, installDebug } from "./call.js";
import { getLocalMedia, stopStream } from "./device-check.js";
import { mountDocuments } from "./documents.js";
import { mountPayments } from "./payments.js";
import { ChatPanel } from "./chat.js";
import { CallPeople } from "./call-people.js";
import { ScreenShare } from "./screen-share.js";

const root = document.querySelector("[data-desk-call]");
const msg = root.dataset;
const $ = (selector) => root.querySelector(selector);

const client = new SignallingClient(`/ws/call/${msg.appointmentId}`);
mountDocuments(client);
mountPayments(client);
let stream = null;
let call = null;
let you = null;
let elsewhere = false; // the same official opened this call in another tab: that one goes on

const chat = new ChatPanel($('[data-chat][data-scope="call"]'), client, { selfId: () => you?.id });
const people = new CallPeople($("[data-call-people]"), client);

function setText(element, text) {
  if (element && element.textContent !== text) element.textContent = text;
}

function fill(template, name) {
  return (template || "").replace("{name}", name);
}

function show(view) {
  if (root.dataset.currentView === view) return;
  root.dataset.currentView = view;
  for (const section of root.querySelectorAll("[data-view]")) section.hidden = section.dataset.view !== view;
  root.querySelector(`[data-view="${view}"] h2`)?.focus();
}

function problemText(problem) {
  const key = `msg${problem.charAt(0).toUpperCase()}${problem.slice(1)}`;
  return msg[key] || msg.msgOther;
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
  else text = fill(msg.msgWaitingFor, msg.citizenName);
  setText($("[data-call-status]"), text);
}

function stopEverything() {
  screen.stop();
  if (call) call.hangUp();
  call = null;
  stopStream(stream);
  stream = null;
  client.close();
}

/** Another tab of ours opened this call; two pages with one peer id would fight, so this one stops. */
function standAside() {
  elsewhere = true;
  stopEverything(); // the server sends no peer-left for a socket its peer has replaced
  show("elsewhere");
}

function hangUp() {
  stopEverything();
  show("outcome");
}

const controls = bindControls($('[data-view="call"]'), {
  getCall: () => call,
  getStream: () => stream,
  onHangUp: hangUp,
  announce: (text) => setText($("[data-call-status]"), text || ""),
});

const screen = new ScreenShare($('[data-action="share-screen"]'), {
  getCall: () => call,
  showSelf: (shared) => {
    // The self view shows what the others see: the screen while sharing, else the camera.
    const selfVideo = $("video[data-self-video]");
    selfVideo.srcObject = shared || (stream && stream.getVideoTracks().length ? stream : null);
    $("[data-self-view]").dataset.sharing = shared ? "true" : "false";
    selfVideo.play().catch(() => {});
  },
  announce: (text) => setText($("[data-call-status]"), text || ""),
});

$('[data-action="resume"]').addEventListener("click", () => window.location.reload());
$('[data-action="take-over"]').addEventListener("click", () => window.location.reload());

bindConnectionStatus(client, $("[data-connection-status]"), {
  connecting: "",
  reconnecting: msg.msgReconnecting,
  fatal4401: msg.msgFatal4401,
  fatal4403: msg.msgFatal4403,
  fatal4404: msg.msgFatal4404,
  fatal4409: msg.msgFatal4409,
  fatal: msg.msgFatal,
});

client.onStatus((status, detail) => {
  if (status !== "fatal") return;
  stopEverything();
  setText($("[data-fatal-text]"), msg[`msgFatal${detail.code}`] || msg.msgFatal);
  show("fatal");
});

client.on("welcome", (m) => {
  if (elsewhere) return;
  you = m.you;
  if (m.state === "ended") {
    stopEverything();
    show("ended");
    return;
  }
  const iceServers = m.ice_servers || [];
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
    if (screen.sharing) call.setOutgoingVideo(screen.stream.getVideoTracks()[0]);
    for (const peer of m.peers || []) call.ensurePeer(peer);
  } else {
    // Same page back after a network hiccup: keep what works, add who came in meanwhile.
    call.setIceServers(iceServers);
    for (const peer of m.peers || []) call.ensurePeer(peer);
    call.signallingRestored();
  }
  updateCallStatus();
});

client.on("peer-joined", (m) => {
  if (you && m.peer && String(m.peer.id) === String(you.id)) standAside();
  else call?.peerJoined(m.peer, m.page);
});
client.on("peer-reconnected", (m) => call?.peerReconnected(m.peer, m.page));
client.on("peer-left", (m) => call?.peerLeft(m.peer_id, m.reason));
client.on("signal", (m) => call?.handleSignal(m.from, m.data, nameOf(m.from), m.page));
client.on("ice-servers", (m) => call?.setIceServers(m.ice_servers || []));

/** A participant's name from the latest `participants` list (offers can come before a peer-joined). */
function nameOf(peerId) {
  return people.people.find((p) => p.id === peerId)?.name;
}
client.on("ended", () => {
  chat.setEnabled(false);
  stopEverything();
  show("ended");
});
client.on("welcome", (m) => chat.setEnabled(m.state !== "ended"));


const errors = followPage(client);

installDebug({
  role: "official",
  get view() {
    return root.dataset.currentView;
  },
  get connection() {
    return client.status;
  },
  get session() {
    return client.session;
  },
  get you() {
    return you;
  },
  peers: () => (call ? call.snapshot() : []),
  events: () => (call ? call.events.slice() : []),
  errors: () => errors.slice(),
  chat: () => chat.lines.slice(),
  participants: () => people.people.slice(),
  get sharingScreen() {
    return screen.sharing;
  },
});

// Camera first: the offers must carry our tracks. Then connect.
getLocalMedia().then(({ stream: local, problem }) => {
  stream = local;
  const selfVideo = $("video[data-self-video]");
  if (stream && stream.getVideoTracks().length) {
    selfVideo.srcObject = stream;
    selfVideo.play().catch(() => {});
  } else {
    $("[data-self-view]").dataset.cameraOff = "true";
  }
  if (problem) {
    const box = $("[data-media-problem]");
    box.textContent = problemText(problem);
    box.hidden = false;
  }
  controls.update(stream);
  updateCallStatus();
  client.start();
});
