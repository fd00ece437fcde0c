"""The practice form and the start-notebook widgets, driven in Python without a browser.

Widgets work without a kernel (ipywidgets falls back to a dummy comm), so every
button is pressed with `.click()` and every view is read from the widget values.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import ipywidgets as W
import pytest

import workbook
from workbook import REPORT_MIME, STEP_IDS
from workbook import form as form_module
from workbook.form import PracticeForm, practice
from workbook.progress import load_history, record_attempt, summarize
from workbook.render import esc

SCENARIOS, _PROBLEMS = workbook.load_all()
SCENARIO_IDS = sorted(SCENARIOS)
FIRST = SCENARIO_IDS[0]

XSS = "<script>alert('x')</script> and <img src=x onerror=alert(1)>"
RAW_MARKERS = ("<script>alert", "<img src=x onerror")


def wait_for(condition, timeout: float = 5.0, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def build(tmp_path: Path, scenario_id: str = FIRST, **kwargs) -> PracticeForm:
    kwargs.setdefault("work_dir", tmp_path / "my-work")
    kwargs.setdefault("autosave_delay", 0.1)
    answers_path = kwargs.pop("answers_path", tmp_path / "my-work" / f"{scenario_id}.answers.json")
    form = PracticeForm(scenario_id, answers_path, **kwargs)
    return form


def html_values(widget) -> list[str]:
    """Every HTML string shown anywhere in a widget tree."""
    found = []
    if isinstance(widget, (W.HTML, W.HTMLMath)):
        found.append(widget.value)
    for child in getattr(widget, "children", ()):
        found += html_values(child)
    return found


def _rel(path: Path) -> str:
    import os

    return Path(os.path.relpath(path)).as_posix()


def reference_answers(scenario) -> dict:
    return {step: scenario.step(step).reference_answer for step in STEP_IDS}


@pytest.fixture(autouse=True)
def _no_display(monkeypatch):
    """Capture what the form would display in a notebook."""
    shown = []
    monkeypatch.setattr(form_module, "_display", shown.append)
    return shown


# --- building --------------------------------------------------------------------------------


def test_scenarios_are_available():
    assert SCENARIO_IDS, f"no scenarios loaded (problems: {_PROBLEMS})"


@pytest.mark.parametrize("scenario_id", SCENARIO_IDS)
def test_form_builds_for_every_scenario(tmp_path, scenario_id):
    form = build(tmp_path, scenario_id)
    scenario = SCENARIOS[scenario_id]
    assert esc(scenario.title) in form.brief.value
    assert len(form.tabs.children) == 7
    assert form.tabs.titles == tuple(f"{n}. {form_module.TAB_LABELS[step.id]}" for n, step in enumerate(workbook.STEPS, 1))
    assert esc(workbook.STEPS[0].title) in form.panel("user_intent").questions.value
    assert form.progress.value == 0 and form.progress.max == 7
    first = form.panel("user_intent")
    for question in scenario.step("user_intent").questions:
        assert esc(question) in first.questions.value
    assert first.text.description and first.check_button.description == "Check this step"
    assert first.reference_button.disabled


def test_only_the_open_tab_is_built(tmp_path):
    form = build(tmp_path)
    assert [p.built for p in form.panels.values()] == [True] + [False] * 6
    form.tabs.selected_index = 3
    assert form.panels["tool_execution"].built
    assert form.panels["tool_execution"].box.children  # the tab now shows the step


def test_practice_displays_the_form(tmp_path, _no_display):
    form = practice(FIRST, tmp_path / "a.json", work_dir=tmp_path)
    (shown,) = _no_display
    bundle = shown._repr_mimebundle_()
    assert shown.widget is form.widget and bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == form.widget.model_id
    assert bundle["text/plain"].startswith(f"The practice form for {FIRST}")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"grader": "no-such-grader"}, r"grader: unknown grader 'no-such-grader' \(known: .*claude.*offline"),
        ({"mode": "exam"}, "mode"),
        ({"mode": "mock", "time_limit_minutes": 0}, "time_limit_minutes"),
    ],
)
def test_bad_parameters_are_explained(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        build(tmp_path, **kwargs)


@pytest.mark.parametrize("folder", ["no-such-folder", "a-file.txt", "empty", "broken"])
def test_a_bad_exercises_folder_is_named_and_the_answers_are_kept(tmp_path, folder):
    """The notebook's `exercises` parameter: a missing folder, a file, an empty or broken folder: one error naming it."""
    from workbook.scenario import ScenarioError

    (tmp_path / "a-file.txt").write_text("not a folder", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / f"{FIRST}.yaml").write_bytes(b"id: [unclosed\n" + b"\x00" * 10_000)
    answers = tmp_path / "mine.answers.json"
    answers.write_text(json.dumps({"scenario": FIRST, "answers": {"user_intent": "kept"}}), encoding="utf-8")
    before = answers.read_bytes()
    with pytest.raises((ScenarioError, KeyError)) as raised:
        PracticeForm(FIRST, answers, exercises=tmp_path / folder, work_dir=tmp_path)
    assert folder in str(raised.value)
    assert answers.read_bytes() == before


def test_unknown_scenario_names_the_known_ones(tmp_path):
    with pytest.raises(KeyError, match=FIRST):
        build(tmp_path, "no-such-scenario")


# --- typing, hints, checking -------------------------------------------------------------------


def test_word_count_progress_and_tab_marks(tmp_path):
    form = build(tmp_path)
    panel = form.panel("user_intent")
    panel.text.value = "Lawyers review   contracts\nweekly."
    assert panel.words.value == "4 words"
    assert form.progress.value == 1 and form.progress.description == "Steps answered: 1 of 7"
    assert form.tabs.titles[0].endswith("•")
    panel.text.value = "one"
    assert panel.words.value == "1 word"
    panel.text.value = "   "
    assert form.progress.value == 0


def test_hints_are_revealed_one_at_a_time(tmp_path):
    form = build(tmp_path)
    panel = form.panel("user_intent")
    hints = list(SCENARIOS[FIRST].step("user_intent").hints)
    assert hints, "the scenario should have hints for step 1"
    for shown in range(1, len(hints) + 1):
        panel.hint_button.click()
        for n, hint in enumerate(hints):
            assert (esc(hint) in panel.hints.value) == (n < shown)
    assert panel.hint_button.disabled and panel.hint_button.description == "All hints shown"
    panel.hint_button.click()  # a stray click changes nothing
    assert panel.hints_shown == len(hints)


def test_reference_answer_opens_only_after_a_check(tmp_path):
    form = build(tmp_path)
    panel = form.panel("model_reasoning")
    reference = SCENARIOS[FIRST].step("model_reasoning").reference_answer
    assert panel.reference_button.disabled
    form.toggle_reference("model_reasoning")  # programmatic call while locked
    assert "Check this step first" in panel.reference.value
    panel.check_button.click()  # empty answer: asks for text, does not unlock
    assert "Write your answer first" in panel.feedback.value
    assert panel.reference_button.disabled and not panel.checked
    panel.text.value = "A small model drafts; a larger one reviews uncertain cases within 3 s."
    panel.check_button.click()
    assert not panel.reference_button.disabled and panel.checked
    panel.reference_button.click()
    first_paragraph = reference.strip().split("\n\n")[0].split("\n")[0]
    assert esc(first_paragraph) in panel.reference.value
    assert panel.reference_button.description == "Hide reference answer"
    panel.reference_button.click()
    assert panel.reference.value == ""


def test_check_shows_met_missing_with_probe(tmp_path):
    form = build(tmp_path)
    scenario = SCENARIOS[FIRST]
    panel = form.panel("user_intent")
    # the first sentence of the reference answer: some criteria met, others missing
    panel.text.value = scenario.step("user_intent").reference_answer.split(". ")[0] + "."
    report = form.check_step("user_intent")
    step = report.steps["user_intent"]
    assert step.criteria, "the rubric has criteria"
    for criterion in step.criteria:
        assert esc(criterion.description) in panel.feedback.value
        if not criterion.met:
            assert esc(criterion.probe) in panel.feedback.value
    assert f"{step.score:.0f}/100" in panel.feedback.value
    assert form.tabs.titles[0].endswith("✓")
    panel.text.value += " More detail."
    assert panel.check_button.description == "Check again"


def test_check_shows_anti_patterns(tmp_path):
    form = build(tmp_path)
    panel = form.panel("model_reasoning")
    panel.text.value = "We will use the biggest, most powerful model available, so it will be perfect."
    report = form.check_step("model_reasoning")
    hits = report.steps["model_reasoning"].anti_patterns
    assert hits, "reaching for the biggest model is a known anti-pattern"
    for hit in hits:
        assert esc(hit.title) in panel.feedback.value and esc(hit.better) in panel.feedback.value


# --- autosave, restore, corrupt files -------------------------------------------------------------


def test_autosave_is_debounced_and_atomic(tmp_path):
    form = build(tmp_path, autosave_delay=0.3)
    panel = form.panel("user_intent")
    for n in range(6):
        panel.text.value = "word " * (n + 1)
    assert form.pending and "Unsaved" in form.save_status.value
    assert wait_for(lambda: form.save_count == 1)
    time.sleep(0.4)
    assert form.save_count == 1, "six quick changes make one save"
    data = json.loads(form.answers_path.read_text())
    assert data["scenario"] == FIRST and data["answers"] == {"user_intent": "word " * 6}
    assert "Saved" in form.save_status.value
    assert not list(form.answers_path.parent.glob("*.tmp")), "no temporary files left behind"
    form.panel("safety_checks").text.value = "Red-team before launch."
    assert wait_for(lambda: form.save_count == 2)
    assert json.loads(form.answers_path.read_text())["answers"]["safety_checks"] == "Red-team before launch."


def test_answers_and_state_are_restored_after_a_restart(tmp_path):
    form = build(tmp_path, autosave_delay=5)
    texts = {"user_intent": "Legal ops reviewers.", "tool_execution": "Read-only tools; sending needs a lawyer's yes."}
    for step_id, text in texts.items():
        form.panel(step_id).text.value = text
    form.reveal_hint("user_intent")
    form.tabs.selected_index = 3
    form.panel("tool_execution").check_button.click()
    form.flush()  # what a kernel shutdown does (atexit) before the debounce fires
    # a "restart": a new form on the same file
    again = build(tmp_path)
    assert {s: again.panels[s].value for s in texts} == texts
    assert again.progress.value == 2
    assert again.panels["tool_execution"].checked and not again.panel("tool_execution").reference_button.disabled
    assert again.panels["user_intent"].hints_shown == 1
    assert again.tabs.selected_index == 3, "the step last opened is shown again"
    assert "Restored" in again.save_status.value


def test_learner_name_survives_saving(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"scenario": FIRST, "learner": "Ada", "answers": {"user_intent": "x"}}))
    form = build(tmp_path, answers_path=path)
    form.panel("user_intent").text.value = "x y"
    form.save()
    assert json.loads(path.read_text())["learner"] == "Ada"
    assert form.score().learner == "Ada"


def test_scenario_is_taken_from_the_answers_file(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"scenario": SCENARIO_IDS[-1], "answers": {"safety_checks": "Filters."}}))
    form = PracticeForm(None, path, work_dir=tmp_path)
    assert form.scenario.id == SCENARIO_IDS[-1] and form.panels["safety_checks"].value == "Filters."


@pytest.mark.parametrize("content", ["{not json", json.dumps({"scenario": FIRST, "answers": {"step_99": "x"}}), "\x00\xff"])
def test_corrupt_file_is_reported_kept_aside_and_never_overwritten(tmp_path, content):
    path = tmp_path / "my-work" / f"{FIRST}.answers.json"
    path.parent.mkdir(parents=True)
    path.write_text(content, encoding="utf-8", errors="surrogateescape")
    original = path.read_bytes()
    form = build(tmp_path)
    kept = list(path.parent.glob(f"{FIRST}.answers.corrupt-*.json"))
    assert len(kept) == 1 and kept[0].read_bytes() == original
    assert "could not be read" in form.notice.value and esc(kept[0].name) in form.notice.value
    assert not path.exists() and all(p.value == "" for p in form.panels.values())
    form.panel("user_intent").text.value = "Fresh start."
    form.save()
    assert json.loads(path.read_text())["answers"] == {"user_intent": "Fresh start."}
    assert kept[0].read_bytes() == original


def test_file_corrupted_while_the_form_runs_is_kept_aside(tmp_path):
    form = build(tmp_path)
    form.panel("user_intent").text.value = "First."
    form.save()
    form.answers_path.write_text("garbage written by another program")
    form.panel("user_intent").text.value = "Second."
    form.save()
    kept = list(form.answers_path.parent.glob("*.corrupt-*.json"))
    assert [p.read_text() for p in kept] == ["garbage written by another program"]
    assert json.loads(form.answers_path.read_text())["answers"]["user_intent"] == "Second."
    assert "could not be read" in form.notice.value


def test_file_changed_outside_the_form_is_kept_aside(tmp_path):
    form = build(tmp_path)
    form.panel("user_intent").text.value = "Mine."
    form.save()
    other = {"scenario": FIRST, "learner": None, "answers": {"user_intent": "Edited elsewhere."}}
    form.answers_path.write_text(json.dumps(other))
    form.panel("user_intent").text.value = "Mine, longer."
    form.save()
    kept = list(form.answers_path.parent.glob("*.changed-*.json"))
    assert len(kept) == 1 and json.loads(kept[0].read_text())["answers"]["user_intent"] == "Edited elsewhere."
    assert "changed outside this form" in form.notice.value


def test_answers_file_of_another_scenario_is_left_alone(tmp_path):
    path = tmp_path / "other.json"
    content = json.dumps({"scenario": SCENARIO_IDS[-1], "answers": {"user_intent": "theirs"}})
    path.write_text(content)
    form = build(tmp_path, SCENARIO_IDS[0], answers_path=path)
    form.panel("user_intent").text.value = "mine"
    assert form.save() is False
    assert path.read_text() == content
    assert "not saving" in form.save_status.value.lower() and esc(SCENARIO_IDS[-1]) in form.notice.value


def test_a_new_form_flushes_and_retires_the_old_one(tmp_path):
    old = build(tmp_path, autosave_delay=30)
    old.panel("user_intent").text.value = "Typed just before re-running the cell."
    assert old.pending
    new = build(tmp_path)
    assert new.panels["user_intent"].value == "Typed just before re-running the cell."
    assert "newer form" in old.notice.value and old.panel("user_intent").text.disabled


def test_pending_save_is_flushed_when_the_kernel_exits(tmp_path):
    code = f"""
from workbook.form import PracticeForm
form = PracticeForm({FIRST!r}, {str(tmp_path / 'a.json')!r}, work_dir={str(tmp_path)!r}, autosave_delay=60)
form.panel('user_intent').text.value = 'saved at exit'
"""
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert json.loads((tmp_path / "a.json").read_text())["answers"] == {"user_intent": "saved at exit"}


# --- whole design, history, exports ----------------------------------------------------------------


def test_score_whole_design_records_history_and_exports(tmp_path):
    form = build(tmp_path)
    scenario = SCENARIOS[FIRST]
    for step_id, text in reference_answers(scenario).items():
        form.panels[step_id].value = text
    form.panel("user_intent").text.value = "Too short."
    form.score_button.click()
    report = form.last_report
    assert report is not None and f"{report.total:.0f}" in form.report_view.value
    for step in report.steps.values():  # the chart: one labelled bar per step
        assert f"aria-label='{esc(step.title)}: {step.score:.0f} of 100'" in form.report_view.value
    improvements = report.improvements()
    assert improvements and len(improvements) <= 3
    for move in improvements:
        assert esc(move) in form.report_view.value
    attempts, skipped = load_history(tmp_path / "my-work")
    assert skipped == 0 and [(a.scenario, a.total, a.mode) for a in attempts] == [(FIRST, report.total, "practice")]
    form.export_button.click()
    html_file = tmp_path / "my-work" / f"{FIRST}-design.html"
    md_file = tmp_path / "my-work" / f"{FIRST}-design.md"
    assert html_file.read_text().startswith("<!doctype html>") and md_file.is_file()
    assert "saved to" in form.export_status.value and f"href='{esc(_rel(html_file))}'" in form.export_status.value


def test_show_report_displays_the_cli_json(tmp_path, _no_display, capsys):
    form = build(tmp_path)
    form.panel("user_intent").text.value = "Contract managers triage 350 contracts a month."
    form.save()
    form.show_report()
    (shown,) = _no_display
    bundle = shown._repr_mimebundle_()
    from workbook.cli import main

    assert main(["score", str(form.answers_path), "--format", "json"]) == 0
    assert bundle[REPORT_MIME] == json.loads(capsys.readouterr().out)


# --- mock mode --------------------------------------------------------------------------------------


def test_mock_mode_expires_scores_and_records_time(tmp_path):
    form = build(tmp_path, mode="mock", time_limit_minutes=0.01)  # 0.6 s
    panel = form.panel("user_intent")
    assert panel.text.disabled and panel.buttons.layout.display == "none", "no hints or feedback during a mock"
    assert "Start the clock" in form.start_button.description
    form.start_button.click()
    assert not panel.text.disabled and "left" in form.timer.value
    panel.text.value = "Reviewers of inbound contracts."
    assert form.mock_scored.wait(timeout=10)
    assert "Time is up" in form.timer.value and "0:01 of 0:01" in form.timer.value
    assert panel.text.disabled, "answers are locked when the time is up"
    assert panel.buttons.layout.display == "flex", "feedback opens after the mock"
    assert "scored as they stood" in form.report_view.value
    (attempt,) = load_history(tmp_path / "my-work")[0]
    assert attempt.mode == "mock" and attempt.time_used_seconds == pytest.approx(0.6, abs=0.05)
    assert attempt.total == form.last_report.total
    assert json.loads(form.answers_path.read_text())["answers"] == {"user_intent": "Reviewers of inbound contracts."}


def test_mock_clock_survives_a_restart_and_can_finish_early(tmp_path):
    form = build(tmp_path, mode="mock", time_limit_minutes=10)
    form.start_mock()
    form.panel("user_intent").text.value = "Started."
    form.close()  # the kernel goes away
    again = build(tmp_path, mode="mock", time_limit_minutes=10)
    assert again.clock.status == "running" and "left" in again.timer.value
    assert again.panels["user_intent"].value == "Started."
    report = again.finish_mock()
    assert report is not None and again.mock_finished
    (attempt,) = load_history(tmp_path / "my-work")[0]
    assert 0 <= attempt.time_used_seconds < 60 and attempt.time_limit_minutes == 10
    # a new attempt keeps the finished one aside and starts blank
    again.new_attempt_button.click()
    assert all(p.value == "" for p in again.panels.values()) and again.clock.status == "ready"
    assert len(list(again.answers_path.parent.glob("*.attempt-*.json"))) == 1


def test_mock_that_ran_out_while_closed_is_scored_on_open(tmp_path):
    form = build(tmp_path, mode="mock", time_limit_minutes=1)
    form.start_mock()
    form.close()
    state = json.loads(form.state_path.read_text())
    state["mock"]["started_at"] -= 3600
    form.state_path.write_text(json.dumps(state))
    again = build(tmp_path, mode="mock", time_limit_minutes=1)
    assert again.mock_finished and "while the notebook was closed" in again.timer.value
    (attempt,) = load_history(tmp_path / "my-work")[0]
    assert attempt.time_used_seconds == 60


# --- escaping -----------------------------------------------------------------------------------


def test_learner_text_is_escaped_in_every_view(tmp_path, _no_display):
    form = build(tmp_path)
    for step_id in STEP_IDS:
        form.panel(step_id).text.value = f"For {step_id}: {XSS}. We will use the biggest model. {XSS}"
    for step_id in STEP_IDS:
        form.check_step(step_id)
        form.toggle_reference(step_id)
    form.score_all()
    form.export_design()
    form.show_report()
    views = html_values(form.widget)
    views.append((tmp_path / "my-work" / f"{FIRST}-design.html").read_text())
    views.append(_no_display[-1]._repr_mimebundle_()["text/html"])
    shown = "\n".join(views)
    assert "&lt;script&gt;" in shown or "&lt;img" in shown, "the learner's text is shown (escaped)"
    for view in views:
        for marker in RAW_MARKERS:
            assert marker not in view
    markdown = (tmp_path / "my-work" / f"{FIRST}-design.md").read_text()
    for marker in RAW_MARKERS:
        assert marker not in markdown


def test_notices_escape_file_names(tmp_path):
    path = tmp_path / "<img src=x onerror=alert(1)>.json"
    path.write_text("{broken")
    form = build(tmp_path, answers_path=path)
    for view in html_values(form.widget):
        for marker in RAW_MARKERS:
            assert marker not in view
    assert "&lt;img src=x onerror=alert(1)&gt;" in form.notice.value


# --- history and the start notebook ------------------------------------------------------------------


def test_history_survives_a_partial_line(tmp_path):
    report = workbook.score({"scenario": FIRST, "answers": {}})
    record_attempt(report, tmp_path)
    with open(tmp_path / "history.jsonl", "a") as stream:
        stream.write('{"scenario": "half a li')  # a crash mid-append
    record_attempt(report, tmp_path, mode="mock", time_used_seconds=125)
    attempts, skipped = load_history(tmp_path)
    assert [a.mode for a in attempts] == ["practice", "mock"] and skipped == 1
    rows, _ = summarize(tmp_path, SCENARIOS)
    row = next(r for r in rows if r.scenario == FIRST)
    assert (row.attempts, row.best, row.mock_attempts, row.mock_best, row.to_row()["mock_time"]) == (1, report.total, 1, report.total, "2:05")
    assert {r.scenario for r in rows} == set(SCENARIOS)


def test_progress_panel_shows_every_scenario(tmp_path):
    from workbook.start import progress_panel

    panel = progress_panel(work_dir=tmp_path, display=False)
    assert "No scored attempts yet" in panel.view.value
    for scenario in SCENARIOS.values():
        assert esc(scenario.title) in panel.view.value
    scenario = SCENARIOS[FIRST]
    report = workbook.score({"scenario": FIRST, "answers": reference_answers(scenario)})
    record_attempt(report, tmp_path)
    record_attempt(workbook.score({"scenario": FIRST, "answers": {}}), tmp_path)
    panel.refresh_button.click()
    assert f"aria-label='{esc(scenario.title)}: best {report.total:.0f} of 100'" in panel.view.value
    assert "1 of " in panel.view.value and "2 practice and 0 mock attempts" in panel.view.value


def test_scenario_picker_filters_and_prepares_a_notebook(tmp_path, monkeypatch):
    from workbook.start import ALL_LEVELS, scenario_picker

    monkeypatch.chdir(tmp_path)
    picker = scenario_picker(work_dir=tmp_path / "my-work", display=False)
    assert set(picker.choice.options and [v for _, v in picker.choice.options]) == set(SCENARIOS)
    for level in picker.level.options:
        picker.level.value = level
        shown = {v for _, v in picker.choice.options}
        assert shown == {s.id for s in SCENARIOS.values() if level == ALL_LEVELS or s.level == level}
        assert esc(SCENARIOS[picker.choice.value].title) in picker.brief.value
    picker.level.value = ALL_LEVELS
    picker.choice.value = FIRST
    picker.mode.value = "mock"
    assert picker.minutes.layout.display == "flex"
    picker.minutes.value = 30
    picker.prepare_button.click()
    path = tmp_path / "my-work" / f"{FIRST}-mock.ipynb"
    assert picker.last_path == path and path.is_file()
    assert "href='my-work/" in picker.last_link_html and "ready" in picker.status.value
    nb = json.loads(path.read_text())
    (cell,) = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
    assert not [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])], "one parameters cell"
    source = "".join(cell["source"])
    assert f'scenario_id = "{FIRST}"' in source and 'mode = "mock"' in source and "time_limit_minutes = 30" in source
    assert f'answers_path = "{FIRST}-mock.answers.json"' in source
    assert all(c.get("outputs", []) == [] for c in nb["cells"])
    path.write_text(path.read_text().replace("Design loop practice", "Design loop practice (my notes)"))
    picker.prepare()  # a second press keeps the learner's copy
    assert "my notes" in path.read_text() and "already have" in picker.status.value


# --- import weight ---------------------------------------------------------------------------------


def test_import_workbook_stays_light():
    code = (
        "import sys, workbook, workbook.progress, workbook.notebooks, workbook.render;"
        "heavy = [m for m in ('ipywidgets', 'papermill', 'nbformat', 'matplotlib', 'anthropic') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == ""


def test_the_form_is_made_without_importing_the_scorer(tmp_path):
    """The grader's name is checked against the registry; its module (and the scorer's patterns) load in warm_up."""
    code = f"""
import sys
from workbook.form import PracticeForm
form = PracticeForm({FIRST!r}, {str(tmp_path / 'a.json')!r}, work_dir={str(tmp_path)!r})
loaded = [m for m in ('workbook.scoring', 'workbook.exclusions', 'workbook.graders.offline') if m in sys.modules]
assert not loaded, loaded
form.warm_up()
form._warm.join(30)
assert 'workbook.graders.offline' in sys.modules and form._grader_obj is not None
"""
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    with pytest.raises(ValueError, match="grader: unknown grader 'nope'"):
        build(tmp_path, grader="nope")


def test_a_grader_that_cannot_be_loaded_falls_back_to_offline_with_a_notice(tmp_path, _no_display):
    from workbook.graders import graders

    graders.register("broken-for-test", "workbook.no_such_module:Grader")
    try:
        form = build(tmp_path, grader="broken-for-test")  # the name is known: the form is made
        form.panel("user_intent").text.value = "Support agents at a 40-person team; success is 30% fewer escalations."
        form.show_report()
    finally:
        graders._factories.pop("broken-for-test", None)
    notes, live = _no_display
    assert "broken-for-test grader is not available" in notes._repr_mimebundle_()["text/plain"]
    assert live.report is not None and live.report.grader == "offline", "the offline scorer graded it"


def widget_ids(widget) -> set[str]:
    """The models a widget tree opens: the widget, its layout and style, and every child's."""
    found = {widget.model_id}
    for name in ("layout", "style"):
        part = getattr(widget, name, None)
        if isinstance(part, W.Widget):
            found.add(part.model_id)
    for child in getattr(widget, "children", ()):
        found |= widget_ids(child)
    return found


def test_the_transfer_panel_opens_on_a_click(tmp_path):
    from workbook.transfer import transfer_panel

    form = build(tmp_path)
    form.panel("user_intent").text.value = "Support agents at a 40-person team."
    panel = transfer_panel(form, display=False)
    closed = widget_ids(panel.widget)
    assert "Keep your work" in panel.widget.children[0].value and not panel.opened
    assert len(closed) <= 7, "closed, the panel is the intro and one button"
    panel.open_button.click()
    assert panel.opened and len(widget_ids(panel.widget)) > len(closed)
    panel.answers_button.click()
    assert "download=" in panel.link.value and "wb-download" in panel.link.value
    # code that touches a part opens the panel too
    other = transfer_panel(form, display=False)
    other.restore(b"not json", "mine.json")
    assert other.opened and "Not restored" in other.status.value


def test_show_report_repeats_problems_for_batch_runs(tmp_path, _no_display):
    path = tmp_path / "broken.json"
    path.write_text("{broken")
    form = build(tmp_path, answers_path=path)
    form.show_report()
    notes, report = _no_display
    bundle = notes._repr_mimebundle_()
    assert "not a workbook answers file" in bundle["text/plain"] and "left untouched" in bundle["text/html"]
    assert path.read_text() == "{broken", "someone else's file is never moved or overwritten"
    assert report.report.total == 0


def test_timers_do_not_keep_the_process_alive(tmp_path):
    """A running mock clock and a pending autosave must not stop a kernel from exiting."""
    code = f"""
from workbook.form import PracticeForm
form = PracticeForm({FIRST!r}, {str(tmp_path / 'a.json')!r}, work_dir={str(tmp_path)!r}, mode='mock', time_limit_minutes=60, autosave_delay=600)
form.start_mock()
form.panel('user_intent').text.value = 'typing'
assert form._countdown.thread.is_alive() and form.pending
"""
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
    assert time.monotonic() - started < 15
    assert json.loads((tmp_path / "a.json").read_text())["answers"] == {"user_intent": "typing"}
