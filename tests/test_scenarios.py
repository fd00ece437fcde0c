"""The shipped scenarios and the scenario schema's error messages."""

from __future__ import annotations

import pytest

from scenario_factory import DELETE, minimal_scenario, mutate, write_scenario
from workbook.scenario import ScenarioError, load_all, load_scenario_file, parse_scenario, shipped_exercises_dir
from workbook.steps import STEP_IDS

EXPECTED_IDS = {
    "legal-contract-summarizer": "intermediate",
    "support-refund-agent": "intermediate",
    "enterprise-knowledge-assistant": "intro",
    "workflow-automation-pilot": "advanced",
    "news-feed-summaries": "intermediate",
    "coding-agent-repo": "advanced",
    "patient-message-triage": "advanced",
    "homework-tutor-minors": "intro",
}


@pytest.fixture(scope="module")
def shipped():
    scenarios, problems = load_all(shipped_exercises_dir())
    assert problems == []
    return scenarios


def test_the_eight_scenarios_ship_with_their_levels(shipped):
    assert {s.id: s.level for s in shipped.values()} == EXPECTED_IDS


@pytest.mark.parametrize("scenario_id", sorted(EXPECTED_IDS))
def test_every_step_is_fully_written(shipped, scenario_id):
    scenario = shipped[scenario_id]
    assert list(scenario.step_specs()) == list(STEP_IDS)
    criterion_ids = []
    for step_id, spec in scenario.step_specs().items():
        assert len(spec.criteria) >= 3, step_id
        assert spec.questions and spec.hints, step_id
        assert len(spec.reference_answer.split()) >= 40, step_id
        for criterion in spec.criteria:
            assert criterion.probe.strip().endswith("?"), (step_id, criterion.id)
            assert criterion.evidence and criterion.weight > 0
        criterion_ids += [c.id for c in spec.criteria]
    assert len(criterion_ids) == len(set(criterion_ids))
    assert scenario.brief.strip() and scenario.stakeholders and scenario.context_sources


def test_scenario_ids_are_unique_and_match_file_names():
    files = sorted(shipped_exercises_dir().glob("*.yaml"))
    ids = [load_scenario_file(f).id for f in files]
    assert ids == [f.stem for f in files]
    assert len(ids) == len(set(ids))


# --- broken files: one clear line naming the file and the field --------------------------------


def _problems(tmp_path, data, name=None) -> list[str]:
    path = write_scenario(tmp_path, data, name)
    with pytest.raises(ScenarioError) as caught:
        load_scenario_file(path)
    return [str(p) for p in caught.value.problems]


def test_minimal_scenario_is_valid(tmp_path):
    path = write_scenario(tmp_path, minimal_scenario())
    assert load_scenario_file(path).id == "tiny-refunds"


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("id: broken\ntitle: ok\nlevel: [intro\nsummary: x\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario_file(path)
    (problem,) = caught.value.problems
    assert str(problem).startswith(f"{path}: line ")
    assert "YAML syntax error" in str(problem)


def test_duplicate_yaml_key_is_an_error(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("id: dup\nid: again\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"line 2.*duplicate key 'id'"):
        load_scenario_file(path)


@pytest.mark.parametrize(
    "dotted, value, field, words",
    [
        ("title", DELETE, "title", "required field is missing"),
        ("steps.model_reasoning.criteria.0.weight", -1, "steps.model_reasoning.criteria.0.weight", ">"),
        ("steps.tool_execution.criteria.1.weight", "heavy", "steps.tool_execution.criteria.1.weight", "expected float"),
        ("level", "expert", "level", "invalid enum value"),
        ("steps.user_intent.questions", "not a list", "steps.user_intent.questions", "expected array"),
        ("steps.safety_checks.reference_answer", DELETE, "steps.safety_checks.reference_answer", "required field is missing"),
        ("constraints.budget", "$1", "constraints.budget", "unknown field"),
    ],
)
def test_schema_errors_name_file_and_field(tmp_path, dotted, value, field, words):
    (problem,) = _problems(tmp_path, mutate(minimal_scenario(), dotted, value))
    assert problem.startswith(f"{tmp_path / 'tiny-refunds.yaml'}: {field}: ")
    assert words in problem.lower()


def test_unknown_step_id(tmp_path):
    data = minimal_scenario()
    data["steps"]["model_thinking"] = data["steps"].pop("model_reasoning")
    (problem,) = _problems(tmp_path, data)
    assert ": steps.model_thinking: unknown step id 'model_thinking'" in problem


def test_missing_step(tmp_path):
    data = minimal_scenario()
    del data["steps"]["user_response"]
    (problem,) = _problems(tmp_path, data)
    assert problem.endswith("steps.user_response: missing step (every scenario covers all seven)")


def test_duplicate_criterion_id(tmp_path):
    data = minimal_scenario()
    data["steps"]["safety_checks"]["criteria"][2]["id"] = data["steps"]["user_intent"]["criteria"][0]["id"]
    (problem,) = _problems(tmp_path, data)
    assert "steps.safety_checks.criteria.2.id: duplicate criterion id 'user-intent-1'" in problem


def test_bad_evidence_pattern_and_unknown_concept(tmp_path):
    data = minimal_scenario()
    data["steps"]["user_intent"]["criteria"][0]["evidence"] = ["@no_such_concept", "x* ~ {nmber}"]
    problems = _problems(tmp_path, data)
    assert any("steps.user_intent.criteria.0.evidence.0: unknown concept '@no_such_concept'" in p for p in problems)
    assert any("steps.user_intent.criteria.0.evidence.1:" in p for p in problems)


def test_id_must_match_file_name(tmp_path):
    (problem,) = _problems(tmp_path, minimal_scenario("tiny-refunds"), name="other-name")
    assert problem.endswith("id: 'tiny-refunds' does not match the file name 'other-name'")


def test_top_level_must_be_a_mapping():
    with pytest.raises(ScenarioError, match="must be a YAML mapping"):
        parse_scenario("- just\n- a list\n", file="list.yaml")
