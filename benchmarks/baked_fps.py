"""Frames per second of the baked-avatar renderer (`bakedavatar.raster.render_baked`) at 512x512, batch 1 and 8.

Usage (from the repository root):
    python benchmarks/baked_fps.py [--asset DIR] [--device cuda|cpu] [--res 512] [--batches 1 8] [--iters 300]
                                   [--layers 8] [--texture-res 1024] [--rasterizer auto] [--no-write]
The asset defaults to the demo run's bake/asset (experiments/demo/default/bake/asset) when it exists, else a
synthetic one: the demo head in --layers layers (10,586 triangles each) with --texture-res textures. Frames are
random expressions/poses around neutral, seen by the demo camera. Without gradients on a GPU the renderer takes its
fast path (CUDA-graph frame setup, nvdiffrast range-mode rasterization, fused Triton shading); the script also
times those three parts alone. Writes benchmarks/results/baked_fps_<device>.json (rows as in render_table.py).
"""
from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from results_io import device_name, results_path, write_results  # noqa: E402
from bakedavatar.config import experiment_dir, load_config  # noqa: E402
from bakedavatar.demo_subject import demo_camera  # noqa: E402
from bakedavatar.head_model import load_demo_head  # noqa: E402
from bakedavatar import raster  # noqa: E402
from bakedavatar.raster import (BakedAvatarModule, demo_head_asset, get_rasterizer, render_baked,  # noqa: E402
                                shade_fused)

LAUNCHES = [(32, 1), (32, 2), (64, 2), (64, 4), (128, 4), (128, 8), (256, 8)]  # (pixels per program, warps) tried for the kernel


def default_asset() -> Path | None:
    folder = experiment_dir(load_config(ROOT / "configs" / "demo.yaml", [])) / "bake" / "asset"
    folder = folder if folder.is_absolute() else ROOT / folder
    return folder if (folder / "manifest.json").is_file() else None


def load_avatar(args):
    from bakedavatar.texture import load_asset
    folder = Path(args.asset) if args.asset else default_asset()
    if folder is not None:
        return load_asset(folder), str(folder)
    t0 = time.time()
    asset = demo_head_asset(n_layers=args.layers, texture_res=args.texture_res, paint_res=256)
    print(f"synthetic asset: {args.layers} layers x {len(asset.layers[0].faces)} faces, "
          f"{args.texture_res}^2 textures, built in {time.time() - t0:.1f} s")
    return asset, f"synthetic demo head, {args.layers} layers, {args.texture_res}^2 textures"


def timed(fn, iters: int, sync) -> float:
    "Seconds per call of `fn` (after the caller's warm-up)."
    sync()
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    sync()
    return (time.perf_counter() - t0) / iters


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--asset", default="", help="asset folder (default: the demo run's, else synthetic)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--res", type=int, default=512)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--iters", type=int, default=0, help="timed calls per batch size (default 300 GPU, 3 CPU)")
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--texture-res", type=int, default=1024)
    ap.add_argument("--rasterizer", default="auto")
    ap.add_argument("--no-write", action="store_true", help="print only, write no result file")
    args = ap.parse_args()
    dev = torch.device(args.device)
    cuda = dev.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    iters = args.iters or (300 if cuda else 3)
    asset, source = load_avatar(args)
    m = BakedAvatarModule(asset).to(dev).requires_grad_(False)
    r = get_rasterizer(args.rasterizer)
    K, w2c, _ = demo_camera(load_demo_head(), args.res)
    K = torch.tensor(K, dtype=torch.float32, device=dev)
    w2c = torch.tensor(w2c, dtype=torch.float32, device=dev)
    g = torch.Generator().manual_seed(0)
    rows, H = [], args.res
    command = "python benchmarks/baked_fps.py " + " ".join(sys.argv[1:])
    print(f"{device_name(dev)}; {m.extra_repr()}; rasterizer {r!r}")
    for B in args.batches:
        expr = (torch.randn(B, m.n_expr, generator=g) * 0.3).to(dev)
        pose = (torch.randn(B, 15, generator=g) * 0.05).to(dev)
        Kb, wb = K.expand(B, 3, 3), w2c.expand(B, 4, 4)
        with torch.no_grad():
            if cuda:  # tune the fused kernel's launch parameters on this frame first
                s = m.frame_setup(expr, pose, Kb, wb, H, H)
                faces, ranges = m.batch_faces(B)
                rast = r.rasterize(s.clip, faces, (H, H), ranges=ranges)
                sweep = {}
                for blk, nw in LAUNCHES:
                    for _ in range(3):
                        shade_fused(m, s, rast, block=blk, num_warps=nw)
                    sweep[(blk, nw)] = timed(lambda: shade_fused(m, s, rast, block=blk, num_warps=nw), 50, sync)
                best = min(sweep, key=sweep.get)
                raster.FUSED_LAUNCH.update(block=best[0], num_warps=best[1])
                print(f"batch {B}: fused kernel ms by (block, warps): "
                      + ", ".join(f"{k}: {v * 1000:.3f}" for k, v in sweep.items()) + f"; using {best}")
            render = lambda: render_baked(m, expr, pose, Kb, wb, (H, H), r)
            for _ in range(20 if cuda else 1):
                render()
            sec = timed(render, iters, sync)
            fps = B / sec
            print(f"batch {B}: {fps:,.0f} frames/s ({sec * 1000:.3f} ms per call)")
            if cuda:  # the three parts of the fast path alone
                graph = next(v for k, v in m._cache.items() if k[0] == "graph" and k[1] == B)
                setup = (lambda: graph(expr, pose, Kb, wb)) if graph is not None else \
                    (lambda: m.frame_setup(expr, pose, Kb, wb, H, H))
                s = setup()
                faces, ranges = m.batch_faces(B)
                rast = r.rasterize(s.clip, faces, (H, H), ranges=ranges)
                parts = {"frame setup (graph)" if graph is not None else "frame setup (eager)": timed(setup, iters, sync),
                         "rasterize": timed(lambda: r.rasterize(s.clip, faces, (H, H), ranges=ranges), iters, sync),
                         "shade (fused)": timed(lambda: shade_fused(m, s, rast), iters, sync)}
                print("   " + ", ".join(f"{k} {v * 1000:.3f} ms" for k, v in parts.items()))
        rows.append(dict(figure=f"Baked avatar render, {H}x{H}, batch {B} ({m.n_layers} layers, "
                                f"{m.layer_faces[0][1]} faces/layer)",
                         value=round(fps, 1), unit="frames/s", target=">= 1000 at batch 1 (H100)" if B == 1 else "",
                         device=device_name(dev), command=command,
                         date=datetime.date.today().isoformat(), asset=source,
                         **({"fused_launch": dict(raster.FUSED_LAUNCH)} if cuda else {})))
    if cuda:
        print(f"peak GPU memory {torch.cuda.max_memory_allocated(dev) / 2**30:.2f} GiB")
    if not args.no_write:
        write_results(results_path("baked_fps", dev), rows)


if __name__ == "__main__":
    main()
