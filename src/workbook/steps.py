"""The seven-step design loop: the one list every other module iterates over."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    id: str
    number: int
    title: str
    question: str  # the one-line question the step answers


STEPS: tuple[Step, ...] = (
    Step("user_intent", 1, "User intent", "Who is the user, what job are they doing, and how will we know it worked?"),
    Step("context_acquisition", 2, "Context acquisition", "What must the model see, who may see it, and what if it is missing or stale?"),
    Step("model_reasoning", 3, "Model reasoning", "Which model does the work, within what budget, and how does it know when it is unsure?"),
    Step("tool_execution", 4, "Tool execution", "Which actions may the system take, with what credentials, and what needs a human yes?"),
    Step("safety_checks", 5, "Safety checks", "Which safeguards, in proportion to the risk, and by what mechanism?"),
    Step("user_response", 6, "User-facing response", "What does the user see when the model is right, unsure, or wrong?"),
    Step("feedback_evaluation", 7, "Feedback and evaluation", "How is quality measured before and after launch, and what gates the rollout?"),
)

STEP_IDS: tuple[str, ...] = tuple(step.id for step in STEPS)
STEPS_BY_ID: dict[str, Step] = {step.id: step for step in STEPS}

