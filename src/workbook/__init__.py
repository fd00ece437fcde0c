"""workbook: practice AI-product system design in Jupyter.

`import workbook` stays light (no anthropic, papermill, nbformat or matplotlib):
the CLI must start fast and the scorer runs on every click.
"""

from __future__ import annotations

from .answers import Answers, AnswersError, load_answers, save_answers
from .report import REPORT_MIME, AntiPatternHit, CriterionResult, Report, StepReport
from .scenario import Scenario, ScenarioError, load_all, load_scenario
from .steps import STEP_IDS, STEPS, Step

__version__ = "0.1.0"


def __getattr__(name: str):
    # The scorer (and its regular expressions) loads on first use, not with the package:
    # the practice notebook shows its form before anything is scored.
    if name == "score":
        from .scoring import score

        return score
    raise AttributeError(f"module 'workbook' has no attribute {name!r}")

__all__ = [
    "Answers",
    "AnswersError",
    "AntiPatternHit",
    "CriterionResult",
    "REPORT_MIME",
    "Report",
    "STEPS",
    "STEP_IDS",
    "Scenario",
    "ScenarioError",
    "Step",
    "StepReport",
    "load_all",
    "load_answers",
    "load_scenario",
    "save_answers",
    "score",
]
