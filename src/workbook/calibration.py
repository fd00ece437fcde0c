"""Calibration: does a grader rank answer sets the way a careful interviewer would?

A calibration set is a folder of YAML files, one per scenario, each holding
answer sets labelled 0-5 by people who never saw the grader's patterns:

    scenario: support-refund-agent
    sets:
      - name: strong
        kind: strong          # optional: what the writer set out to write
        label: 5
        answers: {user_intent: "...", ...}

A folder may hold a `scenarios/` subfolder with the scenario files its sets
answer (an instructor's own scenarios); those are used for the sets beside it.

`calibrate()` grades every set and compares: Spearman's rank correlation,
quadratic-weighted kappa (scores binned to 0-5 as round(total / 20)), the
label orderings the grader gets wrong within a scenario, and the largest
disagreements. Totals are compared in whole points, as every view shows them
to the learner: 0.3 and 0 are both "0/100". The labels are the reference; they
are fixed before a grader ever sees the set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

from .answers import Answers
from .report import Report
from .scenario import SCENARIO_SUFFIXES, InvalidScenarioIdError, Scenario, is_scenario_id, load_scenario

LABELS = range(6)
SCENARIOS_FOLDER = "scenarios"  # beside a set's files: the scenarios it answers, when they are not shipped ones
NEAR_ZERO = 2.0  # two answers that both score below this are both "nothing here"


class CalibrationError(ValueError):
    """A calibration file is unreadable or wrong-shaped; the message names the file and field."""


@dataclass
class Labelled:
    scenario: str
    name: str
    label: int
    answers: Answers
    kind: str = ""
    source: str = ""  # file it came from


@dataclass
class Graded:
    item: Labelled
    total: float

    @property
    def shown(self) -> int:
        """The total as the learner sees it."""
        return round(self.total)

    @property
    def predicted(self) -> int:
        return max(0, min(5, round(self.total / 20)))


@dataclass
class CalibrationResult:
    graded: list[Graded]
    spearman: float
    kappa: float
    per_scenario: dict[str, float] = field(default_factory=dict)
    misorderings: list[tuple[Graded, Graded]] = field(default_factory=list)
    per_set: dict[str, float] = field(default_factory=dict)  # folder -> Spearman, when the sets come from several

    def worst(self, count: int = 5) -> list[Graded]:
        """The sets whose binned score is furthest from their label."""
        return sorted(self.graded, key=lambda g: (-abs(g.predicted - g.item.label), -abs(g.total - 20 * g.item.label)))[:count]

    def to_text(self) -> str:
        lines = [
            f"answer sets: {len(self.graded)} over {len(self.per_scenario)} scenario(s)",
            f"Spearman (labels vs totals): {self.spearman:.3f}",
            f"quadratic-weighted kappa (totals binned to 0-5): {self.kappa:.3f}",
            "per scenario Spearman: " + ", ".join(f"{s} {r:.2f}" for s, r in sorted(self.per_scenario.items())),
            *(["per set Spearman: " + ", ".join(f"{s} {r:.2f}" for s, r in sorted(self.per_set.items()))] if self.per_set else []),
            f"orderings that fail (higher label, not higher score): {len(self.misorderings)}",
        ]
        for high, low in self.misorderings[:10]:
            lines.append(
                f"  {high.item.scenario}: {high.item.name} (label {high.item.label}) scored {high.total:.1f}"
                f" <= {low.item.name} (label {low.item.label}) {low.total:.1f}"
            )
        lines.append("largest disagreements:")
        for g in self.worst():
            lines.append(f"  {g.item.scenario}/{g.item.name}: label {g.item.label}, score {g.total:.1f} (bin {g.predicted})")
        return "\n".join(lines)


def shipped_calibration_dir() -> Path:
    packaged = Path(__file__).parent / "calibration"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "calibration"


def load_sets(folder: str | os.PathLike | None = None) -> list[Labelled]:
    """Every labelled answer set in the YAML files under `folder` (recursively), in file order."""
    root = Path(folder) if folder else shipped_calibration_dir()
    if not root.is_dir():
        raise CalibrationError(f"{root}: no such calibration folder")
    items: list[Labelled] = []
    for path in sorted(root.rglob("*.yaml")):
        if SCENARIOS_FOLDER not in path.relative_to(root).parts[:-1]:
            items += _load_file(path)
    if not items:
        raise CalibrationError(f"{root}: no labelled answer sets found (*.yaml with a 'sets' list)")
    return items


def _load_file(path: Path) -> list[Labelled]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise CalibrationError(f"{path}: cannot read: {str(error).splitlines()[0]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("sets"), list) or not isinstance(data.get("scenario"), str):
        raise CalibrationError(f"{path}: expected 'scenario' and a list of 'sets'")
    items = []
    for number, item in enumerate(data["sets"]):
        where = f"{path}: sets.{number}"
        if not isinstance(item, dict) or item.get("label") not in LABELS:
            raise CalibrationError(f"{where}.label: must be an integer from 0 to 5")
        raw = item.get("answers") or {}
        if not isinstance(raw, dict):
            raise CalibrationError(f"{where}.answers: must map step ids to text")
        answers = Answers(data["scenario"], {str(k): str(v or "") for k, v in raw.items()})
        items.append(Labelled(data["scenario"], str(item.get("name", number)), item["label"], answers, str(item.get("kind", "")), str(path)))
    return items


GradeFunction = Callable[[Answers, Scenario], Report]


def scenario_for(item: Labelled, exercises: str | os.PathLike | None = None) -> Scenario:
    """The scenario a labelled set answers: from a `scenarios/` folder beside its file when that folder has
    it (a calibration set for an instructor's own scenario), else from `exercises` or the shipped ones."""
    if not is_scenario_id(item.scenario):
        raise InvalidScenarioIdError(item.scenario)  # checked before the id becomes part of any path
    own = Path(item.source).parent / SCENARIOS_FOLDER
    if own.is_dir() and any((own / f"{item.scenario}{suffix}").is_file() for suffix in SCENARIO_SUFFIXES):
        return load_scenario(item.scenario, own)
    return load_scenario(item.scenario, exercises)


def calibrate(items: list[Labelled], grade: GradeFunction, exercises: str | os.PathLike | None = None) -> CalibrationResult:
    scenarios: dict[tuple[str, str], Scenario] = {}
    graded = []
    for item in items:
        key = (str(Path(item.source).parent), item.scenario)
        if key not in scenarios:
            scenarios[key] = scenario_for(item, exercises)
        graded.append(Graded(item, grade(item.answers, scenarios[key]).total))
    by_scenario: dict[str, list[Graded]] = {}
    by_set: dict[str, list[Graded]] = {}
    for g in graded:
        by_scenario.setdefault(g.item.scenario, []).append(g)
        by_set.setdefault(Path(g.item.source).parent.name, []).append(g)
    # Orderings are compared within one folder's scenario: one writer's labels, one scale.
    groups: dict[tuple[str, str], list[Graded]] = {}
    for g in graded:
        groups.setdefault((Path(g.item.source).parent.name, g.item.scenario), []).append(g)
    return CalibrationResult(
        graded=graded,
        spearman=spearman([g.item.label for g in graded], [g.shown for g in graded]),
        kappa=quadratic_kappa([g.item.label for g in graded], [g.predicted for g in graded]),
        per_scenario={s: spearman([g.item.label for g in gs], [g.shown for g in gs]) for s, gs in by_scenario.items()},
        misorderings=[pair for gs in groups.values() for pair in _misorderings(gs)],
        per_set={name: spearman([g.item.label for g in gs], [g.shown for g in gs]) for name, gs in by_set.items()} if len(by_set) > 1 else {},
    )


def _misorderings(graded: list[Graded]) -> list[tuple[Graded, Graded]]:
    wrong = []
    for high in graded:
        for low in graded:
            both_nothing = high.item.label <= 1 and high.total < NEAR_ZERO and low.total < NEAR_ZERO
            if high.item.label > low.item.label and high.total <= low.total and not both_nothing:
                wrong.append((high, low))
    return wrong


def _ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(xs: list[float], ys: list[float]) -> float:
    """Spearman's rank correlation with average ranks for ties (0.0 when either side is constant)."""
    rx, ry = _ranks(xs), _ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    var = (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5
    return cov / var if var else 0.0


def quadratic_kappa(labels: list[int], predicted: list[int], categories: int = 6) -> float:
    """Cohen's kappa with quadratic weights: 1 is perfect agreement, 0 is chance."""
    n = len(labels)
    observed = [[0.0] * categories for _ in range(categories)]
    for a, b in zip(labels, predicted):
        observed[a][b] += 1
    rows = [sum(row) for row in observed]
    cols = [sum(observed[i][j] for i in range(categories)) for j in range(categories)]
    disagreement = expected = 0.0
    for i in range(categories):
        for j in range(categories):
            weight = (i - j) ** 2 / (categories - 1) ** 2
            disagreement += weight * observed[i][j]
            expected += weight * rows[i] * cols[j] / n
    return 1.0 - disagreement / expected if expected else 1.0
