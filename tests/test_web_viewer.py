"""The web viewer (web/) in a real browser against the PyTorch renderer of baked assets.

Exports a small synthetic avatar (3 layers of the demo head) and a talking-head sequence, serves them with
`bakedavatar.export.make_server`, and drives headless Chromium (software WebGL2) with
tests/browser/web_viewer.mjs: frames of the sequence and explicit expressions/poses rendered with given cameras
(the test mode `?frame=&sequence=&camera=` and the `window.bakedavatar` hooks), compared with
`raster.render_baked` of the asset: PSNR >= 30 dB inside the mask. Also: the JavaScript per-frame maths equals
`export.frame_uniforms`, a sequence plays, the frame-rate readout works.
Set-up once: `bash tests/browser/setup.sh`. Pictures go to $BAKEDAVATAR_ARTIFACTS (default: a temporary folder).
The recorded frame rate comes from `python benchmarks/web_fps.py`, which this test shares its driver with.
"""
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from web_fps import run_viewer, talking_sequence  # noqa: E402

from bakedavatar.export import export_web, frame_uniforms, load_web_sequences  # noqa: E402
from bakedavatar.raster import demo_head_asset, render_baked  # noqa: E402

MIN_PSNR = 30.0


def psnr(a, b, mask) -> float:
    "PSNR in dB over the pixels where `mask` > 0.5."
    d = ((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)[np.asarray(mask) > 0.5]
    return float(10 * np.log10(1.0 / max(d.mean(), 1e-12)))


def reference(asset, expression, pose, camera) -> tuple[np.ndarray, np.ndarray]:
    "render_baked (PyTorch, CPU) of one frame with an OpenCV camera dict: (H,W,3) rgb, (H,W) mask, rows top-down."
    f = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32)
    with torch.no_grad():
        out = render_baked(asset, f(expression)[None], f(pose)[None], f(camera["K"]), f(camera["w2c"]),
                           (camera["height"], camera["width"]), rasterizer="torch")
    return out["rgb"][0].numpy(), out["mask"][0].numpy()


def orbit(camera: dict, yaw_deg: float, centre) -> dict:
    "The camera turned by `yaw_deg` about the vertical axis through `centre`."
    a = np.radians(yaw_deg)
    R = np.array([[np.cos(a), 0, np.sin(a), 0], [0, 1, 0, 0], [-np.sin(a), 0, np.cos(a), 0], [0, 0, 0, 1]])
    T = np.eye(4)
    T[:3, 3] = centre
    Ti = np.eye(4)
    Ti[:3, 3] = -np.asarray(centre)
    return dict(camera, w2c=(np.asarray(camera["w2c"]) @ T @ R @ Ti).tolist())


@pytest.fixture
def artifacts() -> Path:
    out = Path(os.environ.get("BAKEDAVATAR_ARTIFACTS") or tempfile.mkdtemp(prefix="bakedavatar-artifacts-"))
    out.mkdir(parents=True, exist_ok=True)
    return out


def test_web_viewer_matches_pytorch(tmp_path, artifacts):
    if shutil.which("node") is None:
        pytest.skip("node is not installed (needed to drive Chromium through playwright-core)")
    asset = demo_head_asset(n_layers=3, texture_res=256)
    # opacity differing between bases (as after fine-tuning): basis 0 fully transparent on half of every outer
    # layer, so any premultiplication of colour by opacity in the browser's image decoding would show
    for L in asset.layers[1:]:
        L.radiance_textures[0, :, : L.radiance_textures.shape[2] // 2, 3] = 0
    bundle = export_web(asset, tmp_path / "bundle", sequences=[talking_sequence(tmp_path / "talk", n_frames=24)])
    seq = load_web_sequences(bundle)["talk"]
    manifest = json.loads((bundle / "manifest.json").read_text())
    front = dict(manifest["camera"], width=160, height=160)
    front["K"] = (np.diag([160 / 512, 160 / 512, 1]) @ np.asarray(front["K"])).tolist()
    # a second camera: turned 35 degrees, non-square image, principal point off centre
    side = orbit(dict(front, width=128, height=160), 35.0, manifest["bounds"]["center"])
    side["K"] = (np.asarray(side["K"]) + [[0, 0, -10], [0, 0, 6], [0, 0, 0]]).tolist()
    jaw = np.zeros(15, np.float32)
    jaw[[4, 6]] = [-0.3, 0.25]
    cases = [  # (name, expression, pose, camera, job)
        ("frame 5, front", seq[5, :-15], seq[5, -15:], front, dict(sequence="talk", frame=5, camera=front)),
        ("frame 17, side", seq[17, :-15], seq[17, -15:], side, dict(sequence="talk", frame=17, camera=side)),
        ("jaw open, head turned, side", seq[0, :-15], jaw, side,
         dict(expression=seq[0, :-15].tolist(), pose=jaw.tolist(), camera=side)),
    ]
    jobs = dict(testMode=cases[0][4], renders=[c[4] for c in cases[1:]],
                uniforms=[dict(expression=seq[i, :-15].tolist(), pose=seq[i, -15:].tolist()) for i in (3, 11)],
                benchmark=dict(frames=60, budgetMs=1000, width=256, height=256), playSeconds=1.5)
    report, stderr = run_viewer(bundle, jobs, tmp_path / "browser", timeout=110)
    shot = Path(report.get("screenshot", tmp_path / "none"))
    if shot.exists():
        shutil.copy(shot, artifacts / "web_viewer.png")
    context = f"report {json.dumps(report)[:3000]}\nnode stderr:\n{stderr[-3000:]}\nscreenshot: {artifacts / 'web_viewer.png'}"
    assert report.get("ok"), context
    assert report["pageErrors"] == [] and report["consoleErrors"] == [], context

    # pixels: the viewer against render_baked of the asset itself
    files = [report["testMode"]] + report["renders"]
    panels = []
    for (name, e, p, cam, _), got in zip(cases, files):
        assert (got["width"], got["height"]) == (cam["width"], cam["height"]), (name, got)
        gl = np.fromfile(got["file"], np.uint8).reshape(cam["height"], cam["width"], 4)[..., :3] / 255.0
        ref, mask = reference(asset, e, p, cam)
        assert 0.1 < mask.mean() < 0.8, (name, mask.mean())
        value = psnr(gl, ref, mask)
        print(f"{name}: PSNR {value:.1f} dB inside the mask ({mask.mean():.0%} of the pixels)")
        panels.append(np.concatenate([gl, ref, np.clip(4 * np.abs(gl - ref), 0, 1)], 1))
        assert value >= MIN_PSNR, (name, value, context)
    import imageio.v3 as iio
    width = max(p.shape[1] for p in panels)
    grid = np.concatenate([np.pad(p, ((0, 0), (0, width - p.shape[1]), (0, 0)), constant_values=1) for p in panels])
    iio.imwrite(artifacts / "web_viewer_vs_pytorch.png", (grid * 255).round().astype(np.uint8))
    print(f"viewer | render_baked | 4 x difference: {artifacts / 'web_viewer_vs_pytorch.png'}")

    # the JavaScript twin of frame_uniforms
    for u, js in zip(jobs["uniforms"], report["uniforms"]):
        py = frame_uniforms(asset, u["expression"], u["pose"])
        for key, value in py.items():
            np.testing.assert_allclose(np.asarray(js[key], np.float32), value, rtol=1e-4, atol=2e-5, err_msg=key)

    # playback advances; the frame-rate readout is filled in
    before, after = report["playback"]["before"], report["playback"]["after"]
    assert after["playing"] and after["sequence"] == 0, report["playback"]
    assert after["frame"] != before["frame"], report["playback"]
    b = report["benchmark"]
    assert b["fps"] > 0 and b["frames"] >= 1 and (b["width"], b["height"]) == (256, 256), b
    assert "frames/s" in b["readout"], b
    print(f"uncapped {b['fps']:.2f} frames/s at 256x256 (software WebGL2); screenshot {artifacts / 'web_viewer.png'}")
