"""The practice form: one scenario, seven steps, instant offline feedback, nothing lost.

    from workbook.form import practice
    form = practice("legal-contract-summarizer")      # shows the brief and the form
    form.show_report()                                  # a live report below, following the form

This module is the view: widgets wired to the answer store (`workbook.store`: load,
autosave, keep-aside, state file), the mock clock (`workbook.clock`) and the grader
(`PracticeForm.grade`, the one place the form calls it). HTML comes from
`workbook.form_html` (form and start notebook) and `workbook.handin` (the exported
design document).

* Nothing waits for a front end: timers and the mock clock are daemon threads.
* In mock mode nothing that reveals the rubric (feedback, probes, hints, reference
  answers, the report, exports) is shown before the clock has run out or been stopped.
* Learner text is escaped in every HTML view.

ipywidgets is imported here and in `workbook.start`, never by `import workbook`.
"""

from __future__ import annotations

import dataclasses
import os
import re
import threading
import time
from pathlib import Path

import ipywidgets as W
from ipywidgets.widgets.widget_string import HTMLStyle, TextStyle

from . import carry
from . import form_html as H
from .clock import Countdown, MockClock, check_limit_minutes
from .notebooks import DEFAULT_GRADER, DEFAULT_TIME_LIMIT, MODES, default_answers_path, report_stem, work_dir as _work_dir
from .report import REPORT_MIME, AntiPatternHit, CriterionResult, Report, StepReport
from .scenario import Scenario, load_scenario
from .steps import STEPS
from .store import AUTOSAVE_DELAY, AnswerStore, Claim, digest

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
MOCK_HIDDEN = "Hints, feedback and reference answers open when the mock ends."
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)")


def _words(text: str) -> int:
    return len(text.split())


def _display(obj) -> None:
    from IPython.display import display

    display(obj)


def sentences(text: str) -> list[str]:
    """The learner's answer cut into sentences (for "I covered this"); one linear pass."""
    return [s.strip() for s in _SENTENCE.findall(text) if len(s.split()) >= 2]


class _StepPanel:
    """One step: questions, text area, word count, hints, check, reference, claims.

    The widgets are built on first use (the tab is opened, or a test touches
    `panel.text`): a headless run builds one panel, not seven. The text itself
    lives in the store either way.
    """

    WIDGETS = frozenset("questions text words hint_button check_button reference_button buttons".split())
    # made when first written (or read): an unchecked step sends no empty feedback, hint or reference widget
    LATER = ("hints", "feedback", "claim_box", "reference")

    def __init__(self, form: "PracticeForm", step, spec):
        self.form = form
        self.step = step
        self.spec = spec
        self.hints_shown = 0
        self.checked = False
        self.stale = False  # changed since it was checked
        self.built = False
        self.last_step: StepReport | None = None  # the feedback last shown
        self.claim_row: W.HBox | None = None
        self.offline_step: StepReport | None = None  # the offline scorer's feedback of the last check
        self.claude = None  # a form_claude.ClaudeCheck: Claude's verdict on the last check, or why not
        self.claude_pending = None  # a Claude check under way (graders.background.Pending)
        self.claude_box: W.VBox | None = None
        self.claude_widgets: tuple = ()
        self.interview: W.VBox | None = None  # the mock interviewer's follow-ups
        self.interview_widgets: tuple = ()
        self.question: str | None = None  # the follow-up waiting for a reply

    def __getattr__(self, name: str):
        # only called for missing attributes: build the widgets on first access
        if name in _StepPanel.WIDGETS and not self.__dict__.get("built", True):
            self.ensure()
            return self.__dict__[name]
        if name == "box":  # a tab not opened yet: an empty box
            box = self.__dict__["box"] = W.VBox(layout=self.form._shared("panel", padding="4px"))
            return box
        if name in _StepPanel.LATER and "built" in self.__dict__:
            self.ensure()
            widget = self.form._html("") if name != "claim_box" else W.VBox(layout=self.form._shared("claims"))
            self.__dict__[name] = widget
            self.place()
            return widget
        raise AttributeError(name)

    def has(self, name: str) -> bool:
        return name in self.__dict__

    def put(self, name: str, value: str) -> None:
        """Set one of the LATER views; clearing one that was never made makes nothing."""
        if value or name in self.__dict__:
            widget = getattr(self, name)
            if widget.value != value:
                widget.value = value

    def place(self) -> None:
        """The panel's children in their fixed order, of the widgets made so far."""
        d = self.__dict__
        order = ["questions", "text", "words", "buttons", "hints", "interview", "claude_box", "feedback", "claim_box", "reference"]
        children = tuple(d[n] for n in order if d.get(n) is not None)
        if "box" not in d:  # made with its children: one message, not two
            d["box"] = W.VBox(children, layout=self.form._shared("panel", padding="4px"))
        elif self.box.children != children:
            self.box.children = children

    @property
    def value(self) -> str:
        return self.form.store.texts[self.step.id]

    @value.setter
    def value(self, text: str) -> None:
        if self.built:
            self.text.value = text  # the observer tells the form
        else:
            self.form._text_changed(self.step.id, text)

    def ensure(self) -> None:
        if self.built:
            return
        step, form = self.step, self.form
        html, button = form._html, form._button
        self.questions = html(H.questions_html(step.number, step.question, list(self.spec.questions), step.title))
        # every widget is made with the values sync() would give it: no update messages right after
        self.text = W.Textarea(
            value=self.value,
            description=f"Your answer to step {step.number}",
            placeholder="Write in full sentences: who, what, with which numbers, and what happens when it goes wrong.",
            rows=12,
            continuous_update=True,
            disabled=self._text_locked(),
            style=form._shared_style("answer", TextStyle, description_width="initial"),
            layout=form._shared("answer", width="100%", flex_flow="column", align_items="stretch"),
            _dom_classes=("wb-answer",),
        )
        self.words = html(self._word_count())
        hint_label, hint_off = self._hint_state()
        self.hint_button = button(hint_label, icon="lightbulb-o", disabled=hint_off, tooltip="Reveal the next hint for this step, one at a time")
        self.check_button = button(
            self._check_label(), icon="check", button_style="primary",
            tooltip=f"Score step {step.number}: what is met, what is missing, and any common mistakes",
        )
        self.reference_button = button("Show reference answer", icon="book", disabled=not self.checked, tooltip=self._reference_tip())
        self.hint_button.on_click(lambda _b: form.reveal_hint(step.id))
        self.check_button.on_click(lambda _b: form.check_step(step.id))
        self.reference_button.on_click(lambda _b: form.toggle_reference(step.id))
        self.text.observe(lambda change: form._text_changed(step.id, change["new"]), names="value")
        # one Layout for every step's button row: in a mock they are shown and hidden together
        self.buttons = W.HBox([self.hint_button, self.check_button, self.reference_button],
                              layout=form._shared("step-buttons", flex_flow="row wrap", display=self._buttons_display()))
        self.built = True
        self.place()
        if self.checked and self.last_step is None:
            self.last_step = form._restored_feedback(step.id)
        self.show_feedback()
        self.sync()

    def _word_count(self) -> str:
        count = _words(self.value)
        return f"{count} word{'s' if count != 1 else ''}"

    def _hint_state(self) -> tuple[str, bool]:
        total = len(self.spec.hints)
        if total == 0:
            return "No hints for this step", True
        if self.hints_shown >= total:
            return "All hints shown", True
        return f"Show a hint ({self.hints_shown + 1} of {total})", False

    def _check_label(self) -> str:
        return "Check again" if self.checked and self.stale else "Check this step"

    def _reference_tip(self) -> str:
        return "Compare with one strong answer" if self.checked else "Available after you have checked this step"

    def _text_locked(self) -> bool:
        status = self.form.clock.status if self.form.clock else None
        return self.form.closed or status in ("ready", "finished")

    def _buttons_display(self) -> str:
        # an interview gives no hints, feedback or reference while the clock runs
        return "flex" if self.form.revealing else "none"

    def sync(self) -> None:
        """Bring the built widgets in line with the panel's and the form's state."""
        if not self.built:
            return
        self.words.value = self._word_count()
        self.hint_button.description, self.hint_button.disabled = self._hint_state()
        revealing = self.form.revealing
        self.put("hints", H.hints_html(list(self.spec.hints), self.hints_shown) if revealing else "")
        self.check_button.description = self._check_label()
        self.reference_button.disabled = not self.checked
        self.reference_button.tooltip = self._reference_tip()
        if not self.checked or not revealing:
            self.put("reference", "")
            self.reference_button.description = "Show reference answer"
        self.text.disabled = self._text_locked()
        self.buttons.layout.display = self._buttons_display()
        if self.form.interviewer is not None:
            self.form.interviewer.sync(self)

    def show_feedback(self, note: str = "") -> None:
        """Render the last feedback (with the learner's claims) and offer "I covered this" for misses."""
        if not self.built:
            return
        if self.last_step is None or not self.form.revealing:
            self.put("feedback", H.notice_html(MOCK_HIDDEN, "info") if not self.form.revealing and self.checked else "")
            if self.has("claim_box"):
                self.claim_box.children = []
            return
        claims = self.form.store.claims_for(self.step.id)
        compared = ""
        if self.claude is not None and self.claude.step is not None and self.offline_step is not None:
            compared = H.comparison_html(self.offline_step, self.claude.step, claims)
        flags = "".join(H.notice_html(H.flag_sentence(f), "warn") for f in (self.claude.flags if self.claude and self.claude.step else []))
        self.feedback.value = H.step_feedback_html(self.last_step, claims, note) + flags + compared
        self.form._claims_view(self, claims)
        if self.form.claude_view is not None:
            self.form.claude_view.show(self)


class PracticeForm:
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
    ):
        from .graders import UnknownGraderError, graders

        try:
            graders.factory(grader)  # the name is checked now; the grader itself is made on first use
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
        self.scenario: Scenario = load_scenario(self.store.scenario_id)
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
        return W.HTML(value, style=self._html_style, layout=self._shared("html"))

    def _button(self, description: str, layout: W.Layout | None = None, **kwargs) -> W.Button:
        style = self._shared_style("button", W.ButtonStyle)
        return W.Button(description=description, style=style, layout=layout or self._shared("button", width="auto"), **kwargs)

    # --- building -----------------------------------------------------------------------

    def _build(self) -> None:
        """Make the widgets with their restored values (each later change is one more comm message)."""
        html, button = self._html, self._button
        self.panels: dict[str, _StepPanel] = {step.id: _StepPanel(self, step, self.scenario.step(step.id)) for step in STEPS}
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
                          layout=self._shared("tabs"))
        self.tabs.observe(lambda change: self._on_tab(change["new"]), names="selected_index")
        answered = self._answered()
        self.progress = W.IntProgress(
            value=answered, min=0, max=len(STEPS), description=f"Steps answered: {answered} of {len(STEPS)}",
            bar_style="success" if answered == len(STEPS) else "info",
            style={"description_width": "initial"}, layout=W.Layout(width="24em"),
        )
        self.save_status = html(H.save_status_html(*self._first_save_status()))
        row = self._shared("row", align_items="center", flex_flow="row wrap")
        if self.clock is not None:
            # only in mock mode: every widget costs a comm message, also in headless runs
            self.timer = html("")
            # each its own Layout: their display changes one at a time
            self.start_button = button("Start the clock", W.Layout(width="auto"), icon="play", button_style="warning")
            self.finish_button = button("I'm done: stop the clock", W.Layout(width="auto"), icon="stop")
            self.new_attempt_button = button("Start a new mock attempt", W.Layout(width="auto"), icon="refresh")
            self.start_button.on_click(lambda _b: self.start_mock())
            self.finish_button.on_click(lambda _b: self.finish_mock())
            self.new_attempt_button.on_click(lambda _b: self.new_mock_attempt())
            self._top.append(W.HBox([self.timer, self.start_button, self.finish_button, self.new_attempt_button], layout=row))
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
        self.actions = W.HBox([self.score_button, self.export_button], layout=W.Layout(align_items="center", flex_flow="row wrap"))
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

    def panel(self, step_id: str) -> _StepPanel:
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

    # --- the grader ----------------------------------------------------------------------------

    def grader_impl(self):
        """The grader object, made on first use; if it cannot be made, the offline grader and a notice."""
        with self._grader_lock:  # the warm-up thread may be making it (the Claude grader imports the SDK)
            if self._grader_obj is None:
                from .graders import get_grader

                try:
                    self._grader_obj = get_grader(self.grader)
                except Exception as error:  # noqa: BLE001 - e.g. the Claude grader without the SDK: one line, offline
                    self._notice(f"The {self.grader} grader is not available ({_one_line(error)}); checks use the offline scorer.", "warn")
                    self._grader_obj = get_grader(DEFAULT_GRADER)
            return self._grader_obj

    @property
    def background(self) -> bool:
        """Does the grader answer over the network (then checks run in the background, offline first)?"""
        return self.grader == "claude" and hasattr(self.grader_impl(), "grade_step")

    def grade(self, answers) -> Report:
        """The one place the form calls the chosen grader for a whole answer set (synchronous)."""
        grader = self.grader_impl()
        try:
            return grader.grade(answers, self.scenario)
        except Exception as error:  # noqa: BLE001 - a third-party grader must not leave a traceback in a notebook
            from .scoring import score

            report = score(answers, self.scenario)
            report.flags.insert(0, f"The {self.grader} grader failed ({_one_line(error)}); this is the offline result.")
            return report

    def offline_report(self) -> Report:
        """The offline scorer's report of the answers as they stand (instant; once per distinct text)."""
        from .scoring import score

        answers = self.store.graded_answers()
        key = digest(answers)
        with self._grading:
            if self._graded is None or self._graded[0] != key:
                self._graded = (key, score(answers, self.scenario) if self.grader == "claude" else self.grade(answers))
            return self._graded[1]

    def warm_up(self) -> None:
        """Score the restored answers on a daemon thread once the form is shown.

        The scorer compiles its patterns on first use, and the Claude grader imports
        the SDK; doing that while the front end draws the form (or papermill writes the
        cell's output) makes the first check and the report cell answer sooner.
        Nothing is shown by it.
        """
        answered = any(t.strip() for t in self.store.texts.values())
        if self._warm is not None or not (answered or self.grader != DEFAULT_GRADER):
            return

        def work() -> None:
            try:
                if self.grader != DEFAULT_GRADER:
                    self.grader_impl()  # e.g. the anthropic SDK's import, off the thread that serves the buttons
                if answered:
                    self.offline_report()
            except Exception:  # noqa: BLE001 - a button press scores again and reports any problem
                pass

        self._warm = threading.Thread(target=work, name="workbook-warm-up", daemon=True)
        self._warm.start()

    def score(self) -> Report:
        """The report of the answers as they stand: Claude's when it has graded this text, else the offline one."""
        if self.grader == "claude":
            return self._claude_reports.get(digest(self.store.graded_answers())) or self.offline_report()
        return self.offline_report()

    def _grade_whole(self) -> Report:
        """The chosen grader's report now (the report cell and exports wait for it; checks never do)."""
        answers = self.store.graded_answers()
        key = digest(answers)
        if self.grader != "claude":
            return self.offline_report()
        if key not in self._claude_reports:
            self._claude_reports = {key: self.grade(answers)}
        return self._claude_reports[key]

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
        self.store.state.setdefault("feedback", {})[step_id] = _step_state(panel.last_step)
        panel.sync()  # buttons first: the feedback appearing is the last thing a learner (or a test) sees
        panel.show_feedback(self._saved_note())
        self._update_titles()
        self._write_state()
        self._refresh_live(report)
        if self.claude_view is not None and self.background:
            self.claude_view.check(panel)  # returns at once; Claude's verdict replaces the offline one later
        return report

    def _claude_arrived(self, panel: _StepPanel) -> None:
        """Claude's verdict on a step came back (on the grading thread): show it in place of the offline one."""
        check = panel.claude
        if check is not None and check.step is not None:
            panel.last_step = check.step
            self.store.state.setdefault("feedback", {})[panel.step.id] = _step_state(check.step)
            self._write_state()
        panel.show_feedback("Changed since this check: check again for a verdict on the new text." if panel.stale else "")

    def _restored_feedback(self, step_id: str) -> StepReport | None:
        feedback = self.store.state.get("feedback")
        return _step_from_state(step_id, feedback.get(step_id)) if isinstance(feedback, dict) else None

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

    # --- "I covered this" -------------------------------------------------------------------------

    def claim(self, step_id: str, criterion_id: str, sentence: str) -> Claim:
        """The learner says `sentence` of their answer covers a missed or partly met criterion."""
        panel = self.panel(step_id)
        if not self.revealing:
            raise ValueError("claims open when the mock ends")
        if panel.last_step is None:
            raise ValueError(f"check step {step_id} first; a claim contests a missed criterion")
        ids = {c.id for c in panel.last_step.criteria if H.criterion_state(c) != "met"}
        if criterion_id not in ids:
            raise ValueError(f"{step_id}: {criterion_id}: not a missed or partly covered criterion of the last check")
        if sentence.strip() not in panel.value:
            raise ValueError(f"{step_id}: the claimed sentence is not in your answer")
        claim = self.store.add_claim(step_id, criterion_id, sentence.strip())
        panel.show_feedback()
        self._refresh_live()
        return claim

    def withdraw_claim(self, step_id: str, criterion_id: str) -> None:
        self.store.remove_claim(step_id, criterion_id)
        self.panels[step_id].show_feedback()
        self._refresh_live()

    def _claims_view(self, panel: _StepPanel, claims: dict[str, Claim]) -> None:
        """One row under the feedback: criterion, the learner's sentence, and the button."""
        open_ = [c for c in panel.last_step.criteria if H.criterion_state(c) != "met"]
        options = sentences(panel.value)
        if not open_ or not options:
            panel.claim_box.children = []
            return
        if panel.claim_row is None:
            which = W.Dropdown(description="I covered", style={"description_width": "initial"}, layout=W.Layout(width="auto", max_width="28em"))
            where = W.Dropdown(description="in", style={"description_width": "initial"}, layout=W.Layout(width="auto", max_width="36em"))
            go = self._button("I covered this", icon="hand-paper-o", tooltip="Record that this sentence covers it; the score does not change")
            go.on_click(lambda _b: self._claim_clicked(panel))
            which.observe(lambda _c: self._claim_button_label(panel), names="value")
            panel.claim_row = W.HBox([which, where, go], layout=self._shared("row", align_items="center", flex_flow="row wrap"))
        which, where, _ = panel.claim_row.children
        which.options = [(c.description[:80], c.id) for c in open_]
        where.options = [(s if len(s) <= 90 else s[:87] + "…", s) for s in options]
        which.index, where.index = 0, 0  # show a choice, not an empty box
        self._claim_button_label(panel)
        panel.claim_box.children = [panel.claim_row]

    def _claim_button_label(self, panel: _StepPanel) -> None:
        which, _, go = panel.claim_row.children
        go.description = "Withdraw my claim" if which.value in self.store.claims_for(panel.step.id) else "I covered this"

    def _claim_clicked(self, panel: _StepPanel) -> None:
        which, where, _ = panel.claim_row.children
        if which.value is None or where.value is None:
            return
        if which.value in self.store.claims_for(panel.step.id):
            self.withdraw_claim(panel.step.id, which.value)
        else:
            self.claim(panel.step.id, which.value, where.value)

    # --- the whole design ----------------------------------------------------------------------------

    def score_all(self, *, time_used_seconds: float | None = None, note: str = "", wait: bool = False) -> Report | None:
        """Score all seven steps, show the report in the form, and add it to the history if the answers changed.

        With Claude as the grader the offline report shows at once and Claude's replaces it
        when it arrives (`wait=True`: grade before returning, as the report cell does).
        """
        if not self.revealing:
            self.export_status.value = H.notice_html("In a mock, your design is scored when the clock stops.", "info")
            return None
        saved = self._saved_note()
        if self.grader == "claude" and self.background and not wait:
            return self._score_all_in_background(time_used_seconds, note, saved)
        report = self._grade_whole() if self.grader == "claude" else self.score()
        return self._scored(report, time_used_seconds, note, saved)

    def _score_all_in_background(self, time_used_seconds: float | None, note: str, saved: str) -> Report:
        """Show the offline report at once; Claude's report replaces it (and is recorded) when it arrives."""
        from .graders.background import run_in_background

        offline = self.offline_report()
        answers = self.store.graded_answers()
        key = digest(answers)
        if key in self._claude_reports:
            return self._scored(self._claude_reports[key], time_used_seconds, note, saved)
        if self._whole is not None:
            self._whole.cancel()
        self.last_report = offline
        self.report_view.value = H.report_view_html(offline, self._claims_by_step(), "Claude is grading your whole design… this is the offline report until its verdict arrives.")
        self.export_status.value = H.notice_html("Claude is grading your whole design…", "info")

        def done(report: Report) -> None:
            self._whole = None
            self._claude_reports = {key: report}
            self._put("export_status", "")
            self._scored(report, time_used_seconds, note, saved)

        def failed(error: BaseException) -> None:
            self._whole = None
            reason = f"Claude could not grade this ({_one_line(error)}); this is the offline result."
            self._scored(dataclasses.replace(offline, flags=[reason, *offline.flags]), time_used_seconds, note, saved)

        self._whole = run_in_background(self.grade, answers, on_done=done, on_error=failed)
        return offline

    def _scored(self, report: Report, time_used_seconds: float | None, note: str, saved: str) -> Report:
        """Show a whole-design report in the form and add it to the history if the answers changed."""
        self.last_report = report
        try:
            from .progress import record_attempt

            attempt = record_attempt(
                report, self.work_dir, mode=self.mode, time_used_seconds=time_used_seconds,
                time_limit_minutes=self.time_limit_minutes if self.mode == "mock" else None,
                answers_digest=digest(self.store.graded_answers()),
            )
            recorded = "Added to your progress history." if attempt else "Same answers as your last recorded attempt: not added to the history again."
        except OSError as error:
            recorded = f"Could not add it to your history: {error}"
        self._note = (digest(self.store.graded_answers()), " ".join(x for x in (note, recorded, saved) if x))
        self.report_view.value = H.report_view_html(report, self._claims_by_step(), self._note[1])
        self._refresh_live(report)
        if self.mock_finished:
            self.mock_scored.set()
        return report

    def export_design(self) -> tuple[Path, Path] | None:
        """Write the design document (brief, every answer, the report) as HTML and Markdown; say where."""
        if not self.revealing:
            self.export_status.value = H.notice_html("Exports open when the mock ends: the report shows the rubric.", "info")
            return None
        try:
            paths = self.export("html"), self.export("md")
        except OSError:
            return None
        saved = self._saved_note()
        links = [(_shown_path(p), _shown_path(p)) for p in paths]
        self.export_status.value = H.link_notice_html(f"Your design document was saved to: {saved}".strip(), links, "ok")
        return paths

    def export(self, fmt: str) -> Path | None:
        """Write the design document as `html` or `md` to the work folder (None in a running mock)."""
        if fmt not in ("html", "md"):
            raise ValueError("format must be 'html' or 'md'")
        if not self.revealing:
            self.export_status.value = H.notice_html("Exports open when the mock ends: the report shows the rubric.", "info")
            return None
        report = self.score()
        answers, claims = self.store.answers(), self._claims_by_step()
        from .handin import design_document_html, design_document_markdown  # only when exporting

        render = design_document_html if fmt == "html" else design_document_markdown
        text = render(self.scenario, answers, report, claims, mode=self.mode, clock=self.clock)
        target = self.work_dir / f"{report_stem(self.answers_path)}-design.{fmt}"
        try:
            from .answers import atomic_write_text

            atomic_write_text(target, text)
        except OSError as error:
            self.export_status.value = H.notice_html(f"Could not write {target}: {error}", "error")
            raise
        self.export_status.value = H.link_notice_html("Saved to", [(_shown_path(target), _shown_path(target))], "ok")
        return target

    def show_report(self) -> None:
        """Display the report of the answers as they stand, and keep it in step with the form.

        One display output: a live HTML widget (updated on every check, score and
        autosave), with text, HTML and REPORT_MIME holding `Report.to_dict()` (the
        same JSON as `workbook score --format json`) for headless runs. In a mock,
        only a placeholder until the end. Returns None so the cell shows it once.
        """
        saved = self._saved_note()
        problems = [message for kind, message in self.notices if kind in ("error", "warn")]
        if saved:
            problems.append(saved)
        if problems:  # a batch run shows no widgets: say it in the output too
            _display(_Notes(problems))
        if "report_view" in self.__dict__:
            self.report_view.layout.display = "none"  # the report lives below the form from now on
        report = self._grade_whole() if self.revealing else None
        if report is not None:
            self.last_report = report
        if self._live is None:
            self._live = self._html(self._live_html(report))  # made with its value: one message, not two
        else:
            self._refresh_live(report)
        _display(_LiveReport(self._live, report))

    def _live_html(self, report: Report | None = None) -> str:
        if not self.revealing:
            return H.notice_html(f"Mock interview: the report of your design appears here when the clock stops. {MOCK_HIDDEN}", "info")
        report = report or self.score()
        key, note = self._note
        return H.report_view_html(report, self._claims_by_step(), note if key == digest(self.store.graded_answers()) else "")

    def _refresh_live(self, report: Report | None = None) -> None:
        if self._live is None:
            return
        self._live.value = self._live_html(report)
        if self.revealing and "report_view" in self.__dict__ and self.report_view.value:
            self.report_view.value = self._live.value

    # --- mock mode -------------------------------------------------------------------------------------

    def _show_mock(self) -> None:
        """Buttons, text areas and panels as the clock's status requires."""
        status = self.clock.status
        self.start_button.layout.display = "flex" if status == "ready" else "none"
        self.finish_button.layout.display = "flex" if status == "running" else "none"
        self.new_attempt_button.layout.display = "flex" if status == "finished" else "none"
        self.actions.layout.display = "flex" if status == "finished" else "none"
        for panel in self.panels.values():
            panel.sync()
            panel.show_feedback()

    def _resume_mock(self) -> None:
        clock = self.clock
        limit = format_duration(clock.limit_seconds)
        if clock.status == "ready":
            self.timer.value = H.timer_html(f"Mock interview: {limit} on the clock. Read the brief, then start.")
            self.start_button.description = f"Start the clock ({limit})"
        elif clock.status == "finished":
            self.timer.value = H.timer_html(f"Mock finished: {format_duration(clock.time_used_seconds or 0)} used of {limit}.")
        self._show_mock()
        if clock.overdue():
            self._finish("time", "Time is up. The time ran out while the notebook was closed.")
        elif clock.status == "running":
            self._start_countdown()

    def start_mock(self) -> None:
        if self.clock is None or self.closed or not self.clock.start():
            return
        self._write_state()
        self._show_mock()
        self._start_countdown()

    def _start_countdown(self) -> None:
        deadline = self.clock.deadline
        self._countdown = Countdown(deadline, self._tick, self._expire)
        self._tick(deadline - time.time())
        self._countdown.start()

    def _tick(self, remaining: float) -> None:
        if remaining > 0:
            self.timer.value = H.timer_html(f"Time left: {format_duration(remaining)}", urgent=remaining <= 60)

    def _expire(self) -> Report | None:
        return self._finish("time", "Time is up.")

    def finish_mock(self) -> Report | None:
        return self._finish("finished", "Mock finished.")

    def _finish(self, reason: str, note: str) -> Report | None:
        with self.store._lock:
            if self.clock is None or not self.clock.finish(reason):
                return None
        if self._countdown is not None:
            self._countdown.stop()
        clock = self.clock
        used = clock.time_used_seconds or 0.0
        self.timer.value = H.timer_html(f"{note} Time used: {format_duration(used)} of {format_duration(clock.limit_seconds)}.", urgent=reason == "time")
        self._write_state()
        self._show_mock()
        return self.score_all(time_used_seconds=used, note=f"{note} Your answers were scored as they stood.")

    @property
    def mock_finished(self) -> bool:
        return self.clock is not None and self.clock.status == "finished"

    def new_mock_attempt(self) -> None:
        """Keep the finished attempt's answers aside and start again from a blank sheet."""
        if not self.mock_finished:
            return
        moved = self.store.keep_attempt_aside()
        if moved is not None:
            self._notice(f"Your previous attempt was kept as {moved.name}.", "info")
        self.store.reset()
        self.store.state.pop("feedback", None)
        self._graded = None
        self._claude_reports = {}
        for panel in self.panels.values():
            panel.checked = panel.stale = False
            panel.claude = panel.offline_step = panel.question = None
            panel.hints_shown = 0
            panel.last_step = None
            if panel.built:
                self._restoring = True
                try:
                    panel.text.value = ""
                finally:
                    self._restoring = False
                panel.put("reference", "")
        self._update_progress()
        self._update_titles()
        self._put("report_view", "")
        self._put("export_status", "")
        self.clock = MockClock(float(self.time_limit_minutes) * 60)
        self.mock_scored.clear()
        self._write_state()
        self._resume_mock()
        self._refresh_live()

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
            "text/html": "".join(H.notice_html(m, "warn") for m in self.messages),
        }


class _LiveReport:
    """The live report widget, with a static copy (text, HTML, REPORT_MIME) for headless readers."""

    def __init__(self, widget: W.HTML, report: Report | None):
        self.widget = widget
        self.report = report

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        bundle = dict(self.widget._repr_mimebundle_() or {})
        bundle["text/html"] = self.widget.value
        if self.report is None:
            bundle["text/plain"] = "Mock interview: the report appears when the clock stops."
        else:
            bundle["text/plain"] = self.report.to_text()
            bundle[REPORT_MIME] = self.report.to_dict()
        return bundle


def _step_state(step: StepReport) -> dict:
    """A checked step's feedback as plain data for the state file (restored after a restart)."""
    return {
        "score": step.score,
        "criteria": [dataclasses.asdict(c) for c in step.criteria],
        "anti_patterns": [dataclasses.asdict(h) for h in step.anti_patterns],
        "feedback": list(step.feedback),
        "next_move": step.next_move,
        "words": step.words,
    }


def _known(cls, data: dict) -> dict:
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def _step_from_state(step_id: str, data: object) -> StepReport | None:
    """Rebuild saved feedback; None for anything malformed (the tick stays, the learner can check again)."""
    try:
        return StepReport(
            step=step_id,
            score=float(data["score"]),
            criteria=[CriterionResult(**_known(CriterionResult, c)) for c in data.get("criteria", [])],
            anti_patterns=[AntiPatternHit(**_known(AntiPatternHit, h)) for h in data.get("anti_patterns", [])],
            feedback=[str(note) for note in data.get("feedback", [])],
            next_move=str(data.get("next_move", "")),
            words=int(data.get("words", 0)),
        )
    except (TypeError, ValueError, KeyError, AttributeError):
        return None


def format_duration(seconds: float) -> str:
    """m:ss (the history module's format; imported when a mock needs it)."""
    from .progress import format_duration as fmt

    return fmt(seconds)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:200] or type(error).__name__


def _shown_path(path: Path) -> str:
    """A path relative to the kernel's folder (where the notebook is), as a link there resolves."""
    try:
        return Path(os.path.relpath(path)).as_posix()
    except ValueError:
        return str(path)


def practice(
    scenario_id: str | None = None,
    answers_path: str | os.PathLike | None = None,
    *,
    grader: str = DEFAULT_GRADER,
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
        carry.show(form.answers())  # the saved notebook carries the answers for `workbook grade`
        form.carried = True
    form.warm_up()
    return form
