"""The whole design in the practice form: score it, record it in the history, keep a live report.

`WholeDesign` is a part of `workbook.form.PracticeForm`: "Score my whole design" (with
Claude, the offline report first and Claude's when it arrives), the history record
(only when the answers changed since the last recorded attempt), and the report cell
(`show_report`), which follows every check, scoring and save. In a running mock
nothing here shows the rubric.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from . import form_html as H
from .form_grading import one_line
from .form_panel import MOCK_HIDDEN
from .report import REPORT_MIME
from .store import digest

if TYPE_CHECKING:
    import ipywidgets as W

    from .report import Report


class WholeDesign:
    """Whole-design scoring and the live report (mixed into PracticeForm)."""

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
            reason = f"Claude could not grade this ({one_line(error)}); this is the offline result."
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


    def show_report(self) -> None:
        """Display the report of the answers as they stand, and keep it in step with the form.

        One display output: a live HTML widget (updated on every check, score and
        autosave), with text, HTML and REPORT_MIME holding `Report.to_dict()` (the
        same JSON as `workbook score --format json`) for headless runs. In a mock,
        only a placeholder until the end. Returns None so the cell shows it once.
        """
        saved = self._saved_note()
        report = self._grade_whole() if self.revealing else None  # first: grading may add a notice (no such grader)
        problems = [message for kind, message in self.notices if kind in ("error", "warn")]
        if saved:
            problems.append(saved)
        if problems:  # a batch run shows no widgets: say it in the output too
            self._show(_Notes(problems))
        if "report_view" in self.__dict__:
            self.report_view.layout.display = "none"  # the report lives below the form from now on
        if report is not None:
            self.last_report = report
        if self._live is None:
            self._live = self._html(self._live_html(report))  # made with its value: one message, not two
        else:
            self._refresh_live(report)
        self._show(_LiveReport(self._live, report))


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
        if self.report is None:
            bundle = H.widget_bundle(self.widget.model_id, "Mock interview: the report appears when the clock stops.")
        else:
            bundle = H.widget_bundle(self.widget.model_id, self.report.to_text())
            bundle[REPORT_MIME] = self.report.to_dict()
        bundle["text/html"] = self.widget.value
        return bundle

