"""`workbook score --grader NAME [--model M] [--show-prompt] [--yes]`: the grader part of the command.

Kept here so `cli.py` only hands over. For the Claude grader: `--show-prompt`
prints the exact request and sends nothing; otherwise the input tokens are
counted, the estimated cost printed and confirmed (unless `--yes`), and the
real usage printed after. A failure prints one line and the offline report.
"""

from __future__ import annotations

import argparse
import sys

from ..answers import Answers
from ..report import Report
from ..scenario import Scenario
from . import UnknownGraderError, get_grader


def _confirm(question: str) -> bool:
    if not sys.stdin or not sys.stdin.isatty():
        return False
    print(question, end=" ", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in {"y", "yes"}


def run_score(args: argparse.Namespace, answers: Answers, scenario: Scenario) -> Report | None:
    """The report to print, or None when only the prompt was shown."""
    from ..cli import UsageError

    if args.grader != "claude" and (args.model or args.show_prompt):
        raise UsageError("--model and --show-prompt work with --grader claude")
    from .claude import GradingError

    try:
        grader = get_grader(args.grader, **({"model": args.model} if args.model else {}))
    except (UnknownGraderError, GradingError) as error:
        raise UsageError(str(error)) from None
    if args.grader != "claude":
        return grader.grade(answers, scenario)
    from .prompt import show

    if args.show_prompt:
        body = grader.prompt_for(answers, scenario)
        print(show(body) if body else "Nothing would be sent: every step is empty or already graded (cached).")
        return None
    _, to_send = grader.plan(answers, scenario)
    if to_send and not args.yes:
        try:
            estimate = grader.estimate([(scenario, to_send)])
        except GradingError as error:
            return _offline(grader, answers, scenario, str(error))
        print(f"workbook: Claude grading: {estimate.describe()}", file=sys.stderr)
        if not _confirm("Send it? [y/N]"):
            raise UsageError("not confirmed, nothing was sent (answer y at the prompt, or pass --yes)")
    report = grader.grade(answers, scenario)
    if grader.last_error:
        print(f"workbook: claude grader: {grader.last_error}; showing the offline result", file=sys.stderr)
    if grader.last_usage.requests:
        print(f"workbook: Claude usage: {grader.last_usage.describe(grader.model)}", file=sys.stderr)
    return report


def _offline(grader, answers: Answers, scenario: Scenario, reason: str) -> Report:
    from ..scoring import score

    print(f"workbook: claude grader: {reason}; showing the offline result", file=sys.stderr)
    report = score(answers, scenario)
    report.flags.insert(0, f"Claude could not grade this ({reason}); this is the offline result.")
    return report


def calibration_grade(args: argparse.Namespace, items: list, exercises):
    """The grade function for `workbook calibrate --grader NAME`: for Claude, the cost of the whole set is
    estimated and confirmed first (unless --yes), and the real usage printed after (by the caller)."""
    from ..calibration import scenario_for
    from ..cli import UsageError

    try:
        grader = get_grader(args.grader, **({"model": args.model} if args.model else {}))
    except UnknownGraderError as error:
        raise UsageError(str(error)) from None
    if args.grader != "claude":
        return grader.grade, grader
    from .claude import GradingError

    scenarios = [scenario_for(item, exercises) for item in items]
    jobs = [(scenario, grader.plan(item.answers, scenario)[1]) for item, scenario in zip(items, scenarios)]
    jobs = [(scenario, steps) for scenario, steps in jobs if steps]
    if jobs and not args.yes:
        try:
            estimate = grader.estimate(jobs)
        except GradingError as error:
            raise UsageError(f"cannot estimate the cost: {error}") from None
        print(f"workbook: Claude calibration over {len(items)} answer sets: {estimate.describe()}", file=sys.stderr)
        if not _confirm("Send it? [y/N]"):
            raise UsageError("not confirmed, nothing was sent (answer y at the prompt, or pass --yes)")
    return grader.grade, grader
