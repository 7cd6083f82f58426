"""`bakedavatar check-data` on a good subject and on broken copies: one clear line per problem, nothing written."""
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from bakedavatar.data import make_synthetic_subject


def run_check(path) -> subprocess.CompletedProcess:
    return subprocess.run(["bakedavatar", "check-data", str(path)], capture_output=True, text=True, timeout=120)


def snapshot(folder: Path) -> dict:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


def break_missing_frame(v: Path): (v / "image" / "2.png").unlink()
def break_json(v: Path): (v / "flame_params.json").write_text((v / "flame_params.json").read_text()[:-20])
def break_nan_pose(v: Path):
    data = json.loads((v / "flame_params.json").read_text())
    data["frames"][1]["pose"][4] = float("nan")
    (v / "flame_params.json").write_text(json.dumps(data))
def break_mask_size(v: Path):
    from PIL import Image
    Image.new("L", (10, 12)).save(v / "mask" / "3.png")
def break_expression_length(v: Path):
    data = json.loads((v / "flame_params.json").read_text())
    data["frames"][2]["expression"] = data["frames"][2]["expression"][:-3]
    (v / "flame_params.json").write_text(json.dumps(data))
def break_image_folder(v: Path): shutil.rmtree(v / "image")


BREAKS = {"missing frame": (break_missing_frame, "2.png"), "malformed json": (break_json, "flame_params.json"),
          "nan pose": (break_nan_pose, "flame_params.json"), "mask size": (break_mask_size, "3.png"),
          "expression length": (break_expression_length, "flame_params.json"),
          "image folder": (break_image_folder, "image")}


@pytest.fixture(scope="module")
def subject(tmp_path_factory) -> Path:
    return make_synthetic_subject(tmp_path_factory.mktemp("subject") / "synth", n_frames=4, res=32)


def test_good_subject_passes(subject):
    result = run_check(subject)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no problems found" in result.stdout


@pytest.mark.parametrize("name", list(BREAKS))
def test_broken_copy_reports_one_line_and_writes_nothing(subject, tmp_path, name):
    broken = tmp_path / "synth"
    shutil.copytree(subject, broken)
    damage, file_hint = BREAKS[name]
    damage(broken / "train")
    before = snapshot(broken)
    result = run_check(broken)
    assert result.returncode == 1, result.stdout
    problems = [line for line in result.stdout.splitlines() if line.startswith("  - ")]
    assert len(problems) == 1, result.stdout
    assert file_hint in problems[0] and "train" in problems[0], problems[0]
    assert snapshot(broken) == before


def break_several(v: Path):
    "Frame 2: a NaN pose and 3 expression values too few; frame 3: no image; frame 4: a 10x12 mask."
    from PIL import Image
    data = json.loads((v / "flame_params.json").read_text())
    data["frames"][1]["pose"][4] = float("nan")
    data["frames"][1]["expression"] = data["frames"][1]["expression"][:-3]
    (v / "flame_params.json").write_text(json.dumps(data))
    (v / "image" / "3.png").unlink()
    Image.new("L", (10, 12)).save(v / "mask" / "4.png")


def test_broken_copy_with_several_problems_reports_each_once(subject, tmp_path):
    broken = tmp_path / "synth"
    shutil.copytree(subject, broken)
    break_several(broken / "train")
    before = snapshot(broken)
    result = run_check(broken)
    assert result.returncode == 1, result.stdout
    problems = [line for line in result.stdout.splitlines() if line.startswith("  - ")]
    expected = [("train/flame_params.json: frames[1] (./image/2)", "pose contains NaN"),
                ("train/flame_params.json: frames[1] (./image/2)", "expression has 47 values, the other frames have 50"),
                ("train/image/3.png", "missing"),
                ("train/mask/4.png", "mask is 12x10, its image is 32x32")]
    assert len(problems) == len(expected), result.stdout
    for parts in expected:
        assert sum(all(p in line for p in parts) for line in problems) == 1, (parts, result.stdout)
    assert f"{len(expected)} problem(s):" in result.stdout
    assert snapshot(broken) == before
