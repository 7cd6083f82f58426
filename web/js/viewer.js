// The bakedavatar viewer: loads a bundle (?bundle=URL, default bundle/), plays its sequences, orbits, measures.
// ?size=WxH fixes the canvas size (benchmarks). Test mode: ?frame=N&sequence=S&camera={"K":..,"w2c":..,
// "width":..,"height":..} renders that frame once at width x height and sets window.renderDone = true.
// window.bakedavatar exposes hooks for tests and scripts (at the end of this file).
import * as THREE from "three";
import { OrbitControls } from "three/addons/controls/OrbitControls.js";
import { AvatarScene, setOpenCVCamera } from "./avatar.js";
import { loadBundle, sequenceFrame } from "./bundle.js";
import { frameUniforms } from "./avatar_math.js";

const params = new URLSearchParams(window.location.search);
const testMode = params.has("frame");
const $ = (id) => document.getElementById(id);
window.renderDone = false;

function status(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function base64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

class Viewer {
  constructor(bundle) {
    this.bundle = bundle;
    this.avatar = new AvatarScene(bundle);
    this.canvas = $("view");
    this.renderer = new THREE.WebGLRenderer({ canvas: this.canvas, antialias: false, alpha: false });
    this.renderer.setPixelRatio(1);
    this.renderer.setClearColor(0xffffff, 1);
    this.gl = this.renderer.getContext();
    this.camera = new THREE.PerspectiveCamera();
    this.cameraSpec = bundle.manifest.camera;
    this.sequence = bundle.sequences.length ? 0 : -1;
    this.frameIndex = 0;
    this.playing = false;
    this.neutral = { expression: new Array(bundle.manifest.dims.n_expr).fill(0), pose: new Array(15).fill(0) };
  }

  // Canvas size in CSS pixels = drawing-buffer size (pixel ratio 1: what is measured is what is drawn).
  resize(width, height) {
    this.renderer.setSize(width, height, true);
    this.width = width;
    this.height = height;
  }

  setCamera(spec) {
    this.cameraSpec = spec;
    setOpenCVCamera(this.camera, spec, this.width, this.height);
    if (this.controls) this.aimControls();
  }

  // Orbit about the point of the optical axis nearest to the avatar's centre: the view does not jump.
  aimControls() {
    const dir = new THREE.Vector3(0, 0, -1).applyQuaternion(this.camera.quaternion);
    const centre = new THREE.Vector3(...this.bundle.manifest.bounds.center);
    const dist = centre.clone().sub(this.camera.position).dot(dir);
    this.controls.target.copy(this.camera.position).addScaledVector(dir, dist);
    this.controls.update();
  }

  current() {
    if (this.sequence < 0) return this.neutral;
    return sequenceFrame(this.bundle.sequences[this.sequence], this.frameIndex);
  }

  render(frame = this.current()) {
    this.avatar.setFrame(frame.expression, frame.pose);
    this.renderer.render(this.avatar.scene, this.camera);
  }

  // Pixels of the drawing buffer, rows top to bottom, RGBA8 (call right after render, in the same task).
  readPixels() {
    const { width, height, gl } = this;
    const buf = new Uint8Array(width * height * 4);
    gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, buf);
    const out = new Uint8Array(buf.length), row = width * 4;
    for (let y = 0; y < height; y++) out.set(buf.subarray((height - 1 - y) * row, (height - y) * row), y * row);
    return out;
  }

  // Uncapped frame rate: frames rendered back to back (a different sequence frame each) in batches of 1, 2, 4, ...
  // each closed by reading one pixel back, which waits until the GPU has finished them; it stops after
  // `budgetMs` or `maxFrames`. No requestAnimationFrame in the loop: the display's refresh rate does not cap it.
  benchmark(maxFrames = 240, budgetMs = 1000) {
    const seq = this.sequence >= 0 ? this.bundle.sequences[this.sequence] : null;
    const pixel = new Uint8Array(4);
    const sync = () => this.gl.readPixels(0, 0, 1, 1, this.gl.RGBA, this.gl.UNSIGNED_BYTE, pixel);
    this.render();
    sync();
    let frames = 0, batch = 1;
    const t0 = performance.now();
    while (frames < maxFrames) {
      for (let i = 0; i < batch; i++, frames++) {
        this.render(seq ? sequenceFrame(seq, frames % seq.frames) : this.neutral);
      }
      sync();
      if (performance.now() - t0 >= budgetMs) break;
      batch = Math.min(2 * batch, maxFrames - frames);
    }
    const ms = performance.now() - t0;
    const result = { fps: (1000 * frames) / ms, frames, ms, width: this.width, height: this.height };
    $("fps").textContent = `uncapped: ${result.fps.toFixed(1)} frames/s ` +
      `(${frames} frame${frames === 1 ? "" : "s"} at ${this.width}x${this.height})`;
    this.lastBenchmark = result;
    this.render();
    return result;
  }

  selectSequence(i) {
    this.sequence = i;
    this.frameIndex = 0;
    this.start = performance.now();
    const n = i >= 0 ? this.bundle.sequences[i].frames : 1;
    $("timeline").max = String(n - 1);
    document.querySelectorAll("#sequences button").forEach((b, k) => b.classList.toggle("active", k === i));
    this.showFrame(0);
  }

  showFrame(i) {
    this.frameIndex = i;
    $("timeline").value = String(i);
    const seq = this.sequence >= 0 ? this.bundle.sequences[this.sequence] : null;
    $("frame-label").textContent = seq ? `${seq.name} ${i + 1}/${seq.frames}` : "neutral";
    this.render();
  }

  setPlaying(on) {
    this.playing = on && this.sequence >= 0;
    $("play").textContent = this.playing ? "pause" : "play";
    this.start = performance.now() - (1000 * this.frameIndex) / this.fps();
  }

  fps() {
    return this.sequence >= 0 ? this.bundle.sequences[this.sequence].fps : 25;
  }

  // Playback at the sequence's frame rate (25 fps), drawn on animation frames.
  tick(now) {
    if (this.playing) {
      const seq = this.bundle.sequences[this.sequence];
      const i = Math.max(0, Math.floor(((now - this.start) * this.fps()) / 1000)) % seq.frames;
      if (i !== this.frameIndex) this.showFrame(i);
    }
    requestAnimationFrame((t) => this.tick(t));
  }

  // The interactive viewer: canvas filling the stage (or fixed by ?size=WxH), orbit controls, sequence buttons,
  // timeline, play/pause, frame-rate readout.
  interactive() {
    const stage = $("stage");
    const fixed = /^(\d+)x(\d+)$/.exec(params.get("size") || "");
    if (fixed) {
      stage.style.flex = `0 0 ${fixed[1]}px`;
      stage.style.height = `${fixed[2]}px`;
    }
    const fit = () => {
      const r = stage.getBoundingClientRect();
      this.resize(Math.max(64, Math.floor(r.width)), Math.max(64, Math.floor(r.height)));
      const spec = this.cameraSpec;
      const keep = this.controls ? { position: this.camera.position.clone(), quaternion: this.camera.quaternion.clone() } : null;
      setOpenCVCamera(this.camera, spec, this.width, this.height);
      if (keep) {
        this.camera.position.copy(keep.position);
        this.camera.quaternion.copy(keep.quaternion);
        this.camera.updateMatrixWorld(true);
      }
      this.render();
    };
    this.resize(Math.floor(stage.clientWidth) || 512, Math.floor(stage.clientHeight) || 512);
    this.controls = new OrbitControls(this.camera, this.canvas);
    this.setCamera(this.cameraSpec);
    this.controls.addEventListener("change", () => this.render());
    new ResizeObserver(fit).observe(stage);
    const list = $("sequences");
    this.bundle.sequences.forEach((s, i) => {
      const b = document.createElement("button");
      b.textContent = `${s.name} (${s.frames})`;
      b.addEventListener("click", () => { this.selectSequence(i); this.setPlaying(true); });
      list.append(b);
    });
    const neutral = document.createElement("button");
    neutral.textContent = "neutral";
    neutral.addEventListener("click", () => { this.setPlaying(false); this.selectSequence(-1); });
    list.append(neutral);
    $("play").addEventListener("click", () => this.setPlaying(!this.playing));
    $("timeline").addEventListener("input", (e) => { this.setPlaying(false); this.showFrame(Number(e.target.value)); });
    $("measure").addEventListener("click", () => this.benchmark());
    $("front").addEventListener("click", () => this.setCamera(this.bundle.manifest.camera));
    const m = this.bundle.manifest;
    $("info").textContent = `${m.layers.length} layers, ${m.layers.reduce((s, l) => s + l.faces, 0)} triangles, ` +
      `${m.dims.num_basis} bases, textures ${m.dims.texture_res}px, ${m.dims.n_expr} expressions`;
    this.selectSequence(this.sequence);
    status(`loaded ${this.bundle.url}`);
    setTimeout(() => this.benchmark(), 200);
    requestAnimationFrame((t) => this.tick(t));
  }
}

function sequenceIndex(bundle, key) {
  const byName = bundle.sequences.findIndex((s) => s.name === key);
  const i = byName >= 0 ? byName : Number(key);
  if (!(i >= 0 && i < bundle.sequences.length)) throw new Error(`no sequence ${key}`);
  return i;
}

async function main() {
  const bundle = await loadBundle(params.get("bundle") || "bundle/");
  const viewer = new Viewer(bundle);
  // Hooks for tests and scripts. Cameras are OpenCV: {K (3x3 pixels of width x height), w2c (4x4), width, height}.
  window.bakedavatar = {
    viewer, manifest: bundle.manifest,
    // draw an expression + pose with a camera at the camera's size; returns the pixels (rows top to bottom)
    render({ expression, pose, camera }) {
      viewer.resize(camera.width, camera.height);
      setOpenCVCamera(viewer.camera, camera, camera.width, camera.height);
      viewer.render({ expression, pose });
      return { width: viewer.width, height: viewer.height, rgba: base64(viewer.readPixels()) };
    },
    // the same for frame `frame` of sequence `sequence` (name or index)
    renderFrame({ sequence, frame, camera }) {
      const { expression, pose } = sequenceFrame(bundle.sequences[sequenceIndex(bundle, sequence)], frame);
      return this.render({ expression, pose, camera });
    },
    readPixels() {
      viewer.render();
      return { width: viewer.width, height: viewer.height, rgba: base64(viewer.readPixels()) };
    },
    frameUniforms: (expression, pose) => {
      const u = frameUniforms(viewer.avatar.model, expression, pose);
      return Object.fromEntries(Object.entries(u).map(([k, v]) => [k, Array.from(v)]));
    },
    benchmark: (maxFrames, budgetMs) => viewer.benchmark(maxFrames, budgetMs),
    play: () => viewer.setPlaying(true),
    pause: () => viewer.setPlaying(false),
    state: () => ({ sequence: viewer.sequence, frame: viewer.frameIndex, playing: viewer.playing,
      benchmark: viewer.lastBenchmark ?? null }),
  };
  if (testMode) {
    const camera = params.has("camera") ? JSON.parse(params.get("camera")) : bundle.manifest.camera;
    viewer.sequence = bundle.sequences.length ? sequenceIndex(bundle, params.get("sequence") ?? "0") : -1;
    viewer.frameIndex = Number(params.get("frame"));
    viewer.resize(camera.width, camera.height);
    viewer.setCamera(camera);
    viewer.render();
    status(`test frame ${viewer.frameIndex}`);
  } else {
    viewer.interactive();
  }
  window.renderDone = true;
}

main().catch((e) => {
  console.error(e);
  status(`error: ${e.message}`, true);
  window.renderError = String(e.message || e);
});
