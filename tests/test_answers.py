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



# --- issue 9: hardening ----------------------------------------------------------------------

import os
import subprocess
import sys
import time

from workbook.answers import (
    MAX_ANSWERS_BYTES,
    MAX_STEP_BYTES,
    AnswersTooLargeError,
    Claim,
    FollowUp,
    answers_from_dict,
    atomic_write_text,
)
from workbook.scenario import InvalidScenarioIdError, load_scenario
from workbook.scoring import score


@pytest.mark.parametrize("scenario", ["../../x", "/abs/dir/x", "x/../y", "x" * 101, "support-refund-agent\u0000", "Support"])
def test_scenario_field_must_be_an_id_not_a_path(tmp_path, scenario):
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"scenario": scenario, "answers": {}}), encoding="utf-8")
    with pytest.raises(AnswersError, match=r"a\.json: scenario: must be a scenario id"):
        load_answers(path)


def test_load_scenario_checks_the_id_before_touching_the_disk(tmp_path):
    planted = tmp_path / "planted"
    planted.mkdir()
    (planted / "evil.yaml").write_text("secret_top_level_key: 1\n", encoding="utf-8")
    exercises = tmp_path / "exercises"
    exercises.mkdir()
    for scenario_id in ("../planted/evil", str(planted / "evil")):
        with pytest.raises(InvalidScenarioIdError) as caught:
            load_scenario(scenario_id, exercises)
        assert "secret_top_level_key" not in str(caught.value) and "is not a scenario id" in str(caught.value)


def test_lone_surrogate_is_cleaned_on_load_so_saving_and_scoring_keep_working(tmp_path):
    path = tmp_path / "a.json"
    path.write_text('{"scenario": "support-refund-agent", "learner": "\\udc80", "answers": {"user_intent": "Shoppers \\ud83d first."}}')
    loaded = load_answers(path)
    assert loaded.text("user_intent") == "Shoppers \ufffd first." and loaded.learner == "\ufffd"
    loaded.answers["safety_checks"] = "New work."
    save_answers(loaded, path)
    assert load_answers(path).text("safety_checks") == "New work."
    assert score(loaded).to_json()  # no UnicodeEncodeError
    # text made in memory (not loaded) is cleaned on save too
    save_answers(Answers("support-refund-agent", {"user_intent": "odd \udfff"}), path)
    assert load_answers(path).text("user_intent") == "odd \ufffd"


def test_claims_and_followups_round_trip(tmp_path):
    path = tmp_path / "a.json"
    answers = Answers(
        "support-refund-agent",
        {"user_intent": "Shoppers."},
        "Ada",
        claims=[Claim("user_intent", "customer-job", "Shoppers.")],
        followups={"tool_execution": [FollowUp("What if the refund API times out?", "We retry once with the same key.")]},
    )
    save_answers(answers, path)
    data = json.loads(path.read_text())
    assert data["claims"] == [{"step": "user_intent", "criterion": "customer-job", "sentence": "Shoppers."}]
    assert data["followups"] == {"tool_execution": [{"question": "What if the refund API times out?", "reply": "We retry once with the same key."}]}
    loaded = load_answers(path)
    assert loaded.claims == answers.claims and loaded.followups == answers.followups
    assert loaded.text("user_intent") == "Shoppers." and loaded.to_dict() == answers.to_dict()
    assert "claims" not in Answers("x", {}).to_dict()  # optional: old files and old readers are unaffected


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"claims": {}}, "claims: must be a list"),
        ({"claims": [{"step": "step_nine", "criterion": "c", "sentence": "s"}]}, "claims.0.step: unknown step id"),
        ({"claims": [{"step": "user_intent", "criterion": "../x", "sentence": "s"}]}, "claims.0.criterion: must be a criterion id"),
        ({"claims": [{"step": "user_intent", "criterion": "c"}]}, "claims.0.sentence: required field is missing"),
        ({"claims": [{"step": "user_intent", "criterion": "c", "sentence": 3}]}, "claims.0.sentence: must be text"),
        ({"claims": [{"step": "user_intent", "criterion": "c", "sentence": "s", "x": 1}]}, "claims.0.x: unknown field"),
        ({"followups": []}, "followups: must be an object"),
        ({"followups": {"step_nine": []}}, "followups.step_nine: unknown step id"),
        ({"followups": {"user_intent": {}}}, "followups.user_intent: must be a list"),
        ({"followups": {"user_intent": [{"question": "q"}]}}, "followups.user_intent.0.reply: required field is missing"),
        ({"followups": {"user_intent": ["q"]}}, "followups.user_intent.0: must be an object"),
    ],
)
def test_claims_and_followups_errors_name_the_field(extra, message):
    with pytest.raises(AnswersError, match="^f.json: " + message.replace(".", r"\.")):
        answers_from_dict({"scenario": "x", "answers": {}} | extra, "f.json")


@pytest.mark.parametrize(
    "content, message",
    [
        ("[" * 1000, "nested too deeply"),
        ('{"scenario": "x", "saved_at": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
        ('{"scenario": "x", "answers": {"user_intent": ' + "7" * 5000 + "}}", "a number of 5000 digits"),
        ("\ufeff" + "[1]", "expected a JSON object"),  # a byte-order mark is accepted, the rest still checked
    ],
)
def test_deep_nesting_and_huge_numbers_are_one_clear_error_and_the_file_is_kept(tmp_path, content, message):
    path = tmp_path / "a.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(AnswersError, match=message):
        load_answers(path)
    moved = quarantine(path)  # what the form does on AnswersError
    assert moved.read_text(encoding="utf-8") == content and not path.exists()


def test_size_limits_are_documented_and_enforced(tmp_path):
    big_file = tmp_path / "big.json"
    big_file.write_text(json.dumps({"scenario": "x", "saved_at": "x" * MAX_ANSWERS_BYTES}))
    with pytest.raises(AnswersError, match=r"big\.json: cannot read: is 2\.0 MB, over the 2\.0 MB limit for an answers file"):
        load_answers(big_file)
    big_step = tmp_path / "step.json"
    big_step.write_text(json.dumps({"scenario": "x", "answers": {"user_intent": "é" * (MAX_STEP_BYTES // 2 + 1)}}))
    with pytest.raises(AnswersTooLargeError, match=r"answers\.user_intent: is 200 KB, over the 200 KB limit per step"):
        load_answers(big_step)
    target = tmp_path / "new.json"
    with pytest.raises(AnswersTooLargeError, match="not saved"):
        save_answers(Answers("x", {"user_intent": "x" * (MAX_STEP_BYTES + 1)}), target)
    assert not target.exists()


def test_unbounded_streams_are_never_read_whole(tmp_path):
    zero = tmp_path / "zero.json"
    zero.symlink_to("/dev/zero")
    with pytest.raises(AnswersError, match="is a device, not a regular file"):
        load_answers(zero)
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    with pytest.raises(AnswersError, match="is a pipe, not a regular file"):
        load_answers(fifo)


def test_only_regular_json_files_are_moved_aside_or_replaced(tmp_path):
    work = tmp_path / "my-work"
    work.mkdir()
    (work / "x.answers.json").write_text("{}")
    notebook = tmp_path / "practice.ipynb"
    notebook.write_text('{"cells": []}')
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text("{corrupt")
    link = tmp_path / "link.json"
    link.symlink_to(elsewhere)
    folder_json = tmp_path / "folder.json"
    folder_json.mkdir()
    cases = {work: "ends in .json", notebook: "ends in .json", link: "is a symbolic link", folder_json: "is a folder"}
    for path, message in cases.items():
        with pytest.raises(AnswersError, match=message):
            quarantine(path)
        with pytest.raises(AnswersError, match=message):
            save_answers(Answers("x", {"user_intent": "t"}), path, last_saved=None)
    assert (work / "x.answers.json").read_text() == "{}" and notebook.read_text() == '{"cells": []}'
    assert elsewhere.read_text() == "{corrupt" and link.is_symlink() and folder_json.is_dir()
    with pytest.raises(OSError, match="is a symbolic link"):
        atomic_write_text(link, "x")


def test_quarantine_of_a_file_already_moved_aside_returns_none(tmp_path):
    assert quarantine(tmp_path / "gone.json") is None


def test_save_keeps_aside_what_another_writer_saved(tmp_path):
    path = tmp_path / "a.json"
    mine = save_answers(Answers("x", {"user_intent": "mine 1"}), path, last_saved=None)
    assert mine.kept_aside == []
    save_answers(Answers("x", {"user_intent": "theirs"}), path)  # another kernel
    result = save_answers(Answers("x", {"user_intent": "mine 2"}), path, last_saved=mine.payload)
    ((label, kept, _),) = result.kept_aside
    assert label == "changed" and load_answers(kept).text("user_intent") == "theirs"
    assert load_answers(path).text("user_intent") == "mine 2"
    path.write_text("{corrupt")
    result = save_answers(Answers("x", {"user_intent": "mine 3"}), path, last_saved=result.payload)
    ((label, kept, why),) = result.kept_aside
    assert label == "corrupt" and kept.read_text() == "{corrupt" and "invalid JSON" in why


def test_stale_temporary_files_of_killed_saves_are_removed(tmp_path):
    path = tmp_path / "a.json"
    stale, fresh, other = (tmp_path / ".a.json.abcd1234.tmp", tmp_path / ".a.json.wxyz9876.tmp", tmp_path / ".b.json.abcd1234.tmp")
    for leftover in (stale, fresh, other):
        leftover.write_text("half a save")
    old = time.time() - 3600
    for leftover in (stale, other):
        os.utime(leftover, (old, old))
    save_answers(Answers("x", {"user_intent": "t"}), path)
    assert not stale.exists(), "a stale temporary of this file is removed"
    assert fresh.exists(), "a recent one may belong to a save in progress"
    assert other.exists(), "another file's temporaries are left to its own saves"


# --- two processes saving one file ------------------------------------------------------------

SAVER = r"""
import pathlib, sys, time
from workbook.answers import Answers, save_answers
path, name, count, step = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
folder = pathlib.Path(path).parent
(folder / f"ready-{name}").touch()
while len(list(folder.glob("ready-*"))) < 2:  # start together, so the saves interleave
    time.sleep(0.001)
last, done = None, []
for i in range(count):
    done.append(f"{name}-{i}")
    # like the form: every save holds the whole text so far
    result = save_answers(Answers("x", {step: "\n".join(done)}), path, last_saved=last)
    last = result.payload
    print(f"{name}-{i}", flush=True)  # reported as saved only after save_answers returned
    time.sleep(0.002)  # a typing pause: gives the other process its turn
"""


def test_two_processes_saving_one_file_lose_nothing(tmp_path):
    path = tmp_path / "a.json"
    saves = 150
    go = [sys.executable, "-c", SAVER, str(path)]
    procs = [
        subprocess.Popen([*go, "A", str(saves), "user_intent"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
        subprocess.Popen([*go, "B", str(saves), "safety_checks"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
    ]
    reported = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-2000:]
        reported += out.split()
    assert len(reported) == 2 * saves
    on_disk = set()
    for kept in tmp_path.glob("*.json"):  # the file and every kept-aside copy
        for text in load_answers(kept).answers.values():
            on_disk.update(text.split("\n"))
    lost = [save for save in reported if save not in on_disk]
    assert not lost, f"{len(lost)} saves reported as done are nowhere on disk, e.g. {lost[:5]}"
    assert not list(tmp_path.glob(".*.tmp"))


def test_follow_up_replies_count_toward_their_step_wherever_answers_are_scored():
    from workbook import load_scenario, score
    from workbook.answers import FollowUp

    scenario = load_scenario("support-refund-agent")
    reply = "Refunds above $75 always wait for an agent's approval before the payments call."
    plain = Answers(scenario.id, {"tool_execution": "The assistant looks up the order first."})
    followed = Answers(scenario.id, dict(plain.answers), followups={"tool_execution": [FollowUp("Who approves big refunds?", reply)]})
    assert reply in followed.graded_text("tool_execution")
    assert score(followed, scenario).steps["tool_execution"].score > score(plain, scenario).steps["tool_execution"].score
