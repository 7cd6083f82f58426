"""Web bundle: size and fidelity of each encoding (`export.export_web`), for the demo-sized avatar or a real asset.

For every (texture_format, blend_dtype) setting: the bundle's size and `export.bundle_fidelity`, i.e. frames
rendered by `raster.render_baked` from the re-read bundle against the same frames from the asset (PSNR over
the image and inside the mask). With `--video` (a test video of the subject: images, masks, flame_params.json)
the frames are that video's, and the PSNR of asset and bundle against its images gives the real loss in dB;
without, the loss is the one implied for an avatar `--reference-psnr` dB from the truth (independent errors add:
10 log10(1 + 10^((P - D) / 10)) for a bundle D dB from the asset). Budget: <= 20 MB at <= 0.3 dB.

Default avatar: `raster.demo_head_asset` at the demo configuration's sizes (8 layers of the full demo head,
10.6k triangles each, 512^2 textures, 16 bases), posed by a talking-head track with the demo camera.
Writes benchmarks/results/web_bundle.json (rows: see benchmarks/render_table.py).
Usage: python benchmarks/web_bundle.py [--asset ASSET_DIR] [--video VIDEO_DIR] [--frames 8] [--res 256] [--no-write]
"""
from __future__ import annotations

import argparse
import datetime
import math
import tempfile
import time
from pathlib import Path

import numpy as np

from results_io import results_path, write_results

SETTINGS = [("png", "float16"), ("webp", "float16"), ("png", "int8"), ("webp-lossy", "float16"), ("webp-lossy", "int8")]


def frames_to_render(asset, video, n: int, res: int):
    "Expression, pose, K, w2c (and target images) of n frames: a video's, or a talking-head track's."
    if video is not None:
        from bakedavatar.widgets import as_frame_dataset
        from bakedavatar.data import scale_intrinsics
        ds = as_frame_dataset(video)
        idx = np.linspace(0, len(ds) - 1, min(n, len(ds))).round().astype(int)
        items = [ds[int(i)] for i in idx]
        import torch.nn.functional as F
        targets = np.stack([F.interpolate(it["rgb"].permute(2, 0, 1)[None], size=(res, res), mode="area")[0]
                            .permute(1, 2, 0).numpy() for it in items])
        K = np.stack([scale_intrinsics(it["K"].numpy(), ds.img_res, (res, res)) for it in items])
        return (np.stack([it["expression"].numpy() for it in items]), np.stack([it["pose"].numpy() for it in items]),
                K, np.stack([it["w2c"].numpy() for it in items]), targets)
    from bakedavatar.demo_subject import demo_camera, talking_head_motion
    from bakedavatar.head_model import load_demo_head
    head = load_demo_head()
    e, p = talking_head_motion(4 * n, head.expression_names, seed=2)
    K, w2c, _ = demo_camera(head, res)
    return e[::4][:, :asset.n_expr], p[::4], K, w2c, None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--asset", default="", help="a baked asset folder (default: the demo-sized synthetic avatar)")
    ap.add_argument("--video", default="", help="a test video of the subject (images + flame_params.json)")
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--res", type=int, default=256)
    ap.add_argument("--reference-psnr", type=float, default=32.0)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    from bakedavatar.export import bundle_fidelity, bundle_size_mb, export_web
    from bakedavatar.raster import demo_head_asset
    from bakedavatar.texture import asset_size_mb, load_asset, save_asset
    asset = load_asset(args.asset) if args.asset else demo_head_asset(n_layers=8, texture_res=512)
    e, p, K, w2c, targets = frames_to_render(asset, args.video or None, args.frames, args.res)
    what = (args.asset or "demo-sized synthetic avatar") + (f", frames of {args.video}" if args.video else "")
    what += f": {len(asset.layers)} layers, {sum(len(L.faces) for L in asset.layers):,} triangles, " \
            f"{asset.texture_res}^2 textures"
    rows, date = [], datetime.date.today().isoformat()
    command = "python benchmarks/web_bundle.py" + (f" --asset {args.asset}" if args.asset else "") + \
              (f" --video {args.video}" if args.video else "")
    with tempfile.TemporaryDirectory(prefix="bakedavatar-web-bundle-") as work:
        asset_mb = asset_size_mb(args.asset) if args.asset else asset_size_mb(save_asset(asset, Path(work) / "asset"))
        print(f"{what}; asset folder {asset_mb:.1f} MB")
        for tf, bd in SETTINGS:
            t0 = time.time()
            bundle = export_web(asset, Path(work) / f"{tf}_{bd}", texture_format=tf, blend_dtype=bd)
            seconds = time.time() - t0
            size = bundle_size_mb(bundle)
            fid = bundle_fidelity(asset, bundle, e, p, K, w2c, (args.res, args.res), targets, rasterizer="torch")
            implied = 10 * math.log10(1 + 10 ** ((args.reference_psnr - fid["psnr"]) / 10))
            loss = fid.get("loss_db", implied)
            print(f"{tf:10s} {bd:7s}: {size['total']:6.2f} MB (buffer {size['buffer']:.2f}, textures "
                  f"{size['textures']:.2f}), export {seconds:.1f} s; vs the asset {fid['psnr']:.1f} dB "
                  f"({fid['psnr_mask']:.1f} in the mask); loss {loss:.3f} dB"
                  + ("" if targets is not None else f" (implied at {args.reference_psnr:g} dB)"), flush=True)
            label = f"web bundle, {tf} textures + {bd} blendshapes ({what})"
            rows.append(dict(figure=f"{label}: size", value=round(size["total"], 2), unit="MB", target="<= 20",
                             device="-", command=command, date=date))
            rows.append(dict(figure=f"{label}: PSNR loss" + ("" if targets is not None else
                                                            f" implied at {args.reference_psnr:g} dB"),
                             value=round(loss, 3), unit="dB", target="<= 0.3", device="-", command=command, date=date))
    if not args.no_write:
        write_results(results_path("web_bundle"), rows)


if __name__ == "__main__":
    main()
