"""Workshop start-up times, each against a baseline measured in the same run.

* App mode: seconds from opening the `workbook app` URL (a new visitor, a new
  browser context) to a form whose text box can be typed into, against a Voilà
  page of one cell showing one text box (Voilà's own floor).
* JupyterHub: seconds from login to a ready form (server started, the practice
  notebook's kernel running, the form built and an answer saved), per user, with
  three users logging in at once, against one user alone on the same hub config.

    .venv/bin/python benchmarks/bench_workshop.py [--rounds 3] [--skip-hub] [--skip-app]

Needs /usr/bin/chromium (app) and `make proxy` (hub). Prints medians and ratios;
no thresholds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import isolated_jupyter_env  # noqa: E402
from test_app import AppServer, open_form  # noqa: E402
from test_browser import CHROMIUM, CHROMIUM_ARGS, free_port  # noqa: E402

FLOOR_NOTEBOOK = {
    "cells": [{"cell_type": "code", "execution_count": None, "id": "floor", "metadata": {}, "outputs": [],
               "source": "import ipywidgets\nipywidgets.Textarea()"}],
    "metadata": {"kernelspec": {"display_name": "Python 3 (workbook)", "language": "python", "name": "python3"}},
    "nbformat": 4, "nbformat_minor": 5,
}


class FloorVoila:
    """Plain Voilà on a one-cell notebook: the cost of a kernel, a page and one widget."""

    def __init__(self, base: Path):
        notebook = base / "floor.ipynb"
        notebook.write_text(json.dumps(FLOOR_NOTEBOOK))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        env = dict(os.environ, **isolated_jupyter_env(base / "home"))
        self.log = (base / "floor.log").open("w")
        self.process = subprocess.Popen([sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={self.port}",
                                         "--Voila.ip=127.0.0.1"], env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url, timeout=2).read()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the floor Voilà did not answer")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)
        self.log.close()


def bench_app(rounds: int, base: Path) -> None:
    from playwright.sync_api import sync_playwright

    app = AppServer(base / "app-root", base / "app-home")
    (base / "app-home").mkdir(exist_ok=True)
    floor = FloorVoila(base)
    try:
        app.wait_ready()
        floor.wait_ready()
        app_times, floor_times = [], []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            for index in range(rounds + 1):  # the first of each warms caches and is not counted
                for server, times in ((floor, floor_times), (app, app_times)):
                    context = browser.new_context()
                    seconds = open_form(context.new_page(), server.url + ("" if server is floor else f"?name=visitor{index}"))
                    context.close()
                    if index:
                        times.append(seconds)
            browser.close()
    finally:
        app.stop()
        floor.stop()
    a, f = statistics.median(app_times), statistics.median(floor_times)
    print(f"app mode: URL to an interactive form  median {a:.2f} s (min {min(app_times):.2f}, max {max(app_times):.2f}, {rounds} visitors)")
    print(f"  floor: Voila page with one text box  median {f:.2f} s (min {min(floor_times):.2f}, max {max(floor_times):.2f})")
    print(f"  ratio app / floor: {a / f:.2f}x")


def bench_hub(base: Path) -> None:
    import test_hub

    alone_phases: dict[str, float] = {}
    _, alone = test_hub.run_three_users(base / "hub-alone", ("solo",), alone_phases)
    phases: dict[str, float] = {}
    _, together = test_hub.run_three_users(base / "hub-three", test_hub.USERS, phases)
    solo = alone["solo"]
    print(f"jupyterhub: one user alone, login to a ready form: {solo:.1f} s (server running after {alone_phases['solo']:.1f} s)")
    for user in test_hub.USERS:
        print(f"  three at once, {user:<6} login to a ready form: {together[user]:.1f} s "
              f"(server running after {phases[user]:.1f} s)  ratio to alone: {together[user] / solo:.2f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-app", action="store_true")
    parser.add_argument("--skip-hub", action="store_true")
    args = parser.parse_args(argv)
    for base_dir in [tempfile.mkdtemp(prefix="wb-bench-workshop-")]:
        base = Path(base_dir)
        for (name, value) in isolated_jupyter_env(base / "jupyter").items():
            os.environ[name] = value
        os.environ.pop("WORKBOOK_WORK_DIR", None)
        if not args.skip_app:
            bench_app(args.rounds, base)
        if not args.skip_hub:
            bench_hub(base)
    return 0


if __name__ == "__main__":
    sys.exit(main())
