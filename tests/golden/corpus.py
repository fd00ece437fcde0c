"""The golden-report corpus: every scenario's reference answers, every calibration
set, and a seeded sample of the benchmark's varied answer sets.

`python tests/golden/corpus.py --write` records the exact reports; the golden test
compares against them, so a refactor that changes any verdict shows up as a diff.
Regenerate only for an intended change of behaviour, and say so in the commit.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from workbook import Answers, load_all, score
from workbook.calibration import load_sets, scenario_for
from workbook.scenario import Scenario
from workbook.steps import STEP_IDS

HERE = Path(__file__).parent
GOLDEN = HERE / "reports.jsonl"
CALIBRATION_DIRS = [HERE.parents[1] / "calibration"]
SAMPLE = 40
SEED = 11


def _calibration_sets() -> list[tuple[str, Answers, Scenario]]:
    """Every labelled set, with the scenario it answers (shipped, or from a scenarios/ folder beside it)."""
    found = []
    for folder in CALIBRATION_DIRS:
        for item in load_sets(folder) if folder.is_dir() else []:
            path = Path(item.source)
            found.append((f"calibration/{path.parent.name}/{path.stem}/{item.name}", item.answers, scenario_for(item)))
    return found


def _sampled_sets(scenarios) -> list[tuple[str, Answers]]:
    rng = random.Random(SEED)
    pools = {s.id: [spec.reference_answer for spec in s.step_specs().values()] + ["use AI", "", "canary, rollback, evals"] for s in scenarios.values()}
    found = []
    for n in range(SAMPLE):
        scenario_id = rng.choice(sorted(pools))
        answers = {}
        for step in STEP_IDS:
            words = " ".join(rng.sample(pools[scenario_id], k=2)).split()
            rng.shuffle(words)
            answers[step] = " ".join(words[: rng.randint(0, len(words))])
        found.append((f"sample/{n}", Answers(scenario_id, answers)))
    return found


def corpus() -> list[tuple[str, Answers, Scenario]]:
    scenarios, _ = load_all()
    references = [
        (f"reference/{s.id}", Answers(s.id, {step: spec.reference_answer for step, spec in s.step_specs().items()}), s)
        for s in scenarios.values()
    ]
    sampled = [(name, answers, scenarios[answers.scenario]) for name, answers in _sampled_sets(scenarios)]
    return references + _calibration_sets() + sampled


def reports() -> dict[str, dict]:
    return {name: score(answers, scenario).to_dict() for name, answers, scenario in corpus()}


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/golden/corpus.py --write")
    lines = [json.dumps({name: report}, ensure_ascii=False, sort_keys=True) for name, report in sorted(reports().items())]
    GOLDEN.write_text("\n".join(lines) + "\n", encoding="utf-8")  # one report a line: diffs name the report
    print(f"wrote {GOLDEN}")
