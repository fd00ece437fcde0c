"""The `workbook` command, run as a real subprocess the way a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scenario_factory import minimal_scenario, mutate, write_scenario
from test_scenarios import EXPECTED_IDS

WORKBOOK = [sys.executable, "-m", "workbook.cli"]


def run(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "WORKBOOK_EXERCISES"} | (env or {})
    return subprocess.run([*WORKBOOK, *args], capture_output=True, text=True, cwd=cwd, env=environment, timeout=60)


def test_list_json_prints_the_eight_ids():
    result = run("list", "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert {row["id"]: row["level"] for row in rows} == EXPECTED_IDS
    assert all(row["title"] for row in rows)


def test_list_text_has_one_line_per_scenario():
    result = run("list")
    assert result.returncode == 0
    assert len(result.stdout.strip().splitlines()) == len(EXPECTED_IDS)
    assert "support-refund-agent" in result.stdout


def test_show_prints_brief_and_questions():
    result = run("show", "support-refund-agent")
    assert result.returncode == 0, result.stderr
    for title in ("1. User intent", "4. Tool execution", "7. Feedback and evaluation"):
        assert title in result.stdout


def test_validate_shipped_scenarios_exits_zero():
    result = run("validate")
    assert result.returncode == 0, result.stdout
    assert "8 scenario file(s) valid" in result.stdout


def test_validate_reports_one_line_per_problem(tmp_path):
    good = write_scenario(tmp_path, minimal_scenario("good-one"))
    bad = write_scenario(tmp_path, mutate(minimal_scenario("bad-one"), "steps.user_intent.criteria.0.weight", -2))
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: broken\nsteps: [\n", encoding="utf-8")
    result = run("validate", str(good), str(bad), str(broken))
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{bad}: steps.user_intent.criteria.0.weight: ")
    assert lines[1].startswith(f"{broken}: line ") and "YAML syntax error" in lines[1]
    assert "Traceback" not in result.stderr


def test_exercises_folder_from_flag_and_environment(tmp_path):
    write_scenario(tmp_path, minimal_scenario("my-own"))
    by_flag = run("--exercises", str(tmp_path), "list", "--format", "json")
    by_env = run("list", "--format", "json", env={"WORKBOOK_EXERCISES": str(tmp_path)})
    for result in (by_flag, by_env):
        assert result.returncode == 0, result.stderr
        assert [row["id"] for row in json.loads(result.stdout)] == ["my-own"]


def test_new_scaffolds_a_template_that_validates_once_filled(tmp_path):
    result = run("--exercises", str(tmp_path), "new", "claims-triage")
    assert result.returncode == 0, result.stderr
    created = tmp_path / "claims-triage.yaml"
    text = created.read_text()
    assert "id: claims-triage" in text and "# " in text  # commented template
    unfilled = run("validate", str(created))
    assert unfilled.returncode == 1  # the template still has empty criteria to fill in
    import yaml

    data = yaml.safe_load(text)
    filled = minimal_scenario("claims-triage")
    filled["steps"]["user_intent"] = data["steps"]["user_intent"] | {"criteria": filled["steps"]["user_intent"]["criteria"]}
    data["steps"] = filled["steps"]
    created.write_text(yaml.safe_dump(data, sort_keys=False))
    assert run("validate", str(created)).returncode == 0
    again = run("--exercises", str(tmp_path), "new", "claims-triage")
    assert again.returncode == 2 and "already exists" in again.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (("show", "no-such-scenario"), "unknown scenario 'no-such-scenario'"),
        (("frobnicate",), "invalid choice"),
        (("list", "--format", "xml"), "invalid choice"),
        (("new", "Bad Id"), "must be lowercase words"),
        (("--exercises", "/no/such/dir", "list"), "exercises folder does not exist"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["list", "show", "validate", "new", "score", "concepts"])
def test_every_command_has_help(command):
    result = run(command, "--help")
    assert result.returncode == 0 and "usage:" in result.stdout


# --- workbook score --------------------------------------------------------------------------------


def _reference_answers_file(tmp_path: Path, scenario_id: str = "support-refund-agent") -> Path:
    from workbook import load_scenario

    scenario = load_scenario(scenario_id)
    path = tmp_path / "answers.json"
    answers = {step: spec.reference_answer for step, spec in scenario.step_specs().items()}
    path.write_text(json.dumps({"scenario": scenario_id, "learner": "Ada", "answers": answers}), encoding="utf-8")
    return path


def test_score_json_has_the_stable_shape(tmp_path):
    result = run("score", str(_reference_answers_file(tmp_path)), "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["scenario"] == "support-refund-agent" and report["grader"] == "offline"
    assert report["total"] >= 80 and report["anti_patterns"] == [] and isinstance(report["flags"], list)
    for step in report["steps"].values():
        assert set(step) >= {"score", "met", "missed", "feedback"}


def test_score_text_is_a_per_step_table(tmp_path):
    result = run("score", str(_reference_answers_file(tmp_path)))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "total" in lines[0]
    for title in ("User intent", "Tool execution", "Feedback and evaluation"):
        assert any(line.startswith(title) for line in lines)


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no such answers file"),
        ("{oops", "invalid JSON at line 1"),
        ('{"scenario": "no-such-scenario", "answers": {}}', "unknown scenario 'no-such-scenario'"),
        ('{"scenario": "support-refund-agent", "answers": {"step_eight": "x"}}', "answers.step_eight: unknown step id"),
    ],
)
def test_score_bad_input_is_one_line_exit_2(tmp_path, content, message):
    path = tmp_path / "answers.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = run("score", str(path))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "content, expected",
    [
        (None, "no such calibration folder"),
        ("scenario: [unclosed", "cannot read"),
        ("just text", "expected 'scenario' and a list of 'sets'"),
        ("scenario: support-refund-agent\nsets:\n  - name: x\n    label: 9\n", "sets.0.label: must be an integer from 0 to 5"),
        ("scenario: support-refund-agent\nsets:\n  - name: x\n    label: 3\n    answers: [1, 2]\n", "sets.0.answers: must map step ids to text"),
    ],
)
def test_calibrate_refuses_a_broken_set_with_one_line(tmp_path, content, expected):
    folder = tmp_path / "labelled"
    if content is not None:
        folder.mkdir()
        (folder / "set.yaml").write_text(content, encoding="utf-8")
    result = run("calibrate", "--set", str(folder))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and expected in result.stderr, result.stderr


def _own_scenario_set(tmp_path: Path, scenario_id: str = "tiny-refunds") -> Path:
    folder = tmp_path / "labelled"
    (folder / "scenarios").mkdir(parents=True)
    data = minimal_scenario()
    write_scenario(folder / "scenarios", data)
    strong = {step: spec["reference_answer"] for step, spec in data["steps"].items()}
    sets = {"scenario": scenario_id, "sets": [
        {"name": "strong", "label": 5, "answers": strong},
        {"name": "thin", "label": 1, "answers": {"user_intent": "It helps shoppers."}},
        {"name": "empty", "label": 0, "answers": {}},
    ]}
    (folder / "tiny.yaml").write_text(json.dumps(sets), encoding="utf-8")
    return folder


def test_calibrate_reads_an_instructors_own_scenarios_beside_the_labelled_sets(tmp_path):
    result = run("calibrate", "--set", str(_own_scenario_set(tmp_path)), "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["sets"] == 3 and report["per_scenario"]["tiny-refunds"] > 0  # the scenario file is not read as a set
    totals = {g["name"]: g["total"] for g in report["graded"]}
    assert totals["strong"] > totals["empty"] == 0


def test_calibrate_names_a_scenario_it_cannot_find(tmp_path):
    folder = _own_scenario_set(tmp_path, scenario_id="not-there")
    result = run("calibrate", "--set", str(folder))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "not-there" in result.stderr, result.stderr


def test_calibrate_refuses_a_scenario_id_that_is_a_path_before_touching_the_disk(tmp_path):
    folder = _own_scenario_set(tmp_path, scenario_id="../../etc/passwd")
    result = run("calibrate", "--set", str(folder))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "passwd" in result.stderr, result.stderr


@pytest.mark.parametrize("content", ["id: [unclosed", "x" * 3_000_000, "just text"])
def test_calibrate_names_a_broken_scenario_beside_the_sets(tmp_path, content):
    folder = _own_scenario_set(tmp_path)
    (folder / "scenarios" / "tiny-refunds.yaml").write_text(content, encoding="utf-8")
    result = run("calibrate", "--set", str(folder))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "tiny-refunds.yaml" in result.stderr, result.stderr
