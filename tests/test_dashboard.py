"""The instructor dashboard notebook, run headless with papermill on a generated class, and the
answers a practice notebook carries (display id updated in place), read back by `workbook grade`.
"""

from __future__ import annotations

import ast
import csv
import json
from pathlib import Path

import nbformat
import pytest

from workbook.carry import ANSWERS_MIME
from workbook.classroom.demo import make_class
from workbook.classroom.inputs import read_submission
from workbook.cli import main

pytestmark = pytest.mark.notebook

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "notebooks" / "instructor_dashboard.ipynb"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def execute(path: Path, output: Path, kernel_name: str, cwd: Path, **parameters):
    import papermill as pm

    return pm.execute_notebook(
        str(path), str(output), parameters=parameters, kernel_name=kernel_name, cwd=str(cwd),
        progress_bar=False, log_output=False, shutdown_kernel="immediate", execution_timeout=120, start_timeout=60,
    )


def outputs(nb) -> list[dict]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]


def test_dashboard_committed_clean_with_one_parameters_cell():
    nb = nbformat.read(DASHBOARD, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    assert f'--display-name "{nb.metadata.kernelspec.display_name}"' in (ROOT / "Makefile").read_text()
    tagged = [cell for cell in nb.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1
    names = [node.targets[0].id for node in ast.parse(tagged[0].source).body]
    assert names == ["submissions_dir", "out_dir", "overrides_file"]
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
            assert len(cell.source.splitlines()) <= 4, cell.source
    assert '"notebooks/instructor_dashboard.ipynb"' in (ROOT / "pyproject.toml").read_text(), "shipped in the wheel"


def test_dashboard_runs_headless_on_a_generated_class(tmp_path, jupyter_env, kernel_name):
    make_class(tmp_path / "class", 24)
    (tmp_path / "class" / "zz-evil").mkdir()
    (tmp_path / "class" / "zz-evil" / "x.answers.json").write_text(json.dumps(
        {"scenario": "support-refund-agent", "learner": "<script>alert(1)</script>", "answers": {"user_intent": "<img src=x onerror=alert(1)>"}}))
    out = tmp_path / "graded"
    (tmp_path / "o.csv").write_text("learner,scenario,step,score,comment\nlearner-00003,legal-contract-summarizer,5,90,Seen in class\nnobody,legal-contract-summarizer,,,hi\n")
    nb = execute(DASHBOARD, tmp_path / "dashboard.out.ipynb", kernel_name, tmp_path, submissions_dir=str(tmp_path / "class"), out_dir=str(out),
                 overrides_file=str(tmp_path / "o.csv"))
    errors = [o for o in outputs(nb) if o.get("output_type") == "error" or o.get("name") == "stderr"]
    assert not errors, errors
    html = "\n".join(str(o.get("data", {}).get("text/html", "")) for o in outputs(nb))
    assert "<b>25</b> submissions graded" in html and "<b>1</b> override rows not applied" in html
    assert "Contested misses" in html and "Anti-patterns" in html and "Most-missed criteria" in html
    images = [o for o in outputs(nb) if "image/png" in o.get("data", {})]
    assert len(images) == 3, "heatmap, step means with spread, top missed criteria"
    state = json.dumps(nb.metadata["widgets"][WIDGET_STATE]["state"])
    assert "learner-00000" in state and "Sort by" in state, "the sortable class table and the picker"
    assert "From your instructor" not in state and "Your answers" in state, "the picker shows a feedback page"
    shown_html = html + "".join(m["state"].get("value", "") for m in nb.metadata["widgets"][WIDGET_STATE]["state"].values() if m["model_name"] == "HTMLModel")
    assert "<script>alert(1)</script>" not in shown_html and "&lt;script&gt;alert(1)&lt;/script&gt;" in shown_html
    assert "<img src=x" not in shown_html  # (the picker's option labels are plain text, never HTML)
    with open(out / "gradebook.csv", encoding="utf-8") as stream:
        book = {row["learner"]: row for row in csv.DictReader(stream)}
    assert len(book) == 25 and book["learner-00003"]["safety_checks"] == "90" and book["learner-00003"]["overrides"] == "1"


CARRIER = [
    "from workbook.answers import Answers\nfrom workbook.carry import show, publish",
    "show(Answers('support-refund-agent', {'user_intent': 'first draft'}, 'Pat'))",
    "import threading\n"
    "saver = threading.Thread(target=publish, args=(Answers('support-refund-agent', {'user_intent': 'Support agents handle refunds; a pilot for 5% of tickets.'}, 'Pat'),))\n"
    "saver.start(); saver.join()",
]


def test_a_practice_notebook_carries_its_latest_answers(tmp_path, jupyter_env, kernel_name):
    """show() then publish() from another thread (as an autosave does): the saved notebook holds the latest."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in CARRIER])
    nb.metadata["kernelspec"] = {"name": kernel_name, "display_name": "Python 3", "language": "python"}
    source = tmp_path / "carrier.ipynb"
    nbformat.write(nb, source)
    executed = tmp_path / "in" / "pat.ipynb"
    executed.parent.mkdir()
    execute(source, executed, kernel_name, tmp_path)
    carried = [o for o in outputs(nbformat.read(executed, as_version=4)) if ANSWERS_MIME in o.get("data", {})]
    assert len(carried) == 1, "one output, updated in place"
    sub = read_submission(executed)
    assert sub.learner == "Pat" and sub.answers.text("user_intent").startswith("Support agents handle refunds")
    assert main(["grade", str(tmp_path / "in"), "--out", str(tmp_path / "out")]) == 0
