"Every stage notebook keeps the one cell tagged `parameters` that papermill fills in (nbdev_clean must not drop it)."
import ast
import json
from pathlib import Path

import pytest

from bakedavatar.pipeline import STAGES, stage_notebook

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "nbs" / "pipeline").glob("*.ipynb"))


def test_every_stage_has_a_notebook():
    assert [stage_notebook(s).name for s in STAGES] == [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_parameters_cell(path):
    cells = json.loads(path.read_text())["cells"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path}: {len(tagged)} cells tagged 'parameters' (papermill needs exactly one)"
    names = {t.id for node in ast.parse("".join(tagged[0]["source"])).body if isinstance(node, ast.Assign)
             for t in node.targets if isinstance(t, ast.Name)}
    assert {"config", "run_dir", "smoke"} <= names, f"{path}: the parameters cell defines {sorted(names)}"
