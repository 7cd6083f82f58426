"""The notebook's live avatar (`widgets.AvatarWidget`, pythreejs) in JupyterLab + headless Chromium (software WebGL2).

A notebook builds a small synthetic avatar (3 layers of the demo head) and its web bundle with a talking-head
sequence, shows an `AvatarWidget` of the bundle and then moves it to frame 7 of the sequence (what its player
does). tests/browser/jupyterlab_screenshot.mjs runs it and saves the widget's canvas; the test compares that
canvas with `raster.render_baked` of the same frame and camera: the avatar is drawn (not blank, not full) and
looks like the reference (mean colour inside the mask, PSNR inside the mask). Uses the session's JupyterLab server
(fixture `jupyterlab`, tests/conftest.py). Set-up once: `bash tests/browser/setup.sh`. Pictures go to
$BAKEDAVATAR_ARTIFACTS.
"""
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from web_fps import talking_sequence  # noqa: E402

SIZE, FRAME = 320, 7
CELLS = [
    """from pathlib import Path
from bakedavatar.export import export_web
from bakedavatar.raster import demo_head_asset
from bakedavatar.widgets import AvatarWidget
avatar = demo_head_asset(n_layers=3, texture_res=256)
bundle = export_web(avatar, Path("bundle"), sequences=[Path("talk")])""",
    f"""aw = AvatarWidget(bundle, width={SIZE}, height={SIZE})
aw""",
    # after display: the player's step to a frame must reach the browser
    f"aw.frame_slider.value = {FRAME}",
]


def test_avatar_widget_renders_in_jupyterlab(jupyterlab, artifacts):
    from bakedavatar.raster import demo_head_asset, render_baked

    nb_dir = jupyterlab.write_notebook("avatar/avatar.ipynb", CELLS).parent
    talk = talking_sequence(nb_dir / "talk", n_frames=12)
    run = jupyterlab.run_notebook("avatar/avatar.ipynb", artifacts / "avatar_widget_jupyterlab.png", timeout=100)
    report = run.report
    assert run.returncode == 0 and report.get("ok"), run
    assert report["errors"] == [] and report["pageErrors"] == [] and report["widgetErrors"] == [], run
    canvases = [c for c in report["canvases"] if (c["width"], c["height"]) == (SIZE, SIZE)]
    assert canvases, run
    assert 0.05 < canvases[0]["nonBackground"] < 0.9, run  # the avatar covers part of the canvas

    # the reference: the same frame and camera (the bundle's: the sequence's), drawn by PyTorch
    import imageio.v3 as iio
    shot = iio.imread(canvases[0]["file"])[..., :3].astype(np.float64) / 255  # may be a pixel larger (rounding)
    params = json.loads((talk / "flame_params.json").read_text())
    frame = params["frames"][FRAME]
    camera = json.loads((nb_dir / "bundle" / "manifest.json").read_text())["camera"]
    K = np.diag([SIZE / camera["width"], SIZE / camera["height"], 1]) @ np.asarray(camera["K"])
    f = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32)
    with torch.no_grad():
        out = render_baked(demo_head_asset(n_layers=3, texture_res=256), f(frame["expression"])[None],
                           f(frame["pose"])[None], f(K), f(camera["w2c"]), (SIZE, SIZE), rasterizer="torch")
    ref, mask = out["rgb"][0].numpy(), out["mask"][0].numpy() > 0.5
    # the element screenshot's box is rounded: take the SIZE x SIZE crop that lines up best
    crops = [shot[y:y + SIZE, x:x + SIZE] for y in range(shot.shape[0] - SIZE + 1) for x in range(shot.shape[1] - SIZE + 1)]
    got = min(crops, key=lambda c: ((c - ref) ** 2)[mask].mean())
    iio.imwrite(artifacts / "avatar_widget_vs_pytorch.png",
                (np.concatenate([got, ref, np.clip(4 * np.abs(got - ref), 0, 1)], 1) * 255).round().astype(np.uint8))
    mean_got, mean_ref = got[mask].mean(0), ref[mask].mean(0)
    mse = ((got - ref) ** 2)[mask].mean()
    psnr = 10 * np.log10(1 / mse)
    print(f"mean colour in the mask: widget {mean_got.round(3)}, render_baked {mean_ref.round(3)}; PSNR {psnr:.1f} dB; "
          f"canvas | reference | 4 x difference: {artifacts / 'avatar_widget_vs_pytorch.png'}")
    assert np.abs(mean_got - mean_ref).max() < 0.03, (mean_got, mean_ref, run)
    assert psnr > 25, (psnr, run)
