"""HTML for the notebook views: the practice form, the start notebook, the progress panel.

Same rules as `workbook.render` (the report views): every piece of learner or
author text goes through `esc`, colours come from JupyterLab's CSS variables with
fallbacks, so the views read well in light and dark themes. Plain strings in,
HTML out: no widget imports here.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable, Mapping

from .render import CSS, MARKS, _band, esc, report_html, step_body_html
from .steps import STEP_IDS, STEPS_BY_ID

if TYPE_CHECKING:
    from .report import CriterionResult, Report, StepReport
    from .scenario import Scenario

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
.wb-answer textarea { font-family: var(--jp-content-font-family, system-ui, sans-serif) !important;
  font-size: var(--jp-content-font-size1, 14px); line-height: 1.5; }
.wb-answer textarea:disabled { opacity: 1 !important; color: var(--jp-ui-font-color1, #222) !important;
  background: var(--jp-layout-color2, #f3f3f3); }
.wb-practice .jupyter-button { white-space: nowrap; }
.wb-practice .jupyter-button > i { display: inline-block; margin-right: 0.35em; }
.wb-disagree { font-weight: 600; color: var(--jp-warn-color1, #e65100); }
.wb-prompt { max-height: 24em; overflow: auto; white-space: pre-wrap; font-size: 0.85em;
  background: var(--jp-layout-color2, #f3f3f3); padding: 0.4em; border-radius: 4px; }
.wb-practice .widget-tab, .wb-practice .jupyter-widget-tab { width: 100%; }
.wb-practice .widget-tab > .lm-TabBar, .wb-practice .jupyter-widget-tab > .lm-TabBar { width: 100%; max-width: 100%; }
</style>
"""

_LIST_START = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s")
_FLAG_PREFIX = re.compile(r"^[a-z][a-z0-9_]*: ")
_STEP_ID = re.compile(r"\b(" + "|".join(STEP_IDS) + r")\b")


WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"


def widget_bundle(model_id: str, text: str) -> dict:
    """Display data for a widget: its view, and a plain-text line of our own.

    ipywidgets' own bundle computes the repr of the whole widget tree for a text/plain
    that it then cuts to 110 characters (5-10 ms for the practice form in a kernel).
    """
    return {WIDGET_VIEW_MIME: {"version_major": 2, "version_minor": 0, "model_id": model_id}, "text/plain": text}


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


def link_notice_html(message: str, links: Iterable[tuple[str, str]], kind: str = "ok") -> str:
    """A notice followed by links: (href, label) pairs, both plain text."""
    anchors = " · ".join(f"<a href='{esc(href)}' target='_blank' rel='noopener'>{esc(label)}</a>" for href, label in links)
    return f"{FORM_CSS}<div class='wb-form wb-notice wb-{esc(kind)}' role='status'>{esc(message)} {anchors}</div>"


def save_status_html(text: str, kind: str) -> str:
    symbol = {"ok": "✓", "pending": "…", "error": "✗", "info": "•"}.get(kind, "")
    color = {"ok": "--jp-success-color1", "error": "--jp-error-color1", "pending": "--jp-ui-font-color2"}.get(kind, "--jp-ui-font-color2")
    return (
        f"<span role='status' aria-label='Save status' style='margin-left:1em; color: var({color}, inherit)'>"
        f"{esc(symbol)} {esc(text)}</span>"
    )


def brief_html(scenario: "Scenario") -> str:
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


def timer_html(text: str, urgent: bool = False) -> str:
    return f"{FORM_CSS}<div class='wb-form'><span class='wb-timer{' wb-urgent' if urgent else ''}' role='timer' aria-live='off'>{esc(text)}</span></div>"


# --- feedback and the whole-design report ------------------------------------------------------------


def criterion_state(criterion: "CriterionResult") -> str:
    """"met", "partly" or "missing" (reports without a `state` field know only met and missed)."""
    state = getattr(criterion, "state", None)
    return state if state in MARKS else ("met" if criterion.met else "missing")


def step_title(step_id: str) -> str:
    step = STEPS_BY_ID.get(step_id)
    return step.title if step else step_id


def flag_sentence(flag: str) -> str:
    """A scorer flag ("empty_steps: 3 of 7 steps have no answer (user_intent, …)") as a sentence for a person."""
    text = _FLAG_PREFIX.sub("", flag, count=1)
    if flag.startswith(("grader_addressed_text: ", "repeated_text: ")):
        step_id, _, rest = text.partition(": ")
        if step_id in STEPS_BY_ID:
            what = "text addressed to the grader earned nothing: " + rest.removeprefix("ignored ") if flag.startswith("grader") else rest
            text = f"{step_title(step_id)}: {what}"
    text = _STEP_ID.sub(lambda match: step_title(match.group(1)), text)
    return text[:1].upper() + text[1:]


def step_feedback_html(step: "StepReport", claims: Mapping[str, object] | None = None, note: str = "") -> str:
    """Feedback for one checked step: score, then `step_body_html`."""
    extra = f"<p class='wb-muted'>{esc(note)}</p>" if note else ""
    return (
        f"{CSS}{FORM_CSS}<div class='wb-step'><h4>{esc(step.title)}: {step.score:.0f}/100</h4>{extra}"
        f"{step_body_html(step, claims)}</div>"
    )


def report_view_html(report: "Report", claims: Mapping[str, Mapping[str, object]] | None = None, note: str = "") -> str:
    """The whole design as the notebook shows it: the report view, with flags as sentences and the form's styles."""
    return report_html(report, claims, note, flag_text=flag_sentence, css=FORM_CSS, classes="wb-report wb-form")


# --- Claude beside the offline scorer --------------------------------------------------------------------


def _verdict_cell(c: "CriterionResult | None") -> str:
    if c is None:
        return "<td class='wb-muted'>—</td>"
    state = criterion_state(c)
    quote = f" <span class='wb-quote'>“{esc(c.quote)}”</span>" if c.quote and state != "missing" else ""
    css = {"met": "wb-met", "partly": "wb-partly", "missing": "wb-miss"}[state]
    return f"<td class='{css}'>{MARKS[state]} {state}{quote}</td>"


def disagreements(offline: "StepReport", claude: "StepReport") -> list[str]:
    """Criterion ids the two graders judge differently (met / partly / missing)."""
    theirs = {c.id: criterion_state(c) for c in claude.criteria}
    return [c.id for c in offline.criteria if c.id in theirs and theirs[c.id] != criterion_state(c)]


def comparison_html(offline: "StepReport", claude: "StepReport", claims: Mapping[str, object] | None = None) -> str:
    """Both graders side by side per criterion; disagreements flagged; Claude's verdict on each claim."""
    claims = claims or {}
    theirs = {c.id: c for c in claude.criteria}
    differ = set(disagreements(offline, claude))
    rows = []
    for c in offline.criteria:
        flag = "<td class='wb-disagree'>they disagree</td>" if c.id in differ else "<td></td>"
        rows.append(f"<tr><td>{esc(c.description)}</td>{_verdict_cell(c)}{_verdict_cell(theirs.get(c.id))}{flag}</tr>")
        claim = claims.get(c.id)
        if claim is not None:
            verdict = criterion_state(theirs[c.id]) if c.id in theirs else "not judged"
            rows.append(
                f"<tr><td colspan='4' class='wb-claim'>Your claim: <span class='wb-quote'>“{esc(claim.sentence)}”</span>. "
                f"Claude's verdict on it: <b>{esc(verdict)}</b></td></tr>"
            )
    summary = f"{len(differ)} of {len(offline.criteria)} criteria judged differently" if differ else "The two graders agree on every criterion"
    return (
        f"<details class='wb-compare'><summary><b>Offline scorer beside Claude</b>: {esc(summary)} "
        f"(offline {offline.score:.0f}/100, Claude {claude.score:.0f}/100)</summary>"
        f"<table class='wb-table'><tr><th>Criterion</th><th>Offline evidence</th><th>Claude's verdict</th><th></th></tr>"
        f"{''.join(rows)}</table></details>"
    )


def claude_status_html(text: str, kind: str = "info") -> str:
    return f"{FORM_CSS}<div class='wb-form'>{notice_html(text, kind)}</div>"


def prompt_html(prompt_text: str) -> str:
    """The request Claude received (the key is never part of it), escaped."""
    return f"{FORM_CSS}<div class='wb-form'><pre class='wb-prompt'>{esc(prompt_text)}</pre></div>"


def followup_html(rounds: list[tuple[str, str]], question: str | None, left: int) -> str:
    """The interviewer's questions so far with the learner's replies, and the open question."""
    done = "".join(
        f"<li><b>Interviewer:</b> {esc(q)}<br><b>You:</b> <span class='wb-quote'>{esc(r)}</span></li>" for q, r in rounds
    )
    open_q = f"<p><b>Interviewer:</b> {esc(question)}</p>" if question else ""
    more = f"<p class='wb-muted'>{left} follow-up{'s' if left != 1 else ''} left for this step.</p>" if not question else ""
    return f"{FORM_CSS}<div class='wb-form'>{'<ol>' + done + '</ol>' if done else ''}{open_q}{more}</div>"


# --- the start notebook's progress panel -----------------------------------------------------------------


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def progress_html(rows: list[dict], skipped: int = 0) -> str:
    """The progress panel: practice and mock attempts side by side, and a bar of the best practice total.

    Each row: {"scenario", "title", "level", "attempts", "best", "last", "last_at",
    "mock_attempts", "mock_best", "mock_time"}.
    """
    if not rows:
        return notice_html("No scenarios found.", "warn")
    body, bars = [], []
    for row in rows:
        best = row.get("best")
        body.append(
            f"<tr><td>{esc(row['title'])}<br><span class='wb-muted'>{esc(row['scenario'])} · {esc(row.get('level', ''))}</span></td>"
            f"<td class='wb-num'>{row['attempts']}</td><td class='wb-num'>{_num(best)}</td><td class='wb-num'>{_num(row.get('last'))}</td>"
            f"<td class='wb-num'>{row.get('mock_attempts', 0)}</td><td class='wb-num'>{_num(row.get('mock_best'))}</td>"
            f"<td>{esc(row.get('mock_time') or '—')}</td><td>{esc(row.get('last_at') or '—')}</td></tr>"
        )
        width = 0.0 if best is None else max(0.0, min(100.0, best))
        label = f"{row['title']}: best {_num(best)} of 100" if best is not None else f"{row['title']}: not attempted"
        bars.append(
            f"<span>{esc(row['title'])}</span>"
            f"<div class='wb-bar {_band(best or 0)}' role='img' aria-label='{esc(label)}'><span style='width:{width:.0f}%'></span></div>"
            f"<span>{_num(best)}</span>"
        )
    attempted = sum(1 for row in rows if row["attempts"] or row.get("mock_attempts"))
    practice = sum(row["attempts"] for row in rows)
    mock = sum(row.get("mock_attempts", 0) for row in rows)
    summary = f"<p>{attempted} of {len(rows)} scenarios attempted · {practice} practice and {mock} mock attempts in all.</p>"
    warn = (
        f"<p class='wb-muted'>{skipped} line(s) of the history file could not be read and were skipped; "
        "the rest is shown.</p>" if skipped else ""
    )
    table = (
        "<table class='wb-table'><thead>"
        "<tr><th></th><th colspan='3'>Practice</th><th colspan='3'>Timed mock</th><th></th></tr>"
        "<tr><th>Scenario</th><th class='wb-num'>Attempts</th><th class='wb-num'>Best</th><th class='wb-num'>Last</th>"
        "<th class='wb-num'>Attempts</th><th class='wb-num'>Best</th><th>Time used (last)</th><th>Last scored</th></tr>"
        f"</thead><tbody>{''.join(body)}</tbody></table>"
    )
    chart = f"<h4>Best practice total per scenario</h4><div class='wb-bars' style='grid-template-columns: 22em 1fr 3em'>{''.join(bars)}</div>"
    return f"{CSS}{FORM_CSS}<div class='wb-form wb-report'>{summary}{warn}{chart}{table}</div>"
