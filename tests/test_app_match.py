"""`workbook match`, `workbook concepts --patterns` and the usage errors of `workbook app`, through the real CLI."""

from __future__ import annotations

import subprocess
import sys

import pytest

from workbook.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_match_quotes_the_sentence_and_the_words(capsys):
    code, out, _ = run(capsys, "match", "roll back|revert|switch off ~ error rate",
                       "We ship to 5% first. If the error rate passes 1% we switch it off at once.")
    assert code == 0
    assert 'matches sentence 2: "If the error rate passes 1% we switch it off at once"' in out
    assert 'on the words: "error rate passes 1% we switch it off"' in out  # a gap word between "switch" and "off"


def test_match_shows_the_thesaurus_wordings_and_finds_a_paraphrase(capsys):
    code, out, _ = run(capsys, "match", "escalat* ~ refund*", "Large refunds are handed over to a supervisor.")
    assert "handed over" in out and code == 0


def test_no_match_exits_1_and_says_why(capsys):
    long_gap = "Rollback is ready " + "and the team also writes many careful notes about it " * 3 + "for the error rate."
    code, out, _ = run(capsys, "match", "roll back ~ error rate", long_gap)
    assert code == 1 and "no match" in out


@pytest.mark.parametrize("pattern, message", [
    ("ab*", "too short (at least 3 letters before *)"),
    ("{amount} ~ refund", "unknown placeholder '{amount}'"),
    ("refund | ", "empty alternative"),
    ("@no_such_concept", "unknown concept '@no_such_concept'"),
])
def test_bad_patterns_are_one_line_and_exit_2(capsys, pattern, message):
    code, out, err = run(capsys, "match", pattern, "any text")
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_match_text_is_terminal_safe(capsys):
    code, out, _ = run(capsys, "match", "refund", "Refund \x1b[2J now.")
    assert code == 0 and "\x1b" not in out and "\\u001b" in out


def test_concepts_patterns_lists_each_concepts_words(capsys):
    code, out, _ = run(capsys, "concepts", "--patterns")
    assert code == 0
    assert "@staged_rollout" in out and "matches: [" in out
    plain = run(capsys, "concepts")[1]
    assert "matches:" not in plain and len(out.splitlines()) > 2 * len(plain.splitlines())


@pytest.mark.parametrize("argv, message", [
    (["app", "no-such-scenario", "--port", "8999"], "no-such-scenario"),
    (["app", "--port", "0"], "--port must be between 1 and 65535"),
])
def test_app_usage_errors_are_one_line(argv, message, tmp_path):
    result = subprocess.run([sys.executable, "-m", "workbook.cli", *argv, "--root", str(tmp_path)],
                            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
