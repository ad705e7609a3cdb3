// The call: one RTCPeerConnection per remote peer, perfect negotiation, trickle ICE over the
// signalling socket, ICE restart when a connection fails, and the video tiles.
//
// Roles (docs/signalling.md): only the impolite side of a connection ever offers (first offer and
// ICE restarts). The official is always impolite; citizens never offer to an official. Between two
// citizens (partner, interpreter) the one that receives `peer-joined` offers to the newcomer, and
// the newcomer (which saw the other in `welcome.peers`, or first hears of it through its offer)
// answers. Perfect negotiation (rollback on glare) is still in place for safety.
//
// Pages are told apart by `page` (a digest of the other page's session, docs/signalling.md): the same
// page coming back (a network hiccup, a server restart) keeps its connection, a new page (a reload)
// gets a new one. Connections remember the page they talk to.
//
// Nothing is recorded: no recording API is used anywhere, and media never reaches the server.

const DISCONNECTED_GRACE_MS = 5000;
const LEFT_GRACE_MS = 15000; // a socket that closed may come back within the longest backoff
const FRESH_PEER_MS = 5000;

export function isOfficial(peer) {
  return peer.role === "official" || String(peer.id).startsWith("official:");
}

export class Call {
  /**
   * @param {object} o
   * @param {import("./signalling.js").SignallingClient} o.client
   * @param {{id: string, role: string, name?: string}} o.self
   * @param {RTCIceServer[]} [o.iceServers]
   * @param {MediaStream|null} [o.localStream]
   * @param {HTMLElement} o.grid element that receives the remote tiles (`[data-remote-grid]`)
   * @param {Record<string,string>} [o.strings] connecting, reconnecting, unknownPeer
   * @param {HTMLElement|null} [o.unmuteButton] shown when the browser blocks sound until a click
   * @param {() => void} [o.onChange] called after any peer or connection change
   */
  constructor({ client, self, iceServers = [], localStream = null, grid, strings = {}, unmuteButton = null, onChange }) {
    this.client = client;
    this.self = self;
    this.iceServers = iceServers;
    this.localStream = localStream;
    this.grid = grid;
    this.strings = strings;
    this.unmuteButton = unmuteButton;
    this.onChange = onChange || (() => {});
    this.peers = new Map();
    this.events = [];
    this.closed = false;
    this.outgoingVideo = null; // a track sent instead of the camera (screen sharing)
    if (unmuteButton) {
      unmuteButton.addEventListener("click", () => this.unmuteRemote());
    }
  }

  // -- what the page calls -----------------------------------------------------------------------

  setIceServers(iceServers) {
    this.iceServers = iceServers || [];
    for (const p of this.peers.values()) {
      try {
        p.pc.setConfiguration({ ...p.pc.getConfiguration(), iceServers: this.iceServers });
      } catch {
        /* some settings cannot change on a live connection; new ones get the new list */
      }
    }
  }

  /** Another page of ours (same peer id): never a connection to ourselves. */
  isSelf(peerId) {
    return String(peerId) === String(this.self.id);
  }

  /** A connection to `peer`, made now if there is none. */
  ensurePeer(peer, createdBy = "page") {
    if (this.isSelf(peer.id)) return null;
    const existing = this.peers.get(peer.id);
    if (existing) {
      existing.left = false;
      clearTimeout(existing.leftTimer);
      this.rename(existing, peer.name);
      return existing;
    }
    return this.connect(peer, createdBy);
  }

  /**
   * `peer-joined`: the server has not seen this page before. If we already talk to that very page
   * (`page` matches: its socket came back after a server restart, which forgets who was who), it is
   * a reconnect; otherwise the peer has a new page and needs a new connection.
   */
  peerJoined(peer, page = null) {
    if (this.isSelf(peer.id)) return null;
    const existing = this.peers.get(peer.id);
    if (existing && page && existing.remotePage === page) return this.peerReconnected(peer, page);
    // An official's offer may overtake its `peer-joined` (other app node): keep the connection
    // that offer just created instead of throwing it away.
    if (
      existing &&
      isOfficial(peer) &&
      existing.createdBy.startsWith("signal") &&
      (!page || existing.remotePage === page) &&
      performance.now() - existing.createdAt < FRESH_PEER_MS
    ) {
      existing.left = false;
      this.rename(existing, peer.name);
      return existing;
    }
    const p = this.connect(peer, "peer-joined");
    if (p) p.remotePage = page;
    return p;
  }

  /** `peer-reconnected`: same page came back; keep the connection, restart ICE if it broke. */
  peerReconnected(peer, page = null) {
    if (this.isSelf(peer.id)) return null;
    const p = this.peers.get(peer.id);
    if (!p) {
      const fresh = this.connect(peer, "peer-reconnected");
      if (fresh) fresh.remotePage = page;
      return fresh;
    }
    if (page && !p.remotePage) p.remotePage = page;
    p.left = false;
    clearTimeout(p.leftTimer);
    this.rename(p, peer.name);
    const state = p.pc.connectionState;
    if (state === "failed" || state === "disconnected" || p.pc.signalingState === "have-local-offer") {
      this.restart(p, "peer-reconnected");
    }
    this.changed();
    return p;
  }

  /**
   * `peer-left`. After a hang-up the connection goes at once. After a closed socket
   * (`disconnected`) the peer may come back with `peer-reconnected`: while media still flows we keep
   * the connection (a signalling hiccup must not cut a working call); otherwise we wait a little.
   */
  peerLeft(peerId, reason = "hangup") {
    const p = this.peers.get(peerId);
    if (!p) return;
    if (reason !== "disconnected") {
      this.remove(p);
      return;
    }
    p.left = true;
    clearTimeout(p.leftTimer);
    p.leftTimer = setTimeout(() => {
      if (p.left && p.pc.connectionState !== "connected") this.remove(p);
    }, LEFT_GRACE_MS);
    this.changed();
  }

  /** The signalling socket is back with the same session: mend what broke while it was away. */
  signallingRestored() {
    for (const p of this.peers.values()) {
      const state = p.pc.connectionState;
      if (!p.impolite) continue; // the other side restarts
      if (p.lostSignal || state === "failed" || state === "disconnected" || p.pc.signalingState === "have-local-offer") {
        this.restart(p, "signalling-restored");
      }
    }
  }

  /** Relayed `signal` from another peer (`page`: which of its page loads sent it). */
  handleSignal(from, data, name, page = null) {
    if (this.closed || !from || !data || this.isSelf(from)) return;
    let p = this.peers.get(from);
    const isOffer = !!data.description && data.description.type === "offer";
    if (p && page && p.remotePage && p.remotePage !== page) {
      // Another page load of that peer: its old connection is gone. Only its offer starts the new one.
      if (!isOffer) return;
      this.log(p, "new-remote-page", page);
      p = this.connect({ id: p.id, name: p.name, role: p.role }, "signal-new-page");
    }
    if (!p) {
      if (!isOffer) return; // stray candidate or answer
      p = this.connect({ id: from, name, role: from.startsWith("official:") ? "official" : "citizen" }, "signal");
    }
    if (page && !p.remotePage) p.remotePage = page;
    p.queue = p.queue.then(() => this.applySignal(p, data)).catch((error) => {
      this.log(p, "error", String(error && error.message ? error.message : error));
    });
  }

  setMicEnabled(enabled) {
    for (const track of this.localStream ? this.localStream.getAudioTracks() : []) track.enabled = enabled;
  }

  setCameraEnabled(enabled) {
    for (const track of this.localStream ? this.localStream.getVideoTracks() : []) track.enabled = enabled;
  }

  /** Swap a local track (another camera or microphone) on every connection without renegotiating. */
  async replaceLocalTrack(kind, track) {
    if (kind === "video" && this.outgoingVideo) return; // sharing the screen: the camera waits
    await this.replaceOnSenders(kind, track);
  }

  async replaceOnSenders(kind, track) {
    for (const p of [...this.peers.values()]) {
      if (p.pc.signalingState === "closed") continue;
      // The first transceiver of that kind carries our picture or sound (see addLocalMedia).
      const transceiver = p.pc.getTransceivers().find((t) => !t.stopped && t.receiver.track.kind === kind);
      if (!transceiver) continue;
      try {
        if (track && transceiver.direction === "recvonly") {
          // No camera here until now: start sending (the change is negotiated like any other).
          transceiver.direction = "sendrecv";
        }
        await transceiver.sender.replaceTrack(track);
      } catch (error) {
        this.log(p, "replace-track-error", error.message); // a connection closing meanwhile
      }
    }
  }

  /**
   * Send `track` instead of the camera on every connection (screen sharing), or the camera again
   * with null. Uses replaceTrack: no renegotiation, so the others simply see the new picture.
   */
  async setOutgoingVideo(track) {
    this.outgoingVideo = track;
    const camera = this.localStream ? this.localStream.getVideoTracks()[0] || null : null;
    await this.replaceOnSenders("video", track || camera);
  }

  /** Drop every connection but keep the call usable (before a fresh `join-call`). */
  reset() {
    for (const p of [...this.peers.values()]) this.remove(p);
    this.changed();
  }

  /** Close every connection. The page stops the camera itself. */
  hangUp() {
    this.closed = true;
    for (const p of [...this.peers.values()]) this.remove(p);
    this.changed();
  }

  unmuteRemote() {
    for (const p of this.peers.values()) {
      p.video.muted = false;
      p.video.play().catch(() => {});
    }
    if (this.unmuteButton) this.unmuteButton.hidden = true;
  }

  get connectedCount() {
    return [...this.peers.values()].filter((p) => p.pc.connectionState === "connected").length;
  }

  /** Plain data for tests and the debug object. */
  snapshot() {
    return [...this.peers.values()].map((p) => ({
      id: p.id,
      name: p.name,
      role: p.role,
      impolite: p.impolite,
      left: p.left,
      connectionState: p.pc.connectionState,
      iceConnectionState: p.pc.iceConnectionState,
      signalingState: p.pc.signalingState,
      restarts: p.restarts,
      remotePage: p.remotePage,
      createdBy: p.createdBy,
      sendingVideo: p.pc.getSenders().find((s) => s.track && s.track.kind === "video")?.track?.label || null,
      videoWidth: p.video.videoWidth,
      videoHeight: p.video.videoHeight,
      muted: p.video.muted,
    }));
  }

  // -- connections -------------------------------------------------------------------------------

  /** Whether we offer on this connection (see the roles at the top). */
  impoliteTowards(peer, createdBy) {
    if (isOfficial(this.self)) return true;
    if (isOfficial(peer)) return false;
    return createdBy === "peer-joined" || createdBy === "peer-reconnected";
  }

  connect(peer, createdBy) {
    const old = this.peers.get(peer.id);
    if (old) this.remove(old);
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    const p = {
      id: peer.id,
      name: peer.name || "",
      role: peer.role || "citizen",
      pc,
      impolite: this.impoliteTowards(peer, createdBy),
      makingOffer: false,
      ignoreOffer: false,
      queue: Promise.resolve(),
      createdBy,
      createdAt: performance.now(),
      remotePage: null,
      left: false,
      lostSignal: false,
      restarts: 0,
      disconnectTimer: null,
      leftTimer: null,
      remoteStream: new MediaStream(),
    };
    this.peers.set(p.id, p);
    this.buildTile(p);
    this.log(p, "created", createdBy);

    pc.onicecandidate = ({ candidate }) => {
      this.sendSignal(p, { candidate: candidate ? candidate.toJSON() : null });
    };
    pc.onnegotiationneeded = () => this.negotiate(p);
    pc.ontrack = ({ track }) => this.addRemoteTrack(p, track);
    pc.onconnectionstatechange = () => this.connectionStateChanged(p);
    pc.oniceconnectionstatechange = () => this.log(p, "iceConnectionState", pc.iceConnectionState);
    pc.onsignalingstatechange = () => this.log(p, "signalingState", pc.signalingState);

    this.addLocalMedia(p);
    this.changed();
    return p;
  }

  addLocalMedia(p) {
    const stream = this.localStream;
    for (const kind of ["audio", "video"]) {
      let tracks = stream ? stream.getTracks().filter((t) => t.kind === kind) : [];
      if (kind === "video" && this.outgoingVideo) tracks = [this.outgoingVideo]; // sharing the screen
      if (tracks.length) {
        for (const track of tracks) p.pc.addTrack(track, stream || new MediaStream([track]));
      } else if (p.impolite) {
        // No camera or microphone here: still ask to receive the other side's.
        p.pc.addTransceiver(kind, { direction: "recvonly" });
      }
    }
  }

  async negotiate(p) {
    // Only the offerer offers; the answerer's transceivers are matched by the next offer.
    if (!p.impolite) return;
    if (this.closed) return;
    try {
      p.makingOffer = true;
      await p.pc.setLocalDescription();
      this.sendSignal(p, { description: descriptionJSON(p.pc.localDescription) });
    } catch (error) {
      this.log(p, "error", `offer: ${error.message}`);
    } finally {
      p.makingOffer = false;
    }
  }

  async applySignal(p, { description, candidate }) {
    const pc = p.pc;
    if (pc.signalingState === "closed") return;
    if (description) {
      if (description.type === "offer" && isFromAnotherConnection(pc, description)) {
        // The peer made a new RTCPeerConnection (new page, or the server announced it as new):
        // its DTLS certificate changed, which the old connection cannot follow. Start afresh.
        this.log(p, "new-remote-connection", "");
        const fresh = this.connect({ id: p.id, name: p.name, role: p.role }, "signal-new-remote");
        await this.applySignal(fresh, { description });
        return;
      }
      const collision = description.type === "offer" && (p.makingOffer || pc.signalingState !== "stable");
      p.ignoreOffer = p.impolite && collision;
      if (p.ignoreOffer) {
        this.log(p, "ignored-offer", "collision");
        return;
      }
      try {
        await pc.setRemoteDescription(description);
      } catch (error) {
        // An offer from the peer's new page cannot go into the old connection (other DTLS keys):
        // start a fresh connection for it instead of getting stuck.
        if (description.type !== "offer" || p.createdBy === "signal-retry") throw error;
        this.log(p, "offer-error", error.message);
        const fresh = this.connect({ id: p.id, name: p.name, role: p.role }, "signal-retry");
        await this.applySignal(fresh, { description });
        return;
      }
      if (description.type === "offer") {
        await pc.setLocalDescription();
        this.sendSignal(p, { description: descriptionJSON(pc.localDescription) });
      }
    } else if (candidate) {
      try {
        await pc.addIceCandidate(candidate);
      } catch (error) {
        // Candidates of an ignored offer, or of the peer's previous connection, may not fit.
        if (!p.ignoreOffer) this.log(p, "candidate-error", error.message);
      }
    }
  }

  sendSignal(p, data) {
    if (this.closed || !this.peers.has(p.id)) return;
    const sent = this.client.send({ type: "signal", to: p.id, data });
    // A lost offer or candidate cannot be resent as is; restart ICE when the socket is back.
    if (!sent) p.lostSignal = true;
  }

  async restart(p, reason) {
    if (this.closed || this.peers.get(p.id) !== p || !p.impolite) return;
    p.lostSignal = false;
    p.restarts += 1;
    this.log(p, "restart", reason);
    const pc = p.pc;
    try {
      pc.setConfiguration({ ...pc.getConfiguration(), iceServers: this.iceServers });
    } catch {
      /* keep the old list */
    }
    if (pc.signalingState === "have-local-offer") {
      // Our last offer may never have arrived: take it back so a new one can go out.
      try {
        await pc.setLocalDescription({ type: "rollback" });
      } catch {
        /* nothing to roll back */
      }
    }
    pc.restartIce();
  }

  connectionStateChanged(p) {
    const state = p.pc.connectionState;
    this.log(p, "connectionState", state);
    clearTimeout(p.disconnectTimer);
    if (state === "closed") {
      this.remove(p);
    } else if ((state === "failed" || state === "disconnected") && p.left) {
      this.remove(p);
    } else if (state === "failed") {
      this.restart(p, "failed"); // the offerer restarts ICE; the answerer waits for its offer
    } else if (state === "disconnected") {
      p.disconnectTimer = setTimeout(() => {
        if (p.pc.connectionState === "disconnected") this.restart(p, "disconnected");
      }, DISCONNECTED_GRACE_MS);
    }
    this.updateTileStatus(p);
    this.changed();
  }

  remove(p) {
    if (this.peers.get(p.id) === p) this.peers.delete(p.id);
    clearTimeout(p.disconnectTimer);
    clearTimeout(p.leftTimer);
    p.pc.onicecandidate = p.pc.onnegotiationneeded = p.pc.ontrack = null;
    p.pc.onconnectionstatechange = p.pc.oniceconnectionstatechange = p.pc.onsignalingstatechange = null;
    p.pc.close();
    p.video.srcObject = null;
    p.tile.remove();
    this.log(p, "removed", "");
    this.layout();
    this.changed();
  }

  // -- tiles -------------------------------------------------------------------------------------

  buildTile(p) {
    const tile = document.createElement("figure");
    tile.className = "tile";
    tile.dataset.peerTile = p.id;
    const video = document.createElement("video");
    video.className = "tile__video";
    video.autoplay = true;
    video.playsInline = true;
    video.dataset.peerId = p.id;
    video.dataset.role = p.role;
    video.srcObject = p.remoteStream;
    const caption = document.createElement("figcaption");
    caption.className = "tile__name";
    caption.textContent = p.name || this.strings.unknownPeer || "";
    const status = document.createElement("p");
    status.className = "tile__status";
    status.textContent = this.strings.connecting || "";
    tile.append(video, caption, status);
    p.tile = tile;
    p.video = video;
    p.caption = caption;
    p.status = status;
    this.grid.append(tile);
    this.layout();
  }

  rename(p, name) {
    if (!name || name === p.name) return;
    p.name = name;
    p.caption.textContent = name;
  }

  updateTileStatus(p) {
    const state = p.pc.connectionState;
    let text = "";
    if (state === "new" || state === "connecting") text = this.strings.connecting || "";
    if (state === "disconnected" || state === "failed") text = this.strings.reconnecting || "";
    p.status.textContent = text;
    p.status.hidden = text === "";
    p.tile.dataset.state = state;
  }

  layout() {
    this.grid.dataset.count = String(Math.min(this.peers.size, 4));
  }

  addRemoteTrack(p, track) {
    if (!p.remoteStream.getTracks().includes(track)) p.remoteStream.addTrack(track);
    track.addEventListener("ended", () => p.remoteStream.removeTrack(track));
    this.play(p);
  }

  play(p) {
    p.video.play().catch((error) => {
      if (error.name !== "NotAllowedError") return;
      // The browser wants a click before it plays sound: show the picture now, sound after a click.
      p.video.muted = true;
      p.video.play().catch(() => {});
      if (this.unmuteButton) this.unmuteButton.hidden = false;
    });
  }

  // -- bookkeeping -------------------------------------------------------------------------------

  log(p, kind, value) {
    this.events.push({ t: Math.round(performance.now()), peer: p.id, kind, value });
    if (this.events.length > 500) this.events.splice(0, this.events.length - 500);
  }

  changed() {
    try {
      this.onChange();
    } catch (error) {
      console.error("call: onChange failed", error);
    }
  }
}

function fingerprintOf(sdp) {
  const match = /^a=fingerprint:(.+)$/m.exec(sdp || "");
  return match ? match[1].trim().toLowerCase() : null;
}

/** Whether an offer comes from another RTCPeerConnection than the one we negotiated with. */
function isFromAnotherConnection(pc, description) {
  const current = pc.remoteDescription && fingerprintOf(pc.remoteDescription.sdp);
  const offered = fingerprintOf(description.sdp);
  return !!current && !!offered && current !== offered;
}

function descriptionJSON(description) {
  return { type: description.type, sdp: description.sdp };
}

/**
 * Wire the mute / camera / hang-up buttons inside `root`:
 * `[data-action="toggle-mic"]`, `[data-action="toggle-camera"]`, `[data-action="hang-up"]`.
 * Labels come from the buttons' data-label-on / data-label-off (what a click will do); the
 * button's data-off is "true" while that microphone or camera is off.
 */
export function bindControls(root, { getCall, getStream, onHangUp, announce }) {
  const mic = root.querySelector('[data-action="toggle-mic"]');
  const camera = root.querySelector('[data-action="toggle-camera"]');
  const hangUp = root.querySelector('[data-action="hang-up"]');
  const state = { mic: true, camera: true };

  const setTracks = (kind, enabled) => {
    const stream = getStream();
    const tracks = stream ? (kind === "audio" ? stream.getAudioTracks() : stream.getVideoTracks()) : [];
    for (const track of tracks) track.enabled = enabled;
  };
  const render = (button, on) => {
    if (!button) return;
    // The label says what a click does; no aria-pressed, which would contradict a changing label.
    button.textContent = on ? button.dataset.labelOn : button.dataset.labelOff;
    button.dataset.off = on ? "false" : "true";
  };

  mic?.addEventListener("click", () => {
    state.mic = !state.mic;
    setTracks("audio", state.mic);
    render(mic, state.mic);
    announce?.(state.mic ? mic.dataset.announceOn : mic.dataset.announceOff);
  });
  camera?.addEventListener("click", () => {
    state.camera = !state.camera;
    setTracks("video", state.camera);
    render(camera, state.camera);
    root.querySelectorAll("[data-self-view]").forEach((el) => {
      el.dataset.cameraOff = state.camera ? "false" : "true";
    });
    announce?.(state.camera ? camera.dataset.announceOn : camera.dataset.announceOff);
  });
  hangUp?.addEventListener("click", () => onHangUp(getCall()));
  render(mic, true);
  render(camera, true);

  /** Disable the buttons for media this device does not have. */
  return {
    update(stream) {
      if (mic) mic.disabled = !stream || stream.getAudioTracks().length === 0;
      if (camera) camera.disabled = !stream || stream.getVideoTracks().length === 0;
    },
    state,
  };
}

/** `window.__balie`: read-only view of the page for tests and support. */
export function installDebug(values) {
  window.__balie = Object.freeze(values);
}
