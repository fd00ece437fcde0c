"""The results model: one report type for both graders, the notebook, the CLI and the gradebook.

A `Report` holds a `StepReport` per step of the loop; each step lists its
`CriterionResult`s and `AntiPatternHit`s. `to_dict()` is the stable JSON shape
(`workbook score --format json`); the notebook shows `_repr_mimebundle_`, which
carries that same dict under REPORT_MIME next to the HTML view.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field

from .steps import STEPS_BY_ID

REPORT_MIME = "application/vnd.workbook.report+json"
STATES = ("met", "partly", "missing")


@dataclass
class CriterionResult:
    id: str
    description: str
    weight: float
    met: bool
    quote: str = ""  # the learner's words that earned it
    probe: str = ""  # what an interviewer would ask when it is missing
    specific: bool = False  # earned by a sentence with numbers or a stated mechanism
    state: str = ""  # "met", "partly" or "missing"; `met` is True exactly when it is "met"
    note: str = ""  # for "partly": what the found words lack

    def __post_init__(self) -> None:
        if self.state not in STATES:
            self.state = "met" if self.met else "missing"
        self.met = self.state == "met"


@dataclass
class AntiPatternHit:
    id: str
    title: str
    step: str
    quote: str
    better: str
    source: str = "global"
    penalty: float = 0.0  # points taken off the step


@dataclass
class StepReport:
    step: str
    score: float
    criteria: list[CriterionResult] = field(default_factory=list)
    anti_patterns: list[AntiPatternHit] = field(default_factory=list)
    feedback: list[str] = field(default_factory=list)
    next_move: str = ""
    words: int = 0

    @property
    def title(self) -> str:
        return STEPS_BY_ID[self.step].title

    @property
    def met(self) -> list[str]:
        return [c.id for c in self.criteria if c.met]

    @property
    def missed(self) -> list[str]:
        """Every criterion not met, including the partly covered ones."""
        return [c.id for c in self.criteria if not c.met]

    @property
    def partly(self) -> list[str]:
        return [c.id for c in self.criteria if c.state == "partly"]

    def to_dict(self) -> dict:
        return {
            "score": self.score,
            "met": self.met,
            "missed": self.missed,
            "partly": self.partly,
            "feedback": list(self.feedback),
            "next_move": self.next_move,
            "words": self.words,
            "criteria": [asdict(c) for c in self.criteria],
        }


@dataclass
class Report:
    scenario: str
    grader: str
    total: float
    steps: dict[str, StepReport]
    flags: list[str] = field(default_factory=list)
    title: str = ""
    learner: str | None = None

    @property
    def anti_patterns(self) -> list[AntiPatternHit]:
        return [hit for step in self.steps.values() for hit in step.anti_patterns]

    def improvements(self, count: int = 3) -> list[str]:
        """The most valuable next moves: anti-patterns first, then the heaviest missing criteria, then partly covered ones."""
        moves: list[tuple[float, str]] = []
        for step in self.steps.values():
            for hit in step.anti_patterns:
                moves.append((100.0, f"{step.title}: replace “{hit.quote}”. {hit.better}"))
            for criterion in step.criteria:
                if not criterion.met:
                    share = 0.5 if criterion.state == "partly" else 1.0
                    moves.append((share * criterion.weight * (100 - step.score) / 10, f"{step.title}: {criterion.probe}"))
        moves.sort(key=lambda move: -move[0])
        return [text for _, text in moves[:count]]

    # --- serialisation ----------------------------------------------------------

    def to_dict(self) -> dict:
        return {
            "scenario": self.scenario,
            "title": self.title,
            "learner": self.learner,
            "grader": self.grader,
            "total": self.total,
            "steps": {step_id: step.to_dict() for step_id, step in self.steps.items()},
            "anti_patterns": [
                {"id": h.id, "step": h.step, "quote": h.quote, "title": h.title, "better": h.better, "source": h.source, "penalty": h.penalty}
                for h in self.anti_patterns
            ],
            "flags": list(self.flags),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict) -> "Report":
        hits: dict[str, list[AntiPatternHit]] = {}
        for h in data.get("anti_patterns", []):
            hits.setdefault(h["step"], []).append(
                AntiPatternHit(h["id"], h.get("title", h["id"]), h["step"], h["quote"], h.get("better", ""), h.get("source", "global"), h.get("penalty", 0.0))
            )
        steps = {
            step_id: StepReport(
                step=step_id,
                score=s["score"],
                criteria=[CriterionResult(**c) for c in s.get("criteria", [])],
                anti_patterns=hits.get(step_id, []),
                feedback=list(s.get("feedback", [])),
                next_move=s.get("next_move", ""),
                words=s.get("words", 0),
            )
            for step_id, s in data["steps"].items()
        }
        return cls(data["scenario"], data["grader"], data["total"], steps, list(data.get("flags", [])), data.get("title", ""), data.get("learner"))

    # --- views ---------------------------------------------------------------------

    def to_text(self) -> str:
        lines = [f"{self.title or self.scenario} — total {self.total:.0f}/100 ({self.grader} grader)", ""]
        lines.append(f"{'step':<26}{'score':>6}  {'met':>5}  {'partly':>6}  missing")
        for step in self.steps.values():
            met = f"{len(step.met)}/{len(step.criteria)}"
            missing = [c.id for c in step.criteria if c.state == "missing"]
            lines.append(f"{step.title:<26}{step.score:>6.0f}  {met:>5}  {len(step.partly):>6}  {', '.join(missing) or '-'}")
        for step in self.steps.values():
            notes = [f"  ! {h.title}: “{h.quote}” — {h.better}" for h in step.anti_patterns]
            if step.next_move:
                notes.append(f"  → {step.next_move}")
            if notes:
                lines += ["", f"{step.title}:", *notes]
        if self.flags:
            lines += ["", "Flags:", *[f"  - {flag}" for flag in self.flags]]
        return "\n".join(lines)

    def to_markdown(self) -> str:
        lines = [f"# {_md(self.title or self.scenario)}: {self.total:.0f}/100", "", f"Grader: {_md(self.grader)}", ""]
        lines += ["| Step | Score | Missing |", "|---|---:|---|"]
        for step in self.steps.values():
            lines.append(f"| {step.title} | {step.score:.0f} | {', '.join(step.missed) or '—'} |")
        lines += ["", "## Top improvements", *[f"1. {_md(move)}" for move in self.improvements()]]
        for step in self.steps.values():
            lines += ["", f"## {step.title} — {step.score:.0f}/100"]
            for c in step.criteria:
                mark = {"met": "✅", "partly": "◐"}.get(c.state, "⬜")
                if c.state == "met":
                    detail = f" — “{_md(c.quote)}”" if c.quote else ""
                elif c.state == "partly":
                    detail = f" — partly: “{_md(c.quote)}”, {_md(c.note)}. {_md(c.probe)}"
                else:
                    detail = f" — {_md(c.probe)}"
                lines.append(f"- {mark} {_md(c.description)}{detail}")
            for h in step.anti_patterns:
                lines.append(f"- ⚠️ {_md(h.title)}: “{_md(h.quote)}”. {_md(h.better)}")
            if step.next_move:
                lines.append(f"\n**Next move:** {_md(step.next_move)}")
        if self.flags:
            lines += ["", "## Flags", *[f"- {_md(flag)}" for flag in self.flags]]
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        from .render import report_html

        return report_html(self)

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/plain": self.to_text(), "text/html": self.to_html(), REPORT_MIME: self.to_dict()}

    @classmethod
    def failed(cls, reason: str, scenario, grader: str) -> "Report":
        """A grading that could not run: every criterion missing, score 0, the reason as a flag."""
        steps = {
            step_id: StepReport(
                step_id, 0.0,
                [CriterionResult(c.id, c.description, c.weight, False, probe=c.probe) for c in spec.criteria],
                feedback=[f"Not graded: {reason}"],
            )
            for step_id, spec in scenario.step_specs().items()
        }
        return cls(scenario.id, grader, 0.0, steps, [f"The {grader} grader could not grade this answer: {reason}"], scenario.title)


def next_move(step: StepReport, answered: bool) -> str:
    """The one thing to do next in a step, from the report's fields alone (the same for every grader)."""
    if not answered:
        return f"Start this step: {STEPS_BY_ID[step.step].question}"
    if step.anti_patterns:
        hit = step.anti_patterns[0]
        return f"Rewrite “{hit.quote}”: {hit.better}"
    order = {"missing": 0, "partly": 1}
    open_criteria = sorted((c for c in step.criteria if not c.met), key=lambda c: (order[c.state], -c.weight))
    if open_criteria:
        return open_criteria[0].probe
    vague = [c for c in step.criteria if not c.specific]
    if vague:
        return f"Make it concrete with a number or an if-then rule: {vague[0].description}"
    return "Strong step. Say out loud what you would cut if the budget were halved."


def _md(text: str) -> str:
    """Learner text inside Markdown: no HTML, no link or emphasis syntax, one line."""
    escaped = html.escape(" ".join(text.split()), quote=False)
    for char in "\\`*_[]|<>#":
        escaped = escaped.replace(char, "\\" + char)
    return escaped
