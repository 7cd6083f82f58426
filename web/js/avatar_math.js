// The baked avatar's per-frame CPU work (BAKED_RENDER.md step 1), packed for the generated shaders.
// JavaScript twin of bakedavatar.export.frame_uniforms (texture.asset_bones + texture.asset_mlp_weights);
// tests/test_web_viewer.py compares the two. No dependencies: plain arrays in, Float32Arrays out.

export const ceil4 = (n) => Math.ceil(n / 4);

// Rodrigues' formula, as head_model.rodrigues: axis-angle -> row-major 3x3, exactly the identity at zero.
export function rodrigues(rx, ry, rz) {
  const theta = Math.sqrt(rx * rx + ry * ry + rz * rz + 1e-16);
  const x = rx / theta, y = ry / theta, z = rz / theta;
  const s = Math.sin(theta), c = 1 - Math.cos(theta);
  // I + s K + (1 - cos) K K with K = [[0, -z, y], [z, 0, -x], [-y, x, 0]]
  return [
    1 + c * (-z * z - y * y), -s * z + c * x * y, s * y + c * x * z,
    s * z + c * x * y, 1 + c * (-z * z - x * x), -s * x + c * y * z,
    -s * y + c * x * z, s * x + c * y * z, 1 + c * (-y * y - x * x),
  ];
}

// Product of two row-major 4x4 matrices.
function mul4(a, b) {
  const out = new Array(16).fill(0);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) {
    let s = 0;
    for (let k = 0; k < 4; k++) s += a[4 * i + k] * b[4 * k + j];
    out[4 * i + j] = s;
  }
  return out;
}

// [R t; 0 1] as a row-major 4x4 from a row-major 3x3 and a translation.
const rigid = (R, t) => [R[0], R[1], R[2], t[0], R[3], R[4], R[5], t[1], R[6], R[7], R[8], t[2], 0, 0, 0, 1];

// Relative bone transforms (head_model.kinematic_chain) and pose feature (flattened R - I of joints 1..J-1)
// for a pose (15 = 5 joints x axis-angle). Returns {transforms: [row-major 4x4 per bone], poseFeature: [36]}.
export function bones(model, pose) {
  const { joints, parents } = model;
  const rot = joints.map((_, j) => rodrigues(pose[3 * j], pose[3 * j + 1], pose[3 * j + 2]));
  const chain = [], transforms = [];
  joints.forEach((J, j) => {
    const p = parents[j];
    const offset = j === 0 ? J : [J[0] - joints[p][0], J[1] - joints[p][1], J[2] - joints[p][2]];
    const local = rigid(rot[j], offset);
    const G = j === 0 ? local : mul4(chain[p], local);
    chain.push(G);
    const rest = [0, 1, 2].map((r) => G[4 * r] * J[0] + G[4 * r + 1] * J[1] + G[4 * r + 2] * J[2]);
    transforms.push(rigid([G[0], G[1], G[2], G[4], G[5], G[6], G[8], G[9], G[10]],
      [G[3] - rest[0], G[7] - rest[1], G[11] - rest[2]]));
  });
  if (model.ghostbone) transforms.unshift([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
  const poseFeature = [];
  for (let j = 1; j < joints.length; j++) {
    rot[j].forEach((v, k) => poseFeature.push(v - (k % 4 === 0 ? 1 : 0)));
  }
  return { transforms, poseFeature };
}

// The global MLP (texture.asset_mlp_weights): cond = [pose[6:15], expression], PReLU after every layer but
// the last. Layers: [{weight (out*in, row-major), bias (out), prelu (1 or out) or null, out, in}].
export function globalMLP(model, expression, pose) {
  let h = [...pose.slice(6, 15), ...expression];
  model.mlp.forEach((layer, i) => {
    const next = new Array(layer.out);
    for (let o = 0; o < layer.out; o++) {
      let s = layer.bias[o];
      const row = o * layer.in;
      for (let k = 0; k < layer.in; k++) s += layer.weight[row + k] * h[k];
      if (i < model.mlp.length - 1) {
        const a = layer.prelu.length === 1 ? layer.prelu[0] : layer.prelu[o];
        s = s >= 0 ? s : a * s;
      }
      next[o] = s;
    }
    h = next;
  });
  return h;
}

// Rows of a row-major (rows, n) matrix starting at `offset` of `flat`, each zero padded to 4 * ceil(n / 4).
function paddedRows(flat, offset, rows, n) {
  const n4 = 4 * ceil4(n), out = new Float32Array(rows * n4);
  for (let r = 0; r < rows; r++) for (let c = 0; c < n; c++) out[r * n4 + c] = flat[offset + r * n + c];
  return out;
}

// Everything the shaders need per frame: u_bones (column-major 4x4 per bone), u_coef ([expression, padding,
// pose feature]), u_w1 (H rows of ceil((C+6)/4) vec4), u_w2 (K rows of ceil(H/4) vec4).
export function frameUniforms(model, expression, pose) {
  const { transforms, poseFeature } = bones(model, pose);
  const u_bones = new Float32Array(16 * transforms.length);
  transforms.forEach((T, b) => {
    for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) u_bones[16 * b + 4 * c + r] = T[4 * r + c];
  });
  const E4 = 4 * ceil4(model.nExpr);
  const u_coef = new Float32Array(E4 + 36);
  for (let e = 0; e < model.nExpr; e++) u_coef[e] = expression[e];
  poseFeature.forEach((v, k) => { u_coef[E4 + k] = v; });
  const w = globalMLP(model, expression, pose);
  const { hidden: H, features: C, bases: K } = model;
  return {
    u_bones, u_coef,
    u_w1: paddedRows(w, 0, H, C + 6),
    u_w2: paddedRows(w, H * (C + 6), K, H),
  };
}

// The maths model of a loaded bundle: dimensions, joints, parents, ghost bone, global MLP layers.
export function mathModel(manifest, view) {
  const d = manifest.dims;
  return {
    nExpr: d.n_expr, features: d.dim_pos_feature, bases: d.num_basis, hidden: d.spatial_hidden,
    joints: manifest.joints, parents: manifest.parents, ghostbone: manifest.ghostbone,
    mlp: manifest.global_mlp.map((l) => {
      const [out, inp] = manifest.views[l.weight].shape;
      return { weight: view(l.weight), bias: view(l.bias), prelu: l.prelu === null ? null : view(l.prelu), out, in: inp };
    }),
  };
}
