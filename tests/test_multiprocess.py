"""Data-parallel training on the CPU: `accelerate launch` with two processes (gloo) trains stage 1 and fine-tuning to
the same parameters as one process with the same global batch, keeps the processes' copies (fields and per-frame
inputs) identical, logs once, and leaves checkpoints that one process resumes.

Every run is the `bakedavatar run -c CFG -t TASK` command inside a small launcher script, in a subprocess with one
thread per process: each run is deterministic, so the differences measured below are reproducible."""
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from bakedavatar.config import Config, apply_smoke, save_config
from bakedavatar.data import make_synthetic_subject
from bakedavatar.pipeline import write_manifest
from bakedavatar.raster import sphere_asset
from bakedavatar.texture import save_asset
from bakedavatar.train import read_history

# `bakedavatar` with the arguments after the first, then this process's own copy of the module accelerate wrapped
# (the avatar and the per-frame inputs) saved to FOLDER/rank<process index>.pt.
LAUNCHED = textwrap.dedent("""
    import sys, torch, accelerate
    from bakedavatar.pipeline import main
    prepared = []
    prepare = accelerate.Accelerator.prepare
    def recording_prepare(self, module, *args, **kwargs):
        prepared.append((self, module))
        return prepare(self, module, *args, **kwargs)
    accelerate.Accelerator.prepare = recording_prepare
    code = main(sys.argv[2:])
    accelerator, module = prepared[-1]
    torch.save(module.state_dict(), f"{sys.argv[1]}/rank{accelerator.process_index}.pt")
    sys.exit(code)
""")

ITERATIONS, STAGE1_LR, FINETUNE_LR = 4, 3e-3, 0.05
# Adam moves a parameter by about one learning rate per iteration, so a data-parallel mistake (a process rendering
# the wrong frames or pixels, gradients not averaged, per-frame inputs drifting apart) changes the parameters by
# O(lr). One and two processes differ only in floating-point summation order (each process sums the gradient of its
# half of the batch, then gloo averages the halves), which Adam's normalisation can amplify, in a gradient that
# nearly cancels, to a small fraction of a step. Measured after 4 iterations: stage 1 3e-6 (0.1% of its lr),
# fine-tuning 3e-4 (0.6% of its lr). Tolerance: 5% of one step.
STEP_FRACTION = 0.05
LOSS_RTOL = 1e-5  # logged losses (averaged over the processes): measured ~1e-7 relative


def tiny_config(root: Path) -> Config:
    "Stage 1 and fine-tuning, 4 iterations each, on the synthetic subject under `root` (global batch 2)."
    cfg = apply_smoke(Config(smoke=True))
    cfg.smoke = False  # sizes set here; the command line must not apply the smoke sizes again
    cfg.exp_dir = str(root / "experiments")
    d = cfg.dataset
    d.data_dir, d.subject, d.img_res, d.val_subdirs = str(root / "data"), "synth", [32, 32], []
    cfg.head.kind = "toy"
    t = cfg.train
    t.iterations, t.batch_size, t.rays_per_image, t.lr, t.input_lr = ITERATIONS, 2, 64, STAGE1_LR, STAGE1_LR
    t.checkpoint_every, t.log_every, t.val_every, t.lr_milestones = 2, 1, ITERATIONS, [100]
    f = cfg.finetune
    f.iterations, f.batch_size, f.img_res, f.export_every, f.lr = ITERATIONS, 2, [32, 32], 2, FINETUNE_LR
    f.lr_milestones, f.lpips_weight, f.rasterizer = [100], 0.0, "torch"
    return cfg


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bakedavatar_run(root: Path, run: str, task: str, processes: int) -> tuple[Path, str]:
    "`bakedavatar run -c config.yaml -t task --run run` in `processes` processes: (run folder, output)."
    ranks = root / f"ranks_{run}"
    ranks.mkdir()
    launcher = [sys.executable]
    if processes > 1:  # on a machine without CUDA, accelerate's multi-GPU launcher gives gloo CPU processes
        launcher += ["-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(processes),
                     "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                     "--main_process_port", str(free_port())]
    cmd = [*launcher, str(root / "launched.py"), str(ranks), "run", "-c", str(root / "config.yaml"), "-t", task,
           "--run", run]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return root / "experiments" / "synth" / run, result.stdout + result.stderr


def checkpoint(run: Path, stage: str, iteration: int) -> dict:
    return torch.load(run / stage / "checkpoints" / f"ckpt_{iteration}.pt", map_location="cpu", weights_only=True)


def max_difference(a: dict, b: dict) -> float:
    return max((a[k].double() - b[k].double()).abs().max().item()
               for k in a if a[k].is_floating_point() and a[k].numel())


def assert_same_parameters(one: dict, two: dict, earlier: dict, lr: float):
    "Checkpoints `one` and `two` agree within `STEP_FRACTION` of a step; `earlier` (iteration 2) does not."
    for part in ("model", "frames"):
        diff = max_difference(one[part], two[part])
        print(f"{part}: max |one - two| = {diff:.1e} (tolerance {STEP_FRACTION * lr:.1e})")
        assert diff < STEP_FRACTION * lr, part
        assert max_difference(earlier[part], one[part]) > STEP_FRACTION * lr, part  # training moved them


def assert_processes_agree(ranks: Path, saved: dict):
    "Both processes ended with bitwise the same avatar and per-frame inputs, the ones the main process saved."
    r0, r1 = (torch.load(ranks / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert r0.keys() == r1.keys() and all(torch.equal(r0[k], r1[k]) for k in r0)
    for part, prefix in (("model", "avatar."), ("frames", "frames.")):
        assert all(torch.equal(r0[prefix + k], v) for k, v in saved[part].items()), part


def assert_same_losses(one: Path, two: Path, stage: str):
    "The main process logged every iteration once, with the losses of one process."
    a, b = (read_history(run / stage / "history.csv") for run in (one, two))
    assert [r["iteration"] for r in a] == [r["iteration"] for r in b] == list(range(1, ITERATIONS + 1))
    for ra, rb in zip(a, b):
        assert rb["loss/total"] == pytest.approx(ra["loss/total"], rel=LOSS_RTOL)


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("multiprocess")
    make_synthetic_subject(root / "data" / "synth", n_frames=8, res=64, n_expr=10, seed=0)
    save_config(tiny_config(root), root / "config.yaml")
    (root / "launched.py").write_text(LAUNCHED)
    return root


@pytest.fixture(scope="module")
def stage1(root) -> dict:
    "Stage 1 trained by one process and by two."
    return {p: bakedavatar_run(root, f"stage1_{p}", "train", p)[0] for p in (1, 2)}


def test_stage1_two_processes_train_like_one(root, stage1):
    one, two = stage1[1], stage1[2]
    assert_same_parameters(checkpoint(one, "stage1", 4), checkpoint(two, "stage1", 4), checkpoint(one, "stage1", 2),
                           STAGE1_LR)
    assert_processes_agree(root / "ranks_stage1_2", checkpoint(two, "stage1", 4))
    assert_same_losses(one, two, "stage1")
    assert len(list((two / "stage1" / "tb").iterdir())) == 1  # one TensorBoard writer: the main process's
    assert [p.name for p in (two / "stage1" / "val").iterdir()] == ["val_4.png"]


def test_two_process_checkpoint_resumes_in_one_process(root, stage1):
    resumed = root / "experiments" / "synth" / "stage1_resumed"
    checkpoints = resumed / "stage1" / "checkpoints"
    checkpoints.mkdir(parents=True)
    shutil.copy(stage1[2] / "stage1" / "checkpoints" / "ckpt_2.pt", checkpoints)
    (checkpoints / "latest").write_text("ckpt_2.pt\n")
    _, output = bakedavatar_run(root, "stage1_resumed", "train", 1)
    assert "ckpt_2.pt (iteration 2)" in output
    assert_same_parameters(checkpoint(resumed, "stage1", 4), checkpoint(stage1[2], "stage1", 4),
                           checkpoint(resumed, "stage1", 2), STAGE1_LR)


def test_finetuning_two_processes_train_like_one(root):
    runs = {}
    for p in (1, 2):
        run = root / "experiments" / "synth" / f"finetune_{p}"
        asset = save_asset(sphere_asset(n_layers=3, radius=0.47, thickness=0.06, n_lat=16, n_lon=32, n_expr=10,
                                        texture_res=32), run / "bake" / "asset")
        write_manifest(run, "bake", {"asset": asset})
        runs[p] = bakedavatar_run(root, run.name, "fine_tuning", p)[0]
    one, two = runs[1], runs[2]
    assert_same_parameters(checkpoint(one, "finetune", 4), checkpoint(two, "finetune", 4),
                           checkpoint(one, "finetune", 2), FINETUNE_LR)
    assert_processes_agree(root / "ranks_finetune_2", checkpoint(two, "finetune", 4))
    assert_same_losses(one, two, "finetune")
