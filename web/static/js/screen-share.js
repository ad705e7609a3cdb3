// The official shares their screen (e.g. the draft deed): getDisplayMedia, then the screen's track
// replaces the camera's on every connection (Call.setOutgoingVideo, no renegotiation). When sharing
// stops, from our button or from the browser's own "Stop sharing" bar, the camera comes back.

export class ScreenShare {
  /**
   * @param {HTMLButtonElement} button `[data-action="share-screen"]` with data-label-on/off and
   *   data-announce-on/off; data-msg-denied / data-msg-unsupported for problems
   * @param {object} o
   * @param {() => import("./call.js").Call|null} o.getCall
   * @param {(stream: MediaStream|null) => void} o.showSelf shows what we send in the self view
   * @param {(text: string) => void} [o.announce]
   */
  constructor(button, { getCall, showSelf, announce }) {
    this.button = button;
    this.getCall = getCall;
    this.showSelf = showSelf;
    this.announce = announce || (() => {});
    this.stream = null;
    const supported = !!navigator.mediaDevices?.getDisplayMedia;
    button.hidden = !supported;
    button.addEventListener("click", () => (this.stream ? this.stop() : this.start()));
    this.render();
  }

  get sharing() {
    return this.stream !== null;
  }

  async start() {
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false });
    } catch (error) {
      // NotAllowedError: the official chose "Cancel" in the browser's picker; nothing to undo.
      if (error && error.name !== "NotAllowedError") this.announce(this.button.dataset.msgFailed || "");
      return false;
    }
    const track = stream.getVideoTracks()[0];
    if (!track) return false;
    // Text and documents stay sharp rather than smooth.
    if ("contentHint" in track) track.contentHint = "detail";
    track.addEventListener("ended", () => this.stop());
    this.stream = stream;
    await this.getCall()?.setOutgoingVideo(track);
    this.showSelf(stream);
    this.render();
    this.announce(this.button.dataset.announceOn || "");
    return true;
  }

  async stop() {
    const stream = this.stream;
    if (!stream) return;
    this.stream = null;
    for (const track of stream.getTracks()) track.stop();
    await this.getCall()?.setOutgoingVideo(null);
    this.showSelf(null);
    this.render();
    this.announce(this.button.dataset.announceOff || "");
  }

  render() {
    this.button.textContent = this.sharing ? this.button.dataset.labelOff : this.button.dataset.labelOn;
    this.button.dataset.sharing = this.sharing ? "true" : "false";
  }
}
