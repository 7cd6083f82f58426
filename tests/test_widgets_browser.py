"""The notebook widgets in a real browser: JupyterLab + headless Chromium (software WebGL) through playwright-core.

Set-up (once, idempotent): `bash tests/browser/setup.sh` (Debian's chromium, `npm ci` in tests/browser).
The screenshot goes to $BAKEDAVATAR_ARTIFACTS (default: a new temporary folder); its path is printed.
"""
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BROWSER = HERE / "browser"
CHROMIUM = Path("/usr/bin/chromium")

CELLS = [
    """from pathlib import Path
from bakedavatar.data import make_synthetic_subject
from bakedavatar.head_model import load_demo_head
from bakedavatar.widgets import FrameBrowser, HeadModelWidget
subject = make_synthetic_subject(Path("synthetic"), n_frames=4, res=64, n_expr=52)
head = load_demo_head()""",
    """fb = FrameBrowser(subject / "train", head=head, overlays=("mask", "landmarks", "mesh"))
fb""",
    """hw = HeadModelWidget(head, expressions=["jawOpen", "mouthSmileLeft"])
hw""",
    # a change after display must reach the browser: the screenshot shows the mouth open and the head turned
    """hw.sliders["jaw x"].value = 0.3
hw.sliders["neck y"].value = 0.35
hw.expression_sliders[head.expression_names.index("mouthSmileLeft")].value = 1.0""",
]
# JupyterLab user settings for the test: no news / update toasts over the notebook
SETTINGS = {"@jupyterlab/apputils-extension/notification.jupyterlab-settings":
            {"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_server(url: str, proc: subprocess.Popen, timeout: float):
    "Poll the server's status API until it answers (or the process dies, or time runs out)."
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"jupyter lab did not answer {url} within {timeout} s")


@pytest.fixture
def artifacts() -> Path:
    out = Path(os.environ.get("BAKEDAVATAR_ARTIFACTS") or tempfile.mkdtemp(prefix="bakedavatar-artifacts-"))
    out.mkdir(parents=True, exist_ok=True)
    return out


def test_widgets_render_in_jupyterlab(tmp_path, artifacts):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (needed to drive Chromium through playwright-core)")
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: run `bash tests/browser/setup.sh`"
    assert (BROWSER / "node_modules" / "playwright-core").is_dir(), \
        "tests/browser/node_modules/playwright-core is missing: run `bash tests/browser/setup.sh`"

    nb_dir, settings = tmp_path / "notebooks", tmp_path / "settings"
    nb_dir.mkdir()
    for name, value in SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(value))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, nb_dir / "widgets.ipynb")

    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    log = open(tmp_path / "jupyterlab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--notebook-dir={nb_dir}", f"--LabApp.user_settings_dir={settings}",
         f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}"],
        cwd=nb_dir, env=env, stdout=log, stderr=subprocess.STDOUT)
    shot = tmp_path / "widgets_jupyterlab.png"
    try:
        _wait_for_server(f"http://127.0.0.1:{port}/api/status?token={token}", server, timeout=30)
        run = subprocess.run([node, str(BROWSER / "jupyterlab_screenshot.mjs"), f"http://127.0.0.1:{port}/lab?token={token}",
                              "widgets.ipynb", str(shot), "75"],
                             cwd=BROWSER, capture_output=True, text=True, timeout=90)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    if shot.exists():
        shutil.copy(shot, artifacts / shot.name)
        print(f"screenshot: {artifacts / shot.name}")
    report = json.loads(run.stdout.strip().splitlines()[-1]) if run.stdout.strip() else {}
    (artifacts / "widgets_jupyterlab.json").write_text(json.dumps(report, indent=1))
    context = f"report {report}\nnode stderr:\n{run.stderr[-3000:]}\nscreenshot: {artifacts / shot.name}"
    assert run.returncode == 0 and report.get("ok"), context
    assert report["errors"] == [], context
    assert report["pageErrors"] == [], context
    # the head: the 480x480 three.js canvas is neither blank nor filled: the head covers part of it
    heads = [c for c in report["canvases"] if c["width"] >= 400 and c["height"] >= 400]
    assert heads and 0.05 < max(c["nonBackground"] for c in heads) < 0.9, context
    # the frame: FrameBrowser's PNG (64 px enlarged 4x) was decoded by the browser
    assert {"width": 256, "height": 256} in report["images"], context
