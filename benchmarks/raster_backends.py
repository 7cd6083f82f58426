"""The two rasterizer backends render the same baked frame: PSNR of PyTorch vs nvdiffrast (both with PyTorch
shading) and of the fused CUDA shading vs PyTorch shading, on the synthetic 8-layer demo-head asset at 512x512.

Usage: python benchmarks/raster_backends.py [--out benchmarks/results/raster_backends.json]   (needs a GPU)
"""
import argparse
import datetime
import json
from pathlib import Path

import torch

from results_io import device_name, write_results
from bakedavatar.demo_subject import demo_camera
from bakedavatar.head_model import load_demo_head
from bakedavatar.raster import BakedAvatarModule, demo_head_asset, render_baked


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(-10 * torch.log10(((a - b) ** 2).mean().clamp_min(1e-12)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="benchmarks/results/raster_backends.json")
    args = ap.parse_args()
    dev = torch.device("cuda")
    module = BakedAvatarModule(demo_head_asset(8, 1024)).to(dev).eval()
    K, w2c, _ = demo_camera(load_demo_head(), 512)
    K, w2c = [torch.as_tensor(m, dtype=torch.float32, device=dev) for m in (K, w2c)]
    gen = torch.Generator().manual_seed(0)
    expression = (torch.rand(4, module.n_expr, generator=gen) * 0.5).to(dev)
    pose = (torch.randn(4, 15, generator=gen) * 0.1).to(dev)
    with torch.no_grad():
        torch_img = render_baked(module, expression, pose, K, w2c, (512, 512), "torch", fused=False)["rgb"]
        cuda_img = render_baked(module, expression, pose, K, w2c, (512, 512), "cuda", fused=False)["rgb"]
        fused_img = render_baked(module, expression, pose, K, w2c, (512, 512), "cuda", fused=True)["rgb"]
    rows = [dict(figure="baked frame, PyTorch rasterizer vs nvdiffrast (4 frames, 512x512)", value=psnr(torch_img, cuda_img),
                 unit="dB PSNR", target=">= 40 dB"),
            dict(figure="baked frame, fused CUDA shading vs PyTorch shading (4 frames, 512x512)", value=psnr(fused_img, cuda_img),
                 unit="dB PSNR", target=">= 40 dB")]
    for r in rows:
        r.update(device=device_name("cuda"), command="python benchmarks/raster_backends.py",
                 date=datetime.date.today().isoformat())
    print(json.dumps(rows, indent=1))
    write_results(Path(args.out), rows)


if __name__ == "__main__":
    main()
