"""The committed notebooks: clean on disk, and executed headless with papermill and nbval.

Every execution uses papermill's Python API with the venv's kernel and
`shutdown_kernel="immediate"`, and Jupyter's folders point at a temporary
directory (see conftest.py). Learner files go to a per-test WORKBOOK_WORK_DIR.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import workbook
from workbook import REPORT_MIME, STEP_IDS
from workbook.cli import main as cli_main
from workbook.notebooks import WORK_DIR_ENV, prepare_practice_notebook
from workbook.render import esc

pytestmark = pytest.mark.notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
PRACTICE = NOTEBOOKS / "design_loop.ipynb"
START = NOTEBOOKS / "00_start_here.ipynb"
COMMITTED = [START, PRACTICE]
PARAMETERS = ["scenario_id", "answers_path", "grader", "mode", "time_limit_minutes", "exercises"]
SCENARIOS, _ = workbook.load_all()
SCENARIO_IDS = sorted(SCENARIOS)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def execute(path: Path, output: Path, kernel_name: str, cwd: Path = NOTEBOOKS, **parameters) -> nbformat.NotebookNode:
    import papermill as pm

    return pm.execute_notebook(
        str(path), str(output), parameters=parameters, kernel_name=kernel_name, cwd=str(cwd),
        progress_bar=False, log_output=False, shutdown_kernel="immediate", execution_timeout=120, start_timeout=60,
    )


def outputs(nb) -> list[dict]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]


def report_outputs(nb) -> list[dict]:
    return [out for out in outputs(nb) if REPORT_MIME in out.get("data", {})]


def cli_json(answers_file: Path, capsys) -> dict:
    capsys.readouterr()
    assert cli_main(["score", str(answers_file), "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def assert_clean_run(nb) -> None:
    errors = [out for out in outputs(nb) if out.get("output_type") == "error"]
    assert not errors, errors
    assert not any(out.get("name") == "stderr" for out in outputs(nb)), "nothing written to stderr"
    for cell in nb.cells:
        assert not cell.metadata.get("papermill", {}).get("exception"), cell.source


def widget_texts(nb) -> str:
    state = nb.metadata["widgets"][WIDGET_STATE]["state"]
    return "\n".join(str(model["state"].get("value", "")) for model in state.values())


# --- the files as committed ------------------------------------------------------------------


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name)
def test_committed_without_outputs(path, tmp_path):
    from workbook.notebooks import strip_outputs

    copy = tmp_path / path.name
    copy.write_bytes(path.read_bytes())
    assert not strip_outputs(copy), f"{path.name} has outputs: run workbook.notebooks.strip_outputs on it"
    assert copy.read_bytes() == path.read_bytes()
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    # what `make lab` installs: a different display name makes JupyterLab rewrite (and autosave) the notebook
    assert f'--display-name "{nb.metadata.kernelspec.display_name}"' in (ROOT / "Makefile").read_text()
    # what the venv's ipykernel reports and JupyterLab writes on open (the Python version included)
    from workbook.notebooks import kernel_language_info

    assert nb.metadata.language_info == kernel_language_info(), (
        f"{path.name}: language_info differs from this Python's; run workbook.notebooks.strip_outputs on it with the venv's Python"
    )
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source
            assert len(cell.source.splitlines()) <= 6, f"notebook cells stay a few lines: {cell.source}"
    assert "widgets" not in nb.metadata, "no saved widget state"


def test_practice_parameters_cell():
    nb = nbformat.read(PRACTICE, as_version=4)
    tagged = [cell for cell in nb.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1
    tree = ast.parse(tagged[0].source)
    values = {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body}
    assert all(isinstance(node, ast.Assign) for node in tree.body)
    assert list(values) == PARAMETERS
    assert values["scenario_id"] in SCENARIOS
    assert values["answers_path"] is None and values["grader"] == "offline" and values["mode"] == "practice"
    assert isinstance(values["time_limit_minutes"], int) and values["time_limit_minutes"] > 0
    assert values["exercises"] is None  # the shipped scenarios unless `workbook generate --exercises` sets a folder


def test_start_notebook_explains_the_loop_with_a_diagram():
    nb = nbformat.read(START, as_version=4)
    markdown = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    assert "```mermaid" in markdown
    for step in workbook.STEPS:
        assert step.title in markdown
    assert "limits" in markdown.lower()


# --- headless execution ------------------------------------------------------------------------
#
# All papermill runs of this module start together in one fixture, two at a time on
# threads (papermill's API is thread-safe enough: each run owns its kernel and event
# loop), next to the nbval subprocess. The tests below then check one run each.

POOL = 2


class Runs:
    """Executed notebooks by case name, the shared work folder, and the nbval result."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.work = folder / "my-work"
        self.cases: dict[str, tuple[Path, dict, Path]] = {}  # name -> (notebook, parameters, answers file for the CLI)
        self.results: dict[str, object] = {}
        self.nbval: subprocess.CompletedProcess | None = None

    def add(self, name: str, notebook: Path, parameters: dict, answers: Path | None = None) -> None:
        self.cases[name] = (notebook, parameters, answers)

    def notebook(self, name: str) -> nbformat.NotebookNode:
        result = self.results[name]
        if isinstance(result, BaseException):
            raise result
        return result


def write_answers(path: Path, scenario_id: str, answers: dict, learner: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"scenario": scenario_id, "learner": learner, "answers": answers}))
    return path


def start_nbval(env: dict, kernel_name: str) -> subprocess.Popen:
    env = {k: v for k, v in env.items() if k not in ("PYTEST_XDIST_WORKER", "PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST")}
    command = [
        sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-kernel-name", kernel_name,
        "-p", "no:cacheprovider", "-p", "no:xdist", "-q", *map(str, COMMITTED),
    ]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, jupyter_env, kernel_name) -> Runs:
    from concurrent.futures import ThreadPoolExecutor

    runs = Runs(tmp_path_factory.mktemp("notebook-runs"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(WORK_DIR_ENV, str(runs.work))
        for scenario_id in SCENARIO_IDS:
            scenario = SCENARIOS[scenario_id]
            reference = {step: scenario.step(step).reference_answer for step in STEP_IDS}
            answers = write_answers(runs.folder / f"{scenario_id}.reference.json", scenario_id, reference, "Headless Test")
            runs.add(f"reference-{scenario_id}", PRACTICE, {"scenario_id": scenario_id, "answers_path": str(answers)}, answers)
            # no answers at all: answers_path=None and no file in the work folder; the CLI gets an empty file
            empty = write_answers(runs.folder / f"{scenario_id}.empty.json", scenario_id, {})
            runs.add(f"empty-{scenario_id}", PRACTICE, {"scenario_id": scenario_id}, empty)
        # mock mode with a clock left running (daemon thread) must not block the run
        mock_id = SCENARIO_IDS[0]
        mock_answers = write_answers(runs.work / f"{mock_id}-mock.answers.json", mock_id, {"user_intent": "Reviewers."})
        state = {"mock": {"started_at": __import__("time").time(), "limit_seconds": 600}}
        mock_answers.with_name(f"{mock_id}-mock.answers.state.json").write_text(json.dumps(state))
        runs.add("mock-running", PRACTICE, {"scenario_id": mock_id, "mode": "mock", "time_limit_minutes": 10}, mock_answers)
        # the start notebook, with one attempt in the history
        from workbook.progress import record_attempt

        first = SCENARIOS[SCENARIO_IDS[0]]
        runs.best = workbook.score({"scenario": first.id, "answers": {s: first.step(s).reference_answer for s in STEP_IDS}})
        record_attempt(runs.best, runs.work)
        runs.add("start", START, {})
        runs.work_before = sorted(p.name for p in runs.work.iterdir())

        nbval = start_nbval(dict(os.environ, **{WORK_DIR_ENV: str(runs.folder / "nbval-work")}), kernel_name)

        def run(name: str):
            notebook, parameters, _ = runs.cases[name]
            try:
                return name, execute(notebook, runs.folder / f"{name}.out.ipynb", kernel_name, **parameters)
            except BaseException as error:  # reported by the test that reads this case
                return name, error

        with ThreadPoolExecutor(POOL) as pool:
            runs.results = dict(pool.map(run, runs.cases))
        stdout, stderr = nbval.communicate(timeout=300)
        runs.nbval = subprocess.CompletedProcess(nbval.args, nbval.returncode, stdout, stderr)
        yield runs


@pytest.mark.parametrize("scenario_id", SCENARIO_IDS)
def test_practice_notebook_with_reference_answers(scenario_id, runs, capsys):
    nb = runs.notebook(f"reference-{scenario_id}")
    answers = runs.cases[f"reference-{scenario_id}"][2]
    assert_clean_run(nb)
    (report,) = report_outputs(nb)
    assert report["output_type"] == "display_data"
    expected = cli_json(answers, capsys)
    assert report["data"][REPORT_MIME] == expected
    assert expected["learner"] == "Headless Test" and expected["total"] > 0
    assert f"{expected['total']:.0f}</span>/100" in report["data"]["text/html"]
    assert any(WIDGET_VIEW in out.get("data", {}) for out in outputs(nb)), "the form is displayed"


@pytest.mark.parametrize("scenario_id", SCENARIO_IDS)
def test_practice_notebook_without_answers(scenario_id, runs, capsys):
    nb = runs.notebook(f"empty-{scenario_id}")
    assert_clean_run(nb)
    (report,) = report_outputs(nb)
    expected = cli_json(runs.cases[f"empty-{scenario_id}"][2], capsys)
    assert report["data"][REPORT_MIME] == expected
    assert expected["total"] == 0 and any("7 of 7 steps have no answer" in flag for flag in expected["flags"])


def test_headless_runs_write_nothing(runs):
    for name in runs.cases:
        runs.notebook(name)  # every run finished
    assert sorted(p.name for p in runs.work.iterdir()) == runs.work_before, "no answers, history or exports written"
    for name, (_, _, answers) in runs.cases.items():
        if answers is not None and answers.name.endswith(".reference.json"):
            assert json.loads(answers.read_text())["learner"] == "Headless Test"


def test_mock_mode_with_a_running_clock_does_not_block(runs):
    nb = runs.notebook("mock-running")
    assert_clean_run(nb)
    assert not report_outputs(nb), "no report while the mock runs"
    shown = widget_texts(nb) + json.dumps([out.get("data", {}) for out in outputs(nb)])
    assert "left" in shown, "the countdown is shown"
    scenario = SCENARIOS[SCENARIO_IDS[0]]
    for step_id in STEP_IDS:
        for criterion in scenario.step(step_id).criteria:
            assert esc(criterion.probe) not in shown and criterion.probe not in shown, "no probe before the end"


def test_start_notebook_headless(runs):
    nb = runs.notebook("start")
    assert_clean_run(nb)
    assert sum(WIDGET_VIEW in out.get("data", {}) for out in outputs(nb)) == 3, "picker, progress panel and the keep-your-work panel"
    shown = widget_texts(nb)
    for scenario in SCENARIOS.values():
        assert esc(scenario.title) in shown
    assert f"best {runs.best.total:.0f} of 100" in shown
    assert "Prepare my practice notebook" in json.dumps(nb.metadata["widgets"])
    printed = "".join(out.get("text", "") for out in outputs(nb) if out.get("name") == "stdout")
    assert all(scenario_id in printed for scenario_id in SCENARIO_IDS), "the %workbook magic runs the CLI"


def test_cli_console_script_matches(runs):
    """The installed `workbook` command (a real subprocess) prints what the notebook displays."""
    name = f"reference-{SCENARIO_IDS[0]}"
    (report,) = report_outputs(runs.notebook(name))
    command = Path(sys.executable).with_name("workbook")
    result = subprocess.run([str(command), "score", str(runs.cases[name][2]), "--format", "json"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert report["data"][REPORT_MIME] == json.loads(result.stdout)


def test_nbval_runs_the_committed_notebooks(runs):
    result = runs.nbval
    code_cells = sum(cell.cell_type == "code" for path in COMMITTED for cell in nbformat.read(path, as_version=4).cells)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert f"{code_cells} passed" in result.stdout, result.stdout[-2000:]
    assert "skipped" not in result.stdout


def test_prepared_notebook_runs_from_the_work_folder(tmp_path, monkeypatch, jupyter_env, kernel_name, capsys):
    """What the picker's button makes: a personal notebook in my-work/ that finds its own answers."""
    monkeypatch.delenv(WORK_DIR_ENV, raising=False)
    work = tmp_path / "notebooks" / "my-work"
    scenario = SCENARIOS[SCENARIO_IDS[-1]]
    path, created = prepare_practice_notebook(scenario.id, work=work, template=PRACTICE)
    assert created and path == work / f"{scenario.id}.ipynb"
    prepared = nbformat.read(path, as_version=4)
    tagged = [cell for cell in prepared.cells if {"parameters", "injected-parameters"} & set(cell.metadata.get("tags", []))]
    assert len(tagged) == 1 and f'scenario_id = "{scenario.id}"' in tagged[0].source, "one parameters cell, the values in force"
    assert prepared.metadata.kernelspec == nbformat.read(PRACTICE, as_version=4).metadata.kernelspec
    answers = write_answers(work / f"{scenario.id}.answers.json", scenario.id, {"safety_checks": scenario.step("safety_checks").reference_answer})
    nb = execute(path, tmp_path / "out.ipynb", kernel_name, cwd=work)  # Jupyter runs a notebook in its own folder
    assert_clean_run(nb)
    (report,) = report_outputs(nb)
    assert report["data"][REPORT_MIME] == cli_json(answers, capsys)
    assert report["data"][REPORT_MIME]["steps"]["safety_checks"]["score"] > 0
    assert sorted(p.name for p in work.iterdir()) == sorted([path.name, answers.name]), "nothing else written"


def test_prepared_notebook_title_is_escaped(tmp_path, monkeypatch):
    import yaml

    from workbook.scenario import EXERCISES_ENV

    source = SCENARIOS[SCENARIO_IDS[0]]
    folder = tmp_path / "exercises"
    folder.mkdir()
    original = next(Path(workbook.scenario.shipped_exercises_dir()).glob(f"{source.id}.y*ml"))
    data = yaml.safe_load(original.read_text())
    data["title"] = "<img src=x onerror=alert(1)> *Bold* [link](javascript:x) # not a heading"
    (folder / original.name).write_text(yaml.safe_dump(data, allow_unicode=True))
    monkeypatch.setenv(EXERCISES_ENV, str(folder))
    path, _ = prepare_practice_notebook(source.id, work=tmp_path / "my-work", template=PRACTICE)
    title = next(cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "markdown").split("\n")[0]
    assert "<img" not in title and "*Bold*" not in title and "[link]" not in title and " # not" not in title
    assert "&lt;img src=x onerror=alert(1)&gt;" in title and "\\*Bold\\*" in title


# --- Binder --------------------------------------------------------------------------------------------


def test_binder_configuration():
    import tomllib

    binder = ROOT / "binder"
    assert os.access(binder / "postBuild", os.X_OK)
    assert "pip install" in (binder / "postBuild").read_text()
    required = {line.split(">")[0].split("<")[0].split("=")[0].strip().lower()
                for line in (binder / "requirements.txt").read_text().splitlines() if line.strip() and not line.startswith("#")}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {dep.split(">")[0].split("<")[0].split("=")[0].split("[")[0].strip().lower() for dep in project["dependencies"]}
    assert runtime <= required, f"binder/requirements.txt misses {runtime - required}"
    assert {"jupyterlab", "notebook"} <= required
    # every override names a real JupyterLab setting
    schemas = Path(sys.prefix) / "share" / "jupyter" / "lab" / "schemas"
    for plugin, settings in json.loads((binder / "overrides.json").read_text()).items():
        package, _, name = plugin.partition(":")
        schema = json.loads((schemas / package / f"{name}.json").read_text())
        assert set(settings) <= set(schema["properties"]), (plugin, settings)


def test_strip_outputs_cleans_an_executed_notebook(runs, tmp_path):
    from workbook.notebooks import strip_outputs

    runs.notebook("start")
    executed = runs.folder / "start.out.ipynb"
    copy = tmp_path / "executed.ipynb"
    copy.write_bytes(executed.read_bytes())
    assert strip_outputs(copy)
    nb = nbformat.read(copy, as_version=4)
    assert "widgets" not in nb.metadata and "papermill" not in nb.metadata
    assert all(c.outputs == [] and c.execution_count is None for c in nb.cells if c.cell_type == "code")
    assert [c.source for c in nb.cells] == [c.source for c in nbformat.read(START, as_version=4).cells]


# --- Claude as grader, headless ------------------------------------------------------------------


def test_practice_notebook_with_the_claude_grader(tmp_path, kernel_name, monkeypatch):
    """grader="claude" against the fake API: the key comes from the environment, never a parameter or a file."""
    sys.path.insert(0, str(Path(__file__).parent))
    from fake_anthropic import TEST_KEY, FakeAnthropic, files_containing

    scenario = SCENARIOS["support-refund-agent"]
    answers = write_answers(tmp_path / "claude.answers.json", scenario.id, {s: scenario.step(s).reference_answer for s in STEP_IDS})
    started = __import__("time").time() - 1
    with FakeAnthropic() as api:
        for name, value in {"ANTHROPIC_API_KEY": TEST_KEY, "ANTHROPIC_BASE_URL": api.base_url,
                            "WORKBOOK_CACHE": str(tmp_path / "verdicts"), WORK_DIR_ENV: str(tmp_path / "my-work")}.items():
            monkeypatch.setenv(name, value)
        out = tmp_path / "claude.out.ipynb"
        nb = execute(PRACTICE, out, kernel_name, scenario_id=scenario.id, answers_path=str(answers), grader="claude")
        bodies = api.message_bodies()
    assert_clean_run(nb)
    (report,) = report_outputs(nb)
    assert report["data"][REPORT_MIME]["grader"] == "claude" and len(bodies) == 1
    assert bodies[0]["messages"][0]["content"].count("<answer step=") == len(STEP_IDS)
    assert nb.metadata.language_info == nbformat.read(PRACTICE, as_version=4).metadata.language_info  # as the kernel reports it
    assert TEST_KEY not in out.read_text()
    assert files_containing(TEST_KEY, [tmp_path], started) == []


def test_a_template_default_that_is_not_injected_stays_in_force():
    """The Voila app injects five parameters; the template's sixth (exercises) must still be defined."""
    from workbook.notebooks import _one_parameters_cell

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell('scenario_id = "x"  # which\nexercises = None  # folder', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell('# Parameters\nscenario_id = "support-refund-agent"\n', metadata={"tags": ["injected-parameters"]}),
    ]
    (cell,) = _one_parameters_cell(nb).cells
    values = {n.targets[0].id: ast.literal_eval(n.value) for n in ast.parse(cell.source).body}
    assert values == {"scenario_id": "support-refund-agent", "exercises": None}
