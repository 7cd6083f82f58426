"""The whole demo pipeline on this machine: wall time of each stage and in total.

Runs `bakedavatar pipeline -c configs/demo.yaml --run bench` (a fresh run folder; prepare makes the demo subject if
it is missing) and reads papermill's record of the executed stage notebooks, or, with --from-run, reads a finished
run folder instead of running again. Writes benchmarks/results/demo_pipeline_cpu.json (rows as in
render_table.py).
Usage: python benchmarks/demo_pipeline.py [--from-run experiments/demo/default] [--config configs/demo.yaml]
"""
import argparse
import datetime
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from results_io import device_name, results_path, write_results  # noqa: E402


def stage_times(run_dir: Path) -> dict:
    "Stage name -> (start, end) datetimes, from the executed notebooks' papermill metadata."
    times = {}
    for nb in sorted((run_dir / "notebooks").glob("*.ipynb")):
        meta = json.loads(nb.read_text())["metadata"]["papermill"]
        if meta.get("end_time") is None:
            raise SystemExit(f"{nb}: the stage did not finish")
        times[nb.stem.split("_", 1)[1]] = tuple(datetime.datetime.fromisoformat(meta[k]) for k in ("start_time", "end_time"))
    if not times:
        raise SystemExit(f"{run_dir / 'notebooks'}: no executed stage notebooks")
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="configs/demo.yaml")
    ap.add_argument("--from-run", default="", help="a finished run folder to read instead of running the pipeline")
    args = ap.parse_args()
    if args.from_run:
        run_dir = Path(args.from_run)
    else:
        subprocess.run(["bakedavatar", "pipeline", "-c", args.config, "--run", "bench"], check=True, cwd=ROOT)
        from bakedavatar.config import experiment_dir, load_config
        run_dir = ROOT / experiment_dir(load_config(ROOT / args.config, ["--run", "bench"]))
    times = stage_times(run_dir)
    stages = {name: round((end - start).total_seconds(), 1) for name, (start, end) in times.items()}
    total = (max(e for _, e in times.values()) - min(s for s, _ in times.values())).total_seconds()
    import torch
    common = dict(device=device_name(torch.device("cpu")), command="python benchmarks/demo_pipeline.py",
                  date=datetime.date.today().isoformat(), run=str(run_dir))
    rows = [dict(figure=f"whole demo pipeline ({', '.join(stages)}), {args.config}", value=round(total / 60, 1),
                 unit="min", target="<= 30 min on a 2-core CPU", stage_seconds=stages, **common),
            dict(figure="demo stage 1 (train notebook: training and test renders)", value=round(stages["train"] / 60, 1),
                 unit="min", target="<= 15 min on a 2-core CPU", **common)]
    rows += manifest_rows(run_dir, common)
    print(json.dumps(rows, indent=1))
    write_results(results_path("demo_pipeline", "cpu"), rows)


def manifest_rows(run_dir: Path, common: dict) -> list[dict]:
    "Bake time and size, the three stages' test PSNR and the web bundle's size and loss, from the stage manifests."
    read = lambda stage: json.loads((run_dir / stage / "manifest.json").read_text())["metrics"]
    bake, ev, web = read("bake"), read("evaluate"), read("export")
    psnr = {name: ev[name]["psnr"] for name in ("implicit", "baked", "finetuned")}
    rows = [dict(figure="demo bake (meshes, UVs, textures)", value=round(bake["seconds"]["total"] / 60, 2), unit="min",
                 target="<= 3 min on a 2-core CPU", **common),
            dict(figure="demo baked asset size", value=round(bake["size_mb"], 2), unit="MB", target="<= 20 MB", **common),
            dict(figure="demo web bundle size", value=round(web["bundle_size_mb"], 2), unit="MB", target="<= 20 MB",
                 **common),
            dict(figure="demo web bundle PSNR loss against the asset", value=round(web["bundle_fidelity"], 3), unit="dB",
                 target="<= 0.3 dB", **common)]
    targets = {"implicit": "", "baked": f">= {psnr['implicit'] - 1.5:.2f} (implicit - 1.5 dB)",
               "finetuned": f">= {max(psnr['baked'] + 1, psnr['implicit'] - 0.5):.2f} (baked + 1 dB, implicit - 0.5 dB)"}
    rows += [dict(figure=f"demo test PSNR, {name}", value=round(v, 2), unit="dB", target=targets[name], **common)
             for name, v in psnr.items()]
    return rows


if __name__ == "__main__":
    main()
