"""The practice form: one scenario, seven steps, instant offline feedback, nothing lost.

    from workbook.form import practice
    form = practice("legal-contract-summarizer")      # shows the brief and the form
    form.show_report()                                  # the whole design, scored as it stands

What the form promises (and tests/test_form.py checks):

* Answers autosave to the answers file shortly after every change (debounced on a
  daemon `threading.Timer`, written atomically) and are restored when the form is
  built again; a pending save is flushed when the form is replaced or the kernel exits.
* A corrupt answers file is reported and moved aside (`answers.quarantine`), never
  overwritten; a file changed behind the form's back is kept aside too.
* Nothing waits for a front end: timers and the mock-mode clock are daemon threads,
  so headless runs (papermill, nbval) finish and the kernel can exit.
* Learner text is escaped in every HTML view (`render.esc`).

ipywidgets is imported here and only here (and in `workbook.start`), never by `import workbook`.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
import weakref
from pathlib import Path

import ipywidgets as W
from ipywidgets.widgets.widget_string import HTMLStyle

from . import render
from .answers import Answers, AnswersError, atomic_write_text, load_answers, quarantine, save_answers
from .notebooks import DEFAULT_TIME_LIMIT, MODES, default_answers_path, report_stem, work_dir as _work_dir
from .progress import format_duration, record_attempt
from .report import Report
from .scenario import Scenario, load_scenario
from .scoring import score
from .steps import STEPS

GRADERS = ("offline",)
# Short tab labels: seven full titles do not fit side by side (each panel shows the full title).
TAB_LABELS = {
    "user_intent": "Intent",
    "context_acquisition": "Context",
    "model_reasoning": "Model",
    "tool_execution": "Tools",
    "safety_checks": "Safety",
    "user_response": "Response",
    "feedback_evaluation": "Evaluation",
}
AUTOSAVE_DELAY = 0.75  # seconds of quiet typing before a save

# One live form per answers file: building a new one flushes and retires the old one.
_LIVE: "weakref.WeakValueDictionary[str, PracticeForm]" = weakref.WeakValueDictionary()


def _words(text: str) -> int:
    return len(text.split())


def _display(obj) -> None:
    from IPython.display import display

    display(obj)


class _StepPanel:
    """One step: questions, text area, word count, hints, check, reference.

    The widgets are built on first use (the tab is opened, or a test touches
    `panel.text`): a headless run builds one panel, not seven. Until then the
    answer text lives in `_value`; `value` works either way.
    """

    WIDGETS = frozenset(
        "questions text words hint_button check_button reference_button hints feedback reference buttons".split()
    )

    def __init__(self, form: "PracticeForm", step, spec):
        self.form = form
        self.step = step
        self.spec = spec
        self.hints_shown = 0
        self.checked = False
        self.stale = False  # changed since it was checked
        self.built = False
        self._value = ""
        self.box = W.VBox(layout=form._shared("panel", padding="4px"))

    def __getattr__(self, name: str):
        # only called for missing attributes: build the widgets on first access
        if name in _StepPanel.WIDGETS and not self.__dict__.get("built", True):
            self.ensure()
            return self.__dict__[name]
        raise AttributeError(name)

    @property
    def value(self) -> str:
        return self.text.value if self.built else self._value

    @value.setter
    def value(self, text: str) -> None:
        if self.built:
            self.text.value = text
        else:
            self._value = text

    def ensure(self) -> None:
        if self.built:
            return
        step, form = self.step, self.form
        html, button = form._html, form._button
        self.questions = html(render.questions_html(step.number, step.question, list(self.spec.questions), step.title))
        self.text = W.Textarea(
            value=self._value,
            description=f"Your answer to step {step.number}",
            placeholder="Write in full sentences: who, what, with which numbers, and what happens when it goes wrong.",
            rows=12,
            continuous_update=True,
            style={"description_width": "initial"},
            layout=W.Layout(width="100%", flex_flow="column", align_items="stretch"),
        )
        self.text.add_class("wb-answer")
        self.words = W.Label(value="")
        self.hint_button = button("", icon="lightbulb-o", tooltip="Reveal the next hint for this step, one at a time")
        self.check_button = button(
            "Check this step", icon="check", button_style="primary",
            tooltip=f"Score step {step.number}: what is met, what is missing, and any common mistakes",
        )
        self.reference_button = button("Show reference answer", icon="book")
        self.hints = html("")
        self.feedback = html("")
        self.reference = html("")
        self.hint_button.on_click(lambda _b: form.reveal_hint(step.id))
        self.check_button.on_click(lambda _b: form.check_step(step.id))
        self.reference_button.on_click(lambda _b: form.toggle_reference(step.id))
        self.text.observe(lambda change: form._on_text(step.id, change), names="value")
        self.buttons = W.HBox([self.hint_button, self.check_button, self.reference_button], layout=W.Layout(flex_flow="row wrap"))
        self.built = True
        self.box.children = [self.questions, self.text, self.words, self.buttons, self.hints, self.feedback, self.reference]
        self.sync()

    def sync(self) -> None:
        """Bring the built widgets in line with the panel's and the form's state."""
        if not self.built:
            return
        count = _words(self.text.value)
        self.words.value = f"{count} word{'s' if count != 1 else ''}"
        total = len(self.spec.hints)
        if total == 0:
            self.hint_button.description, self.hint_button.disabled = "No hints for this step", True
        elif self.hints_shown >= total:
            self.hint_button.description, self.hint_button.disabled = "All hints shown", True
        else:
            self.hint_button.description, self.hint_button.disabled = f"Show a hint ({self.hints_shown + 1} of {total})", False
        self.hints.value = render.hints_html(list(self.spec.hints), self.hints_shown)
        self.check_button.description = "Check again" if self.checked and self.stale else "Check this step"
        self.reference_button.disabled = not self.checked
        self.reference_button.tooltip = "Compare with one strong answer" if self.checked else "Available after you have checked this step"
        if not self.checked:
            self.reference.value = ""
            self.reference_button.description = "Show reference answer"
        mock = self.form._mock_ui
        self.text.disabled = self.form._closed or mock in ("ready", "finished")
        # an interview gives no hints, feedback or reference while the clock runs
        self.buttons.layout.display = "none" if mock in ("ready", "running") else "flex"

    def reset(self) -> None:
        self.value = ""
        self.checked = self.stale = False
        self.hints_shown = 0
        if self.built:
            self.feedback.value = self.reference.value = ""
        self.sync()


class PracticeForm:
    """The practice notebook's form. Build it with `practice(...)`; `widget` is what is shown."""

    def __init__(
        self,
        scenario_id: str | None = None,
        answers_path: str | os.PathLike | None = None,
        *,
        grader: str = "offline",
        mode: str = "practice",
        time_limit_minutes: float = DEFAULT_TIME_LIMIT,
        work_dir: str | os.PathLike | None = None,
        autosave_delay: float = AUTOSAVE_DELAY,
    ):
        if grader not in GRADERS:
            raise ValueError(f"grader must be 'offline' for now (a Claude grader comes in a later release), got {grader!r}")
        if mode not in MODES:
            raise ValueError(f"mode must be 'practice' or 'mock', got {mode!r}")
        if mode == "mock" and (isinstance(time_limit_minutes, bool) or not isinstance(time_limit_minutes, (int, float)) or time_limit_minutes <= 0):
            raise ValueError(f"time_limit_minutes must be a positive number of minutes in mock mode, got {time_limit_minutes!r}")
        self.grader = grader
        self.mode = mode
        self.time_limit_minutes = time_limit_minutes
        self.autosave_delay = autosave_delay
        self.work_dir = _work_dir(work_dir)
        self.notices: list[tuple[str, str]] = []
        self.save_count = 0
        self.last_report: Report | None = None
        self._lock = threading.RLock()
        self._timer: threading.Timer | None = None
        self._clock: _Countdown | None = None
        self._closed = False
        self._can_save = True
        self._restoring = False
        self._mock: dict | None = None
        self._mock_ui: str | None = None  # mock mode: "ready", "running" or "finished"
        self.mock_scored = threading.Event()  # set once a finished mock has been scored and recorded

        loaded = self._read_answers_file(answers_path, scenario_id)
        self.scenario: Scenario = load_scenario(self._scenario_id)
        if self.answers_path is None:
            self.answers_path = default_answers_path(self.scenario.id, mode, self.work_dir)
            loaded = self._load_existing(self.answers_path)
        self.state_path = self.answers_path.with_name(self.answers_path.name.removesuffix(".json") + ".state.json")
        self.learner = loaded.learner if loaded else None
        if loaded is not None and loaded.scenario != self.scenario.id:
            self._can_save = False
            self._notice(
                f"{self.answers_path} holds answers for scenario '{loaded.scenario}', not '{self.scenario.id}'. "
                "It is left untouched and this form does not save; pass another answers_path.",
                "error",
            )
            loaded = None
        self._last_saved: dict | None = loaded.to_dict() if loaded else None

        self._build()
        self._restore(loaded)
        _LIVE[str(self.answers_path)] = self
        _register_exit_flush(self)

    # --- loading ----------------------------------------------------------------------

    def _read_answers_file(self, answers_path, scenario_id) -> Answers | None:
        self._scenario_id = scenario_id or None
        if answers_path is None or str(answers_path).strip() == "":
            if not self._scenario_id:
                raise ValueError("give a scenario_id or an answers_path (see `workbook list` for the ids)")
            self.answers_path = None
            return None
        self.answers_path = Path(answers_path).expanduser().resolve()
        loaded = self._load_existing(self.answers_path)
        if not self._scenario_id:
            if loaded is None:
                raise ValueError(f"{self.answers_path}: no answers to take the scenario from; give a scenario_id")
            self._scenario_id = loaded.scenario
        return loaded

    def _load_existing(self, path: Path) -> Answers | None:
        previous = _LIVE.get(str(path))
        if previous is not None and previous is not self:
            previous.retire()  # flushes its pending edits first, so we read the latest
        if not path.exists():
            return None
        try:
            return load_answers(path)
        except AnswersError as error:
            moved = quarantine(path)
            self._notice(
                f"Your answers file could not be read ({error}). It was moved to {moved.name} so nothing is lost; "
                f"the form starts empty and new work is saved to {path.name}.",
                "error",
            )
            return None

    def _read_state(self) -> dict:
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
            return state if isinstance(state, dict) else {}
        except (OSError, ValueError):
            return {}

    def _write_state(self) -> None:
        if not self._can_save or self._closed:
            return
        state = {
            "checked": [s for s, p in self.panels.items() if p.checked],
            "hints": {s: p.hints_shown for s, p in self.panels.items() if p.hints_shown},
            "tab": self.tabs.selected_index or 0,
        }
        if self._mock:
            state["mock"] = self._mock
        try:
            atomic_write_text(self.state_path, json.dumps(state, indent=2) + "\n")
        except OSError as error:
            self._notice(f"Could not save the form state to {self.state_path}: {error}", "warn")

    # --- building -----------------------------------------------------------------------

    def _shared(self, name: str, **layout) -> W.Layout:
        """One Layout per kind, shared by widgets that never change it on their own (fewer comms to open)."""
        shared = self.__dict__.setdefault("_layouts", {})
        if name not in shared:
            shared[name] = W.Layout(**layout)
        return shared[name]

    def _html(self, value: str = "") -> W.HTML:
        if "_html_style" not in self.__dict__:
            self._html_style = HTMLStyle()
        return W.HTML(value, style=self._html_style, layout=self._shared("html"))

    def _button(self, description: str, layout: W.Layout | None = None, **kwargs) -> W.Button:
        if "_button_style" not in self.__dict__:
            self._button_style = W.ButtonStyle()
        return W.Button(description=description, style=self._button_style, layout=layout or self._shared("button", width="auto"), **kwargs)

    def _build(self) -> None:
        html, button = self._html, self._button
        self.brief = html(render.brief_html(self.scenario))
        self.notice = html("")
        self._notice_refresh()
        self.panels: dict[str, _StepPanel] = {step.id: _StepPanel(self, step, self.scenario.step(step.id)) for step in STEPS}
        self.tabs = W.Tab(children=[p.box for p in self.panels.values()])
        self.tabs.observe(lambda change: self._on_tab(change["new"]), names="selected_index")
        self.progress = W.IntProgress(
            value=0, min=0, max=len(STEPS), description=f"Steps answered: 0 of {len(STEPS)}",
            style={"description_width": "initial"}, layout=W.Layout(width="24em"),
        )
        self.save_status = html("")
        parts = [self.brief, self.notice]
        if self.mode == "mock":
            # only in mock mode: every widget costs a comm message, also in headless runs
            self.timer = html("")
            self.start_button = button("Start the clock", W.Layout(width="auto"), icon="play", button_style="warning")
            self.finish_button = button("I'm done: stop the clock", W.Layout(width="auto"), icon="stop")
            self.new_attempt_button = button("Start a new mock attempt", W.Layout(width="auto"), icon="refresh")
            self.start_button.on_click(lambda _b: self.start_mock())
            self.finish_button.on_click(lambda _b: self.finish_mock())
            self.new_attempt_button.on_click(lambda _b: self.new_mock_attempt())
            parts.append(W.HBox([self.timer, self.start_button, self.finish_button, self.new_attempt_button],
                                layout=W.Layout(align_items="center", flex_flow="row wrap")))
        self.score_button = button(
            "Score my whole design", icon="graduation-cap", button_style="success",
            tooltip="Score all seven steps, show the chart and the top three improvements, and add it to your history",
        )
        self.export_html_button = button("Export report (HTML)", icon="download")
        self.export_md_button = button("Export report (Markdown)", icon="download")
        self.score_button.on_click(lambda _b: self.score_all())
        self.export_html_button.on_click(lambda _b: self.export("html"))
        self.export_md_button.on_click(lambda _b: self.export("md"))
        self.report_view = html("")
        self.export_status = html("")
        row = self._shared("row", align_items="center", flex_flow="row wrap")
        parts += [
            W.HBox([self.progress, self.save_status], layout=row),
            self.tabs,
            W.HBox([self.score_button, self.export_html_button, self.export_md_button], layout=row),
            self.export_status,
            self.report_view,
        ]
        self.widget = W.VBox(parts, layout=W.Layout(width="100%"))
        self.widget.add_class("wb-practice")

    def _restore(self, loaded: Answers | None) -> None:
        self._restoring = True
        try:
            state = self._read_state()
            checked = state.get("checked") if isinstance(state.get("checked"), list) else []
            hints = state.get("hints") if isinstance(state.get("hints"), dict) else {}
            for step_id, panel in self.panels.items():
                panel.value = loaded.text(step_id) if loaded is not None else ""
                panel.checked = step_id in checked and bool(panel.value.strip())
                shown = hints.get(step_id, 0)
                panel.hints_shown = max(0, min(shown, len(panel.spec.hints))) if isinstance(shown, int) else 0
            mock = state.get("mock")
            self._mock = mock if self.mode == "mock" and isinstance(mock, dict) else None
            tab = state.get("tab", 0)
            tab = tab if isinstance(tab, int) and 0 <= tab < len(STEPS) else 0
            if self.tabs.selected_index != tab:
                self.tabs.selected_index = tab
            self._on_tab(tab)
        finally:
            self._restoring = False
        self._update_progress()
        self._update_titles()
        if loaded is not None and any(loaded.answers.values()):
            self._set_save_status(f"Restored from {self.answers_path.name}", "ok")
        elif self._can_save:
            self._set_save_status(f"Autosaves to {self.answers_path.name}", "info")
        else:
            self._set_save_status("Not saving", "error")
        if self.mode == "mock":
            self._resume_mock()

    def panel(self, step_id: str) -> _StepPanel:
        """The step's panel with its widgets built."""
        panel = self.panels[step_id]
        panel.ensure()
        return panel

    def _on_tab(self, index) -> None:
        if index is None:
            return
        panel = list(self.panels.values())[index]
        panel.ensure()
        if not self._restoring:
            self._write_state()

    # --- small views -------------------------------------------------------------------------

    def _notice(self, message: str, kind: str = "warn") -> None:
        self.notices.append((kind, message))
        self._notice_refresh()

    def _notice_refresh(self) -> None:
        if hasattr(self, "notice"):
            self.notice.value = "".join(render.notice_html(m, k) for k, m in self.notices[-3:])

    def _set_save_status(self, text: str, kind: str) -> None:
        symbol = {"ok": "✓", "pending": "…", "error": "✗", "info": "•"}.get(kind, "")
        color = {"ok": "--jp-success-color1", "error": "--jp-error-color1", "pending": "--jp-ui-font-color2"}.get(kind, "--jp-ui-font-color2")
        self.save_status.value = (
            f"<span role='status' aria-label='Save status' style='margin-left:1em; color: var({color}, inherit)'>"
            f"{render.esc(symbol)} {render.esc(text)}</span>"
        )

    def _update_progress(self) -> None:
        answered = sum(1 for p in self.panels.values() if p.value.strip())
        self.progress.value = answered
        self.progress.bar_style = "success" if answered == len(STEPS) else "info"
        self.progress.description = f"Steps answered: {answered} of {len(STEPS)}"

    def _update_titles(self) -> None:
        titles = []
        for panel in self.panels.values():
            mark = " ✓" if panel.checked else (" •" if panel.value.strip() else "")
            titles.append(f"{panel.step.number}. {TAB_LABELS.get(panel.step.id, panel.step.title)}{mark}")
        self.tabs.titles = tuple(titles)

    # --- text changes and autosave --------------------------------------------------------------

    def _on_text(self, step_id: str, change) -> None:
        panel = self.panels[step_id]
        if panel.checked and not self._restoring:
            panel.stale = True
        panel.sync()
        self._update_progress()
        self._update_titles()
        if not self._restoring:
            self._schedule_save()

    def _schedule_save(self) -> None:
        if not self._can_save or self._closed:
            return
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self.autosave_delay, self._autosave)
            self._timer.daemon = True
            self._timer.start()
        self._set_save_status("Unsaved changes…", "pending")

    def _autosave(self) -> None:
        try:
            self.save()
        except Exception as error:  # noqa: BLE001 - a background thread must report, not die silently
            self._set_save_status(f"Not saved: {error}", "error")

    @property
    def pending(self) -> bool:
        timer = self._timer
        return timer is not None and timer.is_alive()

    def answers(self) -> Answers:
        return Answers(self.scenario.id, {s: p.value for s, p in self.panels.items()}, self.learner)

    def save(self) -> bool:
        """Save now (atomic). Returns False when this form may not save (see `notices`)."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if not self._can_save:
                return False
            answers = self.answers()
            payload = answers.to_dict()
            path = self.answers_path
            if payload == self._last_saved and path.exists():
                self._set_save_status(f"Saved to {path.name}", "ok")
                return True
            self._keep_aside_if_changed(path)
            try:
                save_answers(answers, path)
            except AnswersError as error:  # became corrupt after the check: keep it, then write ours
                moved = quarantine(path)
                self._notice(f"{path.name} could not be read ({error}); it was moved to {moved.name} and your answers saved fresh.", "error")
                save_answers(answers, path)
            self._last_saved = payload
            self.save_count += 1
            self._set_save_status(f"Saved to {path.name} at {time.strftime('%H:%M:%S')}", "ok")
            return True

    def _keep_aside_if_changed(self, path: Path) -> None:
        """Never silently overwrite a file that is corrupt or was changed outside this form."""
        if not path.exists():
            return
        try:
            on_disk = load_answers(path).to_dict()
        except AnswersError as error:
            moved = quarantine(path)
            self._notice(f"{path.name} could not be read ({error}); it was moved to {moved.name} and your answers saved fresh.", "error")
            return
        if on_disk != self._last_saved:
            moved = quarantine(path, "changed")
            self._notice(
                f"{path.name} was changed outside this form; that version was kept as {moved.name} and the form's answers saved.", "warn"
            )

    def flush(self) -> None:
        """Save now if a save is pending."""
        if self.pending:
            self.save()

    def retire(self) -> None:
        """Flush and stop: a newer form for the same answers file took over."""
        self.close(message="A newer form for this answers file was started below; this one no longer saves.")

    def close(self, message: str | None = None) -> None:
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            if self._clock is not None:
                self._clock.stop()
            for panel in self.panels.values():
                panel.sync()
            if message:
                self._notice(message, "info")

    # --- step actions -------------------------------------------------------------------------------

    def reveal_hint(self, step_id: str) -> None:
        panel = self.panel(step_id)
        if panel.hints_shown < len(panel.spec.hints):
            panel.hints_shown += 1
        panel.sync()
        self._write_state()

    def score(self) -> Report:
        return score(self.answers(), self.scenario)

    def check_step(self, step_id: str) -> Report | None:
        panel = self.panel(step_id)
        if not panel.value.strip():
            panel.feedback.value = render.notice_html("Write your answer first, then check it.", "info")
            return None
        report = self.score()
        panel.feedback.value = render.step_feedback_html(report.steps[step_id])
        panel.checked, panel.stale = True, False
        panel.sync()
        self._update_titles()
        self._write_state()
        self.flush()
        return report

    def toggle_reference(self, step_id: str) -> None:
        panel = self.panel(step_id)
        if not panel.checked:  # the button is disabled too; this guards programmatic calls
            panel.reference.value = render.notice_html("Check this step first; the reference answer opens after an attempt.", "info")
            return
        if panel.reference.value and "wb-reference" in panel.reference.value:
            panel.reference.value = ""
            panel.reference_button.description = "Show reference answer"
        else:
            panel.reference.value = render.reference_html(panel.spec.reference_answer)
            panel.reference_button.description = "Hide reference answer"

    # --- the whole design ----------------------------------------------------------------------------

    def score_all(self, *, time_used_seconds: float | None = None, note: str = "") -> Report:
        """Score all seven steps, show the report in the form, and add it to the history."""
        self.flush()
        report = self.score()
        self.last_report = report
        try:
            record_attempt(
                report, self.work_dir, mode=self.mode, time_used_seconds=time_used_seconds,
                time_limit_minutes=self.time_limit_minutes if self.mode == "mock" else None,
            )
            recorded = "Added to your progress history."
        except OSError as error:
            recorded = f"Could not add it to your history: {error}"
        self.report_view.value = render.full_report_html(report, " ".join(x for x in (note, recorded) if x))
        return report

    def export(self, fmt: str) -> Path:
        """Write the report (scoring first if needed) to the work folder as HTML or Markdown."""
        if fmt not in ("html", "md"):
            raise ValueError("format must be 'html' or 'md'")
        report = self.score()
        text = render.standalone_report_html(report) if fmt == "html" else report.to_markdown()
        target = self.work_dir / f"{report_stem(self.answers_path)}-report.{fmt}"
        try:
            atomic_write_text(target, text)
        except OSError as error:
            self.export_status.value = render.notice_html(f"Could not write {target}: {error}", "error")
            raise
        self.export_status.value = render.notice_html(f"Report saved to {_shown_path(target)}", "ok")
        return target

    def show_report(self) -> None:
        """Display the report of the answers as they stand (what a headless run records).

        One display output: text, HTML, and REPORT_MIME holding `Report.to_dict()`, the
        same JSON as `workbook score --format json`. Returns None so a cell ending in
        this call shows the report once.
        """
        self.flush()
        self.last_report = self.score()
        problems = [message for kind, message in self.notices if kind in ("error", "warn")]
        if problems:  # a batch run shows no widgets: say it in the output too
            _display(_Notes(problems))
        _display(self.last_report)

    # --- mock mode -------------------------------------------------------------------------------------

    @property
    def _limit_seconds(self) -> float:
        return float(self.time_limit_minutes) * 60

    def _set_mock_buttons(self, state: str) -> None:
        """state: 'ready' (not started), 'running', 'finished'."""
        self.start_button.layout.display = "flex" if state == "ready" else "none"
        self.finish_button.layout.display = "flex" if state == "running" else "none"
        self.new_attempt_button.layout.display = "flex" if state == "finished" else "none"
        self._mock_ui = state
        for panel in self.panels.values():
            panel.sync()
        self.score_button.disabled = state == "running"

    def _resume_mock(self) -> None:
        mock = self._mock
        limit = format_duration(self._limit_seconds)
        if not mock or not mock.get("started_at"):
            self._mock = None
            self.timer.value = render.timer_html(f"Mock interview: {limit} on the clock. Read the brief, then start.")
            self.start_button.description = f"Start the clock ({limit})"
            self._set_mock_buttons("ready")
            return
        if mock.get("finished_at"):
            used = mock.get("time_used_seconds") or 0
            self.timer.value = render.timer_html(f"Mock finished: {format_duration(used)} used of {format_duration(mock.get('limit_seconds', 0))}.")
            self._set_mock_buttons("finished")
            return
        deadline = float(mock["started_at"]) + float(mock.get("limit_seconds", self._limit_seconds))
        if deadline <= time.time():
            self._set_mock_buttons("running")
            self._expire(note="The time ran out while the notebook was closed.")
            return
        self._set_mock_buttons("running")
        self._start_clock(deadline)

    def start_mock(self) -> None:
        if self.mode != "mock" or (self._mock and not self._mock.get("finished_at")) or self._closed:
            return
        now = time.time()
        self._mock = {"started_at": now, "limit_seconds": self._limit_seconds}
        self._write_state()
        self._set_mock_buttons("running")
        self._start_clock(now + self._limit_seconds)

    def _start_clock(self, deadline: float) -> None:
        self._clock = _Countdown(deadline, self._tick, lambda: self._expire())
        self._tick(deadline - time.time())
        self._clock.start()

    def _tick(self, remaining: float) -> None:
        if remaining > 0:
            self.timer.value = render.timer_html(f"Time left: {format_duration(remaining)}", urgent=remaining <= 60)

    def _finish(self, time_used: float, reason: str, note: str) -> Report | None:
        with self._lock:
            if not self._mock or self._mock.get("finished_at"):
                return None
            self._mock.update(finished_at=time.time(), time_used_seconds=round(time_used, 1), reason=reason)
        if self._clock is not None:
            self._clock.stop()
        self._set_mock_buttons("finished")
        self.timer.value = render.timer_html(f"{note} Time used: {format_duration(time_used)} of {format_duration(self._mock['limit_seconds'])}.", urgent=reason == "time")
        self._write_state()
        report = self.score_all(time_used_seconds=time_used, note=f"{note} Your answers were scored as they stood.")
        self.mock_scored.set()
        return report

    def _expire(self, note: str = "") -> Report | None:
        limit = float(self._mock.get("limit_seconds", self._limit_seconds)) if self._mock else self._limit_seconds
        return self._finish(limit, "time", f"Time is up. {note}".strip())

    def finish_mock(self) -> Report | None:
        if not self._mock or self._mock.get("finished_at"):
            return None
        used = min(time.time() - float(self._mock["started_at"]), float(self._mock["limit_seconds"]))
        return self._finish(used, "finished", "Mock finished.")

    @property
    def mock_finished(self) -> bool:
        return bool(self._mock and self._mock.get("finished_at"))

    def new_mock_attempt(self) -> None:
        """Keep the finished attempt's answers aside and start again from a blank sheet."""
        if not self.mock_finished:
            return
        self.flush()
        if self.answers_path.exists():
            moved = quarantine(self.answers_path, "attempt")
            self._notice(f"Your previous attempt was kept as {moved.name}.", "info")
        self._last_saved = None
        self._restoring = True
        try:
            for panel in self.panels.values():
                panel.reset()
        finally:
            self._restoring = False
        self._update_progress()
        self._update_titles()
        self.report_view.value = ""
        self._mock = None
        self.mock_scored.clear()
        self._write_state()
        self._resume_mock()

    # --- display ------------------------------------------------------------------------------------------

    def _ipython_display_(self) -> None:
        _display(self.widget)

    def __repr__(self) -> str:
        return f"<PracticeForm {self.scenario.id} ({self.mode}) {self.progress.value}/{len(STEPS)} answered, saving to {self.answers_path}>"


class _Notes:
    """Plain notices as a display output (text and escaped HTML)."""

    def __init__(self, messages: list[str]):
        self.messages = messages

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {
            "text/plain": "\n".join(f"! {m}" for m in self.messages),
            "text/html": "".join(render.notice_html(m, "warn") for m in self.messages),
        }


class _Countdown:
    """A daemon thread that calls on_tick(remaining) about every second and on_expire() once at zero."""

    def __init__(self, deadline: float, on_tick, on_expire, tick: float = 1.0):
        self.deadline = deadline
        self.on_tick = on_tick
        self.on_expire = on_expire
        self.tick = tick
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="workbook-mock-clock", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while True:
            remaining = self.deadline - time.time()
            if remaining <= 0:
                if not self._stop.is_set():
                    self.on_expire()
                return
            if self._stop.wait(min(self.tick, remaining)):
                return
            try:
                self.on_tick(self.deadline - time.time())
            except Exception:  # noqa: BLE001 - a display hiccup must not stop the clock
                pass


def _shown_path(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


_EXIT_FORMS: "weakref.WeakSet[PracticeForm]" = weakref.WeakSet()
_EXIT_HOOK = []


def _flush_all_at_exit() -> None:
    for form in list(_EXIT_FORMS):
        try:
            form.flush()
        except Exception:  # noqa: BLE001 - exiting anyway
            pass


def _register_exit_flush(form: PracticeForm) -> None:
    if not _EXIT_HOOK:
        atexit.register(_flush_all_at_exit)
        _EXIT_HOOK.append(True)
    _EXIT_FORMS.add(form)


def practice(
    scenario_id: str | None = None,
    answers_path: str | os.PathLike | None = None,
    *,
    grader: str = "offline",
    mode: str = "practice",
    time_limit_minutes: float = DEFAULT_TIME_LIMIT,
    work_dir: str | os.PathLike | None = None,
    display: bool = True,
) -> PracticeForm:
    """Build the practice form for a scenario, show it, and return it.

    answers_path: the answers file (default: my-work/<scenario_id>.answers.json);
    loaded if it exists, autosaved on every change. With an answers_path and no
    scenario_id, the scenario is taken from the file.
    """
    form = PracticeForm(
        scenario_id, answers_path, grader=grader, mode=mode, time_limit_minutes=time_limit_minutes, work_dir=work_dir
    )
    if display:
        _display(form.widget)
    return form
