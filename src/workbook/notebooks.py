"""Where a learner's work lives, and preparing a personal practice notebook.

Everything a learner produces goes into one work folder, `my-work/` beside the
notebooks (or $WORKBOOK_WORK_DIR):

    my-work/<scenario>.ipynb                 personal practice notebook (papermill-parameterised)
    my-work/<scenario>.answers.json          answers (autosaved by the form)
    my-work/<scenario>.answers.state.json    hints shown, steps checked, mock clock
    my-work/<scenario>-mock.ipynb / -mock.answers.json   the same for a timed mock
    my-work/<scenario>-report.html / .md     exported reports
    my-work/history.jsonl                    one line per full scoring (the progress panel)

papermill and nbformat are imported inside `prepare_practice_notebook` only.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

WORK_DIR_ENV = "WORKBOOK_WORK_DIR"
WORK_DIR_NAME = "my-work"
PRACTICE_NOTEBOOK = "design_loop.ipynb"
START_NOTEBOOK = "00_start_here.ipynb"
MODES = ("practice", "mock")
DEFAULT_TIME_LIMIT = 45
DEFAULT_GRADER = "offline"  # the registry's built-in that needs no key or network


def work_dir(base: str | os.PathLike | None = None) -> Path:
    """The learner's work folder: $WORKBOOK_WORK_DIR, else `my-work/` in (or being) the current folder.

    In app mode ($WORKBOOK_APP_ROOT, set by `workbook app`) every visitor has a folder of
    their own, chosen by their resume code or name (`workbook.app.visitor_work_dir`).
    """
    if base is not None:
        return Path(base).resolve()
    if os.environ.get("WORKBOOK_APP_ROOT"):
        from .app import visitor_work_dir

        return visitor_work_dir()
    if os.environ.get(WORK_DIR_ENV):
        return Path(os.environ[WORK_DIR_ENV]).expanduser().resolve()
    here = Path.cwd()
    return here if here.name == WORK_DIR_NAME else here / WORK_DIR_NAME


def _stem(scenario_id: str, mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be 'practice' or 'mock', got {mode!r}")
    return scenario_id if mode == "practice" else f"{scenario_id}-mock"


def default_answers_path(scenario_id: str, mode: str = "practice", work: str | os.PathLike | None = None) -> Path:
    return work_dir(work) / f"{_stem(scenario_id, mode)}.answers.json"


def practice_notebook_path(scenario_id: str, mode: str = "practice", work: str | os.PathLike | None = None) -> Path:
    return work_dir(work) / f"{_stem(scenario_id, mode)}.ipynb"


def report_stem(answers_path: str | os.PathLike) -> str:
    """`legal.answers.json` -> `legal`; `alice.json` -> `alice` (exports are `<stem>-report.html`)."""
    name = Path(answers_path).name
    for suffix in (".answers.json", ".json"):
        if name.endswith(suffix):
            return name[: -len(suffix)] or "answers"
    return name


def shipped_notebooks_dir() -> Path | None:
    """The notebooks that come with the package (wheel) or the checkout (editable install)."""
    for candidate in (Path(__file__).parent / "data" / "notebooks", Path(__file__).resolve().parents[2] / "notebooks"):
        if (candidate / PRACTICE_NOTEBOOK).is_file():
            return candidate
    return None


def find_template(template: str | os.PathLike | None = None) -> Path:
    """The practice notebook to copy: explicit path, beside the current notebook, or the checkout's."""
    if template is not None:
        path = Path(template)
        if not path.is_file():
            raise FileNotFoundError(f"practice notebook template not found: {path}")
        return path
    here = Path.cwd()
    candidates = [here / PRACTICE_NOTEBOOK, here.parent / PRACTICE_NOTEBOOK]
    shipped = shipped_notebooks_dir()
    if shipped is not None:
        candidates.append(shipped / PRACTICE_NOTEBOOK)
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"cannot find {PRACTICE_NOTEBOOK} (looked in {', '.join(str(p.parent) for p in candidates)}); "
        "open the start notebook from the workbook's notebooks/ folder"
    )


def prepare_practice_notebook(
    scenario_id: str,
    *,
    mode: str = "practice",
    time_limit_minutes: int = DEFAULT_TIME_LIMIT,
    work: str | os.PathLike | None = None,
    template: str | os.PathLike | None = None,
    overwrite: bool = False,
    grader: str = DEFAULT_GRADER,
    exercises: str | None = None,
) -> tuple[Path, bool]:
    """Write a personal copy of the practice notebook with its parameters injected (not executed).

    Returns (path, created). An existing personal notebook is kept unless `overwrite`:
    the learner may have added notes to it (the answers live in their own file anyway).
    `grader` is a name from the `workbook.graders` registry; only the name goes into
    the notebook (an API key never does: it comes from the environment or the form).
    `exercises` is the scenario folder the notebook's form reads, as the notebook
    will see it: relative to the work folder, which is the kernel's working folder.
    """
    from .scenario import load_scenario

    where = Path(work) / exercises if exercises and work is not None else exercises
    scenario = load_scenario(scenario_id, where)  # fails early, with the known ids, on a typo
    if mode not in MODES:
        raise ValueError(f"mode must be 'practice' or 'mock', got {mode!r}")
    from .clock import check_limit_minutes

    from .graders import UnknownGraderError, graders

    try:
        graders.check(grader)
    except UnknownGraderError as error:
        raise ValueError(f"grader: {error}") from None
    minutes = check_limit_minutes(time_limit_minutes) if mode == "mock" else DEFAULT_TIME_LIMIT
    minutes = int(minutes) if float(minutes).is_integer() else minutes
    target = practice_notebook_path(scenario.id, mode, work)
    if target.exists() and not overwrite:
        return target, False

    import nbformat
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = load_notebook_node(str(find_template(template)))  # as papermill reads it (every cell gets tags)
    answers = default_answers_path(scenario.id, mode, work)
    parameters = {
        "scenario_id": scenario.id,
        # relative to the personal notebook, which sits in the work folder (the kernel's cwd)
        "answers_path": answers.name,
        "grader": grader,
        "mode": mode,
        "time_limit_minutes": minutes,
        "exercises": exercises,
    }
    nb = _one_parameters_cell(parameterize_notebook(nb, parameters, report_mode=False))
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        if not cell.metadata.get("tags"):
            cell.metadata.pop("tags", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.metadata.pop("papermill", None)
    title = f"{_md_title(scenario.title)} ({'timed mock' if mode == 'mock' else 'practice'})"
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("# "):
            first, _, rest = cell.source.lstrip().partition("\n")
            cell.source = f"{first}: {title}\n{rest}"
            break
    nb.metadata["workbook"] = {"scenario": scenario.id, "mode": mode}
    target.parent.mkdir(parents=True, exist_ok=True)
    from .answers import atomic_write_text

    atomic_write_text(target, nbformat.writes(nb) + "\n")
    return target, True


_ASSIGNED = re.compile(r"^([A-Za-z_]\w*)\s*=", re.MULTILINE)


def _one_parameters_cell(nb):
    """Keep one cell of parameters: papermill's injected values take the place of the template's defaults.

    The cell keeps the `parameters` tag, so the prepared notebook is itself
    papermill-parameterised, and a learner reads only the values in force.
    """
    injected = [cell for cell in nb.cells if "injected-parameters" in cell.metadata.get("tags", [])]
    defaults = [cell for cell in nb.cells if "parameters" in cell.metadata.get("tags", [])]
    if not injected or not defaults:
        return nb
    source = injected[0].source.replace("# Parameters\n", "", 1).strip()
    given = set(_ASSIGNED.findall(source))
    # A default the caller did not inject stays in force (a parameter added to the template later, say).
    kept = [line for line in defaults[0].source.splitlines() if (name := _ASSIGNED.match(line)) and name.group(1) not in given]
    defaults[0].source = "# Parameters (prepared for you; the form reads them)\n" + "\n".join([source, *kept])
    nb.cells = [cell for cell in nb.cells if cell is not injected[0]]
    return nb


def _md_title(text: str) -> str:
    """An author's title inside a Markdown heading: no HTML, links or emphasis."""
    from .handin import md_text

    return md_text(text)


def kernel_language_info() -> dict:
    """`language_info` exactly as ipykernel reports it for this Python (what JupyterLab writes on open)."""
    import sys

    return {
        "codemirror_mode": {"name": "ipython", "version": sys.version_info[0]},
        "file_extension": ".py",
        "mimetype": "text/x-python",
        "name": "python",
        "nbconvert_exporter": "python",
        "pygments_lexer": "ipython3",
        "version": sys.version.split()[0],
    }


def strip_outputs(path: str | os.PathLike) -> bool:
    """Remove outputs, execution counts and saved widget state from a notebook in place.

    `language_info` is set as the venv's kernel reports it, so that opening the
    notebook in JupyterLab changes nothing (no dirty, autosaved copy).
    The notebooks are committed clean; run this with the venv's Python after editing one in Jupyter:
    `python -c "from workbook.notebooks import strip_outputs as s; s('notebooks/design_loop.ipynb')"`.
    Returns True when the file changed.
    """
    import nbformat

    from .answers import atomic_write_text

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    before = nbformat.writes(nb)
    nb.metadata.pop("widgets", None)
    nb.metadata.pop("papermill", None)
    nb.metadata["language_info"] = kernel_language_info()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("papermill", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    after = nbformat.writes(nb)
    if after != before:
        atomic_write_text(path, after + "\n")
    return after != before
