"""What the benchmark scripts share: the device's name and writing their result rows to benchmarks/results/
(a JSON list of rows {figure, value, unit, target, device, command, date, ...} that render_table.py reads)."""
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def device_name(dev) -> str:
    "The GPU's name, or 'CPU (N threads)'."
    import torch
    if torch.device(dev).type == "cuda":
        return torch.cuda.get_device_name(dev)
    return f"CPU ({torch.get_num_threads()} threads)"


def results_path(benchmark: str, # the script's result name, e.g. "baked_fps"
                 dev=None, # the device the figures depend on (None: they do not)
                ) -> Path:
    "benchmarks/results/<benchmark>.json, or <benchmark>_<device>.json ('cpu' for any CPU)."
    if dev is None:
        return RESULTS / f"{benchmark}.json"
    import torch
    name = "cpu" if torch.device(dev).type == "cpu" else re.sub(r"[^a-z0-9]+", "_", device_name(dev).lower()).strip("_")
    return RESULTS / f"{benchmark}_{name}.json"


def write_results(path: Path, rows: list[dict]) -> Path:
    "Write the rows (a curve goes beside its rows as <name>.curve.json, which render_table.py skips)."
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, indent=1) + "\n")
    print("wrote", path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return path
