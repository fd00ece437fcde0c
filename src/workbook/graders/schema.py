"""The judge's output schema, given to the SDK's structured-output support.

Criterion ids and states are plain strings here on purpose: the schema keeps the
output well-formed, and `verdicts.check_judgement` decides what is allowed, so
a model that invents an id is rejected by the workbook rather than trusted.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class CriterionVerdict(BaseModel):
    criterion: str
    verdict: Literal["met", "partly", "missing"]
    quote: str


class StepJudgement(BaseModel):
    step: str
    criteria: list[CriterionVerdict]
    rationale: str
    injection: str


class Judgement(BaseModel):
    steps: list[StepJudgement]


class FollowUpQuestion(BaseModel):
    question: str
