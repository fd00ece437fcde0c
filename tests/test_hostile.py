"""The hostile-input corpus: broken and malicious answers and scenario files, through the public surface.

Every item either works (and prints nothing that could drive a terminal), or gives
one `workbook: error:` line and exit 2 (`validate`: one line per problem, exit 1),
never a traceback, and the file is left as it was or kept aside byte for byte.
Small items live in tests/hostile/; big or special ones (devices, FIFOs, symlink
loops, megabytes) are made here.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import unicodedata
from pathlib import Path
from typing import Callable

import pytest

from scenario_factory import minimal_scenario, mutate, write_scenario
from workbook.answers import MAX_ANSWERS_BYTES, MAX_STEP_BYTES, AnswersError, load_answers, quarantine, save_answers
from workbook.cli import main
from workbook.scenario import MAX_SCENARIO_BYTES, load_all

CORPUS = Path(__file__).parent / "hostile"
GOOD = "good-one"


BIDI_CONTROLS = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: str) -> bool:
    """Nothing a terminal acts on: no controls but newline and tab, no bidi controls, no surrogates."""
    return not any(
        (unicodedata.category(char) in ("Cc", "Cs") and char not in "\n\t") or char in BIDI_CONTROLS for char in text
    )


def snapshot(path: Path) -> tuple:
    """What must survive: the kind of thing at `path`, a link's target, a regular file's bytes."""
    if not os.path.lexists(path):
        return ("missing",)
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        return ("link", os.readlink(path))
    if stat.S_ISREG(mode):
        return ("file", path.read_bytes())
    return ("other", stat.S_IFMT(mode))


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- answers files ------------------------------------------------------------------------------


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _link(target: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / "link.json"
        path.symlink_to(target)
        return path

    return make


def _loop(folder: Path) -> Path:
    (folder / "loop-a.json").symlink_to(folder / "loop-b.json")
    (folder / "loop-b.json").symlink_to(folder / "loop-a.json")
    return folder / "loop-a.json"


def _fifo(folder: Path, name: str = "fifo.json") -> Path:
    os.mkfifo(folder / name)
    return folder / name


def _folder(folder: Path, name: str = "folder.json") -> Path:
    (folder / name).mkdir()
    (folder / name / "inside.txt").write_text("keep me")
    return folder / name


def _corrupt_elsewhere(folder: Path) -> Path:
    elsewhere = folder / "elsewhere"
    elsewhere.mkdir()
    _write(elsewhere / "notes.json", "{my notes")
    (folder / "link.json").symlink_to(elsewhere / "notes.json")
    return folder / "link.json"


SCENARIO_PREFIX = '{"scenario": "support-refund-agent", '
GENERATED_ANSWERS: dict[str, Callable[[Path], Path]] = {
    "deep-list": lambda d: _write(d / "a.json", "[" * 1000),
    "deep-object": lambda d: _write(d / "a.json", '{"a": ' * 1000 + "1" + "}" * 1000),
    "deep-inside-a-field": lambda d: _write(d / "a.json", SCENARIO_PREFIX + '"saved_at": ' + "[" * 100_000 + "]" * 100_000 + "}"),
    "huge-integer-top": lambda d: _write(d / "a.json", "9" * 5000),
    "huge-integer-step": lambda d: _write(d / "a.json", SCENARIO_PREFIX + '"answers": {"user_intent": ' + "9" * 5000 + "}}"),
    "over-the-file-limit": lambda d: _write(d / "a.json", SCENARIO_PREFIX + '"saved_at": "' + "x" * MAX_ANSWERS_BYTES + '"}'),
    "over-the-step-limit": lambda d: _write(d / "a.json", SCENARIO_PREFIX + '"answers": {"user_intent": "' + "x" * (MAX_STEP_BYTES + 1) + '"}}'),
    "many-claims": lambda d: _write(d / "a.json", SCENARIO_PREFIX + '"claims": [' + ",".join(['{"step": "x"}'] * 50_000) + "]}"),
    "symlink-to-dev-zero": _link("/dev/zero"),
    "symlink-dangling": _link("/nonexistent/answers.json"),
    "symlink-loop": _loop,
    "symlink-to-corrupt-file-elsewhere": _corrupt_elsewhere,
    "fifo": _fifo,
    "folder": _folder,
    "nul-bytes": lambda d: _write(d / "a.json", SCENARIO_PREFIX + "\0\0\0}"),
}
REFUSED_ANSWERS = sorted(p.name for p in (CORPUS / "answers" / "refused").glob("*.json"))
ACCEPTED_ANSWERS = sorted(p.name for p in (CORPUS / "answers" / "accepted").glob("*.json"))


def _answers_item(name: str, tmp_path: Path) -> Path:
    if name in GENERATED_ANSWERS:
        return GENERATED_ANSWERS[name](tmp_path)
    for kind in ("refused", "accepted"):
        source = CORPUS / "answers" / kind / name
        if source.exists():
            target = tmp_path / name
            target.write_bytes(source.read_bytes())
            return target
    raise LookupError(name)


@pytest.mark.parametrize("name", REFUSED_ANSWERS + sorted(GENERATED_ANSWERS))
def test_refused_answers_file(name, tmp_path, capsys):
    path = _answers_item(name, tmp_path)
    before = snapshot(path)
    for fmt in ("text", "json"):
        code, out, err = run(capsys, "score", str(path), "--format", fmt)
        assert code == 2 and out == ""
        assert err.startswith("workbook: error: ") and err.count("\n") == 1, err
        assert printable(err) and "Traceback" not in err
    assert snapshot(path) == before, "the CLI changes nothing"
    # the form's path: load, and on AnswersError keep the file aside (or refuse to touch what is not ours)
    try:
        loaded = load_answers(path)
    except AnswersError as error:
        assert "\n" not in str(error)
        try:
            moved = quarantine(path)
        except AnswersError as refusal:  # a folder, a symlink, a device: left exactly where it was
            assert "refusing" in str(refusal) and snapshot(path) == before
        else:
            assert moved is not None and snapshot(moved)[1:] == before[1:] and not os.path.lexists(path)
    else:  # a well-formed file for a scenario that does not exist: nothing to keep aside
        assert name == "scenario-unknown.json" and loaded.scenario == "no-such-scenario"


@pytest.mark.parametrize("name", ACCEPTED_ANSWERS)
def test_accepted_answers_file(name, tmp_path, capsys):
    path = _answers_item(name, tmp_path)
    before = snapshot(path)
    code, out, err = run(capsys, "score", str(path))
    assert code == 0 and err == "", err
    assert printable(out) and "total" in out
    code, out, err = run(capsys, "score", str(path), "--format", "json")
    assert code == 0 and printable(out)
    report = json.loads(out)
    assert report["scenario"] == "support-refund-agent"
    assert snapshot(path) == before
    loaded = load_answers(path)
    copy = tmp_path / "saved-again.json"
    save_answers(loaded, copy)  # saving keeps working whatever was loaded
    assert load_answers(copy).to_dict() == loaded.to_dict()


def test_screen_forgery_is_shown_as_visible_escapes(tmp_path, capsys):
    path = _answers_item("screen-forgery.json", tmp_path)
    code, out, _ = run(capsys, "score", str(path))
    assert code == 0 and "\x1b" not in out
    assert "\\u001b[2J\\u001b[Htotal 97/100" in out, "the learner's text is quoted, its escapes made visible"


# --- scenario files ---------------------------------------------------------------------------------


def _scenario_text(name: str, text: str | bytes) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / f"{name}.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        return path

    return make


def _mutated(dotted: str, value) -> Callable[[Path], Path]:
    return lambda folder: write_scenario(folder, mutate(minimal_scenario("mutated"), dotted, value))


def _scenario_link(target: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / "linked.yaml"
        path.symlink_to(target)
        return path

    return make


def _scenario_loop(folder: Path) -> Path:
    (folder / "loop.yaml").symlink_to(folder / "loop.yaml")
    return folder / "loop.yaml"


def _same_id_as_yml(folder: Path) -> Path:
    return write_scenario(folder, minimal_scenario(GOOD), name="copy").rename(folder / f"{GOOD}.yml")


GENERATED_SCENARIOS: dict[str, Callable[[Path], Path]] = {
    "nul-bytes": _scenario_text("nul-bytes", "id: nul-bytes\ntitle: a\x00b\n"),
    "integer-of-4301-digits": _scenario_text("integer-of-4301-digits", "id: " + "1" * 4301 + "\n"),
    "not-utf8": _scenario_text("not-utf8", b"id: not-utf8\ntitle: caf\xe9\n"),
    "deep-nesting": _scenario_text("deep-nesting", "id: " + "[" * 5000 + "]" * 5000 + "\n"),
    "over-the-size-limit": _scenario_text("over-the-size-limit", "# " + "x" * MAX_SCENARIO_BYTES + "\n"),
    "weight-inf": _mutated("steps.user_intent.criteria.0.weight", float("inf")),
    "weight-nan": _mutated("steps.user_intent.criteria.0.weight", float("nan")),
    "weight-huge": _mutated("steps.safety_checks.weight", 1e308),
    "penalty-nan": _mutated("anti_patterns.0.penalty", float("nan")),
    "symlink-dangling": _scenario_link("/nonexistent/scenario.yaml"),
    "symlink-to-dev-zero": _scenario_link("/dev/zero"),
    "symlink-loop": _scenario_loop,
    "fifo": lambda folder: _fifo(folder, "fifo.yaml"),
    "folder": lambda folder: _folder(folder, "folder.yaml"),
    "same-id-as-yml": _same_id_as_yml,
}
REFUSED_SCENARIOS = sorted(p.name for p in (CORPUS / "scenarios" / "refused").glob("*.yaml"))
ACCEPTED_SCENARIOS = sorted(p.name for p in (CORPUS / "scenarios" / "accepted").glob("*.yaml"))


@pytest.fixture
def exercises(tmp_path) -> Path:
    folder = tmp_path / "exercises"
    folder.mkdir()
    write_scenario(folder, minimal_scenario(GOOD))
    return folder


def _good_answers(tmp_path: Path) -> Path:
    return _write(tmp_path / "good.json", json.dumps({"scenario": GOOD, "answers": {"tool_execution": "We cap refunds at $50."}}))


@pytest.mark.parametrize("name", REFUSED_SCENARIOS + sorted(GENERATED_SCENARIOS))
def test_refused_scenario_file_leaves_the_good_ones_usable(name, exercises, tmp_path, capsys):
    if name in GENERATED_SCENARIOS:
        bad = GENERATED_SCENARIOS[name](exercises)
    else:
        bad = exercises / name
        bad.write_bytes((CORPUS / "scenarios" / "refused" / name).read_bytes())
    before = snapshot(bad)
    scenarios, problems = load_all(exercises)
    assert list(scenarios) == [GOOD] and problems
    assert all(str(p).startswith(f"{bad}: ") and "\n" not in str(p) and printable(str(p)) for p in problems), problems

    code, out, err = run(capsys, "--exercises", str(exercises), "list")
    assert code == 0 and out.split()[0] == GOOD and len(out.splitlines()) == 1
    assert err and all(line.startswith(f"warning: skipped invalid scenario: {bad}: ") for line in err.splitlines()), err

    code, out, err = run(capsys, "--exercises", str(exercises), "validate")
    assert code == 1 and err == ""
    assert out and all(line.startswith(f"{bad}: ") for line in out.splitlines()) and printable(out), out

    if not bad.is_dir() and name != "same-id-as-yml":  # a folder is validated as a folder; a duplicate needs its twin
        code, out, err = run(capsys, "validate", str(bad))
        assert code == 1 and out.startswith(f"{bad}: ") and printable(out)

    answers = _good_answers(tmp_path)
    for argv in (["score", str(answers)], ["show", GOOD], ["score", str(answers), "--format", "json"]):
        code, out, err = run(capsys, "--exercises", str(exercises), *argv)
        assert code == 0, err
        assert err.count("\n") <= len(problems)  # at most a warning per problem, never a traceback
    assert snapshot(bad) == before


@pytest.mark.parametrize("name", ACCEPTED_SCENARIOS)
def test_accepted_scenario_prints_safely(name, exercises, tmp_path, capsys):
    path = exercises / name
    path.write_bytes((CORPUS / "scenarios" / "accepted" / name).read_bytes())
    scenario_id = path.stem
    code, out, err = run(capsys, "--exercises", str(exercises), "validate")
    assert code == 0, out
    for argv in (["list"], ["show", scenario_id], ["show", scenario_id, "--format", "json"]):
        code, out, err = run(capsys, "--exercises", str(exercises), *argv)
        assert code == 0 and err == "" and printable(out), (argv, out)
        assert "\\u001b[2J" in out
    answers = _write(tmp_path / "a.json", json.dumps({"scenario": scenario_id, "answers": {}}))
    code, out, _ = run(capsys, "--exercises", str(exercises), "score", str(answers))
    assert code == 0 and printable(out) and "\\u202e" in out
    code, out, _ = run(capsys, "--exercises", str(exercises), "show", scenario_id, "--format", "json")
    assert json.loads(out)["title"].startswith("Tiny \x1b[2J"), "JSON output still decodes to the author's text"


def test_corpus_size():
    """The size of the corpus, as reported in the issue's closing note."""
    counts = {
        "answers": len(REFUSED_ANSWERS) + len(GENERATED_ANSWERS) + len(ACCEPTED_ANSWERS),
        "scenarios": len(REFUSED_SCENARIOS) + len(GENERATED_SCENARIOS) + len(ACCEPTED_SCENARIOS),
    }
    print(f"hostile corpus: {counts} = {sum(counts.values())} items", file=sys.stderr)
    assert counts["answers"] >= 50 and counts["scenarios"] >= 20
