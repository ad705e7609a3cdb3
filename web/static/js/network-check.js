// The connection test of the device check: a short call with the server's echo peer (/ws/check,
// docs/signalling.md) that sends our own camera and microphone back. It tells whether a connection
// works from this network, directly or through TURN (a relay), and how long a round trip takes,
// and then says in plain words what works or what to do. The test ends itself after a few seconds
// so it does not hold one of the server's few echo seats.
//
// A call goes from browser to browser (or through TURN); the test goes from the browser to the
// server. So a test that could not connect proves little unless a relay was part of it: without
// TURN it says "we could not test this" (unknown), never "a call does not work from here".

import { newSessionId, socketUrl } from "./signalling.js";

const CONNECT_WITHIN_MS = 12000;
const MEDIA_BACK_WITHIN_MS = 8000;
const PINGS = 5;
const SLOW_RTT_MS = 400;

/** The plain-language verdict for a finished test: a message key of the page. */
export function verdict(result, deviceProblem = null) {
  if (result.state === "busy") return "busy";
  if (result.state !== "connected") return result.relayOffered ? "failed" : "unknown";
  if (result.rttMs !== null && result.rttMs > SLOW_RTT_MS) return "slow";
  if (deviceProblem) return "okNetworkOnly";
  if (result.path === "relay") return "okRelay";
  return "ok";
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)] : null;
}

function wait(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class NetworkCheck {
  /**
   * @param {HTMLElement} root `[data-network-check]` with data-msg-* texts: checking, connecting,
   *   media, ok, okRelay, okNetworkOnly, slow, failed, unknown, busy, direct, relay, rtt
   * @param {object} o
   * @param {() => Promise<MediaStream|null>} o.getStream the camera and microphone (may be null)
   * @param {() => string|null} [o.deviceProblem] the camera check's problem, if any
   */
  constructor(root, { getStream, deviceProblem }) {
    this.root = root;
    this.msg = root.dataset;
    this.getStream = getStream;
    this.deviceProblem = deviceProblem || (() => null);
    this.resultBox = root.querySelector("[data-network-result]");
    this.details = root.querySelector("[data-network-details]");
    this.echoVideo = root.querySelector("video[data-echo-video]");
    this.button = root.querySelector('[data-action="run-network-check"]');
    this.result = { state: "idle", path: null, rttMs: null, videoBack: false, audioBack: false, relayOffered: false, verdict: null };
    this.running = null;
    this.button?.addEventListener("click", () => this.run());
  }

  /** Run the test (once at a time). Resolves the result. */
  run() {
    if (!this.running) {
      this.running = this.test().finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  async test() {
    this.set({ state: "checking", step: null, steps: [], path: null, rttMs: null, videoBack: false, audioBack: false, relayOffered: false, verdict: null });
    this.show("checking", this.msg.msgChecking, "");
    if (this.button) this.button.disabled = true;
    const stream = await this.getStream().catch(() => null);
    const session = new Session(socketUrl("/ws/check"));
    // Say what the test is doing while it runs: a test that may take seconds must not look stuck.
    const step = (name) => {
      this.set({ step: name, steps: [...(this.result.steps || []), name] });
      this.show("checking", this.msg[`msgStep${name.charAt(0).toUpperCase()}${name.slice(1)}`] || this.msg.msgChecking, "");
    };
    try {
      const outcome = await session.run(stream, (remote) => this.showEcho(remote), step);
      this.set(outcome);
    } catch (error) {
      this.set({ state: error && error.message === "busy" ? "busy" : "failed", relayOffered: session.relayOffered });
    } finally {
      session.close();
      this.showEcho(null);
      if (this.button) this.button.disabled = false;
    }
    const key = verdict(this.result, this.deviceProblem());
    this.set({ verdict: key });
    this.show(key, this.msg[`msg${key.charAt(0).toUpperCase()}${key.slice(1)}`] || "", this.detailText());
    return this.result;
  }

  set(values) {
    this.result = { ...this.result, ...values };
    this.root.dataset.state = this.result.state;
  }

  detailText() {
    const r = this.result;
    if (r.state !== "connected") return "";
    const path = r.path === "relay" ? this.msg.msgRelay : this.msg.msgDirect;
    // Below a millisecond (a fast local network) still reads as 1: "0 milliseconds" looks broken.
    const ms = r.rttMs === null ? null : Math.max(1, Math.round(r.rttMs));
    const rtt = ms === null ? "" : (this.msg.msgRtt || "").replace("{ms}", String(ms));
    return [path, rtt].filter(Boolean).join(" ");
  }

  show(key, text, details) {
    this.root.dataset.result = key;
    if (this.resultBox) this.resultBox.textContent = text || "";
    if (this.details) {
      this.details.textContent = details || "";
      this.details.hidden = !details;
    }
  }

  showEcho(stream) {
    if (!this.echoVideo) return;
    this.echoVideo.muted = true; // our own sound back from the speakers would echo
    this.echoVideo.srcObject = stream;
    this.echoVideo.closest("[data-echo-view]")?.toggleAttribute("hidden", !stream);
    if (stream) this.echoVideo.play?.().catch(() => {});
  }
}

/** One connection to the echo peer over its own WebSocket (no reconnecting: a test is short). */
class Session {
  constructor(url) {
    this.url = url;
    this.ws = null;
    this.pc = null;
    this.messages = [];
    this.waiters = [];
    this.relayOffered = false;
  }

  next(type, within) {
    const found = this.messages.findIndex((m) => m.type === type || m.type === "error");
    if (found >= 0) return Promise.resolve(this.messages.splice(found, 1)[0]);
    return new Promise((resolve, reject) => {
      const waiter = { type, resolve };
      this.waiters.push(waiter);
      setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error("timeout"));
      }, within);
    });
  }

  receive(raw) {
    let message;
    try {
      message = JSON.parse(raw);
    } catch {
      return;
    }
    const waiter = this.waiters.find((w) => w.type === message.type || message.type === "error");
    if (waiter) {
      this.waiters = this.waiters.filter((w) => w !== waiter);
      waiter.resolve(message);
    } else {
      this.messages.push(message);
    }
  }

  send(message) {
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(message));
  }

  async run(stream, onRemote, onStep = () => {}) {
    this.ws = new WebSocket(this.url);
    this.ws.onmessage = (event) => this.receive(event.data);
    this.ws.onclose = () => this.receive(JSON.stringify({ type: "error", code: "closed" }));
    await new Promise((resolve, reject) => {
      this.ws.onopen = resolve;
      this.ws.onerror = () => reject(new Error("socket"));
    });
    this.send({ type: "hello", session: newSessionId() });
    const welcome = await this.next("welcome", 10000);
    if (welcome.type === "error") throw new Error(welcome.code === "busy" ? "busy" : "refused");
    this.relayOffered = (welcome.ice_servers || []).some((server) =>
      [].concat(server.urls || []).some((url) => /^turns?:/.test(url)),
    );
    onStep("connecting");

    const pc = new RTCPeerConnection({ iceServers: welcome.ice_servers || [] });
    this.pc = pc;
    const tracks = stream ? stream.getTracks() : [];
    for (const track of tracks) pc.addTrack(track, stream);
    for (const kind of ["audio", "video"]) {
      if (!tracks.some((t) => t.kind === kind)) pc.addTransceiver(kind, { direction: "recvonly" });
    }
    const remote = new MediaStream();
    pc.ontrack = ({ track }) => {
      remote.addTrack(track);
      onRemote(remote);
    };
    const channel = pc.createDataChannel("rtt");
    pc.onicecandidate = ({ candidate }) => {
      if (candidate) this.send({ type: "signal", to: "echo", data: { candidate: candidate.toJSON() } });
    };
    const connected = new Promise((resolve) => {
      pc.onconnectionstatechange = () => {
        if (pc.connectionState === "connected") resolve(true);
        if (pc.connectionState === "failed") resolve(false);
      };
    });
    await pc.setLocalDescription();
    this.send({ type: "signal", to: "echo", data: { description: { type: "offer", sdp: pc.localDescription.sdp } } });
    const answer = await this.next("signal", 10000);
    if (answer.type === "error") throw new Error("refused");
    await pc.setRemoteDescription(answer.data.description);

    const ok = await Promise.race([connected, wait(CONNECT_WITHIN_MS).then(() => false)]);
    if (!ok) return { state: "failed", relayOffered: this.relayOffered };
    onStep("media");
    const rtts = await this.pings(channel);
    const media = await this.mediaBack(tracks);
    const pair = await this.selectedPair();
    const statsRtt = pair?.currentRoundTripTime != null ? pair.currentRoundTripTime * 1000 : null;
    return {
      state: "connected",
      relayOffered: this.relayOffered,
      path: pair?.localType === "relay" || pair?.remoteType === "relay" ? "relay" : "direct",
      rttMs: median(rtts) ?? statsRtt,
      ...media,
    };
  }

  async pings(channel) {
    if (channel.readyState !== "open") {
      await Promise.race([new Promise((resolve) => channel.addEventListener("open", resolve, { once: true })), wait(5000)]);
    }
    if (channel.readyState !== "open") return [];
    const rtts = [];
    for (let i = 0; i < PINGS; i += 1) {
      const sent = performance.now();
      const nonce = `${i}:${sent}`;
      const back = await Promise.race([
        new Promise((resolve) => {
          const onMessage = (event) => {
            if (event.data !== nonce) return;
            channel.removeEventListener("message", onMessage);
            resolve(true);
          };
          channel.addEventListener("message", onMessage);
          channel.send(nonce);
        }),
        wait(3000).then(() => false),
      ]);
      if (back) rtts.push(performance.now() - sent);
    }
    return rtts;
  }

  /** Whether our own picture and sound came back (frames decoded, audio packets received). */
  async mediaBack(tracks) {
    const wantVideo = tracks.some((t) => t.kind === "video");
    const wantAudio = tracks.some((t) => t.kind === "audio");
    const deadline = performance.now() + MEDIA_BACK_WITHIN_MS;
    let videoBack = false;
    let audioBack = false;
    while (performance.now() < deadline && ((wantVideo && !videoBack) || (wantAudio && !audioBack))) {
      const stats = await this.pc.getStats();
      stats.forEach((report) => {
        if (report.type !== "inbound-rtp") return;
        if (report.kind === "video" && report.framesDecoded > 0) videoBack = true;
        if (report.kind === "audio" && report.packetsReceived > 0) audioBack = true;
      });
      if ((!wantVideo || videoBack) && (!wantAudio || audioBack)) break;
      await wait(250);
    }
    return { videoBack, audioBack };
  }

  async selectedPair() {
    const stats = await this.pc.getStats();
    let pair = null;
    stats.forEach((report) => {
      if (report.type === "transport" && report.selectedCandidatePairId) pair = stats.get(report.selectedCandidatePairId);
    });
    if (!pair) {
      stats.forEach((report) => {
        if (report.type === "candidate-pair" && report.nominated && report.state === "succeeded") pair = report;
      });
    }
    if (!pair) return null;
    return {
      currentRoundTripTime: pair.currentRoundTripTime,
      localType: stats.get(pair.localCandidateId)?.candidateType,
      remoteType: stats.get(pair.remoteCandidateId)?.candidateType,
    };
  }

  close() {
    try {
      this.pc?.close();
    } catch {
      /* already closed */
    }
    if (this.ws) {
      this.ws.onclose = null;
      try {
        this.ws.close(1000);
      } catch {
        /* already closing */
      }
    }
  }
}
