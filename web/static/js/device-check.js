// Camera and microphone: ask for them, show a preview and a sound level, let people pick another
// device, and say in plain words what works or what to do. Used by /apparaattest (this module starts
// itself there) and by the citizen's waiting room (room.js) and the official's call page.

const STORAGE_KEY = "balie.devices";
const HEARD_RMS = 0.01;
const NO_SOUND_AFTER_MS = 8000;

/** Device ids chosen earlier on this browser: {audioinput, videoinput}. */
export function savedDevices() {
  try {
    return JSON.parse(localStorage.getItem(STORAGE_KEY) || "{}") || {};
  } catch {
    return {};
  }
}

function saveDevice(kind, deviceId) {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify({ ...savedDevices(), [kind]: deviceId }));
  } catch {
    /* private mode: the choice just is not remembered */
  }
}

function videoConstraints(deviceId) {
  const base = { width: { ideal: 1280 }, height: { ideal: 720 } };
  return deviceId ? { ...base, deviceId: { ideal: deviceId } } : { ...base, facingMode: "user" };
}

function audioConstraints(deviceId) {
  const base = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  return deviceId ? { ...base, deviceId: { ideal: deviceId } } : base;
}

/** What went wrong, as one of the message keys the pages translate. */
export function problemOf(error) {
  switch (error && error.name) {
    case "NotAllowedError":
    case "SecurityError":
      return "denied";
    case "NotFoundError":
    case "OverconstrainedError":
      return "notFound";
    case "NotReadableError":
    case "AbortError":
      return "inUse";
    case "TypeError":
      return "unsupported";
    default:
      return "other";
  }
}

/**
 * Camera and microphone, with fallbacks: both, else sound only, else picture only.
 * Resolves {stream, problem}: `stream` may be null, `problem` null when everything works.
 */
export async function getLocalMedia(saved = savedDevices()) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return { stream: null, problem: "unsupported" };
  }
  const audio = audioConstraints(saved.audioinput);
  const video = videoConstraints(saved.videoinput);
  try {
    return { stream: await navigator.mediaDevices.getUserMedia({ audio, video }), problem: null };
  } catch (error) {
    const first = problemOf(error);
    for (const [constraints, problem] of [
      [{ audio }, "noCamera"],
      [{ video }, "noMicrophone"],
    ]) {
      try {
        return { stream: await navigator.mediaDevices.getUserMedia(constraints), problem };
      } catch {
        /* try the next one */
      }
    }
    return { stream: null, problem: first };
  }
}

export function stopStream(stream) {
  if (stream) for (const track of stream.getTracks()) track.stop();
}

/** Sound level of a stream's microphone on a <meter> (0..1), through a Web Audio AnalyserNode. */
export class LevelMeter {
  constructor(meter, onLevel) {
    this.meter = meter;
    this.onLevel = onLevel || (() => {});
    this.context = null;
    this.source = null;
    this.frame = 0;
    this.resume = () => this.context && this.context.resume().catch(() => {});
  }

  attach(stream) {
    this.detach();
    if (!stream || stream.getAudioTracks().length === 0) return;
    const AudioContextImpl = window.AudioContext || window.webkitAudioContext;
    if (!AudioContextImpl) return;
    if (!this.context) {
      this.context = new AudioContextImpl();
      // Browsers may keep audio suspended until the first click or key press.
      document.addEventListener("pointerdown", this.resume, { once: true });
      document.addEventListener("keydown", this.resume, { once: true });
    }
    this.resume();
    const analyser = this.context.createAnalyser();
    analyser.fftSize = 1024;
    this.source = this.context.createMediaStreamSource(new MediaStream(stream.getAudioTracks()));
    this.source.connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const tick = () => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      const rms = Math.sqrt(sum / samples.length);
      // Square root: quiet speech still moves the bar visibly.
      if (this.meter) this.meter.value = Math.min(1, Math.sqrt(rms) * 2);
      this.onLevel(rms);
      this.frame = requestAnimationFrame(tick);
    };
    tick();
  }

  detach() {
    cancelAnimationFrame(this.frame);
    if (this.source) this.source.disconnect();
    this.source = null;
    if (this.meter) this.meter.value = 0;
  }

  stop() {
    this.detach();
    if (this.context) this.context.close().catch(() => {});
    this.context = null;
  }
}

/**
 * The camera-and-microphone check inside `root`. `onResult(result)` hears every change of the result
 * (checking | ok | speak | no-sound | problem). Hooks:
 * video[data-preview], meter[data-level], select[data-device-select="audioinput|videoinput"],
 * [data-check-result] (role=status; data-result = checking | ok | speak | no-sound | problem),
 * [data-check-problem] (hidden notice), button[data-action="retry-media"].
 * Texts come from root's data-msg-* attributes.
 */
export class DeviceCheck {
  constructor(root, { onTrackChange, onResult } = {}) {
    this.root = root;
    this.msg = root.dataset;
    this.preview = root.querySelector("video[data-preview]");
    this.result = root.querySelector("[data-check-result]");
    this.problemBox = root.querySelector("[data-check-problem]");
    this.selects = [...root.querySelectorAll("select[data-device-select]")];
    this.onTrackChange = onTrackChange || (() => {});
    this.onResult = onResult || (() => {});
    this.stream = null;
    this.problem = null;
    this.heard = false;
    this.noSoundTimer = null;
    this.meter = new LevelMeter(root.querySelector("meter[data-level]"), (rms) => this.level(rms));
    for (const select of this.selects) {
      select.addEventListener("change", () => this.switchDevice(select.dataset.deviceSelect, select.value));
    }
    root.querySelector('[data-action="retry-media"]')?.addEventListener("click", () => this.start());
    this.onDeviceChange = () => this.fillDeviceLists();
    navigator.mediaDevices?.addEventListener?.("devicechange", this.onDeviceChange);
  }

  /** Ask for camera and microphone (again). Resolves to the stream, or null. */
  async start() {
    this.meter.detach();
    stopStream(this.stream);
    this.stream = null;
    this.heard = false;
    this.show("checking", this.msg.msgChecking);
    const { stream, problem } = await getLocalMedia();
    this.stream = stream;
    this.problem = problem;
    this.attachPreview();
    this.meter.attach(stream);
    await this.fillDeviceLists();
    this.evaluate();
    return stream;
  }

  /** Keep the stream (it goes on into the call) but stop measuring. */
  stopMeter() {
    this.meter.stop();
    clearTimeout(this.noSoundTimer);
  }

  stop() {
    this.stopMeter();
    stopStream(this.stream);
    this.stream = null;
    navigator.mediaDevices?.removeEventListener?.("devicechange", this.onDeviceChange);
  }

  attachPreview() {
    if (!this.preview) return;
    this.preview.muted = true;
    this.preview.srcObject = this.stream && this.stream.getVideoTracks().length ? this.stream : null;
    this.preview.play?.().catch(() => {});
  }

  async switchDevice(kind, deviceId) {
    if (!this.stream || !deviceId) return;
    const trackKind = kind === "audioinput" ? "audio" : "video";
    // Phones cannot open two cameras at once: stop the old one first.
    for (const track of this.stream.getTracks().filter((t) => t.kind === trackKind)) {
      track.stop();
      this.stream.removeTrack(track);
    }
    const constraints =
      trackKind === "audio"
        ? { audio: { ...audioConstraints(), deviceId: { exact: deviceId } } }
        : { video: { width: { ideal: 1280 }, height: { ideal: 720 }, deviceId: { exact: deviceId } } };
    try {
      const fresh = await navigator.mediaDevices.getUserMedia(constraints);
      const track = fresh.getTracks()[0];
      this.stream.addTrack(track);
      saveDevice(kind, deviceId);
      if (trackKind === "audio") {
        this.heard = false;
        this.meter.attach(this.stream);
      }
      this.attachPreview();
      this.problem = null;
      this.onTrackChange(trackKind, track);
    } catch (error) {
      this.problem = trackKind === "audio" ? "noMicrophone" : "noCamera";
      if (problemOf(error) === "inUse") this.problem = "inUse";
    }
    this.evaluate();
  }

  async fillDeviceLists() {
    if (!navigator.mediaDevices?.enumerateDevices) return;
    let devices = [];
    try {
      devices = await navigator.mediaDevices.enumerateDevices();
    } catch {
      return;
    }
    for (const select of this.selects) {
      const kind = select.dataset.deviceSelect;
      const list = devices.filter((d) => d.kind === kind && d.deviceId);
      const track = this.stream?.getTracks().find((t) => t.kind === (kind === "audioinput" ? "audio" : "video"));
      const current = track?.getSettings().deviceId;
      select.replaceChildren(
        ...list.map((d, i) => {
          const option = document.createElement("option");
          option.value = d.deviceId;
          option.textContent = d.label || `${select.dataset.fallbackLabel || ""} ${i + 1}`.trim();
          option.selected = d.deviceId === current;
          return option;
        }),
      );
      const field = select.closest(".form-field") || select;
      field.hidden = list.length === 0;
    }
  }

  level(rms) {
    if (rms > HEARD_RMS && !this.heard) {
      this.heard = true;
      this.evaluate();
    }
  }

  evaluate() {
    clearTimeout(this.noSoundTimer);
    const hasAudio = !!this.stream && this.stream.getAudioTracks().length > 0;
    if (this.problem) {
      this.show("problem", this.problemText(), true);
      return;
    }
    if (!hasAudio) return;
    if (this.heard) {
      this.show("ok", this.msg.msgOk);
      return;
    }
    this.show("speak", this.msg.msgSpeak);
    this.noSoundTimer = setTimeout(() => {
      if (!this.heard) this.show("no-sound", this.msg.msgNoSound);
    }, NO_SOUND_AFTER_MS);
  }

  problemText() {
    const key = `msg${this.problem.charAt(0).toUpperCase()}${this.problem.slice(1)}`;
    return this.msg[key] || this.msg.msgOther || "";
  }

  show(result, text, isProblem = false) {
    if (this.result) {
      this.result.dataset.result = result;
      this.result.textContent = isProblem ? "" : text || "";
      this.result.hidden = isProblem;
    }
    if (this.problemBox) {
      this.problemBox.hidden = !isProblem;
      const target = this.problemBox.querySelector("[data-problem-text]") || this.problemBox;
      target.textContent = isProblem ? text : "";
      this.problemBox.dataset.problem = isProblem ? this.problem : "";
    }
    this.root.dataset.result = result;
    this.onResult(result);
  }

  /** Whether the check found both a camera and a microphone (whether sound came through or not). */
  get found() {
    return (
      !this.problem &&
      !!this.stream &&
      this.stream.getVideoTracks().length > 0 &&
      this.stream.getAudioTracks().length > 0
    );
  }
}

// The stand-alone test page /apparaattest: camera and microphone first, then the connection test
// with the same stream (network-check.js, loaded only here and in the waiting room).
const page = document.querySelector("[data-device-check-page]");
if (page) {
  const check = new DeviceCheck(page);
  const started = check.start();
  const networkRoot = document.querySelector("[data-network-check]");
  const network = networkRoot
    ? import("./network-check.js").then(
        ({ NetworkCheck }) =>
          new NetworkCheck(networkRoot, {
            getStream: () => started.then(() => check.stream),
            deviceProblem: () => check.problem,
          }),
      )
    : Promise.resolve(null);
  let networkCheck = null;
  Promise.all([network, started]).then(([n]) => {
    networkCheck = n;
    n?.run();
  });
  window.__balie = Object.freeze({
    get result() {
      return page.dataset.result;
    },
    get problem() {
      return check.problem;
    },
    network: () => (networkCheck ? { ...networkCheck.result } : null),
  });
  window.addEventListener("pagehide", () => check.stop());
}
