"""Shared pytest set-up: tests run from the repository root, as the command line and the pipeline expect; the
browser tests share one JupyterLab server (fixture `jupyterlab`) and an artifacts folder (fixture `artifacts`)."""
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
BROWSER = ROOT / "tests" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
# JupyterLab user settings for the tests: no news / update toasts over the notebook
LAB_SETTINGS = {"@jupyterlab/apputils-extension/notification.jupyterlab-settings":
                {"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True}}


@pytest.fixture(autouse=True)
def _repo_root_cwd(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.fixture
def artifacts() -> Path:
    "Where tests leave pictures and reports: $BAKEDAVATAR_ARTIFACTS, or a new temporary folder."
    out = Path(os.environ.get("BAKEDAVATAR_ARTIFACTS") or tempfile.mkdtemp(prefix="bakedavatar-artifacts-"))
    out.mkdir(parents=True, exist_ok=True)
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_server(url: str, proc: subprocess.Popen, timeout: float):
    "Poll the server's status API until it answers (or the process dies, or time runs out)."
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"jupyter lab did not answer {url} within {timeout} s")


@dataclass
class BrowserRun:
    "What tests/browser/jupyterlab_screenshot.mjs reported for one notebook."
    report: dict  # its JSON report ({} if it printed none)
    returncode: int
    stderr: str  # its log
    screenshot: Path  # the page (the widgets' canvases beside it: <name>_canvasN.png)

    def __str__(self) -> str:
        "For assertion messages: the report, the end of the log and where the screenshot is."
        return f"report {self.report}\nnode stderr:\n{self.stderr[-3000:]}\nscreenshot: {self.screenshot}"


@dataclass
class JupyterLab:
    "A JupyterLab server on 127.0.0.1 with a token, its notebooks under `root`, driven by headless Chromium."
    base: str  # http://127.0.0.1:PORT
    token: str
    root: Path  # the server's notebook directory
    log: Path  # the server's output

    def write_notebook(self, path: str, cells: list) -> Path:
        "A notebook of code `cells` at `root/path` (its kernel runs in that folder)."
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        (self.root / path).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, self.root / path)
        return self.root / path

    def run_notebook(self, path: str, screenshot: Path, timeout: float) -> BrowserRun:
        """Open `root/path` in Chromium, run all its cells and save `screenshot` (its report beside it, as .json);
        then stop its kernel."""
        # ?reset: start from an empty workspace, not the one the previous test left open
        url = f"{self.base}/lab?token={self.token}&reset"
        try:
            run = subprocess.run(["node", str(BROWSER / "jupyterlab_screenshot.mjs"), url, path, str(screenshot),
                                  str(timeout)], cwd=BROWSER, capture_output=True, text=True, timeout=timeout + 15)
        finally:
            self.stop_kernels()
        lines = run.stdout.strip().splitlines()
        report = json.loads(lines[-1]) if lines else {}
        screenshot.with_suffix(".json").write_text(json.dumps(report, indent=1))
        print(f"screenshot: {screenshot}")
        return BrowserRun(report, run.returncode, run.stderr, screenshot)

    def stop_kernels(self):
        "Shut down every running kernel (frees the memory of a finished test's notebook)."
        for kernel in self._api("GET", "kernels"):
            self._api("DELETE", f"kernels/{kernel['id']}")

    def _api(self, method: str, path: str):
        request = urllib.request.Request(f"{self.base}/api/{path}?token={self.token}", method=method)
        with urllib.request.urlopen(request, timeout=30) as r:
            body = r.read()
        return json.loads(body) if body else None


def _check_browser_setup():
    "Skip without node; fail with what to run when Chromium or playwright-core is missing."
    if shutil.which("node") is None:
        pytest.skip("node is not installed (needed to drive Chromium through playwright-core)")
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: run `bash tests/browser/setup.sh`"
    assert (BROWSER / "node_modules" / "playwright-core").is_dir(), \
        "tests/browser/node_modules/playwright-core is missing: run `bash tests/browser/setup.sh`"


def _start_lab(folder: Path, port: int, token: str, log) -> subprocess.Popen:
    "`jupyter lab` serving `folder/notebooks` with the test settings, this repository importable by its kernels."
    settings = folder / "settings"
    for name, value in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(value))
    (folder / "notebooks").mkdir()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    return subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--notebook-dir={folder / 'notebooks'}",
         f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={folder / 'workspaces'}"],
        cwd=folder / "notebooks", env=env, stdout=log, stderr=subprocess.STDOUT)


@pytest.fixture(scope="session")
def jupyterlab(tmp_path_factory) -> JupyterLab:
    "One JupyterLab server for the whole test session; stopped at its end."
    _check_browser_setup()
    folder = tmp_path_factory.mktemp("jupyterlab")
    port, token = _free_port(), secrets.token_hex(16)
    with open(folder / "jupyterlab.log", "w") as log:
        server = _start_lab(folder, port, token, log)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_for_server(f"{base}/api/status?token={token}", server, timeout=30)
            yield JupyterLab(base, token, folder / "notebooks", folder / "jupyterlab.log")
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
