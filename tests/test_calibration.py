"""Calibration: the scorer ranks answer sets the way an interviewer would.

The answer sets in tests/calibration/ were written independently of the
scorer's patterns, from the scenario briefs only, and labelled 0-5.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from workbook import Answers, load_scenario, score

# Two answers that both score under this are both "nothing here": an interviewer
# would not rank a 0-label against a 1-label apart either.
NEAR_ZERO = 2.0
FILES = sorted((Path(__file__).parent / "calibration").glob("*.yaml"))


def _load(path: Path) -> tuple[str, list[tuple[str, int, float]]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    scenario = load_scenario(data["scenario"])
    rows = []
    for item in data["sets"]:
        answers = {step: text or "" for step, text in (item.get("answers") or {}).items()}
        rows.append((item["name"], item["label"], score(Answers(scenario.id, answers), scenario).total))
    return scenario.id, rows


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
    rx, ry = _ranks(xs), _ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    var = (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5
    return cov / var


def test_calibration_set_covers_at_least_four_scenarios():
    assert len(FILES) >= 4
    for path in FILES:
        _, rows = _load(path)
        assert len(rows) >= 6
        assert {label for _, label, _ in rows} >= {0, 1, 3, 5}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_ordering_within_each_scenario(path):
    scenario_id, rows = _load(path)
    for name_a, label_a, score_a in rows:
        for name_b, label_b, score_b in rows:
            near_zero = label_a <= 1 and score_a < NEAR_ZERO and score_b < NEAR_ZERO
            if label_a > label_b and not near_zero:
                assert score_a > score_b, f"{scenario_id}: {name_a} ({label_a}) scored {score_a}, {name_b} ({label_b}) scored {score_b}"


def test_spearman_correlation_with_labels_is_high():
    labels, totals = [], []
    for path in FILES:
        _, rows = _load(path)
        labels += [label for _, label, _ in rows]
        totals += [total for _, _, total in rows]
    assert spearman(labels, totals) >= 0.85


def test_spearman_helper():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
