"""The `workbook` command: list, show, validate, new, concepts, score.

Every failure the user can cause ends in one clear line on stderr and exit 2
(usage, missing files, bad input) or exit 1 (`validate` found problems);
never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Callable, Sequence

from .scenario import (
    EXERCISES_ENV,
    ScenarioError,
    UnknownScenarioError,
    load_all,
    load_scenario,
    load_scenario_file,
    scenario_files,
    shipped_exercises_dir,
)
from .steps import STEPS


class UsageError(Exception):
    """A problem with what the user asked for: one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line instead of usage + message
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _wrap(text: str, indent: str = "  ") -> str:
    return textwrap.fill(" ".join(text.split()), width=88, initial_indent=indent, subsequent_indent=indent)


# --- commands --------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    scenarios, problems = load_all(args.exercises)
    for problem in problems:
        print(f"warning: skipped invalid scenario: {problem}", file=sys.stderr)
    rows = [{"id": s.id, "title": s.title, "level": s.level} for s in scenarios.values()]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return 0
    width = max((len(row["id"]) for row in rows), default=2)
    for row in rows:
        print(f"{row['id']:<{width}}  {row['level']:<12}  {row['title']}")
    return 0


def _learner_view(scenario) -> dict:
    """Everything a learner may see before attempting: no evidence patterns, probes or references."""
    c = scenario.constraints
    return {
        "id": scenario.id,
        "title": scenario.title,
        "level": scenario.level,
        "summary": scenario.summary,
        "brief": scenario.brief.strip(),
        "stakeholders": [{"name": s.name, "interest": s.interest} for s in scenario.stakeholders],
        "context_sources": [{"name": s.name, "description": s.description, "access": s.access} for s in scenario.context_sources],
        "tools": [{"name": t.name, "description": t.description, "reversible": t.reversible} for t in scenario.tools],
        "constraints": {"risk_level": c.risk_level, "latency_budget": c.latency_budget, "cost_budget": c.cost_budget, "other": list(c.other)},
        "steps": [
            {"id": step.id, "number": step.number, "title": step.title,
             "questions": list(scenario.step(step.id).questions), "hints": list(scenario.step(step.id).hints)}
            for step in STEPS
        ],
    }


def cmd_show(args: argparse.Namespace) -> int:
    view = _learner_view(load_scenario(args.id, args.exercises))
    if args.format == "json":
        print(json.dumps(view, indent=2, ensure_ascii=False))
        return 0
    print(f"{view['title']}  [{view['id']}, {view['level']}]\n")
    for paragraph in view["brief"].split("\n\n"):
        print(_wrap(paragraph, "") + "\n")
    print("People affected")
    for person in view["stakeholders"]:
        print(_wrap(f"- {person['name']}: {person['interest']}", "  "))
    print("\nContext sources (and who may see them)")
    for source in view["context_sources"]:
        print(_wrap(f"- {source['name']}: {source['description']} Access: {source['access']}", "  "))
    if view["tools"]:
        print("\nTools")
        for tool in view["tools"]:
            undo = "reversible" if tool["reversible"] else "NOT reversible"
            print(_wrap(f"- {tool['name']} ({undo}): {tool['description']}", "  "))
    c = view["constraints"]
    print(f"\nConstraints\n  Risk: {c['risk_level']}")
    print(_wrap(f"Latency: {c['latency_budget']}", "  "))
    print(_wrap(f"Cost: {c['cost_budget']}", "  "))
    for other in c["other"]:
        print(_wrap(f"- {other}", "  "))
    print()
    for step in view["steps"]:
        print(f"{step['number']}. {step['title']}")
        for question in step["questions"]:
            print(_wrap(f"- {question}", "   "))
        for hint in step["hints"]:
            print(_wrap(f"Hint: {hint}", "   "))
        print()
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.paths] or scenario_files(args.exercises)
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
        else:
            files.append(path)
    problems = []
    for path in files:
        try:
            load_scenario_file(path)
        except ScenarioError as error:
            problems += error.problems
    for problem in problems:
        print(problem)
    if not problems:
        print(f"{len(files)} scenario file(s) valid")
    return 1 if problems else 0


def cmd_new(args: argparse.Namespace) -> int:
    import re

    if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", args.id):
        raise UsageError(f"scenario id {args.id!r} must be lowercase words joined by hyphens, e.g. 'claims-triage'")
    folder = Path(args.exercises) if args.exercises else Path(os.environ.get(EXERCISES_ENV) or "exercises")
    target = folder / f"{args.id}.yaml"
    if target.exists():
        raise UsageError(f"{target} already exists; pick another id or edit that file")
    from importlib import resources

    template = resources.files("workbook").joinpath("data", "scenario_template.yaml").read_text(encoding="utf-8")
    folder.mkdir(parents=True, exist_ok=True)
    target.write_text(template.replace("__ID__", args.id), encoding="utf-8")
    print(f"created {target}: fill it in, then run `workbook validate {target}`")
    return 0


def cmd_concepts(args: argparse.Namespace) -> int:
    from .lexicon import concepts

    for concept in concepts().values():
        print(f"@{concept.id:<30} {concept.description}")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from .answers import load_answers
    from .scoring import score

    answers = load_answers(args.answers)
    scenario = load_scenario(answers.scenario, args.exercises)
    if args.grader == "offline" and not (args.model or args.show_prompt):
        report = score(answers, scenario)
    else:
        from .graders.command import run_score

        report = run_score(args, answers, scenario)
        if report is None:  # --show-prompt
            return 0
    print(report.to_json() if args.format == "json" else report.to_text())
    return 0


# --- parser ------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="workbook",
        description="Practice AI-product system design: scenarios, rubrics and an offline scorer.",
    )
    parser.add_argument(
        "--exercises",
        metavar="DIR",
        help=f"read scenarios from DIR instead of the shipped ones (or set ${EXERCISES_ENV})",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def add(name: str, handler: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help, description=help)
        command.set_defaults(handler=handler)
        return command

    listing = add("list", cmd_list, "List the scenarios: id, level and title.")
    listing.add_argument("--format", choices=["text", "json"], default="text")
    show = add("show", cmd_show, "Show what a learner sees: brief, people, context sources, tools, constraints, questions and hints.")
    show.add_argument("id", help="scenario id (see `workbook list`)")
    show.add_argument("--format", choices=["text", "json"], default="text")
    validate = add("validate", cmd_validate, "Check scenario files; exit 1 with one line per problem.")
    validate.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: every scenario)")
    new = add("new", cmd_new, "Create a new scenario file from the commented template.")
    new.add_argument("id", help="the new scenario's id, e.g. claims-triage")
    add("concepts", cmd_concepts, "List the built-in concepts usable as @id in evidence.")
    score_cmd = add("score", cmd_score, "Score an answers file (offline scorer by default, or --grader claude).")
    score_cmd.add_argument("answers", metavar="ANSWERS.json")
    score_cmd.add_argument("--format", choices=["text", "json"], default="text")
    score_cmd.add_argument("--grader", default="offline", help="offline (default), claude, or an installed grader")
    score_cmd.add_argument("--model", help="Claude model id (default: $WORKBOOK_MODEL, else the SDK's cheapest fast tier)")
    score_cmd.add_argument("--show-prompt", action="store_true", help="print the exact request Claude would get; send nothing")
    score_cmd.add_argument("--yes", action="store_true", help="do not ask before sending (the cost estimate is skipped)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.handler(args)
    except UsageError as error:
        print(f"workbook: error: {error}", file=sys.stderr)
        return 2
    except UnknownScenarioError as error:
        print(f"workbook: error: {error}", file=sys.stderr)
        return 2
    except ScenarioError as error:
        for problem in error.problems:
            print(f"workbook: error: {problem}", file=sys.stderr)
        return 2
    except _input_errors() as error:
        print(f"workbook: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


def _input_errors() -> tuple[type[Exception], ...]:
    from .answers import AnswersError

    return (AnswersError,)


if __name__ == "__main__":
    sys.exit(main())
