"""Calibration: the offline scorer ranks answer sets the way an interviewer would.

Two labelled sets live in calibration/ (shipped with the package, so
`workbook calibrate` can run them):

- original/: five scenarios, eight sets each, written from the briefs alone;
- blind/: all eight scenarios, twelve kinds each, written by two writers who saw
  only `workbook show` and the domain notes. Their labels were committed before
  the scorer was run on them and are never changed to fit it;
- blind2/: all eight scenarios, twelve writing styles each (bullets, stories,
  second-language English, hedging, questions, templates ...), by four more
  writers, committed before the scorer was run on it (see blind2/WRITING.md);
- blind3/: all eight scenarios, ten more shapes (questions answered, key: value,
  typos, confident but wrong, misplaced steps, padding), by four more writers,
  written after the blind2 fixes as a fresh out-of-sample check;
- blind4/: two scenarios the scorer never saw, by instructor-helpers, answered blind;
- blind5/: the twelve kinds of blind/ on four scenarios, by four more writers, as a
  fresh check of the topicality mechanisms (see each folder's WRITING.md).
"""

from __future__ import annotations

from functools import lru_cache

import pytest

from workbook import Answers, load_all, score
from workbook.calibration import calibrate, load_sets, shipped_calibration_dir, spearman, quadratic_kappa

BLIND = shipped_calibration_dir() / "blind"
BLIND2 = shipped_calibration_dir() / "blind2"
BLIND3 = shipped_calibration_dir() / "blind3"
BLIND4 = shipped_calibration_dir() / "blind4"  # two instructor-written scenarios that are not shipped, in blind4/scenarios/
BLIND5 = shipped_calibration_dir() / "blind5"  # the twelve kinds again, four scenarios, after the topicality mechanisms
ORIGINAL = shipped_calibration_dir() / "original"
SCENARIOS = sorted(load_all()[0])
ABOVE_MIDDLING = ("strong", "strong_plain", "terse_expert")
BELOW_MIDDLING = ("long_vague", "buzzwords", "negated", "parroting", "weak_antipatterns", "weak_grader_text")


@lru_cache(maxsize=None)
def _result(folder):
    return calibrate(load_sets(folder), score)


def _totals(scenario_id: str) -> dict[str, float]:
    return {g.item.kind: g.total for g in _result(BLIND).graded if g.item.scenario == scenario_id}


def test_blind_set_covers_every_scenario_with_twelve_kinds():
    kinds = {}
    for g in _result(BLIND).graded:
        kinds.setdefault(g.item.scenario, set()).add(g.item.kind)
    assert sorted(kinds) == SCENARIOS
    assert all(len(found) == 12 for found in kinds.values())


# The issue's targets on blind/: 0.90 overall and 0.85 within each scenario (reached: 0.925, 0.85-0.97).
BLIND_OVERALL_FLOOR = 0.90
BLIND_SCENARIO_FLOOR = 0.85


def test_blind_set_spearman_overall():
    assert _result(BLIND).spearman >= BLIND_OVERALL_FLOOR, _result(BLIND).to_text()


@pytest.mark.parametrize("scenario_id", SCENARIOS)
def test_blind_set_spearman_within_each_scenario(scenario_id):
    assert _result(BLIND).per_scenario[scenario_id] >= BLIND_SCENARIO_FLOOR, _totals(scenario_id)


def test_blind2_set_covers_every_scenario_and_keeps_its_floor():
    result = _result(BLIND2)
    assert sorted(result.per_scenario) == SCENARIOS
    assert result.spearman >= BLIND_OVERALL_FLOOR, result.to_text()
    assert min(result.per_scenario.values()) >= BLIND_SCENARIO_FLOOR, result.per_scenario


# blind3 was scored once as it came (0.862 overall, 0.78-0.94 per scenario); its floors sit a little below.
# Its weakest scenario is coding-agent-repo (0.76): a sibling product that names one tool scores 31.
BLIND3_OVERALL_FLOOR = 0.86
BLIND3_SCENARIO_FLOOR = 0.75
# blind4 was scored first at 0.75 (0.72 and 0.77 per scenario) and is the weakest set: new scenarios are
# harder. Reached since: 0.86 (0.85 and 0.88).
BLIND4_OVERALL_FLOOR = 0.83
BLIND4_SCENARIO_FLOOR = 0.82


def test_blind3_set_keeps_its_floor_and_puts_strong_shapes_above_middling():
    result = _result(BLIND3)
    assert sorted(result.per_scenario) == SCENARIOS
    assert result.spearman >= BLIND3_OVERALL_FLOOR, result.to_text()
    assert min(result.per_scenario.values()) >= BLIND3_SCENARIO_FLOOR, result.per_scenario
    by_kind = {(g.item.scenario, g.item.kind): g.total for g in result.graded}
    for scenario_id in SCENARIOS:
        for kind in ("strong_qna", "strong_keyvalue", "strong_typos", "padded_strong"):
            assert by_kind[(scenario_id, kind)] > by_kind[(scenario_id, "middling_plain")], (scenario_id, kind)


def test_blind4_on_scenarios_the_scorer_never_saw_keeps_its_floor_and_its_gross_orderings():
    """Written after the scorer: new scenarios by instructors, answers by writers who saw only `workbook show`."""
    result = _result(BLIND4)
    assert sorted(result.per_scenario) == ["corporate-travel-booking", "home-insurance-claims-intake"]
    assert result.spearman >= BLIND4_OVERALL_FLOOR, result.to_text()
    assert min(result.per_scenario.values()) >= BLIND4_SCENARIO_FLOOR, result.per_scenario
    by_kind = {(g.item.scenario, g.item.kind): g.total for g in result.graded}
    for scenario_id in result.per_scenario:
        middling = max(by_kind[(scenario_id, "middling")], by_kind[(scenario_id, "middling_plain")])
        for kind in ("strong", "strong_plain", "strong_qna", "padded_strong", "strong_typos"):
            assert by_kind[(scenario_id, kind)] > middling, (scenario_id, kind)
        assert by_kind[(scenario_id, "off_topic")] <= 15 and by_kind[(scenario_id, "empty")] <= 5, scenario_id


# blind5 was scored first at 0.851 (0.79-0.96 per scenario) with the scorer as committed when its labels landed.
BLIND5_OVERALL_FLOOR = 0.85
BLIND5_SCENARIO_FLOOR = 0.78


def _kept_floor(folder, overall: float, per_scenario: float) -> dict[tuple[str, str], float]:
    """Assert a labelled folder's floors; return its totals by (scenario, kind)."""
    result = _result(folder)
    assert result.spearman >= overall, result.to_text()
    assert min(result.per_scenario.values()) >= per_scenario, result.per_scenario
    return {(g.item.scenario, g.item.kind): g.total for g in result.graded}


def test_blind5_keeps_its_floor_and_the_orderings_the_issue_asks_for():
    by_kind = _kept_floor(BLIND5, BLIND5_OVERALL_FLOOR, BLIND5_SCENARIO_FLOOR)
    for scenario_id in {scenario for scenario, _ in by_kind}:
        for kind in ABOVE_MIDDLING:
            assert by_kind[(scenario_id, kind)] > by_kind[(scenario_id, "middling")], (scenario_id, kind)
        for kind in BELOW_MIDDLING:
            assert by_kind[(scenario_id, "middling")] > by_kind[(scenario_id, kind)], (scenario_id, kind)
        assert by_kind[(scenario_id, "off_topic")] <= 15 and by_kind[(scenario_id, "empty")] <= 5, scenario_id


# blind6 was scored first at 0.913 (0.85-0.96 per scenario) with the scorer as committed when its labels landed.
BLIND6 = shipped_calibration_dir() / "blind6"
BLIND6_OVERALL_FLOOR = 0.89
BLIND6_SCENARIO_FLOOR = 0.83


def test_blind6_keeps_its_floor_and_its_gross_orderings():
    by_kind = _kept_floor(BLIND6, BLIND6_OVERALL_FLOOR, BLIND6_SCENARIO_FLOOR)
    for (scenario_id, kind), total in by_kind.items():
        if kind in ("off_topic", "sibling_product", "empty"):
            assert total <= 5, (scenario_id, kind, total)
        middling = by_kind.get((scenario_id, "middling"), by_kind.get((scenario_id, "middling_plain")))
        if kind.startswith("strong"):
            assert total > middling, (scenario_id, kind)


def test_blind2_questions_and_promises_of_care_score_below_minimal_correct_answers():
    """Asking the step's questions back, or promising care without a mechanism, is worth less than one right
    decision a step."""
    by_kind: dict[tuple[str, str], float] = {(g.item.scenario, g.item.kind): g.total for g in _result(BLIND2).graded}
    for scenario_id in SCENARIOS:
        minimal = by_kind[(scenario_id, "minimal_correct")]
        for kind in ("questions_only", "scenario_words_no_mechanism", "generic_template"):
            assert by_kind[(scenario_id, kind)] < minimal, (scenario_id, kind, by_kind[(scenario_id, kind)], minimal)


@pytest.mark.parametrize("scenario_id", SCENARIOS)
def test_strong_plain_and_terse_answers_beat_middling(scenario_id):
    totals = _totals(scenario_id)
    for kind in ABOVE_MIDDLING:
        assert totals[kind] > totals["middling"], (kind, totals)


@pytest.mark.parametrize("scenario_id", SCENARIOS)
def test_middling_beats_vague_buzzwords_negated_parroting_and_weak(scenario_id):
    totals = _totals(scenario_id)
    for kind in BELOW_MIDDLING:
        assert totals["middling"] > totals[kind], (kind, totals)


@pytest.mark.parametrize("scenario_id", SCENARIOS)
def test_off_topic_and_empty_answers_score_near_zero(scenario_id):
    totals = _totals(scenario_id)
    assert totals["off_topic"] <= 15 and totals["empty"] <= 5, totals


def test_every_reference_answer_scores_at_least_80():
    scenarios, _ = load_all()
    for scenario in scenarios.values():
        answers = Answers(scenario.id, {s: spec.reference_answer for s, spec in scenario.step_specs().items()})
        assert score(answers, scenario).total >= 80, scenario.id


def test_original_set_keeps_its_order_within_each_scenario():
    assert not _result(ORIGINAL).misorderings, _result(ORIGINAL).to_text()


def test_original_set_spearman():
    assert _result(ORIGINAL).spearman >= 0.85, _result(ORIGINAL).to_text()


def test_statistics_helpers():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert quadratic_kappa([0, 1, 2, 5], [0, 1, 2, 5]) == pytest.approx(1.0)
    assert quadratic_kappa([0, 5, 0, 5], [5, 0, 5, 0]) < 0


def test_the_whole_shipped_calibration_reports_each_set_and_orders_within_one_writers_scale():
    result = calibrate(load_sets(), score)
    assert set(result.per_set) == {"original", "blind", "blind2", "blind3", "blind4", "blind5", "blind6"}
    assert result.per_set["blind3"] == pytest.approx(_result(BLIND3).spearman)
    for high, low in result.misorderings:
        assert high.item.source.rsplit("/", 2)[-2] == low.item.source.rsplit("/", 2)[-2]
    assert "per set Spearman: blind " in result.to_text()
