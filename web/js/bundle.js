// Loading a bakedavatar web bundle (written by bakedavatar.export.export_web): the manifest, the generated
// shaders, the (gzip-compressed) binary buffer as typed-array views (no copies), the texture atlases and the
// sequences.

const TYPED = { float32: Float32Array, float16: Uint16Array, uint32: Uint32Array, uint16: Uint16Array, int8: Int8Array };

async function fetchOk(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r;
}

// Decode an image exactly as stored: no premultiplied alpha (opacity and colour are separate data), no colour
// management; rows in file order (row 0 = v = 0: upload with flipY false).
async function loadImage(url) {
  const blob = await (await fetchOk(url)).blob();
  return createImageBitmap(blob, { premultiplyAlpha: "none", colorSpaceConversion: "none" });
}

// A binary buffer, inflated with the browser's DecompressionStream when it is gzip data (a web server may
// already have inflated it: then it is taken as is).
async function loadBuffer(url) {
  const data = await (await fetchOk(url)).arrayBuffer();
  const head = new Uint8Array(data, 0, Math.min(2, data.byteLength));
  if (head[0] !== 0x1f || head[1] !== 0x8b) return data;
  const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Response(stream).arrayBuffer();
}

export async function loadBundle(base) {
  const root = new URL(base.endsWith("/") ? base : `${base}/`, window.location.href);
  const at = (uri) => new URL(uri, root).toString();
  const manifest = await (await fetchOk(at("manifest.json"))).json();
  if (manifest.format !== "bakedavatar-web" || manifest.format_version !== 1) {
    throw new Error(`${at("manifest.json")}: not a bakedavatar web bundle of format_version 1`);
  }
  const [shaders, buffers] = await Promise.all([
    fetchOk(at(manifest.shaders)).then((r) => r.json()),
    Promise.all(manifest.buffers.map((b) => loadBuffer(at(b.uri)))),
  ]);
  manifest.buffers.forEach((b, i) => {
    if (buffers[i].byteLength !== b.byteLength) throw new Error(`${at(b.uri)}: expected ${b.byteLength} bytes`);
  });
  // a typed array on the buffer (float16 data stays raw Uint16 halves, as WebGL's HALF_FLOAT wants it)
  const view = (name) => {
    const v = manifest.views[name];
    if (!v) throw new Error(`manifest.json: no view ${name}`);
    const T = TYPED[v.dtype];
    return new T(buffers[v.buffer], v.byteOffset, v.byteLength / T.BYTES_PER_ELEMENT);
  };
  const images = await Promise.all(manifest.layers.map(async (layer) => ({
    position: await loadImage(at(layer.textures.position.uri)),
    radiance: await loadImage(at(layer.textures.radiance.uri)),
  })));
  const sequences = await Promise.all(manifest.sequences.map(async (s) => ({
    ...s, data: new Float32Array(await (await fetchOk(at(s.uri))).arrayBuffer()),
  })));
  return { manifest, shaders, view, images, sequences, url: root.toString() };
}

// Expression and pose of frame `i` of a loaded sequence.
export function sequenceFrame(sequence, i) {
  const { expression: [e0, e1], pose: [p0, p1] } = sequence.columns;
  const width = p1;
  const row = sequence.data.subarray(i * width, (i + 1) * width);
  return { expression: Array.from(row.subarray(e0, e1)), pose: Array.from(row.subarray(p0, p1)) };
}
