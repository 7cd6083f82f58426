"""The notebook's live avatar (`widgets.AvatarWidget`, pythreejs) in JupyterLab + headless Chromium (software WebGL2).

A notebook builds a small synthetic avatar (3 layers of the demo head) and its web bundle with a talking-head
sequence, shows an `AvatarWidget` of the bundle and then moves it to frame 7 of the sequence (what its player
does). tests/browser/jupyterlab_screenshot.mjs runs it and saves the widget's canvas; the test compares that
canvas with `raster.render_baked` of the same frame and camera: the avatar is drawn (not blank, not full) and
looks like the reference (mean colour inside the mask, PSNR inside the mask). Uses the JupyterLab set-up of
tests/test_widgets_browser.py. Set-up once: `bash tests/browser/setup.sh`. Pictures go to $BAKEDAVATAR_ARTIFACTS.
"""
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(HERE))

from test_widgets_browser import BROWSER, CHROMIUM, SETTINGS, _free_port, _wait_for_server  # noqa: E402
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


@pytest.fixture
def artifacts() -> Path:
    out = Path(os.environ.get("BAKEDAVATAR_ARTIFACTS") or tempfile.mkdtemp(prefix="bakedavatar-artifacts-"))
    out.mkdir(parents=True, exist_ok=True)
    return out


def test_avatar_widget_renders_in_jupyterlab(tmp_path, artifacts):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (needed to drive Chromium through playwright-core)")
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: run `bash tests/browser/setup.sh`"
    assert (BROWSER / "node_modules" / "playwright-core").is_dir(), \
        "tests/browser/node_modules/playwright-core is missing: run `bash tests/browser/setup.sh`"
    from bakedavatar.raster import demo_head_asset, render_baked

    nb_dir, settings = tmp_path / "notebooks", tmp_path / "settings"
    nb_dir.mkdir()
    for name, value in SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(value))
    talk = talking_sequence(nb_dir / "talk", n_frames=12)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, nb_dir / "avatar.ipynb")

    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    log = open(tmp_path / "jupyterlab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--notebook-dir={nb_dir}", f"--LabApp.user_settings_dir={settings}",
         f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}"],
        cwd=nb_dir, env=env, stdout=log, stderr=subprocess.STDOUT)
    shot = tmp_path / "avatar_widget_jupyterlab.png"
    try:
        _wait_for_server(f"http://127.0.0.1:{port}/api/status?token={token}", server, timeout=30)
        run = subprocess.run([node, str(BROWSER / "jupyterlab_screenshot.mjs"), f"http://127.0.0.1:{port}/lab?token={token}",
                              "avatar.ipynb", str(shot), "100"],
                             cwd=BROWSER, capture_output=True, text=True, timeout=115)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    for f in tmp_path.glob("avatar_widget_jupyterlab*.png"):
        shutil.copy(f, artifacts / f.name)
    report = json.loads(run.stdout.strip().splitlines()[-1]) if run.stdout.strip() else {}
    (artifacts / "avatar_widget_jupyterlab.json").write_text(json.dumps(report, indent=1))
    context = f"report {report}\nnode stderr:\n{run.stderr[-3000:]}\nscreenshot: {artifacts / shot.name}"
    assert run.returncode == 0 and report.get("ok"), context
    assert report["errors"] == [] and report["pageErrors"] == [] and report["widgetErrors"] == [], context
    canvases = [c for c in report["canvases"] if (c["width"], c["height"]) == (SIZE, SIZE)]
    assert canvases, context
    assert 0.05 < canvases[0]["nonBackground"] < 0.9, context  # the avatar covers part of the canvas

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
    assert np.abs(mean_got - mean_ref).max() < 0.03, (mean_got, mean_ref, context)
    assert psnr > 25, (psnr, context)
