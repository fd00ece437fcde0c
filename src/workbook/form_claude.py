"""The form's Claude pieces: a check in the background, the key field, and the mock interviewer.

`ClaudeView` is used by `workbook.form` only when the form's grader is "claude":

* A check shows the offline feedback at once; `ClaudeView.check` then grades the
  step on the grader's background pool (`graders.background.run_in_background`)
  with a visible "grading…" line and a Cancel button, and Claude's verdict replaces
  the offline one when it arrives. One request at a time per form, so the
  grader's `last_usage` / `last_prompt` belong to that check.
* Every failure ends in one line and the offline result, never a traceback.
* The key typed into the password field goes to the grader's memory and the field
  is cleared at once, so the key is not left in widget state (which a notebook can save).

`Interviewer` asks up to three follow-up questions per step in a running mock;
replies are stored with the answers (`Answers.followups`) and graded with the step.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import ipywidgets as W

from . import form_html as H

if TYPE_CHECKING:
    from .form import PracticeForm
    from .form_panel import StepPanel
    from .report import StepReport

KEY_PLACEHOLDER = "Anthropic API key (only if ANTHROPIC_API_KEY is not set)"


@dataclass
class ClaudeCheck:
    """What one Claude check of a step gave: the verdict, why it fell back, what it cost and saw."""

    step: "StepReport | None" = None
    error: str = ""
    flags: list[str] = field(default_factory=list)
    cost: str = ""
    prompt: dict | None = None


class ClaudeView:
    """The key field and per-step background checks for one form."""

    def __init__(self, form: "PracticeForm"):
        self.form = form
        self._lock = threading.Lock()  # one request at a time: last_usage / last_prompt belong to it
        self._state = threading.RLock()  # a check's start (submit, then remember it) and its end never interleave
        # the value reaches the kernel on Enter or when the field loses focus, not per keystroke
        self.key = W.Password(value="", placeholder=KEY_PLACEHOLDER, continuous_update=False, layout=W.Layout(width="26em"))
        self.key_status = form._html("")
        self.key.observe(self._key_typed, names="value")
        self.widget = W.HBox([self.key, self.key_status], layout=W.Layout(align_items="center", flex_flow="row wrap"))
        self._describe_key()

    # --- the key -----------------------------------------------------------------------

    def _describe_key(self, note: str = "") -> None:
        import os

        grader = self.form._grader_obj
        if grader is not None and getattr(grader, "has_key", False):
            text = note or "Claude grades each check after the offline feedback. The key is kept in memory only."
        elif os.environ.get("ANTHROPIC_API_KEY"):
            text = "Claude grades each check after the offline feedback (key from ANTHROPIC_API_KEY)."
        else:
            text = "Enter an Anthropic API key for Claude's verdicts (kept in memory only); until then checks are offline."
        self.key_status.value = H.claude_status_html(text, "info")

    def _key_typed(self, change) -> None:
        value = change["new"]
        if not value:
            return
        self.key.value = ""  # out of the widget state at once
        grader = self.form.grader_impl()
        if not hasattr(grader, "set_key"):
            self.key_status.value = H.claude_status_html("This grader takes no key; checks stay offline.", "warn")
            return
        grader.set_key(value.strip())
        self.form._claude_reports = {}  # verdicts made without a key were offline fallbacks
        self._describe_key("Key set for this session (memory only; never saved). Check a step to use it.")

    # --- a check --------------------------------------------------------------------------

    def check(self, panel: "StepPanel") -> None:
        """Grade the panel's step with Claude in the background; the offline feedback is already shown."""
        grader = self.form.grader_impl()
        if not hasattr(grader, "grade_step"):
            return
        self.cancel(panel, quiet=True)
        if not getattr(grader, "has_key", True):
            panel.claude = ClaudeCheck(error="no API key: set ANTHROPIC_API_KEY or enter a key above")
            self.show(panel)
            return
        from .graders.background import run_in_background

        answers = self.form.store.graded_answers()
        step_id = panel.step.id
        state = {}

        def work():
            with self._lock:
                if state.get("pending") is not None and state["pending"].cancelled:
                    return None
                step = grader.grade_step(step_id, answers, self.form.scenario)
                return ClaudeCheck(
                    None if grader.last_error else step, grader.last_error, list(grader.last_flags),
                    grader.last_usage.describe(grader.model) if grader.last_usage.requests else "",
                    copy.deepcopy(grader.last_prompt),
                )

        with self._state:  # a fast (cached) answer waits here until the check is remembered
            panel.claude = None
            panel.claude_pending = state["pending"] = run_in_background(
                work, on_done=lambda result: self._done(panel, state, result),
                on_error=lambda error: self._done(panel, state, ClaudeCheck(error=_one_line(error))),
            )
            self.show(panel)

    def _done(self, panel: "StepPanel", state: dict, result: ClaudeCheck | None) -> None:
        with self._state:
            pending = state["pending"]  # set by check() before this lock is free
            if result is None or pending is not panel.claude_pending or pending.cancelled:
                return
            panel.claude_pending = None
            panel.claude = result
            self.form._claude_arrived(panel)
            self.show(panel)

    def cancel(self, panel: "StepPanel", quiet: bool = False) -> None:
        with self._state:
            pending = panel.claude_pending
            if pending is None:
                return
            pending.cancel()
            panel.claude_pending = None
            if not quiet:
                panel.claude = ClaudeCheck(error="cancelled; this is the offline result")
                self.show(panel)

    # --- the panel's Claude rows ----------------------------------------------------------------

    def ensure(self, panel: "StepPanel") -> None:
        if panel.claude_box is not None:
            return
        status = self.form._html("")
        # each its own Layout: they are shown and hidden one at a time
        cancel = self.form._button("Cancel", W.Layout(width="auto"), icon="times", tooltip="Stop waiting for Claude; the offline feedback stays")
        saw = self.form._button("What Claude saw", W.Layout(width="auto"), icon="eye", tooltip="The exact request sent to Claude (your key is never part of it)")
        prompt = self.form._html("")
        cancel.on_click(lambda _b: self.cancel(panel))
        saw.on_click(lambda _b: self._toggle_prompt(panel))
        row = W.HBox([status, cancel, saw], layout=W.Layout(align_items="center", flex_flow="row wrap"))
        panel.claude_box = W.VBox([row, prompt])
        panel.claude_widgets = (status, cancel, saw, prompt)

    def _toggle_prompt(self, panel: "StepPanel") -> None:
        _, _, saw, prompt = panel.claude_widgets
        check = panel.claude
        if prompt.value or check is None or check.prompt is None:
            prompt.value = ""
            saw.description = "What Claude saw"
            return
        from .graders.prompt import show

        prompt.value = H.prompt_html(show(check.prompt))
        saw.description = "Hide what Claude saw"

    def show(self, panel: "StepPanel") -> None:
        """The "grading…" line with Cancel, or the outcome with its cost and the prompt button."""
        if not panel.built:
            return
        self.ensure(panel)
        status, cancel, saw, prompt = panel.claude_widgets
        check = panel.claude
        cancel.layout.display = "flex" if panel.claude_pending is not None else "none"
        has_prompt = check is not None and check.prompt is not None
        saw.layout.display = "flex" if has_prompt else "none"
        if not has_prompt:
            prompt.value = ""
        if panel.claude_pending is not None:
            status.value = H.claude_status_html("Claude is grading… the offline feedback below stays until its verdict arrives.", "info")
        elif check is None:
            status.value = ""
        elif check.error:
            extra = f" {check.cost}." if check.cost else ""
            status.value = H.claude_status_html(f"Claude could not grade this step ({check.error}); this is the offline result.{extra}", "warn")
        else:
            status.value = H.claude_status_html(f"Claude's verdict is shown below. Cost of this check: {check.cost or 'nothing (cached verdict)'}.", "ok")
        panel.place()


class Interviewer:
    """Follow-up questions in a running mock: ask, reply, store, up to three rounds per step."""

    def __init__(self, form: "PracticeForm"):
        self.form = form

    def rounds(self, step_id: str) -> list[tuple[str, str]]:
        return [(f.question, f.reply) for f in self.form.store.followups.get(step_id, [])]

    def ensure(self, panel: "StepPanel") -> None:
        if panel.interview is not None:
            return
        form = self.form
        view = form._html("")
        ask = form._button("Done with this step: ask me a follow-up", W.Layout(width="auto"), icon="comments",
                           tooltip="One question aimed at the biggest gap of your answer; your reply counts toward this step")
        reply = W.Textarea(placeholder="Your reply to the interviewer", rows=4, layout=W.Layout(width="100%"))
        reply.add_class("wb-answer")
        send = form._button("Send my reply", W.Layout(width="auto"), icon="reply")
        ask.on_click(lambda _b: self.ask(panel.step.id))
        send.on_click(lambda _b: self.reply(panel.step.id, reply.value))
        panel.interview = W.VBox([view, ask, reply, send], layout=W.Layout())
        panel.interview_widgets = (view, ask, reply, send)

    def sync(self, panel: "StepPanel") -> None:
        if not panel.built:
            return
        clock = self.form.clock
        running = clock is not None and clock.status == "running" and not self.form.closed
        self.ensure(panel)
        view, ask, reply, send = panel.interview_widgets
        panel.interview.layout.display = "flex" if running else "none"
        rounds = self.rounds(panel.step.id)
        from .graders.interviewer import MAX_ROUNDS

        left = MAX_ROUNDS - len(rounds)
        asking = panel.question is not None
        view.value = H.followup_html(rounds, panel.question, left) if (rounds or asking) else ""
        ask.layout.display = "none" if asking or left <= 0 else "flex"
        reply.layout.display = send.layout.display = "flex" if asking else "none"
        panel.place()

    def ask(self, step_id: str, on_asked: Callable[[str], None] | None = None) -> None:
        """One question, aimed at the biggest gap (Claude's in the background when it is the grader)."""
        from .graders.interviewer import MAX_ROUNDS, follow_up

        form = self.form
        panel = form.panel(step_id)
        if form.clock is None or form.clock.status != "running" or len(self.rounds(step_id)) >= MAX_ROUNDS:
            return
        if not panel.value.strip():
            panel.question = None
            panel.interview_widgets[0].value = H.notice_html("Write your answer first; the interviewer asks about it.", "info")
            return
        answers = form.store.graded_answers()
        grader = form.grader_impl() if form.grader == "claude" else None
        if grader is not None and not getattr(grader, "has_key", False):
            grader = None

        def done(asked) -> None:
            panel.question = asked.question
            self.sync(panel)
            if on_asked is not None:
                on_asked(asked.question)

        if grader is None:
            done(follow_up(step_id, answers, form.scenario))
            return
        from .graders.background import run_in_background

        panel.interview_widgets[0].value = H.notice_html("The interviewer is thinking…", "info")
        run_in_background(follow_up, step_id, answers, form.scenario, None, grader, on_done=done,
                          on_error=lambda _e: done(follow_up(step_id, answers, form.scenario)))

    def reply(self, step_id: str, text: str) -> bool:
        """Store the open question with the learner's reply; it is graded with the step from now on."""
        panel = self.form.panel(step_id)
        if panel.question is None or not text.strip():
            return False
        self.form.store.add_followup(step_id, panel.question, text.strip())
        panel.question = None
        panel.interview_widgets[2].value = ""
        self.sync(panel)
        return True


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:200] or type(error).__name__
