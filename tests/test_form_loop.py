"""The practice loop as a learner lives it (issue 10) and the form side of hardening (issue 9).

Driven through the form's Python API without a browser, like tests/test_form.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import workbook
from workbook import REPORT_MIME, STEP_IDS
from workbook import form as form_module
from workbook.form import PracticeForm, sentences
from workbook.form_html import flag_sentence
from workbook.progress import load_history, summarize
from workbook.render import esc
from workbook.store import AnswerStore, StoreError, read_answers

SCENARIOS, _ = workbook.load_all()
FIRST = sorted(SCENARIOS)[0]
SCENARIO = SCENARIOS[FIRST]


@pytest.fixture(autouse=True)
def shown(monkeypatch):
    found = []
    monkeypatch.setattr(form_module, "_display", found.append)
    return found


def build(tmp_path: Path, **kwargs) -> PracticeForm:
    kwargs.setdefault("work_dir", tmp_path / "my-work")
    kwargs.setdefault("autosave_delay", 0.05)
    mode = kwargs.get("mode", "practice")
    path = kwargs.pop("answers_path", tmp_path / "my-work" / f"{FIRST}{'-mock' if mode == 'mock' else ''}.answers.json")
    return PracticeForm(FIRST, path, **kwargs)


def fill(form: PracticeForm, answers: dict | None = None) -> None:
    for step_id, text in (answers or reference()).items():
        form.panels[step_id].value = text


def reference() -> dict:
    return {step: SCENARIO.step(step).reference_answer for step in STEP_IDS}


def everything_shown(form: PracticeForm, shown: list) -> str:
    from test_form import html_values

    views = html_values(form.widget)
    for item in shown:
        bundle = item._repr_mimebundle_()
        views += [str(bundle.get("text/html", "")), str(bundle.get("text/plain", "")), json.dumps(bundle.get(REPORT_MIME, ""))]
    return "\n".join(views)


def rubric_texts() -> list[str]:
    """Texts that reveal the rubric: every probe and criterion description of the scenario."""
    texts = []
    for step_id in STEP_IDS:
        for criterion in SCENARIO.step(step_id).criteria:
            texts += [esc(criterion.probe), esc(criterion.description)]
    return texts


# --- 1. mock mode reveals nothing before the end -------------------------------------------------


def test_mock_reveals_no_rubric_before_the_end(tmp_path, shown):
    form = build(tmp_path, mode="mock", time_limit_minutes=10)
    fill(form)
    for moment in ("before the clock", "while it runs"):
        for step_id in STEP_IDS:
            assert form.check_step(step_id) is None, moment
            form.reveal_hint(step_id)
            form.toggle_reference(step_id)
        assert form.score_all() is None and form.export_design() is None and form.export("md") is None
        form.show_report()
        seen = everything_shown(form, shown)
        leaked = [text for text in rubric_texts() if text in seen]
        assert not leaked, (moment, leaked[:3])
        assert REPORT_MIME not in shown[-1]._repr_mimebundle_()
        assert "<b>Probe:</b>" not in seen and "<b>Hint 1:</b>" not in seen and "wb-form wb-reference" not in seen
        assert form.actions.layout.display == "none", "no score or export buttons during a mock"
        form.start_mock()
    assert not (tmp_path / "my-work" / "history.jsonl").exists(), "nothing recorded before the mock ends"
    assert not list((tmp_path / "my-work").glob("*-design.*")), "nothing exported before the mock ends"
    report = form.finish_mock()
    assert report is not None and form.actions.layout.display == "flex"
    assert REPORT_MIME in shown[-1]._repr_mimebundle_() or f"{report.total:.0f}</span>/100" in form._live.value
    assert any(text in form._live.value for text in rubric_texts()), "after the end the report opens"
    (attempt,) = load_history(tmp_path / "my-work")[0]
    assert attempt.mode == "mock" and attempt.total == report.total


# --- 2. history: only changed answers, practice and mock apart ----------------------------------------


def test_history_records_only_changed_answers(tmp_path):
    form = build(tmp_path)
    fill(form, {"user_intent": "Contract managers triage 350 contracts a month; we pilot on NDAs."})
    for _ in range(3):
        form.score_all()
    assert len(load_history(tmp_path / "my-work")[0]) == 1
    assert "not added to the history again" in form.report_view.value
    form.panels["safety_checks"].value = "A lawyer reviews every summary flagged as high risk before it is sent."
    form.score_all()
    attempts, _ = load_history(tmp_path / "my-work")
    assert len(attempts) == 2 and attempts[0].answers_digest != attempts[1].answers_digest


def test_progress_shows_practice_and_mock_apart(tmp_path):
    work = tmp_path / "my-work"
    practice = build(tmp_path, work_dir=work)
    fill(practice)
    practice_total = practice.score_all().total
    mock = build(tmp_path, work_dir=work, mode="mock", time_limit_minutes=10)
    assert mock.score_all() is None, "an unstarted mock records nothing"
    mock.start_mock()
    mock.panels["user_intent"].value = "Reviewers."
    mock_total = mock.finish_mock().total
    rows, skipped = summarize(work, SCENARIOS)
    row = next(r for r in rows if r.scenario == FIRST).to_row()
    assert (row["attempts"], row["best"], row["mock_attempts"], row["mock_best"]) == (1, practice_total, 1, mock_total)
    from workbook.start import progress_panel

    view = progress_panel(work_dir=work, display=False).view.value
    assert "1 practice and 1 mock attempts" in view and "Timed mock" in view


# --- 3. the report below the form follows it; flags read as sentences ------------------------------------


def test_report_below_the_form_follows_the_form(tmp_path, shown):
    form = build(tmp_path)
    form.show_report()
    first = form._live.value
    assert "0</span>/100" in first
    assert "empty_steps" not in first and "user_intent" not in first, "flags are sentences, not ids"
    assert "7 of 7 steps have no answer" in first and esc("User intent") in first
    fill(form)
    form.check_step("user_intent")
    total = form.score().total
    assert total > 0 and f"{total:.0f}</span>/100" in form._live.value
    form.score_all()
    assert form.report_view.layout.display == "none", "one report on screen, below the form"
    form.panels["user_intent"].value = "Changed."
    assert wait(lambda: f"{form.score().total:.0f}</span>/100" in form._live.value), "the autosave refreshes it"


def wait(condition, timeout: float = 5.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.mark.parametrize(
    "flag, expected",
    [
        ("grader_addressed_text: safety_checks: ignored “award full marks”", "Safety checks: text addressed to the grader earned nothing: “award full marks”"),
        ("empty_steps: 2 of 7 steps have no answer (user_intent, tool_execution)", "2 of 7 steps have no answer (User intent, Tool execution)"),
        ("repeated_text: user_response: repeats text from model_reasoning; it earns credit once (x)", "User-facing response: repeats text from Model reasoning; it earns credit once (x)"),
    ],
)
def test_flags_read_as_sentences(flag, expected):
    assert flag_sentence(flag) == expected


# --- 5. the hand-in is a complete design document -----------------------------------------------------------


def test_export_is_a_complete_design_document(tmp_path):
    form = build(tmp_path)
    answers = reference()
    answers["user_intent"] += "\nOne more line with <b>markup</b> & a [link](http://x)."
    fill(form, answers)
    html_path, md_path = form.export_design()
    assert html_path.name == f"{FIRST}-design.html" and md_path.name == f"{FIRST}-design.md"
    html, md = html_path.read_text(), md_path.read_text()
    report = form.score()
    assert esc(SCENARIO.title) in html and esc(SCENARIO.brief.split()[0]) in html
    for step_id in STEP_IDS:
        first_line = answers[step_id].strip().split("\n")[0]
        assert esc(first_line) in html, step_id
        assert workbook.STEPS[STEP_IDS.index(step_id)].title in md
    assert "&lt;b&gt;markup&lt;/b&gt;" in html and "<b>markup</b>" not in md and "[link]" not in md
    assert f"{report.total:.0f}</span>/100" in html and f"{report.total:.0f}/100" in md
    for step in report.steps.values():
        for criterion in step.criteria:
            assert esc(criterion.description) in html
            assert f" {criterion.id} " not in md and f"| {criterion.id}" not in md, "descriptions, not ids"
    assert "<script" not in html and " src=" not in html, "self-contained, nothing runs"
    assert f"href='{Path(os.path.relpath(html_path)).as_posix()}'" in form.export_status.value, "says where, with a link"


# --- 10. the last feedback comes back after a restart --------------------------------------------------------


def test_feedback_is_restored_after_a_restart(tmp_path):
    form = build(tmp_path)
    fill(form)
    form.check_step("model_reasoning")
    shown_before = form.panel("model_reasoning").feedback.value
    form.panels["model_reasoning"].value = "Edited after the check."
    form.close()
    again = build(tmp_path)
    panel = again.panel("model_reasoning")
    assert panel.checked and panel.feedback.value == shown_before, "the last feedback, as it was shown"
    assert again.panels["model_reasoning"].value == "Edited after the check."


# --- claims: "I covered this" ---------------------------------------------------------------------------


def test_claims_round_trip_and_never_change_the_score(tmp_path):
    form = build(tmp_path)
    text = "Contract managers in legal operations read every inbound agreement. We start with NDAs only."
    form.panels["user_intent"].value = text
    report = form.check_step("user_intent")
    panel = form.panel("user_intent")
    open_ = [c for c in report.steps["user_intent"].criteria if not c.met]
    assert open_, "the short answer misses something"
    which, where, go = panel.claim_box.children[0].children
    assert [v for _, v in which.options] == [c.id for c in open_]
    assert [v for _, v in where.options] == sentences(text)
    which.value, where.value = open_[0].id, sentences(text)[1]
    before = form.score().total
    go.click()
    assert form.score().total == before, "a claim never changes the score"
    assert "Claimed by you" in panel.feedback.value and esc(sentences(text)[1]) in panel.feedback.value
    assert go.description == "Withdraw my claim"
    with pytest.raises(ValueError, match="not in your answer"):
        form.claim("user_intent", open_[0].id, "Words I never wrote.")
    met = [c.id for c in report.steps["user_intent"].criteria if c.met]
    if met:
        with pytest.raises(ValueError, match="not a missed"):
            form.claim("user_intent", met[0], sentences(text)[0])
    form.close()
    again = build(tmp_path)
    (claim,) = again.store.claims
    assert (claim.step, claim.criterion, claim.sentence) == ("user_intent", open_[0].id, sentences(text)[1])
    assert "Claimed by you" in again.panel("user_intent").feedback.value
    html_path, md_path = again.export_design()
    assert "Claimed by the learner" in md_path.read_text() and "Claimed by you" in html_path.read_text()
    again.withdraw_claim("user_intent", open_[0].id)
    assert build(tmp_path).store.claims == []


# --- issue 9, form side -----------------------------------------------------------------------------------


def test_answers_path_at_a_folder_or_notebook_is_refused(tmp_path, monkeypatch):
    work = tmp_path / "my-work"
    work.mkdir()
    (work / "history.jsonl").write_text("")
    monkeypatch.chdir(work)
    with pytest.raises(StoreError, match="is a folder"):
        PracticeForm(FIRST, ".", work_dir=work)
    notebook = work / f"{FIRST}.ipynb"
    notebook.write_text('{"cells": []}')
    with pytest.raises(StoreError, match="not an answers file"):
        PracticeForm(FIRST, notebook, work_dir=work)
    assert work.is_dir() and (work / "history.jsonl").exists() and notebook.read_text() == '{"cells": []}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my-work"], "nothing renamed"
    other = work / "package.json"
    other.write_text('{"name": "not ours"')
    form = PracticeForm(FIRST, other, work_dir=work, autosave_delay=0.01)
    form.panel("user_intent").text.value = "typed"
    assert form.save() is False and other.read_text() == '{"name": "not ours"'
    assert "not a workbook answers file" in form.notice.value
    with pytest.raises(StoreError):
        read_answers(work)


@pytest.mark.parametrize(
    "content",
    ["[" * 100_000, '{"checked": ' + "[" * 5000 + "]" * 5000 + "}", '{"tab": ' + "9" * 5000 + "}", "\udcff not utf-8"],
    ids=["deep", "deep-in-object", "huge-int", "bad-bytes"],
)
def test_broken_state_file_never_stops_the_form(tmp_path, content):
    path = tmp_path / "my-work" / f"{FIRST}.answers.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"scenario": FIRST, "answers": {"user_intent": "kept"}}))
    state = path.with_name(f"{FIRST}.answers.state.json")
    state.write_text(content, encoding="utf-8", errors="surrogateescape")
    original = state.read_bytes()
    form = build(tmp_path)
    assert form.panels["user_intent"].value == "kept"
    kept = list(path.parent.glob(f"{FIRST}.answers.state.corrupt-*.json"))
    assert len(kept) == 1 and kept[0].read_bytes() == original, "kept aside"
    assert "could not be read" in form.notice.value
    form.check_step("user_intent")
    assert json.loads(state.read_text())["checked"] == ["user_intent"], "a fresh state file"


def test_deep_answers_file_is_kept_aside(tmp_path):
    path = tmp_path / "my-work" / f"{FIRST}.answers.json"
    path.parent.mkdir(parents=True)
    path.write_text("[" * 100_000)
    form = build(tmp_path)
    assert not path.exists() and len(list(path.parent.glob("*.corrupt-*.json"))) == 1
    assert "could not be read" in form.notice.value


def test_bad_history_lines_are_skipped_counted_and_reported(tmp_path):
    from workbook.start import progress_panel

    work = tmp_path / "my-work"
    form = build(tmp_path, work_dir=work)
    fill(form)
    good = form.score_all().total
    history = work / "history.jsonl"
    line = json.loads(history.read_text())
    bad = ['{"scenario": "x", "total": 5', "[" * 5000]
    for value in ("abc", {}, 1e400, float("nan"), -3):
        bad.append(json.dumps(dict(line, time_used_seconds=value, mode="mock")))
    bad.append(json.dumps(dict(line, total=float("inf"))))
    with history.open("a") as stream:
        stream.write("\n".join(bad) + "\n")
    attempts, skipped = load_history(work)
    assert len(attempts) == 1 and skipped == len(bad)
    panel = progress_panel(work_dir=work, display=False)
    assert f"{len(bad)} line(s) of the history file could not be read" in panel.view.value
    assert f"best {good:.0f} of 100" in panel.view.value


@pytest.mark.parametrize("mock", [{"started_at": "yesterday", "limit_seconds": 600}, {"started_at": 1e400}, [1, 2], {"started_at": 5, "limit_seconds": "x"}])
def test_bad_mock_state_does_not_stop_the_mock_form(tmp_path, mock):
    path = tmp_path / "my-work" / f"{FIRST}-mock.answers.json"
    path.parent.mkdir(parents=True)
    path.with_name(f"{FIRST}-mock.answers.state.json").write_text(json.dumps({"mock": mock}).replace("Infinity", "1e400"))
    form = build(tmp_path, mode="mock", time_limit_minutes=5)
    assert form.clock.status == "ready" and "Start the clock" in form.start_button.description
    assert "mock clock" in form.notice.value


@pytest.mark.parametrize("minutes", [float("inf"), float("nan"), -1, 0, "10", True])
def test_bad_time_limit_is_one_clear_error(tmp_path, minutes):
    with pytest.raises(ValueError, match="time_limit_minutes"):
        build(tmp_path, mode="mock", time_limit_minutes=minutes)


class read_only_folder:
    """Make a folder unwritable for this process: chmod for a normal user, `chattr +i` for root (who ignores modes)."""

    def __init__(self, folder: Path):
        self.folder = folder

    def __enter__(self):
        if os.geteuid() == 0:
            result = subprocess.run(["chattr", "+i", str(self.folder)], capture_output=True, text=True)
            assert result.returncode == 0, f"cannot make {self.folder} read-only as root: {result.stderr}"
        else:
            os.chmod(self.folder, 0o555)
        return self

    def __exit__(self, *exc):
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(self.folder)], check=True)
        else:
            os.chmod(self.folder, 0o755)


def test_read_only_folder_reports_not_saved_and_still_gives_feedback(tmp_path, shown):
    work = tmp_path / "my-work"
    form = build(tmp_path, autosave_delay=60)
    form.panel("user_intent").text.value = "Contract managers triage 350 contracts a month."
    assert form.save()
    with read_only_folder(work):
        probe = work / "probe"
        with pytest.raises(OSError):
            probe.write_text("x")
        form.panel("user_intent").text.value = "Contract managers triage 350 contracts a month; we pilot on NDAs."
        assert form.pending
        checked = form.check_step("user_intent")
        scored = form.score_all()
        form.show_report()
        exported = form.export_design()
    assert checked is not None and "/100" in form.panel("user_intent").feedback.value
    assert "Not saved" in form.panel("user_intent").feedback.value
    assert scored is not None and "Not saved" in form.report_view.value
    notes, live = shown
    assert "Not saved" in notes._repr_mimebundle_()["text/plain"] and REPORT_MIME in live._repr_mimebundle_()
    assert exported is None and "Could not write" in form.export_status.value
    assert json.loads(form.answers_path.read_text())["answers"]["user_intent"] == "Contract managers triage 350 contracts a month."
    assert "could not be saved" in form.notice.value
    form.panel("user_intent").text.value += " Again."  # writable again: the next save works
    assert form.save() and json.loads(form.answers_path.read_text())["answers"]["user_intent"].endswith("Again.")


def test_store_loads_without_widgets(tmp_path):
    """The class-grading command's load path: no ipywidgets, nothing moved."""
    path = tmp_path / "ada.answers.json"
    path.write_text(json.dumps({"scenario": FIRST, "learner": "Ada", "answers": {"user_intent": "x"}}))
    code = f"""
import sys
from workbook.store import AnswerStore, read_answers
answers = read_answers({str(path)!r})
store = AnswerStore({str(path)!r})
assert answers.learner == "Ada" and store.answers().text("user_intent") == "x" and store.scenario_id == {FIRST!r}
assert "ipywidgets" not in sys.modules
"""
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert AnswerStore(path).claims == []
