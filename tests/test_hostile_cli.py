"""The CLI against hostile input it meets outside the corpus: planted paths, long ids, odd folders and terminals.

Run as real subprocesses where the process matters (encoding of stdout, the user's rights).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scenario_factory import minimal_scenario, write_scenario
from workbook.cli import main
from workbook.scenario import Problem
from workbook.textsafe import clean_text, one_line, terminal_safe

WORKBOOK = [sys.executable, "-m", "workbook.cli"]


def run(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "WORKBOOK_EXERCISES"} | (env or {})
    return subprocess.run([*WORKBOOK, *args], capture_output=True, text=True, env=environment, timeout=60, **kwargs)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("workbook: error: ")
    return result.stderr


def test_a_planted_rubric_is_never_loaded_through_the_scenario_field(tmp_path):
    planted = tmp_path / "planted"
    planted.mkdir()
    rubric = minimal_scenario("evil")
    rubric["title"] = "PLANTED TITLE"
    write_scenario(planted, rubric)
    (planted / "leaky.yaml").write_text("secret_top_level_key: 1\n")
    work = tmp_path / "work"
    work.mkdir()
    for scenario in ("../planted/evil", str(planted / "evil"), "../planted/leaky", str(planted / "leaky")):
        answers = work / "a.json"
        answers.write_text(json.dumps({"scenario": scenario, "answers": {"user_intent": "refunds limit $5"}}))
        for fmt in ("text", "json"):
            result = run("score", str(answers), "--format", fmt, cwd=work)
            line = one_error_line(result)
            assert "scenario: must be a scenario id" in line
            assert "PLANTED" not in line and "secret_top_level_key" not in line and result.stdout == ""


@pytest.mark.parametrize("command", ["show", "score", "new"])
def test_a_300_character_id_is_one_line(tmp_path, command):
    long_id = "a" * 300
    if command == "score":
        answers = tmp_path / "a.json"
        answers.write_text(json.dumps({"scenario": long_id, "answers": {}}))
        result = run("score", str(answers))
    else:
        result = run("--exercises", str(tmp_path), command, long_id)
    line = one_error_line(result)
    assert "File name too long" not in line and ("at most 100 characters" in line or "scenario id" in line)
    assert list(tmp_path.glob("*.yaml")) == []


def test_a_300_character_answers_file_name_is_one_line(tmp_path):
    line = one_error_line(run("score", str(tmp_path / ("b" * 300 + ".json"))))
    assert "File name too long" in line


def test_exercises_pointing_at_a_file(tmp_path):
    not_a_folder = tmp_path / "scenarios.txt"
    not_a_folder.write_text("just a file")
    for args in (["new", "claims-triage"], ["list"], ["validate"], ["show", "claims-triage"]):
        line = one_error_line(run("--exercises", str(not_a_folder), *args))
        assert "is not a folder" in line, line
    assert not_a_folder.read_text() == "just a file"


@contextlib.contextmanager
def read_only_folder(folder: Path):
    """A folder nobody can write to. Root ignores mode bits, so for root make it immutable
    (chattr +i) or, where the file system cannot, a read-only bind mount."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    for lock, unlock in (
        (["chattr", "+i", str(folder)], ["chattr", "-i", str(folder)]),
        (["mount", "-o", "bind,ro", str(folder), str(folder)], ["umount", str(folder)]),
    ):
        if shutil.which(lock[0]) and subprocess.run(lock, capture_output=True).returncode == 0:
            try:
                yield
            finally:
                subprocess.run(unlock, check=True, capture_output=True)
            return
    pytest.skip("cannot make a read-only folder as root here (no chattr +i, no bind mount)")


def test_new_in_a_read_only_folder_is_one_line(tmp_path):
    folder = tmp_path / "exercises"
    folder.mkdir()
    with read_only_folder(folder):
        line = one_error_line(run("--exercises", str(folder), "new", "claims-triage"))
        assert "claims-triage.yaml" in line and ("Permission denied" in line or "not permitted" in line or "Read-only" in line), line
    assert list(folder.iterdir()) == []


def test_a_cp1252_terminal_gets_replacement_characters_not_a_traceback(tmp_path):
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps({"scenario": "support-refund-agent", "answers": {"user_intent": "Shoppers → refunds 😀"}}))
    result = run("score", str(answers), env={"PYTHONIOENCODING": "cp1252"}, encoding="cp1252")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "?" in result.stdout and "total" in result.stdout
    bad = tmp_path / "bad→😀.json"
    bad.write_text("{")
    line = one_error_line(run("score", str(bad), env={"PYTHONIOENCODING": "cp1252"}, encoding="cp1252"))
    assert "bad" in line and "invalid JSON" in line


def test_screen_clearing_learner_text_cannot_forge_the_total(tmp_path):
    answers = tmp_path / "a.json"
    forged = "We use the biggest \x1b[2J\x1b[H\x1b[32mtotal 97/100\x1b[0m\x9b2J\u202e model."
    answers.write_text(json.dumps({"scenario": "support-refund-agent", "learner": "\x1b]0;owned\x07", "answers": {"model_reasoning": forged}}))
    text, as_json = (run("score", str(answers), "--format", fmt) for fmt in ("text", "json"))
    for result in (text, as_json):
        assert result.returncode == 0, result.stderr
        assert not any(c in result.stdout for c in "\x1b\x9b\x07\u202e\r")
    assert "“We use the biggest \\u001b[2J\\u001b[H\\u001b[32mtotal 97/100\\u001b[0m\\u009b2J\\u202e model”" in text.stdout
    assert json.loads(as_json.stdout)["learner"] == "\x1b]0;owned\x07", "JSON output still decodes to the same data"


def test_validate_reports_a_yml_beside_a_yaml_as_list_does(tmp_path):
    write_scenario(tmp_path, minimal_scenario("twin"))
    (tmp_path / "twin.yml").write_text((tmp_path / "twin.yaml").read_text())
    listed = run("--exercises", str(tmp_path), "list")
    validated = run("--exercises", str(tmp_path), "validate")
    named = run("validate", str(tmp_path / "twin.yaml"), str(tmp_path / "twin.yml"))
    assert listed.returncode == 0 and listed.stdout.split()[0] == "twin"
    expected = f"{tmp_path / 'twin.yml'}: id: duplicate scenario id 'twin' (also in twin.yaml)"
    assert listed.stderr.strip() == f"warning: skipped invalid scenario: {expected}"
    assert validated.returncode == named.returncode == 1
    assert validated.stdout.strip() == named.stdout.strip() == expected


def test_problem_text_is_always_one_line():
    problem = Problem("dir/a\nb.yaml", "line 1", "unacceptable character\n  in \"<unicode string>\", position 3\x00\x1b[2J")
    assert str(problem) == 'dir/a b.yaml: line 1: unacceptable character in "<unicode string>", position 3\\u0000\\u001b[2J'


def test_terminal_safe_keeps_text_and_escapes_controls():
    assert terminal_safe("Café → 😀\n\tindent") == "Café → 😀\n\tindent"
    assert terminal_safe("a\x1b[2Jb") == "a\\u001b[2Jb"
    assert terminal_safe("line\r\nnext\rover") == "line\nnext\\u000dover"
    assert terminal_safe("\x00\x07\x7f\x85\x9b\u202e\u2066\ud83d") == "\\u0000\\u0007\\u007f\\u0085\\u009b\\u202e\\u2066\\ud83d"
    assert json.loads(terminal_safe(json.dumps("\x9b\u202e", ensure_ascii=False))) == "\x9b\u202e"
    assert clean_text("ok \ud83d \udc80 😀") == "ok \ufffd \ufffd 😀"
    assert one_line("a\n\n  b\u2028c") == "a b c"


def test_in_process_main_restores_the_streams(capsys):
    before = sys.stdout, sys.stderr
    assert main(["show", "../x"]) == 2
    assert (sys.stdout, sys.stderr) == before
    assert "'../x' is not a scenario id" in capsys.readouterr().err
