"""The practice form's link to its grader: made on first use, warmed up after the form is shown.

`Grading` is a part of `workbook.form.PracticeForm`. `grade` is the one place the form
calls the chosen grader; `offline_report` scores once per distinct answer text; the
warm-up thread does the scorer's one-time work (and the Claude SDK's import) while the
front end draws the form.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from .notebooks import DEFAULT_GRADER
from .store import digest

if TYPE_CHECKING:
    from .report import Report


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:200] or type(error).__name__


class Grading:
    """The grader of the practice form (mixed into PracticeForm)."""

    def grader_impl(self):
        """The grader object, made on first use; if it cannot be made, the offline grader and a notice."""
        with self._grader_lock:  # the warm-up thread may be making it (the Claude grader imports the SDK)
            if self._grader_obj is None:
                from .graders import get_grader

                try:
                    self._grader_obj = get_grader(self.grader)
                except Exception as error:  # noqa: BLE001 - e.g. the Claude grader without the SDK: one line, offline
                    self._notice(f"The {self.grader} grader is not available ({one_line(error)}); checks use the offline scorer.", "warn")
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
            report.flags.insert(0, f"The {self.grader} grader failed ({one_line(error)}); this is the offline result.")
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

        The grader's module is imported here, not when the form is made: the offline
        grader's import compiles the scorer's patterns, and the Claude grader imports
        the SDK. Doing that, and the first scoring, while the front end draws the form
        (or papermill writes the cell's output) makes the first check and the report
        cell answer sooner. Nothing is shown by it.
        """
        answered = any(t.strip() for t in self.store.texts.values())
        if self._warm is not None:
            return

        def work() -> None:
            try:
                self.grader_impl()  # off the thread that serves the buttons
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

