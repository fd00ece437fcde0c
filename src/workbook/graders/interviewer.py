"""The mock interviewer's follow-up: one question aimed at the biggest gap of a checked step.

Claude writes it from the rubric and the answer when a Claude grader is given;
otherwise (or when Claude fails) it is the rubric's probe for the heaviest
criterion the step misses. Partly-met criteria count as half a gap.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..answers import Answers
from ..report import CriterionResult, StepReport
from ..scenario import Scenario
from ..scoring import score

NO_GAP_QUESTION = "Nothing is missing here: what would you cut first if the budget were halved, and why?"
MAX_ROUNDS = 3


@dataclass
class FollowUp:
    question: str
    source: str  # "claude" or "offline"
    criterion: str = ""  # the gap it aims at
    error: str = ""  # why Claude's question was not used


def gaps(step: StepReport) -> list[CriterionResult]:
    """The step's unmet criteria, biggest gap first (weight × missing share, rubric order on ties)."""
    open_ = [c for c in step.criteria if c.state != "met"]
    return sorted(open_, key=lambda c: -c.weight * (0.5 if c.state == "partly" else 1.0))


def follow_up(step_id: str, answers: Answers, scenario: Scenario, step: StepReport | None = None, grader=None) -> FollowUp:
    """One follow-up question; `grader` is a ClaudeGrader or None for the offline probe."""
    step = step or score(answers, scenario).steps[step_id]
    ranked = gaps(step)
    if not ranked:
        return FollowUp(NO_GAP_QUESTION, "offline")
    offline = FollowUp(ranked[0].probe, "offline", ranked[0].id)
    if grader is None or not answers.text(step_id).strip():
        return offline
    from .claude import GradingError

    try:
        question = grader.ask_follow_up(step_id, answers.text(step_id), scenario, [c.id for c in ranked])
    except GradingError as error:
        offline.error = str(error)
        return offline
    return FollowUp(question, "claude", ranked[0].id)
