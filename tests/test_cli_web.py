"""`bakedavatar export-web` and `bakedavatar serve` as users run them: a small asset becomes a bundle that loads
back, bad input is one line naming the path (exit 1, nothing written), and the viewer's server answers on
127.0.0.1 only, refuses paths out of its folders and opens the browser on request."""
import http.client
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from bakedavatar.export import bundle_size_mb, load_web_bundle, load_web_sequences
from bakedavatar.pipeline import main
from bakedavatar.raster import sphere_asset
from bakedavatar.texture import save_asset

N_EXPR = 10


def flame_params(folder: Path, n_frames: int = 5, n_expr: int = N_EXPR) -> Path:
    "A minimal FLAME track: expression and pose per frame."
    rng = np.random.default_rng(0)
    frames = [dict(expression=rng.normal(0, 0.5, n_expr).tolist(), pose=rng.normal(0, 0.1, 15).tolist())
              for _ in range(n_frames)]
    folder.mkdir(parents=True)
    path = folder / "flame_params.json"
    path.write_text(json.dumps(dict(frames=frames)))
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("web")
    asset = save_asset(sphere_asset(n_layers=3, n_expr=N_EXPR, texture_res=32), root / "asset")
    return dict(asset=asset, sequence=flame_params(root / "talk"))


def bakedavatar(*args) -> subprocess.CompletedProcess:
    return subprocess.run(["bakedavatar", *map(str, args)], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def bundle(inputs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "web"
    result = bakedavatar("export-web", inputs["asset"], out, "--sequence", inputs["sequence"])
    assert result.returncode == 0, result.stdout + result.stderr
    files = sum(p.is_file() for p in out.rglob("*"))
    assert f"web bundle: {out} ({files} files, {bundle_size_mb(out)['total']:.2f} MB" in result.stdout, result.stdout
    assert f"bakedavatar serve {out}" in result.stdout
    return out


def test_export_web_writes_a_bundle_that_loads_back(inputs, bundle):
    back = load_web_bundle(bundle)
    assert len(back.layers) == 3 and back.n_expr == N_EXPR
    talk = json.loads(inputs["sequence"].read_text())["frames"]
    np.testing.assert_allclose(load_web_sequences(bundle)["talk"][:, :N_EXPR], [f["expression"] for f in talk],
                               rtol=1e-6)
    info = json.loads((bundle / "manifest.json").read_text())["info"]
    assert (info["texture_format"], info["texture_quality"]) == ("webp-lossy", 95)  # the size budget's setting


def test_export_web_options_reach_the_bundle(inputs, tmp_path):
    out = tmp_path / "png"
    result = bakedavatar("export-web", inputs["asset"], out, "--texture-format", "png", "--blend-dtype", "int8")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["info"]["texture_format"], manifest["info"]["blend_dtype"]) == ("png", "int8")
    assert {p.suffix for p in (out / "textures").iterdir()} == {".png"}
    from bakedavatar.texture import load_asset
    original = load_asset(inputs["asset"])
    for a, b in zip(original.layers, load_web_bundle(out).layers):
        np.testing.assert_array_equal(a.radiance_textures, b.radiance_textures)  # PNG is lossless


def truncated_sequence(tmp: Path, inputs) -> tuple:
    path = flame_params(tmp / "bad")
    path.write_text(path.read_text()[:-30])
    return [inputs["asset"], "--sequence", path], path


def wrong_length_sequence(tmp: Path, inputs) -> tuple:
    path = flame_params(tmp / "fifty", n_expr=50)
    return [inputs["asset"], "--sequence", path], path


def not_an_asset(tmp: Path, inputs) -> tuple:
    (tmp / "photos").mkdir()
    (tmp / "photos" / "a.jpg").write_bytes(b"\xff\xd8")
    return [tmp / "photos"], tmp / "photos" / "manifest.json"


BAD_INPUTS = {
    "missing asset folder": lambda tmp, inputs: ([tmp / "nowhere"], tmp / "nowhere"),
    "not an asset": not_an_asset,
    "missing sequence": lambda tmp, inputs: ([inputs["asset"], "--sequence", tmp / "none.json"], tmp / "none.json"),
    "malformed sequence": truncated_sequence,
    "sequence of another head": wrong_length_sequence,
    "unknown texture format": lambda tmp, inputs: ([inputs["asset"], "--texture-format", "jpeg"], "texture_format"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_export_web_bad_input_is_one_line_and_writes_nothing(inputs, tmp_path, capsys, case):
    args, named = BAD_INPUTS[case](tmp_path, inputs)
    before = sorted(tmp_path.rglob("*"))
    assert main(["export-web", *map(str, args[:1]), str(tmp_path / "web"), *map(str, args[1:])]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and str(named) in err, err
    assert sorted(tmp_path.rglob("*")) == before


def test_export_web_never_replaces_a_folder_that_is_not_a_bundle(inputs, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["export-web", str(inputs["asset"]), str(tmp_path)]) == 1
    assert f"{tmp_path}: exists and is not a web bundle" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, response.read()


def test_serve_answers_on_localhost_refuses_escapes_and_opens_the_browser(bundle, tmp_path):
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(0o755)
    server = subprocess.Popen(["bakedavatar", "serve", str(bundle), "--port", "0", "--open"], text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "BROWSER": str(browser)})
    try:
        line = server.stdout.readline()
        assert line.startswith("bakedavatar viewer: http://127.0.0.1:"), line + server.stderr.read()
        url = line.split()[2]
        port = int(url.rsplit(":", 1)[1].strip("/"))
        assert get(port, "/")[0] == 200
        status, body = get(port, "/bundle/manifest.json")
        assert status == 200 and json.loads(body)["format"] == "bakedavatar-web"
        for escape in ["/../README.md", "/bundle/../../pyproject.toml", "/bundle/%2e%2e/%2e%2e/settings.ini"]:
            assert get(port, escape)[0] == 403, escape
        deadline = time.time() + 10
        while not opened.is_file() and time.time() < deadline:
            time.sleep(0.1)
        assert opened.read_text().strip() == url
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=10) == 0  # Ctrl-C stops it cleanly
    finally:
        if server.poll() is None:
            server.kill()
        server.communicate()


def test_serve_refuses_a_folder_that_is_not_a_bundle(inputs, capsys):
    assert main(["serve", str(inputs["asset"])]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and f"{inputs['asset'] / 'manifest.json'}" in err and "not a web bundle" in err
