"""One step's tab in the practice form: questions, answer box, hints, check, reference, claims.

`StepPanel` is the view of one step; the form (`workbook.form.PracticeForm`) owns the
state it shows and every action its buttons start. A panel's widgets are made when
its tab is first opened, and the views a fresh step does not need (hints, feedback,
claims, reference) when they are first written: each widget is a comm message, also
in a headless run. `step_state` / `step_from_state` keep a checked step's feedback as
plain data in the state file, so it comes back after a restart.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

import ipywidgets as W
from ipywidgets.widgets.widget_string import TextStyle

from . import form_html as H
from .report import AntiPatternHit, CriterionResult, StepReport

if TYPE_CHECKING:
    from .form import PracticeForm

MOCK_HIDDEN = "Hints, feedback and reference answers open when the mock ends."
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)")


def _words(text: str) -> int:
    return len(text.split())


def sentences(text: str) -> list[str]:
    """The learner's answer cut into sentences (for "I covered this"); one linear pass."""
    return [s.strip() for s in _SENTENCE.findall(text) if len(s.split()) >= 2]


class StepPanel:
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
        if name in StepPanel.WIDGETS and not self.__dict__.get("built", True):
            self.ensure()
            return self.__dict__[name]
        if name == "box":  # a tab not opened yet: an empty box
            box = self.__dict__["box"] = W.VBox(layout=self.form._shared("panel", padding="4px"))
            return box
        if name in StepPanel.LATER and "built" in self.__dict__:
            self.ensure()
            widget = self.form._html("") if name != "claim_box" else W.VBox(layout=self.form._shared("plain"))
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


def step_state(step: StepReport) -> dict:
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


def step_from_state(step_id: str, data: object) -> StepReport | None:
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

