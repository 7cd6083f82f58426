"""The notebook widgets in a real browser: JupyterLab + headless Chromium (software WebGL) through playwright-core.

Uses the session's JupyterLab server (fixture `jupyterlab`, tests/conftest.py). Set-up (once, idempotent):
`bash tests/browser/setup.sh` (Debian's chromium, `npm ci` in tests/browser).
The screenshot and the report go to $BAKEDAVATAR_ARTIFACTS (default: a new temporary folder); the path is printed.
"""
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


def test_widgets_render_in_jupyterlab(jupyterlab, artifacts):
    jupyterlab.write_notebook("widgets/widgets.ipynb", CELLS)
    run = jupyterlab.run_notebook("widgets/widgets.ipynb", artifacts / "widgets_jupyterlab.png", timeout=75)
    report = run.report
    assert run.returncode == 0 and report.get("ok"), run
    assert report["errors"] == [], run
    assert report["pageErrors"] == [], run
    # the head: the 480x480 three.js canvas is neither blank nor filled: the head covers part of it
    heads = [c for c in report["canvases"] if c["width"] >= 400 and c["height"] >= 400]
    assert heads and 0.05 < max(c["nonBackground"] for c in heads) < 0.9, run
    # the frame: FrameBrowser's PNG (64 px enlarged 4x) was decoded by the browser
    assert {"width": 256, "height": 256} in report["images"], run
