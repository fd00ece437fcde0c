"""`workbook grade`: a mixed class folder end to end, overrides, the safety rules, and --jobs.

Every test runs the real command (`cli.main`) on real files; nothing is mocked.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
from pathlib import Path

import pytest

import workbook
from workbook.carry import ANSWERS_MIME, answers_from_notebook
from workbook.classroom.demo import answers_for, make_class, notebook_json
from workbook.classroom.pages import report_name, safe_stem
from workbook.cli import main
from workbook.steps import STEP_IDS

pytestmark = pytest.mark.usefixtures("jupyter_env")  # matplotlib's cache goes to a temporary folder, not $HOME

SCENARIOS, _ = workbook.load_all()
FIRST = sorted(SCENARIOS)[0]
SECOND = sorted(SCENARIOS)[1]


def reference(scenario_id: str) -> dict:
    scenario = SCENARIOS[scenario_id]
    return {step: scenario.step(step).reference_answer for step in STEP_IDS}


def write_json(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def grade(*args: str) -> int:
    return main(["grade", *map(str, args)])


def first_missed_criterion(scenario_id: str, answers: dict) -> tuple[str, str, str]:
    """A (step, criterion id, sentence of the answer) the offline grader does not credit."""
    report = workbook.score({"scenario": scenario_id, "answers": answers})
    for step in report.steps.values():
        for criterion in step.criteria:
            if not criterion.met and answers.get(step.step):
                return step.step, criterion.id, answers[step.step].split(".")[0].strip()
    raise AssertionError("every criterion met")


@pytest.fixture
def mixed_class(tmp_path) -> dict:
    """Answers files and notebooks, a duplicate, a corrupt and an oversize file, a contested miss."""
    folder = tmp_path / "submissions"
    ada = {"user_intent": reference(FIRST)["user_intent"], "safety_checks": "We will make sure it is safe."}
    step, criterion, sentence = first_missed_criterion(FIRST, ada)
    write_json(folder / "ada.answers.json", {
        "scenario": FIRST, "learner": "Ada", "answers": ada,
        "claims": [{"step": step, "criterion": criterion, "sentence": sentence}], "saved_at": "2026-01-10T09:00:00+0000",
    })
    # Ada again, later, as a saved notebook: this one wins for FIRST
    later = dict(ada, tool_execution=reference(FIRST)["tool_execution"])
    payload = {"scenario": FIRST, "learner": "Ada", "answers": later,
               "claims": [{"step": step, "criterion": criterion, "sentence": sentence}], "saved_at": "2026-01-12T09:00:00+0000"}
    (folder / "ada").mkdir(parents=True)
    (folder / "ada" / f"{FIRST}.ipynb").write_text(notebook_json(payload), encoding="utf-8")
    # Grace: a notebook without a learner name: the folder name is the learner
    (folder / "grace").mkdir()
    (folder / "grace" / f"{SECOND}.ipynb").write_text(notebook_json({"scenario": SECOND, "answers": reference(SECOND)}), encoding="utf-8")
    # Linus: an answers file without a name: the file name is the learner
    write_json(folder / "linus.json", {"scenario": SECOND, "answers": {"user_intent": "Support agents, a narrow pilot."}})
    (folder / "broken.answers.json").write_text('{"scenario": "x", "answers": {', encoding="utf-8")
    (folder / "huge.answers.json").write_bytes(b'{"scenario": "' + b"a" * (3 * 1024 * 1024) + b'"}')
    (folder / "empty.ipynb").write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    overrides = tmp_path / "overrides.csv"
    overrides.write_text(
        "learner,scenario,step,score,comment\n"
        f"Ada,{FIRST},safety_checks,55,@mechanism\n"
        f"Ada,{FIRST},,,Good start: see me about the rollout.\n"
        f"Nobody,{FIRST},user_intent,90,a learner not in the class\n"
        f"Ada,{FIRST},no_such_step,10,\n",
        encoding="utf-8",
    )
    comments = write_json(tmp_path / "comments.json", {"mechanism": "Name the mechanism: who checks, when, and what happens next."})
    return {"folder": folder, "overrides": overrides, "comments": comments, "contested": (step, criterion)}


def test_mixed_class_end_to_end(mixed_class, tmp_path, capsys):
    out = tmp_path / "graded"
    code = grade(mixed_class["folder"], "--out", out, "--overrides", mixed_class["overrides"], "--comments", mixed_class["comments"])
    captured = capsys.readouterr()
    assert code == 3, "partial: some submissions and override rows are in errors.csv"
    assert "grading: 7/7" in captured.err
    assert sorted(p.name for p in out.iterdir()) == ["canvas.csv", "charts", "errors.csv", "gradebook.csv", "reports", "summary.json", "superseded.csv"]

    book = read_csv(out / "gradebook.csv")
    assert list(book[0]) == ["learner", "scenario", "total", *STEP_IDS, "anti_patterns", "contested_misses", "overrides", "grader", "graded_at"]
    by_learner = {(row["learner"], row["scenario"]): row for row in book}
    assert set(by_learner) == {("Ada", FIRST), ("grace", SECOND), ("linus", SECOND)}
    ada = by_learner[("Ada", FIRST)]
    assert float(ada["tool_execution"]) > 0, "the later save (the notebook, with tool_execution) won"
    assert ada["safety_checks"] == "55" and ada["overrides"] == "2"
    assert ada["contested_misses"] == "1" and int(ada["anti_patterns"]) >= 1
    assert {row["grader"] for row in book} == {"offline"} and all(row["graded_at"] for row in book)

    superseded = read_csv(out / "superseded.csv")
    assert [(r["learner"], Path(r["file"]).name, Path(r["kept_file"]).name) for r in superseded] == [("Ada", "ada.answers.json", f"{FIRST}.ipynb")]

    errors = {Path(r["file"]).name: r["reason"] for r in read_csv(out / "errors.csv") if r["file"] != "overrides"}
    assert set(errors) == {"broken.answers.json", "huge.answers.json", "empty.ipynb"}
    assert "invalid JSON" in errors["broken.answers.json"]
    assert "over the 2.0 MB limit" in errors["huge.answers.json"]
    assert "carries no answers" in errors["empty.ipynb"]
    override_problems = [r["reason"] for r in read_csv(out / "errors.csv") if r["file"] == "overrides"]
    assert any("line 4" in p and "unknown learner 'Nobody'" in p for p in override_problems)
    assert any("line 5" in p and "unknown step" in p for p in override_problems)
    assert "unknown learner 'Nobody'" in captured.err

    canvas = list(csv.reader(open(out / "canvas.csv", encoding="utf-8")))
    assert canvas[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert canvas[1][0] == "Points Possible" and set(canvas[1][5:]) == {"100"}
    column = canvas[0].index(f"workbook: {FIRST}")
    assert [row[column] for row in canvas if row[0] == "Ada"] == [ada["total"]]

    summary = json.loads((out / "summary.json").read_text())
    assert summary["submissions"] == 3 and summary["rejected"] == 3 and summary["superseded"] == 1
    assert set(summary["steps"]) == set(STEP_IDS)
    assert set(summary["steps"]["user_intent"]) == {"mean", "median", "share_below_50"}
    step, criterion = mixed_class["contested"]
    assert [(c["step"], c["criterion"], c["count"]) for c in summary["contested_misses"]] == [(step, criterion, 1)]
    assert summary["anti_patterns"] and summary["anti_patterns"][0]["count"] >= 1
    assert summary["missed_criteria"][0]["count"] >= summary["missed_criteria"][-1]["count"]

    pages = sorted(p.name for p in (out / "reports").iterdir())
    assert pages == sorted([report_name("Ada", FIRST), report_name("grace", SECOND), report_name("linus", SECOND)])
    page = (out / "reports" / report_name("Ada", FIRST)).read_text()
    assert "From your instructor" in page and "Name the mechanism: who checks" in page and "Good start: see me" in page
    assert "set to <b>55</b> by the instructor" in page and "data-set-by='instructor'" in page
    assert "Probe:" in page and "Better:" in page and "Claimed by you" in page
    assert "Reference answer" not in page, "no reference answers unless --include-reference"
    for chart in ("heatmap.png", "steps.png", "missed.png"):
        assert (out / "charts" / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_include_reference_and_clean_exit(tmp_path):
    folder = tmp_path / "in"
    write_json(folder / "kim.answers.json", {"scenario": FIRST, "learner": "Kim", "answers": {"user_intent": "Reviewers."}})
    assert grade(folder, "--out", tmp_path / "out", "--include-reference") == 0
    page = (tmp_path / "out" / "reports" / report_name("Kim", FIRST)).read_text()
    assert "Reference answer" in page
    assert read_csv(tmp_path / "out" / "errors.csv") == []


def test_usage_errors_exit_2(tmp_path, capsys):
    assert grade(tmp_path / "missing", "--out", tmp_path / "o") == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert grade(tmp_path, "--out", tmp_path / "o", "--jobs", "0") == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("name,score\n")
    assert grade(tmp_path, "--out", tmp_path / "o", "--overrides", bad) == 2
    assert "needs the columns learner, scenario, step, score, comment" in capsys.readouterr().err


def test_jobs_2_gives_the_same_gradebook(tmp_path):
    paths = make_class(tmp_path / "class", 60)
    for path in paths[:3]:  # older saves of three learners, which both runs must set aside alike
        older = json.loads(path.read_text(encoding="utf-8")) if path.suffix == ".json" else answers_from_notebook(path.read_bytes(), path.name).to_dict()
        write_json(tmp_path / "class" / "older" / f"{path.parent.name}.answers.json", older | {"learner": path.parent.name, "saved_at": "2026-01-01T10:00:00+0000"})
    assert grade(tmp_path / "class", "--out", tmp_path / "one", "--jobs", "1") == 0
    assert grade(tmp_path / "class", "--out", tmp_path / "two", "--jobs", "2") == 0

    def without_time(path: Path) -> list[dict]:
        return [{k: v for k, v in row.items() if k != "graded_at"} for row in read_csv(path)]

    assert len(read_csv(tmp_path / "two" / "superseded.csv")) == 3

    assert without_time(tmp_path / "one" / "gradebook.csv") == without_time(tmp_path / "two" / "gradebook.csv")
    assert len(read_csv(tmp_path / "one" / "gradebook.csv")) == 60
    for name in ("canvas.csv", "summary.json", "superseded.csv"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    assert sorted(os.listdir(tmp_path / "one" / "reports")) == sorted(os.listdir(tmp_path / "two" / "reports"))


# --- safety --------------------------------------------------------------------------------------


def test_a_submitted_notebook_is_never_executed(tmp_path):
    marker = tmp_path / "pwned.txt"
    payload = {"scenario": FIRST, "learner": "Mallory", "answers": {"user_intent": "Reviewers."}}
    code = f"open({str(marker)!r}, 'w').write('ran')\nimport os; os.system('touch {marker}')"
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "mallory.ipynb").write_text(notebook_json(payload, code=code), encoding="utf-8")
    assert grade(tmp_path / "in", "--out", tmp_path / "out") == 0
    assert not marker.exists(), "nothing in a submission runs"
    assert [row["learner"] for row in read_csv(tmp_path / "out" / "gradebook.csv")] == ["Mallory"]


PAYLOADS = ["<script>alert(1)</script>", "<img src=x onerror=alert(2)>", "\"><svg onload=alert(3)>", "$x^2$ \\mathrm{y} $"]


def test_learner_text_is_escaped_in_pages_and_charts(tmp_path):
    folder = tmp_path / "in"
    for index, payload in enumerate(PAYLOADS):
        answers = {step: f"{payload} Reviewers check every summary. {payload}" for step in STEP_IDS}
        write_json(folder / f"s{index}.answers.json", {"scenario": FIRST, "learner": f"{payload}{index}", "answers": answers})
    assert grade(folder, "--out", tmp_path / "out") == 0
    for page in (tmp_path / "out" / "reports").iterdir():
        text = page.read_text()
        assert "<script>alert" not in text and "<img src=x" not in text and "<svg onload" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text or "&lt;img src=x onerror=alert(2)&gt;" in text or "&lt;svg" in text or "$x^2$" in text
    assert all((tmp_path / "out" / "charts" / name).stat().st_size > 1000 for name in ("heatmap.png", "steps.png", "missed.png"))
    from workbook.classroom.charts import label

    assert label("$x^2$") == r"\$x^2\$" and label("a\x1b[2Jb") == "a [2Jb"


NAMES = ["../../escape", "/etc/passwd", "CON", "nul", "Ada", "ada", "ADA", "..", "", "a/b\\c", "x" * 300]


def test_learner_names_cannot_write_outside_the_output_folder(tmp_path):
    folder = tmp_path / "in"
    for index, name in enumerate(NAMES):
        write_json(folder / f"n{index}.answers.json", {"scenario": FIRST, "learner": name, "answers": {"user_intent": "Reviewers."}})
    out = tmp_path / "out"
    assert grade(folder, "--out", out) == 0
    written = [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_relative_to(folder)]
    assert all(p.is_relative_to(out) for p in written), written
    pages = [p.name for p in (out / "reports").iterdir()]
    assert len(pages) == len(NAMES), "one page per learner (the empty name falls back to the file name)"
    assert len({p.lower() for p in pages}) == len(pages), "no two names differ only in case"
    for stem in map(safe_stem, NAMES):
        assert re.fullmatch(r"[a-z0-9-]{1,40}-[0-9a-f]{8}", stem), stem  # no separator, no '..', never a bare CON or NUL


def test_a_50_mb_file_is_rejected_with_a_reason(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    with open(folder / "big.ipynb", "wb") as stream:
        stream.truncate(50 * 1024 * 1024)
    with open(folder / "big.answers.json", "wb") as stream:
        stream.truncate(50 * 1024 * 1024)
    (folder / "nested.answers.json").write_text("[" * 100_000)
    (folder / "binary.ipynb").write_bytes(b"\xff\xfe\x00garbage")
    secret = write_json(tmp_path / "instructor-only.json", {"scenario": FIRST, "learner": "Secret", "answers": {}})
    (folder / "link.answers.json").symlink_to(secret)
    write_json(folder / "ok.answers.json", {"scenario": FIRST, "learner": "Ok", "answers": {}})
    assert grade(folder, "--out", tmp_path / "out") == 3
    errors = {Path(r["file"]).name: r["reason"] for r in read_csv(tmp_path / "out" / "errors.csv")}
    assert "50.0 MB, over the 20.0 MB limit for a notebook" in errors["big.ipynb"]
    assert "over the 2.0 MB limit for an answers file" in errors["big.answers.json"]
    assert "nested too deeply" in errors["nested.answers.json"]
    assert "not UTF-8" in errors["binary.ipynb"]
    assert "symbolic link" in errors["link.answers.json"]
    assert [r["learner"] for r in read_csv(tmp_path / "out" / "gradebook.csv")] == ["Ok"]


def test_notebook_answers_are_validated_like_an_answers_file():
    import random

    payload = answers_for(SCENARIOS[FIRST], random.Random(1), "Zoe")
    answers = answers_from_notebook(notebook_json(payload).encode(), "zoe.ipynb")
    assert answers.learner == "Zoe" and answers.scenario == FIRST
    bad = dict(payload, scenario="../../etc/passwd")
    with pytest.raises(ValueError, match="scenario: must be a scenario id"):
        answers_from_notebook(notebook_json(bad).encode(), "bad.ipynb")
    assert ANSWERS_MIME == "application/vnd.workbook.answers+json"


def test_grader_claude_grades_the_class_in_one_batch(tmp_path, monkeypatch, capsys):
    """--grader claude: one Message Batch over real HTTP to the fake API; an errored item is graded offline."""
    from fake_anthropic import TEST_KEY, FakeAnthropic

    folder = tmp_path / "in"
    for n in range(3):
        write_json(folder / f"l{n}.answers.json", {"scenario": "support-refund-agent", "learner": f"L{n}", "answers": {
            "user_intent": f"Learner {n}: shoppers with a damaged order want a refund in two minutes.",
            "safety_checks": f"Learner {n}: refunds over $50 go to an agent, and every refund is logged."}})
    with FakeAnthropic() as api:
        api.polls_before_end = 0
        api.batch_errors = {"set-00001"}
        monkeypatch.setenv("ANTHROPIC_API_KEY", TEST_KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.base_url)
        monkeypatch.setenv("WORKBOOK_CACHE", str(tmp_path / "cache"))
        assert grade(folder, "--out", tmp_path / "out", "--grader", "claude", "--yes") == 0
        assert len(api.batches) == 1
    book = {row["learner"]: row for row in read_csv(tmp_path / "out" / "gradebook.csv")}
    assert book["L0"]["grader"] == "claude" and book["L2"]["grader"] == "claude"
    assert book["L1"]["grader"] == "offline", "the errored item was graded offline, not dropped"
    assert "Claude could not grade this" in (tmp_path / "out" / "reports" / report_name("L1", "support-refund-agent")).read_text()


def test_generate_prepares_a_notebook_per_scenario(tmp_path, capsys):
    import nbformat

    assert main(["generate", "--scenario", "all", "--out", str(tmp_path / "class")]) == 0
    captured = capsys.readouterr()
    assert f"preparing: {len(SCENARIOS)}/{len(SCENARIOS)}" in captured.err
    made = sorted(p.name for p in (tmp_path / "class").glob("*.ipynb"))
    assert made == sorted(f"{s}.ipynb" for s in SCENARIOS)
    nb = nbformat.read(tmp_path / "class" / f"{FIRST}.ipynb", as_version=4)
    tagged = [cell for cell in nb.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1 and f'scenario_id = "{FIRST}"' in tagged[0].source
    assert all(cell.get("outputs", []) == [] for cell in nb.cells if cell.cell_type == "code"), "prepared, not run"
    assert main(["generate", "--scenario", FIRST, "--out", str(tmp_path / "mock"), "--mode", "mock", "--minutes", "30"]) == 0
    mock = nbformat.read(tmp_path / "mock" / f"{FIRST}-mock.ipynb", as_version=4)
    source = next(c.source for c in mock.cells if "parameters" in c.metadata.get("tags", []))
    assert 'mode = "mock"' in source and "time_limit_minutes = 30" in source
    assert main(["generate", "--scenario", "no-such-scenario", "--out", str(tmp_path / "x")]) == 2
    assert "no-such-scenario" in capsys.readouterr().err


def instructor_folder(tmp_path: Path) -> Path:
    """An instructor's own scenario folder: one scenario the shipped set does not have."""
    folder = tmp_path / "my-scenarios"
    folder.mkdir()
    text = (Path(workbook.__file__).resolve().parents[2] / "exercises" / "support-refund-agent.yaml").read_text(encoding="utf-8")
    text = text.replace("id: support-refund-agent", "id: claims-triage-desk", 1)
    text = re.sub(r'^title: .*$', 'title: "Claims triage desk for a small insurer"', text, count=1, flags=re.M)
    (folder / "claims-triage-desk.yaml").write_text(text, encoding="utf-8")
    return folder


@pytest.mark.notebook
def test_generate_uses_the_instructors_scenario_folder(tmp_path, capsys, monkeypatch, kernel_name):
    import nbformat
    import papermill as pm

    folder = instructor_folder(tmp_path)
    assert main(["generate", "--scenario", "claims-triage-desk", "--out", str(tmp_path / "x")]) == 2, "not a shipped scenario"
    capsys.readouterr()
    assert main(["--exercises", str(folder), "generate", "--scenario", "all", "--out", str(tmp_path / "class")]) == 0
    assert "copied from" in capsys.readouterr().out
    made = sorted(p.name for p in (tmp_path / "class").glob("*.ipynb"))
    assert made == ["claims-triage-desk.ipynb"], "only the instructor's folder is read"
    assert (tmp_path / "class" / "scenarios" / "claims-triage-desk.yaml").is_file(), "the output folder is self-contained"
    nb = nbformat.read(tmp_path / "class" / "claims-triage-desk.ipynb", as_version=4)
    assert "Claims triage desk for a small insurer" in nb.cells[0].source
    parameters = next(c.source for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert 'scenario_id = "claims-triage-desk"' in parameters and 'exercises = "scenarios"' in parameters
    # Handed out as a folder: moved elsewhere, opened with no environment variable, it still finds its scenario.
    handed_out = tmp_path / "elsewhere" / "class"
    shutil.copytree(tmp_path / "class", handed_out)
    shutil.rmtree(folder)
    monkeypatch.delenv("WORKBOOK_EXERCISES", raising=False)
    ran = pm.execute_notebook(
        str(handed_out / "claims-triage-desk.ipynb"), str(tmp_path / "ran.ipynb"), kernel_name=kernel_name, cwd=str(handed_out),
        progress_bar=False, log_output=False, shutdown_kernel="immediate", execution_timeout=120, start_timeout=60,
    )
    cells = [o for c in ran.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in cells if o.get("output_type") == "error"]
    carried = [o["data"][ANSWERS_MIME] for o in cells if ANSWERS_MIME in o.get("data", {})]
    assert carried and carried[0]["scenario"] == "claims-triage-desk"
    assert "Claims triage desk for a small insurer" in json.dumps(ran.metadata["widgets"]), "the form shows the instructor's brief"


def test_generate_and_grade_name_a_missing_or_empty_scenario_folder(tmp_path, capsys):
    for args in (["generate", "--scenario", "all", "--out", str(tmp_path / "o")], ["grade", str(tmp_path), "--out", str(tmp_path / "g")]):
        assert main(["--exercises", str(tmp_path / "nowhere"), *args]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "nowhere" in err and "does not exist" in err
        (tmp_path / "empty").mkdir(exist_ok=True)
        assert main(["--exercises", str(tmp_path / "empty"), *args]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "empty" in err and "no valid scenario" in err
        broken = tmp_path / "broken"
        broken.mkdir(exist_ok=True)
        (broken / "bad.yaml").write_text("id: [unclosed\n", encoding="utf-8")
        assert main(["--exercises", str(broken), *args]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "broken" in err and "bad.yaml" in err
    assert not (tmp_path / "o").exists() and not (tmp_path / "g").exists(), "nothing prepared or graded"


class CountingGrader:
    """The offline grader, counting what it is asked to grade (registered for one test)."""

    graded: list[tuple[str, str]] = []

    def __init__(self) -> None:
        from workbook.graders.offline import OfflineGrader

        self.inner = OfflineGrader()

    def grade(self, answers, scenario):
        CountingGrader.graded.append((answers.learner, answers.text("user_intent")))
        return self.inner.grade(answers, scenario)


def test_older_saves_are_listed_but_never_graded(tmp_path, monkeypatch):
    from workbook.classroom import grade_class_folder
    from workbook.graders import graders

    monkeypatch.setattr(graders, "_factories", dict(graders._factories) | {"counting": CountingGrader})
    CountingGrader.graded = []
    base = {"scenario": FIRST, "learner": "Ada", "answers": reference(FIRST)}
    for name, stamp, intent in [("a", "2026-01-10T09:00:00+0000", "first try"), ("b", "2026-01-12T09:00:00+0000", "second try")]:
        write_json(tmp_path / "class" / f"{name}.answers.json", base | {"saved_at": stamp, "answers": base["answers"] | {"user_intent": intent}})
    notebook = base | {"saved_at": "2026-01-14T09:00:00+0000", "answers": base["answers"] | {"user_intent": "final answer"}}
    (tmp_path / "class" / "ada.ipynb").write_text(notebook_json(notebook), encoding="utf-8")
    write_json(tmp_path / "class" / "bob.answers.json", {"scenario": FIRST, "learner": "Bob", "answers": reference(FIRST)})
    result = grade_class_folder([tmp_path / "class"], tmp_path / "out", grader="counting", charts=False)
    assert sorted(CountingGrader.graded) == [("Ada", "final answer"), ("Bob", reference(FIRST)["user_intent"])]
    assert [(old.file, kept.file) for old, kept in result.graded.superseded] == [
        (str(tmp_path / "class" / name), str(tmp_path / "class" / "ada.ipynb")) for name in ("a.answers.json", "b.answers.json")
    ]
    assert sorted(p.name for p in (tmp_path / "out" / "reports").iterdir()) == sorted([report_name("Ada", FIRST), report_name("Bob", FIRST)])


def test_overrides_as_an_instructor_writes_them(tmp_path, capsys):
    """Step numbers and titles, `85%`, a semicolon spreadsheet; a name off by case and an unquoted separator are reported."""
    for learner in ("Ada", "Bob", "Cy"):
        write_json(tmp_path / "class" / f"{learner}.answers.json", {"scenario": FIRST, "learner": learner, "answers": reference(FIRST)})
    (tmp_path / "o.csv").write_text(
        "learner;scenario;step;score;comment\n"
        f"Ada;{FIRST};5;85%;by number\n"
        f"Bob;{FIRST};  feedback AND evaluation ;40;by title\n"
        f"ada;{FIRST};safety_checks;10;wrong case\n"
        f"Cy;{FIRST};user_intent;50;a; b\n"
        f'Cy;{FIRST};user_intent;55;"quoted; fine"\n',
        encoding="utf-8",
    )
    assert grade(tmp_path / "class", "--out", tmp_path / "out", "--overrides", tmp_path / "o.csv") == 3
    err = capsys.readouterr().err
    assert "line 4: unknown learner 'ada' (names are exact: did you mean 'Ada'?)" in err
    assert "line 5: more values than columns (put a comment holding ';' in double quotes)" in err
    book = {row["learner"]: row for row in read_csv(tmp_path / "out" / "gradebook.csv")}
    assert book["Ada"]["safety_checks"] == "85" and book["Ada"]["overrides"] == "1"
    assert book["Bob"]["feedback_evaluation"] == "40"
    assert book["Cy"]["user_intent"] == "55" and book["Cy"]["overrides"] == "1"
    page = (tmp_path / "out" / "reports" / report_name("Cy", FIRST)).read_text(encoding="utf-8")
    assert "quoted; fine" in page and "a; b" not in page
    reasons = [row["reason"] for row in read_csv(tmp_path / "out" / "errors.csv")]
    assert len(reasons) == 2 and all("the row was not applied" in reason for reason in reasons)


def test_a_file_named_twice_is_graded_once(tmp_path, capsys):
    path = write_json(tmp_path / "class" / "ada.answers.json", {"scenario": FIRST, "learner": "Ada", "answers": reference(FIRST)})
    assert grade(tmp_path / "class", path, tmp_path / "class" / ".." / "class" / "ada.answers.json", "--out", tmp_path / "out") == 0
    assert "graded 1 submission(s) of 1 learner(s); 0 older save(s)" in capsys.readouterr().out
    assert read_csv(tmp_path / "out" / "superseded.csv") == []


def test_charts_that_cannot_be_drawn_leave_the_gradebook_and_say_why(tmp_path, capsys):
    write_json(tmp_path / "class" / "ada.answers.json", {"scenario": FIRST, "learner": "Ada", "answers": reference(FIRST)})
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "charts").write_text("a file where the charts folder should be", encoding="utf-8")
    assert grade(tmp_path / "class", "--out", tmp_path / "out") == 3
    err = capsys.readouterr().err
    warning = [line for line in err.splitlines() if line.startswith("workbook: warning:")]
    assert len(warning) == 1 and "charts could not be drawn" in warning[0] and "Traceback" not in err
    assert [row["learner"] for row in read_csv(tmp_path / "out" / "gradebook.csv")] == ["Ada"]
    assert (tmp_path / "out" / "reports" / report_name("Ada", FIRST)).is_file()
