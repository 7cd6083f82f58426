"""Stage-1 training-step speed: iterations/s of render_rays + stage1_losses + backward + Adam.

Usage: python benchmarks/stage1_step.py [--device cuda] [--batch 6] [--rays 2048] [--amp bf16] [--iters 20]
       [--out results.json] [model.key=value ...]
Uses the demo head and a camera 4 units away; the fields are untrained except for a few warm-up steps. With
model.broyden_tol=0 every Broyden/secant solve runs all its steps (worst case)."""
from __future__ import annotations

import argparse
import json
import time

import torch

from bakedavatar.config import Config, apply_overrides
from bakedavatar.data import pixel_centers, pixel_rays
from bakedavatar.fields import ImplicitAvatar
from bakedavatar.head_model import load_demo_head
from bakedavatar.volume import compile_search, find_canonical, level_crossings, render_rays, stage1_losses


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", type=int, default=6)
    ap.add_argument("--rays", type=int, default=2048)
    ap.add_argument("--amp", default="bf16", choices=["no", "bf16"])
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--out", default="")
    ap.add_argument("--compile", action="store_true", help="compile_search(avatar): torch.compile the searches")
    ap.add_argument("--perturb", type=float, default=0.0,
                    help="randomise the deformation field (blendshape head std, skinning logits x(1+10 p)): a "
                         "non-rigid field like a trained one, so the root finding works harder")
    ap.add_argument("overrides", nargs="*")
    args = ap.parse_args()
    cfg = Config()
    apply_overrides(cfg, [f"--{o}" for o in args.overrides])
    dev = torch.device(args.device)
    torch.manual_seed(0)
    head = load_demo_head()
    avatar = ImplicitAvatar(cfg.model, head, torch.zeros(head.n_expr)).to(dev)
    if args.perturb:
        with torch.no_grad():
            avatar.deformer.blend.weight.normal_(0, args.perturb)
            avatar.deformer.skin.weight.mul_(1 + 10 * args.perturb)
    if args.compile: compile_search(avatar)
    opt = torch.optim.Adam(avatar.parameters(), 1e-3)
    H = W = 256
    K = torch.tensor([[600.0, 0, W / 2], [0, 600.0, H / 2], [0, 0, 1]])
    w2c = torch.tensor([[1.0, 0, 0, 0], [0, -1, 0, 0], [0, 0, -1, 4], [0, 0, 0, 1]])
    all_o, all_d = pixel_rays(K, torch.linalg.inv(w2c), pixel_centers(H, W).reshape(-1, 2))
    all_o, all_d = all_o.to(dev), all_d.to(dev)
    B, R = args.batch, args.rays
    expr = (torch.randn(B, head.n_expr) * 0.2).to(dev).requires_grad_()
    pose = torch.zeros(B, 15)
    pose[:, 3:6] = torch.randn(B, 3) * 0.1
    pose[:, 6] = 0.2
    pose = pose.to(dev).requires_grad_()
    sync = (lambda: torch.cuda.synchronize()) if dev.type == "cuda" else (lambda: None)
    amp = torch.autocast(dev.type, dtype=torch.bfloat16, enabled=args.amp == "bf16")
    times, search = [], []
    for it in range(args.iters + 3):
        idx = torch.randint(0, H * W, (B, R), device=dev)
        ro, rd = all_o[idx], all_d[idx]
        b = (ro * rd).sum(-1)
        batch = dict(rgb=torch.full((B, R, 3), 0.5, device=dev),
                     mask=(b * b - ((ro * ro).sum(-1) - 0.2) > 0).float())
        sync(); t0 = time.time()
        with amp:
            out = render_rays(avatar, ro, rd, expr, pose)
        losses = stage1_losses(out, batch, cfg.train, it, head)
        opt.zero_grad()
        losses["total"].backward()
        opt.step()
        sync(); t1 = time.time()
        if it >= 3: times.append(t1 - t0)
        if it == 3 or it == args.iters + 2:  # time the search alone
            with torch.no_grad(), amp:
                sync(); t2 = time.time()
                fr = avatar.frame(expr, pose)
                n = cfg.model.n_samples
                t = torch.linspace(1.5, 5.0, n, device=dev).expand(B, R, n)
                x_d = ro[:, :, None] + t[..., None] * rd[:, :, None]
                corr = find_canonical(avatar, x_d.view(B, R * n, 3), fr)
                sync(); t3 = time.time()
                level_crossings(avatar, ro, rd, t, corr, fr)
                sync(); t4 = time.time()
            search.append(dict(find_canonical=t3 - t2, level_crossings=t4 - t3))
    times = torch.tensor(times)
    res = dict(device=torch.cuda.get_device_name() if dev.type == "cuda" else "cpu", batch=B, rays=R,
               amp=args.amp, compile=args.compile, perturb=args.perturb, overrides=args.overrides, it_per_s=float(1 / times.median()),
               step_ms_median=float(times.median() * 1000), search_ms=search,
               hits=int(out["hit"].sum()), losses={k: float(v) for k, v in losses.items()},
               peak_mem_gib=torch.cuda.max_memory_allocated() / 2**30 if dev.type == "cuda" else None)
    print(json.dumps(res, indent=1))
    if args.out:
        with open(args.out, "w") as f: json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
