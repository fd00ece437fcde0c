"""The practice notebook in a real browser: JupyterLab 4 and Notebook 7 driven by Playwright.

Uses Debian's Chromium at /usr/bin/chromium (Playwright cannot download a browser
here; never run `playwright install`). Without a browser the tests skip locally and
FAIL in CI (CI=true; see conftest.py). Screenshots go to test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import in_ci, isolated_jupyter_env

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("WORKBOOK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
]
ANSWER = (
    "Contract managers and in-house lawyers doing the first read of inbound SaaS agreements. "
    "We pilot on one contract type, and success is 95% recall on risky clauses with review time cut from 40 to 15 minutes. "
    "<img src=x onerror=\"window.__xss=1\"> <script>window.__xss=2</script>"
)


def _require(condition: bool, message: str) -> None:
    if not condition:
        if in_ci():
            pytest.fail(f"{message} (CI=true: a missing browser is a failure)")
        pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class JupyterServer:
    """`jupyter lab` on a free loopback port, started so that we hold the server's own PID."""

    def __init__(self, root: Path, home: Path):
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, **isolated_jupyter_env(home))
        env.pop("WORKBOOK_WORK_DIR", None)  # as for a learner: my-work/ beside the notebook
        settings = home / "lab-settings"
        notification = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        notification.parent.mkdir(parents=True, exist_ok=True)
        notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        env["JUPYTERLAB_SETTINGS_DIR"] = str(settings)
        env["JUPYTERLAB_WORKSPACES_DIR"] = str(home / "lab-workspaces")
        self.log = (home / "server.log").open("w")
        command = [
            sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={self.port}", "--ip=127.0.0.1",
            "--ServerApp.token=", "--ServerApp.password=", f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True", "--JupyterNotebookApp.expose_app_in_browser=True",
            "--ServerApp.open_browser=False", "--ServerApp.disable_check_xsrf=True", "--ServerApp.terminals_enabled=False",
            "--LabApp.extension_manager=readonly", "--allow-root",
        ]
        self.process = subprocess.Popen(command, cwd=root, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.ready = False

    def wait_ready(self, timeout: float = 60) -> None:
        """Wait for /api/status (the browser starts meanwhile)."""
        if self.ready:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.process.returncode}; see {self.log.name}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status", timeout=2) as response:
                    if response.status == 200:
                        self.ready = True
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        raise RuntimeError(f"jupyter lab did not answer within {timeout} s; see {self.log.name}")

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(f"{self.url}{path}", method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def delete_sessions(self) -> None:
        for session in self.api("/api/sessions"):
            self.api(f"/api/sessions/{session['id']}", "DELETE")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture(scope="module")
def browser():
    _require(Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM} (run `make browser`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, jupyter_env):
    root = tmp_path_factory.mktemp("lab-root")
    for name in ("design_loop.ipynb", "00_start_here.ipynb"):
        for folder in ("lab", "nb7"):
            (root / folder).mkdir(exist_ok=True)
            shutil.copy(ROOT / "notebooks" / name, root / folder / name)
    server = JupyterServer(root, tmp_path_factory.mktemp("lab-home"))
    yield server
    server.stop()


@pytest.fixture
def page(server, browser, request):
    server.wait_ready()
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-last.png"), full_page=False)
    context.close()
    server.delete_sessions()
    assert not [e for e in errors if "__xss" in e], errors


def nbformat_read(path: Path):
    import nbformat

    return nbformat.read(path, as_version=4)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def wait_idle(page, timeout: float = 60_000) -> None:
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=timeout)


def command(page, name: str, args: dict | None = None) -> None:
    """Start a JupyterLab command without waiting for it (it may open a dialog)."""
    page.evaluate("([name, args]) => { window.jupyterapp.commands.execute(name, args || {}); }", [name, args])


KERNEL_READY = """() => {
    const widget = window.jupyterapp.shell.currentWidget;
    const kernel = widget && widget.sessionContext && widget.sessionContext.session && widget.sessionContext.session.kernel;
    return !!kernel && kernel.status === 'idle' && !document.querySelector('.jp-Dialog');
}"""


def open_notebook(page, url: str) -> None:
    """Open a notebook and start its kernel, answering the kernel dialog as a learner would."""
    page.goto(url)
    page.wait_for_selector(".jp-Notebook", timeout=60_000)
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.commands.hasCommand('notebook:run-all-cells')")
    select = page.locator(".jp-Dialog .jp-mod-accept", has_text="Select")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if select.count():
            select.first.click()
        elif page.evaluate(KERNEL_READY):
            return
        time.sleep(0.2)
    raise AssertionError("the notebook's kernel did not start")


def run_all(page) -> None:
    wait_idle(page)
    command(page, "notebook:run-all-cells")


def answer_box(page):
    return page.locator(".widget-textarea textarea").first


def test_practice_notebook_in_jupyterlab(page, server):
    open_notebook(page, f"{server.url}/lab/tree/lab/design_loop.ipynb?reset")
    run_all(page)
    box = answer_box(page)
    box.wait_for(state="visible", timeout=60_000)
    assert page.get_by_text("Your answer to step 1").first.is_visible(), "the text area has a visible label"
    page.get_by_role("tab", name="1. Intent").first.wait_for()

    box.click()
    box.fill(ANSWER)
    page.get_by_text("Saved to").first.wait_for(timeout=15_000)
    assert page.get_by_text("words").first.inner_text().split()[0] == str(len(ANSWER.split()))
    hint = page.locator("button.jupyter-button", has_text="Show a hint").first
    hint.click()
    page.locator(".wb-hint").first.wait_for()
    reference = page.locator("button.jupyter-button", has_text="Show reference answer").first
    assert reference.is_disabled(), "reference answer only after a check"
    page.locator("button.jupyter-button", has_text="Check this step").first.click()
    feedback = page.locator(".wb-step").first
    feedback.wait_for(timeout=15_000)
    assert "/100" in feedback.inner_text() and "Probe" in feedback.inner_text()
    page.locator("button.jupyter-button:not([disabled])", has_text="Show reference answer").first.wait_for(timeout=10_000)
    assert not reference.is_disabled()
    reference.click()
    page.locator(".wb-reference").first.wait_for()
    page.locator("button.jupyter-button", has_text="Score my whole design").first.click()
    page.locator(".wb-report h4:visible", has_text="Top improvements").first.wait_for(timeout=15_000)
    # the learner's markup was shown as text, never run
    assert page.evaluate("() => window.__xss") is None
    shot(page, "lab-1-checked")
    page.locator(".wb-report").last.scroll_into_view_if_needed()
    shot(page, "lab-2-scored")

    saved = json.loads((server.root / "lab" / "my-work" / "legal-contract-summarizer.answers.json").read_text())
    assert saved["answers"]["user_intent"] == ANSWER
    history = (server.root / "lab" / "my-work" / "history.jsonl").read_text().splitlines()
    assert len(history) == 1

    # restart the kernel and run everything again: the answer comes back
    command(page, "notebook:restart-run-all")
    page.locator(".jp-Dialog .jp-mod-accept").click()
    page.wait_for_function(
        "(text) => Array.from(document.querySelectorAll('.widget-textarea textarea')).some(t => t.value === text)",
        arg=ANSWER, timeout=60_000,
    )
    page.get_by_text("Restored from").first.wait_for(timeout=15_000)
    wait_idle(page)
    assert "✓" in page.get_by_role("tab", name="1. Intent").first.inner_text(), "checked state restored"
    page.locator(".wb-practice .wb-step").first.wait_for(timeout=15_000)  # and the step's last feedback with it
    assert page.evaluate("() => window.__xss") is None
    page.locator(".jp-OutputArea-output .wb-report").last.wait_for(timeout=15_000)
    shot(page, "lab-3-restored")

    # dark theme: the same form, readable
    command(page, "apputils:change-theme", {"theme": "JupyterLab Dark"})
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=15_000)
    page.locator(".widget-textarea").first.scroll_into_view_if_needed()
    time.sleep(0.5)
    shot(page, "lab-4-dark")
    color = page.evaluate("() => getComputedStyle(document.querySelector('.wb-brief')).color")
    background = page.evaluate("() => getComputedStyle(document.querySelector('.wb-brief')).backgroundColor")
    assert _contrast(color, background) >= 4.5, (color, background)
    command(page, "apputils:change-theme", {"theme": "JupyterLab Light"})


def test_start_here_prepares_and_opens_a_notebook(page, server):
    open_notebook(page, f"{server.url}/lab/tree/lab/00_start_here.ipynb?reset")
    page.locator(".jp-MarkdownCell svg").first.wait_for(timeout=30_000)  # the mermaid diagram rendered
    page.locator(".jp-RenderedMermaid img, .jp-RenderedMermaid svg").first.wait_for(timeout=30_000)
    scale = page.evaluate("""() => {
        const el = document.querySelector('.jp-RenderedMermaid img, .jp-RenderedMermaid svg');
        const natural = el.naturalWidth || (el.viewBox && el.viewBox.baseVal.width) || el.getBoundingClientRect().width;
        return el.getBoundingClientRect().width / natural;
    }""")
    source = "\n".join(c.source for c in nbformat_read(ROOT / "notebooks" / "00_start_here.ipynb").cells)
    font = float(source.split("font-size:")[1].split("px")[0])
    assert font * scale >= 11, f"diagram labels are legible at the default width ({font} px drawn at {scale:.2f}x)"
    wait_idle(page)
    # the kernel JupyterLab starts is the one the notebook names, and its language_info is the committed one:
    # opening rewrites nothing, so the notebook is not dirty and nothing is autosaved
    committed = nbformat_read(ROOT / "notebooks" / "00_start_here.ipynb").metadata
    metadata = page.evaluate("() => window.jupyterapp.shell.currentWidget.context.model.metadata")
    assert metadata["kernelspec"] == committed.kernelspec and metadata["language_info"] == committed.language_info
    assert page.evaluate("() => window.jupyterapp.shell.currentWidget.context.model.dirty") is False
    run_all(page)
    prepare = page.locator("button.jupyter-button", has_text="Prepare my practice notebook")
    prepare.wait_for(timeout=60_000)
    page.locator(".wb-brief").first.wait_for()
    page.locator(".wb-table").first.wait_for()  # the progress panel
    wait_idle(page)
    page.locator(".widget-toggle-buttons").first.scroll_into_view_if_needed()
    page.evaluate("() => document.querySelector('.widget-toggle-buttons').scrollIntoView({block: 'start'})")
    shot(page, "start-1-picker")
    page.locator(".wb-table").first.scroll_into_view_if_needed()
    shot(page, "start-2-progress")
    scenario_id = page.evaluate("() => document.querySelector('.wb-brief .wb-badge:nth-of-type(3)').textContent").removeprefix("id: ")
    prepare.click()
    link = page.locator(".widget-output a", has_text="Open")
    link.wait_for(timeout=30_000)
    assert (server.root / "lab" / "my-work" / f"{scenario_id}.ipynb").is_file()
    link.click()
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tabLabel", has_text=f"{scenario_id}.ipynb").wait_for(timeout=30_000)
    shot(page, "start-3-opened")
    # close every tab without saving the outputs (JupyterLab asks; a learner who keeps a clean clone says "Discard")
    command(page, "application:close-all")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and page.evaluate("() => !!window.jupyterapp.shell.currentWidget"):
        discard = page.locator(".jp-Dialog button", has_text="Discard")
        if discard.count():
            discard.first.click()
        time.sleep(0.2)
    assert (server.root / "lab" / "00_start_here.ipynb").read_bytes() == (ROOT / "notebooks" / "00_start_here.ipynb").read_bytes(), (
        "opening, running and closing the start notebook changed the file on disk"
    )


def test_prepared_mock_notebook_counts_down(page, server):
    from workbook.notebooks import prepare_practice_notebook

    work = server.root / "mock" / "my-work"
    limit = 0.1  # six seconds, set by parameter as a facilitator would set 45 minutes
    path, _ = prepare_practice_notebook("legal-contract-summarizer", mode="mock", time_limit_minutes=limit, work=work,
                                        template=ROOT / "notebooks" / "design_loop.ipynb")
    open_notebook(page, f"{server.url}/lab/tree/mock/my-work/{path.name}?reset")
    run_all(page)
    start = page.locator("button.jupyter-button", has_text="Start the clock")
    start.wait_for(timeout=60_000)
    wait_idle(page)
    assert answer_box(page).is_disabled(), "the clock starts the mock"

    def nothing_revealed(moment: str) -> None:
        text = page.locator(".jp-Notebook").inner_text()
        assert page.locator(".wb-report").count() == 0, f"no report {moment}"
        assert "Probe" not in text and "Top improvements" not in text, f"no probe {moment}"
        for label in ("Export my design", "Score my whole design", "Check this step"):
            buttons = page.locator("button.jupyter-button", has_text=label)
            assert all(not buttons.nth(n).is_visible() for n in range(buttons.count())), f"{label} hidden {moment}"

    nothing_revealed("before the clock starts")
    start.click()
    page.wait_for_function("() => /left/.test(document.querySelector('.wb-timer').textContent)", timeout=15_000)
    answer_box(page).fill("Legal-ops reviewers; pilot on SaaS contracts; 95% recall on risky clauses.")
    nothing_revealed("while the clock runs")
    page.locator(".wb-timer").first.scroll_into_view_if_needed()
    shot(page, "mock-1-running")
    # let it expire: the answers are scored as they stood
    page.wait_for_function("() => /Time is up/.test(document.querySelector('.wb-timer').textContent)", timeout=30_000)
    page.locator(".wb-report h4:visible", has_text="Top improvements").first.wait_for(timeout=15_000)
    assert answer_box(page).is_disabled(), "locked after the end"
    color = page.evaluate("() => getComputedStyle(document.querySelector('.wb-answer textarea')).opacity")
    assert float(color) == 1.0, "the learner's own text stays readable after expiry"
    page.locator(".wb-report").last.scroll_into_view_if_needed()
    shot(page, "mock-2-expired")
    attempt = json.loads((work / "history.jsonl").read_text().splitlines()[-1])
    assert attempt["mode"] == "mock" and attempt["time_used_seconds"] == limit * 60
    saved = json.loads((work / path.name.replace(".ipynb", ".answers.json")).read_text())
    assert saved["answers"]["user_intent"].startswith("Legal-ops reviewers")


def test_practice_notebook_in_notebook7(page, server):
    answers = server.root / "nb7" / "my-work" / "legal-contract-summarizer.answers.json"
    answers.parent.mkdir(parents=True, exist_ok=True)
    answers.write_text(json.dumps({"scenario": "legal-contract-summarizer", "answers": {"user_intent": "Written before opening."}}))
    open_notebook(page, f"{server.url}/notebooks/nb7/design_loop.ipynb")
    run_all(page)
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.widget-textarea textarea')).some(t => t.value === 'Written before opening.')",
        timeout=60_000,
    )
    box = answer_box(page)
    box.fill("Written before opening. Edited in Notebook 7.")
    page.get_by_text("Saved to").first.wait_for(timeout=15_000)
    page.locator("button.jupyter-button", has_text="Check this step").first.click()
    page.locator(".wb-step").first.wait_for(timeout=15_000)
    shot(page, "nb7-checked")
    assert json.loads(answers.read_text())["answers"]["user_intent"] == "Written before opening. Edited in Notebook 7."


def _contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two CSS rgb()/rgba() colours."""

    def channels(css: str) -> list[float]:
        inside = css[css.index("(") + 1 : css.index(")")]
        return [float(part) for part in inside.replace("/", ",").split(",")[:3]]

    def luminance(rgb: list[float]) -> float:
        def linear(c: float) -> float:
            c /= 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

        r, g, b = map(linear, rgb)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(channels(foreground)), luminance(channels(background))), reverse=True)
    return (high + 0.05) / (low + 0.05)
