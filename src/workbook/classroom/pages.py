"""One self-contained feedback page per learner and scenario, and the safe names they are written under.

The page reuses the practice notebook's views (`form_html.report_view_html`:
criteria met / partly / missing with quotes and probes, anti-patterns with the
better alternative, the learner's claims) and adds the learner's answers, the
instructor's overrides and comments, and, only when asked, the reference answers.
No scripts, no external links; every piece of learner text is escaped by `esc`.
"""

from __future__ import annotations

import copy
import hashlib
import re
import unicodedata
from typing import TYPE_CHECKING

from .. import form_html as H
from ..render import esc
from ..steps import STEPS, STEPS_BY_ID

if TYPE_CHECKING:
    from ..answers import Answers
    from ..report import Report
    from ..scenario import Scenario
    from .grading import Row
    from .overrides import Override

_NOT_SAFE = re.compile(r"[^a-z0-9]+")


def safe_stem(learner: str) -> str:
    """A file-name stem for a learner: ASCII letters and digits only, plus a hash of the exact name.

    The hash keeps two names apart that differ only in case or punctuation ("Ada",
    "ada", "a/da"); the letters keep the name readable. No `..`, no separator, never
    empty and never a reserved device name (CON, NUL, ...), since it always ends in the hash.
    """
    ascii_name = unicodedata.normalize("NFKD", learner).encode("ascii", "ignore").decode("ascii").lower()
    readable = _NOT_SAFE.sub("-", ascii_name).strip("-")[:40].strip("-") or "learner"
    digest = hashlib.sha256(learner.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{readable}-{digest}"


def report_name(learner: str, scenario_id: str) -> str:
    """`reports/<this>`: scenario ids are validated slugs, so they are safe in a name as they are."""
    return f"{safe_stem(learner)}--{scenario_id}.html"


def _answers_html(scenario: "Scenario", answers: "Answers", include_reference: bool) -> str:
    parts = []
    specs = scenario.step_specs()
    for step in STEPS:
        text = answers.text(step.id)
        body = H.paragraphs_html(text) if text.strip() else "<p class='wb-muted'>(no answer)</p>"
        reference = ""
        if include_reference and step.id in specs:
            reference = f"<details><summary>Reference answer</summary>{H.paragraphs_html(specs[step.id].reference_answer, soft_wrap=True)}</details>"
        parts.append(f"<section><h3>{step.number}. {esc(step.title)}</h3><div class='wb-answer-text'>{body}</div>{reference}</section>")
    return "".join(parts)


def _instructor_html(rows: list["Override"], original: dict[str, float]) -> str:
    if not rows:
        return ""
    items = []
    for row in rows:
        where = esc(STEPS_BY_ID[row.step].title) if row.step else "Whole design"
        score = ""
        if row.score is not None:
            score = f" score set to <b>{row.score:.0f}</b> by the instructor (grader: {original.get(row.step, 0):.0f})."
        comment = f"<br>{H.paragraphs_html(row.comment)}" if row.comment else ""
        items.append(f"<li class='wb-override' data-set-by='instructor'><b>{where}</b>:{score}{comment}</li>")
    return f"<h2>From your instructor</h2><ul>{''.join(items)}</ul>"


def overridden(report: "Report", row: "Row") -> "Report":
    """A copy of the report showing the scores in force (the instructor's where set)."""
    shown = copy.copy(report)
    shown.steps = {step: copy.copy(part) for step, part in report.steps.items()}
    for step, part in shown.steps.items():
        part.score = row.steps.get(step, part.score)
    shown.total = row.total
    return shown


def feedback_page(
    scenario: "Scenario", answers: "Answers", report: "Report", row: "Row", overrides: list["Override"], *, include_reference: bool = False
) -> str:
    claims: dict[str, dict] = {}
    for claim in answers.claims:
        claims.setdefault(claim.step, {})[claim.criterion] = claim
    original = {step: part.score for step, part in report.steps.items()}
    shown = overridden(report, row) if overrides else report
    title = f"{scenario.title}: feedback for {row.learner}"
    marked = " · includes instructor overrides" if row.overrides else ""
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{esc(title)}</title><meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<style>body { max-width: 60em; margin: 1em auto; padding: 0 1em; font-family: system-ui, sans-serif; line-height: 1.5; }"
        " .wb-answer-text { border-left: 3px solid #1976d2; padding-left: 0.8em; }"
        " .wb-override { border-left: 3px solid #6a1b9a; padding-left: 0.5em; margin: 0.3em 0; list-style: none; }</style>"
        "</head><body>"
        f"<h1>{esc(title)}</h1>"
        f"<p class='wb-muted'>Scenario {esc(scenario.id)} · {esc(report.grader)} grader · graded {esc(row.graded_at)}{marked}</p>"
        f"{_instructor_html(overrides, original)}"
        f"<h2>The report</h2>{H.report_view_html(shown, claims).replace('<details><summary>', '<details open><summary>')}"
        f"<h2>Your answers</h2>{_answers_html(scenario, answers, include_reference)}"
        "</body></html>\n"
    )
