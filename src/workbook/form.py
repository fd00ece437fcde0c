"""The practice form: one scenario, seven steps, instant offline feedback, nothing lost.

    from workbook.form import practice
    form = practice("legal-contract-summarizer")      # shows the brief and the form
    form.show_report()                                  # a live report below, following the form

This module is the view: widgets wired to the answer store (`workbook.store`: load,
autosave, keep-aside, state file), the mock clock (`workbook.clock`) and the grader.
`PracticeForm` is made of parts, one module each:

* `workbook.form_panel`: one step's tab (`StepPanel`), made when the tab is opened;
* `workbook.form_grading`: the grader, made on first use (`PracticeForm.grade` is the
  one place the form calls it), and the warm-up after the form is shown;
* `workbook.form_claims`: "I covered this";
* `workbook.form_report`: the whole-design score, the history record, the live report;
* `workbook.form_export`: the design document to hand in;
* `workbook.form_mock`: the mock clock's controls;
* `workbook.form_claude`: Claude's verdicts, the key field and the mock interviewer.

HTML comes from `workbook.form_html` and `workbook.handin` (the exported design document).

* Nothing waits for a front end: timers and the mock clock are daemon threads.
* In mock mode nothing that reveals the rubric (feedback, probes, hints, reference
  answers, the report, exports) is shown before the clock has run out or been stopped.
* Learner text is escaped in every HTML view.
* Every widget is a comm message, also in a headless run: widgets are made with their
  restored values, share styles and layouts, and empty views are made on first use.

ipywidgets is imported here and in `workbook.start`, never by `import workbook`.
"""

from __future__ import annotations

import os
import threading

import ipywidgets as W
from ipywidgets.widgets.widget_string import HTMLStyle

from . import carry
from . import form_html as H
from .clock import Countdown, MockClock, check_limit_minutes
from .form_claims import Claims
from .form_export import Export
from .form_grading import Grading
from .form_mock import MockControls, format_duration
from .form_panel import MOCK_HIDDEN, StepPanel, sentences, step_from_state, step_state
from .form_report import WholeDesign
from .notebooks import DEFAULT_GRADER, DEFAULT_TIME_LIMIT, MODES, default_answers_path, work_dir as _work_dir
from .report import Report, StepReport
from .scenario import Scenario, load_scenario
from .steps import STEPS
from .store import AUTOSAVE_DELAY, AnswerStore, Claim

__all__ = ["PracticeForm", "practice", "sentences", "format_duration", "TAB_LABELS", "MOCK_HIDDEN"]

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


def _display(obj) -> None:
    from IPython.display import display

    display(obj)


class _View:
    """A widget as one display output, with a plain-text line for readers without widgets."""

    def __init__(self, widget: W.Widget, text: str):
        self.widget = widget
        self.text = text

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return H.widget_bundle(self.widget.model_id, self.text)


class PracticeForm(MockControls, WholeDesign, Export, Claims, Grading):
    """The practice notebook's form. Build it with `practice(...)`; `widget` is what is shown."""

    def __init__(
        self,
        scenario_id: str | None = None,
        answers_path: str | os.PathLike | None = None,
        *,
        grader: str = DEFAULT_GRADER,
        mode: str = "practice",
        time_limit_minutes: float = DEFAULT_TIME_LIMIT,
        work_dir: str | os.PathLike | None = None,
        autosave_delay: float = AUTOSAVE_DELAY,
        exercises: str | os.PathLike | None = None,
    ):
        from .graders import UnknownGraderError, graders

        try:
            graders.check(grader)  # the name only: the grader is made on first use (off the form's path, by warm_up)
        except UnknownGraderError as error:
            raise ValueError(f"grader: {error}") from None
        if mode not in MODES:
            raise ValueError(f"mode must be 'practice' or 'mock', got {mode!r}")
        if mode == "mock":
            time_limit_minutes = check_limit_minutes(time_limit_minutes)
        self.grader = grader
        self._grader_obj = None  # made by grader_impl() on first use (the Claude grader imports the SDK)
        self._grader_lock = threading.Lock()
        self._claude_reports: dict[str, Report] = {}  # answers digest -> Claude's whole-design report
        self.claude_view = None  # form_claude.ClaudeView when the grader is Claude
        self.interviewer = None  # form_claude.Interviewer in mock mode
        self._whole = None  # a whole-design Claude grading under way
        self.mode = mode
        self.time_limit_minutes = time_limit_minutes
        self.work_dir = _work_dir(work_dir)
        self.notices: list[tuple[str, str]] = []
        self.last_report: Report | None = None
        self._graded: tuple[str, Report] | None = None  # (answers digest, report): no rescoring of unchanged text
        self._grading = threading.Lock()  # one offline scoring at a time (the warm-up thread and the buttons)
        self._warm: threading.Thread | None = None
        self._note: tuple[str, str] = ("", "")  # (answers digest, what the last whole-design scoring said)
        self.closed = False
        self._restoring = False
        self._live: W.HTML | None = None  # the report shown by show_report(), kept in step with the form
        self._countdown: Countdown | None = None
        self.mock_scored = threading.Event()  # set once a finished mock has been scored and recorded

        if answers_path is None or str(answers_path).strip() == "":
            if not scenario_id:
                raise ValueError("give a scenario_id or an answers_path (see `workbook list` for the ids)")
            answers_path = default_answers_path(scenario_id, mode, self.work_dir)
        self.store = AnswerStore(
            answers_path, scenario_id or None, autosave_delay=autosave_delay,
            on_status=self._set_save_status, on_notice=self._notice, after_autosave=self._after_autosave,
        )
        self.store.on_retire = lambda: self._retired("A newer form for this answers file was started below; this one no longer saves.")
        self.answers_path = self.store.path
        self.state_path = self.store.state_path
        self.scenario: Scenario = load_scenario(self.store.scenario_id, exercises or None)
        self.clock: MockClock | None = None
        if mode == "mock":
            self.clock = MockClock.from_state(self.store.state.get("mock"), float(time_limit_minutes) * 60)
            if self.clock.problem:
                self._notice(f"{self.state_path.name}: {self.clock.problem}.", "warn")
        self._build()
        self._restore()

    # --- small helpers the store and the panels call -----------------------------------------

    @property
    def learner(self) -> str | None:
        return self.store.learner

    @property
    def save_count(self) -> int:
        return self.store.save_count

    @property
    def pending(self) -> bool:
        return self.store.pending

    @property
    def revealing(self) -> bool:
        """May the form show anything derived from the rubric? Always in practice; in a mock, after the end."""
        return self.clock is None or self.clock.status == "finished"

    def _shared(self, name: str, **layout) -> W.Layout:
        """One Layout per kind, shared by widgets that never change it on their own (fewer comms to open)."""
        shared = self.__dict__.setdefault("_layouts", {})
        if name not in shared:
            shared[name] = W.Layout(**layout)
        return shared[name]

    def _shared_style(self, name: str, kind: type, **style):
        """One Style per kind, shared like `_shared` layouts."""
        shared = self.__dict__.setdefault("_styles", {})
        if name not in shared:
            shared[name] = kind(**style)
        return shared[name]

    @property
    def _html_style(self) -> HTMLStyle:
        return self._shared_style("html", HTMLStyle)

    def _html(self, value: str = "") -> W.HTML:
        return W.HTML(value, style=self._html_style, layout=self._shared("plain"))

    def _button(self, description: str, layout: W.Layout | None = None, **kwargs) -> W.Button:
        style = self._shared_style("button", W.ButtonStyle)
        return W.Button(description=description, style=style, layout=layout or self._shared("button", width="auto"), **kwargs)

    # --- building -----------------------------------------------------------------------

    def _build(self) -> None:
        """Make the widgets with their restored values (each later change is one more comm message)."""
        html, button = self._html, self._button
        self.panels: dict[str, StepPanel] = {step.id: StepPanel(self, step, self.scenario.step(step.id)) for step in STEPS}
        tab = self._restore_flags()
        self._top: list = []
        if self.grader == "claude" or self.mode == "mock":
            from .form_claude import ClaudeView, Interviewer

            if self.grader == "claude":
                self.claude_view = ClaudeView(self)
                self._top.append(self.claude_view.widget)
            if self.mode == "mock":
                self.interviewer = Interviewer(self)
        self.brief = html(H.brief_html(self.scenario))
        self._top.insert(0, self.brief)
        self._restoring = True
        try:
            list(self.panels.values())[tab].ensure()  # the open tab's widgets, before the Tab that holds them
        finally:
            self._restoring = False
        self.tabs = W.Tab(children=[p.box for p in self.panels.values()], titles=self._titles(), selected_index=tab,
                          layout=self._shared("plain"))
        self.tabs.observe(lambda change: self._on_tab(change["new"]), names="selected_index")
        answered = self._answered()
        self.progress = W.IntProgress(
            value=answered, min=0, max=len(STEPS), description=f"Steps answered: {answered} of {len(STEPS)}",
            bar_style="success" if answered == len(STEPS) else "info",
            style={"description_width": "initial"}, layout=W.Layout(width="24em"),
        )
        self.save_status = html(H.save_status_html(*self._first_save_status()))
        row = self._shared("row", align_items="center", flex_flow="row wrap")
        if self.clock is not None:  # only in mock mode: every widget costs a comm message, also in headless runs
            self._top.append(self._mock_row(row))
        self.score_button = button(
            "Score my whole design", icon="graduation-cap", button_style="success",
            tooltip="Score all seven steps, show the chart and the top three improvements, and add it to your history",
        )
        self.export_button = button(
            "Export my design", icon="download",
            tooltip="Write the brief, your answers and the report to the work folder as HTML and Markdown, to keep or hand in",
        )
        self.score_button.on_click(lambda _b: self.score_all())
        self.export_button.on_click(lambda _b: self.export_design())
        # a mock hides this row on its own, so there it needs a layout of its own
        actions_layout = row if self.clock is None else W.Layout(align_items="center", flex_flow="row wrap")
        self.actions = W.HBox([self.score_button, self.export_button], layout=actions_layout)
        self._top += [W.HBox([self.progress, self.save_status], layout=row), self.tabs, self.actions]
        self.widget = W.VBox(self._children(), layout=W.Layout(width="100%"), _dom_classes=("wb-practice",))
        self._notice_refresh()

    # made when first needed: a form without notices, exports or a report in it sends none of them
    LATER = ("notice", "export_status", "report_view")

    def __getattr__(self, name: str):
        if name in PracticeForm.LATER and "widget" in self.__dict__:
            if name == "report_view":  # its own layout: hidden once show_report() shows the report below
                widget = W.HTML("", style=self._html_style, layout=W.Layout(display="none" if self._live is not None else None))
            else:
                widget = self._html("")
            self.__dict__[name] = widget
            self.widget.children = self._children()
            return widget
        raise AttributeError(name)

    def _children(self) -> tuple:
        d = self.__dict__
        top = self._top
        later = [d[n] for n in ("export_status", "report_view") if n in d]
        return tuple(top[:1] + ([d["notice"]] if "notice" in d else []) + top[1:] + later)

    def _put(self, name: str, value: str) -> None:
        """Set one of the LATER views; clearing one that was never made makes nothing."""
        if value or name in self.__dict__:
            getattr(self, name).value = value

    def _restore_flags(self) -> int:
        """Checked steps and hints shown, from the state file; returns the tab to open."""
        state = self.store.state
        checked = state.get("checked") if isinstance(state.get("checked"), list) else []
        hints = state.get("hints") if isinstance(state.get("hints"), dict) else {}
        for step_id, panel in self.panels.items():
            panel.checked = step_id in checked and bool(panel.value.strip())
            shown = hints.get(step_id, 0)
            panel.hints_shown = max(0, min(shown, len(panel.spec.hints))) if isinstance(shown, int) and not isinstance(shown, bool) else 0
        tab = state.get("tab", 0)
        return tab if isinstance(tab, int) and 0 <= tab < len(STEPS) else 0

    def _first_save_status(self) -> tuple[str, str]:
        loaded = self.store.loaded
        if loaded is not None and any(loaded.answers.values()):
            return f"Restored from {self.answers_path.name}", "ok"
        if self.store.can_save:
            return f"Autosaves to {self.answers_path.name}", "info"
        return "Not saving", "error"

    def _restore(self) -> None:
        if self.clock is not None:
            self._resume_mock()

    def panel(self, step_id: str) -> StepPanel:
        """The step's panel with its widgets built."""
        panel = self.panels[step_id]
        panel.ensure()
        return panel

    def _on_tab(self, index) -> None:
        if index is None:
            return
        list(self.panels.values())[index].ensure()
        if not self._restoring:
            self._write_state()

    def _write_state(self) -> None:
        state = self.store.state
        state["checked"] = [s for s, p in self.panels.items() if p.checked]
        state["hints"] = {s: p.hints_shown for s, p in self.panels.items() if p.hints_shown}
        state["tab"] = self.tabs.selected_index or 0
        state.pop("mock", None)
        if self.clock is not None and self.clock.to_state():
            state["mock"] = self.clock.to_state()
        self.store.write_state()

    # --- small views -------------------------------------------------------------------------

    def _notice(self, message: str, kind: str = "warn") -> None:
        self.notices.append((kind, message))
        self._notice_refresh()

    def _notice_refresh(self) -> None:
        if "widget" in self.__dict__:
            self._put("notice", "".join(H.notice_html(m, k) for k, m in self.notices[-3:]))

    def _set_save_status(self, text: str, kind: str) -> None:
        if "save_status" in self.__dict__:
            self.save_status.value = H.save_status_html(text, kind)
        if kind == "ok" and self.__dict__.get("carried"):
            carry.publish(self.store.answers())  # keep the notebook's copy equal to the file

    def _answered(self) -> int:
        return sum(1 for p in self.panels.values() if p.value.strip())

    def _update_progress(self) -> None:
        answered = self._answered()
        self.progress.value = answered
        self.progress.bar_style = "success" if answered == len(STEPS) else "info"
        self.progress.description = f"Steps answered: {answered} of {len(STEPS)}"

    def _titles(self) -> tuple[str, ...]:
        titles = []
        for panel in self.panels.values():
            mark = " ✓" if panel.checked else (" •" if panel.value.strip() else "")
            titles.append(f"{panel.step.number}. {TAB_LABELS.get(panel.step.id, panel.step.title)}{mark}")
        return tuple(titles)

    def _update_titles(self) -> None:
        self.tabs.titles = self._titles()

    # --- text changes and saving ---------------------------------------------------------------

    def _text_changed(self, step_id: str, text: str) -> None:
        panel = self.panels[step_id]
        if self.closed:
            return
        if not self._restoring:
            if panel.checked:
                panel.stale = True
            self.store.set_text(step_id, text)
        else:
            self.store.texts[step_id] = text
        panel.sync()
        self._update_progress()
        self._update_titles()

    def _after_autosave(self) -> None:
        self._refresh_live()

    def answers(self):
        return self.store.answers()

    def save(self) -> bool:
        """Save now (atomic). False when this form may not save or the write failed (see `notices`)."""
        return self.store.save()

    def flush(self) -> bool:
        """Save now if a save is pending; True when everything typed is on disk."""
        return self.store.flush()

    def _saved_note(self) -> str:
        """Empty when the answers are on disk; otherwise the sentence that says they are not."""
        if self.flush():
            return ""
        if not self.store.can_save:
            return "Not saved: this form does not save (see the notice at the top)."
        return "Not saved: your answers could not be written (see the notice at the top); they are still in the form."

    def _retired(self, message: str) -> None:
        self.closed = True
        if self._countdown is not None:
            self._countdown.stop()
        for panel in self.panels.values():
            panel.sync()
        self._notice(message, "info")

    def retire(self) -> None:
        """Flush and stop: a newer form for the same answers file took over."""
        self.store.retire()

    def close(self, message: str | None = None) -> None:
        if self.closed:
            return
        try:
            self.store.close()
        finally:
            self.closed = True
            if self._countdown is not None:
                self._countdown.stop()
            for panel in self.panels.values():
                panel.sync()
            if message:
                self._notice(message, "info")

    def _claims_by_step(self) -> dict[str, dict[str, Claim]]:
        return {step.id: self.store.claims_for(step.id) for step in STEPS}

    # --- step actions -------------------------------------------------------------------------------

    def reveal_hint(self, step_id: str) -> None:
        panel = self.panel(step_id)
        if not self.revealing:
            return
        if panel.hints_shown < len(panel.spec.hints):
            panel.hints_shown += 1
        panel.sync()
        self._write_state()

    def check_step(self, step_id: str) -> Report | None:
        panel = self.panel(step_id)
        if not self.revealing:
            panel.feedback.value = H.notice_html(MOCK_HIDDEN, "info")
            return None
        if not panel.value.strip():
            panel.feedback.value = H.notice_html("Write your answer first, then check it.", "info")
            return None
        report = self.offline_report()
        panel.last_step = panel.offline_step = report.steps[step_id]
        panel.claude = None
        panel.checked, panel.stale = True, False
        self.store.state.setdefault("feedback", {})[step_id] = step_state(panel.last_step)
        panel.sync()  # buttons first: the feedback appearing is the last thing a learner (or a test) sees
        panel.show_feedback(self._saved_note())
        self._update_titles()
        self._write_state()
        self._refresh_live(report)
        if self.claude_view is not None and self.background:
            self.claude_view.check(panel)  # returns at once; Claude's verdict replaces the offline one later
        return report

    def _claude_arrived(self, panel: StepPanel) -> None:
        """Claude's verdict on a step came back (on the grading thread): show it in place of the offline one."""
        check = panel.claude
        if check is not None and check.step is not None:
            panel.last_step = check.step
            self.store.state.setdefault("feedback", {})[panel.step.id] = step_state(check.step)
            self._write_state()
        panel.show_feedback("Changed since this check: check again for a verdict on the new text." if panel.stale else "")

    def _restored_feedback(self, step_id: str) -> StepReport | None:
        feedback = self.store.state.get("feedback")
        return step_from_state(step_id, feedback.get(step_id)) if isinstance(feedback, dict) else None

    def toggle_reference(self, step_id: str) -> None:
        panel = self.panel(step_id)
        if not self.revealing:
            return
        if not panel.checked:  # the button is disabled too; this guards programmatic calls
            panel.reference.value = H.notice_html("Check this step first; the reference answer opens after an attempt.", "info")
            return
        if panel.has("reference") and "wb-reference" in panel.reference.value:
            panel.reference.value = ""
            panel.reference_button.description = "Show reference answer"
        else:
            panel.reference.value = H.reference_html(panel.spec.reference_answer)
            panel.reference_button.description = "Hide reference answer"

    # --- display ------------------------------------------------------------------------------------------

    def _show(self, obj) -> None:
        _display(obj)  # looked up here at each call: tests replace it

    def _view(self) -> _View:
        return _View(self.widget, f"The practice form for {self.scenario.id} ({self.mode}): open this notebook in Jupyter to use it.")

    def _ipython_display_(self) -> None:
        _display(self._view())

    def __repr__(self) -> str:
        return f"<PracticeForm {self.scenario.id} ({self.mode}) {self.progress.value}/{len(STEPS)} answered, saving to {self.answers_path}>"


def practice(
    scenario_id: str | None = None,
    answers_path: str | os.PathLike | None = None,
    *,
    grader: str = DEFAULT_GRADER,
    mode: str = "practice",
    time_limit_minutes: float = DEFAULT_TIME_LIMIT,
    work_dir: str | os.PathLike | None = None,
    display: bool = True,
    exercises: str | os.PathLike | None = None,
) -> PracticeForm:
    """Build the practice form for a scenario, show it, and return it.

    answers_path: the answers file (default: my-work/<scenario_id>.answers.json);
    loaded if it exists, autosaved on every change. With an answers_path and no
    scenario_id, the scenario is taken from the file. exercises: a folder of
    scenarios (an instructor's own) to read instead of the shipped ones.
    """
    form = PracticeForm(
        scenario_id, answers_path, grader=grader, mode=mode, time_limit_minutes=time_limit_minutes, work_dir=work_dir,
        exercises=exercises,
    )
    if display:
        _display(form._view())
        carry.show(form.answers())  # the saved notebook carries the answers for `workbook grade`
        form.carried = True
    form.warm_up()
    return form
