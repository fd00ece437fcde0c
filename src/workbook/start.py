"""The start notebook's widgets: a scenario picker that prepares a personal notebook, and a progress panel.

    from workbook.start import scenario_picker, progress_panel
    scenario_picker()     # filter by level, read the brief, prepare my-work/<scenario>.ipynb
    progress_panel()      # attempts and best total per scenario, from my-work/history.jsonl

ipywidgets is imported here; papermill and nbformat only when a notebook is prepared.
"""

from __future__ import annotations

import os
from pathlib import Path

import ipywidgets as W

from . import form_html as H
from .notebooks import DEFAULT_GRADER, DEFAULT_TIME_LIMIT, prepare_practice_notebook, work_dir as _work_dir
from .progress import history_path, summarize
from .scenario import load_all

LEVELS = ("intro", "intermediate", "advanced")
ALL_LEVELS = "All levels"
MINUTES = (1, 180)
PREPARE = {"practice": "Prepare my practice notebook", "mock": "Prepare my mock notebook"}
GRADER_LABELS = {
    "offline": ("Offline scorer", "Instant, free and private: the rubric scorer runs on this machine"),
    "claude": ("Claude", "Claude reads meaning; needs an API key (ANTHROPIC_API_KEY or the form's key field); each check costs a little"),
}


def _display(obj) -> None:
    from IPython.display import display

    display(obj)


def _relative_link(target: Path) -> str:
    """A link relative to the current folder (the start notebook's), which Jupyter opens in a new tab."""
    try:
        return Path(os.path.relpath(target, Path.cwd())).as_posix()
    except ValueError:
        return target.as_posix()


def _grader_names() -> list[str]:
    """The registry's graders, built-ins first (a broken third-party entry point leaves the built-ins)."""
    from .graders import grader_names

    try:
        names = grader_names()
    except Exception:  # noqa: BLE001 - a broken installed package must not break the picker
        names = []
    return [n for n in GRADER_LABELS if n in names or not names] + [n for n in names if n not in GRADER_LABELS]


class ScenarioPicker:
    def __init__(self, work_dir: str | os.PathLike | None = None):
        self.work_dir = _work_dir(work_dir)
        self.scenarios, self.problems = load_all()
        order = {level: n for n, level in enumerate(LEVELS)}
        self._sorted = sorted(self.scenarios.values(), key=lambda s: (order.get(s.level, 9), s.title))
        levels = [ALL_LEVELS] + [level for level in LEVELS if any(s.level == level for s in self._sorted)]
        self.level = W.ToggleButtons(options=levels, value=ALL_LEVELS, description="Level", style={"description_width": "initial", "button_width": "auto"})
        self.choice = W.Dropdown(description="Scenario", style={"description_width": "initial"}, layout=W.Layout(width="40em"))
        self.brief = W.HTML("")
        self.mode = W.ToggleButtons(
            options=[("Practice", "practice"), ("Timed mock", "mock")], value="practice", description="Mode",
            tooltips=["Untimed, with hints and feedback per step", "A countdown; hints and feedback after the time is up"],
            style={"description_width": "initial", "button_width": "auto"},
        )
        self.minutes = W.BoundedIntText(
            value=DEFAULT_TIME_LIMIT, min=MINUTES[0], max=MINUTES[1], step=1, description=f"Minutes ({MINUTES[0]}–{MINUTES[1]})",
            style={"description_width": "initial"}, layout=W.Layout(width="14em", display="none"),
        )
        names = _grader_names()
        self.grader = W.ToggleButtons(
            options=[(GRADER_LABELS.get(n, (n, ""))[0], n) for n in names], value=DEFAULT_GRADER if DEFAULT_GRADER in names else names[0],
            description="Grader", tooltips=[GRADER_LABELS.get(n, ("", f"the {n} grader (installed package)"))[1] for n in names],
            style={"description_width": "initial", "button_width": "auto"},
        )
        self.prepare_button = W.Button(description=PREPARE["practice"], icon="file", button_style="primary", layout=W.Layout(width="auto"))
        self.status = W.HTML("")
        self.link = W.Output()
        self.last_path: Path | None = None
        self.last_link_html = ""
        warning = ""
        if self.problems:
            shown = "; ".join(str(p) for p in self.problems[:3])
            warning = H.notice_html(f"{len(self.problems)} problem(s) in scenario files; those scenarios are not listed: {shown}", "warn")
        self.warning = W.HTML(warning)
        self.level.observe(lambda _c: self._filter(), names="value")
        self.choice.observe(lambda _c: (self._show_brief(), self._clear_result()), names="value")
        self.mode.observe(lambda _c: self._mode_changed(), names="value")
        self.grader.observe(lambda _c: self._clear_result(), names="value")
        self.prepare_button.on_click(lambda _b: self.prepare())
        self._filter()
        self.widget = W.VBox(
            [self.warning, self.level, self.choice, self.brief, W.HBox([self.mode, self.minutes], layout=W.Layout(flex_flow="row wrap")),
             self.grader, W.HBox([self.prepare_button]), self.status, self.link]
        )

    def _filter(self) -> None:
        level = self.level.value
        options = [(f"{s.title} ({s.level})", s.id) for s in self._sorted if level == ALL_LEVELS or s.level == level]
        current = self.choice.value
        self.choice.options = options
        ids = [value for _, value in options]
        self.choice.value = current if current in ids else (ids[0] if ids else None)
        self._show_brief()

    def _show_brief(self) -> None:
        scenario = self.scenarios.get(self.choice.value) if self.choice.value else None
        if scenario is None:
            self.brief.value = H.notice_html("No scenario at this level yet.", "info")
            self.prepare_button.disabled = True
            return
        self.prepare_button.disabled = False
        self.brief.value = H.brief_html(scenario)

    def _mode_changed(self) -> None:
        """A different mode is a different notebook: the last link no longer applies."""
        self.minutes.layout.display = "flex" if self.mode.value == "mock" else "none"
        self.prepare_button.description = PREPARE[self.mode.value]
        self._clear_result()

    def _clear_result(self) -> None:
        if self.last_path is None and not self.status.value:
            return
        self.status.value = ""
        self.last_path = None
        self.last_link_html = ""
        self.link.clear_output()

    def prepare(self) -> Path | None:
        scenario_id = self.choice.value
        if not scenario_id:
            return None
        self.status.value = H.notice_html("Preparing your notebook…", "info")
        try:
            path, created = prepare_practice_notebook(
                scenario_id, mode=self.mode.value, time_limit_minutes=self.minutes.value, work=self.work_dir,
                grader=self.grader.value,
            )
        except Exception as error:  # noqa: BLE001 - shown to the learner, in one line
            self.status.value = H.notice_html(f"Could not prepare the notebook: {error}", "error")
            return None
        self.last_path = path
        href = _relative_link(path)
        what = "Your notebook is ready" if created else "You already have this notebook (your answers are kept)"
        self.status.value = H.notice_html(f"{what}: {href}", "ok")
        self.last_link_html = (
            f"<p style='font-size: 1.1em'>→ <a href='{H.esc(href)}' target='_blank' rel='noopener'>"
            f"Open {H.esc(path.name)}</a> <span class='wb-muted'>(or find it in the file browser under "
            f"{H.esc(_relative_link(path.parent))}/)</span></p>"
        )
        from IPython.display import HTML

        self.link.clear_output()
        with self.link:
            _display(HTML(H.FORM_CSS + f"<div class='wb-form'>{self.last_link_html}</div>"))
        return path


class ProgressPanel:
    def __init__(self, work_dir: str | os.PathLike | None = None):
        self.work_dir = _work_dir(work_dir)
        self.view = W.HTML("")
        self.refresh_button = W.Button(description="Refresh", icon="refresh", tooltip="Read the history again", layout=W.Layout(width="auto"))
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.widget = W.VBox([self.view, W.HBox([self.refresh_button])])
        self.refresh()

    def rows(self) -> tuple[list[dict], int]:
        scenarios, _ = load_all()
        progress, skipped = summarize(self.work_dir, scenarios)
        order = {level: n for n, level in enumerate(LEVELS)}
        progress.sort(key=lambda row: (order.get(row.level, 9), row.title))
        return [row.to_row() for row in progress], skipped

    def refresh(self) -> None:
        rows, skipped = self.rows()
        note = ""
        if not history_path(self.work_dir).exists():
            note = H.notice_html("No scored attempts yet: your first full scoring will show up here.", "info")
        self.view.value = note + H.progress_html(rows, skipped)


def scenario_picker(*, work_dir: str | os.PathLike | None = None, display: bool = True) -> ScenarioPicker:
    picker = ScenarioPicker(work_dir)
    if display:
        _display(picker.widget)
    return picker


def progress_panel(*, work_dir: str | os.PathLike | None = None, display: bool = True) -> ProgressPanel:
    panel = ProgressPanel(work_dir)
    if display:
        _display(panel.widget)
    return panel
