"""Binder, reproduced without Docker: what repo2docker does with `binder/`, done on this machine.

1. A fresh virtual environment from the Python that `binder/runtime.txt` names,
   with only `binder/requirements.txt` installed (pip's cache keeps it quick),
   then `binder/postBuild` run from a copy of the repository, as repo2docker does.
2. The start notebook executed headless with papermill, in that environment's kernel.
3. JupyterLab from that environment, opened in Chromium at the README badge's
   path, shows the scenario picker.

One environment for the whole module; the Lab server is stopped by its PID.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import in_ci, isolated_jupyter_env
from test_browser import CHROMIUM, CHROMIUM_ARGS, KERNEL_READY, _require, command, free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
LAUNCH_PATH = "lab/tree/notebooks/00_start_here.ipynb"  # the README badge's ?urlpath=
IGNORED = shutil.ignore_patterns(".venv", ".git", "test-artifacts", "node_modules", "__pycache__", "my-work", "*.egg-info",
                                 ".pytest_cache", ".ipynb_checkpoints", "build", "dist")


def runtime_python() -> str:
    """The interpreter binder/runtime.txt asks for (python-3.X), found on this machine."""
    text = (BINDER / "runtime.txt").read_text().strip()
    found = re.fullmatch(r"python-(\d+)\.(\d+)", text)
    assert found, f"binder/runtime.txt: expected 'python-3.X', got {text!r}"
    wanted = f"{found.group(1)}.{found.group(2)}"
    for candidate in (f"python{wanted}", "python3", sys.executable):
        path = shutil.which(candidate) or (candidate if Path(candidate).exists() else None)
        if path:
            version = subprocess.run([path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                     capture_output=True, text=True).stdout.strip()
            if version == wanted:
                return path
    message = f"no Python {wanted} on this machine (binder/runtime.txt)"
    pytest.fail(message) if in_ci() else pytest.skip(message)


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory):
    """(repository copy, venv bin folder, isolated Jupyter env) built the way repo2docker builds it."""
    base = tmp_path_factory.mktemp("binder")
    repo = base / "repo"
    shutil.copytree(ROOT, repo, ignore=IGNORED)
    venv = base / "env"
    subprocess.run([runtime_python(), "-m", "venv", str(venv)], check=True)
    bin_dir = venv / "bin"
    env = dict(os.environ, **isolated_jupyter_env(base / "home"))
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    for name in ("WORKBOOK_WORK_DIR", "WORKBOOK_APP_ROOT", "PYTHONPATH"):
        env.pop(name, None)
    log = base / "build.log"
    with log.open("w") as out:
        steps = [
            [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "-r", "binder/requirements.txt"],
            ["bash", "binder/postBuild"],
        ]
        for step in steps:
            result = subprocess.run(step, cwd=repo, env=env, stdout=out, stderr=subprocess.STDOUT)
            assert result.returncode == 0, f"{' '.join(step)} failed; see {log}"
    yield repo, bin_dir, env


def test_binder_files_are_all_repo2docker_needs():
    assert sorted(p.name for p in BINDER.iterdir() if p.name != "README.md") == ["overrides.json", "postBuild", "requirements.txt", "runtime.txt"]
    assert os.access(BINDER / "postBuild", os.X_OK) or (BINDER / "postBuild").read_text().startswith("#!")
    readme = (ROOT / "README.md").read_text()
    assert f"urlpath={LAUNCH_PATH}" in readme and "mybinder.org/badge_logo.svg" in readme


def test_start_notebook_runs_headless_in_the_binder_environment(binder_env, tmp_path):
    repo, bin_dir, env = binder_env
    out = tmp_path / "start-out.ipynb"
    script = (
        "import papermill, sys\n"
        f"papermill.execute_notebook({str(repo / 'notebooks' / '00_start_here.ipynb')!r}, {str(out)!r}, "
        f"cwd={str(repo / 'notebooks')!r}, kernel_name='python3', progress_bar=False, shutdown_kernel='immediate')\n"
    )
    result = subprocess.run([str(bin_dir / "python"), "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    nb = json.loads(out.read_text())
    assert nb["metadata"]["papermill"]["exception"] in (None, False)
    outputs = [o for cell in nb["cells"] if cell["cell_type"] == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)  # the picker
    kernel_python = subprocess.run([str(bin_dir / "jupyter"), "kernelspec", "list", "--json"], env=env,
                                   capture_output=True, text=True).stdout
    assert str(bin_dir.parent) in kernel_python  # the kernel that ran it is the Binder environment's


def test_jupyterlab_from_the_binder_environment_shows_the_picker(binder_env, tmp_path):
    _require(Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM} (run `make browser`)")
    from playwright.sync_api import sync_playwright

    repo, bin_dir, env = binder_env
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "lab.log").open("w")
    lab = subprocess.Popen(
        [str(bin_dir / "jupyter-lab"), "--no-browser", f"--port={port}", "--ip=127.0.0.1", "--ServerApp.token=",
         "--ServerApp.password=", f"--ServerApp.root_dir={repo}", "--LabApp.expose_app_in_browser=True",
         "--ServerApp.disable_check_xsrf=True", "--ServerApp.terminals_enabled=False", "--allow-root"],
        cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert lab.poll() is None, f"jupyter lab exited; see {log.name}"
            try:
                urllib.request.urlopen(f"{url}/api/status", timeout=2).read()
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert time.monotonic() < deadline, f"jupyter lab did not answer; see {log.name}"
                time.sleep(0.2)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 1000})
                page.goto(f"{url}/{LAUNCH_PATH}?reset")
                page.wait_for_selector(".jp-Notebook", timeout=60_000)
                # postBuild's overrides.json starts the kernel without a "Select Kernel" dialog
                page.wait_for_function(KERNEL_READY, timeout=60_000)
                # the Binder warning, rendered at the top before anything runs
                page.locator(".jp-RenderedMarkdown", has_text="10 minutes without activity").first.wait_for(timeout=30_000)
                command(page, "notebook:run-all-cells")
                page.locator(".widget-dropdown select").first.wait_for(timeout=60_000)
                page.get_by_role("button", name="Prepare my practice notebook").first.wait_for(timeout=30_000)
                assert page.locator(".widget-dropdown select option").count() >= 3  # the scenarios
                page.locator("button.jupyter-button", has_text="as a zip").first.wait_for()  # and the way to keep work
            finally:
                browser.close()
    finally:
        lab.terminate()
        try:
            lab.wait(timeout=15)
        except subprocess.TimeoutExpired:
            lab.kill()
            lab.wait(timeout=10)
        log.close()
