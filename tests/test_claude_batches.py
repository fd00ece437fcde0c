"""Class grading with Message Batches, the interviewer follow-up, and grading in the background."""

from __future__ import annotations

import json
import threading

import ipywidgets as widgets
import pytest

from fake_anthropic import TEST_KEY, FakeAnthropic, default_judge, key_leak_guard  # noqa: F401
from workbook import Answers, load_scenario, score
from workbook.graders.background import run_in_background
from workbook.graders.batch import STATE_FILE, grade_class
from workbook.graders.claude import ClaudeGrader, GradingError
from workbook.graders.interviewer import follow_up

SCENARIO = load_scenario("support-refund-agent")


def submission(n: int) -> Answers:
    return Answers(SCENARIO.id, {
        "user_intent": f"Learner {n}: shoppers with a damaged order want a refund in two minutes.",
        "safety_checks": f"Learner {n}: refunds over $50 go to an agent, and every refund is logged.",
    }, learner=f"learner-{n}")


@pytest.fixture
def api(key_leak_guard):
    with FakeAnthropic() as fake:
        yield fake


@pytest.fixture
def grader(api, tmp_path):
    return ClaudeGrader(api_key=TEST_KEY, base_url=api.base_url, cache_dir=tmp_path / "cache")


def test_a_class_batch_polls_until_ended_and_matches_results_by_custom_id(api, grader, tmp_path):
    api.polls_before_end = 2
    api.batch_errors = {"set-00001"}  # the second submission errors
    submissions = {f"learner-{n}": submission(n) for n in range(4)}
    seen, estimates = [], []
    result = grade_class(
        submissions, {SCENARIO.id: SCENARIO}, tmp_path / "out", grader,
        confirm=lambda e: estimates.append(e) or True, progress=lambda status, counts: seen.append((status, counts["processing"])),
        sleep=lambda seconds: None,
    )
    assert [s for s, _ in seen] == ["in_progress", "in_progress", "ended"]
    assert len(api.batches) == 1 and len(api.batches["msgbatch_0001"]["requests"]) == 4
    assert estimates[0].requests == 4 and estimates[0].batch
    assert json.loads((tmp_path / "out" / STATE_FILE).read_text())["batch_id"] == "msgbatch_0001"
    assert list(result.errored) == ["learner-1"] and "errored" in result.errored["learner-1"]
    assert result.reports["learner-1"].grader == "offline" and result.reports["learner-1"].flags[0].startswith("Claude could not grade this")
    for name in ("learner-0", "learner-2", "learner-3"):
        report = result.reports[name]
        assert report.grader == "claude"
        quote = report.steps["user_intent"].criteria[0].quote
        assert quote.startswith(f"Learner {name[-1]}:")  # each result went back to its own learner
    assert result.usage.requests == 3


def test_an_interrupted_batch_resumes_from_the_saved_id(api, grader, tmp_path):
    submissions = {f"learner-{n}": submission(n) for n in range(3)}
    api.polls_before_end = 5

    def interrupt(status, counts):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        grade_class(submissions, {SCENARIO.id: SCENARIO}, tmp_path, grader, progress=interrupt, sleep=lambda s: None)
    assert (tmp_path / STATE_FILE).exists()
    fresh = ClaudeGrader(api_key=TEST_KEY, base_url=api.base_url, cache_dir=tmp_path / "cache2")
    result = grade_class(submissions, {SCENARIO.id: SCENARIO}, tmp_path, fresh, sleep=lambda s: None)
    creates = [r for r in api.requests if r.method == "POST" and r.path == "/v1/messages/batches"]
    assert len(creates) == 1 and result.batch_id == "msgbatch_0001" and not result.errored
    assert all(r.grader == "claude" for r in result.reports.values())


def test_a_declined_estimate_sends_nothing(api, grader, tmp_path):
    with pytest.raises(GradingError, match="cancelled"):
        grade_class({"a": submission(0)}, {SCENARIO.id: SCENARIO}, tmp_path, grader, confirm=lambda e: False)
    assert not api.batches and not (tmp_path / STATE_FILE).exists()


def test_a_broken_state_file_is_named_and_kept(api, grader, tmp_path):
    (tmp_path / STATE_FILE).write_text("{not json")
    with pytest.raises(GradingError, match=STATE_FILE):
        grade_class({"a": submission(0)}, {SCENARIO.id: SCENARIO}, tmp_path, grader)
    assert (tmp_path / STATE_FILE).read_text() == "{not json"


def test_follow_up_offline_is_the_probe_of_the_heaviest_missed_criterion():
    answers = submission(0)
    step = score(answers, SCENARIO).steps["safety_checks"]
    missed = [c for c in step.criteria if not c.met]
    asked = follow_up("safety_checks", answers, SCENARIO, step)
    heaviest = max(missed, key=lambda c: c.weight)
    assert asked.source == "offline" and asked.question == heaviest.probe and asked.criterion == heaviest.id


def test_follow_up_from_claude_and_its_fallback(api, grader):
    answers = submission(0)
    asked = follow_up("safety_checks", answers, SCENARIO, grader=grader)
    assert asked.source == "claude" and asked.question.endswith("?")
    body = api.message_bodies()[-1]
    assert body["system"][1]["cache_control"] == {"type": "ephemeral"} and "safety_checks" in body["messages"][0]["content"]
    api.queue_status(500, 3)
    fallback = follow_up("safety_checks", answers, SCENARIO, grader=grader)
    assert fallback.source == "offline" and "500" in fallback.error


def test_the_form_stays_responsive_while_a_slow_server_answers(api, grader):
    """A widget callback hands the check to the background helper and returns; the widget keeps working."""
    api.gate = threading.Event()
    status = widgets.HTML("")
    box = widgets.Textarea(value=submission(0).answers["safety_checks"])
    finished = threading.Event()

    def on_done(step_report):
        status.value = f"Claude: {step_report.score:.0f}/100"
        finished.set()

    def check(_button):
        status.value = "grading…"
        answers = Answers(SCENARIO.id, {"safety_checks": box.value})
        check.pending = run_in_background(grader.grade_step, "safety_checks", answers, SCENARIO, on_done=on_done)

    button = widgets.Button(description="Check this step")
    button.on_click(check)
    button.click()  # returns at once although the server has not answered
    assert api.arrived.wait(10) and status.value == "grading…" and not check.pending.done
    box.value += " Refunds are capped at $50."  # the learner keeps typing meanwhile
    assert box.value.endswith("$50.") and not finished.is_set()
    api.gate.set()
    assert finished.wait(10) and status.value.startswith("Claude: ")


def test_a_cancelled_check_never_reports(api, grader):
    api.gate = threading.Event()
    reported = []
    pending = run_in_background(grader.grade_step, "safety_checks", submission(0), SCENARIO, on_done=reported.append)
    assert api.arrived.wait(10)
    pending.cancel()
    api.gate.set()
    pending.result(10)
    assert pending.cancelled and reported == []
