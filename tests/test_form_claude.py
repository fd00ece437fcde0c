"""The practice form with Claude as grader, against the fake Messages API (real SDK, real HTTP).

Checks never freeze the form: offline feedback at once, "grading…" with a Cancel,
Claude's verdict in place of the offline one when it arrives, both side by side.
The key stays in memory; the mock interviewer's follow-ups are stored and graded.
"""

from __future__ import annotations

import html
import json
import threading
import time
from pathlib import Path

import pytest

from fake_anthropic import TEST_KEY, FakeAnthropic, files_containing, key_leak_guard  # noqa: F401
from workbook import form as form_module
from workbook.form import PracticeForm
from workbook.progress import load_history

SCENARIO = "support-refund-agent"
ANSWER = "Shoppers with a damaged parcel want their refund within two minutes. Agents review refunds over $50."


def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.fixture(autouse=True)
def _no_display(monkeypatch):
    shown = []
    monkeypatch.setattr(form_module, "_display", shown.append)
    return shown


@pytest.fixture
def api(key_leak_guard, monkeypatch, tmp_path):
    with FakeAnthropic() as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        monkeypatch.setenv("WORKBOOK_CACHE", str(tmp_path / "verdicts"))
        monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
        yield fake


def build(tmp_path: Path, **kwargs) -> PracticeForm:
    kwargs.setdefault("autosave_delay", 0.05)
    return PracticeForm(SCENARIO, tmp_path / "my-work" / "a.answers.json", grader="claude", work_dir=tmp_path / "my-work", **kwargs)


def enter_key(form: PracticeForm) -> None:
    form.claude_view.key.value = TEST_KEY


def status_text(panel) -> str:
    return panel.claude_widgets[0].value


def settled(panel) -> bool:
    """Claude's check is over and its outcome drawn (the status line is the last thing updated)."""
    return panel.claude is not None and any(s in status_text(panel) for s in ("verdict is shown", "could not grade"))


def test_a_check_shows_offline_at_once_then_claude_side_by_side(api, tmp_path):
    form = build(tmp_path)
    enter_key(form)
    assert form.claude_view.key.value == "" and "memory only" in form.claude_view.key_status.value
    api.gate = threading.Event()
    panel = form.panel("user_intent")
    panel.text.value = ANSWER
    form.check_step("user_intent")  # returns although the server has not answered
    assert api.arrived.wait(10)
    assert "grading" in status_text(panel) and panel.claude_widgets[1].layout.display == "flex"
    assert panel.last_step is panel.offline_step and "/100" in panel.feedback.value
    panel.text.value = ANSWER + " We log every refund."  # the form keeps working
    api.gate.set()
    assert wait_for(lambda: settled(panel))
    assert panel.claude.step is not None and panel.last_step is panel.claude.step
    shown_feedback = html.unescape(panel.feedback.value)
    assert "Offline scorer beside Claude" in shown_feedback and "Claude's verdict" in shown_feedback
    assert "Cost of this check" in status_text(panel) and "$" in status_text(panel)
    assert panel.claude_widgets[1].layout.display == "none"  # no Cancel once it is over
    saw = panel.claude_widgets[2]
    saw.click()
    shown = panel.claude_widgets[3].value
    assert "cache_control" in shown and "Shoppers with a damaged parcel" in shown and TEST_KEY not in shown
    body = api.message_bodies()[-1]
    assert body["model"] == form.grader_impl().model
    sent = [r for r in api.requests if r.path == "/v1/messages"][-1]
    assert TEST_KEY not in json.dumps(sent.body)
    form.flush()
    for path in (tmp_path / "my-work").iterdir():
        assert TEST_KEY not in path.read_text(errors="replace"), path


def test_disagreements_are_flagged_and_claims_get_claudes_verdict(api, tmp_path):
    form = build(tmp_path)
    enter_key(form)
    panel = form.panel("user_intent")
    panel.text.value = ANSWER
    form.check_step("user_intent")
    assert wait_for(lambda: settled(panel))
    offline = {c.id: c for c in panel.offline_step.criteria}
    missed = [c for c in panel.last_step.criteria if c.state != "met"]
    form.claim("user_intent", missed[0].id, "Agents review refunds over $50.")
    shown = html.unescape(panel.feedback.value)
    assert "Your claim" in shown and "Claude's verdict on it" in shown
    claude_states = {c.id: c.state for c in panel.claude.step.criteria}
    differ = [i for i in offline if offline[i].state != claude_states.get(i)]
    assert ("they disagree" in shown) == bool(differ)
    sent = len(api.message_bodies())
    form.check_step("user_intent")  # unchanged text: the cached verdict, no request, no cost
    assert wait_for(lambda: settled(panel))
    assert len(api.message_bodies()) == sent and "cached verdict" in status_text(panel)


def test_cancel_keeps_the_offline_feedback(api, tmp_path):
    form = build(tmp_path)
    enter_key(form)
    api.gate = threading.Event()
    panel = form.panel("safety_checks")
    panel.text.value = ANSWER
    form.check_step("safety_checks")
    assert api.arrived.wait(10)
    panel.claude_widgets[1].click()  # Cancel
    api.gate.set()
    time.sleep(0.3)
    assert "cancelled" in status_text(panel) and panel.last_step is panel.offline_step


@pytest.mark.parametrize("status, words", [(500, "500"), (401, "401")])
def test_failures_give_one_line_and_the_offline_result(api, tmp_path, status, words):
    form = build(tmp_path)
    enter_key(form)
    api.queue_status(status, 3)
    panel = form.panel("tool_execution")
    panel.text.value = ANSWER
    form.check_step("tool_execution")
    assert wait_for(lambda: settled(panel))
    assert panel.claude.error and words in status_text(panel) and "offline result" in status_text(panel)
    assert panel.last_step is panel.offline_step and "Traceback" not in status_text(panel)


def test_no_key_says_so_and_stays_offline(api, tmp_path):
    form = build(tmp_path)
    panel = form.panel("user_intent")
    panel.text.value = ANSWER
    form.check_step("user_intent")
    assert "no API key" in status_text(panel) and api.message_bodies() == []


def test_whole_design_shows_offline_first_then_records_claudes(api, tmp_path):
    form = build(tmp_path)
    enter_key(form)
    api.gate = threading.Event()
    form.panel("user_intent").text.value = ANSWER
    first = form.score_all()
    assert first.grader == "offline" and "Claude is grading" in form.report_view.value
    api.gate.set()
    assert wait_for(lambda: form.last_report is not None and form.last_report.grader == "claude")
    assert wait_for(lambda: any(a.grader == "claude" for a in load_history(form.work_dir)[0]))


def test_mock_interviewer_asks_stores_the_reply_and_counts_it(api, tmp_path):
    form = build(tmp_path, mode="mock", time_limit_minutes=5)
    enter_key(form)
    form.start_mock()
    panel = form.panel("tool_execution")
    panel.text.value = ANSWER
    view, ask, reply, send = panel.interview_widgets
    assert panel.interview.layout.display == "flex" and panel.buttons.layout.display == "none"
    for round_ in range(3):
        ask.click()
        assert wait_for(lambda: panel.question is not None)
        assert "Interviewer" in view.value and "Probe:" not in view.value
        reply.value = f"Reply {round_}: a timed-out refund is retried once with the same idempotency key."
        send.click()
    assert ask.layout.display == "none"  # three rounds, no more
    saved = json.loads(form.answers_path.read_text())
    assert [f["reply"][:7] for f in saved["followups"]["tool_execution"]] == ["Reply 0", "Reply 1", "Reply 2"]
    assert "idempotency key" in form.store.graded_answers().text("tool_execution")
    assert saved["answers"]["tool_execution"] == ANSWER  # the answer itself is unchanged
    assert len(api.message_bodies()) == 3  # Claude wrote each question
    form.finish_mock()


def test_offline_mock_interviewer_uses_the_rubric_probe(tmp_path, monkeypatch):
    form = PracticeForm(SCENARIO, tmp_path / "m.answers.json", mode="mock", time_limit_minutes=5, work_dir=tmp_path, autosave_delay=0.05)
    form.start_mock()
    panel = form.panel("safety_checks")
    panel.text.value = ANSWER
    form.interviewer.ask("safety_checks")
    probes = {c.probe for c in form.scenario.step("safety_checks").criteria}
    assert panel.question in probes
    reply = "Refunds over $50 wait for an agent. <script>alert(1)</script>"
    assert form.interviewer.reply("safety_checks", reply)
    assert form.store.followups["safety_checks"][0].reply == reply
    assert not form.interviewer.reply("safety_checks", "no open question, nothing stored")
    form.finish_mock()
    assert panel.interview.layout.display == "none"
    page, markdown = (path.read_text() for path in form.export_design())
    assert "Refunds over $50 wait for an agent." in page and "<script>alert(1)" not in page
    assert "Follow-up 1:" in markdown and "wait for an agent" in markdown


def test_the_picker_offers_the_registered_graders_and_writes_only_the_name(tmp_path, monkeypatch):
    from workbook.notebooks import prepare_practice_notebook
    from workbook.start import scenario_picker

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANTHROPIC_API_KEY", TEST_KEY)
    picker = scenario_picker(work_dir=tmp_path / "my-work", display=False)
    assert [value for _, value in picker.grader.options][:2] == ["offline", "claude"] and picker.grader.value == "offline"
    picker.choice.value = SCENARIO
    picker.grader.value = "claude"
    picker.prepare_button.click()
    text = (tmp_path / "my-work" / f"{SCENARIO}.ipynb").read_text()
    assert 'grader = \\"claude\\"' in text and TEST_KEY not in text  # the name only, never the key
    with pytest.raises(ValueError, match="unknown grader 'nope'"):
        prepare_practice_notebook(SCENARIO, work=tmp_path / "other", grader="nope")
