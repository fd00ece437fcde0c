"""In a real JupyterLab: a notebook saved by the browser carries the answers published after its cell ran.

This is the mechanism `workbook grade` relies on for handed-in notebooks: `carry.show`
displays the answers with a display id, `carry.publish` replaces them from another
thread (as an autosave does, after the cell has finished), and JupyterLab saves the
output, MIME type it cannot render and all. Uses the harness of test_browser.py.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat
import pytest

from test_browser import JupyterServer, browser, command, open_notebook, run_all, wait_idle  # noqa: F401 (browser is a fixture)
from workbook.carry import ANSWERS_MIME
from workbook.classroom.inputs import read_submission

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(180)]

LATER = "Support agents handle refunds; we pilot on 5% of damaged-order tickets first."
CELLS = [
    "from workbook.answers import Answers\nfrom workbook.carry import show, publish\nimport threading",
    "show(Answers('support-refund-agent', {'user_intent': 'first draft'}, 'Pat'))",
    f"threading.Timer(1.5, publish, args=(Answers('support-refund-agent', {{'user_intent': {LATER!r}}}, 'Pat'),)).start()",
]


@pytest.fixture
def server(tmp_path_factory, jupyter_env):
    root = tmp_path_factory.mktemp("lab-root")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (workbook)", "language": "python"}
    nbformat.write(nb, root / "pat.ipynb")
    server = JupyterServer(root, tmp_path_factory.mktemp("lab-home"))
    yield server
    server.delete_sessions()
    server.stop()


def test_a_notebook_saved_in_jupyterlab_carries_the_latest_answers(server, browser):
    server.wait_ready()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        open_notebook(page, f"{server.url}/lab/tree/pat.ipynb?reset")
        run_all(page)
        wait_idle(page)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # the timer publishes after the cells have finished
            command(page, "docmanager:save")
            time.sleep(1.0)
            saved = json.loads((server.root / "pat.ipynb").read_text())
            carried = [o["data"][ANSWERS_MIME] for c in saved["cells"] for o in c.get("outputs", []) if ANSWERS_MIME in o.get("data", {})]
            if carried and carried[-1]["answers"].get("user_intent") == LATER:
                break
        assert len(carried) == 1, "one output, replaced in place"
        assert carried[0]["answers"]["user_intent"] == LATER, carried
    finally:
        context.close()
    sub = read_submission(server.root / "pat.ipynb")
    assert sub.learner == "Pat" and sub.answers.text("user_intent") == LATER
