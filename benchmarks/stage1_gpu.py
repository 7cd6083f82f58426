"""Stage 1 on a GPU: training iterations/s, test PSNR against wall-clock time, implicit render frames/s.

Trains `-c CFG` from scratch into a temporary run folder, then evaluates every checkpoint on the test frames
(PSNR with the background zeroed, as `bakedavatar run -t test`) and times `render_image` at the dataset resolution.
Usage: python benchmarks/stage1_gpu.py -c configs/demo_gpu.yaml [--out benchmarks/results/stage1_gpu.json] [--key value ...]
"""
import argparse
import datetime
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

from results_io import device_name, write_results
from bakedavatar.config import load_config
from bakedavatar.data import FrameDataset
from bakedavatar.evaluate import image_metrics
from bakedavatar.train import build_avatar, list_checkpoints, read_checkpoint, read_history, train_stage1
from bakedavatar.volume import render_image


def test_psnr(avatar, test: FrameDataset, device, n_frames: int) -> float:
    "Mean PSNR (background zeroed) over `n_frames` test frames spread evenly over the test set."
    values = []
    for i in sorted({round(j * (len(test) - 1) / max(n_frames - 1, 1)) for j in range(n_frames)}):
        item = test[i]
        out = render_image(avatar, item["K"].to(device), item["w2c"].to(device), item["expression"].to(device),
                           item["pose"].to(device), test.img_res)
        m = image_metrics(out["rgb"][None].cpu(), item["rgb"][None], item["mask"][None])
        values.append(float(m["psnr"][0]))
    return sum(values) / len(values)


def render_fps(avatar, test: FrameDataset, device, n: int = 10) -> float:
    item = test[0]
    args = (item["K"].to(device), item["w2c"].to(device), item["expression"].to(device), item["pose"].to(device))
    render_image(avatar, *args, test.img_res)
    torch.cuda.synchronize() if device.type == "cuda" else None
    t0 = time.perf_counter()
    for _ in range(n): render_image(avatar, *args, test.img_res)
    torch.cuda.synchronize() if device.type == "cuda" else None
    return n / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-c", "--config", default="configs/demo_gpu.yaml")
    ap.add_argument("--out", default="benchmarks/results/stage1_gpu.json")
    ap.add_argument("--eval-frames", type=int, default=5, help="test frames per checkpoint evaluation")
    args, overrides = ap.parse_known_args()
    cfg = load_config(args.config, overrides)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    run_dir = Path(tempfile.mkdtemp(prefix="stage1_bench_"))
    train_stage1(cfg, run_dir, resume=False)
    history = {int(r["iteration"]): r for r in read_history(run_dir / "stage1" / "history.csv")}
    its = sorted(history)
    # speed after the first logged point, which includes torch.compile warm-up
    speed = (its[-1] - its[0]) / (history[its[-1]]["seconds"] - history[its[0]]["seconds"])
    name, date = device_name(device), datetime.date.today().isoformat()
    cmd = "python benchmarks/stage1_gpu.py " + " ".join(sys.argv[1:])
    res = "x".join(map(str, cfg.dataset.img_res))
    rows = []

    def add(**row):  # rows are written as they come: a run cut short keeps what it measured
        rows.append(dict(**row, device=name, command=cmd, date=date))
        write_results(Path(args.out), rows)

    add(figure=f"stage 1 training, {cfg.train.batch_size}x{cfg.train.rays_per_image} rays, {res} (validation and "
               "checkpoints included)", value=speed, unit="it/s", target=">= 7.2 it/s (10x the original's 0.72)")
    test = FrameDataset(cfg, "test")
    avatar = build_avatar(cfg, FrameDataset(cfg, "train")).to(device).eval()
    curve = []
    for path in list_checkpoints(run_dir / "stage1" / "checkpoints"):
        state = read_checkpoint(path)
        avatar.load_state_dict(state["model"])
        it = int(state["iteration"])
        seconds = history[max(i for i in its if i <= it)]["seconds"] if its[0] <= it else float("nan")
        curve.append({"iteration": it, "seconds": seconds, "test_psnr": test_psnr(avatar, test, device, args.eval_frames)})
        print(curve[-1], flush=True)
        write_results(Path(args.out).with_suffix(".curve.json"), curve)  # as it goes: a long run keeps its curve
    first = min(curve, key=lambda r: r["iteration"])
    add(figure=f"stage 1 test PSNR ({args.eval_frames} frames) after {first['seconds']:.0f} s of training",
        value=first["test_psnr"], unit="dB", target=">= 30 dB within 600 s")
    add(figure=f"implicit render {res}", value=render_fps(avatar, test, device), unit="frames/s",
        target="> 0.3 (the original)")
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
