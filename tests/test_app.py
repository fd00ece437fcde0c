"""App mode: `workbook app` serves the practice notebook with Voilà; visitors never share a folder.

Two visitors (two browser contexts, as two people in a room) each write a step,
check it and see feedback; neither page shows the other's text, their answers
land in two different folders, and a visitor who comes back with their resume
code finds their own answers. The server is the real CLI, stopped by its PID.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import isolated_jupyter_env
from test_browser import CHROMIUM, CHROMIUM_ARGS, _require, free_port

from workbook.answers import load_answers
from workbook.app import folder_for, normalize_code, normalize_name, visitor_from_query

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]

SCENARIO = "support-refund-agent"
ADA = "Ada writes: refund requests from shoppers of a 12-person store; success is 40% fewer tickets."
GRACE = "Grace writes: billing admins at a SaaS firm, pilot with 2 teams, success is 25% faster refunds."


class AppServer:
    """`workbook app SCENARIO --port P --root DIR`, the CLI's own process; stopped by its PID."""

    def __init__(self, root: Path, home: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        env = dict(os.environ, **isolated_jupyter_env(home))
        env.pop("WORKBOOK_WORK_DIR", None)
        self.log = (home / "app.log").open("w")
        command = [sys.executable, "-m", "workbook.cli", "app", SCENARIO, "--port", str(self.port), "--root", str(root)]
        self.started = time.monotonic()
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"workbook app exited with {self.process.returncode}; see {self.log.name}")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as response:
                    if response.status == 200:
                        return time.monotonic() - self.started
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        raise RuntimeError(f"workbook app did not answer within {timeout} s; see {self.log.name}")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)  # the CLI stops Voilà, its child, then exits
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.log.close()


def open_form(page, url: str, timeout: float = 60_000) -> float:
    """Open the app page; seconds until the form's first text box can be typed into."""
    started = time.monotonic()
    page.goto(url)
    page.locator(".widget-textarea textarea").first.wait_for(state="visible", timeout=timeout)
    return time.monotonic() - started


def write_and_check(page, text: str) -> None:
    box = page.locator(".widget-textarea textarea").first
    box.fill(text)
    page.get_by_text("Saved to").first.wait_for(timeout=15_000)
    page.locator("button.jupyter-button", has_text="Check this step").first.click()
    page.locator(".wb-step").first.wait_for(timeout=15_000)


def test_visitor_keys_are_hashed_never_paths(tmp_path):
    assert normalize_code("k7qf-m2xp-3b") == "K7QFM2XP3B" and normalize_code("../../etc") is None
    assert normalize_name("  Ada   LOVELACE ") == "ada lovelace" and normalize_name("\x1b\x07 ") is None
    visitor = visitor_from_query("name=../../etc/passwd", tmp_path)
    assert visitor.folder.parent == (tmp_path / "visitors").resolve() and ".." not in visitor.folder.name
    assert folder_for(tmp_path, "name", "ada") != folder_for(tmp_path, "code", "ada")
    fresh = visitor_from_query("", tmp_path)
    assert fresh.new and normalize_code(fresh.key) == fresh.key


def test_two_visitors_never_see_each_others_text(tmp_path_factory, jupyter_env):
    _require(Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM} (run `make browser`)")
    from playwright.sync_api import sync_playwright

    root = tmp_path_factory.mktemp("app-root")
    server = AppServer(root, tmp_path_factory.mktemp("app-home"))
    try:
        server.wait_ready()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                ada_context, grace_context = browser.new_context(accept_downloads=True), browser.new_context()
                ada, grace = ada_context.new_page(), grace_context.new_page()
                open_form(ada, server.url)  # no key: a new resume code
                open_form(grace, server.url + "?name=Grace%20Hopper")
                write_and_check(ada, ADA)
                write_and_check(grace, GRACE)
                assert "Grace writes" not in ada.content() and "Ada writes" not in grace.content()
                code = ada.locator(".wb-resume-code").first.inner_text()
                assert normalize_code(code)
                assert "grace hopper" in grace.locator(".wb-visitor").first.inner_text()

                files = sorted(root.glob(f"visitors/*/{SCENARIO}.answers.json"))
                assert len(files) == 2, files
                texts = sorted(load_answers(f).text("user_intent") for f in files)
                assert texts == sorted([ADA, GRACE])
                assert files[0].parent != files[1].parent

                # Ada downloads her answers through the page's link, as a browser saves a file.
                ada.locator("button.jupyter-button", has_text="Download my answers").first.click()
                link = ada.locator("a.wb-download").first
                link.wait_for(timeout=15_000)
                with ada.expect_download() as download:
                    link.click()
                saved = Path(download.value.path())
                assert load_answers(saved).text("user_intent") == ADA
                # Grace uploads a corrupt file: refused with the reason, her answer stays.
                broken = root / "broken.json"
                broken.write_text('{"scenario": "support-refund-agent", "answers": ')
                with grace.expect_file_chooser() as chooser:
                    grace.locator(".wb-transfer .widget-upload").first.click()
                chooser.value.set_files(str(broken))
                grace.locator(".wb-transfer-status", has_text="Not restored").first.wait_for(timeout=15_000)
                assert grace.locator(".widget-textarea textarea").first.input_value() == GRACE

                # Ada comes back later, in a new tab, with her code: her answer, not Grace's.
                again = ada_context.new_page()
                open_form(again, server.url + f"?code={code}")
                assert again.locator(".widget-textarea textarea").first.input_value() == ADA
                assert "Grace writes" not in again.content()
            finally:
                browser.close()
    finally:
        server.stop()
    assert server.process.returncode is not None
