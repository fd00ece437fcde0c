"""Checking a judge's verdicts and turning them into the workbook's report.

The judge only says, per criterion, met / partly / missing with a quote. The
workbook decides everything else: a verdict naming an unknown criterion or an
unknown state rejects the whole judgement; a quote that does not occur in that
step's text (whitespace-normalised) makes the criterion missing and is flagged;
the step score comes from the rubric weights (partly = half credit), never from
a number the model wrote.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from ..answers import Answers
from ..report import CriterionResult, Report, StepReport
from ..scenario import Scenario, StepSpec
from ..steps import STEP_IDS, STEPS_BY_ID
from .prompt import _CONTROL

STATES = ("met", "partly", "missing")
CREDIT = {"met": 1.0, "partly": 0.5, "missing": 0.0}
REPEAT_MIN_WORDS = 8  # a credited quote this long that also sits in an earlier step earns once
_QUOTE_EDGES = " \t\n\"'“”‘’«»…."


class VerdictError(ValueError):
    """The judge's output breaks the rules (unknown id, bad state, wrong steps)."""


@dataclass
class StepVerdict:
    step: str
    states: dict[str, str]  # criterion id -> met / partly / missing
    quotes: dict[str, str] = field(default_factory=dict)
    rationale: str = ""
    injection: str = ""

    def to_dict(self) -> dict:
        return {"step": self.step, "states": dict(self.states), "quotes": dict(self.quotes), "rationale": self.rationale, "injection": self.injection}

    @classmethod
    def from_dict(cls, data: dict) -> "StepVerdict":
        return cls(data["step"], dict(data["states"]), dict(data.get("quotes", {})), data.get("rationale", ""), data.get("injection", ""))


def normalise(text: str) -> str:
    return " ".join(text.split())


def _clean_quote(quote: str) -> str:
    """The quote as the learner wrote it: entities the judge saw turned back, edge quote marks dropped."""
    return normalise(_CONTROL.sub("", html.unescape(quote))).strip(_QUOTE_EDGES)


def quote_in(quote: str, text: str) -> bool:
    """Does the quote occur verbatim (whitespace-normalised) in the text?"""
    quote = _clean_quote(quote)
    return bool(quote) and quote in normalise(_CONTROL.sub("", text))


def check_judgement(data: dict, scenario: Scenario, step_ids: list[str]) -> dict[str, StepVerdict]:
    """Validate decoded judge output (`{"steps": [...]}`) against the rubric; raise VerdictError."""
    entries = data.get("steps") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise VerdictError("the judgement has no list of steps")
    verdicts: dict[str, StepVerdict] = {}
    for entry in entries:
        step_id = entry.get("step") if isinstance(entry, dict) else None
        if step_id not in step_ids:
            raise VerdictError(f"the judgement graded step {step_id!r}, which was not asked for")
        if step_id in verdicts:
            raise VerdictError(f"the judgement graded step {step_id!r} twice")
        verdicts[step_id] = _check_step(entry, step_id, scenario.step(step_id))
    absent = [s for s in step_ids if s not in verdicts]
    if absent:
        raise VerdictError(f"the judgement left out step {absent[0]!r}")
    return verdicts


def _check_step(entry: dict, step_id: str, spec: StepSpec) -> StepVerdict:
    known = {c.id for c in spec.criteria}
    states: dict[str, str] = {}
    quotes: dict[str, str] = {}
    for item in entry.get("criteria") or []:
        criterion, state = item.get("criterion"), item.get("verdict")
        if criterion not in known:
            raise VerdictError(f"step {step_id}: unknown criterion id {criterion!r}")
        if state not in STATES:
            raise VerdictError(f"step {step_id}: criterion {criterion}: verdict {state!r} is not one of {', '.join(STATES)}")
        if criterion in states:
            raise VerdictError(f"step {step_id}: criterion {criterion} judged twice")
        states[criterion] = state
        quotes[criterion] = str(item.get("quote") or "")
    return StepVerdict(step_id, states, quotes, str(entry.get("rationale") or ""), str(entry.get("injection") or ""))


def step_report(step_id: str, spec: StepSpec, verdict: StepVerdict, text: str, earlier: list[str]) -> tuple[StepReport, list[str]]:
    """Score one step from its verdict; `earlier` holds the earlier steps' normalised texts (repeats)."""
    flags: list[str] = []
    results: list[CriterionResult] = []
    plain = normalise(_CONTROL.sub("", text))
    for criterion in spec.criteria:
        state = verdict.states.get(criterion.id)
        quote = _clean_quote(verdict.quotes.get(criterion.id, ""))
        if state is None:
            state = "missing"
            flags.append(f"unjudged_criterion: {step_id}: {criterion.id}: the judge gave no verdict; counted as missing")
        elif state != "missing" and not (quote and quote in plain):
            flags.append(f"{STEPS_BY_ID[step_id].title}: Claude quoted “{quote[:120]}” for “{criterion.description}”, but those words are not in the answer, so it counts as missing.")
            state, quote = "missing", ""
        elif state != "missing" and len(quote.split()) >= REPEAT_MIN_WORDS and any(quote in t for t in earlier):
            flags.append(f"{STEPS_BY_ID[step_id].title}: “{quote[:120]}” was already written in an earlier step; it earns credit once.")
            state, quote = "missing", ""
        results.append(CriterionResult(
            criterion.id, criterion.description, criterion.weight, state == "met",
            quote=quote if state != "missing" else "", probe=criterion.probe, state=state,
        ))
    if verdict.injection.strip():
        flags.append(f"Ignored text addressed to the grader in {STEPS_BY_ID[step_id].title}: “{_clean_quote(verdict.injection)[:120]}”")
    weights = sum(c.weight for c in results)
    score = 100.0 * sum(c.weight * CREDIT[c.state] for c in results) / weights if weights else 0.0
    report = StepReport(step_id, round(score, 1), results, feedback=[_clean_quote(verdict.rationale)] if verdict.rationale.strip() else [], words=len(text.split()))
    report.next_move = _next_move(results)
    return report, flags


def _next_move(results: list[CriterionResult]) -> str:
    gaps = sorted((c for c in results if c.state != "met"), key=lambda c: (-c.weight * (1 - CREDIT[c.state]), c.state == "partly"))
    return gaps[0].probe if gaps else "Strong step. Say what you would cut if the budget were halved."


def empty_verdict(step_id: str, spec: StepSpec) -> StepVerdict:
    """An empty answer needs no judge: every criterion is missing."""
    return StepVerdict(step_id, {c.id: "missing" for c in spec.criteria}, rationale="No answer yet.")


def build_report(scenario: Scenario, answers: Answers, verdicts: dict[str, StepVerdict], grader: str, flags: list[str] | None = None) -> Report:
    """The whole report from per-step verdicts, totalled with the step weights as the offline scorer does."""
    steps: dict[str, StepReport] = {}
    all_flags = list(flags or [])
    earlier: list[str] = []
    specs = scenario.step_specs()
    for step_id in STEP_IDS:
        if step_id not in specs:
            continue
        text = answers.text(step_id)
        steps[step_id], step_flags = step_report(step_id, specs[step_id], verdicts.get(step_id) or empty_verdict(step_id, specs[step_id]), text, earlier)
        all_flags += step_flags
        earlier.append(normalise(text))
    empty = [s for s in specs if not answers.text(s).strip()]
    if empty:
        all_flags.append(f"empty_steps: {len(empty)} of {len(specs)} steps have no answer ({', '.join(empty)})")
    weights = {step_id: spec.weight for step_id, spec in specs.items()}
    total = sum(weights[s] * steps[s].score for s in steps) / sum(weights.values())
    return Report(scenario.id, grader, round(total, 1), steps, all_flags, scenario.title, answers.learner)
