"""The pipeline as users run it: papermill executes every stage notebook on the tiny configuration (smoke mode),
each stage leaves its executed notebook and manifest; a failing stage names its cell and executed notebook."""
import json
import subprocess

from bakedavatar.pipeline import available_stages


def run(*args, timeout=1200) -> subprocess.CompletedProcess:
    return subprocess.run(["bakedavatar", *args], capture_output=True, text=True, timeout=timeout)


def test_smoke_pipeline_runs_every_stage(tmp_path):
    result = run("pipeline", "-c", "configs/tiny.yaml", "--exp_dir", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    run_dir = tmp_path / "demo_smoke" / "smoke"
    assert (run_dir / "config.yaml").is_file()
    for stage in available_stages():
        manifest = json.loads((run_dir / stage / "manifest.json").read_text())
        assert manifest["stage"] == stage
        executed = list((run_dir / "notebooks").glob(f"*_{stage}.ipynb"))
        assert executed, f"no executed notebook for {stage}"
        outputs = [o for c in json.loads(executed[0].read_text())["cells"] for o in c.get("outputs", [])]
        assert any("image/png" in o.get("data", {}) for o in outputs), f"{stage}: the report shows no picture"


def test_failing_stage_names_cell_and_notebook(tmp_path):
    result = run("pipeline", "-c", "configs/tiny.yaml", "--exp_dir", str(tmp_path), "--stages", "prepare",
                 "--subject", "no_such_subject", "--kind", "flame")
    assert result.returncode == 1
    assert "stage 'prepare' failed in cell" in result.stderr
    executed = tmp_path / "no_such_subject" / "smoke" / "notebooks" / "01_prepare.ipynb"
    assert f"executed notebook: {executed}" in result.stderr.replace(str(executed.resolve()), str(executed))
    assert executed.is_file()
