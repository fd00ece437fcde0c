"""The answers file: round trip, atomic saves, and clear errors that never overwrite."""

from __future__ import annotations

import json

import pytest

from workbook.answers import Answers, AnswersError, load_answers, quarantine, save_answers


def test_round_trip(tmp_path):
    path = tmp_path / "a.json"
    answers = Answers("support-refund-agent", {"user_intent": "Shoppers with late orders.", "safety_checks": "Caps."}, "Ada")
    save_answers(answers, path)
    loaded = load_answers(path)
    assert (loaded.scenario, loaded.learner, loaded.answers) == (answers.scenario, "Ada", answers.answers)
    assert loaded.text("model_reasoning") == ""  # missing steps mean empty
    assert json.loads(path.read_text())["answers"] == answers.answers
    assert sorted(p.name for p in tmp_path.iterdir()) == [".a.json.lock", "a.json"]  # no temporary files left behind


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "invalid JSON at line 1"),
        ("[1, 2]", "expected a JSON object"),
        ('{"answers": {}}', "scenario: must be a scenario id"),
        ('{"scenario": "x", "answers": {"step_nine": "t"}}', "answers.step_nine: unknown step id"),
        ('{"scenario": "x", "answers": {"user_intent": 3}}', "answers.user_intent: must be text"),
        ('{"scenario": "x", "answers": []}', "answers: must be an object"),
        ('{"scenario": "x", "answer": {}}', "answer: unknown field"),
    ],
)
def test_wrong_shapes_are_reported_with_file_and_field(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(AnswersError) as caught:
        load_answers(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_missing_file(tmp_path):
    with pytest.raises(AnswersError, match="no such answers file"):
        load_answers(tmp_path / "nope.json")


def test_corrupt_file_is_not_overwritten(tmp_path):
    path = tmp_path / "a.json"
    path.write_text("{corrupt", encoding="utf-8")
    with pytest.raises(AnswersError):
        save_answers(Answers("x", {"user_intent": "new"}), path)
    assert path.read_text() == "{corrupt"


def test_quarantine_keeps_the_corrupt_copy(tmp_path):
    path = tmp_path / "a.json"
    path.write_text("{corrupt", encoding="utf-8")
    moved = quarantine(path)
    assert not path.exists() and moved.read_text() == "{corrupt" and "corrupt-" in moved.name
    save_answers(Answers("x", {"user_intent": "new"}), path)
    assert load_answers(path).text("user_intent") == "new"


def test_failed_write_keeps_previous_copy(tmp_path, monkeypatch):
    path = tmp_path / "a.json"
    save_answers(Answers("x", {"user_intent": "good"}), path)

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("workbook.answers.os.replace", explode)
    with pytest.raises(OSError):
        save_answers(Answers("x", {"user_intent": "half-written"}), path)
    assert load_answers(path).text("user_intent") == "good"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".a.json.lock", "a.json"]

