"""HTML views of reports. Every piece of learner text goes through `esc` first.

The notebook views (the practice form, the start notebook, the hand-in document)
live in `workbook.form_html`; this module holds the report views only.

Colours come from JupyterLab's CSS variables (with fallbacks for other
front ends), so the views read well in light and dark themes.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Callable, Mapping

if TYPE_CHECKING:
    from .report import CriterionResult, Report, StepReport

CSS = """
<style>
.wb-report, .wb-step { font-family: var(--jp-ui-font-family, sans-serif); color: var(--jp-ui-font-color1, #222);
  font-size: var(--jp-ui-font-size1, 13px); line-height: 1.45; }
.wb-report h3, .wb-step h4 { margin: 0.3em 0; }
.wb-total { font-size: 1.6em; font-weight: 600; }
.wb-bars { display: grid; grid-template-columns: 13em 1fr 3em; gap: 4px 8px; align-items: center; margin: 0.6em 0; }
.wb-bar { background: var(--jp-layout-color3, #ddd); border-radius: 3px; height: 0.9em; overflow: hidden; }
.wb-bar > span { display: block; height: 100%; background: var(--jp-brand-color1, #1976d2); }
.wb-bar.wb-low > span { background: var(--jp-error-color1, #d32f2f); }
.wb-bar.wb-mid > span { background: var(--jp-warn-color1, #f57c00); }
.wb-bar.wb-high > span { background: var(--jp-success-color1, #388e3c); }
.wb-met { color: var(--jp-success-color1, #2e7d32); }
.wb-miss { color: var(--jp-ui-font-color2, #555); }
ul.wb-criteria { list-style: none; margin-left: 0.2em; }
ul.wb-criteria > li { margin: 0.15em 0; }
.wb-partly { color: var(--jp-warn-color1, #e65100); }
.wb-claim { border-left: 3px solid var(--jp-brand-color2, #64b5f6); padding-left: 0.4em; margin-top: 0.15em; }
.wb-anti { border-left: 3px solid var(--jp-warn-color1, #f57c00); padding-left: 0.5em; margin: 0.3em 0; }
.wb-flag { border-left: 3px solid var(--jp-error-color1, #d32f2f); padding-left: 0.5em; margin: 0.3em 0; }
.wb-quote { font-style: italic; color: var(--jp-ui-font-color2, #555); }
.wb-next { background: var(--jp-layout-color2, #f3f3f3); padding: 0.4em 0.6em; border-radius: 4px; margin-top: 0.4em; }
.wb-report ul, .wb-step ul { margin: 0.2em 0 0.4em 1.2em; padding: 0; }
</style>
"""


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _band(score: float) -> str:
    return "wb-low" if score < 40 else "wb-mid" if score < 70 else "wb-high"


def bars_html(report: "Report") -> str:
    rows = []
    for step in report.steps.values():
        width = max(0.0, min(100.0, step.score))
        rows.append(
            f"<span>{esc(step.title)}</span>"
            f"<div class='wb-bar {_band(step.score)}' role='img' aria-label='{esc(step.title)}: {step.score:.0f} of 100'>"
            f"<span style='width:{width:.0f}%'></span></div><span>{step.score:.0f}</span>"
        )
    return f"<div class='wb-bars'>{''.join(rows)}</div>"


MARKS = {"met": "✓", "partly": "◐", "missing": "○"}


def _criterion_html(c: "CriterionResult", claim=None) -> str:
    """One criterion: its mark, the quoted words, what a partial match lacks, the probe, and a learner's claim."""
    state = c.state if c.state in MARKS else ("met" if c.met else "missing")
    quote = f" <span class='wb-quote'>“{esc(c.quote)}”</span>" if c.quote and state != "missing" else ""
    label = " <i>(partly covered)</i>" if state == "partly" else ""
    lacks = f" <span class='wb-miss'>({esc(c.note)})</span>" if state == "partly" and c.note else ""
    probe = f"<br><b>Probe:</b> {esc(c.probe)}" if state != "met" and c.probe else ""
    claimed = ""
    if claim is not None and state != "met":
        claimed = (
            f"<div class='wb-claim'><b>Claimed by you</b> (not counted by the grader; your instructor sees it): "
            f"<span class='wb-quote'>“{esc(claim.sentence)}”</span></div>"
        )
    css = {"met": "wb-met", "partly": "wb-partly", "missing": "wb-miss"}[state]
    return f"<li class='{css}'>{MARKS[state]} {esc(c.description)}{label}{quote}{lacks}{probe}{claimed}</li>"


def step_body_html(step: "StepReport", claims: Mapping[str, object] | None = None) -> str:
    """Criteria (met, partly, missing with its probe, claims), anti-patterns, notes and the next move."""
    claims = claims or {}
    items = "".join(_criterion_html(c, claims.get(c.id)) for c in step.criteria)
    antis = "".join(
        f"<div class='wb-anti'>⚠ <b>{esc(h.title)}</b>: <span class='wb-quote'>“{esc(h.quote)}”</span><br>"
        f"<b>Better:</b> {esc(h.better)}</div>"
        for h in step.anti_patterns
    )
    notes = "".join(
        f"<li class='wb-miss'>{esc(note)}</li>" for note in step.feedback if not note.startswith(("Met:", "Missing:", "Partly:", "Anti-pattern:"))
    )
    next_move = f"<div class='wb-next'><b>Next move:</b> {esc(step.next_move)}</div>" if step.next_move else ""
    return f"<ul class='wb-criteria'>{items}{notes}</ul>{antis}{next_move}"


def step_html(step: "StepReport") -> str:
    return f"{CSS}<div class='wb-step'><h4>{esc(step.title)}: {step.score:.0f}/100</h4>{step_body_html(step)}</div>"


def report_html(
    report: "Report",
    claims: Mapping[str, Mapping[str, object]] | None = None,
    note: str = "",
    flag_text: Callable[[str], str] = str,
    css: str = "",
    classes: str = "wb-report",
) -> str:
    """The whole design: total, chart, flags, top improvements, every step (with the learner's claims)."""
    claims = claims or {}
    head = (
        f"<h3>{esc(report.title or report.scenario)}</h3>"
        f"<div><span class='wb-total'>{report.total:.0f}</span>/100 "
        f"<span class='wb-miss'>({esc(report.grader)} grader)</span></div>"
    )
    extra = f"<p class='wb-muted'>{esc(note)}</p>" if note else ""
    flags = "".join(f"<div class='wb-flag'>{esc(flag_text(flag))}</div>" for flag in report.flags)
    improvements = "".join(f"<li>{esc(move)}</li>" for move in report.improvements())
    top = f"<h4>Top improvements</h4><ol>{improvements}</ol>" if improvements else ""
    details = "".join(
        f"<details><summary><b>{esc(s.title)}</b>: {s.score:.0f}/100</summary>{step_body_html(s, claims.get(s.step))}</details>"
        for s in report.steps.values()
    )
    return f"{CSS}{css}<div class='{classes}'>{head}{extra}{bars_html(report)}{flags}{top}{details}</div>"


def standalone_report_html(report: "Report") -> str:
    """A complete HTML document for exporting a report to a file."""
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{esc(report.title or report.scenario)}: {report.total:.0f}/100</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'></head>"
        f"<body style='max-width: 60em; margin: 1em auto; padding: 0 1em'>{report_html(report)}</body></html>\n"
    )
