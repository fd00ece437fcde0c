"""The offline grader: the rubric scorer behind the grader seam."""

from __future__ import annotations

from ..answers import Answers
from ..report import Report
from ..scenario import Scenario
from ..scoring import score


class OfflineGrader:
    name = "offline"

    def __init__(self) -> None:  # no options: it needs no key, model or network
        pass

    def grade(self, answers: Answers, scenario: Scenario) -> Report:
        return score(answers, scenario)
