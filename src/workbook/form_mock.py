"""Mock controls of the practice form: start the clock, tick, stop or expire, start a new attempt.

`MockControls` is a part of `workbook.form.PracticeForm` in mock mode. The clock itself
(`workbook.clock.MockClock`: deadline, resume after a restart) has no widgets; this is
its view: the timer line, the three buttons, and what the panels may show while it runs.
When time runs out (or the learner stops it) the answers are scored as they stand.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from . import form_html as H
from .clock import Countdown, MockClock

if TYPE_CHECKING:
    import ipywidgets as W

    from .report import Report


def format_duration(seconds: float) -> str:
    """m:ss (the history module's format; imported when a mock needs it)."""
    from .progress import format_duration as fmt

    return fmt(seconds)



class MockControls:
    """The mock clock's view and actions (mixed into PracticeForm)."""

    def _mock_row(self, layout: "W.Layout") -> "W.HBox":
        """The timer line and the three buttons; each button has its own Layout (shown one at a time)."""
        import ipywidgets as W

        html, button = self._html, self._button
        self.timer = html("")
        self.start_button = button("Start the clock", W.Layout(width="auto"), icon="play", button_style="warning")
        self.finish_button = button("I'm done: stop the clock", W.Layout(width="auto"), icon="stop")
        self.new_attempt_button = button("Start a new mock attempt", W.Layout(width="auto"), icon="refresh")
        self.start_button.on_click(lambda _b: self.start_mock())
        self.finish_button.on_click(lambda _b: self.finish_mock())
        self.new_attempt_button.on_click(lambda _b: self.new_mock_attempt())
        return W.HBox([self.timer, self.start_button, self.finish_button, self.new_attempt_button], layout=layout)

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

