"""The hand-in: one self-contained design document (brief, every answer, the report).

`design_document_html` is a complete HTML file (styles inline, no scripts, no
external links); `design_document_markdown` is the same in Markdown. Learner and
author text is escaped in both: in HTML by `esc`, in Markdown by `md_text`, which
also neutralises HTML, links and emphasis.
"""

from __future__ import annotations

import html
import time
from typing import TYPE_CHECKING, Mapping

from . import form_html as H
from .render import esc
from .steps import STEPS

if TYPE_CHECKING:
    from .answers import Answers
    from .clock import MockClock
    from .report import Report
    from .scenario import Scenario

_MD_SPECIAL = "\\`*_[]|<>#~"


def md_text(text: object) -> str:
    """Plain text for Markdown on one line: no HTML, no link, emphasis or heading syntax."""
    escaped = html.escape(" ".join(str(text).split()), quote=False)
    return "".join("\\" + char if char in _MD_SPECIAL else char for char in escaped)


def md_paragraphs(text: str) -> str:
    """Multi-line learner text for Markdown: escaped line by line, line breaks kept."""
    blocks = [block.strip() for block in str(text).replace("\r\n", "\n").split("\n\n") if block.strip()]
    return "\n\n".join("  \n".join(md_text(line) for line in block.split("\n") if line.strip()) for block in blocks)


def _attempt_line(mode: str, clock: "MockClock | None") -> str:
    when = time.strftime("%Y-%m-%d %H:%M")
    if mode == "mock" and clock is not None and clock.time_used_seconds is not None:
        from .progress import format_duration

        return f"Timed mock, {format_duration(clock.time_used_seconds)} used of {format_duration(clock.limit_seconds)}; exported {when}"
    return f"Practice; exported {when}"


def design_document_html(
    scenario: "Scenario", answers: "Answers", report: "Report", claims: Mapping[str, Mapping[str, object]],
    *, mode: str = "practice", clock: "MockClock | None" = None,
) -> str:
    learner = f" by {esc(answers.learner)}" if answers.learner else ""
    steps = []
    for step in STEPS:
        text = answers.text(step.id)
        body = H.paragraphs_html(text) if text.strip() else "<p class='wb-muted'>(no answer)</p>"
        asked = "".join(
            f"<li><b>Interviewer:</b> {esc(f.question)}<br><b>Reply:</b> {esc(f.reply)}</li>" for f in answers.followups.get(step.id, [])
        )
        followups = f"<h4>Follow-up questions (the replies count toward this step)</h4><ol>{asked}</ol>" if asked else ""
        steps.append(
            f"<section><h3>{step.number}. {esc(step.title)}</h3><p class='wb-muted'>{esc(step.question)}</p>"
            f"<div class='wb-answer-text'>{body}</div>{followups}</section>"
        )
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{esc(scenario.title)}: design{learner}</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<style>body { max-width: 60em; margin: 1em auto; padding: 0 1em; font-family: system-ui, sans-serif; line-height: 1.5; }"
        " .wb-answer-text { border-left: 3px solid #1976d2; padding-left: 0.8em; } details { margin: 0.3em 0; }</style>"
        "</head><body>"
        f"<h1>{esc(scenario.title)}: design{learner}</h1>"
        f"<p class='wb-muted'>{esc(_attempt_line(mode, clock))} · scenario {esc(scenario.id)} · {esc(report.grader)} grader</p>"
        f"<h2>The brief</h2>{H.brief_html(scenario)}"
        f"<h2>The design</h2>{''.join(steps)}"
        f"<h2>The report</h2>{H.report_view_html(report, claims)}"
        "</body></html>\n"
    )


def design_document_markdown(
    scenario: "Scenario", answers: "Answers", report: "Report", claims: Mapping[str, Mapping[str, object]],
    *, mode: str = "practice", clock: "MockClock | None" = None,
) -> str:
    c = scenario.constraints
    learner = f" by {md_text(answers.learner)}" if answers.learner else ""
    lines = [f"# {md_text(scenario.title)}: design{learner}", "", f"_{md_text(_attempt_line(mode, clock))}, scenario {md_text(scenario.id)}, {md_text(report.grader)} grader_", ""]
    lines += ["## The brief", "", md_paragraphs(" ".join(scenario.brief.split("\n"))), ""]
    lines += [f"- **Latency budget:** {md_text(c.latency_budget)}", f"- **Cost budget:** {md_text(c.cost_budget)}"]
    lines += [f"- {md_text(item)}" for item in c.other]
    lines += ["", "## The design"]
    for step in STEPS:
        text = answers.text(step.id)
        lines += ["", f"### {step.number}. {md_text(step.title)}", "", f"_{md_text(step.question)}_", ""]
        lines.append(md_paragraphs(text) if text.strip() else "(no answer)")
        for n, f in enumerate(answers.followups.get(step.id, []), 1):
            lines += ["", f"**Follow-up {n}:** {md_text(f.question)}", "", f"> {md_text(' '.join(f.reply.split()))}"]
    lines += ["", f"## The report: {report.total:.0f}/100", "", "| Step | Score | Not yet covered |", "|---|---:|---|"]
    for step in report.steps.values():
        open_ = [md_text(c.description) for c in step.criteria if H.criterion_state(c) != "met"]
        lines.append(f"| {md_text(step.title)} | {step.score:.0f} | {'; '.join(open_) or '—'} |")
    improvements = report.improvements()
    if improvements:
        lines += ["", "### Top improvements", *[f"1. {md_text(move)}" for move in improvements]]
    if report.flags:
        lines += ["", "### Notes from the grader", *[f"- {md_text(H.flag_sentence(flag))}" for flag in report.flags]]
    for step in report.steps.values():
        step_claims = claims.get(step.step, {})
        lines += ["", f"### {md_text(step.title)}: {step.score:.0f}/100"]
        for criterion in step.criteria:
            state = H.criterion_state(criterion)
            mark = {"met": "✅", "partly": "◐", "missing": "⬜"}[state]
            detail = f" — “{md_text(criterion.quote)}”" if criterion.quote and state != "missing" else ""
            if state != "met" and criterion.probe:
                detail += f" — {md_text(criterion.probe)}"
            lines.append(f"- {mark} {md_text(criterion.description)}{' (partly)' if state == 'partly' else ''}{detail}")
            claim = step_claims.get(criterion.id)
            if claim is not None and state != "met":
                lines.append(f"  - Claimed by the learner (not counted by the grader): “{md_text(claim.sentence)}”")
        for hit in step.anti_patterns:
            lines.append(f"- ⚠️ {md_text(hit.title)}: “{md_text(hit.quote)}”. {md_text(hit.better)}")
        if step.next_move:
            lines += ["", f"**Next move:** {md_text(step.next_move)}"]
    return "\n".join(lines) + "\n"
