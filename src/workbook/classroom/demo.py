"""A synthetic class, for trying `workbook grade` and the dashboard, and for the benchmark.

`make_class(folder, count)` writes `count` submissions across the scenarios, half
answers files and half saved practice notebooks (carrying their answers as the
form does, see `workbook.carry`). Answers are built from the scenario's reference
answers, cut short, left out or spiced with a weak sentence, so scores spread.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from ..carry import ANSWERS_MIME
from ..scenario import load_all
from ..steps import STEP_IDS

WEAK = [
    "We will use the biggest model available so quality is never a problem.",
    "We launch to everyone and iterate later based on how people use it.",
    "We will make sure it is safe.",
    "Feed the model everything we have so it never lacks context.",
]


def answers_for(scenario, rng: random.Random, learner: str) -> dict:
    specs = scenario.step_specs()
    answers = {}
    for step in STEP_IDS:
        if step not in specs or rng.random() < 0.12:
            continue
        sentences = [s.strip() for s in " ".join(specs[step].reference_answer.split()).split(". ") if s.strip()]
        keep = sentences[: max(1, int(len(sentences) * rng.uniform(0.2, 1.0)))]
        text = ". ".join(keep)
        if rng.random() < 0.25:
            text += " " + rng.choice(WEAK)
        answers[step] = text
    return {"scenario": scenario.id, "learner": learner, "answers": answers}


def notebook_json(payload: dict, *, code: str = "from workbook.form import practice\nform = practice(scenario_id)") -> str:
    """A saved practice notebook as JupyterLab writes it: the form cell's outputs include the carried answers."""
    output = {"output_type": "display_data", "metadata": {}, "data": {ANSWERS_MIME: payload, "text/plain": ["Your answers are kept in this notebook too."]}}
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Design loop practice"]},
        {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "execution_count": 1, "outputs": [],
         "source": [f"scenario_id = {json.dumps(payload['scenario'])}\n", "answers_path = None"]},
        {"cell_type": "code", "metadata": {}, "execution_count": 2, "outputs": [output], "source": code.splitlines(keepends=True)},
    ]
    notebook = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3 (workbook)", "language": "python"}},
                "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def make_class(folder: str | Path, count: int, *, seed: int = 12, exercises: str | None = None) -> list[Path]:
    """Write `count` submissions under `folder` (one sub-folder per learner); return their paths."""
    rng = random.Random(seed)
    scenarios = [s for _, s in sorted(load_all(exercises)[0].items())]
    folder = Path(folder)
    paths = []
    for index in range(count):
        scenario = scenarios[index % len(scenarios)]
        learner = f"learner-{index:05d}"
        payload = answers_for(scenario, rng, learner) | {"saved_at": "2026-01-15T10:00:00+0000"}
        home = folder / learner
        home.mkdir(parents=True, exist_ok=True)
        if index % 2:
            path = home / f"{scenario.id}.ipynb"
            path.write_text(notebook_json(payload), encoding="utf-8")
        else:
            path = home / f"{scenario.id}.answers.json"
            path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        paths.append(path)
    return paths
