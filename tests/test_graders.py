"""The grader seam: registry, entry points, the offline grader, Report.failed, and `workbook score --grader`."""

from __future__ import annotations

import io
import json
from importlib.metadata import EntryPoint, entry_points

import pytest

from fake_anthropic import TEST_KEY, FakeAnthropic, files_containing, key_leak_guard  # noqa: F401
from workbook import Answers, load_scenario, save_answers, score
from workbook.cli import main
from workbook.graders import ENTRY_POINT_GROUP, Grader, GraderRegistry, UnknownGraderError, get_grader, grader_names
from workbook.report import Report

SCENARIO = load_scenario("support-refund-agent")
ANSWERS = Answers(SCENARIO.id, {"user_intent": "Shoppers with a damaged order want a refund within two minutes.", "tool_execution": "Refunds over $50 wait for an agent."})


def test_builtins_are_registered_and_installed_as_entry_points():
    assert {"offline", "claude"} <= set(grader_names())
    installed = {point.name: point.value for point in entry_points(group=ENTRY_POINT_GROUP)}
    assert installed["offline"] == "workbook.graders.offline:OfflineGrader"
    assert installed["claude"] == "workbook.graders.claude:ClaudeGrader"


def test_the_offline_grader_is_the_scorer():
    grader = get_grader("offline")
    assert isinstance(grader, Grader) and grader.name == "offline"
    assert grader.grade(ANSWERS, SCENARIO).to_dict() == score(ANSWERS, SCENARIO).to_dict()


def test_a_third_party_grader_comes_from_its_entry_point():
    registry = GraderRegistry()
    registry.register("offline", "workbook.graders.offline:OfflineGrader")
    registry._entry_points_read = True  # only what this test registers
    registry.register("strict", EntryPoint("strict", "workbook.graders.offline:OfflineGrader", ENTRY_POINT_GROUP))
    assert registry.names() == ["offline", "strict"]
    assert registry.get("strict").grade(ANSWERS, SCENARIO).grader == "offline"
    with pytest.raises(UnknownGraderError, match="unknown grader 'nope' \\(known: offline, strict\\)"):
        registry.get("nope")


def test_report_failed_keeps_every_criterion_and_names_the_grader():
    report = Report.failed("no API key", SCENARIO, "claude")
    assert report.grader == "claude" and report.total == 0 and report.flags == ["The claude grader could not grade this answer: no API key"]
    assert all(c.state == "missing" and not c.met for s in report.steps.values() for c in s.criteria)
    assert Report.from_dict(report.to_dict()).to_dict() == report.to_dict()
    assert "claude grader" in report.to_text()


@pytest.fixture
def answers_file(tmp_path):
    path = tmp_path / "answers.json"
    save_answers(ANSWERS, path)
    return path


@pytest.fixture
def api(key_leak_guard, monkeypatch, tmp_path):
    with FakeAnthropic() as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)  # the product reaches the fake only through its base URL
        monkeypatch.setenv("ANTHROPIC_API_KEY", TEST_KEY)
        monkeypatch.setenv("WORKBOOK_CACHE", str(tmp_path / "cache"))
        monkeypatch.delenv("WORKBOOK_MODEL", raising=False)
        yield fake


def test_cli_score_with_claude_prints_usage_after(api, answers_file, capsys):
    assert main(["score", str(answers_file), "--grader", "claude", "--yes", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["grader"] == "claude"
    assert "Claude usage: 1 request(s) to claude-haiku-" in err and "cache writes" in err and "$" in err
    assert not [r for r in api.requests if r.path.endswith("count_tokens")]  # --yes skips the estimate


def test_cli_asks_before_sending_and_sends_nothing_unconfirmed(api, answers_file, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    assert main(["score", str(answers_file), "--grader", "claude"]) == 2
    err = capsys.readouterr().err
    assert "Claude grading: 1 request(s)" in err and "input tokens (counted)" in err
    assert err.strip().splitlines()[-1] == "workbook: error: not confirmed, nothing was sent (answer y at the prompt, or pass --yes)"
    assert not api.message_bodies()


def test_cli_show_prompt_prints_the_request_and_sends_nothing(api, answers_file, capsys):
    assert main(["score", str(answers_file), "--grader", "claude", "--show-prompt", "--model", "claude-sonnet-4-6"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["model"] == "claude-sonnet-4-6" and body["system"][1]["cache_control"] == {"type": "ephemeral"}
    assert TEST_KEY not in json.dumps(body) and api.requests == []


def test_cli_failure_is_one_line_and_the_offline_report(api, answers_file, capsys):
    api.queue_status(500, 3)
    assert main(["score", str(answers_file), "--grader", "claude", "--yes"]) == 0
    out, err = capsys.readouterr()
    assert "workbook: claude grader: the API failed (500)" in err and "(offline grader)" in out


def test_cli_rejects_unknown_graders_and_claude_options_without_claude(answers_file, capsys):
    assert main(["score", str(answers_file), "--grader", "nope"]) == 2
    assert "unknown grader 'nope'" in capsys.readouterr().err
    assert main(["score", str(answers_file), "--show-prompt"]) == 2
    assert "--show-prompt work with --grader claude" in capsys.readouterr().err


def test_the_leak_scan_finds_a_planted_key(tmp_path):
    """The end-of-session guard is not vacuous: it finds the key where it is written."""
    canary = tmp_path / "canary.txt"
    canary.write_text(f"token={TEST_KEY}")
    assert files_containing(TEST_KEY, [tmp_path]) == [canary]
    canary.unlink()
    assert files_containing(TEST_KEY, [tmp_path]) == []


def _labelled_folder(tmp_path):
    import yaml

    from workbook import load_scenario

    scenario = load_scenario(ANSWERS.scenario)
    reference = {step: spec.reference_answer for step, spec in scenario.step_specs().items()}
    sets = [
        {"name": "reference", "label": 5, "answers": reference},
        {"name": "thin", "label": 1, "answers": {"user_intent": "Customers want refunds."}},
    ]
    folder = tmp_path / "labelled"
    folder.mkdir()
    (folder / "set.yaml").write_text(yaml.safe_dump({"scenario": scenario.id, "sets": sets}), encoding="utf-8")
    return folder


def test_calibrate_with_claude_prints_agreement_and_usage(api, tmp_path, capsys):
    assert main(["calibrate", "--set", str(_labelled_folder(tmp_path)), "--grader", "claude", "--yes", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert result["sets"] == 2 and "spearman" in result and "kappa" in result
    assert "Claude usage:" in err and api.message_bodies()


def test_calibrate_with_claude_estimates_first_and_sends_nothing_unconfirmed(api, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    assert main(["calibrate", "--set", str(_labelled_folder(tmp_path)), "--grader", "claude"]) == 2
    err = capsys.readouterr().err
    assert "Claude calibration over 2 answer sets:" in err and "not confirmed, nothing was sent" in err
    assert [r for r in api.requests if r.path.endswith("count_tokens")] and not api.message_bodies()
