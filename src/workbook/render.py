"""HTML views of reports. Every piece of learner text goes through `esc` first.

Colours come from JupyterLab's CSS variables (with fallbacks for other
front ends), so the views read well in light and dark themes.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .report import Report, StepReport

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


def step_body_html(step: "StepReport") -> str:
    items = []
    for c in step.criteria:
        if c.met:
            quote = f" <span class='wb-quote'>“{esc(c.quote)}”</span>" if c.quote else ""
            items.append(f"<li class='wb-met'>✓ {esc(c.description)}{quote}</li>")
        else:
            items.append(f"<li class='wb-miss'>○ {esc(c.description)}<br><b>Probe:</b> {esc(c.probe)}</li>")
    antis = "".join(
        f"<div class='wb-anti'>⚠ <b>{esc(h.title)}</b>: <span class='wb-quote'>“{esc(h.quote)}”</span><br>"
        f"<b>Better:</b> {esc(h.better)}</div>"
        for h in step.anti_patterns
    )
    extra = "".join(f"<li class='wb-miss'>{esc(note)}</li>" for note in step.feedback if note.startswith(("Ignored", "Repeated", "Only")))
    next_move = f"<div class='wb-next'><b>Next move:</b> {esc(step.next_move)}</div>" if step.next_move else ""
    return f"<ul>{''.join(items)}{extra}</ul>{antis}{next_move}"


def step_html(step: "StepReport") -> str:
    return f"{CSS}<div class='wb-step'><h4>{esc(step.title)}: {step.score:.0f}/100</h4>{step_body_html(step)}</div>"


def report_html(report: "Report") -> str:
    head = (
        f"<h3>{esc(report.title or report.scenario)}</h3>"
        f"<div><span class='wb-total'>{report.total:.0f}</span>/100 "
        f"<span class='wb-miss'>({esc(report.grader)} grader)</span></div>"
    )
    flags = "".join(f"<div class='wb-flag'>{esc(flag)}</div>" for flag in report.flags)
    improvements = "".join(f"<li>{esc(move)}</li>" for move in report.improvements())
    top = f"<h4>Top improvements</h4><ol>{improvements}</ol>" if improvements else ""
    details = "".join(
        f"<details><summary><b>{esc(s.title)}</b>: {s.score:.0f}/100</summary>{step_body_html(s)}</details>"
        for s in report.steps.values()
    )
    return f"{CSS}<div class='wb-report'>{head}{bars_html(report)}{flags}{top}{details}</div>"


# --- notebook views (the practice form, the start notebook) ---------------------------
#
# Same rules as above: every piece of learner or scenario text goes through `esc`,
# colours come from JupyterLab's CSS variables with fallbacks.

FORM_CSS = """
<style>
.wb-form { font-family: var(--jp-ui-font-family, sans-serif); color: var(--jp-ui-font-color1, #222);
  font-size: var(--jp-ui-font-size1, 13px); line-height: 1.5; }
.wb-form p { margin: 0.3em 0; }
.wb-form ul, .wb-form ol { margin: 0.2em 0 0.4em 1.2em; padding: 0; }
.wb-brief { border-left: 4px solid var(--jp-brand-color1, #1976d2); background: var(--jp-layout-color2, #f3f3f3);
  padding: 0.5em 0.9em; border-radius: 0 4px 4px 0; }
.wb-brief h3 { margin: 0.2em 0 0.3em 0; }
.wb-badge { display: inline-block; border: 1px solid var(--jp-border-color1, #999); border-radius: 8px;
  padding: 0 0.5em; margin-right: 0.4em; font-size: 0.9em; color: var(--jp-ui-font-color2, #555); }
.wb-muted { color: var(--jp-ui-font-color2, #555); }
.wb-notice { padding: 0.4em 0.7em; border-radius: 4px; margin: 0.3em 0; border-left: 4px solid var(--jp-info-color1, #0288d1);
  background: var(--jp-layout-color2, #f3f3f3); }
.wb-notice.wb-warn { border-left-color: var(--jp-warn-color1, #f57c00); }
.wb-notice.wb-error { border-left-color: var(--jp-error-color1, #d32f2f); }
.wb-notice.wb-ok { border-left-color: var(--jp-success-color1, #388e3c); }
.wb-hint { border-left: 3px solid var(--jp-brand-color2, #64b5f6); padding-left: 0.5em; margin: 0.3em 0; }
.wb-reference { border: 1px dashed var(--jp-border-color1, #999); border-radius: 4px; padding: 0.4em 0.8em; margin: 0.3em 0; }
.wb-timer { font-size: 1.2em; font-weight: 600; font-variant-numeric: tabular-nums; }
.wb-timer.wb-urgent { color: var(--jp-error-color1, #d32f2f); }
.wb-table { border-collapse: collapse; margin: 0.4em 0; }
.wb-table th, .wb-table td { text-align: left; padding: 0.15em 0.8em 0.15em 0; border-bottom: 1px solid var(--jp-border-color2, #ddd); }
.wb-table td.wb-num, .wb-table th.wb-num { text-align: right; font-variant-numeric: tabular-nums; }
.wb-answer > label.widget-label { text-align: left !important; width: auto !important; font-weight: 600; }
</style>
"""


_LIST_START = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s")


def paragraphs_html(text: str, soft_wrap: bool = False) -> str:
    """Plain text (learner or author) as escaped paragraphs.

    Single newlines become line breaks, or, with `soft_wrap` (text hard-wrapped in a
    YAML block), spaces, except before a line that starts a list item.
    """
    blocks = [block.strip() for block in str(text).replace("\r\n", "\n").split("\n\n")]
    out = []
    for block in blocks:
        if not block:
            continue
        lines = block.split("\n")
        html_text = esc(lines[0])
        for line in lines[1:]:
            joiner = " " if soft_wrap and not _LIST_START.match(line) else "<br>"
            html_text += joiner + esc(line.strip() if soft_wrap else line)
        out.append(f"<p>{html_text}</p>")
    return "".join(out)


def notice_html(message: str, kind: str = "info") -> str:
    """A one-paragraph notice; `message` is plain text (escaped here)."""
    return f"{FORM_CSS}<div class='wb-form wb-notice wb-{esc(kind)}' role='status'>{esc(message)}</div>"


def brief_html(scenario) -> str:
    """The scenario as the learner reads it before answering: brief, constraints, who is affected."""
    c = scenario.constraints
    other = "".join(f"<li>{esc(item)}</li>" for item in c.other)
    people = "".join(f"<li><b>{esc(s.name)}</b>: {esc(s.interest)}</li>" for s in scenario.stakeholders)
    sources = "".join(f"<li><b>{esc(s.name)}</b>: {esc(s.description)} <span class='wb-muted'>Access: {esc(s.access)}</span></li>" for s in scenario.context_sources)
    tools = "".join(
        f"<li><code>{esc(t.name)}</code>: {esc(t.description)}{'' if t.reversible else ' <b>(hard to reverse)</b>'}</li>" for t in scenario.tools
    )
    details = (
        f"<details><summary>Who is affected ({len(scenario.stakeholders)})</summary><ul>{people}</ul></details>"
        f"<details><summary>Context sources ({len(scenario.context_sources)})</summary><ul>{sources}</ul></details>"
        + (f"<details><summary>Tools ({len(scenario.tools)})</summary><ul>{tools}</ul></details>" if scenario.tools else "")
    )
    return (
        f"{FORM_CSS}<div class='wb-form wb-brief'>"
        f"<h3>{esc(scenario.title)}</h3>"
        f"<span class='wb-badge'>{esc(scenario.level)}</span><span class='wb-badge'>risk: {esc(c.risk_level)}</span>"
        f"<span class='wb-badge'>id: {esc(scenario.id)}</span>"
        f"{paragraphs_html(scenario.brief, soft_wrap=True)}"
        f"<p><b>Latency budget:</b> {esc(c.latency_budget)}<br><b>Cost budget:</b> {esc(c.cost_budget)}</p>"
        + (f"<ul>{other}</ul>" if other else "")
        + f"{details}</div>"
    )


def questions_html(step_number: int, step_question: str, questions: list[str], step_title: str = "") -> str:
    items = "".join(f"<li>{esc(q)}</li>" for q in questions)
    title = f"<h4 style='margin: 0.2em 0'>Step {step_number}: {esc(step_title)}</h4><p>{esc(step_question)}</p>" if step_title else f"<p><b>Step {step_number}.</b> {esc(step_question)}</p>"
    return f"{FORM_CSS}<div class='wb-form'>{title}<p class='wb-muted'>Guiding questions:</p><ul>{items}</ul></div>"


def hints_html(hints: list[str], shown: int) -> str:
    if shown <= 0:
        return ""
    items = "".join(f"<div class='wb-hint'><b>Hint {n}:</b> {esc(h)}</div>" for n, h in enumerate(hints[:shown], 1))
    return f"{FORM_CSS}<div class='wb-form'>{items}</div>"


def reference_html(text: str) -> str:
    return (
        f"{FORM_CSS}<div class='wb-form wb-reference'><p><b>Reference answer</b> "
        f"<span class='wb-muted'>(one strong answer, not the only one: which of its points did yours cover?)</span></p>"
        f"{paragraphs_html(text)}</div>"
    )


def step_feedback_html(step: "StepReport") -> str:
    """Feedback for one checked step: score, met / missing with the probe, anti-patterns, next move."""
    return f"{FORM_CSS}{step_html(step)}"


def full_report_html(report: "Report", note: str = "") -> str:
    """The whole-design view in the form: `report_html` plus an optional plain-text note."""
    extra = f"<p class='wb-muted'>{esc(note)}</p>" if note else ""
    return f"{FORM_CSS}<div class='wb-form'>{extra}</div>{report_html(report)}"


def standalone_report_html(report: "Report") -> str:
    """A complete HTML document for exporting a report to a file."""
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{esc(report.title or report.scenario)}: {report.total:.0f}/100</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'></head>"
        f"<body style='max-width: 60em; margin: 1em auto; padding: 0 1em'>{report_html(report)}</body></html>\n"
    )


def timer_html(text: str, urgent: bool = False) -> str:
    return f"{FORM_CSS}<div class='wb-form'><span class='wb-timer{' wb-urgent' if urgent else ''}' role='timer' aria-live='off'>{esc(text)}</span></div>"


def progress_html(rows: list[dict], skipped: int = 0) -> str:
    """The start notebook's progress panel: a table and a bar of the best total per scenario.

    Each row: {"scenario", "title", "level", "attempts", "best", "last", "last_at", "mock_time"}.
    """
    if not rows:
        return notice_html("No scenarios found.", "warn")
    body = []
    bars = []
    for row in rows:
        best = row.get("best")
        best_text = "—" if best is None else f"{best:.0f}"
        last = row.get("last")
        last_text = "—" if last is None else f"{last:.0f}"
        body.append(
            f"<tr><td>{esc(row['title'])}<br><span class='wb-muted'>{esc(row['scenario'])} · {esc(row.get('level', ''))}</span></td>"
            f"<td class='wb-num'>{row['attempts']}</td><td class='wb-num'>{best_text}</td><td class='wb-num'>{last_text}</td>"
            f"<td>{esc(row.get('last_at') or '—')}</td><td>{esc(row.get('mock_time') or '—')}</td></tr>"
        )
        width = 0.0 if best is None else max(0.0, min(100.0, best))
        label = f"{row['title']}: best {best_text} of 100" if best is not None else f"{row['title']}: not attempted"
        bars.append(
            f"<span>{esc(row['title'])}</span>"
            f"<div class='wb-bar {_band(best or 0)}' role='img' aria-label='{esc(label)}'><span style='width:{width:.0f}%'></span></div>"
            f"<span>{best_text}</span>"
        )
    attempted = sum(1 for row in rows if row["attempts"])
    summary = f"<p>{attempted} of {len(rows)} scenarios attempted · {sum(row['attempts'] for row in rows)} scored attempts in all.</p>"
    warn = f"<p class='wb-muted'>{skipped} unreadable line(s) in the history file were skipped.</p>" if skipped else ""
    table = (
        "<table class='wb-table'><thead><tr><th>Scenario</th><th class='wb-num'>Attempts</th><th class='wb-num'>Best</th>"
        f"<th class='wb-num'>Last</th><th>Last scored</th><th>Mock time used</th></tr></thead><tbody>{''.join(body)}</tbody></table>"
    )
    chart = f"<h4>Best total per scenario</h4><div class='wb-bars' style='grid-template-columns: 22em 1fr 3em'>{''.join(bars)}</div>"
    return f"{CSS}{FORM_CSS}<div class='wb-form wb-report'>{summary}{warn}{chart}{table}</div>"
