"""Web viewer: uncapped frame rate of a demo-sized avatar in headless Chromium (bundle sizes: web_bundle.py).

Exports `raster.demo_head_asset` at the demo configuration's sizes (8 layers of the demo head, 10.6k triangles
each, 512^2 textures, 16 bases, 52 expressions) with a 50-frame talking-head sequence, serves it on 127.0.0.1,
and drives web/ with tests/browser/web_viewer.mjs: the viewer's own uncapped measurement (frames rendered back to
back, a pixel read back to wait for the GPU; no requestAnimationFrame) at SIZE x SIZE pixels. Chromium runs with
the flags of shared/ENVIRONMENT.md, i.e. software WebGL2 (SwiftShader) on the CPU: the figure is a floor, not
what a GPU does. Writes benchmarks/results/web_viewer.json (rows: see benchmarks/render_table.py).

Set-up once: bash tests/browser/setup.sh
Usage: python benchmarks/web_fps.py [--size 512] [--layers 8] [--texture-res 512] [--budget-ms 5000] [--no-write]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from results_io import results_path, write_results

ROOT = Path(__file__).resolve().parent.parent
BROWSER = ROOT / "tests" / "browser"


def talking_sequence(folder, # video folder to create (flame_params.json only, no images)
                     n_frames: int = 50, # frames (25 fps)
                     res: int = 512, # image size the camera refers to
                     seed: int = 0, # motion
                    ) -> Path:
    "A talking-head FLAME track of the demo head with the demo subject's front camera, as flame_params.json."
    from bakedavatar.data import opencv_to_imavatar
    from bakedavatar.demo_subject import demo_camera, talking_head_motion
    from bakedavatar.head_model import load_demo_head
    head = load_demo_head()
    expression, pose = talking_head_motion(n_frames, head.expression_names, seed)
    K, w2c, intrinsics = demo_camera(head, res)
    world_mat, _ = opencv_to_imavatar(K, w2c, (res, res))
    frames = [dict(file_path=f"./image/{k + 1}", world_mat=world_mat.tolist(), expression=e.tolist(), pose=p.tolist(),
                   bbox=[-1, -1, 1, 1]) for k, (e, p) in enumerate(zip(expression, pose))]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "flame_params.json").write_text(json.dumps(dict(shape_params=[0.0] * 8, intrinsics=intrinsics.tolist(),
                                                              frames=frames)))
    return folder


def run_viewer(bundle, # a web bundle folder
               jobs: dict, # see tests/browser/web_viewer.mjs
               out_dir, # where the pixels and the screenshot go
               timeout: float = 110.0, # seconds for the whole browser session
              ) -> tuple[dict, str]: # the driver's JSON report, its stderr
    "Serve the viewer and `bundle` on a free port of 127.0.0.1 and run the Chromium driver on `jobs`."
    from bakedavatar.export import make_server
    node = shutil.which("node")
    if node is None or not Path("/usr/bin/chromium").exists() or not (BROWSER / "node_modules" / "playwright-core").is_dir():
        raise RuntimeError("node, /usr/bin/chromium or playwright-core missing: run `bash tests/browser/setup.sh`")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "jobs.json").write_text(json.dumps(jobs))
    server = make_server(bundle, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        run = subprocess.run([node, str(BROWSER / "web_viewer.mjs"), url, str(out_dir / "jobs.json"), str(out_dir),
                              str(int(timeout - 10))], cwd=BROWSER, capture_output=True, text=True, timeout=timeout)
    finally:
        server.shutdown()
        server.server_close()
    lines = run.stdout.strip().splitlines()
    return (json.loads(lines[-1]) if lines else {"ok": False, "error": "no report"}), run.stderr


def measure(work, # scratch folder
            size: int = 512, # canvas size (square)
            n_layers: int = 8, # layers of the demo-sized avatar
            texture_res: int = 512, # texels per side
            budget_ms: float = 5000.0, # the benchmark's time budget
           ) -> dict: # report, bundle size, settings
    "Export the demo-sized avatar with a sequence and measure the viewer's uncapped frame rate."
    from bakedavatar.export import bundle_size_mb, export_web
    from bakedavatar.raster import demo_head_asset
    work = Path(work)
    asset = demo_head_asset(n_layers=n_layers, texture_res=texture_res)
    bundle = export_web(asset, work / "bundle", sequences=[talking_sequence(work / "talk")])
    report, stderr = run_viewer(bundle, dict(benchmark=dict(frames=500, budgetMs=budget_ms, width=size, height=size),
                                             playSeconds=1.0), work / "browser", timeout=300)
    if not report.get("ok"):
        raise RuntimeError(f"the browser run failed: {report.get('error')}\n{stderr[-2000:]}")
    faces = sum(len(L.faces) for L in asset.layers)
    return dict(report=report, size_mb=bundle_size_mb(bundle), faces=faces, size=size, n_layers=n_layers,
                texture_res=texture_res)


def device() -> str:
    "What rendered: the CPU (SwiftShader) of this machine."
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"headless Chromium, SwiftShader (software WebGL2) on {os.cpu_count()} cores of {cpu}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--texture-res", type=int, default=512)
    ap.add_argument("--budget-ms", type=float, default=5000.0)
    ap.add_argument("--no-write", action="store_true", help="print the rows, do not write the results file")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bakedavatar-web-fps-") as work:
        r = measure(work, args.size, args.layers, args.texture_res, args.budget_ms)
    b = r["report"]["benchmark"]
    command = (f"python benchmarks/web_fps.py --size {args.size} --layers {args.layers} "
               f"--texture-res {args.texture_res}")
    date = datetime.date.today().isoformat()
    what = f"{r['n_layers']} layers, {r['faces']:,} triangles, {r['texture_res']}^2 textures"
    rows = [dict(figure=f"web viewer, uncapped frame rate at {b['width']}x{b['height']} ({what})",
                 value=round(b["fps"], 2), unit="frames/s", target=">= 25 on a GPU (software floor here)",
                 device=device(), command=command, date=date)]
    print(json.dumps(dict(rows=rows, benchmark=b), indent=1))
    if not args.no_write:
        write_results(results_path("web_viewer"), rows)


if __name__ == "__main__":
    main()
