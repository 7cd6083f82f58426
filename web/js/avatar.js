// The baked avatar as a three.js scene: one mesh per draw pass (manifest.passes and manifest.pass_kinds, from
// bakedavatar.export.draw_passes and PASS_KINDS), all with the generated shaders of shaders.json (RawShaderMaterial: the
// sources go to WebGL unchanged, `#version 300 es` first). Per frame only the shared uniforms change.
import * as THREE from "three";
import { ceil4, frameUniforms, mathModel } from "./avatar_math.js";

// A pass kind's material settings (manifest.pass_kinds, from bakedavatar.export.PASS_KINDS): three.js names
// (strings) become three.js constants.
const materialState = (state) => Object.fromEntries(Object.entries(state).map(
  ([k, v]) => [k, typeof v === "string" ? THREE[v] : v]));

const BLEND_TYPES = { rgba32f: THREE.FloatType, rgba16f: THREE.HalfFloatType, rgba8_snorm: THREE.ByteType };

// The blendshape texture: fetched per vertex with texelFetch (no filtering)
function dataTexture(bundle, blend) {
  const tex = new THREE.DataTexture(bundle.view(blend.view), blend.width, blend.height, THREE.RGBAFormat,
    BLEND_TYPES[blend.format]);
  if (blend.format === "rgba8_snorm") tex.internalFormat = "RGBA8_SNORM";
  tex.minFilter = tex.magFilter = THREE.NearestFilter;
  tex.generateMipmaps = false;
  tex.flipY = false;
  tex.unpackAlignment = 1;
  tex.needsUpdate = true;
  return tex;
}

function atlasTexture(image) {
  const tex = new THREE.Texture(image);
  tex.flipY = false; // row 0 of the file is v = 0
  tex.premultiplyAlpha = false;
  tex.generateMipmaps = false;
  tex.minFilter = tex.magFilter = THREE.LinearFilter;
  tex.wrapS = tex.wrapT = THREE.ClampToEdgeWrapping;
  tex.colorSpace = THREE.NoColorSpace;
  tex.needsUpdate = true;
  return tex;
}

const padded = (values, n, fill) => {
  const out = new Float32Array(n).fill(fill);
  out.set(values);
  return out;
};

export class AvatarScene {
  constructor(bundle) {
    const { manifest, shaders } = bundle;
    const d = manifest.dims;
    this.manifest = manifest;
    this.model = mathModel(manifest, bundle.view);
    this.scene = new THREE.Scene();
    const E4 = 4 * ceil4(d.n_expr);
    // shared by every material: updated once per frame
    this.frame = {
      u_bones: { value: new Float32Array(16 * d.n_bones) },
      u_coef: { value: new Float32Array(E4 + 36) },
      u_w1: { value: new Float32Array(d.spatial_hidden * 4 * ceil4(d.dim_pos_feature + 6)) },
      u_w2: { value: new Float32Array(d.num_basis * 4 * ceil4(d.spatial_hidden)) },
    };
    const P4 = 4 * ceil4(d.dim_pos_feature);
    this.layers = manifest.layers.map((layer, i) => {
      const geometry = new THREE.BufferGeometry();
      for (const [name, viewName] of Object.entries(layer.attributes)) {
        const shape = manifest.views[viewName].shape;
        geometry.setAttribute(name, new THREE.BufferAttribute(bundle.view(viewName), shape[1]));
      }
      geometry.setIndex(new THREE.BufferAttribute(bundle.view(layer.index), 1));
      const uniforms = {
        ...this.frame,
        u_coef_scale: { value: Float32Array.from(layer.blend.scale) },
        // [blendshapes, position atlas, radiance atlas]: one sampler-array uniform (see glsl_shaders)
        u_textures: { value: [dataTexture(bundle, layer.blend), atlasTexture(bundle.images[i].position),
          atlasTexture(bundle.images[i].radiance)] },
        u_position_offset: { value: padded(layer.position_offset, P4, 0) },
        u_position_scale: { value: padded(layer.position_scale, P4, 1) },
        u_temperature: { value: manifest.spatial_temperature },
        u_opaque: { value: i === 0 ? 1.0 : 0.0 },
        u_depth_scale: { value: i === 0 ? 1.0 + manifest.depth_eps : 1.0 },
      };
      return { geometry, uniforms };
    });
    const reset = new THREE.BufferGeometry();
    reset.setAttribute("position", new THREE.BufferAttribute(new Float32Array([-1, -1, 0, 3, -1, 0, -1, 3, 0]), 3));
    // three.js writes `#version` itself (before its own #defines) when told the GLSL version: hand it the
    // generated sources without their first line, unchanged otherwise
    const body = (src) => src.replace(/^#version 300 es\n/, "");
    manifest.passes.forEach(([kind, l], order) => {
      const { shaders: [vertex, fragment], state } = manifest.pass_kinds[kind];
      const material = new THREE.RawShaderMaterial({
        glslVersion: THREE.GLSL3,
        vertexShader: body(shaders[vertex]),
        fragmentShader: body(shaders[fragment]),
        uniforms: l === null ? {} : this.layers[l].uniforms,
        ...materialState(state),
      });
      const mesh = new THREE.Mesh(kind === "reset" ? reset : this.layers[l].geometry, material);
      mesh.renderOrder = order;
      mesh.frustumCulled = false;
      mesh.name = `${kind} ${l ?? ""}`.trim();
      this.scene.add(mesh);
    });
  }

  // Pose the avatar: per-frame CPU work, then the shared uniforms.
  setFrame(expression, pose) {
    const u = frameUniforms(this.model, expression, pose);
    for (const key of Object.keys(this.frame)) this.frame[key].value.set(u[key]);
    return u;
  }
}

// A three.js camera from an OpenCV camera ({K, w2c, width, height[, near, far]}) drawn on a canvas of
// width x height pixels (the camera's image scaled to fit, centred: the same image when the sizes agree):
// the projection of raster.perspective_projection with the OpenCV -> OpenGL axis flip folded in.
export function setOpenCVCamera(camera, cam, width, height) {
  const k = Math.min(width / cam.width, height / cam.height);
  const ox = (width - k * cam.width) / 2, oy = (height - k * cam.height) / 2;
  const fx = cam.K[0][0] * k, s = cam.K[0][1] * k, cx = cam.K[0][2] * k + ox;
  const fy = cam.K[1][1] * k, cy = cam.K[1][2] * k + oy;
  const n = cam.near ?? 0.1, f = cam.far ?? 100.0;
  camera.near = n;
  camera.far = f;
  camera.projectionMatrix.set(
    2 * fx / width, -2 * s / width, 1 - 2 * cx / width, 0,
    0, 2 * fy / height, 2 * cy / height - 1, 0,
    0, 0, -(f + n) / (f - n), -2 * f * n / (f - n),
    0, 0, -1, 0);
  camera.projectionMatrixInverse.copy(camera.projectionMatrix).invert();
  const w2c = new THREE.Matrix4().set(...cam.w2c.flat());
  const flip = new THREE.Matrix4().makeScale(1, -1, -1);
  const c2w = w2c.clone().invert().multiply(flip); // camera (OpenGL axes) -> world
  c2w.decompose(camera.position, camera.quaternion, camera.scale);
  camera.updateMatrixWorld(true);
}
